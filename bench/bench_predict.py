#!/usr/bin/env python3
"""End-to-end predict on a synthetic N x N x L stack: wall time, px/s, peak RSS per backend, the
compute and read floors, and the random forest a user would run instead.

The stack is made the real way: L smooth input rasters (bench_align's writer: tiled deflate GeoTIFFs
written by window) aligned by engine.data.stack.align_stack over four sources. A head is fine-tuned once
on synthetic deposits in the top-left 400 x 400 px (every stack starts at the same corner, so the same
head fits all sizes). Each timed run is a child process with an empty embedding cache, so
`engine.prospectivity.predict` does everything: embedding, head, writes. Its peak RSS is the child's
VmHWM (ru_maxrss would carry over the peak of the parent that forked it).

Floors: compute = FLOPs per window (engine.foundation.model.config.count_flops for this stack's channels) x
windows of one pass over the raster / the best fp32 torch matmul rate at the model's sizes measured
here (re-measured per size, the best seen is used); read = bytes of the stack (float32) / the rate
of a raw rasterio windowed read of it. "achieved" = the larger floor / the wall time (1.0 = at
the floor). The random forest (engine.classical.baselines, 300 trees, fitted on the head's samples) predicts
every pixel by 512 px windows under the same GDAL block-cache cap as predict.

    python bench/bench_predict.py --size 500 1000 2000 --layers 20
    python bench/bench_predict.py --size 500 --backends onnx-cpu --profile     (pyinstrument text profile)
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

# 20 layers over the shipped model's four sources, all known layer types (cycled beyond 20).
LAYERS = ([("geophysics", t) for t in ("magnetic", "gravity", "em_inphase", "em_quadrature", "resistivity",
                                        "gamma_k", "gamma_th", "gamma_u")]
          + [("geochemistry", t) for t in ("Cu", "Co", "Fe", "Ni", "Zn", "Au", "U")]
          + [("geology", "fault_distance")]
          + [("remote_sensing", t) for t in ("dem", "band_red", "band_nir", "band_swir1")])
HEAD_SIZE = 400  # px side of the area holding the synthetic deposits (the head's training stack)
X0, Y0, RES = 300000.0, 7600000.0, 100.0


def layer_specs(paths):
    from engine.data.layers import LayerSpec

    return [LayerSpec(p, LAYERS[k % len(LAYERS)][0], kind="continuous", layer_type=LAYERS[k % len(LAYERS)][1])
            for k, p in enumerate(paths)]


def deposits_file(folder, n=20, seed=3):
    """n deposit points inside the head area, as a GeoPackage."""
    import shapely

    from engine.data.vectors import pyogrio

    path = os.path.join(folder, "deposits.gpkg")
    if not os.path.exists(path):
        rng = np.random.default_rng(seed)
        xy = rng.uniform(20, HEAD_SIZE - 20, size=(n, 2)) * RES
        geoms = shapely.points(X0 + xy[:, 0], Y0 - xy[:, 1])
        pyogrio.raw.write(path, geometry=shapely.to_wkb(geoms), field_data=[np.array([f"d{i}" for i in range(n)])],
                          fields=["name"], geometry_type="Point", crs="EPSG:3067", driver="GPKG")
    return path


def make_stack(workdir, size, layers, with_deposits=False):
    """An aligned stack folder of size x size px (made once, then reused)."""
    from bench_align import make_inputs

    from engine.data.stack import StackSpec, align_stack

    out = os.path.join(workdir, f"stack_{size}_{layers}" + ("_dep" if with_deposits else ""))
    if os.path.exists(os.path.join(out, "stack.json")):
        return out
    shutil.rmtree(out, ignore_errors=True)
    inputs = make_inputs(os.path.join(workdir, f"inputs_{size}_{layers}"), size, layers)
    spec = StackSpec(layer_specs(inputs), crs="EPSG:3067", res=RES, bounds=(X0, Y0 - size * RES, X0 + size * RES, Y0),
                     deposits=deposits_file(workdir) if with_deposits else None)
    align_stack(spec, out)
    return out


def make_head(workdir, layers, backend):
    """Fine-tune a small head once; also fit the random forest on the same samples (pickled)."""
    import joblib

    from engine.classical.baselines import RandomForestBaseline, band_values
    from engine.prospectivity import finetune
    from engine.data.reader import Stack
    from engine.prospectivity.samples import build_samples

    stack = make_stack(workdir, HEAD_SIZE, layers, with_deposits=True)
    head, rf_path = os.path.join(workdir, f"head_{layers}"), os.path.join(workdir, f"rf_{layers}.joblib")
    if not os.path.isdir(head):
        os.environ.setdefault("MPM_CACHE_DIR", tempfile.mkdtemp(prefix="mpm_bench_cache_"))
        finetune(stack, head, backend=backend, n_background=2000, validate=False)
    if not os.path.exists(rf_path):
        with Stack(stack) as st:
            s = build_samples(st, n_background=2000, seed=0)
            x = band_values(st, s.rows, s.cols)
        joblib.dump(RandomForestBaseline(seed=0).fit(x, s.label), rf_path)
    return head, rf_path


def matmul_rate(repeats=20):
    """Best fp32 GFLOP/s of torch matmuls at the model's shapes (batch 32 windows x 64 tokens, dim 96)."""
    import torch

    best = {}
    for m, k, n in ((32 * 64 * 6, 96, 96), (32 * 64, 96, 288), (32 * 64, 96, 192), (32 * 64, 192, 96), (1024, 1024, 1024)):
        a, b = torch.randn(m, k), torch.randn(k, n)
        for _ in range(3):
            a @ b
        t = time.perf_counter()
        for _ in range(repeats):
            a @ b
        best[(m, k, n)] = 2 * m * k * n * repeats / (time.perf_counter() - t) / 1e9
    model_sizes = {s: r for s, r in best.items() if s != (1024, 1024, 1024)}
    return max(model_sizes.values()), best


