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
  (as GA's script does), or 999; with pool=True (ArcSDM) the classes below the threshold become one
  class, 99, weighted with the W- of the significant classes together.
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

from ..core.atomic import atomic_path
from ..core.errors import InputError
from ..core.tiles import iter_tiles

COLUMNS = ("CLASS", "CLASS_AREA", "AREA_SQ_KM", "AREA_UNITS", "NO_POINTS", "WPLUS", "S_WPLUS", "WMINUS",
           "S_WMINUS", "CONTRAST", "S_CONTRAST", "STUDC", "GEN_CLASS", "WEIGHT", "W_STD")
METHODS = ("categorical", "ascending", "descending")
NOT_SIGNIFICANT = 999  # GEN_CLASS when no class reaches the studentised-contrast threshold (GA)
POOLED = 99  # GEN_CLASS of categorical classes pooled for not reaching it (pool=True; ArcSDM)
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


def _deposits_on_grid(deposits, ds, layer):
    """Deposit points on the raster's grid: (names, rows, cols); any point outside stops the run."""
    from ..data.labels import deposit_cells

    xy, names, rows, cols, inside = deposit_cells(deposits, ds.crs, ds.transform, (ds.height, ds.width))
    if not inside.all():
        _refuse_points(names, ~inside, f"of {len(xy)} deposit points lie outside the grid of '{layer}'",
                       "clip the deposits layer to the study area (or check both are in the same CRS)")
    return names, rows, cols


def _refuse_points(names, bad, what, fix):
    out = [names[i] for i in np.flatnonzero(bad)]
    raise InputError(f"{len(out)} {what} ({', '.join(out[:5])}{', ...' if len(out) > 5 else ''})",
                     layer="deposits", fix=fix)


def deposit_values(path, deposits, band=1, name=None):
    """Class value under each deposit point, names, and how many points share a pixel with another.
    Points outside the grid or on nodata stop the run: GA counts every deposit against the study
    area, so such points would bias the weights."""
    layer = name or os.path.basename(path)
    with _open(path, layer) as ds:
        names, rows, cols = _deposits_on_grid(deposits, ds, layer)
        values = np.zeros(len(rows), np.int64)
        valid = np.zeros(len(rows), bool)
        for i in range(len(rows)):
            win = Window(int(cols[i]), int(rows[i]), 1, 1)
            valid[i] = ds.read_masks(band, window=win)[0, 0] > 0
            if valid[i]:
                values[i] = _class_values(ds.read(band, window=win), np.ones((1, 1), bool), layer)[0]
        if not valid.all():
            _refuse_points(names, ~valid, f"deposit points lie on nodata pixels of '{layer}'",
                           "remove those points, or give the evidence a value (or a missing-data class) there")
        shared = len(rows) - len(np.unique(np.column_stack([rows, cols]), axis=0))
        return values, names, shared


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
                      missing=None, pool=False, band=1, name=None, tile=TILE):
    """Weights table of one evidence raster (integer classes) against deposit points.

    method: 'categorical' (each class on its own), 'ascending' (favourable when low: class k means
    value <= k) or 'descending' (favourable when high: value >= k). missing: the class value that
    means "no evidence here" (kept out of the totals). pool (categorical): ArcSDM's generalisation,
    classes below the threshold pooled into one (see pooled_weight) instead of GA's per-class W+.
    Returns a WeightsTable.
    """
    if method not in METHODS:
        raise InputError(f"unknown method '{method}'", fix="use one of " + ", ".join(METHODS))
    if not unit_cell_km2 or unit_cell_km2 <= 0:
        raise InputError(f"unit cell {unit_cell_km2!r} km² is not a positive area",
                         fix="give the unit cell area in km², e.g. 1")
    name = name or os.path.splitext(os.path.basename(raster))[0]
    grid = scan_classes(raster, band, name, tile)
    values, _names, shared = deposit_values(raster, deposits, band, name)
    table = weights_table(grid.classes, grid.counts, values, grid.pixel_km2, method, unit_cell_km2,
                          studentized_threshold, missing, name, pool)
    if shared:
        table.notes.append(f"{shared} deposit points share a pixel with another point; each counts (GA's "
                           "convention): thin the deposits to one per unit cell if that is not meant")
    return table


