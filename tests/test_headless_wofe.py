"""Weights of evidence, logistic regression and fuzzy overlay headless through the built plugin (qgis_process.bin
run mpm:wofeweights / woferesponse / logistic / fuzzy) on GA's Cloncurry data: the Processing outputs equal the
engine's, the conditional-independence figures come out as outputs and warnings, and bad input stops with the fix.
Also mpm:derivatives, the potential-field derivatives, on the Kolari magnetics."""

import json
import os
import subprocess

import numpy as np
import pytest
import rasterio

from test_headless import QGIS_PROCESS, qgis_env  # noqa: F401 (module fixture: unpacked zip + own profile)
from test_wofe import DEPOSITS, cloncurry  # noqa: F401 (skips / fails without the shared data)

from engine.classical import fuzzy, logistic, wofe

BINARY = ("Dist2Breccia", "Dist2Fault", "FaultDensity", "StratNo")


def _run(env, alg, *pairs, **params):
    """qgis_process.bin --json run mpm:<alg> (pairs for repeated keys): the completed process."""
    args = [QGIS_PROCESS, "--json", "run", f"mpm:{alg}"] + [f"--{k}={v}" for k, v in list(pairs) + list(params.items())]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def _ok(r):
    assert r.returncode == 0, f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return json.loads(r.stdout)


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(1, masked=True)


def test_weights_table_and_generalised_raster_equal_the_engines(qgis_env, cloncurry, tmp_path):  # noqa: F811
    raster = os.path.join(cloncurry, "weights_inputs", "Dist2Breccia.tif")
    out = _ok(_run(qgis_env, "wofeweights", INPUT=raster, DEPOSITS=DEPOSITS, METHOD="ascending", UNIT_CELL=1,
                   STUDC=2, OUTPUT=tmp_path / "d2b.csv", GENERALISED=tmp_path / "d2b_gen.tif"))
    table = wofe.calculate_weights(raster, DEPOSITS, method="ascending", unit_cell_km2=1.0)
    table.write_csv(str(tmp_path / "engine.csv"))
    assert open(tmp_path / "d2b.csv").read() == open(tmp_path / "engine.csv").read()
    wofe.write_generalised(raster, table, str(tmp_path / "engine_gen.tif"))
    ours, theirs = _read(tmp_path / "d2b_gen.tif"), _read(tmp_path / "engine_gen.tif")
    assert np.array_equal(ours.mask, theirs.mask) and np.array_equal(ours.filled(0), theirs.filled(0))
    assert set(np.unique(ours.compressed()).tolist()) == {1, 2}
    res = out["results"]
    assert (res["CLASSES"], res["DEPOSITS_USED"]) == (642, 258)
    assert res["PRIOR"] == pytest.approx(258 / table.total_units)
    assert res["SIGNIFICANT"] == int(np.count_nonzero(table.columns["STUDC"] >= 2))
    info = "\n".join(out["log"]["info"])
    assert "Favourable: class <= 34400 (contrast 2.673, studentised 2.67)" in info
    assert any("share a pixel" in w for w in out["log"]["warning"])  # the engine's note reaches the log


def test_response_and_logistic_report_conditional_independence(qgis_env, cloncurry, tmp_path):  # noqa: F811
    pairs, evidence = [], []
    for name in BINARY:
        raster = os.path.join(cloncurry, "response_inputs", f"{name}.tif")
        table = wofe.calculate_weights(raster, DEPOSITS)
        csv_path = table.write_csv(str(tmp_path / f"{name}.csv"))
        pairs += [("EVIDENCE", raster), ("TABLES", csv_path)]
        evidence.append((raster, wofe.read_weights_csv(csv_path, name=name)))
    out = _ok(_run(qgis_env, "woferesponse", *pairs, DEPOSITS=DEPOSITS, OUTPUT=tmp_path / "response"))
    res = out["results"]
    engine = wofe.calculate_response(evidence, DEPOSITS)
    assert res["OBSERVED"] == 258 and res["AUC"] == pytest.approx(0.7145, abs=5e-5)
    assert res["PREDICTED"] == pytest.approx(engine.ci["predicted"]) and res["CI_RATIO"] < 0.85
    assert res["CI_Z"] == pytest.approx(engine.ci["z"]) and res["CI_VIOLATED"] is True
    warnings = out["log"]["warning"]
    assert len(warnings) == 2 and "conditional independence is doubtful" in warnings[0]
    assert "Agterberg-Cheng" in warnings[1] and res["WARNINGS"].count("\n") == 1
    posterior = _read(res["POSTERIOR"])
    with rasterio.open(os.path.join(cloncurry, "reference", "PosteriorProbability.tif")) as ds:
        reference = ds.read(1, masked=True)
    assert np.array_equal(posterior.mask, reference.mask)
    np.testing.assert_allclose(posterior.compressed(), reference.compressed(), atol=1e-5)
    for key in ("STD", "CONFIDENCE", "CONDITIONS", "AUC_TABLE", "SUMMARY"):
        assert os.path.dirname(res[key]) == str(tmp_path / "response") and os.path.exists(res[key]), key

    out = _ok(_run(qgis_env, "logistic", *pairs, DEPOSITS=DEPOSITS, OUTPUT=tmp_path / "lr"))
    res = out["results"]
    fit = logistic.logistic_regression(evidence, DEPOSITS)
    assert res["CONVERGED"] is True and res["PREDICTED"] == pytest.approx(258.0, abs=1e-6)
    assert res["AUC"] == pytest.approx(fit.auc)
    lr = _read(res["POSTERIOR"])
    assert lr.compressed().min() == pytest.approx(fit.posterior.min(), rel=1e-6)
    assert "  StratNo=2: 1.1750 +- 0.1764" in out["log"]["info"]


