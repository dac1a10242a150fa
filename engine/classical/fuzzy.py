"""Fuzzy overlay: the knowledge-driven method for areas with too few deposits to weigh evidence.

Why: with a handful of deposits, weights of evidence and the head have little to learn from; a
geologist instead states how favourable each value is (a membership from 0 to 1) and how the maps
combine. Memberships follow ArcGIS's Fuzzy Membership (linear, small, large, gaussian) and the
operators Bonham-Carter's (1994) fuzzy AND, OR, algebraic product, algebraic sum and gamma.
Rasters are read and written window by window; NaN / nodata stays nodata. No QGIS import.
"""

import os

import numpy as np
import rasterio

from ..core.atomic import atomic_path
from ..core.errors import InputError
from ..core.tiles import iter_tiles

MEMBERSHIPS = ("linear", "small", "large", "gaussian")
OPERATORS = ("and", "or", "product", "sum", "gamma")


def membership(x, function, a=None, b=None):
    """Fuzzy membership (0..1) of values x.

    linear: 0 at a, 1 at b, straight between (a > b makes low values favourable);
    small: 1 / (1 + (x / a) ** b), midpoint a, spread b (favourable when small);
    large: 1 / (1 + (x / a) ** -b) (favourable when large);
    gaussian: exp(-b * (x - a) ** 2), favourable near a.
    """
    x = np.asarray(x, float)
    if function not in MEMBERSHIPS:
        raise InputError(f"unknown membership function '{function}'", fix="use one of " + ", ".join(MEMBERSHIPS))
    if a is None or b is None:
        raise InputError(f"membership '{function}' needs two parameters",
                         fix="linear: min max; small / large: midpoint spread; gaussian: midpoint spread")
    a, b = float(a), float(b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if function == "linear":
            if a == b:
                raise InputError("linear membership needs two different values", fix="give min and max")
            return np.clip((x - a) / (b - a), 0.0, 1.0)
        if function in ("small", "large"):
            if a == 0 or b <= 0:
                raise InputError(f"'{function}' membership needs a non-zero midpoint and a positive spread",
                                 fix="e.g. midpoint = the value of membership 0.5, spread 5")
            return 1.0 / (1.0 + np.abs(x / a) ** (b if function == "small" else -b))
        if b <= 0:
            raise InputError("gaussian membership needs a positive spread", fix="e.g. spread 0.1")
        return np.exp(-b * (x - a) ** 2)


def combine(memberships, operator, gamma=0.9):
    """Fuzzy combination of a list of membership arrays (same shape); NaN anywhere gives NaN."""
    if operator not in OPERATORS:
        raise InputError(f"unknown fuzzy operator '{operator}'", fix="use one of " + ", ".join(OPERATORS))
    if not memberships:
        raise InputError("no membership maps to combine", fix="give at least one")
    m = np.stack([np.asarray(v, float) for v in memberships])
    if operator == "and":
        return m.min(0)
    if operator == "or":
        return m.max(0)
    product = m.prod(0)
    fsum = 1.0 - (1.0 - m).prod(0)
    if operator == "product":
        return product
    if operator == "sum":
        return fsum
    if not 0.0 <= gamma <= 1.0:
        raise InputError(f"gamma {gamma} is outside 0..1", fix="give gamma between 0 (product) and 1 (sum)")
    return fsum ** gamma * product ** (1.0 - gamma)


def fuzzy_overlay(layers, operator, out, gamma=0.9, overwrite=False, tile=1024):
    """Membership of each raster, combined, written to `out` (float32 GeoTIFF, NaN nodata), atomically.

    layers: [(raster, function, a, b), ...] on one grid. Returns out.
    """
    if not layers:
        raise InputError("no evidence layers given", fix="give at least one raster with its membership")
    for _, function, a, b in layers:  # parameters checked before any pixel is read
        membership(np.zeros(1), function, a, b)
    combine([np.zeros(1)], operator, gamma)
    srcs = []
    try:
        for path, *_ in layers:
            try:
                srcs.append(rasterio.open(path))
            except Exception as exc:
                raise InputError(f"cannot be opened as a raster ({exc})", layer=os.path.basename(path),
                                 fix="check the path") from exc
        first = srcs[0]
        for ds, (path, *_) in zip(srcs[1:], layers[1:]):
            if ds.shape != first.shape or ds.transform != first.transform or ds.crs != first.crs:
                raise InputError(f"is not on the grid of '{os.path.basename(layers[0][0])}'",
                                 layer=os.path.basename(path), fix="align the evidence maps onto one grid first")
        profile = dict(driver="GTiff", width=first.width, height=first.height, count=1, dtype="float32",
                       crs=first.crs, transform=first.transform, nodata=float("nan"), tiled=True, blockxsize=256,
                       blockysize=256, compress="deflate")
        with atomic_path(out, overwrite=overwrite, what="fuzzy overlay") as tmp, \
                rasterio.open(tmp, "w", **profile) as dst:
            for t in iter_tiles(first.height, first.width, tile):
                ms = []
                for ds, (_, function, a, b) in zip(srcs, layers):
                    v = ds.read(1, window=t.core).astype(float)
                    v[ds.read_masks(1, window=t.core) == 0] = np.nan
                    ms.append(membership(v, function, a, b))
                dst.write(combine(ms, operator, gamma).astype(np.float32), 1, window=t.core)
    finally:
        for ds in srcs:
            ds.close()
    return out
