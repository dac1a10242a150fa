"""SAM structure extractor figures: held-out mIoU (shipped GeoSAM vs the classical click baseline,
same prompts) and the lines' centre-line F1 (model masks, traced lines, baseline), encoder time per
1024 x 1024 view, decoder ms per click (ONNX and torch), line tracing ms per click.

    .venv/bin/python bench/bench_sam.py [--model models/mpm-geosam-v2] [--scenes 16] [--clicks 200] [--threads 2]
"""

import argparse
import os
import platform
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _machine(threads):
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (f"machine: {os.cpu_count()} cores ({cpu}), torch {torch.__version__} with {threads} threads, "
            f"CUDA {'yes' if torch.cuda.is_available() else 'no'}")


def _pct(ts):
    ts = np.asarray(ts) * 1000
    return f"p50 {np.percentile(ts, 50):7.2f} ms  p95 {np.percentile(ts, 95):7.2f} ms"


def bench_quality(model, scenes, kolari):
    from engine.structures.evaluate import EVAL_SEED0, evaluate, format_table, held_out_samples

    out = []
    samples = held_out_samples(range(EVAL_SEED0, EVAL_SEED0 + scenes), kolari=kolari)
    for key, ss in samples.items():
        t = time.time()
        r = evaluate(model, ss)
        what = (f"held-out synthetic: {scenes} scenes (seeds {EVAL_SEED0}..{EVAL_SEED0 + scenes - 1}), {len(ss)} prompts"
                if key == "synthetic" else f"held-out Kolari block (south-east quadrant), {len(ss)} prompts")
        out.append(format_table(r, f"mIoU, {what}; baseline refused {r.get('baseline_refused', 0)} "
                                   f"({time.time() - t:.0f} s)"))
    return "\n\n".join(out)


def bench_speed(model_dir, clicks, threads):
    import torch

    from engine.structures.image import prepare, stretch_bands
    from engine.structures.predictor import StructurePredictor
    from engine.data.synthetic import generate_scene

    sc = generate_scene(EVAL, size=1024)
    band = sc.sources["geophysics"].data[0]  # magnetics, 1024 x 1024
    lines = []
    sam = None
    for backend in ("onnx-cpu", "torch-cpu"):
        try:
            p = StructurePredictor(model_dir, backend=backend, threads=threads)
        except Exception as exc:  # noqa: BLE001 (report, do not stop the bench)
            lines.append(f"{backend}: not available ({exc})")
            continue
        p.set_image(band[None])  # warm-up
        ts = []
        for _ in range(5):
            t = time.perf_counter()
            p.set_image(band[None])
            ts.append(time.perf_counter() - t)
        lines.append(f"{backend:<9} set_image 1024 x 1024 view (stretch, resize to {p.img_size}, encode): {_pct(ts)}"
                     f"  [encoder {p.encoder_backend}]")
        rng = np.random.default_rng(0)
        pts = rng.uniform(0, 1024, (clicks, 2))
        p.predict(points=pts[:1], labels=[1], multimask=True)
        for multimask in (True, False):
            ts = []
            for i in range(clicks):
                t = time.perf_counter()
                p.predict(points=pts[i:i + 1], labels=[1], multimask=multimask)
                ts.append(time.perf_counter() - t)
            what = "1 click, best of 3 masks" if multimask else "1 click, single mask"
            lines.append(f"{backend:<9} decoder per click ({what}, mask at 1024 x 1024), {clicks} clicks: {_pct(ts)}"
                         f"  [decoder {p.decoder_backend}]")
        if backend == "onnx-cpu":
            lines.append(_snap_timing(p, band, pts[: min(clicks, 50)]))
            lines.append(_box_timing(band, pts[: min(clicks, 50)]))
            lines.append(_trace_timing(band, sc, clicks))
        sam = getattr(p, "_sam", None) or sam
    from engine.structures.weights import load_geosam

    sam = load_geosam(model_dir)
    img3 = stretch_bands(band[None])
    for size in (256, 1024):
        if size == 256:
            x, _ = prepare(img3, 256, pad_value=sam.pixel_mean.flatten().numpy())
        else:
            x = img3[None]
        xt = (torch.from_numpy(x) - sam.pixel_mean) / sam.pixel_std
        with torch.inference_mode():
            e = sam.image_encoder(xt)
            ts = []
            for _ in range(3):
                t = time.perf_counter()
                e = sam.image_encoder(xt)
                ts.append(time.perf_counter() - t)
        lines.append(f"torch-cpu raw encoder at {size} x {size} input -> {tuple(e.shape[1:])} embedding: {_pct(ts)}")
    return "\n".join(lines)


