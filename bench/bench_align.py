#!/usr/bin/env python3
"""Align a synthetic N x N x L stack and print wall time, throughput and peak memory.

Inputs are L smooth rasters at 4x the target pixel size, in a shifted grid, written tiled; the
alignment itself runs in a child process so its peak RSS is measured alone. Memory should stay
flat as N grows (bounded by the tile), time should grow linearly with pixels.

    python bench/bench_align.py --size 10000 --layers 20
    python bench/bench_align.py --size 2500 5000 10000 --layers 20
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def make_inputs(folder, size, layers, factor=4, seed=0):
    """Smooth fields (sums of random plane waves), generated window by window: bounded memory here too."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    n = size // factor + 2
    res = 100.0 * factor
    rng = np.random.default_rng(seed)
    paths = []
    os.makedirs(folder, exist_ok=True)
    for k in range(layers):
        path = os.path.join(folder, f"layer_{k:02d}.tif")
        paths.append(path)
        if os.path.exists(path):
            continue
        waves = rng.normal(size=(6, 2)) * 2 * np.pi / (n * rng.uniform(0.05, 0.5, size=(6, 1)))
        phases = rng.uniform(0, 2 * np.pi, 6)
        with rasterio.open(path + ".partial", "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                           crs="EPSG:3067", transform=from_origin(300000 - res, 7600000 + res, res, res),
                           tiled=True, blockxsize=256, blockysize=256, compress="deflate", nodata=-9999) as dst:
            for r in range(0, n, 1024):
                h = min(1024, n - r)
                rows, cols = np.mgrid[r:r + h, 0:n]
                v = sum(np.sin(w[0] * rows + w[1] * cols + p) for w, p in zip(waves, phases)).astype(np.float32)
                dst.write(v[None], window=Window(0, r, n, h))
        os.replace(path + ".partial", path)
    return paths


CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from engine.data.layers import LayerSpec
from engine.data.stack import StackSpec, align_stack
paths, out, size, tile = json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
spec = StackSpec([LayerSpec(p, "geophysics") for p in paths], crs="EPSG:3067", res=100.0,
                 bounds=(300000, 7600000 - size * 100.0, 300000 + size * 100.0, 7600000), tile_size=tile)
t = time.perf_counter()
align_stack(spec, out)
print(json.dumps({"seconds": time.perf_counter() - t, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(size, layers, tile, workdir):
    inputs = make_inputs(os.path.join(workdir, f"inputs_{size}_{layers}"), size, layers)
    out = os.path.join(workdir, f"stack_{size}")
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([sys.executable, "-c", CHILD, ROOT, json.dumps(inputs), out, str(size), str(tile)],
                       capture_output=True, text=True, check=True)
    res = json.loads(r.stdout.strip().splitlines()[-1])
    out_bytes = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
    shutil.rmtree(out, ignore_errors=True)
    px = size * size
    return {"size": size, "layers": layers, "tile": tile, **res, "Mpx_per_s": px / res["seconds"] / 1e6,
            "layer_px_per_s": px * layers / res["seconds"], "output_mb": out_bytes / 2**20}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, nargs="+", default=[10000])
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--tile", type=int, default=512)
    ap.add_argument("--workdir", default=os.path.join(ROOT, "bench", "out"))
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores; tile {args.tile}; inputs at 4x the target pixel size")
    print(f"{'size':>7} {'layers':>6} {'seconds':>9} {'Mpx/s':>7} {'layer-px/s':>12} {'peak RSS MB':>12} {'output MB':>10}")
    for size in args.size:
        r = run(size, args.layers, args.tile, args.workdir)
        print(f"{r['size']:>7} {r['layers']:>6} {r['seconds']:>9.1f} {r['Mpx_per_s']:>7.2f} {r['layer_px_per_s']:>12.3g} "
              f"{r['peak_rss_mb']:>12.0f} {r['output_mb']:>10.0f}", flush=True)


if __name__ == "__main__":
    main()