def weights_table(classes, pixel_counts, deposit_classes, pixel_km2, method="categorical", unit_cell_km2=1.0,
                  studentized_threshold=2.0, missing=None, name="evidence", pool=False):
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
    if np.count_nonzero(~miss) < 2:
        raise InputError(f"has {np.count_nonzero(~miss)} class(es) with evidence; weights need at least two "
                         "(one to compare with the rest)", layer=name,
                         fix="check the raster's nodata / missing-data value, or reclassify it into several classes")
    if total_points == 0:
        raise InputError("no deposit lies on a class with evidence", layer=name,
                         fix="check the deposits belong to this area and are not all on the missing-data class")
    if total_points >= total_units:
        raise InputError(f"{total_points} deposits in a study area of {total_units:g} unit cells: weights of "
                         "evidence needs far fewer deposits than unit cells", layer=name,
                         fix=f"use a smaller unit cell (now {unit_cell_km2:g} km²; 1 km² is usual)")
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
    empty = np.count_nonzero((points == 0) & ~miss)
    if empty:
        what = "classes" if method == "categorical" else "cumulative classes"
        notes.append(f"{empty} of {len(classes)} {what} hold no deposit: their W+ and W- are set to 0 (GA's "
                     "convention); merge them with a neighbouring class"
                     + (", or pool them (pool=True, --pool)" if method == "categorical" else ""))
    gen, weight, wstd = _generalise(cols, method, studentized_threshold, miss, notes, pool, total_units,
                                    total_points)
    if missing is not None:
        gen = np.where(miss, missing, gen)
    cols.update(GEN_CLASS=gen.astype(np.int64), WEIGHT=weight, W_STD=wstd)
    return WeightsTable(name, method, cols, float(unit_cell_km2), total_units, total_points,
                        float(studentized_threshold), missing, notes)


def pooled_weight(area_units, points, significant, total_units, total_points):
    """Weight and its std of the classes pooled for not reaching the threshold: the W- of the
    significant classes taken together (finite even when the pooled classes hold no deposit)."""
    sig = np.asarray(significant, bool)
    w = weights_from_counts([np.sum(np.asarray(area_units)[sig])], [np.sum(np.asarray(points)[sig])], total_units,
                            total_points)
    return float(w["WMINUS"][0]), float(w["S_WMINUS"][0])


def _generalise(cols, method, threshold, miss, notes, pool=False, total_units=None, total_points=None):
    """GEN_CLASS, WEIGHT, W_STD per row (see the module docstring)."""
    n = len(cols["CLASS"])
    studc = np.where(miss, -np.inf, cols["STUDC"])
    if n == 0 or studc.max() < threshold:
        notes.append(f"no class reaches studentised contrast {threshold}: not generalised (GEN_CLASS "
                     f"{NOT_SIGNIFICANT}, zero weights)")
        return np.full(n, NOT_SIGNIFICANT), np.zeros(n), np.zeros(n)
    if method == "categorical" and not pool:
        return cols["CLASS"].copy(), cols["WPLUS"].copy(), cols["S_WPLUS"].copy()
    if method == "categorical":
        sig = (studc >= threshold) & ~miss
        rest = ~sig & ~miss
        code = POOLED if POOLED not in set(cols["CLASS"].tolist()) else int(cols["CLASS"].max()) + 1
        w, s = pooled_weight(cols["AREA_UNITS"], cols["NO_POINTS"], sig, total_units, total_points)
        return (np.where(sig, cols["CLASS"], code), np.where(sig, cols["WPLUS"], np.where(rest, w, 0.0)),
                np.where(sig, cols["S_WPLUS"], np.where(rest, s, 0.0)))
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


# --------------------------------------------------------------------------- response

RESPONSE_FILES = {"posterior": "posterior.tif", "std": "posterior_std.tif", "confidence": "confidence.tif",
                  "conditions": "conditions.csv", "auc": "auc.csv", "summary": "summary.json"}
