"""Geochemical anomalies as what the pretrained geochemistry encoder cannot explain (FM4GAI-style).

Every pixel's element values are predicted from its surroundings with its own patch hidden, the
way the encoder was pretrained (25 % of patches visible), and the residual observed - expected is
the anomaly. The masks are deterministic (a 2 x 2 phase lattice of patches, one phase visible per
pass) so every patch is hidden equally often and the maps do not depend on a random seed, and
overlapping windows are blended with a tent weight so no seams show. A robust Mahalanobis
distance of each pixel's CLR vector (no spatial context) is written beside it as the classical
baseline. Tiles carry a halo of one window, so a tiled run equals a single pass.

Both maps are masked beyond the sampling support: a cell farther than SUPPORT_SPACINGS median sample
spacings from every sample is NaN (the stack's gridding reaches three spacings out, and there the map
showed sample sites as a polka-dot rather than anomalies). The samples are read again from the
geochemistry layer the stack records; when it cannot be read, nothing is masked and the summary says so.
"""

import json
import os
import warnings

import numpy as np
import rasterio
from rasterio.windows import Window

from ..core.atomic import atomic_path, check_output_path
from ..core.errors import InputError
from ..foundation.features import DEFAULT_MODEL
from ..core.runtime import Runtime
from ..core.progress import Steps
from ..data.reader import Stack
from ..data.stack import bounded_block_cache

SOURCE = "geochemistry"
SAMPLE = 20_000      # pixels for the MCD fit, the score statistics and the Spearman correlation
SEPARATION = 1000.0  # metres between reported anomalies
PHASES = 4           # 2 x 2 lattice of patch phases: one visible per pass
SUPPORT_SPACINGS = 1.0  # cells farther than this many median sample spacings from every sample are masked


def mae_explicit(enc, x, valid, layer_ids, keep):
    """mae_forward's reconstruction with a given keep set (B, K) of visible patches instead of a
    random one: returns recon (B, C, H, W), input on visible and prediction on hidden patches, and
    hidden (B, N) bool."""
    out = enc.mae_forward(x, valid, layer_ids, keep=keep)
    return out["recon"], out["mask"]


def phase_keep(grid):
    """(PHASES, grid*grid / 4) visible patch indices: pass k shows patches with (row % 2, col % 2) == k."""
    r, q = np.divmod(np.arange(grid * grid), grid)
    phase = (r % 2) * 2 + q % 2
    return np.stack([np.flatnonzero(phase == k) for k in range(PHASES)])


