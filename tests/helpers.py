"""Helpers the tests import: the repository root, the Kolari crop, seeded little rasters and vectors, the CLI.

Fixtures live in conftest.py (pytest finds them there); plain functions and constants live here, so a
test imports them from a module of its own rather than from conftest.
"""

import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# A 20 x 20 km crop around Hannukainen: small enough for fast tests, real enough to matter.
KOLARI_CROP = (364000.0, 7490000.0, 384000.0, 7510000.0)


def write_raster(path, data, transform, crs="EPSG:3067", nodata=None, dtype=None):
    """Small GeoTIFF for tests (seeded data only)."""
    import rasterio

    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
                       dtype=dtype or data.dtype, crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data.astype(dtype or data.dtype))
    return str(path)


def write_vector(path, geoms, fields=None, crs="EPSG:3067"):
    """Small GeoPackage / shapefile for tests."""
    import shapely

    from engine.data.vectors import pyogrio

    fields = fields or {}
    gtype = geoms[0].geom_type
    pyogrio.raw.write(str(path), geometry=shapely.to_wkb(np.array(geoms, dtype=object)), field_data=list(fields.values()),
                  fields=list(fields.keys()), geometry_type=gtype, crs=crs)
    return str(path)


def run_engine(*args, timeout=300):
    """`python -m engine ARGS` in a subprocess from the repository root: (returncode, stdout, stderr)."""
    import subprocess

    r = subprocess.run([sys.executable, "-m", "engine", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT))
    return r