def read_rate(stack_dir, tile=512):
    """(bytes, seconds) of a raw windowed read of every band of stack.tif (decompressed float32)."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(os.path.join(stack_dir, "stack.tif")) as ds:
        t, nbytes = time.perf_counter(), 0
        for r in range(0, ds.height, tile):
            for c in range(0, ds.width, tile):
                a = ds.read(window=Window(c, r, min(tile, ds.width - c), min(tile, ds.height - r)))
                nbytes += a.nbytes
        return nbytes, time.perf_counter() - t


def windows_of(size, cfg, tile):
    """(one pass over the raster, what the tiled embedding runs incl. halos) model windows, all valid."""
    from engine.foundation import embed
    from engine.foundation.model.infer import _starts
    from engine.core.tiles import iter_tiles

    p, win = cfg.patch, cfg.window
    pad = lambda n: max(win, -(-n // p) * p)  # noqa: E731
    one = len(_starts(pad(size), win, win // 2)) ** 2
    if hasattr(embed, "_halo_span"):
        span = lambda off, n: embed._halo_span(off, n, size, cfg)  # noqa: E731
    else:  # the engine before the halo fix: one window around the core
        span = lambda off, n: (max(0, off - win), min(size, off + n + win))  # noqa: E731
    tile = max(win, tile // win * win)
    tiled = 0
    for t in iter_tiles(size, size, tile, 0):
        (ra, rb), (ca, cb) = span(t.core.row_off, t.core.height), span(t.core.col_off, t.core.width)
        tiled += len(_starts(pad(rb - ra), win, win // 2)) * len(_starts(pad(cb - ca), win, win // 2))
    return one, tiled


CHILD_PREDICT = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
a = json.loads(sys.argv[2])
os.environ["MPM_CACHE_DIR"] = a["cache"]
import numpy, rasterio, psutil
from engine.prospectivity import predict
if a["backend"].startswith("torch"):
    import torch
else:
    import onnxruntime
base = psutil.Process().memory_info().rss / 2**20
def hwm():  # this process's peak RSS (VmHWM); ru_maxrss would include the forking parent's peak
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
run = lambda: predict(a["stack"], a["head"], a["out"], backend=a["backend"], contributions=a["contributions"],
                      tile=a["tile"], threads=a["threads"])
t = time.perf_counter()
if a["profile"]:
    from pyinstrument import Profiler
    with Profiler(interval=0.005) as prof:
        run()
    with open(a["profile"], "w") as f:
        f.write(prof.output_text(unicode=False, color=False, show_all=False))
else:
    run()
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "peak_rss_mb": hwm(),
                  "rss_before_mb": base}))
"""

