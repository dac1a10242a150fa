"""From map clicks to georeferenced features: the part the QGIS map tool, the batch algorithm and
the CLI share.

A *view* is 1-3 bands of a raster read over an extent at no finer than its native resolution and
at most `max_px` on a side, so a click on a continental grid costs the same as one on a crop. The
view's embedding is cached by raster, bands, extent and model, so panning back or clicking again
never re-encodes; the decoder then runs once per click.
"""

import datetime
import math
import os
from dataclasses import dataclass

import numpy as np
import rasterio
import shapely
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.windows import Window, from_bounds as window_from_bounds

from ..core.atomic import atomic_path, check_output_path
from ..core.errors import InputError
from ..core.runtime import Runtime
from ..core.progress import Steps
from .cache import file_parts
from .geometry import FEATURE_TYPES, GEOMETRY_OF, mask_to_geometry, path_to_line, pixel_size

# "snapped": 1 where a body was snapped to the raster's edges (snap.py) or drawn from its box (box.py),
# so a reviewer knows whose outline it is; last, so GeoPackages written before it only gain a column (structure_tool.py)
FIELDS = ("type", "score", "n_include", "n_exclude", "has_box", "group", "raster", "bands", "model", "created",
          "snapped")
DEFAULT_VIEW_PX = 1024
# one GeoPackage layer per geometry kind, named as the map tool names them (and their QML styles):
# a layer holding lines and polygons together opens in QGIS as one geometry type only
LAYER_OF_KIND = {"line": "structure_lines", "polygon": "structure_polygons"}


