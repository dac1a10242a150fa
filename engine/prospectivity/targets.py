"""Exploration targets: the areas of a prospectivity map above a cut, as ranked polygons in a GeoPackage.

How: the mask prob >= threshold is labelled into 8-connected components (scipy.ndimage.label: pixels
touching at a corner belong to the same target, as a geologist drawing by hand would join them, so
such a target is a MultiPolygon and the layer is MultiPolygon throughout); zonal statistics come
from np.bincount over the label image (no Python loop over pixels), and the same label image is
polygonised (rasterio.features.shapes), so polygons and statistics match by construction. Holes
are kept as interior rings.

Readable targets: a region larger than `split_km2` is split at its local maxima (a watershed of the
lightly smoothed map from peaks at least half its side apart; basins under a fifth of split_km2 given
back to their neighbours), so that one polygon no longer holds a whole belt (Kolari: one 101 km2 polygon
held 9 deposits); slivers under min_area_km2 go (default 1 km2).

Ranking: by mean probability inside the polygon, descending; ties broken by area, larger first.
The mean rewards targets that are consistently high rather than one hot pixel (the maximum is
noisy and easily set by a single outlier), and a threshold + minimum area already removes specks.

Memory: only the label image (int32) and, while labelling, the mask (bool) are held whole: about
5 bytes per pixel, plus a fixed ~100 MB (strips of ~1 M float pixels read in turn from each raster,
GDAL's block cache capped at 64 MB, one target's bounding box while polygonising). Measured: 107 MB
at 4,000^2 pixels, 335 MB at 8,000^2; so ~0.6 GB at 10,000^2.
"""

import contextlib
import math

import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.windows import Window

from ..core.atomic import atomic_path, check_output_path
from ..core.errors import InputError
from ..core.progress import Steps
from ..data.stack import bounded_block_cache
from ..data.vectors import GPKG_OPTIONS, pyogrio

FIELDS = ["rank", "area_km2", "mean_prob", "max_prob", "mean_uncert", "dominant_source", "deposits_inside", "threshold"]
_STRIP_PIXELS = 1 << 20  # floats read per strip
_GDAL_CACHE_MB = 64  # strips are read in order, a few times: a small block cache is enough
SPLIT_KM2 = 10.0  # regions larger than this are split at their local maxima (Kolari 400 m: 26.9 km2 with 6 deposits)


