"""The Align preview: what align would make of each layer, before anything is written.

Why: a geologist new to the tool cannot see that a lithology was classed by a 2-value field, a
distance grid read as 480 classes or an element used without a learned type until the results
look wrong. The preview opens every layer as align does (the same kind detection, class field,
layer type and target grid) and reads it onto a coarse copy of the target grid (at most
PREVIEW_PX cells a side) to measure how much of the area it covers; it writes nothing.

preview_layers(spec) -> Preview; Preview.rows is one LayerPreview per input layer, in the
spec's order (the QGIS panel shows them as a table). LayerPreview fields:
  name, source, path       the layer as align names it (band name; file name by default)
  kind                     continuous / categorical / distance / points (given or detected)
  kind_reason              why that kind: "given", or the detection's reason ("integer values, 5 classes")
  layer_type               vocabulary name (engine.data.vocab); for samples: the elements' types joined
  layer_type_known         False when the model has no learned type for it (used as unknown_<source>)
  class_field              polygons: the field the classes come from; None otherwise
  class_fields             polygons: {text field: distinct values} a field picker can offer
  class_count              categorical layers: number of classes (a raster's from a decimated sample)
  nodata                   rasters: the nodata value used (given, else the file's); None for vectors
  native_res               rasters: pixel size in the target CRS's units; None for vectors
  bands                    names of the bands it becomes (a sample layer: one per element)
  samples                  sample layers: {"used": n near the area, "total": n}; None otherwise
  coverage                 share (0-1) of the area of interest where the layer has data
  warnings                 list of sentences: suspicious choices and how to change them
Preview also holds grid (the target grid, Grid.to_dict), min_layers / n_layers (the valid rule,
engine.data.stack.MIN_LAYER_SHARE), valid_share (share of the area that would be valid) and
all_layers_share (share where every layer has data); to_dict() is what `align --dry-run --json` prints.
"""

import copy
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ..core.grid import Grid
from ..core.progress import Steps

PREVIEW_PX = 256  # cells a side of the coarse grid coverage is measured on
MANY_CLASSES = 64  # more classes than this in a categorical layer looks like a measurement
LOW_COVERAGE = 0.95  # a layer covering less of the area than this is announced


@dataclass
class LayerPreview:
    name: str
    source: str
    path: str
    kind: str
    kind_reason: str
    layer_type: str
    layer_type_known: bool
    class_field: str = None
    class_fields: dict = None
    class_count: int = None
    nodata: float = None
    native_res: float = None
    bands: list = field(default_factory=list)
    samples: dict = None
    coverage: float = None
    warnings: list = field(default_factory=list)


@dataclass
class Preview:
    grid: dict
    rows: list
    min_layers: int
    n_layers: int
    valid_share: float
    all_layers_share: float

    def to_dict(self):
        d = asdict(self)
        d["rows"] = [asdict(r) for r in self.rows]
        return d


def preview_layers(spec, feedback=None):
    """Preview of engine.data.stack.StackSpec `spec` (left unchanged): a Preview whose rows say per layer what
    align would make of it, with warnings. Errors are align's (a layer without CRS, no overlap, ...)."""
    from .sources import open_layer
    from .stack import _aoi_rasteriser, choose_grid, min_layers

    steps = Steps(feedback)
    spec = copy.deepcopy(spec)  # opening a layer fills in its kind
    given = {id(s): s.kind is not None for s in spec.layers}
    layers = [open_layer(s) for s in spec.layers]
    try:
        grid = choose_grid(spec, layers)
        coarse = _coarse(grid)
        inside = np.isfinite(_aoi_rasteriser(spec.aoi, coarse).read(coarse, coarse.full_window())) if spec.aoi \
            else np.ones(coarse.shape, bool)
        area = max(int(inside.sum()), 1)
        rows, present = [], []
        for k, lyr in enumerate(layers):
            if hasattr(lyr, "src"):
                lyr.prepare(coarse)
            else:
                lyr.prepare(coarse, clr=spec.clr, search_radius=spec.search_radius, idw_power=spec.idw_power)
            has = np.isfinite(lyr.read(coarse, coarse.full_window())).all(axis=0)
            present.append(has & inside)
            rows.append(_row(lyr, given[id(lyr.spec)], grid, float((has & inside).sum() / area)))
            steps.report((k + 1) / len(layers), None)
        n = np.sum(present, axis=0)
        need = min_layers(len(layers))
        return Preview(grid.to_dict(), rows, need, len(layers), float(((n >= need) & inside).sum() / area),
                       float(((n == len(layers)) & inside).sum() / area))
    finally:
        for lyr in layers:
            lyr.close()


