#!/usr/bin/env python3
"""Figures for the shipped foundation model: masked reconstruction on the held-out Kolari block
against mean-fill and IDW, a linear probe on synthetic scenes, and embedding throughput per backend.

    python bench/bench_model.py [--model MODEL_FOLDER] [--reconstruction-only]   (default: the shipped model)
"""

import argparse
import os
import resource
import sys
import tempfile
import time


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
HELD_OUT = (364000.0, 7490000.0, 384000.0, 7510000.0)  # excluded from pretraining (scripts/train_foundation.sh)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    from engine.foundation.features import DEFAULT_MODEL

    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--windows", type=int, default=64)
    ap.add_argument("--reconstruction-only", action="store_true", help="skip the linear probe and throughput")
    args = ap.parse_args()
    from engine.demo import kolari_spec
    from engine.foundation.model.backend import select_backend
    import torch

    from engine.foundation.model.config import count_flops
    from engine.foundation.model.evaluate import intrusion_probe, reconstruction_scores, sample_windows
    from engine.foundation.model.fusion import FoundationModel
    from engine.foundation.model.infer import embed_scene
    from engine.foundation.model.weights import load_model
    from engine.data.reader import Stack
    from engine.data.stack import align_stack

    model = load_model(args.model)
    work = tempfile.mkdtemp(prefix="mpm_bench_")
    align_stack(kolari_spec(res=100.0, bounds=HELD_OUT), os.path.join(work, "heldout"))
    with Stack(os.path.join(work, "heldout")) as st:
        scene = st.scene()
    print(f"masked reconstruction, held-out Kolari block {HELD_OUT}, {args.windows} windows, 75 % patches hidden")
    print(f"{'source':>14} {'model MSE':>10} {'mean-fill':>10} {'IDW':>8}")
    windows = {s: sample_windows(scene.sources[s].data, model.config.window, args.windows, seed=0)
               for s in ("geophysics", "geochemistry", "geology")}
    for s in windows:
        r = reconstruction_scores(model, s, windows[s], scene.sources[s].layers)
        prior = f"   (decoder's own IDW prior alone: {r['prior']:.3f})" if "prior" in r else ""
        print(f"{s:>14} {r['model']:>10.3f} {r['mean_fill']:>10.3f} {r['idw']:>8.3f}{prior}")
    print("same windows, 75 % of (layer, patch) pairs hidden per layer (a hidden patch of one layer is "
          "mostly visible in others); regression-IDW = each layer regressed on the others' IDW fills + IDW of the residual")
    print(f"{'source':>14} {'model MSE':>10} {'mean-fill':>10} {'IDW':>8} {'regr.-IDW':>10}")
    for s in windows:
        r = reconstruction_scores(model, s, windows[s], scene.sources[s].layers, per_layer=True)
        print(f"{s:>14} {r['model']:>10.3f} {r['mean_fill']:>10.3f} {r['idw']:>8.3f} {r['regression_idw']:>10.3f}")
    if args.reconstruction_only:
        return

    probe = intrusion_probe(select_backend(args.model, "onnx-cpu"))
    torch.manual_seed(0)
    untrained = intrusion_probe(select_backend(FoundationModel(model.config, model.sources).eval(), "torch-cpu", cache=False))
    print(f"linear probe intrusion vs host, 16 unseen synthetic scenes, 4-fold by scene groups: balanced accuracy "
          f"{probe:.3f} (an untrained encoder of the same architecture, seed 0: {untrained:.3f}; chance 0.5)")

    channels = {s: a.data.shape[0] for s, a in scene.sources.items() if s in model.sources}
    flops = count_flops(model.config, channels)
    print(f"embedding throughput on {scene.shape[0]} x {scene.shape[1]} px, channels {channels}, {flops / 1e6:.0f} MFLOP/window")
    for name in ("torch-cpu", "onnx-cpu") + (("torch-cuda",) if torch.cuda.is_available() else ()):
        b = select_backend(args.model, name, cache=False)
        embed_scene(b, scene)  # warm-up
        t = time.perf_counter()
        e = embed_scene(b, scene)
        dt = time.perf_counter() - t
        cfg = model.config
        n_win = ((scene.shape[0] - cfg.window) // (cfg.window // 2) + 2) * ((scene.shape[1] - cfg.window) // (cfg.window // 2) + 2)
        print(f"  {name:>9}: {dt:.2f} s, ~{n_win / dt:.0f} windows/s, ~{n_win * flops / dt / 1e9:.1f} GFLOP/s, "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if not torch.cuda.is_available():
        print("  torch-cuda: no GPU seen by torch here (run on a GPU machine for its row)")


if __name__ == "__main__":
    main()
