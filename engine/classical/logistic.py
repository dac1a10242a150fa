"""Logistic regression on the same evidence as weights of evidence (a further baseline, as in ArcSDM).

Why: weights of evidence adds each map's weight as if the maps were conditionally independent
given the deposits; logistic regression fits all maps' effects jointly, so correlated evidence is
not counted twice (its posterior sums to the observed number of deposits by construction). Like
ArcSDM's tool it works on unique conditions: each map's generalised classes (GEN_CLASS of its
weights table) become indicator variables (the largest class is the reference), every condition is
a binomial count (deposits out of its area in unit cells), fitted by iteratively reweighted least
squares. The posterior's standard deviation comes from the coefficients' covariance (delta method).
Rasters are scanned and written by windows, as in engine.classical.wofe.
"""

import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..core.atomic import atomic_path, check_output_path
from .wofe import TILE, _write_conditions, _write_csv, _write_json, auc_table, scan_conditions, write_condition_maps

LR_FILES = {"posterior": "lr_posterior.tif", "std": "lr_posterior_std.tif", "coefficients": "coefficients.csv",
            "conditions": "conditions.csv", "auc": "auc.csv", "summary": "summary.json"}


@dataclass
class LogisticFit:
    terms: list  # "intercept", "<map>=<gen class>" (indicator vs the map's reference class)
    coefficients: np.ndarray
    std_errors: np.ndarray
    converged: bool
    iterations: int
    names: list
    classes: np.ndarray  # (K, M) raw class values per condition
    area_units: np.ndarray
    points: np.ndarray
    posterior: np.ndarray
    std: np.ndarray
    n_points: int
    unit_cell_km2: float
    warnings: list
    auc: float = None
    auc_rows: list = None
    files: dict = field(default_factory=dict)


def design(gen_classes, names, area_units):
    """Intercept + one indicator per generalised class of each map, the largest-area class left out."""
    cols, terms = [np.ones(len(area_units))], ["intercept"]
    for j, name in enumerate(names):
        g = gen_classes[:, j]
        levels = np.unique(g)
        if len(levels) < 2:
            continue  # one class (e.g. not significant): the map cannot enter the model
        ref = levels[np.argmax([area_units[g == lv].sum() for lv in levels])]
        for lv in levels:
            if lv != ref:
                cols.append((g == lv).astype(float))
                terms.append(f"{name}={int(lv)}")
    return np.column_stack(cols), terms


def fit_binomial(x, successes, trials, max_iter=100, tol=1e-10):
    """Maximum-likelihood logistic regression on counts (IRLS): (beta, covariance, converged, iterations)."""
    y, n = np.asarray(successes, float), np.asarray(trials, float)
    beta = np.zeros(x.shape[1])
    beta[0] = math.log(y.sum() / (n.sum() - y.sum()))
    converged = False
    for it in range(1, max_iter + 1):
        p = 1.0 / (1.0 + np.exp(-(x @ beta)))
        w = n * p * (1.0 - p)
        info = x.T @ (x * w[:, None])
        step = np.linalg.solve(info, x.T @ (y - n * p))
        beta = beta + step
        if np.max(np.abs(step)) < tol:
            converged = True
            break
    p = 1.0 / (1.0 + np.exp(-(x @ beta)))
    info = x.T @ (x * (n * p * (1.0 - p))[:, None])
    return beta, np.linalg.inv(info), converged, it


def logistic_regression(evidence, deposits, out_dir=None, unit_cell_km2=1.0, overwrite=False, tile=TILE,
                        feedback=None):
    """Fit on [(raster, WeightsTable), ...] (the rasters' classes are mapped to GEN_CLASS) and, with
    out_dir, write lr_posterior.tif, lr_posterior_std.tif, coefficients.csv, conditions.csv, auc.csv
    and summary.json (a new folder, atomically). Returns a LogisticFit."""
    from ..core.progress import Feedback

    feedback = feedback or Feedback()
    if out_dir is not None:
        check_output_path(out_dir, overwrite, "logistic regression folder")
    cond = scan_conditions(evidence, deposits, tile, feedback)
    classes = cond.classes
    gen = np.column_stack([[t.generalised[int(c)] for c in classes[:, j]] for j, (_, t) in enumerate(evidence)])
    area_units = cond.pixels * cond.pixel_km2 / unit_cell_km2
    x, terms = design(gen, cond.names, area_units)
    beta, cov, converged, iterations = fit_binomial(x, cond.points, area_units)
    eta = x @ beta
    post = 1.0 / (1.0 + np.exp(-eta))
    se_eta = np.sqrt(np.einsum("ki,ij,kj->k", x, cov, x))
    std = post * (1.0 - post) * se_eta
    warnings = []
    if not converged:
        warnings.append(f"the fit did not converge in {iterations} iterations: a class with no deposit (or one "
                        "holding them all) sends its coefficient to infinity; merge such classes and rerun")
    for t, b in zip(terms[1:], beta[1:]):
        if abs(b) > 15:
            warnings.append(f"coefficient of {t} is {b:.1f}: the class is (almost) separated from the deposits")
    fit = LogisticFit(terms, beta, np.sqrt(np.diag(cov)), converged, iterations, cond.names, classes, area_units,
                      cond.points, post, std, int(cond.points.sum()), unit_cell_km2, warnings)
    fit.auc_rows, fit.auc = auc_table(post.astype(np.float32), cond.points, cond.pixels - cond.unique_cells)
    if out_dir is not None:
        with atomic_path(out_dir, overwrite=overwrite, directory=True, what="logistic regression folder") as tmp:
            write_condition_maps(cond, {LR_FILES["posterior"]: post, LR_FILES["std"]: std}, tmp, tile, feedback)
            rows = [{"term": t, "coefficient": float(b), "std_error": float(s), "z": float(b / s)}
                    for t, b, s in zip(terms, beta, fit.std_errors)]
            _write_csv(os.path.join(tmp, LR_FILES["coefficients"]), rows, ["term", "coefficient", "std_error", "z"])
            _write_conditions(os.path.join(tmp, LR_FILES["conditions"]), fit, {"POSTERIOR": post, "STD": std})
            _write_csv(os.path.join(tmp, LR_FILES["auc"]), fit.auc_rows, list(fit.auc_rows[0]))
            _write_json(os.path.join(tmp, LR_FILES["summary"]),
                        {"evidence": cond.names, "deposits": fit.n_points, "unit_cell_km2": unit_cell_km2,
                         "converged": converged, "iterations": iterations, "auc": fit.auc,
                         "predicted_deposits": float(np.sum(post * area_units)),
                         "coefficients": rows, "warnings": warnings})
        fit.files = {k: os.path.join(out_dir, v) for k, v in LR_FILES.items()}
    feedback.setProgress(100)
    return fit
