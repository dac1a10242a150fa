"""Weights of evidence checked number by number against Geoscience Australia's reference tables
(Cloncurry IOCG, read in place from ../shared/data/cloncurry_iocg), plus the errors a user meets."""

import csv
import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from engine.classical import wofe
from engine.core.errors import InputError

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
    assert any(n.startswith("6 deposit points share a pixel") for n in table.notes)  # GA counts each of them


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
    with pytest.raises(InputError, match="3 deposits in a study area of 0.4 unit cells.*smaller unit cell"):
        wofe.calculate_weights(ok, pts, unit_cell_km2=10)  # 400 pixels of 0.01 km² = 4 km²
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


REFERENCE_MAPS = {"posterior": "PosteriorProbability", "std": "PosteriorProbability_StdDev",
                  "confidence": "PosteriorProbability_Conf"}


@pytest.fixture(scope="module")
def response(cloncurry, tmp_path_factory):
    """GA's response: the four binary maps with their categorical weights."""
    evidence = []
    for n in ("Dist2Breccia", "Dist2Fault", "FaultDensity", "StratNo"):
        path = os.path.join(cloncurry, "response_inputs", n + ".tif")
        evidence.append((path, wofe.calculate_weights(path, DEPOSITS, method="categorical")))
    out = str(tmp_path_factory.mktemp("wofe") / "response")
    return wofe.calculate_response(evidence, DEPOSITS, out_dir=out)


def test_response_rasters_equal_ga_reference(response):
    for key, ref in REFERENCE_MAPS.items():
        with rasterio.open(response.files[key]) as a, rasterio.open(os.path.join(DATA, "reference", ref + ".tif")) as b:
            ours, theirs = a.read(1), b.read(1)
            assert a.transform == b.transform and a.crs == b.crs
        assert np.array_equal(np.isnan(ours), np.isnan(theirs))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=0, err_msg=key)
    assert response.prior == pytest.approx(258 / 31311.33, rel=1e-12)
    assert len(response.posterior) == 16  # 2^4 unique conditions


def test_response_auc_table_equals_ga_reference(response):
    with open(os.path.join(DATA, "reference", "IOCG_PostProb_AUC.csv"), newline="") as f:
        ref = list(csv.DictReader(f))
    with open(response.files["auc"], newline="") as f:
        ours = list(csv.DictReader(f))
    assert len(ours) == len(ref) == 101
    names = {"thresholds": "threshold", "true.positives": "true_positives", "true.negatives": "true_negatives",
             "sensitivity": "sensitivity", "specificity": "specificity", "precision": "precision",
             "false.pos.rate": "false_positive_rate", "n.preds": "n_predictions", "prop.preds": "share_predictions"}
    for theirs, mine in zip(ref, ours):
        for k, v in names.items():
            if theirs["thresholds." + k] == "NA":
                assert mine[v] == "nan", (theirs["thresholds.thresholds"], k)
            else:
                assert float(mine[v]) == pytest.approx(float(theirs["thresholds." + k]), rel=1e-9, abs=1e-12), k
        for k, v in (("N", "N"), ("prevalence", "prevalence"), ("AUC", "AUC"), ("AUCratio", "AUC_ratio"),
                     ("meanPrecision", "mean_precision")):
            assert float(mine[v]) == pytest.approx(float(theirs[k]), rel=1e-9), k
    assert round(response.auc, 4) == 0.7145


def test_conditional_independence_is_checked_and_warned(response):
    """In-sample, GA's four maps predict far more deposits than the 258 known: both checks fire."""
    ci = response.ci
    assert ci["observed"] == 258
    assert ci["predicted"] == pytest.approx(float(np.sum(response.posterior * response.area_units)))
    assert ci["ratio"] < wofe.CI_RATIO_MIN and ci["probability_not_independent"] > wofe.CI_PROB_MAX
    assert any("conditional independence is doubtful" in w for w in response.warnings)
    assert any("Agterberg-Cheng" in w for w in response.warnings)
    import json

    with open(response.files["summary"]) as f:
        summary = json.load(f)
    assert summary["warnings"] == response.warnings and summary["auc"] == response.auc


