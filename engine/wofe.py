"""Weights of evidence (Bonham-Carter 1994) to the ArcSDM / Geoscience Australia convention.

Why this module: weights of evidence is the data-driven method exploration geologists know, and the
bar our head must clear. The numbers follow GA's MPM-WofE "Calculate Weights" / "Calculate Response"
(after ArcSDM) so a table from here can be checked line by line against theirs:

- Areas in km² from the pixel size, in unit cells as area / unit cell; every deposit point counts
  (two points in one cell count twice) and a class's points are the points on its pixels.
- Weights per (cumulative) class from the unit-cell counts with ArcSDM's guards: a class holding
  every deposit uses n - 0.99 points, an outside area too small for the points left is shrunk to
  0.99 unit cells, a class smaller than its points grows to points + 1; a class without deposits
  gets zero weights.
- Generalisation: cumulative (ascending / descending) tables become binary, 2 = up to and including
  the class of maximum contrast among those whose studentised contrast reaches the threshold
  (weight W+ there), 1 = beyond it (weight W- there); when no class reaches it, GEN_CLASS 999 and
  zero weights (no significant association). Categorical tables keep each class with its own W+
  (as GA's script does), or 999.
- Missing data (a class value meaning "inside the study area, evidence unknown"): a zero row,
  its area and deposits left out of the totals; in the response it adds the missing-data variance.

Rasters are read window by window (per-class pixel counts accumulated), so memory is bounded by
the window, not the raster. No QGIS import.
"""

import csv
import math
import os
from dataclasses import dataclass, field

import numpy as np
import rasterio
from rasterio.windows import Window

from .atomic import atomic_path
from .errors import InputError
from .tiles import iter_tiles

COLUMNS = ("CLASS", "CLASS_AREA", "AREA_SQ_KM", "AREA_UNITS", "NO_POINTS", "WPLUS", "S_WPLUS", "WMINUS",
           "S_WMINUS", "CONTRAST", "S_CONTRAST", "STUDC", "GEN_CLASS", "WEIGHT", "W_STD")
METHODS = ("categorical", "ascending", "descending")
NOT_SIGNIFICANT = 999  # GEN_CLASS when no class reaches the studentised-contrast threshold (GA)
INSIDE, OUTSIDE = 2, 1  # generalised classes of a cumulative table
TILE = 1024


@dataclass
class EvidenceGrid:
    """What the weights need from an evidence raster: per-class pixel counts and the grid."""

    name: str
    classes: np.ndarray  # sorted class values present
    counts: np.ndarray  # pixels per class
    pixel_km2: float
    crs: object
    transform: object
    shape: tuple
    nodata: object
    dtype: str


