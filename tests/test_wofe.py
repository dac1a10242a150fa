"""Weights of evidence checked number by number against Geoscience Australia's reference tables
(Cloncurry IOCG, read in place from ../shared/data/cloncurry_iocg), plus the errors a user meets."""

import csv
import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from engine import wofe
from engine.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "cloncurry_iocg")
DEPOSITS = os.path.join(DATA, "weights_inputs", "IOCG_Deposits.shp")

CASES = [("weights_inputs/StratNo.tif", "categorical", "StratNo_CT"),
         ("weights_inputs/Dist2Breccia.tif", "ascending", "Dist2Breccia_CA"),
         ("weights_inputs/FaultDensity.tif", "descending", "FaultDensity_CD")] + \
        [(f"response_inputs/{n}.tif", "categorical", f"binary_{n}_CT")
         for n in ("StratNo", "Dist2Breccia", "FaultDensity", "Dist2Fault")]


@pytest.fixture(scope="module")
def cloncurry():
    if not os.path.exists(DEPOSITS):
        msg = f"GA's Cloncurry reference data not found at {DATA} (put the shared data beside the repository)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return DATA


def read_reference(name):
    with open(os.path.join(DATA, "reference", name + ".csv"), newline="") as f:
        return list(csv.DictReader(f))


def assert_matches(table, ref, rtol=1e-6):
    """Every column GA gives equals ours to rtol (relative; zeros exactly)."""
    assert len(table) == len(ref)
    for col in wofe.COLUMNS:
        ours = table.columns[col].astype(float)
        theirs = np.array([float(r[col]) for r in ref])
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=0, err_msg=f"{table.name} column {col}")


@pytest.mark.parametrize("raster,method,reference", CASES, ids=[c[2] for c in CASES])
def test_weights_equal_ga_reference(cloncurry, raster, method, reference):
    table = wofe.calculate_weights(os.path.join(cloncurry, raster), DEPOSITS, method=method, unit_cell_km2=1.0,
                                   studentized_threshold=2.0)
    assert_matches(table, read_reference(reference))
    assert table.n_points == 258
    assert table.prior == pytest.approx(258 / 31311.33)


def test_cumulative_generalisation_splits_at_maximum_significant_contrast(cloncurry):
    """Dist2Breccia ascending: inside (2) up to 34.4 km, where contrast peaks with studC >= 2."""
    table = wofe.calculate_weights(os.path.join(cloncurry, "weights_inputs/Dist2Breccia.tif"), DEPOSITS,
                                   method="ascending")
    c = table.columns
    best = int(np.argmax(np.where(c["STUDC"] >= 2, c["CONTRAST"], -np.inf)))
    assert c["CLASS"][best] == 34400
    assert set(c["GEN_CLASS"][:best + 1]) == {2} and set(c["GEN_CLASS"][best + 1:]) == {1}
    assert np.all(c["WEIGHT"][c["GEN_CLASS"] == 2] == c["WPLUS"][best])
    assert np.all(c["W_STD"][c["GEN_CLASS"] == 1] == c["S_WMINUS"][best])
    # a threshold nothing reaches leaves the map ungeneralised (GA's 999, zero weights) and says so
    strict = wofe.calculate_weights(os.path.join(cloncurry, "weights_inputs/FaultDensity.tif"), DEPOSITS,
                                    method="descending", studentized_threshold=50)
    assert set(strict.columns["GEN_CLASS"]) == {wofe.NOT_SIGNIFICANT}
    assert not strict.columns["WEIGHT"].any() and strict.notes


def test_generalised_raster_and_csv_round_trip(cloncurry, tmp_path):
    src = os.path.join(cloncurry, "weights_inputs/FaultDensity.tif")
    table = wofe.calculate_weights(src, DEPOSITS, method="descending")
    out = wofe.write_generalised(src, table, str(tmp_path / "gen.tif"))
    with rasterio.open(src) as a, rasterio.open(out) as g:
        v, gv = a.read(1), g.read(1)
    lut = table.generalised  # classes 10..3 -> 2, 2..1 -> 1
    assert lut[3] == 2 and lut[2] == 1
    for k, gen in lut.items():
        assert np.all(gv[v == k] == gen)
    csv_path = table.write_csv(str(tmp_path / "fd.csv"))
    back = wofe.read_weights_csv(csv_path)
    for col in wofe.COLUMNS:
        np.testing.assert_array_equal(back.columns[col], table.columns[col])
    assert [f for f in os.listdir(tmp_path) if "partial" in f] == []
    with pytest.raises(Exception, match="already exists"):
        table.write_csv(csv_path)


