"""mpm:validate / engine.prospectivity.validate.validate_map: any prospectivity map judged against known deposits."""

import json
import os

import numpy as np
import pytest
import rasterio
import shapely
from sklearn.metrics import roc_auc_score

from helpers import write_raster, write_vector
from engine.core.errors import InputError
from engine.prospectivity.validate import validate_map
from engine.data.vectors import read_vector

MAG = ("Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif")
DEPOSITS = ("Deposits_Occurrences", "IOCG_Deps_Prosp_Occs.shp")


def _deposit_pixels(path, raster):
    with rasterio.open(raster) as src:
        pts = read_vector(path, "deposits", dst_crs=src.crs.to_string(), expect="point")
        rc = [src.index(p.x, p.y) for p in pts.geometries]
        return pts, rc, src.read(1, masked=True), src.transform, src.crs.to_string()


def test_kolari_magnetics_validated_like_an_independent_computation(kolari, tmp_path):
    mag, dep = os.path.join(kolari, *MAG), os.path.join(kolari, *DEPOSITS)
    _pts, rc, grid, _t, _crs = _deposit_pixels(dep, mag)
    r = validate_map(mag, dep, str(tmp_path / "v"), tile=200)  # several windows
    (m,) = r["methods"].values()
    inside = [(i, j) for i, j in rc if 0 <= i < grid.shape[0] and 0 <= j < grid.shape[1] and not grid.mask[i, j]]
    pos = np.array([grid[i, j] for i, j in inside], float)
    bg = grid.compressed().astype(float)
    assert r["meta"]["deposits"] == len(inside) > 5 and r["meta"]["valid_pixels"] == bg.size
    assert m["roc_auc"] == pytest.approx(roc_auc_score(np.r_[np.ones(pos.size), np.zeros(bg.size)], np.r_[pos, bg]),
                                         abs=1e-9)
    with open(tmp_path / "v" / "validation.json") as f:
        saved = json.load(f)
    assert saved["meta"]["background_is"] == "every valid pixel" and os.path.getsize(tmp_path / "v" / "validation.png") > 0
    # a bounded sample of the background gives nearly the same figures
    s = validate_map(mag, dep, str(tmp_path / "s"), max_background=20000)
    assert 15000 < s["meta"]["background"] < 25000
    assert next(iter(s["methods"].values()))["roc_auc"] == pytest.approx(m["roc_auc"], abs=0.03)


def test_a_map_peaking_on_the_deposits_scores_near_one_and_bad_deposits_are_listed(kolari, tmp_path):
    mag, dep = os.path.join(kolari, *MAG), os.path.join(kolari, *DEPOSITS)
    pts, rc, grid, transform, crs = _deposit_pixels(dep, mag)
    rows, cols = np.indices(grid.shape)
    d = np.full(grid.shape, np.inf)
    for i, j in rc:
        d = np.minimum(d, np.hypot(rows - i, cols - j))
    good = np.exp(-d / 20.0).astype(np.float32)
    i0, j0 = rc[0]
    good[i0, j0] = -9999.0  # the first deposit sits on nodata
    write_raster(str(tmp_path / "good.tif"), good, transform, crs=crs, nodata=-9999.0)
    far = shapely.Point(transform * (grid.shape[1] + 500, grid.shape[0] + 500))
    write_vector(str(tmp_path / "dep.gpkg"), list(pts.geometries) + [far], crs=crs)
    r = validate_map(str(tmp_path / "good.tif"), str(tmp_path / "dep.gpkg"), str(tmp_path / "v"))
    (m,) = r["methods"].values()
    assert m["roc_auc"] > 0.99 and m["captured_at_10pct_area"] == 1.0
    assert [x["why"] for x in r["meta"]["dropped"]] == ["on a nodata pixel", "outside the map"]
    low = validate_map(str(tmp_path / "good.tif"), str(tmp_path / "dep.gpkg"), str(tmp_path / "low"),
                       higher_is_better=False)
    assert next(iter(low["methods"].values()))["roc_auc"] < 0.01
    write_vector(str(tmp_path / "away.gpkg"), [far], crs=crs)
    with pytest.raises(InputError, match="none of the 1 deposits"):
        validate_map(str(tmp_path / "good.tif"), str(tmp_path / "away.gpkg"), str(tmp_path / "no"))
    assert not (tmp_path / "no").exists()


def test_processing_validate_and_the_panel_opens_its_curves(plugin, kolari, tmp_path):
    import processing

    mag, dep = os.path.join(kolari, *MAG), os.path.join(kolari, *DEPOSITS)
    res = processing.run("mpm:validate", {"MAP": mag, "BAND": 1, "DEPOSITS": dep, "OUTPUT": str(tmp_path / "val")})
    ref = validate_map(mag, dep, str(tmp_path / "ref"))
    assert res["ROC_AUC"] == pytest.approx(next(iter(ref["methods"].values()))["roc_auc"])
    assert os.path.exists(res["VALIDATION_REPORT"])
    opened = plugin.dock.open_results(str(tmp_path / "val"))
    assert opened == [("validation", str(tmp_path / "val"))]
    assert plugin.dock.plots.report_path == os.path.join(str(tmp_path / "val"), "validation.json")
    assert len(plugin.dock.plots.curve_labels("success_rate")) == 2  # the map and the chance line
    titles = [plugin.dock.plots.plots[k].getPlotItem().titleLabel.text for k in ("success_rate", "roc", "pr")]
    assert all(t.endswith("whole map") for t in titles), titles
