"""Align every input layer onto one grid, window by window, into a self-describing stack folder.

Folder layout (opens directly in QGIS):
  stack.tif     float32, one band per evidence layer, physical units, NaN = no data
  valid.tif     uint8, 1 inside the area of interest where enough layers have data (valid_rule)
  deposits.tif  uint8 deposit count per pixel (when deposits were given)
  stack.json    manifest: grid, bands (source, kind, layer type, class table, normalisation stats),
                geochemistry settings, deposit report, the spec that made it
"""

import collections
import datetime
import json
import logging
import os
from dataclasses import dataclass, field

import numpy as np
import rasterio
from rasterio.crs import CRS

from .. import __version__

from . import normalise
from ..core.atomic import atomic_path, check_free_space, check_output_path, free_bytes
from ..core.errors import InputError
from ..core.grid import Grid
from .layers import LayerSpec
from ..core.progress import Steps
from .sources import open_layer
from ..core.tiles import count_tiles, iter_tiles

FORMAT = "mpm-stack/1"
SAMPLE_PIXELS = 1_000_000  # per band, for normalisation statistics
WARN_BYTES = 20 * 2**30  # a stack above this size is announced before it is written
log = logging.getLogger("engine")
GDAL_CACHE_MB = 256
# A cell is predicted where at least this share of the layers has data (at least one layer). Why not
# every layer: one short layer (Kolari's 1:1M lithology) then removed 7.9 % of the area and the deposits
# in it; the head fills a missing layer neutrally (engine.prospectivity.evidence) and says where it did (coverage).
# Why not one layer: a distance-to-fault grid covers everything, and a cell known only by it is noise.
MIN_LAYER_SHARE = 0.5  # GDAL's block cache otherwise grows to 5 % of RAM while writing big stacks


def bounded_block_cache(mb=GDAL_CACHE_MB):
    """rasterio.Env with GDAL's block cache capped at `mb` MB. rasterio passes GDAL_CACHEMAX through
    as bytes: a bare 256 meant 256 bytes, i.e. no cache at all, and every block decoded again."""
    return rasterio.Env(GDAL_CACHEMAX=int(mb) * 2**20)


@dataclass
class StackSpec:
    layers: list
    crs: str = None
    res: float = None
    bounds: tuple = None
    aoi: str = None  # polygon layer limiting the area
    deposits: str = None  # point layer of known deposits
    clr: bool = True
    search_radius: float = None  # metres; None = 3 x median sample spacing
    idw_power: float = 2.0
    tile_size: int = 512
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.layers = [LayerSpec.from_dict(x) if isinstance(x, dict) else x for x in self.layers]
        if not self.layers:
            raise InputError("no input layers given", fix="add at least one layer to a source (geology, geochemistry, geophysics, remote sensing)")
        names = collections.Counter((layer.source, layer.name) for layer in self.layers)
        dup = [f"{s}:{n}" for (s, n), c in names.items() if c > 1]
        if dup:
            raise InputError(f"duplicate layer names {', '.join(dup)}", fix="give each layer a distinct name")

    def to_dict(self):
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["layers"] = [layer.to_dict() for layer in self.layers]
        return {k: v for k, v in d.items() if v not in (None, {})}

    @classmethod
    def from_json(cls, path):
        with open(path) as f:
            d = json.load(f)
        base = os.path.dirname(os.path.abspath(path))
        for layer in d.get("layers", []):
            layer["path"] = _resolve(base, layer["path"])
        for k in ("aoi", "deposits"):
            if d.get(k):
                d[k] = _resolve(base, d[k])
        return cls(**d)


def _resolve(base, p):
    return p if os.path.isabs(p) else os.path.normpath(os.path.join(base, p))


