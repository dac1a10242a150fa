#!/usr/bin/env python3
"""Why the shipped encoder loses to interpolation: how much one patch token can carry.

A fresh encoder of the default architecture is fitted (memorised, not generalised) to 64 held-out
Kolari geochemistry windows for a fixed number of steps, keeping the first 1, 4, 8 or all 22
layers. Every layer of a patch is pooled into ONE token (SourceEncoder's channel pooling), so if
that token is the bottleneck the masked-reconstruction error grows with the layer count while
per-layer IDW stays where it is. Same masks for model and baselines (engine.foundation.model.evaluate).

    python bench/bench_token_capacity.py [--steps 1000] [--layers 1 4 8 22] [--dim 96] [--decoder-dim 64]
        [--token-mode patch|layer] [--per-layer]

--token-mode layer keeps one token per (layer, patch) (ModelConfig.token_mode); --per-layer
masks each (layer, patch) on its own in training and scoring, and adds the regression-IDW
baseline that uses the co-located layers too.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))
from bench_model import HELD_OUT  # noqa: E402  the block pretraining never saw


def fit_and_score(windows, names, source, dim, steps, lr=2e-3, seed=0, decoder_dim=None, token_mode="patch",
                  per_layer=False):
    import torch
    from dataclasses import replace

    from engine.foundation.model.config import ModelConfig
    from engine.foundation.model.evaluate import reconstruction_scores
    from engine.foundation.model.fusion import FoundationModel
    from engine.data.vocab import layer_ids

    cfg = replace(ModelConfig(), dim=dim, token_mode=token_mode, **({"decoder_dim": decoder_dim} if decoder_dim else {}))
    torch.manual_seed(seed)
    model = FoundationModel(cfg, [source])
    enc = model.encoders[source].train()
    ids = torch.as_tensor(np.asarray(layer_ids(names, source)[0], np.int64))
    opt = torch.optim.AdamW(enc.parameters(), lr=lr, weight_decay=0.0)
    x = torch.from_numpy(windows)
    for step in range(steps):
        part = x[step % 4 * 16:(step % 4 + 1) * 16]
        forward = enc.mae_layers_forward if per_layer else enc.mae_forward
        out = forward(part, None, ids, generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(enc.parameters(), 1.0)
        opt.step()
    model.eval()
    return reconstruction_scores(model, source, windows, names, seed=0, per_layer=per_layer)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--layers", type=int, nargs="+", default=[1, 4, 8, 22])
    ap.add_argument("--dim", type=int, default=96)
    ap.add_argument("--decoder-dim", type=int, default=None, help="default: the model's (64)")
    ap.add_argument("--token-mode", choices=["patch", "layer"], default="patch")
    ap.add_argument("--per-layer", action="store_true", help="mask per (layer, patch), score against regression-IDW too")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from engine.demo import kolari_spec
    from engine.foundation.model.evaluate import sample_windows
    from engine.data.reader import Stack
    from engine.data.stack import align_stack

    work = tempfile.mkdtemp(prefix="mpm_capacity_")
    align_stack(kolari_spec(res=100.0, bounds=HELD_OUT), os.path.join(work, "heldout"))
    with Stack(os.path.join(work, "heldout")) as st:
        arr = st.scene().sources["geochemistry"]
    all_windows = sample_windows(arr.data, 32, 64, seed=0)
    print(f"fresh encoder (tokens per {args.token_mode}, dim {args.dim}, decoder {args.decoder_dim or 64}, "
          f"mask per {'layer' if args.per_layer else 'patch'}) fitted {args.steps} steps to 64 held-out Kolari geochemistry windows; "
          f"MSE on the 75 % hidden patches of the same windows")
    print(f"{'layers':>6} {'model':>7} {'IDW':>7} {'mean-fill':>9} {'model/IDW':>9}"
          + (f" {'regr-IDW':>8}" if args.per_layer else "") + f" {'seconds':>8}")
    for n in args.layers:
        n = min(n, len(arr.layers))
        t = time.perf_counter()
        r = fit_and_score(np.ascontiguousarray(all_windows[:, :n]), arr.layers[:n], "geochemistry", args.dim, args.steps,
                          decoder_dim=args.decoder_dim, token_mode=args.token_mode, per_layer=args.per_layer)
        regr = f" {r['regression_idw']:>8.3f}" if args.per_layer else ""
        print(f"{n:>6} {r['model']:>7.3f} {r['idw']:>7.3f} {r['mean_fill']:>9.3f} {r['model'] / r['idw']:>9.2f}{regr} "
              f"{time.perf_counter() - t:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