CI_RATIO_MIN = 0.85  # Bonham-Carter (1994): observed / predicted deposits below this flags dependence
CI_PROB_MAX = 0.95  # Agterberg & Cheng (2002): T - n this significant flags dependence


@dataclass
class Response:
    """Posterior per unique condition (combination of classes), the checks, and where files went."""

    names: list
    classes: np.ndarray  # (K, M) class value of each map per condition (missing kept as its value)
    area_units: np.ndarray  # (K,) unit cells per condition
    points: np.ndarray  # (K,) deposits per condition
    unique_deposit_cells: np.ndarray  # (K,) pixels holding a deposit per condition
    posterior: np.ndarray
    std: np.ndarray
    prior: float
    n_points: int
    total_units: float
    ci: dict
    warnings: list
    unit_cell_km2: float = 1.0
    pixel_km2: float = 1.0
    auc: float = None
    auc_rows: list = None
    files: dict = field(default_factory=dict)

    @property
    def confidence(self):
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.posterior / self.std


def _norm_cdf(z):
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _evidence_codes(sources, win, lookups, radix):
    """Mixed-radix condition code per pixel of a window and the study-area mask (valid in every map)."""
    code = None
    valid_all = None
    for (ds, name), (keys, _), r in zip(sources, lookups, radix):
        a = ds.read(1, window=win)
        valid = ds.read_masks(1, window=win) > 0
        idx = np.zeros(a.shape, np.int64)
        v = _class_values(a, valid, name)
        pos = np.clip(np.searchsorted(keys, v), 0, len(keys) - 1)
        if not np.all(keys[pos] == v):
            bad = np.setdiff1d(v, keys)[:5].tolist()
            raise InputError(f"holds classes {bad} that its weights table does not list", layer=name,
                             fix="give the weights table calculated from this raster (or its generalised map)")
        idx[valid] = pos
        code = idx * r if code is None else code + idx * r
        valid_all = valid if valid_all is None else valid_all & valid
    return code, valid_all


@dataclass
class Conditions:
    """The unique conditions (combinations of classes) of several evidence maps on one grid."""

    names: list
    paths: list
    lookups: list  # per map: (sorted class values, (n, 2) WEIGHT / W_STD per class)
    radix: np.ndarray
    codes: np.ndarray  # (K,) condition codes, sorted
    pixels: np.ndarray  # (K,) pixels per condition
    points: np.ndarray  # (K,) deposits per condition (every point counts)
    unique_cells: np.ndarray  # (K,) pixels holding at least one deposit
    idx: np.ndarray  # (K, M) index of each map's class in its lookup
    pixel_km2: float

    @property
    def classes(self):
        return np.column_stack([keys[self.idx[:, j]] for j, (keys, _) in enumerate(self.lookups)])


def _open_all(paths, names):
    srcs = []
    try:
        for p, nm in zip(paths, names):
            srcs.append((_open(p, nm), nm))
        first = srcs[0][0]
        for ds, name in srcs[1:]:
            if ds.shape != first.shape or ds.transform != first.transform or ds.crs != first.crs:
                raise InputError(f"is not on the grid of '{srcs[0][1]}' (size, pixel, origin or CRS differ)",
                                 layer=name, fix="align the evidence maps onto one grid first")
    except BaseException:
        for ds, _ in srcs:
            ds.close()
        raise
    return srcs


