"""Open each input layer once and serve any grid window of it, resampled the right way for its kind."""

import contextlib
import logging
import re

import numpy as np
import rasterio
import rasterio.errors
from rasterio.enums import Resampling
from rasterio.warp import reproject, transform_bounds

from . import geochem
from ..core.errors import InputError
from .layers import guess_layer_type, is_raster
from .vectors import LineDistance, PolygonRasteriser, class_field_counts, pixel_centres, read_vector, vector_bounds

log = logging.getLogger("engine")


class Band:
    """One output band: what it is called and what it means to the model."""

    def __init__(self, name, source, kind, layer_type, path, classes=None):
        self.name, self.source, self.kind, self.layer_type, self.path = name, source, kind, layer_type, path
        self.classes = classes

    def describe(self):
        d = {"name": self.name, "source": self.source, "kind": self.kind, "layer_type": self.layer_type, "path": self.path}
        if self.classes:
            d["classes"] = self.classes
        return d


DAMAGED_FIX = "copy or download the file again (compare its size with the original's), or re-export it from its source"
MAX_BLOCKS_CHECKED = 20000


def check_complete(src, name):
    """A GeoTIFF cut short (an interrupted copy or download) is refused up front: every block it lists
    must lie inside the file. A header cut short hides the CRS too, so this runs before the CRS check."""
    import os

    if src.driver != "GTiff" or not os.path.isfile(src.name):
        return
    size = os.path.getsize(src.name)
    (bh, bw) = src.block_shapes[0]
    nx, ny = -(-src.width // bw), -(-src.height // bh)
    n = nx * ny
    picks = range(n) if n <= MAX_BLOCKS_CHECKED else np.unique(np.linspace(0, n - 1, MAX_BLOCKS_CHECKED).astype(int))
    bands = [1] if src.profile.get("interleave") == "pixel" else range(1, src.count + 1)
    found = 0
    for b in bands:
        for i in picks:
            x, y = int(i) % nx, int(i) // nx
            off = src.get_tag_item(f"BLOCK_OFFSET_{x}_{y}", "TIFF", bidx=b)
            length = src.get_tag_item(f"BLOCK_SIZE_{x}_{y}", "TIFF", bidx=b)
            if off is None or length is None:
                continue  # a sparse (empty) block, or a block table the file lost
            found += 1
            if int(off) + int(length) > size:
                raise InputError(f"is truncated: its data runs to byte {int(off) + int(length):,} but the file "
                                 f"holds {size:,} bytes", layer=name, fix=DAMAGED_FIX)
    if not found:
        raise InputError(f"is damaged or truncated: none of its data blocks can be found in its {size:,} bytes",
                         layer=name, fix=DAMAGED_FIX)


@contextlib.contextmanager
def damaged_file(name):
    """A read that fails in GDAL (a damaged block) becomes an error naming the layer, not a traceback."""
    try:
        yield
    except rasterio.errors.RasterioIOError as exc:
        cause = exc.__cause__ or exc
        raise InputError(f"cannot be read ({str(cause).strip().splitlines()[0]}): the file is damaged or truncated",
                         layer=name, fix=DAMAGED_FIX) from exc


def open_layer(spec):
    """The right reader for a LayerSpec, with its kind filled in when it was not given."""
    if is_raster(spec.path):
        if spec.kind not in (None, "continuous", "categorical"):
            raise InputError(f"is a raster, so its kind cannot be '{spec.kind}'", layer=spec.name,
                             fix="use kind continuous or categorical for rasters")
        return RasterLayer(spec)
    bounds, _crs = vector_bounds(spec.path, spec.name)
    return VectorLayer(spec, bounds)


MAX_CLASSES = 64  # more distinct values than this is a measurement, not a class map
_CONTINUOUS_NAMES = re.compile(r"dist|distance|density|dens\b|proximity|buffer_?m|grad|slope", re.I)


def raster_kind(values, dtype, source, name):
    """(kind, why) of a raster given without a kind: class maps are integer-valued with few values.

    Why not 'every geology raster is categorical': distance and density grids under geology are
    measurements; read as classes they became hundreds of classes, or one."""
    if source != "geology":
        return "continuous", f"a {source} raster"
    if _CONTINUOUS_NAMES.search(name):
        return "continuous", "its name says distance / density / gradient"
    whole = bool(np.all(np.mod(values, 1) == 0)) if np.issubdtype(np.dtype(dtype), np.floating) else True
    n = len(np.unique(values))
    if not whole:
        return "continuous", "it holds fractional values"
    if n > MAX_CLASSES:
        return "continuous", f"it holds {n} distinct values (a class map has at most {MAX_CLASSES})"
    return "categorical", f"integer values, {n} classes"


class RasterLayer:
    def __init__(self, spec):
        self.spec = spec
        self.src = rasterio.open(spec.path)
        check_complete(self.src, spec.name)
        if self.src.crs is None:
            raise InputError("has no CRS", layer=spec.name,
                             fix="assign it in QGIS (Layer Properties > Source) or with gdal_edit.py -a_srs EPSG:xxxx")
        if not 1 <= spec.band <= self.src.count:
            raise InputError(f"has no band {spec.band} (it has {self.src.count})", layer=spec.name, fix="choose an existing band")
        self.nodata = spec.nodata if spec.nodata is not None else self.src.nodatavals[spec.band - 1]
        values = self._check_not_empty()
        self.sample = values  # a decimated sample of the data values (the Align preview's class count)
        if spec.kind is None:
            spec.kind, why = raster_kind(values, self.src.dtypes[spec.band - 1], spec.source, spec.name)
            self.info = {"kind_detected": why}
        lt = spec.layer_type or guess_layer_type(spec.name, spec.source, spec.kind)
        self.bands = [Band(spec.name, spec.source, spec.kind, lt, spec.path)]

    def _check_not_empty(self):
        """Decimated read of the whole file: an all-nodata layer is refused before any work."""
        scale = max(1, int(np.ceil(max(self.src.width, self.src.height) / 512)))
        shape = (max(1, self.src.height // scale), max(1, self.src.width // scale))
        with damaged_file(self.spec.name):
            a = self.src.read(self.spec.band, out_shape=shape, resampling=Resampling.nearest).astype(np.float64)
        ok = np.isfinite(a)
        if self.nodata is not None and np.isfinite(self.nodata):
            ok &= ~np.isclose(a, self.nodata, rtol=1e-6)
        if not ok.any():
            raise InputError(f"contains only nodata (nodata value {self.nodata})", layer=self.spec.name,
                             fix="check the file has data, or set the right nodata value (nodata=... in the spec)")
        return a[ok]

    def bounds_in(self, crs):
        return transform_bounds(self.src.crs, crs, *self.src.bounds)

    def res_in(self, crs):
        """Pixel size expressed in the target CRS (approximate across CRSs)."""
        b = self.bounds_in(crs)
        return float(np.sqrt((b[2] - b[0]) * (b[3] - b[1]) / (self.src.width * self.src.height)))

    def prepare(self, grid):
        self.resampling = Resampling.nearest if self.spec.kind == "categorical" else Resampling.bilinear

    def read(self, grid, window):
        """Warp just this window; GDAL reads only the source pixels it covers.

        A per-window reproject (not a WarpedVRT) gives results independent of the tiling.
        """
        out = np.full((1, window.height, window.width), np.nan, np.float32)
        with damaged_file(self.spec.name):
            reproject(rasterio.band(self.src, self.spec.band), out[0], src_nodata=self.nodata,
                      dst_transform=grid.window_transform(window), dst_crs=grid.rio_crs, dst_nodata=np.nan,
                      resampling=self.resampling)
        return out

    def close(self):
        self.src.close()


class VectorLayer:
    def __init__(self, spec, bounds):
        self.spec = spec
        self.native_bounds = bounds
        self.reader = None
        self.bands = []
        self.info = {}

    def bounds_in(self, crs):
        from .vectors import read_info

        from .vectors import no_crs_error, split_source

        src_crs = read_info(self.spec.path).get("crs") or self.spec.crs
        if not src_crs:
            raise no_crs_error(split_source(self.spec.path)[0], self.spec.name)
        return transform_bounds(src_crs, crs, *self.native_bounds)

    def prepare(self, grid, clr=True, search_radius=None, idw_power=2.0):
        spec = self.spec
        data = read_vector(spec.path, spec.name, dst_crs=grid.crs, crs=spec.crs)
        kind = spec.kind or {"polygon": "categorical", "line": "distance", "point": "points"}[data.family]
        spec.kind = kind
        expected = {"categorical": "polygon", "distance": ("line", "polygon"), "points": "point"}[kind]
        if data.family not in (expected if isinstance(expected, tuple) else (expected,)):
            raise InputError(f"has {data.family} geometries, which cannot make a '{kind}' layer", layer=spec.name,
                             fix="polygons -> categorical, lines -> distance, points -> geochemistry samples")
        if kind == "points" and spec.source != "geochemistry":
            raise InputError(f"is a point layer in the {spec.source} source; only geochemistry takes samples",
                             layer=spec.name, fix="put sample points under geochemistry, and deposits in the deposits input")
        if kind == "categorical":
            self.reader = PolygonRasteriser(data, spec.field, spec.name)
            self.info = {"class_field": self.reader.field, "class_fields": class_field_counts(data.fields)}
            lt = spec.layer_type or guess_layer_type(spec.name, spec.source, kind)
            self.bands = [Band(spec.name, spec.source, kind, lt, spec.path, classes=self.reader.class_table())]
        elif kind == "distance":
            if data.family == "polygon":  # contacts: distance to the polygon boundaries
                import shapely

                data.geometries = shapely.boundary(data.geometries)
            self.reader = LineDistance(data)
            lt = spec.layer_type or guess_layer_type(spec.name, spec.source, kind)
            self.bands = [Band(spec.name, spec.source, kind, lt, spec.path)]
        else:
            self._prepare_points(data, grid, clr, search_radius, idw_power)

    def _prepare_points(self, data, grid, clr, search_radius, idw_power):
        import shapely

        spec = self.spec
        read_as = {}
        elements, values = geochem.clean_values(data.fields, spec.elements, spec.name, report=read_as)
        xy = shapely.get_coordinates(data.geometries)
        if len(xy) != len(values):
            raise InputError("has multi-point features; one sample per feature is needed", layer=spec.name,
                             fix="explode multi-points in QGIS (Vector > Geometry Tools > Multipart to Singleparts)")
        complete = np.isfinite(values).all(axis=1)  # CLR needs every element of a sample
        if not complete.all():
            log.warning("Layer '%s': %d of %d samples left out for missing values (%s)", spec.name,
                        int((~complete).sum()), len(values),
                        ", ".join(f"{e}: {r['missing']}" for e, r in read_as.items() if r["missing"]))
            xy, values = xy[complete], values[complete]
        radius = search_radius or geochem.default_search_radius(xy)
        x0, y0, x1, y1 = grid.bounds
        near = (xy[:, 0] > x0 - radius) & (xy[:, 0] < x1 + radius) & (xy[:, 1] > y0 - radius) & (xy[:, 1] < y1 + radius)
        if near.sum() < 2:
            raise InputError(f"has {int(near.sum())} samples within {radius:.0f} m of the target area", layer=spec.name,
                             fix="check the layer covers the area of interest, or enlarge the search radius")
        transformed = geochem.clr(values) if clr else values
        self.reader = geochem.IDWGridder(xy[near], transformed[near], radius, power=idw_power)
        self.info = {"elements": elements, "clr": bool(clr), "search_radius_m": radius, "idw_power": idw_power,
                     "samples_used": int(near.sum()), "samples_total": int(len(complete)),
                     "samples_missing_values": int((~complete).sum()), "values_read_as": read_as}
        for e in elements:
            band = Band(f"{e}", spec.source, "points", spec.layer_type or e, spec.path)
            band.transform = "clr" if clr else "ppm"
            self.bands.append(band)

    def read(self, grid, window):
        if isinstance(self.reader, geochem.IDWGridder):
            xs, ys = pixel_centres(grid, window)
            return self.reader.read(xs, ys)
        return self.reader.read(grid, window)[None]

    def close(self):
        pass