def _coarse(grid):
    """The target grid's extent in at most PREVIEW_PX cells a side (whole cells: it may reach a little further)."""
    f = max(1, math.ceil(max(grid.width, grid.height) / PREVIEW_PX))
    res = grid.res * f
    return Grid(grid.crs, res, grid.xmin, grid.ymax - math.ceil(grid.height / f) * res,
                grid.xmin + math.ceil(grid.width / f) * res, grid.ymax)


def _row(lyr, kind_given, grid, coverage):
    from .vocab import resolve

    spec, info = lyr.spec, getattr(lyr, "info", {})
    is_raster = hasattr(lyr, "src")
    bands = lyr.bands
    types = [b.layer_type for b in bands]
    known = {t: resolve(t, spec.source)[1] for t in types}
    row = LayerPreview(
        name=spec.name, source=spec.source, path=spec.path, kind=spec.kind,
        kind_reason="given" if kind_given else info.get("kind_detected", "from the geometry type"),
        layer_type=", ".join(types) if len(types) > 1 else types[0], layer_type_known=all(known.values()),
        class_field=info.get("class_field"), class_fields=info.get("class_fields"),
        nodata=None if not is_raster or lyr.nodata is None else float(lyr.nodata),
        native_res=round(lyr.res_in(grid.crs), 2) if is_raster else None, bands=[b.name for b in bands],
        samples={"used": info["samples_used"], "total": info["samples_total"]} if "samples_used" in info else None,
        coverage=coverage)
    if spec.kind == "categorical":
        row.class_count = len(bands[0].classes) if bands[0].classes else int(len(np.unique(lyr.sample)))
    row.warnings = _warnings(lyr, row, known)
    return row


def _warnings(lyr, row, known):
    out = []
    spec = lyr.spec
    if row.kind == "categorical" and hasattr(lyr, "src"):
        if np.any(np.mod(lyr.sample, 1) != 0):
            out.append("categorical, but it holds fractional values: each value becomes a class; give kind=continuous "
                       "if it is a measurement")
        elif np.issubdtype(np.dtype(lyr.src.dtypes[spec.band - 1]), np.floating) and row.class_count > 20:
            out.append(f"categorical float raster with {row.class_count} values: give kind=continuous if it is a "
                       "measurement")
    if row.class_count is not None and row.class_count > MANY_CLASSES:
        out.append(f"{row.class_count} classes: a class map rarely has more than {MANY_CLASSES}; give kind=continuous "
                   "if it is a measurement (distance, density)")
    if row.class_count == 1:
        out.append("a single class: it carries no information; check the field or the nodata value")
    if row.class_field and row.class_count is not None and row.class_count <= 2 and row.class_fields:
        richer = {f: n for f, n in row.class_fields.items() if n > row.class_count}
        if richer:
            best = max(richer, key=richer.get)
            out.append(f"classes from '{row.class_field}' ({row.class_count} values) while '{best}' has "
                       f"{richer[best]}: give field={best} if it holds the rock units")
    unknown = [t for t, ok in known.items() if not ok]
    if unknown and spec.source == "geochemistry" and row.kind == "points":
        out.append(f"elements the model has no learned type for (used as unknown_geochemistry): {', '.join(unknown)}")
    elif unknown:
        out.append(f"layer type '{unknown[0]}' has no learned type in the model: give layer_type=... if one of the "
                   "vocabulary fits (align --help lists them)")
    if row.coverage is not None and row.coverage < LOW_COVERAGE:
        out.append(f"covers {row.coverage:.0%} of the area: elsewhere it is read as missing and the cells are predicted "
                   "from the other layers")
    return out


def preview_lines(preview):
    """The preview as text lines for a terminal (`align --dry-run`)."""
    g = preview.grid
    lines = [f"Target grid: {g['crs']}, {g['res']:g} m, {g['width']} x {g['height']} px, bounds {g['bounds']}",
             f"Valid area: {preview.valid_share:.1%} of the area (at least {preview.min_layers} of {preview.n_layers} "
             f"layers with data); every layer on {preview.all_layers_share:.1%}"]
    for r in preview.rows:
        what = [f"{r.kind} ({r.kind_reason})", f"type {r.layer_type}" + ("" if r.layer_type_known else " (no learned type)")]
        if r.class_field:
            what.append(f"classes from '{r.class_field}'")
        if r.class_count is not None:
            what.append(f"{r.class_count} classes")
        if r.native_res is not None:
            what.append(f"{r.native_res:g} m pixels")
        if r.nodata is not None:
            what.append(f"nodata {r.nodata:g}")
        if r.samples:
            what.append(f"{r.samples['used']} of {r.samples['total']} samples near the area")
        lines.append(f"  {r.source}/{r.name}: " + ", ".join(what) + f"; covers {r.coverage:.1%}")
        lines.append(f"    {r.path}")
        lines += [f"    warning: {w}" for w in r.warnings]
    return lines
