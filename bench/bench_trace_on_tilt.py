"""Lines traced on the stretched total field against the same clicks traced on its tilt derivative.

Held-out Kolari crops and prompts of `engine.structures.evaluate` (the card's protocol). The tilt is
computed once on the whole magnetic grid (`engine.data.derivatives`, as `python -m engine derivatives` writes
it; KolariData holds it), and then cropped.
Prints the centre-line F1 within 3 px per type and mode.

    .venv/bin/python bench/bench_trace_on_tilt.py [--kolari DATA_FOLDER]
"""

import argparse
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _stretch(a, ok):
    lo, hi = np.percentile(a[ok], [1, 99])
    return np.clip((a - lo) / max(hi - lo, 1e-9), 0, 1) * 255


def main(argv=None):
    from engine.demo import find_demo_data
    from engine.structures import trace as T
    from engine.structures.evaluate import centreline_f1, held_out_samples
    from engine.structures.training_data import SIZE, KolariData

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kolari", help="Kolari data folder (default: the demo data)")
    a = ap.parse_args(argv)
    data = KolariData(a.kolari or find_demo_data())
    tilt = data.bands["magnetic_tilt"]  # derivatives() of the whole magnetic grid, as KolariData holds it
    scores, maps = {}, {}
    for s in held_out_samples(kolari=data)["kolari"]:
        p = s.prompt
        if s.feature_type not in ("fault", "contact", "lineament") or p.n_include == 0:
            continue
        if s.source not in maps:
            r0, c0 = (int(v) for v in s.source.split(":")[1].split(","))
            win = tilt[r0:r0 + SIZE, c0:c0 + SIZE]
            ok = s.valid & np.isfinite(win)
            maps[s.source] = {"total field": T.line_maps(s.image, s.valid),
                              "tilt derivative": T.line_maps(_stretch(np.where(ok, win, 0.0), ok), ok)}
        mode = "1 click" if p.n_include == 1 else f"{p.n_include} clicks"
        for name, m in maps[s.source].items():
            f1 = centreline_f1(T.trace_line(m, p.points[p.labels == 1], p.points[p.labels == 0]).mask, s.mask)
            for t in (s.feature_type, "all lines"):
                scores.setdefault((mode, t, name), []).append(f1)
    print("held-out Kolari crops, centre-line F1 within 3 px (traced on the view shown)")
    print(f"{'mode':10s} {'type':10s} {'total field':>12s} {'tilt derivative':>16s} {'n':>5s}")
    for mode, t in sorted({k[:2] for k in scores}):
        f, g = scores[(mode, t, "total field")], scores[(mode, t, "tilt derivative")]
        print(f"{mode:10s} {t:10s} {np.mean(f):12.3f} {np.mean(g):16.3f} {len(f):5d}")


if __name__ == "__main__":
    main()