def _repeat(fn, arg, n=3):
    """(fn(arg), [seconds of each of n calls]): a once-per-view step timed."""
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        out = fn(arg)
        ts.append(time.perf_counter() - t)
    return out, ts


def _snap_timing(predictor, band, pts):
    """What snapping a body adds: the view's edge map once (the tool keeps it per view), then the
    watershed over the whole 1,024^2 view per click (no box: the slowest case)."""
    from engine.structures.image import stretch_bands
    from engine.structures.snap import snap_to_edges, view_edges

    img = stretch_bands(band[None])
    edges, te = _repeat(view_edges, img)
    ts = []
    for pt in pts:
        mask = predictor.predict(points=pt[None], labels=[1], multimask=False).mask
        t = time.perf_counter()
        snap_to_edges(img, mask, pt[None], [1], edges=edges)
        ts.append(time.perf_counter() - t)
    return (f"snap to edges (intrusion/alteration only) at 1024 x 1024: edge map once per view {_pct(te)}\n"
            f"snap to edges, added per click, {len(ts)} clicks: {_pct(ts)}")


def _box_timing(band, pts):
    """What a body asked with a box costs on top of the decoder (engine/structures/box.py): square boxes
    of 128, 256 and 512 px around the clicks, and the whole 1,024^2 view (the slowest case)."""
    from engine.structures.box import box_body
    from engine.structures.image import stretch_bands

    img = stretch_bands(band[None])
    H, W = img.shape[1:]
    out = []
    for side in (128, 256, 512, 1024):
        ts = []
        for x, y in pts[:20]:
            x0, y0 = min(max(0.0, x - side / 2), W - side), min(max(0.0, y - side / 2), H - side)
            t = time.perf_counter()
            box_body(img, (x0, y0, x0 + side, y0 + side))
            ts.append(time.perf_counter() - t)
        out.append(f"body from a {side} px box (intrusion/alteration), added per box at 1024 x 1024, {len(ts)} boxes: "
                   f"{_pct(ts)}")
    return "\n".join(out)


def _trace_timing(band, scene, clicks):
    """Lines (faults, lineaments, contacts) are traced on the view (engine/structures/trace.py), not decoded:
    the view's valley / ridge / edge responses once per view (the tool keeps them), then per click
    the tracing: 1 click on a fault both ways, 2 and 3 clicks along one joined by the cheapest path."""
    from engine.structures.image import stretch_bands
    from engine.structures.trace import line_maps, trace_line

    maps, tm = _repeat(line_maps, stretch_bands(band[None]))
    fi = scene.labels["fault_instances"]
    rng = np.random.default_rng(1)
    out = [f"trace lines at 1024 x 1024: responses once per view {_pct(tm)}"]
    faults = [i for i in range(1, int(fi.max()) + 1) if (fi == i).sum() >= 60]
    for n in (1, 2, 3):
        ts = []
        for k in range(clicks):
            rr, cc = np.nonzero(fi == faults[k % len(faults)])
            pick = rng.choice(len(rr), n, replace=False)
            pts = np.stack([cc[pick] + 0.5, rr[pick] + 0.5], 1)
            t = time.perf_counter()
            trace_line(maps, pts)
            ts.append(time.perf_counter() - t)
        out.append(f"trace per click ({n} click{'s' if n > 1 else ''} on one of {len(faults)} faults), {clicks} prompts: "
                   f"{_pct(ts)}")
    return "\n".join(out)


EVAL = 1_000_777


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "mpm-geosam-v2"))
    ap.add_argument("--scenes", type=int, default=16)
    ap.add_argument("--clicks", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kolari", help="Kolari data folder (default: the demo data when found)")
    a = ap.parse_args(argv)
    import torch

    torch.set_num_threads(a.threads)
    from engine.structures.weights import load_geosam

    kolari = a.kolari
    if kolari is None:
        from engine.demo import find_demo_data
        from engine.core.errors import InputError

        try:
            kolari = find_demo_data()
        except InputError:
            kolari = None
    model = load_geosam(a.model)
    t = model.card["training"]
    print(_machine(a.threads))
    print(f"model: {a.model} ({model.card['params']:,} parameters, {t['steps']} steps, {t['seconds'] / 60:.1f} min on "
          f"{t['device']})")
    print()
    print(bench_quality(model, a.scenes, kolari))
    print()
    print(bench_speed(a.model, a.clicks, a.threads))


if __name__ == "__main__":
    main()