def choose_grid(spec, layers):
    """Target grid from the spec, else sensible defaults from the inputs.

    CRS: the first raster's; resolution: the most common raster pixel size; extent: the area of
    interest, else the overlap of all rasters (where every continuous layer has data).
    """
    rasters = [lyr for lyr in layers if hasattr(lyr, "src")]
    first = rasters[0].src.crs if rasters else None
    crs = spec.crs or (first.to_string() if first else _vector_crs(layers[0]))
    crs_obj = CRS.from_user_input(Grid.snapped(crs, 1.0, (0, 0, 1, 1)).crs)
    if not crs_obj.is_projected:
        raise InputError(f"target CRS {crs} is geographic (degrees)",
                         fix="choose a projected CRS in metres (e.g. the local UTM zone or EPSG:3067 in Finland)")
    if spec.res is not None:  # 0, NaN, inf and negatives are refused by Grid.snapped, never taken as "default"
        res = float(spec.res)
    elif rasters:
        sizes = [round(lyr.res_in(crs), 1) for lyr in rasters]
        res = collections.Counter(sizes).most_common(1)[0][0]
    else:
        raise InputError("no raster layer to take the resolution from", fix="give the target resolution (res=..., --res)")
    if spec.bounds:
        bounds = tuple(spec.bounds)
    elif spec.aoi:
        from .vectors import read_vector

        aoi = read_vector(spec.aoi, "area of interest", dst_crs=crs, expect="polygon")
        import shapely

        bounds = tuple(shapely.total_bounds(aoi.geometries))
    else:
        boxes = [lyr.bounds_in(crs) for lyr in (rasters or layers)]
        if rasters:
            bounds = (max(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes), min(b[3] for b in boxes))
            if bounds[0] >= bounds[2] or bounds[1] >= bounds[3]:
                listing = "; ".join(f"{lyr.spec.name}: {tuple(round(v) for v in b)}" for lyr, b in zip(rasters, boxes))
                raise InputError(f"the raster layers do not overlap ({listing})",
                                 fix="remove the layer(s) from another area, or give the target extent explicitly")
        else:
            bounds = (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))
    grid = Grid.snapped(crs, res, bounds, origin=shared_origin(rasters, crs, res))
    for lyr in layers:
        b = lyr.bounds_in(grid.crs)
        if b[0] >= grid.xmax or b[2] <= grid.xmin or b[1] >= grid.ymax or b[3] <= grid.ymin:
            if getattr(lyr.spec, "kind", None) == "points" or (not hasattr(lyr, "src") and lyr.spec.source == "geochemistry"):
                continue  # samples just outside still inform the edge; checked against the search radius later
            raise InputError(f"does not overlap the target area {tuple(round(v) for v in grid.bounds)} "
                             f"(layer extent {tuple(round(v) for v in b)})", layer=lyr.spec.name,
                             fix="remove it, or choose an area of interest that it covers")
    return grid


def shared_origin(rasters, crs, res):
    """The pixel corner the rasters' grids share when every raster is in `crs` with pixels of `res`
    on one lattice (the common case: layers exported from one project), reduced modulo res; else
    (0, 0), i.e. edges on multiples of the resolution. Why: snapping inputs that already agree to
    multiples of res moved them by up to half a pixel and resampled every one of them."""
    if not rasters:
        return 0.0, 0.0
    target = CRS.from_user_input(crs)
    corners = []
    for lyr in rasters:
        t = lyr.src.transform
        if lyr.src.crs != target or t.b or t.d or not (np.isclose(t.a, res, rtol=1e-6) and np.isclose(-t.e, res, rtol=1e-6)):
            return 0.0, 0.0
        corners.append((t.c % res, t.f % res))
    x0, y0 = corners[0]
    near = lambda a, b: min(abs(a - b), res - abs(a - b)) <= res * 1e-6  # noqa: E731  (0 and res are one lattice)
    if all(near(x, x0) and near(y, y0) for x, y in corners):
        return x0, y0
    return 0.0, 0.0


def _vector_crs(layer):
    from .vectors import read_info

    crs = read_info(layer.spec.path).get("crs") or layer.spec.crs
    if not crs:
        raise InputError("has no CRS", layer=layer.spec.name, fix="assign the CRS in QGIS or give the target CRS")
    return crs


def align_stack(spec, out_dir, overwrite=False, feedback=None):
    """Align `spec` into `out_dir`; returns the manifest. The user's inputs are only read."""
    with bounded_block_cache():  # opening and checking inputs fills the cache too
        return _align(spec, out_dir, overwrite, feedback)


