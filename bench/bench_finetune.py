#!/usr/bin/env python3
"""What a fine-tune costs a user on a synthetic 800 x 1,000 px stack of 31 layers (empty embedding
cache): the default (all-cell validation of the head, RF and WofE, then the final head), the same
with the embeddings compared (embeds the stack), a second deposit type on the same stack (the
embedding is reused), then predict with and without contributions. Wall seconds on this machine;
the target is a cold fine-tune under 60 s on 2 cores.

    python bench/bench_finetune.py [--height 800 --width 1000] [--backend onnx-cpu]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--backend", default="auto")
    args = ap.parse_args()
    from bench_skill import synthetic_region

    from engine.prospectivity import finetune, predict
    from engine.data.reader import Stack
    from engine.data.stack import align_stack

    work = tempfile.mkdtemp(prefix="mpm_bench_finetune_")
    os.environ["MPM_CACHE_DIR"] = os.path.join(work, "cache")
    try:
        spec = synthetic_region(work, 100.0, seed=5, size=(args.height, args.width))
        stack = os.path.join(work, "stack")
        t = time.time()
        align_stack(spec, stack)
        with Stack(stack) as st:
            n_dep = st.manifest["deposits"]["used"]
            print(f"stack {st.grid.height} x {st.grid.width} x {len(st.bands)} bands, {n_dep} deposits "
                  f"(align {time.time() - t:.1f} s)")
        rows = []

        def timed(label, fn):
            t0 = time.time()
            r = fn()
            rows.append((label, time.time() - t0))
            print(f"  {label}: {rows[-1][1]:.1f} s", flush=True)
            return r

        r = timed("fine-tune, cold, the default (validation against RF and WofE; no embedding needed)",
                  lambda: finetune(stack, os.path.join(work, "head"), backend=args.backend))
        timed("fine-tune, cold, --compare-embeddings (embeds the stack)",
              lambda: finetune(stack, os.path.join(work, "head_e"), backend=args.backend, compare_embeddings=True))
        timed("fine-tune, second deposit type, --compare-embeddings (embedding cached)",
              lambda: finetune(stack, os.path.join(work, "head2"), backend=args.backend, deposits=spec.deposits,
                               compare_embeddings=True))
        timed("fine-tune without validation",
              lambda: finetune(stack, os.path.join(work, "head3"), backend=args.backend, validate=False))
        timed("predict without contributions",
              lambda: predict(stack, os.path.join(work, "head"), os.path.join(work, "p1"), backend=args.backend,
                              contributions=False))
        timed("predict with contributions (one head pass per source more)",
              lambda: predict(stack, os.path.join(work, "head"), os.path.join(work, "p2"), backend=args.backend))
        print("\n| step | seconds |\n|---|---:|")
        for label, sec in rows:
            print(f"| {label} | {sec:.1f} |")
        print(f"\nCV ROC-AUC: " + ", ".join(f"{m} {v['roc_auc']:.3f}" for m, v in r["cv"].items()))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