def _strips(height, width):
    rows = max(1, _STRIP_PIXELS // max(width, 1))
    for r0 in range(0, height, rows):
        yield slice(r0, min(height, r0 + rows)), Window(0, r0, width, min(rows, height - r0))


def _read(src, band, window):
    """Float32 with the file's nodata as NaN."""
    a = src.read(band, window=window).astype(np.float32, copy=False)
    if src.nodata is not None and not np.isnan(src.nodata):
        a[a == src.nodata] = np.nan
    return a


def _open_prob(prob_path):
    try:
        src = rasterio.open(prob_path)
    except Exception as exc:
        raise InputError(f"cannot be read as a raster ({exc})", layer=prob_path, fix="give a GeoTIFF of probabilities") from exc
    if src.count != 1:
        src.close()
        raise InputError(f"has {src.count} bands, one is needed", layer=prob_path, fix="give the single-band probability map")
    if src.crs is None or not src.crs.is_projected:
        src.close()
        raise InputError("has no projected CRS, so target areas cannot be measured in km2", layer=prob_path,
                         fix="reproject the probability map to a projected CRS in metres (e.g. EPSG:3067)")
    return src


def _deposit_pixels(src, deposits):
    """Row, col of each deposit, and whether it falls on the raster."""
    xy = np.asarray(deposits, dtype=float).reshape(-1, 2)
    inv = ~src.transform
    cols, rows = inv * (xy[:, 0], xy[:, 1])
    rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
    inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
    return rows, cols, inside


def _deposit_probs(src, deposits):
    """Probability at each deposit pixel; NaN off the raster or on nodata."""
    rows, cols, inside = _deposit_pixels(src, deposits)
    p = np.full(len(rows), np.nan, np.float32)
    for i in np.flatnonzero(inside):
        p[i] = _read(src, 1, Window(cols[i], rows[i], 1, 1))[0, 0]
    return p


def threshold_for_capture(prob_path, deposits, capture):
    """Largest t such that at least ceil(capture * n) deposits have prob >= t.

    n counts the deposits on valid pixels of the map: deposits outside it cannot be captured at any
    threshold, so they are left out of the fraction rather than making capture=1 impossible.
    """
    if capture is None or not 0 < capture <= 1:
        raise InputError(f"capture must be a fraction in (0, 1], got {capture}", fix="give e.g. 0.8 to capture 80% of the deposits")
    if deposits is None or len(deposits) == 0:
        raise InputError("capture needs known deposits, none were given", fix="give the deposits, or a threshold instead of capture")
    with _open_prob(prob_path) as src:
        p = _deposit_probs(src, deposits)
    p = np.sort(p[np.isfinite(p)])[::-1]
    if len(p) == 0:
        raise InputError("no deposit falls on a valid pixel of the probability map", layer=prob_path,
                         fix="check the deposits are in the map's CRS and inside its area, or give a threshold")
    k = math.ceil(capture * len(p) - 1e-9)  # 0.7 * 10 is 7.000000000000001 in floats
    return float(p[max(k, 1) - 1])


def _check_same_grid(src, path, what):
    try:
        other = rasterio.open(path)
    except Exception as exc:
        raise InputError(f"cannot be read as a raster ({exc})", layer=path, fix=f"give the {what} GeoTIFF") from exc
    if other.shape != src.shape or not other.transform.almost_equals(src.transform) or other.crs != src.crs:
        other.close()
        raise InputError(f"{what} raster is not on the probability map's grid (size, pixel or CRS differ)", layer=path,
                         fix="write it on the same grid as the probability map, or leave it out")
    return other


def _zonal_means(src, labels, n, bands):
    """Mean of each band per label (NaN-aware), strip by strip: array (len(bands), n + 1)."""
    sums = np.zeros((len(bands), n + 1))
    counts = np.zeros((len(bands), n + 1))
    for rs, win in _strips(*labels.shape):
        lab = labels[rs].ravel()
        for i, b in enumerate(bands):
            v = _read(src, b, win).ravel()
            ok = np.isfinite(v)
            sums[i] += np.bincount(lab[ok], weights=v[ok], minlength=n + 1)
            counts[i] += np.bincount(lab[ok], minlength=n + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _areas(labels, n, px_km2):
    area = np.zeros(n + 1)
    for rs, _ in _strips(*labels.shape):  # bincount casts to int64: by strips that copy stays small
        area += np.bincount(labels[rs].ravel(), minlength=n + 1) * px_km2
    return area


def _basins(values, region, min_distance, min_px):
    """Watershed basins (1..k) of `values` inside `region` from its local maxima at least min_distance pixels
    apart; basins under min_px pixels are merged away (their peak dropped), the largest always kept."""
    from scipy import ndimage
    from skimage.feature import peak_local_max
    from skimage.segmentation import watershed

    smooth = ndimage.gaussian_filter(np.where(region, values, np.nanmin(values[region])), 1.0)
    peaks = peak_local_max(smooth, min_distance=min_distance, labels=region.astype(np.int32), exclude_border=False)
    while True:
        markers = np.zeros(region.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        basins = watershed(-smooth, markers, mask=region)
        if len(peaks) < 2:
            return basins, len(peaks)
        size = np.bincount(basins.ravel(), minlength=len(peaks) + 1)[1:]
        small = size < min_px
        if not small.any():
            return basins, len(peaks)
        small[np.argmax(size)] = False
        if not small.any():
            return basins, len(peaks)
        peaks = peaks[~small]


def _split_large(src, labels, n, area, split_km2, px_km2, steps):
    """Regions over split_km2 cut into their basins (_basins); labels extended in place. Returns the new n."""
    from scipy import ndimage

    side_px = math.sqrt(split_km2 / px_km2)
    min_distance, min_px = max(1, int(round(side_px / 2))), max(1, int(split_km2 / 5 / px_km2))
    for i, sl in enumerate(ndimage.find_objects(labels, max_label=n), 1):
        if sl is None or area[i] <= split_km2:
            continue
        steps.check()
        region = labels[sl] == i
        values = _read(src, 1, Window(sl[1].start, sl[0].start, sl[1].stop - sl[1].start, sl[0].stop - sl[0].start))
        basins, k = _basins(values, region, min_distance, min_px)
        if k < 2:
            continue
        sub = labels[sl]
        sub[region] = np.where(basins[region] == 1, i, n + basins[region] - 1).astype(np.int32)
        n += k - 1
    return n


def _label(src, threshold, min_area_km2, steps, split_km2=None):
    """8-connected components of prob >= threshold, large ones split at their local maxima, those under the
    minimum area dropped, renumbered 1..n."""
    from scipy import ndimage

    mask = np.zeros(src.shape, bool)
    for rs, win in _strips(*src.shape):
        steps.check()
        mask[rs] = _read(src, 1, win) >= threshold  # NaN compares False
    labels, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    del mask
    px_km2 = abs(src.transform.a * src.transform.e) / 1e6
    area = _areas(labels, n, px_km2)
    if split_km2 and (area > split_km2).any():
        n = _split_large(src, labels, n, area, split_km2, px_km2, steps)
        area = _areas(labels, n, px_km2)
    keep = area >= min_area_km2 - 1e-9  # float noise in pixel areas
    keep[0] = False
    lut = np.zeros(n + 1, np.int32)
    lut[keep] = np.arange(1, keep.sum() + 1, dtype=np.int32)
    for rs, _ in _strips(*labels.shape):
        labels[rs] = lut[labels[rs]]
    return labels, area[keep]


def _prob_stats(src, labels, n, steps):
    """Mean and max probability per label, in one pass over the strips."""
    from scipy import ndimage

    sums, counts, top = np.zeros(n + 1), np.zeros(n + 1), np.full(n + 1, -np.inf)
    for rs, win in _strips(*labels.shape):
        steps.check()
        lab, v = labels[rs], _read(src, 1, win)
        sums += np.bincount(lab.ravel(), weights=v.ravel(), minlength=n + 1)  # label > 0 implies finite prob
        counts += np.bincount(lab.ravel(), minlength=n + 1)
        present = np.unique(lab[lab > 0])
        if len(present):
            top[present] = np.maximum(top[present], ndimage.maximum(v, lab, present))
    return sums[1:] / counts[1:], top[1:]


def _polygons(labels, n, transform):
    """One MultiPolygon per label, polygonised on the label's bounding box only (memory bounded by the
    largest target). Pixels meeting at a corner come back from GDAL as separate parts of one target."""
    from rasterio.features import shapes
    from scipy import ndimage

    out = np.empty(n, dtype=object)
    for i, sl in enumerate(ndimage.find_objects(labels, max_label=n)):
        m = labels[sl] == i + 1
        t = transform * Affine.translation(sl[1].start, sl[0].start)
        parts = [shapely.geometry.shape(g) for g, _ in shapes(m.view(np.uint8), mask=m, connectivity=8, transform=t)]
        out[i] = shapely.make_valid(shapely.union_all(parts) if len(parts) > 1 else parts[0])  # as is when valid
    return np.array([g if g.geom_type == "MultiPolygon" else shapely.MultiPolygon(
        [p for p in shapely.get_parts(shapely.get_parts(g)) if p.geom_type == "Polygon"]) for g in out], dtype=object)


def make_targets(prob_path, out_path, threshold=None, capture=None, deposits=None, uncertainty_path=None,
                 contributions_path=None, min_area_km2=1.0, simplify=None, overwrite=False, feedback=None,
                 split_km2=SPLIT_KM2):
    """Polygons where prob >= threshold (or the threshold capturing `capture` of the deposits), ranked,
    written as layer "targets" (MultiPolygon) of a GeoPackage. Returns a summary dict.

    Regions larger than split_km2 are split at their local maxima (None: never).

    area_km2 is the pixel area of the target (exact for the unsimplified polygon); deposits_inside
    counts deposits whose pixel belongs to the target.
    """
    steps = Steps(feedback)
    if (threshold is None) == (capture is None):
        raise InputError("give exactly one of threshold or capture",
                         fix="threshold=0.7 cuts the map at a probability; capture=0.8 picks the cut holding 80% of the deposits")
    if threshold is not None and not 0 < threshold < 1:
        raise InputError(f"threshold must be between 0 and 1 (exclusive), got {threshold}", fix="give a probability such as 0.7")
    if min_area_km2 is None or min_area_km2 < 0:
        raise InputError(f"min_area_km2 must be 0 or more, got {min_area_km2}", fix="give e.g. 0.5")
    if split_km2 is not None and split_km2 <= 0:
        raise InputError(f"split_km2 must be a positive area, got {split_km2}", fix="give e.g. 25, or None not to split")
    if simplify is not None and simplify < 0:
        raise InputError(f"simplify must be a tolerance in map units >= 0, got {simplify}", fix="give e.g. 50 (metres)")
    check_output_path(out_path, overwrite, "targets GeoPackage", inputs=(prob_path, uncertainty_path, contributions_path))
    with bounded_block_cache(_GDAL_CACHE_MB), contextlib.ExitStack() as stack:
        if capture is not None:
            threshold = threshold_for_capture(prob_path, deposits, capture)
            steps.info(f"threshold {threshold:.4f} captures {capture:.0%} of the deposits")
        src = stack.enter_context(_open_prob(prob_path))
        unc = stack.enter_context(_check_same_grid(src, uncertainty_path, "uncertainty")) if uncertainty_path else None
        con = stack.enter_context(_check_same_grid(src, contributions_path, "contributions")) if contributions_path else None
        steps.report(0.05)
        labels, area = _label(src, threshold, min_area_km2, steps, split_km2)
        n = len(area)
        if n == 0:
            raise InputError(f"no area of at least {min_area_km2} km2 has probability >= {threshold:.4f}", layer=prob_path,
                             fix="lower the threshold (or capture more deposits) or min_area_km2")
        steps.report(0.3)
        mean_prob, max_prob = _prob_stats(src, labels, n, steps)
        mean_unc = _zonal_means(unc, labels, n, [1])[0, 1:] if unc is not None else np.full(n, np.nan)
        dominant = np.full(n, "", dtype=object)
        if con is not None:  # the band with the largest mean inside the target
            names = [d or f"band{i + 1}" for i, d in enumerate(con.descriptions)]
            means = _zonal_means(con, labels, n, list(range(1, con.count + 1)))[:, 1:]
            has = np.isfinite(means).any(axis=0)
            best = np.argmax(np.where(np.isfinite(means), means, -np.inf), axis=0)
            dominant[has] = np.array(names, dtype=object)[best[has]]
        steps.report(0.6)
        inside, captured, total = np.zeros(n, np.int64), 0, 0
        if deposits is not None and len(deposits):
            rows, cols, on = _deposit_pixels(src, deposits)
            lab = labels[rows[on], cols[on]]
            inside, captured, total = np.bincount(lab, minlength=n + 1)[1:], int((lab > 0).sum()), len(rows)
        geoms = _polygons(labels, n, src.transform)
        crs = f"EPSG:{src.crs.to_epsg()}" if src.crs.to_epsg() else src.crs.to_wkt()
    del labels
    if simplify:
        geoms = shapely.simplify(geoms, simplify, preserve_topology=True)
    steps.report(0.85)

    order = np.lexsort((-area, -mean_prob))  # last key is primary: mean probability, then area
    cols = {"rank": np.arange(1, n + 1, dtype=np.int32), "area_km2": area[order], "mean_prob": mean_prob[order],
            "max_prob": max_prob[order], "mean_uncert": mean_unc[order], "dominant_source": dominant[order],
            "deposits_inside": inside[order].astype(np.int32), "threshold": np.full(n, float(threshold))}
    with atomic_path(out_path, overwrite=overwrite, what="targets GeoPackage", checked=True) as tmp:
        pyogrio.raw.write(tmp, geometry=shapely.to_wkb(geoms[order]), field_data=[cols[f] for f in FIELDS], fields=FIELDS,
                          geometry_type="MultiPolygon", crs=crs, layer="targets", driver="GPKG",
                          dataset_options=GPKG_OPTIONS)
        steps.report(1.0)  # a cancel here still leaves nothing behind
    top = [{f: (cols[f][i].item() if hasattr(cols[f][i], "item") else cols[f][i]) for f in FIELDS} for i in range(min(n, 10))]
    return {"path": str(out_path), "threshold": float(threshold), "n_targets": n, "area_km2_total": float(area.sum()),
            "deposits_captured": captured, "deposits_total": total, "top": top}


def targets_from_prediction(prediction_dir, out_path, stack_dir=None, **kwargs):
    """make_targets on a folder written by predict (its files named by engine.prospectivity.artifacts):
    uncertainty and contributions are used when there, and the known deposits come from the stack's
    manifest when stack_dir is given."""
    from ..data.reader import read_manifest
    from .artifacts import Prediction

    pred = Prediction(prediction_dir)
    side = pred.existing("uncertainty", "contributions")
    deposits = None
    # every input named before any is read: an output onto one of them is refused first
    check_output_path(out_path, kwargs.get("overwrite", False), "targets GeoPackage",
                      inputs=(prediction_dir, stack_dir, pred.path("prospectivity"), *side.values()))
    if stack_dir:
        deposits = [(p["x"], p["y"]) for p in (read_manifest(stack_dir).get("deposits") or {}).get("points", [])]
    return make_targets(pred.path("prospectivity"), out_path, deposits=deposits,
                        uncertainty_path=side.get("uncertainty"), contributions_path=side.get("contributions"), **kwargs)