def _align(spec, out_dir, overwrite, feedback):
    steps = Steps(feedback)
    out_dir = check_output_path(out_dir, overwrite, "stack folder", inputs=spec_inputs(spec))
    layers = [open_layer(s) for s in spec.layers]
    try:
        steps.report(0.01, f"Opened {len(layers)} layers")
        for lyr in layers:
            why = getattr(lyr, "info", {}).get("kind_detected")
            if why and lyr.spec.source == "geology":
                steps.info(f"{lyr.spec.name}: read as {lyr.spec.kind} ({why}); give kind=continuous or "
                           "kind=categorical to change it")
        grid = choose_grid(spec, layers)
        steps.info(f"Target grid: {grid.crs}, {grid.res:g} m, {grid.width} x {grid.height} px, bounds {grid.bounds}")
        for lyr in layers:
            if hasattr(lyr, "src"):
                lyr.prepare(grid)
            else:
                lyr.prepare(grid, clr=spec.clr, search_radius=spec.search_radius, idw_power=spec.idw_power)
            field = getattr(lyr, "info", {}).get("class_field")
            if field and not lyr.spec.field:
                steps.info(f"{lyr.spec.name}: classes from its field '{field}' ({len(lyr.bands[0].classes)} classes); "
                           "give field=... to use another")
        bands = [b for lyr in layers for b in lyr.bands]
        check_stack_size(grid, len(bands), bool(spec.deposits), out_dir)
        aoi = _aoi_rasteriser(spec.aoi, grid) if spec.aoi else None
        with atomic_path(out_dir, overwrite=overwrite, directory=True, what="stack folder",
                         inputs=spec_inputs(spec), checked=True) as tmp:
            samples, coverage = _write_tiles(tmp, grid, layers, bands, aoi, spec.tile_size, steps.sub(0.02, 0.95))
            manifest = _manifest(spec, grid, layers, bands, samples)
            manifest["coverage"] = coverage
            for line in coverage_lines(coverage):
                steps.info(line)
            if spec.deposits:
                from .labels import rasterise_deposits

                manifest["deposits"] = rasterise_deposits(spec.deposits, grid, tmp)
                manifest["files"]["deposits"] = "deposits.tif"
            with open(os.path.join(tmp, "stack.json"), "w") as f:
                json.dump(manifest, f, indent=1)
        steps.report(1.0, f"Stack written to {out_dir}")
        return manifest
    finally:
        for lyr in layers:
            lyr.close()


def spec_inputs(spec):
    """Every file a stack is made from (an output may never be or hold one of them)."""
    return [layer.path for layer in spec.layers] + [spec.aoi, spec.deposits]


def check_stack_size(grid, n_bands, deposits, out_dir):
    """Refuse a stack larger than the free space of the output's disk (before any writing), warn when it is big
    (float32 per band, the validity and deposit masks)."""
    need = grid.width * grid.height * (4 * n_bands + 1 + (1 if deposits else 0))
    size = f"{grid.width:,} x {grid.height:,} px x {n_bands} bands at {grid.res:g} m"
    coarser = grid.res * max(2.0, float(np.ceil(np.sqrt(need / max(free_bytes(out_dir) / 2, 1)))))
    free = check_free_space(out_dir, need, f"the stack ({size})",
                            fix=f"choose a coarser resolution (e.g. {coarser:g} m), a smaller area of interest, or an "
                                "output folder on a disk with more space")
    if need > WARN_BYTES:
        log.warning("The stack will be large: %s = %.1f GB uncompressed (%.1f GB free). Writing it takes a while; a "
                    "coarser resolution or a smaller area is faster.", size, need / 2**30, free / 2**30)
    return need


def _aoi_rasteriser(path, grid):
    from .vectors import PolygonRasteriser, read_vector

    data = read_vector(path, "area of interest", dst_crs=grid.crs, expect="polygon")
    data.fields = {"aoi": np.array(["inside"] * len(data.geometries), dtype=object)}
    return PolygonRasteriser(data, "aoi", "area of interest")


def min_layers(n_layers, share=MIN_LAYER_SHARE):
    """Layers that must have data in a cell for it to be valid (engine.data.stack.MIN_LAYER_SHARE)."""
    return max(1, int(np.ceil(share * n_layers - 1e-9)))


def layer_presence(block, layer_bands):
    """(L, h, w) bool: where each layer has data (every one of its bands finite)."""
    return np.stack([np.isfinite(block[sl]).all(axis=0) for sl in layer_bands])