@dataclass
class WeightsTable:
    """One evidence layer's weights: GA's columns, the totals they came from and what was checked."""

    name: str
    method: str
    columns: dict  # column name -> numpy array, one entry per class (COLUMNS)
    unit_cell_km2: float
    total_units: float  # study area in unit cells (missing data excluded)
    n_points: int  # deposits in the study area
    studentized_threshold: float
    missing: object = None
    notes: list = field(default_factory=list)

    def __len__(self):
        return len(self.columns["CLASS"])

    @property
    def prior(self):
        """Prior probability of a deposit per unit cell: deposits / study area in unit cells."""
        return self.n_points / self.total_units

    @property
    def generalised(self):
        """class value -> generalised class."""
        return dict(zip(self.columns["CLASS"].tolist(), self.columns["GEN_CLASS"].tolist()))

    def weight_lookup(self):
        """class value -> (WEIGHT, W_STD): what the response adds per pixel of that class."""
        c = self.columns
        return {int(k): (float(w), float(s)) for k, w, s in zip(c["CLASS"], c["WEIGHT"], c["W_STD"])}

    def rows(self):
        return [{k: self.columns[k][i].item() for k in COLUMNS} for i in range(len(self))]

    def write_csv(self, path, overwrite=False):
        """GA's table layout (one row per class, COLUMNS), written atomically."""
        with atomic_path(path, overwrite=overwrite, what="weights table") as tmp:
            with open(tmp, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(COLUMNS)
                for row in self.rows():
                    w.writerow([_fmt(row[k]) for k in COLUMNS])
        return path


def _fmt(v):
    return repr(float(v)) if isinstance(v, float) else str(v)


def read_weights_csv(path, name=None):
    """A weights table written by write_csv or by GA's R scripts (extra index column ignored)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise InputError(f"cannot be read ({exc})", layer=path, fix="give the CSV written by wofe-weights") from exc
    missing = [c for c in ("CLASS", "AREA_UNITS", "NO_POINTS", "WEIGHT", "W_STD") if not rows or c not in rows[0]]
    if missing:
        raise InputError(f"is not a weights table (no rows, or no column {', '.join(missing)})", layer=path,
                         fix="give the CSV written by wofe-weights (columns " + ", ".join(COLUMNS) + ")")
    cols = {}
    for c in COLUMNS:
        if c in rows[0]:
            vals = [float(r[c]) for r in rows]
            cols[c] = np.array(vals, np.int64 if c in ("CLASS", "GEN_CLASS") else float)
    return WeightsTable(name or os.path.splitext(os.path.basename(path))[0], "table", cols, 1.0,
                        float(np.max(cols["AREA_UNITS"])), 0, float("nan"))


# --------------------------------------------------------------------------- reading


def _open(path, layer):
    try:
        return rasterio.open(path)
    except Exception as exc:
        raise InputError(f"cannot be opened as a raster ({exc})", layer=layer,
                         fix="check the path and that the file opens in QGIS") from exc


def _pixel_km2(ds, layer):
    if ds.crs is None:
        raise InputError("has no coordinate reference system", layer=layer,
                         fix="assign the raster's projected CRS (metres) in QGIS (Layer Properties > Source)")
    if ds.crs.is_geographic:
        raise InputError(f"is in geographic coordinates ({ds.crs.to_string()}); areas need metres", layer=layer,
                         fix="reproject the raster to a projected CRS in metres (Raster > Projections > Warp)")
    t = ds.transform
    factor = ds.crs.linear_units_factor[1] if ds.crs.linear_units_factor else 1.0
    return abs(t.a * t.e - t.b * t.d) * factor * factor / 1e6


def _class_values(a, valid, layer):
    """Integer class codes of the valid pixels; a fractional value stops with a clear error."""
    v = a[valid]
    if np.issubdtype(v.dtype, np.integer):
        return v.astype(np.int64, copy=False)
    if v.size and not np.all(np.isfinite(v)):
        raise InputError("has non-finite values outside its nodata", layer=layer,
                         fix="set the raster's nodata value so NaN / inf pixels are outside the study area")
    iv = np.rint(v)
    bad = iv != v
    if bad.any():
        raise InputError(f"has non-integer values (e.g. {v[bad][0]!r}) but weights of evidence needs classes",
                         layer=layer, fix="reclassify the raster into integer classes first (e.g. distance in "
                                          "100 m steps, or natural-break classes) and save it as an integer raster")
    return iv.astype(np.int64)


def _windows(ds, tile=TILE):
    for t in iter_tiles(ds.height, ds.width, tile):
        yield t.core


def scan_classes(path, band=1, name=None, tile=TILE):
    """Per-class pixel counts of a raster, window by window (memory: one window)."""
    layer = name or os.path.basename(path)
    with _open(path, layer) as ds:
        km2 = _pixel_km2(ds, layer)
        acc = {}
        for win in _windows(ds, tile):
            a = ds.read(band, window=win)
            valid = ds.read_masks(band, window=win) > 0
            u, c = np.unique(_class_values(a, valid, layer), return_counts=True)
            for k, n in zip(u.tolist(), c.tolist()):
                acc[k] = acc.get(k, 0) + n
        if not acc:
            raise InputError("has no valid pixels (everything is nodata)", layer=layer,
                             fix="check the raster's nodata value and that it covers the study area")
        classes = np.array(sorted(acc), np.int64)
        return EvidenceGrid(layer, classes, np.array([acc[k] for k in classes.tolist()], np.int64), km2, ds.crs,
                            ds.transform, (ds.height, ds.width), ds.nodata, ds.dtypes[band - 1])


def deposit_values(path, deposits, band=1, name=None):
    """Class value under each deposit point. Points outside the grid or on nodata stop the run:
    GA counts every deposit against the study area, so such points would bias the weights."""
    from .labels import deposit_cells

    layer = name or os.path.basename(path)
    with _open(path, layer) as ds:
        xy, names, rows, cols, inside = deposit_cells(deposits, ds.crs, ds.transform, (ds.height, ds.width))
        if not inside.all():
            out = [names[i] for i in np.flatnonzero(~inside)]
            raise InputError(f"{len(out)} of {len(xy)} deposit points lie outside the grid of '{layer}' "
                             f"({', '.join(out[:5])}{', ...' if len(out) > 5 else ''})", layer="deposits",
                             fix="clip the deposits layer to the study area (or check both are in the same CRS)")
        values = np.zeros(len(xy), np.int64)
        valid = np.zeros(len(xy), bool)
        for i in range(len(xy)):
            win = Window(int(cols[i]), int(rows[i]), 1, 1)
            valid[i] = ds.read_masks(band, window=win)[0, 0] > 0
            if valid[i]:
                values[i] = _class_values(ds.read(band, window=win), np.ones((1, 1), bool), layer)[0]
        if not valid.all():
            bad = [names[i] for i in np.flatnonzero(~valid)]
            raise InputError(f"{len(bad)} deposit points lie on nodata pixels of '{layer}' "
                             f"({', '.join(bad[:5])}{', ...' if len(bad) > 5 else ''})", layer="deposits",
                             fix="remove those points, or give the evidence a value (or a missing-data class) there")
        return values, names


# --------------------------------------------------------------------------- weights


def weights_from_counts(area_units, points, total_units, total_points):
    """W+, s(W+), W-, s(W-), C, s(C), studentised C per row (arrays), with ArcSDM / GA's guards.

    area_units, points: the class (or cumulative class) area in unit cells and deposits in it.
    """
    b = np.asarray(area_units, float).copy()
    db = np.asarray(points, float).copy()
    s, ds = float(total_units), float(total_points)
    if np.any(db > ds):
        raise InputError("a class holds more deposits than the study area", layer="deposits",
                         fix="check the deposits and the study area")
    empty = db == 0
    db = np.where(db == ds, db - 0.99, db)  # every deposit inside: no deposit outside to count
    b = np.where(s - b <= ds - db, s + db - ds - 0.99, b)  # outside area too small for the points left
    b = np.where(b - db <= 0.0, db + 1.0, b)  # class smaller than its points
    with np.errstate(divide="ignore", invalid="ignore"):
        wp = np.log((db / ds) / ((b - db) / (s - ds)))
        vp = 1.0 / db + 1.0 / (b - db)
        wm = np.log(((ds - db) / ds) / ((s - b - ds + db) / (s - ds)))
        vm = 1.0 / (ds - db) + 1.0 / (s - b - ds + db)
        c = wp - wm
        sc = np.sqrt(vp + vm)
        out = {"WPLUS": wp, "S_WPLUS": np.sqrt(vp), "WMINUS": wm, "S_WMINUS": np.sqrt(vm), "CONTRAST": c,
               "S_CONTRAST": sc, "STUDC": c / sc}
    for k in out:
        out[k] = np.where(empty, 0.0, out[k])
    return out


def calculate_weights(raster, deposits, method="categorical", unit_cell_km2=1.0, studentized_threshold=2.0,
                      missing=None, band=1, name=None, tile=TILE):
    """Weights table of one evidence raster (integer classes) against deposit points.

    method: 'categorical' (each class on its own), 'ascending' (favourable when low: class k means
    value <= k) or 'descending' (favourable when high: value >= k). missing: the class value that
    means "no evidence here" (kept out of the totals). Returns a WeightsTable.
    """
    if method not in METHODS:
        raise InputError(f"unknown method '{method}'", fix="use one of " + ", ".join(METHODS))
    if not unit_cell_km2 or unit_cell_km2 <= 0:
        raise InputError(f"unit cell {unit_cell_km2!r} km² is not a positive area",
                         fix="give the unit cell area in km², e.g. 1")
    name = name or os.path.splitext(os.path.basename(raster))[0]
    grid = scan_classes(raster, band, name, tile)
    values, _names = deposit_values(raster, deposits, band, name)
    return weights_table(grid.classes, grid.counts, values, grid.pixel_km2, method, unit_cell_km2,
                         studentized_threshold, missing, name)


def weights_table(classes, pixel_counts, deposit_classes, pixel_km2, method="categorical", unit_cell_km2=1.0,
                  studentized_threshold=2.0, missing=None, name="evidence"):
    """The table from per-class pixel counts and the class under each deposit (pure numpy)."""
    classes = np.asarray(classes, np.int64)
    pixel_counts = np.asarray(pixel_counts, np.int64)
    deposit_classes = np.asarray(deposit_classes, np.int64)
    order = np.argsort(classes)
    if method == "descending":
        order = order[::-1]
    classes, pixel_counts = classes[order], pixel_counts[order]
    pts = np.array([np.count_nonzero(deposit_classes == k) for k in classes.tolist()], np.int64)
    unknown = np.setdiff1d(deposit_classes, classes)
    if unknown.size:
        raise InputError(f"deposits fall on classes {unknown.tolist()[:5]} that the raster does not hold",
                         layer=name, fix="use the same raster for the pixel counts and the deposits")
    miss = classes == missing if missing is not None else np.zeros(len(classes), bool)
    area = pixel_counts * pixel_km2
    area_in = np.where(miss, 0.0, area)
    pts_in = np.where(miss, 0, pts)
    total_units = float(area_in.sum() / unit_cell_km2)
    total_points = int(pts_in.sum())
    if total_points == 0:
        raise InputError("no deposit lies on a class with evidence", layer=name,
                         fix="check the deposits belong to this area and are not all on the missing-data class")
    if method == "categorical":
        sq_km = area_in
        points = pts_in
    else:
        sq_km = np.cumsum(area_in)
        points = np.cumsum(pts_in)
    sq_km = np.where(miss, 0.0, sq_km)
    points = np.where(miss, 0, points)
    units = sq_km / unit_cell_km2
    w = weights_from_counts(units, points, total_units, total_points)
    for k in w:
        w[k] = np.where(miss, 0.0, w[k])
    cols = {"CLASS": classes, "CLASS_AREA": np.where(miss, 0.0, area), "AREA_SQ_KM": sq_km, "AREA_UNITS": units,
            "NO_POINTS": points, **w}
    notes = []
    gen, weight, wstd = _generalise(cols, method, studentized_threshold, miss, notes)
    if missing is not None:
        gen = np.where(miss, missing, gen)
    cols.update(GEN_CLASS=gen.astype(np.int64), WEIGHT=weight, W_STD=wstd)
    return WeightsTable(name, method, cols, float(unit_cell_km2), total_units, total_points,
                        float(studentized_threshold), missing, notes)


def _generalise(cols, method, threshold, miss, notes):
    """GEN_CLASS, WEIGHT, W_STD per row (see the module docstring)."""
    n = len(cols["CLASS"])
    studc = np.where(miss, -np.inf, cols["STUDC"])
    if n == 0 or studc.max() < threshold:
        notes.append(f"no class reaches studentised contrast {threshold}: not generalised (GEN_CLASS "
                     f"{NOT_SIGNIFICANT}, zero weights)")
        return np.full(n, NOT_SIGNIFICANT), np.zeros(n), np.zeros(n)
    if method == "categorical":
        return cols["CLASS"].copy(), cols["WPLUS"].copy(), cols["S_WPLUS"].copy()
    contrast = np.where(studc >= threshold, cols["CONTRAST"], -np.inf)
    best = int(np.argmax(contrast))  # first row of maximum contrast among the significant ones
    inside = np.arange(n) <= best
    gen = np.where(inside, INSIDE, OUTSIDE)
    weight = np.where(inside, cols["WPLUS"][best], cols["WMINUS"][best])
    wstd = np.where(inside, cols["S_WPLUS"][best], cols["S_WMINUS"][best])
    return gen, weight, wstd


def write_generalised(raster, table, out, band=1, overwrite=False, tile=TILE):
    """The evidence raster reclassified to the table's GEN_CLASS (int32, nodata kept), atomically."""
    lut = table.generalised
    keys = np.array(sorted(lut), np.int64)
    vals = np.array([lut[k] for k in keys.tolist()], np.int64)
    nodata = -2147483648
    with _open(raster, table.name) as src, atomic_path(out, overwrite=overwrite, what="generalised raster") as tmp:
        profile = dict(driver="GTiff", width=src.width, height=src.height, count=1, dtype="int32", crs=src.crs,
                       transform=src.transform, nodata=nodata, tiled=True, blockxsize=256, blockysize=256,
                       compress="deflate")
        with rasterio.open(tmp, "w", **profile) as dst:
            for win in _windows(src, tile):
                a = src.read(band, window=win)
                valid = src.read_masks(band, window=win) > 0
                v = _class_values(a, valid, table.name)
                idx = np.clip(np.searchsorted(keys, v), 0, len(keys) - 1)
                if not np.all(keys[idx] == v):
                    raise InputError("holds classes the weights table does not list", layer=table.name,
                                     fix="generalise with the table computed from this raster")
                o = np.full(a.shape, nodata, np.int32)
                o[valid] = vals[idx]
                dst.write(o, 1, window=win)
    return out