CHILD_RF = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
a = json.loads(sys.argv[2])
import joblib, numpy as np, rasterio, psutil
from engine.data.reader import Stack
base = psutil.Process().memory_info().rss / 2**20
def hwm():  # this process's peak RSS (VmHWM); ru_maxrss would include the forking parent's peak
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
rf = joblib.load(a["rf"])
t = time.perf_counter()
with rasterio.Env(GDAL_CACHEMAX=a["cache_mb"] * 2**20), Stack(a["stack"]) as st:  # the cap predict runs under
    g = st.grid
    prof = dict(driver="GTiff", width=g.width, height=g.height, count=1, dtype="float32", crs=g.rio_crs,
                transform=g.transform, nodata=np.nan, tiled=True, blockxsize=256, blockysize=256, compress="deflate",
                predictor=3)
    with rasterio.open(a["out"], "w", **prof) as dst:
        for tl in st.tiles(a["tile"]):
            w = tl.core
            x = st.read(w)
            p = rf.predict(x.reshape(x.shape[0], -1).T).reshape(x.shape[1:]).astype(np.float32)
            p[~st.read_valid(w)] = np.nan
            dst.write(p, 1, window=w)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "peak_rss_mb": hwm(),
                  "rss_before_mb": base}))
"""


def child(code, args):
    r = subprocess.run([sys.executable, "-c", code, ROOT, json.dumps(args)], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"child failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, nargs="+", default=[500, 1000, 2000])
    ap.add_argument("--layers", type=int, default=20)
    ap.add_argument("--backends", nargs="+", default=None,
                    help="default: torch-cpu onnx-cpu, plus torch-cuda when torch sees a GPU; 'none': the forest alone")
    ap.add_argument("--contributions", action="store_true", help="also the per-source contribution maps (1 + sources embeddings)")
    ap.add_argument("--tile", type=int, default=256)
    ap.add_argument("--threads", type=int, default=None, help="encoder CPU threads (default: the library's)")
    ap.add_argument("--no-rf", action="store_true", help="skip the random forest baseline")
    ap.add_argument("--profile", action="store_true", help="pyinstrument profile of each run into the workdir")
    ap.add_argument("--workdir", default=os.path.join(ROOT, "bench", "out", "predict"))
    args = ap.parse_args()
    import torch

    from engine.foundation.features import DEFAULT_MODEL
    from engine.foundation.model.config import count_flops
    from engine.foundation.model.config import ModelConfig
    from engine.foundation.model.weights import read_card
    from engine.data.stack import GDAL_CACHE_MB

    backends = args.backends or (["torch-cpu", "onnx-cpu"] + (["torch-cuda"] if torch.cuda.is_available() else []))
    backends = [b for b in backends if b != "none"]  # --backends none: the random forest alone
    os.makedirs(args.workdir, exist_ok=True)
    cfg = ModelConfig.from_dict(read_card(DEFAULT_MODEL)["config"])
    channels = {}
    for s, _ in (LAYERS * (1 + args.layers // len(LAYERS)))[:args.layers]:
        channels[s] = channels.get(s, 0) + 1
    flops = count_flops(cfg, channels)
    gflops, rates = matmul_rate()
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)"
          + (f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"))
    print("fp32 matmul GFLOP/s: " + ", ".join(f"{m}x{k}x{n} {r:.1f}" for (m, k, n), r in rates.items())
          + f"  -> floor rate {gflops:.1f}")
    print(f"model: window {cfg.window}, patch {cfg.patch}, dim {cfg.dim}; channels {channels}: "
          f"{flops / 1e6:.0f} MFLOP per window; contributions {'on' if args.contributions else 'off'}; tile {args.tile}")
    t = time.perf_counter()
    head, rf = make_head(args.workdir, args.layers, "onnx-cpu")
    print(f"head + random forest on {HEAD_SIZE}^2 px, 20 synthetic deposits: {time.perf_counter() - t:.0f} s")
    n_emb = 1 + (len(channels) if args.contributions else 0)
    print(f"{'size':>7} {'method':>10} {'seconds':>9} {'px/s':>9} {'peak RSS MB':>11} {'(before)':>8} {'windows':>9} "
          f"{'tiled win':>9} {'compute floor s':>15} {'read floor s':>12} {'achieved':>8}")
    rows = []
    for size in args.size:
        stack = make_stack(args.workdir, size, args.layers)
        nbytes, read_s = read_rate(stack)
        one, tiled = windows_of(size, cfg, args.tile)
        gflops = max(gflops, matmul_rate()[0])  # re-measured per size: the best rate seen is the floor's
        floor_c = n_emb * one * flops / (gflops * 1e9)
        floor = max(floor_c, read_s)
        for b in backends + ([] if args.no_rf else ["rf"]):
            tmp = tempfile.mkdtemp(prefix="mpm_bench_run_", dir=args.workdir)
            try:
                prof = os.path.join(args.workdir, f"profile_{size}_{b}.txt") if args.profile else None
                if b == "rf":
                    r = child(CHILD_RF, {"stack": stack, "rf": rf, "out": os.path.join(tmp, "rf.tif"), "tile": 512,
                                         "cache_mb": GDAL_CACHE_MB})
                else:
                    r = child(CHILD_PREDICT, {"stack": stack, "head": head, "out": os.path.join(tmp, "pred"), "backend": b,
                                              "cache": os.path.join(tmp, "cache"), "contributions": args.contributions,
                                              "tile": args.tile, "threads": args.threads, "profile": prof})
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            px = size * size
            row = {"size": size, "method": b, **r, "px_per_s": px / r["seconds"], "windows": one, "tiled_windows": tiled,
                   "matmul_gflops": gflops,
                   "floor_compute_s": floor_c, "floor_read_s": read_s, "read_bytes": nbytes}
            rows.append(row)
            fc = f"{floor_c:>15.1f}" if b != "rf" else f"{'-':>15}"
            ach = f"{floor / r['seconds']:>8.2f}" if b != "rf" else f"{'-':>8}"
            print(f"{size:>7} {b:>10} {r['seconds']:>9.1f} {row['px_per_s']:>9.3g} {r['peak_rss_mb']:>11.0f} "
                  f"{r['rss_before_mb']:>8.0f} {one:>9} {tiled:>9} {fc} {read_s:>12.2f} {ach}", flush=True)
    print(f"floor matmul rate used: {gflops:.1f} GFLOP/s (best seen)")
    big = max(args.size)
    if big < 10000:
        print("extrapolation (NOT measured) to 10,000^2 from the px/s at the largest size measured:")
        for r in rows:
            if r["size"] == big:
                print(f"  {r['method']:>10}: {1e8 / r['px_per_s'] / 3600:.2f} h")
    for b in backends:
        ours = [r for r in rows if r["size"] == big and r["method"] == b]
        rfr = [r for r in rows if r["size"] == big and r["method"] == "rf"]
        if ours and rfr:
            print(f"  {b} / random forest time ratio at {big}^2: {ours[0]['seconds'] / rfr[0]['seconds']:.2f}, "
                  f"peak RSS ratio {ours[0]['peak_rss_mb'] / rfr[0]['peak_rss_mb']:.2f}")
    with open(os.path.join(args.workdir, "results.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
