"""Logistic regression on GA's four binary Cloncurry maps and on counts drawn from a known model."""

import os

import numpy as np
import pytest
import rasterio

from engine.classical import logistic, wofe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "cloncurry_iocg")
DEPOSITS = os.path.join(DATA, "weights_inputs", "IOCG_Deposits.shp")
MAPS = ("Dist2Breccia", "Dist2Fault", "FaultDensity", "StratNo")


def test_irls_recovers_known_coefficients():
    rng = np.random.default_rng(0)
    k = 400
    x = np.column_stack([np.ones(k), rng.integers(0, 2, k), rng.integers(0, 2, k), rng.integers(0, 2, k)])
    beta_true = np.array([-4.0, 1.2, -0.7, 0.3])
    trials = rng.integers(2000, 5000, k).astype(float)
    y = rng.binomial(trials.astype(int), 1 / (1 + np.exp(-(x @ beta_true))))
    beta, cov, converged, _ = logistic.fit_binomial(x, y, trials)
    assert converged
    assert np.all(np.abs(beta - beta_true) < 4 * np.sqrt(np.diag(cov)))


def test_cloncurry_fit_keeps_observed_deposits_and_agrees_in_sign_with_wofe(tmp_path):
    if not os.path.exists(DEPOSITS):
        pytest.skip(f"GA's Cloncurry data not found at {DATA}")
    evidence = []
    for n in MAPS:
        path = os.path.join(DATA, "response_inputs", n + ".tif")
        evidence.append((path, wofe.calculate_weights(path, DEPOSITS)))
    fit = logistic.logistic_regression(evidence, DEPOSITS, out_dir=str(tmp_path / "lr"))
    assert fit.converged and not fit.warnings
    assert fit.terms == ["intercept"] + [f"{n}={c}" for n, c in zip(MAPS, (1, 1, 2, 2))]
    # maximum likelihood with an intercept and indicators: predicted deposits equal observed, overall and
    # inside every indicator (the score equations), unlike weights of evidence (390.6 for 258 here)
    x, _ = logistic.design(np.column_stack([[t.generalised[int(c)] for c in fit.classes[:, j]]
                                            for j, (_, t) in enumerate(evidence)]), fit.names, fit.area_units)
    np.testing.assert_allclose(x.T @ (fit.posterior * fit.area_units), x.T @ fit.points, rtol=1e-8)
    assert np.sum(fit.posterior * fit.area_units) == pytest.approx(258)
    # each indicator's sign follows the map's weights-of-evidence contrast for that class
    for term, b in zip(fit.terms[1:], fit.coefficients[1:]):
        name, cls = term.split("=")
        table = evidence[MAPS.index(name)][1].columns
        contrast = table["CONTRAST"][list(table["CLASS"]).index(int(cls))]
        assert np.sign(b) == np.sign(contrast) and abs(b) > 2 * fit.std_errors[fit.terms.index(term)]
    assert 0.70 < fit.auc < 0.73
    with rasterio.open(fit.files["posterior"]) as p:
        a = p.read(1)
    assert np.isfinite(a).all() and set(np.unique(a)) == set(fit.posterior.astype(np.float32))
    assert sorted(os.listdir(tmp_path / "lr")) == sorted(logistic.LR_FILES.values())


def test_cli_logistic_with_ga_tables(tmp_path):
    if not os.path.exists(DEPOSITS):
        pytest.skip(f"GA's Cloncurry data not found at {DATA}")
    from helpers import run_engine

    args = []
    for n in MAPS:
        args += ["--evidence", os.path.join(DATA, "response_inputs", n + ".tif"),
                 os.path.join(DATA, "reference", f"binary_{n}_CT.csv")]
    r = run_engine("logistic", *args, "--deposits", DEPOSITS, "--out", tmp_path / "lr")
    assert r.returncode == 0, r.stderr
    assert "converged in" in r.stdout and "StratNo=2: 1.1750" in r.stdout
    r = run_engine("logistic", *args, "--deposits", DEPOSITS, "--out", tmp_path / "lr")
    assert r.returncode == 2 and "already exists" in r.stderr