def test_fuzzy_overlay_equals_the_engines(qgis_env, cloncurry, tmp_path):  # noqa: F811
    d2b = os.path.join(cloncurry, "weights_inputs", "Dist2Breccia.tif")
    fd = os.path.join(cloncurry, "weights_inputs", "FaultDensity.tif")
    _ok(_run(qgis_env, "fuzzy", ("LAYERS", d2b), ("LAYERS", fd), MEMBERSHIPS="linear,5000,0,large,3,5",
             OPERATOR="gamma", GAMMA=0.8, OUTPUT=tmp_path / "fz.tif"))
    fuzzy.fuzzy_overlay([(d2b, "linear", 5000, 0), (fd, "large", 3, 5)], "gamma", str(tmp_path / "engine.tif"),
                        gamma=0.8)
    ours, theirs = _read(tmp_path / "fz.tif"), _read(tmp_path / "engine.tif")
    np.testing.assert_array_equal(ours.filled(np.nan), theirs.filled(np.nan))
    assert 0.0 <= ours.min() < ours.max() <= 1.0


def test_bad_input_stops_with_the_fix_and_writes_nothing(qgis_env, cloncurry, tmp_path):  # noqa: F811
    from rasterio.transform import from_origin

    from helpers import write_raster

    floats = write_raster(tmp_path / "fractional.tif", np.full((30, 30), 0.5, np.float32),
                          from_origin(400000, 7700000, 100, 100), crs="EPSG:7845")
    r = _run(qgis_env, "wofeweights", INPUT=floats, DEPOSITS=DEPOSITS, METHOD="categorical",
             OUTPUT=tmp_path / "w.csv", GENERALISED=tmp_path / "g.tif")
    assert r.returncode != 0
    text = r.stdout + r.stderr
    assert "Layer 'fractional': has non-integer values (e.g. 0.5)" in text
    assert "reclassify the raster into integer classes first" in text
    assert not (tmp_path / "w.csv").exists() and not (tmp_path / "g.tif").exists()

    raster = os.path.join(cloncurry, "response_inputs", "StratNo.tif")
    r = _run(qgis_env, "woferesponse", ("EVIDENCE", raster), ("EVIDENCE", raster), ("TABLES", tmp_path / "x.csv"),
             DEPOSITS=DEPOSITS, OUTPUT=tmp_path / "response")
    assert r.returncode != 0 and "2 evidence rasters but 1 weights tables" in r.stdout + r.stderr
    assert not (tmp_path / "response").exists() or not os.listdir(tmp_path / "response")

    r = _run(qgis_env, "fuzzy", ("LAYERS", raster), MEMBERSHIPS="sigmoid,1,2", OUTPUT=tmp_path / "fz.tif")
    assert r.returncode != 0 and "unknown function 'sigmoid'; use linear, small, large or gaussian" in r.stdout + r.stderr
    assert not (tmp_path / "fz.tif").exists()


def test_derivatives_through_processing_equal_the_engines(qgis_env, kolari, tmp_path):  # noqa: F811
    """mpm:derivatives (a data-preparation algorithm beside the classical methods) on the Kolari magnetics."""
    from engine.data.derivatives import write_derivatives

    grid = os.path.join(kolari, "Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif")
    # no BAND: its default (1) applies, as in the README's commands
    out = _ok(_run(qgis_env, "derivatives", GRID=grid, DERIVATIVE="tilt", OUTPUT=tmp_path / "tilt.tif"))
    assert out["results"]["OUTPUT"] == str(tmp_path / "tilt.tif")
    write_derivatives(grid, str(tmp_path / "engine.tif"), ("tilt",))
    a, b = _read(tmp_path / "tilt.tif"), _read(tmp_path / "engine.tif")
    assert np.array_equal(np.isnan(a.filled(np.nan)), np.isnan(b.filled(np.nan)))
    assert np.allclose(a.filled(0), b.filled(0), equal_nan=True)
