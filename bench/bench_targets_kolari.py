"""Targets on the Kolari chain at 400 m (issue 21, item 14): how many polygons, how many under 1 km2, the largest
and the most deposits in one polygon, with and without splitting at local maxima and dropping slivers.

    .venv/bin/python bench/bench_targets_kolari.py [--res 400] [--out /tmp/kolari_targets] [--before main]

--before REV also runs engine/prospectivity/targets.py as it is at git revision REV (the code before the change).
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def describe(path):
    from engine.data.vectors import pyogrio

    meta, _, _, data = pyogrio.raw.read(path, layer="targets")
    f = dict(zip(meta["fields"], data))
    a = f["area_km2"]
    return (f"{len(a)} targets, {int((a < 1).sum())} under 1 km2, largest {a.max():.1f} km2, "
            f"most deposits in one {int(f['deposits_inside'].max())}, captured {int(f['deposits_inside'].sum())}; "
            f"areas {', '.join(f'{x:.1f}' for x in sorted(a, reverse=True))}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--res", type=float, default=400.0)
    ap.add_argument("--out", default="/tmp/kolari_targets")
    ap.add_argument("--before", help="git revision whose engine/prospectivity/targets.py to compare with")
    args = ap.parse_args()
    from engine import api
    from engine.prospectivity.head import HeadConfig
    from engine.prospectivity import finetune, predict
    from engine.prospectivity.targets import targets_from_prediction

    os.makedirs(args.out, exist_ok=True)
    stack, head, pred = (os.path.join(args.out, k) for k in ("stack", "head", "prediction"))
    if not os.path.exists(stack):
        api.align_stack(api.kolari_spec(res=args.res), stack)
    if not os.path.exists(head):
        finetune(stack, head, validate=False, threads=2, head_config=HeadConfig())
    if not os.path.exists(pred):
        predict(stack, head, pred, contributions=False, threads=2)
    runs = [("no split (split_km2=None), 0.5 km2", targets_from_prediction, dict(split_km2=None, min_area_km2=0.5)),
            ("split at 25 km2, the default 1 km2", targets_from_prediction, dict(min_area_km2=1.0, split_km2=25.0)),
            ("split at 10 km2 (the default), 0.5 km2", targets_from_prediction, dict(min_area_km2=0.5)),
            ("split at 10 km2 (the default), the default 1 km2", targets_from_prediction, dict(min_area_km2=1.0))]
    if args.before:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        code = subprocess.run(["git", "show", f"{args.before}:engine/prospectivity/targets.py"], cwd=root, capture_output=True,
                              text=True, check=True).stdout
        path = os.path.join(tempfile.mkdtemp(), "targets_before.py")
        with open(path, "w") as f:
            f.write(code)
        spec = importlib.util.spec_from_file_location("engine._targets_before", path)
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
        runs.insert(0, (f"engine/prospectivity/targets.py at {args.before}, 0.5 km2", old.targets_from_prediction,
                        dict(min_area_km2=0.5)))
    for i, (name, fn, kw) in enumerate(runs):
        out = os.path.join(args.out, f"targets_{i}.gpkg")
        fn(pred, out, stack_dir=stack, capture=0.8, overwrite=True, **kw)
        print(f"{name}: {describe(out)}")


if __name__ == "__main__":
    main()