def test_missing_data_adds_its_variance_and_leaves_the_weight_out(tmp_path):
    """Map B is unknown (class 9) on some pixels: there the posterior uses A alone, and the std grows by
    the missing-data variance sum_k (P_k - P)^2 A_k / A over B's classes."""
    rng = np.random.default_rng(0)
    a = (rng.random((40, 40)) < 0.5).astype(np.int16) + 1
    b = (rng.random((40, 40)) < 0.3).astype(np.int16) + 1
    b[30:, :] = 9
    rows, cols = np.nonzero((a == 2) & (rng.random((40, 40)) < 0.08))
    pts = _points(tmp_path / "d.gpkg", _xy(rows, cols))
    pa, pb = _raster(tmp_path / "a.tif", a), _raster(tmp_path / "b.tif", b)
    ta = wofe.calculate_weights(pa, pts, unit_cell_km2=0.01, studentized_threshold=0)
    tb = wofe.calculate_weights(pb, pts, unit_cell_km2=0.01, studentized_threshold=0, missing=9)
    res = wofe.calculate_response([(pa, ta), (pb, tb)], pts, missing=9, unit_cell_km2=0.01)
    wa, wb = ta.weight_lookup(), tb.weight_lookup()
    n = len(rows)
    prior = n / 1600
    logit0 = np.log(prior / (1 - prior))
    share = {k: np.count_nonzero(b == k) / np.count_nonzero(b != 9) for k in (1, 2)}
    for k in range(len(res.posterior)):
        ca, cb = res.classes[k]
        if cb == 9:
            p = 1 / (1 + np.exp(-(logit0 + wa[ca][0])))
            var = p * p * (1 / n + wa[ca][1] ** 2)
            var += sum(share[j] * (1 / (1 + np.exp(-(logit0 + wa[ca][0] + wb[j][0]))) - p) ** 2 for j in (1, 2))
        else:
            p = 1 / (1 + np.exp(-(logit0 + wa[ca][0] + wb[cb][0])))
            var = p * p * (1 / n + wa[ca][1] ** 2 + wb[cb][1] ** 2)
        assert res.posterior[k] == pytest.approx(p, rel=1e-12)
        assert res.std[k] == pytest.approx(np.sqrt(var), rel=1e-12)


def test_response_refuses_misaligned_maps_and_keeps_outputs_whole(tmp_path):
    a = np.ones((20, 20), np.int16)
    a[:, :10] = 2
    pa = _raster(tmp_path / "a.tif", a)
    pts = _points(tmp_path / "d.gpkg", _xy([1, 2, 3], [1, 2, 12]))
    ta = wofe.calculate_weights(pa, pts, unit_cell_km2=0.01)
    with rasterio.open(tmp_path / "small.tif", "w", driver="GTiff", width=10, height=10, count=1, dtype="int16",
                       crs="EPSG:3067", transform=from_origin(500000, 7000000, 100, 100)) as d:
        d.write(a[:10, :10], 1)
    with pytest.raises(InputError, match="not on the grid"):
        wofe.calculate_response([(pa, ta), (str(tmp_path / "small.tif"), ta)], pts, out_dir=str(tmp_path / "r"))
    assert not os.path.exists(tmp_path / "r")
    res = wofe.calculate_response([(pa, ta)], pts, out_dir=str(tmp_path / "r"), unit_cell_km2=0.01)
    assert sorted(os.listdir(tmp_path / "r")) == sorted(wofe.RESPONSE_FILES.values())
    with pytest.raises(Exception, match="already exists"):
        wofe.calculate_response([(pa, ta)], pts, out_dir=str(tmp_path / "r"), unit_cell_km2=0.01)
    assert res.files["posterior"].startswith(str(tmp_path / "r"))


def test_single_class_raster_is_refused(tmp_path):
    pts = _points(tmp_path / "d.gpkg", _xy([1, 2], [1, 2]))
    with pytest.raises(InputError, match="1 class.*at least two"):
        wofe.calculate_weights(_raster(tmp_path / "one.tif", np.full((20, 20), 5, np.int16)), pts)


