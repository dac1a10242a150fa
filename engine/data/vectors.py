"""Vector evidence read once into memory (features are few compared to raster pixels) and
turned into grid windows: polygons rasterised by class, lines to distance, in the grid's CRS."""

import os
import re
import warnings
from dataclasses import dataclass

import numpy as np
import shapely
from rasterio.crs import CRS

from ..core.errors import InputError

# GeoPackages we write declare version 1.2: GDAL >= 3.7 writes 1.4 by default, which QGIS 3.22 (GDAL 3.6)
# opens with a warning about an unknown user_version on every load.
GPKG_OPTIONS = {"VERSION": "1.2"}

with warnings.catch_warnings():  # pyogrio probes Debian's pyproj, which warns about its data dir; unused here
    warnings.simplefilter("ignore", UserWarning)
    import pyogrio

_FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line", "MultiLineString": "line",
           "Polygon": "polygon", "MultiPolygon": "polygon"}


@dataclass
class VectorData:
    geometries: np.ndarray  # shapely geometries in the grid CRS
    fields: dict  # name -> numpy array
    family: str  # point | line | polygon
    crs: str


_X_NAMES = "X,x,XCOORD,X_COORD,Easting,EASTING,easting,East,EAST,E,Longitude,LONGITUDE,longitude,Lon,LON,lon,Long,LONG"
_Y_NAMES = "Y,y,YCOORD,Y_COORD,Northing,NORTHING,northing,North,NORTH,N,Latitude,LATITUDE,latitude,Lat,LAT,lat"


def _open_options(path):
    """A CSV of samples (as geochemists deliver them) is read as points from its X/Y columns."""
    if not path.lower().endswith(".csv"):
        return {}
    return {"X_POSSIBLE_NAMES": _X_NAMES, "Y_POSSIBLE_NAMES": _Y_NAMES, "AUTODETECT_TYPE": "YES",
            "KEEP_GEOM_COLUMNS": "NO"}


def _check_csv_points(path, geometry_type, layer_name):
    if _open_options(path) and not geometry_type:
        raise InputError("is a CSV without coordinate columns", layer=layer_name,
                         fix="name them X and Y (or Easting / Northing, Longitude / Latitude)")


def no_crs_error(path, layer_name):
    if _open_options(path):
        return InputError("has no CRS (a CSV does not store one)", layer=layer_name,
                          fix="give it with the layer, e.g. till.csv::crs=EPSG:3067 on the command line ('crs' in a "
                              "spec), or load the CSV in QGIS as delimited text with its CRS")
    return InputError("has no CRS (missing .prj or undefined projection)", layer=layer_name,
                      fix="assign the CRS in QGIS (Layer Properties > Source) or with ogr2ogr -a_srs")


def read_vector(path, layer_name, dst_crs=None, expect=None, crs=None):
    """Read features, check they are usable, reproject to `dst_crs`.

    `expect` is the geometry family the caller needs; anything else is an actionable error.
    crs: the CRS of a file that stores none (a CSV); a file's own CRS always wins.
    """
    path, layer = split_source(path)
    try:
        meta, _fids, wkb, field_data = pyogrio.raw.read(path, layer=layer, encoding=_shapefile_encoding(path),
                                                        **_open_options(path))
    except Exception as exc:
        raise InputError(f"cannot be read as a vector file ({exc})", layer=layer_name,
                         fix="check the file opens in QGIS; supported: GeoPackage, Shapefile, GeoJSON") from exc
    if wkb is None or len(wkb) == 0:
        _check_csv_points(path, meta.get("geometry_type"), layer_name)
        raise InputError("has no features", layer=layer_name, fix="choose a layer with features or remove it from the inputs")
    gtype = (meta.get("geometry_type") or "Unknown").replace(" Z", "").replace(" M", "").replace("25D", "")
    family = _FAMILY.get(gtype)
    geoms = shapely.from_wkb(wkb)
    if family is None:  # "Unknown" in shapefiles with mixed parts: decide from the features
        kinds = {_FAMILY.get(g.geom_type) for g in geoms if g is not None}
        family = kinds.pop() if len(kinds) == 1 else None
    if family is None:
        raise InputError(f"has unsupported geometry type '{gtype}'", layer=layer_name,
                         fix="use points (geochemistry, deposits), lines (faults) or polygons (lithology)")
    if expect and family not in (expect if isinstance(expect, tuple) else (expect,)):
        raise InputError(f"has {family} geometries but {expect} geometries are needed here", layer=layer_name,
                         fix=f"give a {expect} layer for this input")
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not keep.any():
        raise InputError("has only empty geometries", layer=layer_name, fix="repair the layer in QGIS (Vector > Geometry Tools)")
    if not (meta.get("crs") or crs):
        raise no_crs_error(path, layer_name)
    src_crs = CRS.from_user_input(meta.get("crs") or crs)
    geoms = geoms[keep]
    fields = {name: np.asarray(values)[keep] for name, values in zip(meta["fields"], field_data)}
    if family == "polygon":
        geoms = shapely.make_valid(geoms)
    if dst_crs is not None and CRS.from_user_input(dst_crs) != src_crs:
        geoms = reproject_geometries(geoms, src_crs, dst_crs)
    return VectorData(geoms, fields, family, src_crs.to_string())