def _raster(path, a, nodata=None, crs="EPSG:3067"):
    with rasterio.open(path, "w", driver="GTiff", width=a.shape[1], height=a.shape[0], count=1, dtype=a.dtype,
                       crs=crs, transform=from_origin(500000, 7000000, 100, 100), nodata=nodata) as d:
        d.write(a, 1)
    return str(path)


def _points(path, xy, crs="EPSG:3067"):
    import pyogrio
    import shapely

    geoms = shapely.points(np.asarray(xy, float))
    pyogrio.raw.write(str(path), geometry=shapely.to_wkb(geoms), field_data=[np.arange(len(xy))],
                      fields=["id"], geometry_type="Point", crs=crs, driver="GPKG")
    return str(path)


def _xy(rows, cols):
    return [(500000 + 100 * c + 50, 7000000 - 100 * r - 50) for r, c in zip(rows, cols)]


def test_clear_errors_for_unusable_inputs(tmp_path):
    a = np.arange(400, dtype=np.float32).reshape(20, 20) / 7  # fractional: not classes
    pts = _points(tmp_path / "d.gpkg", _xy([1, 2, 3], [1, 2, 3]))
    with pytest.raises(InputError, match="non-integer values.*reclassify"):
        wofe.calculate_weights(_raster(tmp_path / "f.tif", a), pts)
    ok = _raster(tmp_path / "i.tif", (np.arange(400).reshape(20, 20) // 100).astype(np.int16))
    outside = _points(tmp_path / "o.gpkg", _xy([1, 50], [1, 1]))
    with pytest.raises(InputError, match="1 of 2 deposit points lie outside the grid.*clip"):
        wofe.calculate_weights(ok, outside)
    with pytest.raises(InputError, match="unknown method"):
        wofe.calculate_weights(ok, pts, method="sideways")
    geo = _raster(tmp_path / "g.tif", (np.arange(400).reshape(20, 20) // 100).astype(np.int16), crs="EPSG:4326")
    with pytest.raises(InputError, match="geographic"):
        wofe.calculate_weights(geo, pts)
    b = np.zeros((20, 20), np.int16)
    b[:, :10] = -9
    with pytest.raises(InputError, match="nodata pixels"):
        wofe.calculate_weights(_raster(tmp_path / "n.tif", b, nodata=-9), _points(tmp_path / "n.gpkg", _xy([0], [0])))


def test_missing_data_class_is_left_out_of_the_totals(tmp_path):
    """Class 0 = evidence unknown: its pixels and deposits leave the study area, its row is zero."""
    a = np.ones((20, 20), np.int16)
    a[:, 10:] = 2
    a[15:, :] = 0  # missing data
    rows, cols = [1, 2, 3, 4, 16, 5], [1, 2, 3, 12, 1, 4]
    pts = _points(tmp_path / "d.gpkg", _xy(rows, cols))
    t = wofe.calculate_weights(_raster(tmp_path / "m.tif", a), pts, method="categorical", unit_cell_km2=0.01,
                               missing=0)
    c = t.columns
    assert c["CLASS"].tolist() == [0, 1, 2]
    assert t.n_points == 5 and t.total_units == pytest.approx(300)  # 300 pixels of 0.01 km² outside class 0
    assert c["NO_POINTS"].tolist() == [0, 4, 1] and c["GEN_CLASS"][0] == 0 and c["WEIGHT"][0] == 0
    # class 1 holds 150 of 300 unit cells and 4 of 5 deposits: W+ = ln((4/5) / (146/295))
    assert c["WPLUS"][1] == pytest.approx(np.log((4 / 5) / (146 / 295)))
