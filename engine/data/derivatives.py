"""Potential-field derivatives of a magnetic or gravity grid: the maps geologists trace structures on.

Why: a fault, dyke or contact shows on a total-field grid as a weak, one-sided step beside strong
anomalies; its tilt derivative (Miller & Singh 1994) balances weak and strong sources (contacts lie on
its zero line, bodies under its highs) and the total horizontal gradient peaks over steep contacts
(Cordell & Grauch 1985). The SAM tool traces lines on whatever view it is shown, so a geologist can
trace on these layers. On the held-out Kolari crops, one click traced on the tilt derivative found
the mapped 1:1M fault or contact with centre-line F1 0.367 against 0.331 on the stretched total field;
three clicks scored the same (0.704 / 0.705; bench/bench_trace_on_tilt.py).

The vertical derivative is taken in the wavenumber domain (|k| times the spectrum); the grid is read
in tiles with a halo (the |k| kernel falls off as 1 / r^3, so a halo of `halo` pixels is enough), so
memory stays bounded whatever the raster's size. No QGIS import.
"""

import os

import numpy as np

from ..core.errors import InputError

KINDS = ("tilt", "horizontal_gradient", "vertical_derivative")
DESCRIPTIONS = {
    "tilt": "tilt derivative (radians, -pi/2..pi/2): contacts on its zero line",
    "horizontal_gradient": "total horizontal gradient (grid units per metre): peaks over steep contacts",
    "vertical_derivative": "first vertical derivative (grid units per metre, upward)",
}


def fill_nearest(z, ok):
    """z with every pixel where `ok` is False taken from the nearest pixel where it is True: an FFT or a
    filter needs a full grid, and the nearest value makes no edge of its own at the nodata border."""
    from scipy import ndimage

    if ok.all():
        return z
    idx = ndimage.distance_transform_edt(~ok, return_distances=False, return_indices=True)
    return z[tuple(idx)]


def derivatives(z, pixel_x, pixel_y, valid=None):
    """{kind: array} of a grid z (rows, cols) with pixels pixel_x by pixel_y metres; NaN / ~valid is nodata
    (NaN in the results). The mean is removed and the grid mirrored on every side before the FFT, so
    the edges of the grid make no anomaly of their own."""
    z = np.asarray(z, np.float64)
    ok = np.isfinite(z) if valid is None else (np.asarray(valid, bool) & np.isfinite(z))
    out = {k: np.full(z.shape, np.nan, np.float32) for k in KINDS}
    if not ok.any():
        return out
    f = fill_nearest(np.where(ok, z, 0.0), ok)
    f = f - f[ok].mean()
    H, W = f.shape
    ph, pw = H // 2, W // 2
    big = np.pad(f, ((ph, ph), (pw, pw)), mode="symmetric")
    ky = 2 * np.pi * np.fft.fftfreq(big.shape[0], d=pixel_y)[:, None]
    kx = 2 * np.pi * np.fft.rfftfreq(big.shape[1], d=pixel_x)[None, :]
    vdr = np.fft.irfft2(np.fft.rfft2(big) * np.hypot(ky, kx), s=big.shape)[ph:ph + H, pw:pw + W]
    gy, gx = np.gradient(f, pixel_y, pixel_x)
    thg = np.hypot(gx, gy)
    tilt = np.arctan2(vdr, thg)
    for k, v in (("tilt", tilt), ("horizontal_gradient", thg), ("vertical_derivative", vdr)):
        out[k][ok] = v[ok]
    return out


def _pixel_metres(src, what):
    if src.crs is None or not src.crs.is_projected:
        raise InputError("has no projected CRS: derivatives need pixels measured in metres", layer=what,
                         fix="reproject the grid to a projected CRS (e.g. UTM) first, e.g. with GDAL's Warp")
    unit = src.crs.linear_units_factor[1] if hasattr(src.crs, "linear_units_factor") else 1.0
    return abs(src.transform.a) * unit, abs(src.transform.e) * unit


def write_derivatives(raster, out, kinds=KINDS, band=1, tile=1024, halo=128, overwrite=False, feedback=None):
    """The derivatives `kinds` of band `band` of `raster`, one band each (named), in a float32 GeoTIFF
    `out` on the same grid, NaN where the input is nodata; written atomically. Returns out."""
    # GIS libraries only here: derivatives() and fill_nearest() serve the structure tools without them
    import rasterio

    from ..core.atomic import atomic_path
    from ..core.progress import Steps
    from ..core.tiles import count_tiles, iter_tiles

    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise InputError(f"unknown derivative {', '.join(bad) or '(none given)'}", fix="use " + ", ".join(KINDS))
    what = os.path.basename(str(raster))
    try:
        src = rasterio.open(raster)
    except Exception as exc:
        raise InputError(f"cannot be opened as a raster ({exc})", layer=what, fix="check the path") from exc
    steps = Steps(feedback)
    with src:
        if not 1 <= int(band) <= src.count:
            raise InputError(f"has no band {band} (it has {src.count})", layer=what, fix="choose an existing band")
        px, py = _pixel_metres(src, what)
        profile = dict(driver="GTiff", width=src.width, height=src.height, count=len(kinds), dtype="float32",
                       crs=src.crs, transform=src.transform, nodata=float("nan"), tiled=True, blockxsize=256,
                       blockysize=256, compress="deflate")
        n = count_tiles(src.height, src.width, tile)
        with atomic_path(out, overwrite=overwrite, what="derivatives", inputs=(raster,)) as tmp, \
                rasterio.open(tmp, "w", **profile) as dst:
            for i, k in enumerate(kinds):
                dst.set_band_description(i + 1, k)
                dst.update_tags(i + 1, description=DESCRIPTIONS[k])
            for j, t in enumerate(iter_tiles(src.height, src.width, tile, overlap=halo)):
                steps.report(j / n)
                z = src.read(int(band), window=t.read, boundless=True, masked=True)
                valid = ~np.ma.getmaskarray(z)
                d = derivatives(np.ma.getdata(z).astype(np.float64), px, py, valid)
                core = t.core_in_read
                for i, k in enumerate(kinds):
                    dst.write(d[k][core], i + 1, window=t.core)
            steps.report(1.0)
    return out
