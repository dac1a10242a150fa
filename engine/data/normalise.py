"""Robust per-layer normalisation whose statistics travel with the stack.

Inference must re-apply exactly the statistics the model was trained with, so they are computed
once at alignment, stored in the stack manifest and read back, never recomputed per tile.
"""

import numpy as np

from ..core.errors import InputError

CLIP = 10.0


def layer_stats(sample, kind, log=None, layer_name=None):
    """Statistics from a pixel sample (finite values only) of one aligned band."""
    v = sample[np.isfinite(sample)].astype(np.float64)
    if v.size == 0:
        raise InputError("has no valid pixel inside the target area (all nodata after alignment)", layer=layer_name,
                         fix="check its nodata value and that it covers the area of interest, or remove it")
    if kind == "categorical":
        classes, counts = np.unique(v.astype(np.int64), return_counts=True)
        return {"kind": kind, "classes_present": classes.tolist(), "class_counts": counts.tolist(), "count": int(v.size)}
    lo, hi = float(v.min()), float(v.max())
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        raise InputError(f"is constant ({lo:g}) over the target area and carries no information", layer=layer_name,
                         fix="remove this layer, or check it was exported with the right band and nodata")
    if log is None:
        log = bool(lo > 0 and _skewness(v) > 2.0 and kind == "continuous")
    t = np.log10(v) if log else v
    q25, med, q75 = np.percentile(t, [25, 50, 75])
    scale = (q75 - q25) / 1.349
    if scale <= 0:  # spiky layer: most pixels equal; fall back to the standard deviation
        scale = float(t.std()) or 1.0
    return {"kind": kind, "log": log, "median": float(med), "scale": float(scale), "min": lo, "max": hi,
            "p02": float(np.percentile(v, 2)), "p98": float(np.percentile(v, 98)), "count": int(v.size)}


def _skewness(v):
    s = v.std()
    return float(((v - v.mean()) ** 3).mean() / s**3) if s > 0 else 0.0


def apply(values, stats):
    """Normalised copy (float32); NaN stays NaN; categorical bands pass through unchanged."""
    if stats["kind"] == "categorical":
        return values.astype(np.float32, copy=True)
    v = values.astype(np.float32, copy=True)
    if stats.get("log"):
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.log10(np.maximum(v, np.float32(1e-30)), where=np.isfinite(v), out=v)
    v -= np.float32(stats["median"])
    v /= np.float32(stats["scale"])
    np.clip(v, -CLIP, CLIP, out=v)
    return v