def test_cli_weights_and_response_on_cloncurry(cloncurry, tmp_path):
    """The two commands a geologist runs, end to end: tables equal GA's, the response's AUC and warnings."""
    from helpers import run_engine as engine

    r = engine("wofe-weights", os.path.join(cloncurry, "weights_inputs/FaultDensity.tif"), "--deposits", DEPOSITS,
               "--method", "descending", "--unit-cell", "1", "--out", str(tmp_path / "fd.csv"),
               "--generalised", str(tmp_path / "fd_gen.tif"))
    assert r.returncode == 0, r.stderr
    assert "favourable: class >= 3" in r.stdout
    assert_matches(wofe.read_weights_csv(str(tmp_path / "fd.csv")), read_reference("FaultDensity_CD"))
    with rasterio.open(tmp_path / "fd_gen.tif") as g:
        assert set(np.unique(g.read(1)).tolist()) == {1, 2}
    args = []
    for n in ("Dist2Breccia", "Dist2Fault", "FaultDensity", "StratNo"):  # GA's own tables as input
        args += ["--evidence", os.path.join(cloncurry, "response_inputs", n + ".tif"),
                 os.path.join(cloncurry, "reference", f"binary_{n}_CT.csv")]
    r = engine("wofe-response", *args, "--deposits", DEPOSITS, "--out", str(tmp_path / "resp"))
    assert r.returncode == 0, r.stderr
    assert "16 unique conditions" in r.stdout and "AUC 0.7145" in r.stdout
    assert "warning: conditional independence is doubtful" in r.stdout
    with rasterio.open(tmp_path / "resp" / "posterior.tif") as a, \
            rasterio.open(os.path.join(cloncurry, "reference", "PosteriorProbability.tif")) as b:
        np.testing.assert_allclose(a.read(1), b.read(1), rtol=1e-5)
    # a continuous map is not a set of classes: the error says what to do, nothing is written
    r = engine("wofe-weights", str(tmp_path / "resp" / "posterior.tif"), "--deposits", DEPOSITS,
               "--out", str(tmp_path / "bad.csv"))
    assert r.returncode == 2 and "non-integer values" in r.stderr and "reclassify" in r.stderr
    assert not os.path.exists(tmp_path / "bad.csv")


def test_baseline_picks_direction_and_threshold_on_training_rows():
    """The validation baseline: deposits sit at low values of band 0 (distance-like) and high values
    of band 1; band 2 is noise and adds nothing; NaN adds nothing."""
    from engine.classical.baselines import WeightsOfEvidence

    rng = np.random.default_rng(1)
    n = 3000
    x = rng.random((n, 3))
    y = np.zeros(n, int)
    y[np.flatnonzero((x[:, 0] < 0.2) & (x[:, 1] > 0.6))[:60]] = 1
    model = WeightsOfEvidence([False, False, False]).fit(x, y)
    d0, t0, wp0, wm0 = model.weights[0]
    d1, t1, wp1, wm1 = model.weights[1]
    assert d0 == "ascending" and 0.1 < t0 <= 0.3 and wp0 > 1 > 0 > wm0
    assert d1 == "descending" and 0.5 <= t1 < 0.8 and wp1 > 0 > wm1
    assert model.weights[2] is None
    p = model.predict(x)
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y, p) > 0.9
    xn = x.copy()
    xn[:, 0] = np.nan
    assert np.all(np.isfinite(model.predict(xn)))
    # the weights are the engine's: the same counts through engine.classical.wofe give the same W+ / W-
    inside = x[:, 0] <= t0
    w = wofe.weights_from_counts([inside.sum()], [y[inside].sum()], n, y.sum())
    assert (w["WPLUS"][0], w["WMINUS"][0]) == pytest.approx((wp0, wm0))


def test_pooled_categorical_generalisation_equals_the_binary_map(cloncurry, tmp_path):
    """ArcSDM's categorical generalisation on StratNo: the 9 significant units keep their W+, the other 78
    become class 99 with the weight that the same split, saved as a binary map, gets from scratch."""
    src = os.path.join(cloncurry, "weights_inputs/StratNo.tif")
    t = wofe.calculate_weights(src, DEPOSITS, pool=True)
    c = t.columns
    sig = c["STUDC"] >= 2
    assert sig.sum() == 9 and np.all(c["GEN_CLASS"][sig] == c["CLASS"][sig])
    assert set(c["GEN_CLASS"][~sig].tolist()) == {wofe.POOLED}
    np.testing.assert_array_equal(c["WEIGHT"][sig], c["WPLUS"][sig])
    with rasterio.open(src) as a:
        v = a.read(1)
        prof = dict(a.profile, dtype="uint8", nodata=None)
    binary = np.where(np.isin(v, c["CLASS"][sig]), 2, 1).astype(np.uint8)
    with rasterio.open(tmp_path / "bin.tif", "w", **prof) as d:
        d.write(binary, 1)
    b = wofe.calculate_weights(str(tmp_path / "bin.tif"), DEPOSITS).columns
    assert np.all(c["WEIGHT"][~sig] == pytest.approx(b["WPLUS"][0], rel=1e-9))
    assert np.all(c["W_STD"][~sig] == pytest.approx(b["S_WPLUS"][0], rel=1e-9))