def _shapefile_encoding(path):
    """A shapefile's .cpg code page, stated explicitly: inside QGIS, GDAL's SHAPE_ENCODING is set to ""
    (QGIS decodes itself), so without it names like 'Lauttaselkä' came back as UTF-8 read as Latin-1."""
    cpg = os.path.splitext(path)[0] + ".cpg"
    if not path.lower().endswith(".shp") or not os.path.isfile(cpg):
        return None
    with open(cpg, encoding="ascii", errors="ignore") as f:
        code = f.read().strip()
    if not code:
        return None
    name = f"cp{code}" if code.isdigit() else code
    try:
        import codecs

        return codecs.lookup(name).name
    except LookupError:
        return None


def reproject_geometries(geoms, src_crs, dst_crs):
    """Coordinates reprojected with rasterio's PROJ, so one PROJ database serves rasters and vectors."""
    from rasterio.warp import transform

    def _tf(coords):
        xs, ys = transform(src_crs, dst_crs, coords[:, 0].tolist(), coords[:, 1].tolist())
        return np.column_stack([xs, ys])

    return shapely.transform(geoms, _tf)


def split_source(source):
    """'file.gpkg|layername=faults' (QGIS's source string) -> ('file.gpkg', 'faults')."""
    path, *opts = source.split("|")
    layer = None
    for o in opts:
        if o.startswith("layername="):
            layer = o.split("=", 1)[1]
        elif o.startswith("layerid="):
            layer = int(o.split("=", 1)[1])
    return path, layer


def read_info(source):
    path, layer = split_source(source)
    options = _open_options(path)
    return pyogrio.read_info(path, layer=layer, force_total_bounds=bool(options), **options)


def vector_bounds(path, layer_name):
    info = read_info(path)
    if info.get("features", 0) == 0:
        raise InputError("has no features", layer=layer_name, fix="choose a layer with features or remove it from the inputs")
    _check_csv_points(split_source(path)[0], info.get("geometry_type"), layer_name)
    return tuple(info["total_bounds"]), info.get("crs")


def pixel_centres(grid, window):
    """x, y of pixel centres of a window, as 2-D arrays."""
    t = grid.window_transform(window)
    cols = np.arange(window.width) + 0.5
    rows = np.arange(window.height) + 0.5
    xs = t.c + cols * t.a
    ys = t.f + rows * t.e
    return np.meshgrid(xs, ys)


class PolygonRasteriser:
    """Categorical polygons: class codes 1..K by sorted class value; 0 (stored as NaN) outside all polygons."""

    def __init__(self, data, field, layer_name):
        if field is None:
            field = _pick_class_field(data.fields, layer_name)
        if field not in data.fields:
            raise InputError(f"has no field '{field}'", layer=layer_name,
                             fix=f"choose one of: {', '.join(data.fields)}")
        values = data.fields[field].astype(str)
        self.field = field
        self.classes = sorted(set(values.tolist()))
        code = {c: i + 1 for i, c in enumerate(self.classes)}
        self.codes = np.array([code[v] for v in values], dtype=np.int32)
        self.geoms = data.geometries
        self.tree = shapely.STRtree(self.geoms)

    def class_table(self):
        return {str(i + 1): c for i, c in enumerate(self.classes)}

    def read(self, grid, window):
        from rasterio.features import rasterize

        box = shapely.box(*grid.window_bounds(window))
        idx = self.tree.query(box, predicate="intersects")
        out = np.full((window.height, window.width), np.nan, np.float32)
        if len(idx):
            burned = rasterize(zip(self.geoms[idx], self.codes[idx]), out_shape=out.shape,
                               transform=grid.window_transform(window), fill=0, dtype="int32")
            out[burned > 0] = burned[burned > 0]
        return out


# Field names that hold rock units, best first (a geological map has many text fields: eon, era,
# province, rock class... the rock name is the one that carries the lithology).
_CLASS_HINTS = (r"rock_?name|litholog|rock_?type|lith_?name|lith_?desc", r"lith|rock|unit|geol|formation|strat")


def class_field_counts(fields):
    """{field: distinct values} of the text fields that could hold classes (2-255 values, not a
    per-feature identifier): the choices a field picker offers."""
    n_features = len(next(iter(fields.values()))) if fields else 0
    out = {}
    for name, values in fields.items():
        if values.dtype.kind in "OUS":
            n = len(set(values.astype(str).tolist()))
            if 2 <= n <= 255 and not (n == n_features and n_features > 20):
                out[name] = n
    return out


def _pick_class_field(fields, layer_name):
    """The text field most likely to hold the lithology: a rock-name field first, then the field with
    most distinct values (class_field_counts)."""
    candidates = []
    for name, n in class_field_counts(fields).items():
        hint = next((len(_CLASS_HINTS) - i for i, p in enumerate(_CLASS_HINTS) if re.search(p, name, re.I)), 0)
        candidates.append((hint, n, name))
    if candidates:
        return max(candidates)[2]
    raise InputError("has no text field that could hold the lithology classes", layer=layer_name,
                     fix="name the class field explicitly (field=... in the spec, --field on the command line)")


class LineDistance:
    """Distance (km) from each pixel centre to the nearest line, exact and per window."""

    def __init__(self, data):
        self.geoms = data.geometries
        self.tree = shapely.STRtree(self.geoms)

    def read(self, grid, window):
        xs, ys = pixel_centres(grid, window)
        pts = shapely.points(xs.ravel(), ys.ravel())
        _, dist = self.tree.query_nearest(pts, return_distance=True, all_matches=False)
        return (dist / 1000.0).reshape(xs.shape).astype(np.float32)
