"""The tracer's tuning figures: Kolari crops in the *training* region only (never the held-out block), drawn
with the held-out protocol otherwise (rng [7, 1000], 8 structures a crop, one and three clicks), centre-line
F1 within 3 px for: the tracer as shipped, the same without the pull towards the curve through the clicks
(GUIDE_WEIGHT 0: the staircase), a straight polyline through the clicks, and the quadratic spline through them.

    .venv/bin/python bench/bench_trace_tuning.py [--windows 80] [--kolari DATA_FOLDER]
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def tuning_samples(data, n_windows, size):
    from engine.structures.training_data import LINE_TYPES, sample_prompt

    rng = np.random.default_rng([7, 1000])
    out = []
    for r0, c0 in data.windows("train", n_windows, rng, size):
        crop = data.crop_samples(r0, c0, size)
        valid = data.valid_all[r0:r0 + size, c0:c0 + size]
        for j in rng.permutation(len(crop))[:8]:
            img, m, t = crop[j]
            for mode in ("click1", "click3", "box"):  # the box draw keeps the rng stream of the held-out protocol
                p = sample_prompt(m, t, rng, mode)
                if t in LINE_TYPES and mode != "box":
                    out.append((f"{r0},{c0}", img, valid, m, t, p))
    return out


def main(argv=None):
    from engine.demo import find_demo_data
    from engine.structures import trace as T
    from engine.structures.evaluate import centreline_f1
    from engine.structures.training_data import SIZE, KolariData

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=80)
    ap.add_argument("--kolari", help="Kolari data folder (default: the demo data)")
    a = ap.parse_args(argv)
    samples = tuning_samples(KolariData(a.kolari or find_demo_data()), a.windows, SIZE)

    def traced(maps, inc, exc, shape):
        return T.trace_line(maps, inc, exc).mask

    def unguided(maps, inc, exc, shape):
        old, T.GUIDE_WEIGHT = T.GUIDE_WEIGHT, 0.0
        try:
            return T.trace_line(maps, inc, exc).mask
        finally:
            T.GUIDE_WEIGHT = old

    def through_clicks(curve):
        def draw(maps, inc, exc, shape):
            rc = np.stack([inc[:, 1] - 0.5, inc[:, 0] - 0.5], 1)
            if len(rc) == 1:
                return T.trace_line(maps, inc, exc).mask
            order = T._order(rc)
            path = T._guide(order) if curve else np.concatenate(
                [T._straight(p, q) for p, q in zip(order[:-1], order[1:])])
            return T._rasterise(path, shape)
        return draw

    variants = {"traced (shipped)": traced, "traced, no pull to the curve": unguided,
                "straight polyline through clicks": through_clicks(False),
                "quadratic spline through clicks": through_clicks(True)}
    maps = {}
    print(f"Kolari training-region crops ({a.windows} windows, {len(samples)} line prompts), centre-line F1 within 3 px")
    print(f"{'variant':34s} {'1 click':>8s} {'3 clicks':>9s} {'faults':>7s} {'contacts':>9s}")
    for name, draw in variants.items():
        f = {}
        for key, img, valid, m, t, p in samples:
            if key not in maps:
                maps[key] = T.line_maps(img, valid)
            s = centreline_f1(draw(maps[key], p.points[p.labels == 1], p.points[p.labels == 0], m.shape), m)
            mode = "1 click" if p.n_include == 1 else "3 clicks"
            f.setdefault(mode, []).append(s)
            if mode == "3 clicks":
                f.setdefault(t, []).append(s)
        print(f"{name:34s} {np.mean(f['1 click']):8.3f} {np.mean(f['3 clicks']):9.3f} "
              f"{np.mean(f['fault']):7.3f} {np.mean(f['contact']):9.3f}")


if __name__ == "__main__":
    main()