def reconstruct(enc, data, layer_ids, batch_size=32, feedback=None):
    """Expected value (C, H, W) of every pixel of `data` (C, H, W, normalised, NaN = invalid) from
    its context; NaN where no window with data covers the pixel. feedback: a QGIS-style feedback or a Steps."""
    import torch

    from ..foundation.model.infer import _starts, _tent
    from ..foundation.model.layers import unpatchify

    steps = feedback if isinstance(feedback, Steps) else Steps(feedback)
    cfg = enc.config
    win, p, g = cfg.window, cfg.patch, cfg.grid
    ch, h, w = data.shape
    hp, wp = max(win, -(-h // p) * p), max(win, -(-w // p) * p)
    pad = np.full((ch, hp, wp), np.nan, np.float32)
    pad[:, :h, :w] = data
    anyv = np.isfinite(pad).any(0)
    pos = [(y, x) for y in _starts(hp, win, win // 2) for x in _starts(wp, win, win // 2) if anyv[y:y + win, x:x + win].any()]
    tent = np.repeat(np.repeat(_tent(g), p, 0), p, 1)
    acc = np.zeros((ch, hp, wp), np.float32)
    wsum = np.zeros((hp, wp), np.float32)
    keep = torch.as_tensor(phase_keep(g))
    hid = torch.ones(PHASES, 1, g * g, p * p).scatter(2, keep[:, None, :, None].expand(-1, -1, -1, p * p), 0.0)
    hid = unpatchify(hid / hid.sum(0), p, g)  # (P, 1, win, win): mean over the passes hiding each pixel
    ids = torch.as_tensor(np.asarray(layer_ids, np.int64))
    with torch.inference_mode():
        for b0 in range(0, len(pos), batch_size):
            chunk = pos[b0:b0 + batch_size]
            x = torch.from_numpy(np.stack([pad[:, y:y + win, q:q + win] for y, q in chunk]))
            xr = x.repeat_interleave(PHASES, 0)  # window-major: (B * P, C, win, win)
            rec, _ = mae_explicit(enc, xr, None, ids, keep.repeat(len(chunk), 1))
            exp = (rec.reshape(len(chunk), PHASES, ch, win, win) * hid).sum(1).numpy()
            for k, (y, q) in enumerate(chunk):
                acc[:, y:y + win, q:q + win] += exp[k] * tent
                wsum[y:y + win, q:q + win] += tent
            steps.report((b0 + len(chunk)) / len(pos))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = acc / wsum
    return out[:, :h, :w]


def _keys(rows, cols, width):
    """Pseudo-random key per pixel (splitmix64 of its index): the smallest SAMPLE keys are a fixed-seed
    sample that does not depend on the tiling."""
    with np.errstate(over="ignore"):
        z = (rows.astype(np.uint64) * np.uint64(width) + cols.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _clr(st, window, idx):
    """The geochemistry bands as stored (CLR, unclipped; logged where the stack logs them), NaN
    outside valid. The normalised copies are clipped at +-10, which breaks the CLR closure and
    would blow distances up along its null direction."""
    a = st.read(window, normalised=False)[idx]
    for j, i in enumerate(idx):
        if st.bands[i]["stats"].get("log"):
            a[j] = np.log10(np.maximum(a[j], 1e-30))
    a[:, ~st.read_valid(window)] = np.nan
    return a


class _Mahalanobis:
    """Robust (MCD) Mahalanobis distance; CLR vectors sum to zero, so the fit runs in the span
    of the sample's non-degenerate principal axes (the pseudo-inverse distance)."""

    def __init__(self, sample):
        from sklearn.covariance import MinCovDet

        self.centre = sample.mean(0)
        _, s, vt = np.linalg.svd(sample - self.centre, full_matrices=False)
        self.axes = vt[s > s[0] * 1e-3].T
        with warnings.catch_warnings():  # gridded data repeat vectors: C-steps' det can tick up by rounding
            warnings.simplefilter("ignore", RuntimeWarning)
            self.mcd = MinCovDet(random_state=0).fit((sample - self.centre) @ self.axes)

    def __call__(self, x):
        """x (n, C) -> distances (n,)."""
        return np.sqrt(self.mcd.mahalanobis((x - self.centre) @ self.axes)).astype(np.float32)


def _peaks(ds, c, rad, foot, n):
    """Rows, cols (in window c) and values of the n highest local maxima of band 1 of ds within c;
    the score is read with a halo of rad so maxima are the same whatever the tiling."""
    from scipy import ndimage

    sc = ds.read(1, window=Window(c.col_off - rad, c.row_off - rad, c.width + 2 * rad, c.height + 2 * rad),
                 boundless=True, fill_value=np.nan)
    filled = np.where(np.isfinite(sc), sc, -np.inf)
    peak = filled == ndimage.maximum_filter(filled, footprint=foot, mode="constant", cval=-np.inf)
    core = np.s_[rad:rad + c.height, rad:rad + c.width]
    rr, cc = np.nonzero(peak[core] & np.isfinite(sc[core]))
    vals = sc[core][rr, cc]
    best = np.argsort(-vals, kind="stable")[:n]
    return rr[best], cc[best], vals[best]


def sampling_support(st):
    """(KD-tree of the geochemistry samples in the grid's CRS, the largest supported distance in metres, median
    spacing), or None when the stack records no readable sample layer."""
    import shapely
    from scipy.spatial import cKDTree

    from ..data.geochem import clean_values
    from ..data.vectors import read_vector

    layers = [lyr for lyr in (st.manifest.get("spec") or {}).get("layers", [])
              if lyr.get("source") == SOURCE and lyr.get("kind") == "points"]
    xy = []
    for lyr in layers:
        name = lyr.get("name") or lyr.get("path")
        try:
            data = read_vector(lyr["path"], name, dst_crs=st.grid.crs, crs=lyr.get("crs"))
        except (InputError, OSError, KeyError):
            return None
        pts = shapely.get_coordinates(data.geometries)
        # only the samples the stack was gridded from support it: those with every element read (CLR needs all)
        elements = ((st.manifest.get("layers") or {}).get(name) or {}).get("elements") or lyr.get("elements")
        try:
            _, values = clean_values(data.fields, elements, name)
        except InputError:
            values = None
        if values is not None and len(values) == len(pts):
            pts = pts[np.isfinite(values).all(axis=1)]
        xy.append(pts)
    xy = np.concatenate(xy) if xy else np.zeros((0, 2))
    if len(xy) < 2:
        return None
    tree = cKDTree(xy)
    spacing = float(np.median(tree.query(xy, k=2)[0][:, 1]))
    return tree, max(SUPPORT_SPACINGS * spacing, st.grid.res), spacing


def _unsupported(support, grid, window):
    """True where the window's pixel centres lie beyond the sampling support."""
    tree, reach, _spacing = support
    rows, cols = np.mgrid[window.row_off:window.row_off + window.height, window.col_off:window.col_off + window.width]
    x, y = grid.transform * (cols + 0.5, rows + 0.5)
    d, _ = tree.query(np.column_stack([x.ravel(), y.ravel()]), distance_upper_bound=reach)
    return ~np.isfinite(d).reshape(rows.shape)


def _stats(v):
    q = np.percentile(v, [50, 90, 95, 99, 99.9]) if v.size else [np.nan] * 5
    return {"mean": float(np.mean(v)) if v.size else None, "max": float(np.max(v)) if v.size else None,
            **{f"p{k}": float(x) for k, x in zip(("50", "90", "95", "99", "99.9"), q)}}


def geochem_anomalies(stack_dir, out_dir, model=DEFAULT_MODEL, top=20, overwrite=False, feedback=None, runtime=None,
                      **settings):
    """Write residual.tif, anomaly_score.tif, mahalanobis.tif, top_anomalies.csv and anomalies.json
    into the new folder `out_dir`; returns the summary dict (as in anomalies.json).
    model: a card or folder, an open ModelCard (engine.foundation.model.weights.open_model), or a FoundationModel.

    runtime (engine.core.runtime.Runtime, or its fields as keywords: tile=, threads=): the tile size
    (bounds memory) and torch's CPU threads for the run."""
    runtime = Runtime.of(runtime, **settings)
    with runtime.torch_threads():
        return _anomalies(stack_dir, out_dir, model, top, overwrite, feedback, runtime.tile)


def _anomalies(stack_dir, out_dir, model, top, overwrite, feedback, tile):
    import torch
    from scipy.stats import spearmanr

    from ..data.vocab import layer_ids
    from ..foundation.model.weights import ModelCard, load_model

    steps = Steps(feedback)
    out_dir = check_output_path(out_dir, overwrite, "anomaly folder", inputs=(stack_dir, model or DEFAULT_MODEL))
    with bounded_block_cache(), Stack(stack_dir) as st:  # bounded block cache
        if SOURCE not in st.sources:
            raise InputError(f"the stack '{stack_dir}' has no geochemistry layers (sources: {', '.join(st.sources)})",
                             fix="re-run align with a geochemistry point layer (--geochemistry till.shp::elements=Cu,Co,...)")
        # a path or an open ModelCard: its card read (at most) once and its weights verified once
        m = load_model(model or DEFAULT_MODEL) if model is None or isinstance(model, (str, os.PathLike, ModelCard)) else model
        if SOURCE not in m.encoders:
            raise InputError(f"the model has no {SOURCE} encoder", fix=f"use the shipped model ({DEFAULT_MODEL}) or one pretrained with geochemistry")
        enc, g = m.encoders[SOURCE], st.grid
        idx = [i for i, b in enumerate(st.bands) if b["source"] == SOURCE]
        elements = [st.bands[i]["layer_type"] for i in idx]
        ids, unknown = layer_ids(elements, SOURCE, getattr(m, "vocab", None))
        if unknown:
            steps.info(f"geochemistry layers without a learned type (using 'unknown_{SOURCE}'): {', '.join(unknown)}")
        support = sampling_support(st)
        if support is None:
            steps.info("the geochemistry samples could not be read again: the anomaly maps are not masked beyond "
                       "the sampling support")
        masked = 0
        halo = enc.config.window
        tile = max(halo, tile // halo * halo)  # tiles on the windows' lattice (stride = window / 2)
        tiles = list(st.tiles(tile))
        prof = dict(driver="GTiff", width=g.width, height=g.height, dtype="float32", crs=g.rio_crs, transform=g.transform,
                    nodata=np.nan, tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=3,
                    BIGTIFF="IF_SAFER")
        names = {"residual": "residual.tif", "score": "anomaly_score.tif", "maha": "mahalanobis.tif",
                 "top": "top_anomalies.csv", "summary": "anomalies.json"}
        with atomic_path(out_dir, overwrite=overwrite, directory=True, what="anomaly folder", checked=True) as tmp:
            path = {k: os.path.join(tmp, v) for k, v in names.items()}
            skeys, svals, sscore = np.zeros(0, np.uint64), np.zeros((0, len(elements)), np.float32), np.zeros(0, np.float32)
            s1 = steps.sub(0.0, 0.85)
            with rasterio.open(path["residual"], "w", count=len(elements), **prof) as dres, \
                    rasterio.open(path["score"], "w", count=1, **prof) as dsc:
                dres.descriptions = tuple(elements)
                dsc.descriptions = ("rms residual",)
                for k, t in enumerate(tiles):
                    c = t.core
                    r_a, c_a = max(0, c.row_off - halo), max(0, c.col_off - halo)
                    r_b, c_b = min(g.height, c.row_off + c.height + halo), min(g.width, c.col_off + c.width + halo)
                    obs = st.scene(Window(c_a, r_a, c_b - c_a, r_b - r_a)).sources[SOURCE].data
                    exp = reconstruct(enc, obs, ids, feedback=s1.sub(k / len(tiles), (k + 1) / len(tiles)))
                    sl = np.s_[:, c.row_off - r_a:c.row_off - r_a + c.height, c.col_off - c_a:c.col_off - c_a + c.width]
                    res = (obs[sl] - exp[sl]).astype(np.float32)
                    n_ok = np.isfinite(res).sum(0)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        score = np.sqrt(np.nansum(res * res, 0) / n_ok).astype(np.float32)
                    if support is not None:
                        far = _unsupported(support, g, c) & np.isfinite(score)
                        masked += int(far.sum())
                        res[:, far] = np.nan
                        score[far] = np.nan
                    dres.write(res, window=c)
                    dsc.write(score, 1, window=c)
                    raw = _clr(st, c, idx)
                    rr, cc = np.nonzero(np.isfinite(raw).all(0) & np.isfinite(score))
                    skeys = np.concatenate([skeys, _keys(rr + c.row_off, cc + c.col_off, g.width)])
                    svals = np.concatenate([svals, raw[:, rr, cc].T])
                    sscore = np.concatenate([sscore, score[rr, cc]])
                    if skeys.size > SAMPLE:
                        o = np.argpartition(skeys, SAMPLE)[:SAMPLE]
                        skeys, svals, sscore = skeys[o], svals[o], sscore[o]
            if skeys.size < len(elements) + 2:
                raise InputError(f"only {skeys.size} pixels have every geochemistry layer", fix="check the geochemistry grids' coverage")
            o = np.argsort(skeys)  # a fixed order whatever the tiling, for a reproducible MCD fit
            svals, sscore = svals[o], sscore[o]
            steps.report(0.86, f"Fitting the robust covariance (MinCovDet) on {len(svals)} pixels")
            maha = _Mahalanobis(svals.astype(np.float64))
            smaha = maha(svals.astype(np.float64))
            rad = int(np.ceil(SEPARATION / g.res))
            yy, xx = np.mgrid[-rad:rad + 1, -rad:rad + 1]
            foot = (yy ** 2 + xx ** 2) * g.res ** 2 <= SEPARATION ** 2
            cand = []
            with rasterio.open(path["maha"], "w", count=1, **prof) as dm, rasterio.open(path["score"]) as dsc, \
                    rasterio.open(path["residual"]) as dres:
                dm.descriptions = ("robust mahalanobis distance",)
                for k, t in enumerate(tiles):
                    c = t.core
                    raw = _clr(st, c, idx)
                    ok = np.isfinite(raw).all(0)
                    if support is not None:
                        ok &= ~_unsupported(support, g, c)
                    md = np.full(ok.shape, np.nan, np.float32)
                    if ok.any():
                        md[ok] = maha(raw[:, ok].T.astype(np.float64))
                    dm.write(md, 1, window=c)
                    rr, cc, vals = _peaks(dsc, c, rad, foot, max(50, 20 * top))
                    res = dres.read(window=c)
                    cand += [(float(v), int(r + c.row_off), int(q + c.col_off), float(md[r, q]), res[:, r, q])
                             for v, r, q in zip(vals, rr, cc)]
                    steps.report(0.87 + 0.12 * (k + 1) / len(tiles))
            picked = []
            for cd in sorted(cand, key=lambda r: (-r[0], r[1], r[2])):  # greedy: strongest first, >= 1 km apart
                if len(picked) < top and all((cd[1] - q[1]) ** 2 + (cd[2] - q[2]) ** 2 >= (SEPARATION / g.res) ** 2
                                             for q in picked):
                    picked.append(cd)
            with open(path["top"], "w") as f:
                f.write("rank,x,y,score,mahalanobis," + ",".join(f"element_{i},residual_{i}" for i in (1, 2, 3)) + "\n")
                for n, (s, r, cc, md, res) in enumerate(picked, 1):
                    x, y = g.transform * (cc + 0.5, r + 0.5)
                    o = np.argsort(-np.nan_to_num(res, nan=-np.inf), kind="stable")[:3]
                    f.write(f"{n},{x:.1f},{y:.1f},{s:.4f},{'' if np.isnan(md) else f'{md:.4f}'},"
                            + ",".join(f"{elements[i]},{res[i]:.4f}" for i in o) + "\n")
            rho = spearmanr(sscore, smaha).statistic if len(sscore) > 2 else float("nan")
            summary = {
                "elements": elements, "unknown_elements": unknown,
                "model": {"name": os.path.basename(os.path.dirname(m.card["_path"])), "sha256": m.card.get("sha256")}
                if getattr(m, "card", None) else None,
                "backend": "torch-cpu", "threads": torch.get_num_threads(),
                "method": {"window": halo, "stride": halo // 2, "patch": enc.config.patch, "passes": PHASES,
                           "visible": 1 / PHASES, "blend": "tent", "residual": "observed - expected (normalised units)",
                           "score": "root-mean-square residual over elements",
                           "mahalanobis": f"MinCovDet (random_state 0) on {len(svals)} pixels, {maha.axes.shape[1]} axes"},
                "sample_pixels": int(len(svals)),
                "stats": {"anomaly_score": _stats(sscore), "mahalanobis": _stats(smaha), "over": "the sample pixels"},
                "spearman_score_vs_mahalanobis": float(rho),
                "top": len(picked), "separation_m": SEPARATION,
                "support": None if support is None else {
                    "median_spacing_m": support[2], "max_distance_m": support[1], "masked_cells": masked},
                "files": list(names.values()), "stack": os.path.abspath(stack_dir), "tile": tile,
            }
            with open(path["summary"], "w") as f:
                json.dump(summary, f, indent=2)
            steps.report(1.0)
    steps.info(f"Geochemical anomalies ({len(elements)} elements, top {len(picked)}) written to {out_dir}; "
               f"Spearman(score, Mahalanobis) = {rho:.3f}")
    return summary