def _write_tiles(folder, grid, layers, bands, aoi, tile, steps):
    profile = dict(driver="GTiff", width=grid.width, height=grid.height, crs=grid.rio_crs, transform=grid.transform,
                   tiled=True, blockxsize=256, blockysize=256, compress="deflate", BIGTIFF="IF_SAFER")
    n_pixels = grid.width * grid.height
    step = max(1, int(np.ceil(np.sqrt(n_pixels / SAMPLE_PIXELS))))
    samples = [[] for _ in bands]
    total = count_tiles(grid.height, grid.width, tile)
    layer_bands, i0 = [], 0
    for lyr in layers:
        layer_bands.append(slice(i0, i0 + len(lyr.bands)))
        i0 += len(lyr.bands)
    need = min_layers(len(layers))
    area = valid_cells = every = 0
    present = np.zeros(len(layers), np.int64)
    with rasterio.open(os.path.join(folder, "stack.tif"), "w", count=len(bands), dtype="float32", nodata=np.nan,
                       predictor=3, **profile) as dst, \
            rasterio.open(os.path.join(folder, "valid.tif"), "w", count=1, dtype="uint8", **profile) as vdst:
        for i, b in enumerate(bands, start=1):
            dst.set_band_description(i, f"{b.source}:{b.name}")
        vdst.set_band_description(1, "valid")
        for k, t in enumerate(iter_tiles(grid.height, grid.width, tile)):
            block = np.concatenate([lyr.read(grid, t.core) for lyr in layers], axis=0)
            inside = np.isfinite(aoi.read(grid, t.core)) if aoi is not None else np.ones(block.shape[1:], bool)
            has = layer_presence(block, layer_bands)
            n_has = has.sum(axis=0)
            valid = (n_has >= need) & inside
            area += int(inside.sum())
            valid_cells += int(valid.sum())
            every += int(((n_has == len(layers)) & inside).sum())
            present += (has & inside).reshape(len(layers), -1).sum(axis=1)
            dst.write(block, window=t.core)
            vdst.write(valid.astype(np.uint8)[None], window=t.core)
            # strided sample on the global grid so statistics do not depend on the tiling
            r0 = (-t.core.row_off) % step
            c0 = (-t.core.col_off) % step
            sub = block[:, r0::step, c0::step]
            isub = inside[r0::step, c0::step]
            for i in range(len(bands)):
                samples[i].append(sub[i][isub])
            steps.report((k + 1) / total, None)
    coverage = {"rule": f"a cell is valid inside the area where at least {need} of the {len(layers)} layers have data",
                "min_layers": need, "layers": len(layers), "area_cells": area, "valid_cells": valid_cells,
                "all_layers_cells": every,
                "per_layer": {lyr.spec.name: float(n / max(area, 1)) for lyr, n in zip(layers, present)}}
    return [np.concatenate(s) if s else np.empty(0, np.float32) for s in samples], coverage


def coverage_lines(coverage):
    """What align tells the user about coverage: the valid share, and every layer that does not cover the area."""
    area = max(coverage["area_cells"], 1)
    out = [f"Valid area: {coverage['valid_cells'] / area:.1%} of the area ({coverage['rule']}); every layer has "
           f"data on {coverage['all_layers_cells'] / area:.1%}"]
    for name, share in coverage["per_layer"].items():
        if share < 0.999:
            out.append(f"  {name} covers {share:.1%} of the area: elsewhere it is read as missing (neutral) and the "
                       "cells are predicted from the other layers")
    return out


def _manifest(spec, grid, layers, bands, samples):
    entries = []
    for i, (b, s) in enumerate(zip(bands, samples), start=1):
        log = next((lyr.spec.log for lyr in layers if b in lyr.bands), None)
        d = b.describe()
        d["band"] = i
        d["layer"] = next((lyr.spec.name for lyr in layers if b in lyr.bands), b.name)
        if getattr(b, "transform", None):
            d["values"] = b.transform
        d["stats"] = normalise.layer_stats(s, "categorical" if b.kind == "categorical" else "continuous",
                                           log=log if b.kind != "points" else False, layer_name=f"{b.source}:{b.name}")
        entries.append(d)
    return {
        "format": FORMAT,
        "engine_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "grid": grid.to_dict(),
        "files": {"stack": "stack.tif", "valid": "valid.tif"},
        "bands": entries,
        "layers": {lyr.spec.name: {"source": lyr.spec.source, "kind": lyr.spec.kind, **getattr(lyr, "info", {})}
                   for lyr in layers},
        "spec": spec.to_dict(),
    }