def scan_conditions(evidence, deposits, tile=TILE, feedback=None, share=40.0):
    """Unique conditions of [(raster, WeightsTable), ...] with pixel and deposit counts, by windows."""
    from ..core.errors import Cancelled
    from ..core.progress import Feedback

    feedback = feedback or Feedback()
    if not evidence:
        raise InputError("no evidence maps given", fix="give at least one evidence raster with its weights table")
    names = [t.name for _, t in evidence]
    lookups = []
    for _, t in evidence:
        lut = t.weight_lookup()
        keys = np.array(sorted(lut), np.int64)
        lookups.append((keys, np.array([lut[k] for k in keys.tolist()], float).reshape(-1, 2)))
    sizes = np.array([len(k) for k, _ in lookups], np.int64)
    if float(np.prod(sizes.astype(float))) >= 2 ** 62:
        raise InputError("the evidence maps have too many class combinations to track",
                         fix="use generalised (few-class) maps")
    radix = np.cumprod(np.concatenate([[1], sizes[:-1]])).astype(np.int64)
    paths = [p for p, _ in evidence]
    srcs = _open_all(paths, names)
    try:
        first = srcs[0][0]
        km2 = _pixel_km2(first, names[0])
        acc = {}
        wins = list(_windows(first, tile))
        for i, win in enumerate(wins):
            if feedback.isCanceled():
                raise Cancelled()
            code, valid = _evidence_codes(srcs, win, lookups, radix)
            u, c = np.unique(code[valid], return_counts=True)
            for k, n in zip(u.tolist(), c.tolist()):
                acc[k] = acc.get(k, 0) + n
            feedback.setProgress(share * (i + 1) / len(wins))
        codes = np.array(sorted(acc), np.int64)
        pixels = np.array([acc[k] for k in codes.tolist()], np.int64)
        dnames, rows, cols = _deposits_on_grid(deposits, first, names[0])
        dcode = np.zeros(len(rows), np.int64)
        dvalid = np.ones(len(rows), bool)
        for i in range(len(rows)):
            c, v = _evidence_codes(srcs, Window(int(cols[i]), int(rows[i]), 1, 1), lookups, radix)
            dcode[i], dvalid[i] = c[0, 0], v[0, 0]
        if not dvalid.all():
            _refuse_points(dnames, ~dvalid, "deposit points lie on nodata of an evidence map",
                           "remove those points or fill the evidence there (a missing-data class)")
    finally:
        for ds, _ in srcs:
            ds.close()
    pos = np.searchsorted(codes, dcode)
    points = np.bincount(pos, minlength=len(codes))
    cells = np.unique(np.column_stack([rows, cols, pos]), axis=0)
    unique_cells = np.bincount(cells[:, 2], minlength=len(codes))
    idx = (codes[:, None] // radix[None, :]) % sizes[None, :]
    return Conditions(names, paths, lookups, radix, codes, pixels, points, unique_cells, idx, km2)


def write_condition_maps(cond, maps, folder, tile=TILE, feedback=None, start=40.0, share=55.0):
    """Rasters whose pixels take a per-condition value: maps = {file name: (K,) values}; by windows."""
    from ..core.progress import Feedback

    feedback = feedback or Feedback()
    srcs = _open_all(cond.paths, cond.names)
    outs = {}
    try:
        first = srcs[0][0]
        profile = dict(driver="GTiff", width=first.width, height=first.height, count=1, dtype="float32",
                       crs=first.crs, transform=first.transform, nodata=float("nan"), tiled=True, blockxsize=256,
                       blockysize=256, compress="deflate", predictor=3)
        for fname in maps:
            outs[fname] = rasterio.open(os.path.join(folder, fname), "w", **profile)
        values = {k: np.asarray(v).astype(np.float32) for k, v in maps.items()}
        wins = list(_windows(first, tile))
        for i, win in enumerate(wins):
            code, valid = _evidence_codes(srcs, win, cond.lookups, cond.radix)
            pos = np.searchsorted(cond.codes, code[valid])
            for k, v in values.items():
                o = np.full(code.shape, np.nan, np.float32)
                o[valid] = v[pos]
                outs[k].write(o, 1, window=win)
            feedback.setProgress(start + share * (i + 1) / len(wins))
    finally:
        for d in outs.values():
            d.close()
        for ds, _ in srcs:
            ds.close()


def calculate_response(evidence, deposits, out_dir=None, missing=None, unit_cell_km2=1.0, overwrite=False,
                       tile=TILE, feedback=None):
    """Posterior probability of a deposit per unit cell from several evidence maps and their weights.

    evidence: [(raster, WeightsTable), ...]; each pixel takes its class's WEIGHT / W_STD (so give the
    generalised map with its table, or the original map with its cumulative table). Posterior logit =
    prior logit + sum of weights; variance = P^2 (1/n + sum W_STD^2) (GA / ArcSDM) plus, where a map
    holds the `missing` class, the missing-data variance sum_k (P_k - P)^2 A_k / A over that map's
    classes. Also the conditional-independence checks (observed / predicted deposits, Agterberg-Cheng).
    With out_dir, writes posterior.tif, posterior_std.tif, confidence.tif, conditions.csv, auc.csv and
    summary.json into it (a new folder, atomically). Returns a Response.
    """
    from ..core.progress import Feedback

    feedback = feedback or Feedback()
    if out_dir is not None:
        from ..core.atomic import check_output_path

        check_output_path(out_dir, overwrite, "response folder")
    cond = scan_conditions(evidence, deposits, tile, feedback)
    idx, lookups, classes = cond.idx, cond.lookups, cond.classes
    area_units = cond.pixels * cond.pixel_km2 / unit_cell_km2
    n = int(cond.points.sum())
    total = float(area_units.sum())
    prior = n / total
    logit = np.full(len(cond.codes), math.log(prior / (1 - prior)))
    var_w = np.full(len(cond.codes), 1.0 / n)
    miss = classes == missing if missing is not None else np.zeros(classes.shape, bool)
    for j, (keys, wt) in enumerate(lookups):
        w, s = wt[idx[:, j], 0], wt[idx[:, j], 1]
        logit += np.where(miss[:, j], 0.0, w)
        var_w += np.where(miss[:, j], 0.0, s * s)
    post = 1.0 / (1.0 + np.exp(-logit))
    var = post * post * var_w
    for j, (keys, wt) in enumerate(lookups):
        if not miss[:, j].any():
            continue
        # area of each class of map j in the study area (missing excluded), from the conditions
        present = ~miss[:, j]
        cls_area = np.bincount(idx[present, j], weights=area_units[present], minlength=len(keys))
        frac = cls_area / cls_area.sum()
        for r in np.flatnonzero(miss[:, j]):
            pk = 1.0 / (1.0 + np.exp(-(logit[r] + wt[:, 0])))
            var[r] += np.sum(frac * (pk - post[r]) ** 2)
    std = np.sqrt(var)
    predicted = float(np.sum(post * area_units))
    s_t = float(np.sqrt(np.sum((area_units * std) ** 2)))
    z = (predicted - n) / s_t if s_t > 0 else float("inf")
    ci = {"observed": n, "predicted": predicted, "ratio": n / predicted, "predicted_std": s_t, "z": z,
          "probability_not_independent": _norm_cdf(z)}
    warnings = []
    if ci["ratio"] < CI_RATIO_MIN:
        warnings.append(f"conditional independence is doubtful: the model predicts {predicted:.1f} deposits for "
                        f"{n} observed (ratio {ci['ratio']:.2f} < {CI_RATIO_MIN}); drop or merge correlated "
                        f"evidence maps (e.g. two distance-to-structure maps) and rerun")
    if ci["probability_not_independent"] > CI_PROB_MAX:
        warnings.append(f"Agterberg-Cheng test: T - n = {predicted - n:.1f} is significant (z = {z:.2f}, probability "
                        f"{ci['probability_not_independent']:.3f} > {CI_PROB_MAX}); the posterior is inflated by "
                        f"conditionally dependent evidence")
    res = Response(cond.names, classes, area_units, cond.points, cond.unique_cells, post, std, prior, n, total, ci,
                   warnings, unit_cell_km2, cond.pixel_km2)
    res.auc_rows, res.auc = auc_table(post.astype(np.float32), cond.points, cond.pixels - cond.unique_cells)
    if out_dir is not None:
        _write_response(res, cond, out_dir, overwrite, tile, feedback)
    feedback.setProgress(100)
    return res


def auc_table(values, presences, absences, step=0.01):
    """Threshold table and ROC AUC of a map from its distinct values (GA's CalculateAUC / modEvA).

    values: distinct map values; presences: deposits on each value (every point counts);
    absences: pixels of each value holding no deposit. A pixel is predicted positive when its
    value >= the threshold; AUC counts ties as one half (Mann-Whitney); n_predictions counts the
    observations (deposits + deposit-free pixels) whose value rounds to the threshold. Returns
    (rows, auc).
    """
    values = np.asarray(values, float)
    pres = np.asarray(presences, float)
    absn = np.asarray(absences, float)
    order = np.argsort(values)
    values, pres, absn = values[order], pres[order], absn[order]
    n1, n0 = pres.sum(), absn.sum()
    if n1 == 0 or n0 == 0:
        raise InputError("a ROC curve needs both deposits and deposit-free pixels", layer="deposits",
                         fix="check the deposits lie on the map")
    below = np.cumsum(absn) - absn
    auc = float((np.sum(pres * below) + 0.5 * np.sum(pres * absn)) / (n1 * n0))
    thresholds = np.arange(int(round(1 / step)) + 1) * step
    n = n1 + n0
    nearest = np.rint(values / step)  # n_predictions: observations whose value rounds to the threshold
    rows = []
    for i, t in enumerate(thresholds):
        pos = values >= t
        tp, fp = pres[pos].sum(), absn[pos].sum()
        tn = n0 - fp
        n_bin = (pres + absn)[nearest == i].sum()
        rows.append({"threshold": float(t), "true_positives": int(tp), "true_negatives": int(tn),
                     "sensitivity": tp / n1, "specificity": tn / n0,
                     "precision": tp / (tp + fp) if tp + fp else float("nan"), "false_positive_rate": fp / n0,
                     "n_predictions": int(n_bin), "share_predictions": n_bin / n})
    precisions = [r["precision"] for r in rows if not math.isnan(r["precision"])]
    for r in rows:
        r.update(N=int(n), prevalence=n1 / n, AUC=auc, AUC_ratio=auc / 0.5, mean_precision=float(np.mean(precisions)))
    return rows, auc


def _write_csv(path, rows, header):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow([_fmt(r[h]) if isinstance(r[h], float) else r[h] for h in header])


def _write_response(res, cond, out_dir, overwrite, tile, feedback):
    """The three rasters by windows (posterior per condition looked up per pixel) and the tables."""
    with atomic_path(out_dir, overwrite=overwrite, directory=True, what="response folder") as tmp:
        write_condition_maps(cond, {RESPONSE_FILES["posterior"]: res.posterior, RESPONSE_FILES["std"]: res.std,
                                    RESPONSE_FILES["confidence"]: res.confidence}, tmp, tile, feedback)
        extra = {"POSTERIOR": res.posterior, "STD": res.std, "CONFIDENCE": res.confidence}
        _write_conditions(os.path.join(tmp, RESPONSE_FILES["conditions"]), res, extra)
        _write_csv(os.path.join(tmp, RESPONSE_FILES["auc"]), res.auc_rows, list(res.auc_rows[0]))
        _write_json(os.path.join(tmp, RESPONSE_FILES["summary"]),
                    {"evidence": res.names, "deposits": res.n_points, "study_area_unit_cells": res.total_units,
                     "unit_cell_km2": res.unit_cell_km2, "prior": res.prior, "auc": res.auc,
                     "conditional_independence": res.ci, "warnings": res.warnings})
    res.files = {k: os.path.join(out_dir, v) for k, v in RESPONSE_FILES.items()}


def _write_conditions(path, res, extra):
    """One row per unique condition: each map's class, area, deposits and the per-condition values."""
    rows = []
    for k in range(len(res.area_units)):
        r = {nm: int(res.classes[k, j]) for j, nm in enumerate(res.names)}
        r.update(AREA_UNITS=float(res.area_units[k]), NO_POINTS=int(res.points[k]))
        r.update({name: float(v[k]) for name, v in extra.items()})
        rows.append(r)
    _write_csv(path, rows, res.names + ["AREA_UNITS", "NO_POINTS"] + list(extra))


def _write_json(path, obj):
    import json

    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
