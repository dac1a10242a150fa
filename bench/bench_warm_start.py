#!/usr/bin/env python3
"""Does adapting the shipped foundation model beat pretraining from scratch on a new area?

Both runs see the same seeded batches from the held-out Kolari crop (never used to pretrain the shipped
model), at 200 m, stage 1 only; the from-scratch model has the shipped architecture. Prints per source the
loss at the first step, the mean of the first 5 and of the last 10 steps.

    .venv/bin/python bench/bench_warm_start.py [--steps 40]
"""

import argparse
import csv
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
KOLARI_CROP = (364000.0, 7490000.0, 384000.0, 7510000.0)  # as tests/conftest.py: held out of pretraining


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    import torch

    from engine.demo import find_demo_data, kolari_spec
    from engine.foundation.features import DEFAULT_MODEL
    from engine.foundation.model.config import ModelConfig
    from engine.foundation.model.weights import read_card
    from engine.foundation.pretrain_data import pretrain_foundation
    from engine.data.stack import align_stack

    torch.set_num_threads(1)
    work = tempfile.mkdtemp(prefix="mpm_bench_warm_")
    stack = os.path.join(work, "stack")
    align_stack(kolari_spec(find_demo_data(), res=200.0, bounds=KOLARI_CROP), stack)
    shipped = ModelConfig.from_dict(read_card(DEFAULT_MODEL)["config"])
    print(f"{args.steps} stage-1 steps, batch {args.batch_size}, held-out Kolari crop at 200 m")
    print(f"{'start':>8} {'source':>14} {'first':>7} {'first 5':>8} {'last 10':>8}")
    for name, init in (("shipped", DEFAULT_MODEL), ("scratch", None)):
        s = pretrain_foundation([stack], os.path.join(work, name), steps1=args.steps, steps2=0,
                                batch_size=args.batch_size, tile=100, resume=False, init_model=init,
                                config=None if init else shipped)
        with open(s["losses_csv"]) as f:
            rows = list(csv.DictReader(f))
        for src in s["sources"]:
            v = [float(r["loss"]) for r in rows if r["source"] == src]
            print(f"{name:>8} {src:>14} {v[0]:>7.3f} {np.mean(v[:5]):>8.3f} {np.mean(v[-10:]):>8.3f}")


if __name__ == "__main__":
    main()