@dataclass
class View:
    """Bands read for one extent: data (b,H,W) float with NaN for nodata, the view's own affine."""

    data: np.ndarray
    transform: object
    crs: str
    bounds: tuple

    @property
    def shape(self):
        return self.data.shape[1:]

    def to_pixels(self, xy):
        """Map x,y (N,2) to view pixel x,y = col,row with pixel centres at +0.5 (SAM's convention)."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        inv = ~self.transform
        cols, rows = inv * (xy[:, 0], xy[:, 1])
        return np.stack([cols, rows], axis=1)


def parse_bands(bands, count, layer):
    bands = [int(b) for b in (bands or [1])]
    if not 1 <= len(bands) <= 3:
        raise InputError(f"{len(bands)} bands chosen; the extractor reads 1 to 3", layer=layer,
                         fix="pick one band (a magnetic or gravity grid, a DEM) or three (an RGB image)")
    bad = [b for b in bands if not 1 <= b <= count]
    if bad:
        raise InputError(f"band(s) {bad} do not exist (the raster has {count})", layer=layer,
                         fix=f"choose bands between 1 and {count}")
    return bands


def open_raster(path):
    """rasterio dataset of `path`, or an InputError naming the file (unreadable, no CRS)."""
    name = os.path.basename(str(path))
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot be opened as a raster ({exc})", layer=name, fix="check the file opens in QGIS") from None
    if src.crs is None:
        src.close()
        raise InputError("has no CRS", layer=name, fix="assign one in QGIS (Layer Properties > Source)")
    return src


def read_view(path, bands=(1,), extent=None, max_px=DEFAULT_VIEW_PX):
    """A View of `path` over `extent` (x0, y0, x1, y1 in the raster's CRS; None = whole raster)."""
    name = os.path.basename(str(path))
    with open_raster(path) as src:
        bands = parse_bands(bands, src.count, name)
        b = src.bounds
        x0, y0, x1, y1 = extent if extent is not None else (b.left, b.bottom, b.right, b.top)
        x0, x1 = max(min(x0, x1), b.left), min(max(x0, x1), b.right)
        y0, y1 = max(min(y0, y1), b.bottom), min(max(y0, y1), b.top)
        if x1 <= x0 or y1 <= y0:
            raise InputError("the view does not overlap the raster", layer=name,
                             fix="pan the map onto the raster, or pick the raster that is shown")
        win = window_from_bounds(x0, y0, x1, y1, src.transform)
        col0, row0 = math.floor(win.col_off + 1e-6), math.floor(win.row_off + 1e-6)
        col1, row1 = math.ceil(win.col_off + win.width - 1e-6), math.ceil(win.row_off + win.height - 1e-6)
        win = Window(col0, row0, max(col1 - col0, 1), max(row1 - row0, 1)).intersection(
            Window(0, 0, src.width, src.height))
        scale = max(win.width, win.height) / max_px
        out_h, out_w = (int(win.height), int(win.width)) if scale <= 1 else (
            max(int(round(win.height / scale)), 1), max(int(round(win.width / scale)), 1))
        data = src.read(bands, window=win, out_shape=(len(bands), out_h, out_w), masked=True,
                        resampling=Resampling.average if scale > 1 else Resampling.nearest)
        arr = np.ma.filled(data.astype(np.float32), np.nan)
        arr[~np.isfinite(arr)] = np.nan
        if src.nodata is None:  # GTK grids use huge sentinels without always declaring them
            arr[np.abs(arr) >= 1e30] = np.nan
        wb = rasterio.windows.bounds(win, src.transform)
        transform = from_bounds(*wb, out_w, out_h)
        return View(arr, transform, src.crs.to_string(), tuple(wb))


class StructureExtractor:
    """One raster + one model: set a view, then predict masks and geometries per set of prompts."""

    def __init__(self, raster, bands=(1,), model=None, backend="auto", cache=None, threads=None, cache_dir=None):
        from .predictor import StructurePredictor

        self.raster = os.path.abspath(os.fspath(raster))
        self.bands = tuple(int(b) for b in (bands or (1,)))
        self.predictor = StructurePredictor(model=model, backend=backend, threads=threads,
                                            cache=cache, cache_dir=cache_dir)
        self.view = None
        self._edges_of, self._edges = None, None  # the view whose (stretched image, edge map) is kept
        self._image_of, self._image = None, None  # the view whose stretched image is kept (box.py)
        self._maps_of, self._maps = None, None    # the view whose line responses (trace.py) are kept

    @property
    def model_name(self):
        return self.predictor.name

    def set_view(self, extent=None, max_px=DEFAULT_VIEW_PX, lines=False):
        """Read and encode the view over `extent` and make it current. lines: also compute its line
        responses (trace.py, ~0.1 s at 1,024^2) now, with the encoding, so that no line click waits for them."""
        return self.use_view(*self.encode_view(extent, max_px, lines=lines))

    def encode_view(self, extent=None, max_px=DEFAULT_VIEW_PX, lines=False):
        """(view, embedding, line responses or None) over `extent`, read and encoded without changing the
        current view: the slow half, which the map tool runs in a background task (use_view then makes it
        current)."""
        view = read_view(self.raster, self.bands, extent, max_px)
        key = self.predictor.key_for(**file_parts(self.raster), bands=list(self.bands),
                                     bounds=[round(v, 6) for v in view.bounds], shape=list(view.shape))
        embedding, _ = self.predictor.embed(view.data, key=key)
        return view, embedding, (self._compute_line_maps(view) if lines else None)

    def use_view(self, view, embedding, line_maps=None):
        """Make a view from encode_view current: clicks then decode on it (milliseconds)."""
        self.predictor.set_embedding(embedding, view.shape)
        self.view = view
        if line_maps is not None:
            self._maps, self._maps_of = line_maps, view
        return view

    def predict(self, include=(), exclude=(), box=None, mask_input=None, snap=False, feature_type=None):
        """Prompts in map coordinates of the raster's CRS; returns the predictor's Prediction.

        snap: grow or trim the model's mask to the view's edges (`snap.snap_to_edges`), for bodies
        (intrusions, alteration); `prediction.snapped` says it was done, `score` stays the model's.
        A body asked with a box is instead the box's ellipse moved by the image (`box.box_body`,
        `prediction.method` "box"): it beat snapping on held-out and training-area Kolari bodies.
        feature_type: a line type (fault, lineament, contact) with an include click is traced along
        the view's own valley / ridge / edge (`trace.py`): one click both ways until it fades, more
        clicks joined by the cheapest path, an exclude click cuts it, a box keeps it inside;
        `prediction.path` holds the line and `score` the trace's strength. A line asked for with a box
        only goes to the model.
        """
        if self.view is None:
            raise InputError("no view is set", fix="call set_view() (the map tool does it on activation)")
        inc = np.asarray(include, float).reshape(-1, 2)
        exc = np.asarray(exclude, float).reshape(-1, 2)
        if not len(inc) and box is None:
            raise InputError("a structure needs at least one include point or a box",
                             fix="left-click on the structure, or drag a box around it")
        pts = self.view.to_pixels(np.concatenate([inc, exc])) if len(inc) + len(exc) else None
        labels = np.concatenate([np.ones(len(inc)), np.zeros(len(exc))]).astype(np.float32) if pts is not None else None
        pbox = None
        if box is not None:
            (bx0, by0), (bx1, by1) = self.view.to_pixels([[box[0], box[1]], [box[2], box[3]]])
            pbox = np.array([min(bx0, bx1), min(by0, by1), max(bx0, bx1), max(by0, by1)], float)
        if feature_type is not None and GEOMETRY_OF.get(check_feature_type(feature_type)) == "line" and len(inc):
            return self._trace(pts, labels, pbox)
        pred = self.predictor.predict(points=pts, labels=labels, box=pbox, mask_input=mask_input)
        valid = np.isfinite(self.view.data).all(axis=0)
        if snap and pbox is not None:  # a body framed by a box: the box's ellipse moved by the image (box.py)
            from .box import box_body

            pred.mask = box_body(self._view_image(), pbox, pts, labels, valid)
            pred.snapped, pred.method = True, "box"
        elif snap:
            from .snap import snap_to_edges

            image, edges = self._view_edges()
            pred.mask = snap_to_edges(image, pred.mask & valid, pts, labels, pbox, edges=edges)
            pred.snapped = True
        pred.mask &= valid  # nothing is traced into nodata
        return pred

    def _trace(self, pts, labels, box=None):
        """A line traced on the view (trace.py) as a Prediction, kept inside `box` (view pixels) when
        given; clicks outside the view are refused."""
        from .predictor import Prediction
        from .trace import trace_line

        H, W = self.view.shape
        if not (np.isfinite(pts).all() and (pts[:, 0] >= 0).all() and (pts[:, 0] <= W).all()
                and (pts[:, 1] >= 0).all() and (pts[:, 1] <= H).all()):
            raise InputError("a click lies outside the view", fix="click inside the map view on the raster")
        tr = trace_line(self._line_maps(), pts[labels == 1], pts[labels == 0], box=box)
        return Prediction(mask=tr.mask, score=tr.score, low_res_logits=None, logits=None, path=tr.path,
                          method=f"trace:{tr.channel}")

    def _line_maps(self):
        """The view's valley / ridge / edge responses (trace.line_maps), computed on its first line
        click and kept until the view changes, so a click costs only the tracing."""
        if self._maps_of is not self.view:
            from .trace import line_maps

            self._maps = line_maps(self._view_image(), np.isfinite(self.view.data).all(axis=0))
            self._maps_of = self.view
        return self._maps

    @staticmethod
    def _compute_line_maps(view):
        """The line responses of a view that is not current yet (encode_view, in the background)."""
        from .image import stretch_bands
        from .trace import line_maps

        return line_maps(stretch_bands(view.data), np.isfinite(view.data).all(axis=0))

    def _view_image(self):
        """The view's stretched image, computed once per view (boxes, snapping and tracing share it)."""
        if self._image_of is not self.view:
            from .image import stretch_bands

            self._image, self._image_of = stretch_bands(self.view.data), self.view
        return self._image

    def _view_edges(self):
        """The view's stretched image and edge map, computed on its first snap and kept until the
        view changes: a click then costs only the watershed."""
        if self._edges_of is not self.view:
            from .snap import view_edges

            image = self._view_image()
            self._edges, self._edges_of = (image, view_edges(image)), self.view
        return self._edges

    def geometry(self, mask, feature_type, tolerance=0.0, min_size=0.0):
        return mask_to_geometry(mask, self.view.transform, feature_type, tolerance=tolerance, min_size=min_size)

    def feature_geometry(self, prediction, feature_type, tolerance=None, min_size=0.0):
        """The shapely geometry a Prediction saves as: a traced line straight from its path, else
        from its mask. tolerance: simplification in map units; None = one view pixel for lines (no
        staircase of grid cells), none for bodies (their outline stays on the pixel edges)."""
        if tolerance is None:
            tolerance = pixel_size(self.view.transform) if GEOMETRY_OF.get(feature_type) == "line" else 0.0
        if prediction.path is not None and GEOMETRY_OF.get(feature_type) == "line":
            return path_to_line(prediction.path, self.view.transform, tolerance=tolerance, min_length=min_size)
        return self.geometry(prediction.mask, feature_type, tolerance=tolerance, min_size=min_size)


def check_feature_type(feature_type, layer=None):
    if feature_type not in FEATURE_TYPES:
        raise InputError(f"unknown feature type '{feature_type}'", layer=layer,
                         fix=f"use one of {', '.join(FEATURE_TYPES)}")
    return feature_type


def _is_null(v):
    return v is None or (isinstance(v, float) and math.isnan(v)) or (isinstance(v, str) and not v.strip())


def _group_prompts(data, group_field, label_field, type_field, feature_type):
    """[(group, type, include xy (N, 2), exclude xy (M, 2))] in the order groups first appear."""
    n = len(data.geometries)
    for field in (group_field, label_field, type_field):
        if field and field not in data.fields:
            raise InputError(f"has no field '{field}' (fields: {', '.join(data.fields) or 'none'})",
                             layer="prompts", fix="choose one of its fields, or leave it empty")
    if group_field:
        groups = [v.item() if isinstance(v, np.generic) else v for v in data.fields[group_field].tolist()]
        empty = sum(_is_null(v) for v in groups)
        if empty:
            raise InputError(f"field '{group_field}' is empty for {empty} point(s)", layer="prompts",
                             fix="give every point the group (feature) it belongs to, or delete those points")
    else:
        groups = list(range(n))
    labels = np.ones(n, int)
    if label_field:
        raw = data.fields[label_field]
        try:
            labels = np.asarray([int(v) for v in raw.tolist()])
        except (TypeError, ValueError):
            raise InputError(f"field '{label_field}' must hold 1 (include) or 0 (exclude)", layer="prompts",
                             fix="fill it with 1 / 0, or leave the label field empty (all points include)") from None
        if not np.isin(labels, (0, 1)).all():
            raise InputError(f"field '{label_field}' has values other than 1 and 0", layer="prompts",
                             fix="use 1 for include and 0 for exclude points")
    if any(len(shapely.get_coordinates(g)) != 1 for g in data.geometries):
        raise InputError("has multi-point features; one prompt per feature is expected", layer="prompts",
                         fix="run Vector > Geometry Tools > Multipart to Singleparts first")
    xy = shapely.get_coordinates(data.geometries)[:, :2]
    keys = np.empty(n, dtype=object)
    keys[:] = groups
    types = data.fields[type_field].tolist() if type_field else None
    out = []
    for g in dict.fromkeys(groups):
        sel = keys == g
        if type_field:
            kinds = {"" if _is_null(t) else str(t).strip().lower() for t, s in zip(types, sel) if s}
            if len(kinds) != 1:
                raise InputError(f"group '{g}' mixes feature types {sorted(kinds)}", layer="prompts",
                                 fix="give every point of one group the same type")
            ftype = kinds.pop()
            if not ftype:
                raise InputError(f"group '{g}' has no value in the type field '{type_field}'", layer="prompts",
                                 fix=f"fill it with one of {', '.join(FEATURE_TYPES)}, or leave the type field empty")
            check_feature_type(ftype, layer="prompts")
        else:
            ftype = feature_type
        out.append((g, ftype, xy[sel & (labels == 1)], xy[sel & (labels == 0)]))
    return out


def extract_from_points(raster, prompts, out_path, bands=(1,), feature_type="fault", group_field=None,
                        label_field=None, type_field=None, model=None, tolerance=None,
                        min_size=0.0, context_px=256, overwrite=False, feedback=None, snap=True, runtime=None,
                        **settings):
    """Batch: one feature per prompt group (every point its own group unless `group_field`).

    Each group is segmented in a view centred on its points, at least `context_px` native pixels
    across, so a batch sees the structures as a geologist zoomed on them would. Groups without an
    include point, or where no structure is found, are skipped (listed in the result). Features go
    to `out_path` (a GeoPackage) in the raster's CRS: layer 'structure_lines' for faults, lineaments
    and contacts, 'structure_polygons' for intrusions and alteration; written whole or not at all.
    snap: intrusion and alteration masks are snapped to the view's edges (`snap.py`), as in the tool.
    runtime (engine.core.runtime.Runtime, or its fields as keywords: backend=, threads=, cache_dir=):
    the inference backend, torch's CPU threads (restored afterwards) and the view-embedding cache.
    Lines are traced on the view (`trace.py`), as in the tool. tolerance: simplification in map
    units (None: one pixel of the view for lines, none for bodies).
    """
    rt = Runtime.of(runtime, **settings)
    with rt.torch_threads():
        return _extract(raster, prompts, out_path, bands, feature_type, group_field, label_field, type_field, model,
                        tolerance, min_size, context_px, overwrite, feedback, snap, rt)


def _extract(raster, prompts, out_path, bands, feature_type, group_field, label_field, type_field, model,
             tolerance, min_size, context_px, overwrite, feedback, snap, rt):
    from .snap import snaps

    from ..data.vectors import read_vector

    steps = Steps(feedback)
    if not type_field:
        check_feature_type(feature_type)
    if int(context_px) < 16:
        raise InputError(f"context of {context_px} pixels is too small", fix="use at least 16 (default 256)")
    out_path = check_output_path(out_path, overwrite, what="structures GeoPackage",  # before any work
                                 inputs=(raster, prompts))
    name = os.path.basename(str(raster))
    with open_raster(raster) as src:
        crs, res, bounds = src.crs, abs(src.transform.a), src.bounds
        parse_bands(bands, src.count, name)
    data = read_vector(prompts, "prompts", dst_crs=crs, expect="point")
    groups = _group_prompts(data, group_field, label_field, type_field, feature_type)
    if not any(len(inc) for _g, _t, inc, _e in groups):
        raise InputError("has no include points", layer="prompts", fix="mark at least one point per group as include (1)")
    for g, _t, inc, exc in groups:
        allp = np.concatenate([inc, exc])
        out = (allp[:, 0] < bounds.left) | (allp[:, 0] > bounds.right) | \
              (allp[:, 1] < bounds.bottom) | (allp[:, 1] > bounds.top)
        if out.any():
            x, y = allp[out][0]
            raise InputError(f"point ({x:.1f}, {y:.1f}) of group '{g}' lies outside the raster '{name}'",
                             layer="prompts", fix="move or delete that point, or choose the raster it lies on")
    ex = StructureExtractor(raster, bands, model=model, backend=rt.backend, threads=rt.threads, cache_dir=rt.cache_dir)
    half = int(context_px) * res / 2
    rows, skipped = [], []
    for i, (g, ftype, inc, exc) in enumerate(groups):
        steps.check()
        if not len(inc):
            skipped.append(str(g))
            continue
        allp = np.concatenate([inc, exc])
        cx, cy = (allp.min(0) + allp.max(0)) / 2
        span = max(np.ptp(allp[:, 0]), np.ptp(allp[:, 1])) / 2 + half
        ex.set_view((cx - span, cy - span, cx + span, cy + span), lines=GEOMETRY_OF[ftype] == "line")
        pred = ex.predict(inc, exc, snap=snap and snaps(ftype), feature_type=ftype)
        geom = ex.feature_geometry(pred, ftype, tolerance=tolerance, min_size=min_size)
        if geom is None or geom.is_empty:
            skipped.append(str(g))
        else:
            rows.append((geom, ftype, float(pred.score), len(inc), len(exc), str(g), bool(pred.snapped)))
        steps.report((i + 1) / len(groups) * 0.95, f"group {g}: {ftype}")
    if not rows:
        raise InputError(f"no structure was found at any of the {len(groups)} prompt groups", layer="prompts",
                         fix="check the points lie on visible structures of the chosen bands")
    layers = write_features(out_path, rows, crs.to_string(), raster, ex.bands, ex.model_name, overwrite=overwrite)
    steps.report(1.0)
    return {"path": str(out_path), "features": len(rows), "layers": layers, "skipped_groups": skipped}


def write_features(out_path, rows, crs, raster, bands, model_name, overwrite=False):
    """rows: (geometry, type, score, n_include, n_exclude, group, snapped) -> a GeoPackage, atomically: one
    layer per geometry kind (LAYER_OF_KIND), Multi* geometries. Returns {layer name: features}."""
    from ..data.vectors import GPKG_OPTIONS, pyogrio

    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    by_kind = {}
    for r in rows:
        check_feature_type(r[1])
        by_kind.setdefault(GEOMETRY_OF[r[1]], []).append(r)
    wkt = CRS.from_user_input(crs).to_wkt()
    written = {}
    with atomic_path(out_path, overwrite=overwrite, what="structures GeoPackage") as tmp:
        for kind in ("line", "polygon"):
            part = by_kind.get(kind)
            if not part:
                continue
            n = len(part)
            geoms = np.array([_as_multi(r[0]) for r in part], dtype=object)
            cols = {
                "type": np.array([r[1] for r in part], dtype=object), "score": np.array([r[2] for r in part], float),
                "n_include": np.array([r[3] for r in part], np.int32),
                "n_exclude": np.array([r[4] for r in part], np.int32),
                "has_box": np.zeros(n, np.int32), "group": np.array([str(r[5]) for r in part], dtype=object),
                "raster": np.array([os.path.basename(str(raster))] * n, dtype=object),
                "bands": np.array([",".join(map(str, bands))] * n, dtype=object),
                "model": np.array([str(model_name)] * n, dtype=object), "created": np.array([now] * n, dtype=object),
                "snapped": np.array([int(bool(r[6])) for r in part], np.int32),
            }
            layer = LAYER_OF_KIND[kind]
            pyogrio.raw.write(tmp, geometry=shapely.to_wkb(geoms), field_data=[cols[f] for f in FIELDS],
                              fields=FIELDS, geometry_type="MultiLineString" if kind == "line" else "MultiPolygon",
                              crs=wkt, layer=layer, driver="GPKG", dataset_options=GPKG_OPTIONS)
            written[layer] = n
    return written


def _as_multi(g):
    if g.geom_type == "LineString":
        return shapely.MultiLineString([g])
    if g.geom_type == "Polygon":
        return shapely.MultiPolygon([g])
    return g
