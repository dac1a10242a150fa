"""Known deposits onto the grid. Points that cannot be used are reported by name, never dropped silently."""

import os

import numpy as np
import rasterio
import shapely

from ..core.errors import InputError
from .vectors import read_vector

_NAME_FIELDS = ("name", "Name", "NAME", "NAMEFIN", "Deposit", "deposit_name", "Nimi")


def deposit_report(path, grid, valid_path):
    """Every deposit of `path` placed on the grid, with its status (used / on_nodata / outside).

    Raises when no deposit lands on a valid pixel: a model cannot be trained on none."""
    xy, names, rows, cols, inside = deposit_cells(path, grid.crs, grid.transform, (grid.height, grid.width))
    on_valid = np.zeros(len(xy), bool)
    with rasterio.open(valid_path) as v:
        for i in np.flatnonzero(inside):
            win = rasterio.windows.Window(cols[i], rows[i], 1, 1)
            on_valid[i] = bool(v.read(1, window=win)[0, 0])
    points = []
    for i in range(len(xy)):
        status = "used" if on_valid[i] else ("on_nodata" if inside[i] else "outside")
        points.append({"name": names[i], "x": float(xy[i, 0]), "y": float(xy[i, 1]),
                       "row": int(rows[i]) if inside[i] else None, "col": int(cols[i]) if inside[i] else None,
                       "status": status})
    if not on_valid.any():
        where = "outside the target area" if not inside.any() else "on pixels without data"
        raise InputError(f"all {len(xy)} deposits lie {where} {tuple(round(b) for b in grid.bounds)}", layer="deposits",
                         fix="check the deposits layer's CRS and that it belongs to this area, or enlarge the area of interest")
    return {"path": path, "total": len(xy), "used": int(on_valid.sum()),
            "outside": int((~inside).sum()), "on_nodata": int((inside & ~on_valid).sum()), "points": points}


def rasterise_deposits(path, grid, folder):
    """Write deposits.tif (count per pixel) into `folder`; return the report for the manifest."""
    report = deposit_report(path, grid, os.path.join(folder, "valid.tif"))
    used = [p for p in report["points"] if p["status"] == "used"]
    cells, counts = np.unique(np.array([[p["row"], p["col"]] for p in used]), axis=0, return_counts=True)
    profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=1, dtype="uint8", crs=grid.rio_crs,
                   transform=grid.transform, tiled=True, compress="deflate", nodata=None, SPARSE_OK=True)
    # deposits are sparse: write only their pixels; untouched tiles read back as 0
    with rasterio.open(os.path.join(folder, "deposits.tif"), "w", **profile) as dst:
        for (r, c), n in zip(cells, counts):
            dst.write(np.array([[[min(n, 255)]]], np.uint8), window=rasterio.windows.Window(int(c), int(r), 1, 1))
    return report


def deposit_cells(path, crs, transform, shape):
    """Deposit points read, reprojected to `crs` and placed on a grid of `shape` (rows, cols):
    (xy, names, rows, cols, inside). Multipoints count at their centre."""
    data = read_vector(path, "deposits", dst_crs=crs, expect="point")
    xy = shapely.get_coordinates(shapely.centroid(data.geometries))
    cols, rows = ~transform @ (xy[:, 0], xy[:, 1])
    rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
    inside = (rows >= 0) & (rows < shape[0]) & (cols >= 0) & (cols < shape[1])
    return xy, _names(data.fields, len(xy)), rows, cols, inside


def _names(fields, n):
    for f in _NAME_FIELDS:
        if f in fields:
            return [str(v) for v in fields[f]]
    return [f"deposit {i + 1}" for i in range(n)]
