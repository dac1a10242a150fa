"""All-cell, tie-fair assessment (engine.prospectivity.assess, engine.prospectivity.validate) and the evidence head (engine.prospectivity.evidence)."""

import numpy as np
import pytest


def test_tied_scores_are_scored_fairly():
    """A map that gives every cell the same score ranks nothing: success-AUC 0.5, 10 % of deposits in 10 % of the area
    (before, ties counted as flagged, so such a map scored a success-AUC of 0)."""
    from engine.prospectivity.validate import cell_curves, curves

    y = np.zeros(2000, int)
    y[:20] = 1
    flat = cell_curves(np.zeros(2000), y)
    assert flat["roc_auc"] == 0.5 and flat["success_rate_auc"] == 0.5
    assert abs(flat["captured_at_10pct_area"] - 0.10) < 1e-9
    # two classes: deposits all in the upper class, which covers 30 % of the area
    s = np.r_[np.ones(20), np.ones(580), np.zeros(1400)]
    two = cell_curves(s, y)
    assert abs(two["captured_at_10pct_area"] - 1 / 3) < 1e-9  # a third of the tied class fits in 10 %
    assert abs(two["success_rate_auc"] - two["roc_auc"]) < 0.01
    old_style = curves(np.ones(20), np.r_[np.ones(580), np.zeros(1400)])
    assert abs(old_style["success_rate_auc"] - two["success_rate_auc"]) < 0.01


def _table(seed=0, n=60_000, side=300):
    from engine.prospectivity.assess import CellTable

    rng = np.random.default_rng(seed)
    rows, cols = np.divmod(rng.choice(side * side, n, replace=False), side)
    signal = np.sin(rows / 17.0) + np.cos(cols / 23.0)  # smooth, spatially structured evidence
    unit = (rows // 60 + cols // 75) % 5  # a categorical map: unit 3 is the host
    noise = rng.normal(size=(n, 2))
    bands = np.column_stack([signal + 0.3 * rng.normal(size=n), unit, noise]).astype(np.float32)
    bands[rng.random(n) < 0.05, 0] = np.nan  # patchy coverage
    logit = 3.0 * signal + 2.5 * (unit == 3) - 11.0
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return CellTable(rows, cols, label, bands, None, [False, True, False, False], n)


def test_evidence_head_finds_the_signal_out_of_fold_on_every_cell():
    from engine.prospectivity.assess import cell_folds, cross_validate_cells
    from engine.classical.baselines import RandomForestBaseline
    from engine.prospectivity.head import HeadConfig, HeadMethod

    t = _table()
    assert 30 < t.label.sum() < 400
    folds, k = cell_folds(t, 50, 4, seed=0)
    assert sorted(np.unique(folds)) == list(range(k))
    # whole blocks go to one fold
    block = (t.rows // 50) * 1000 + t.cols // 50
    assert all(len(np.unique(folds[block == b])) == 1 for b in np.unique(block)[:50])
    methods = {"head": ("bands", lambda sd, cat: HeadMethod(HeadConfig(seed=sd, members=3), cat, 4)),
               "rf": ("bands", lambda sd, cat: RandomForestBaseline(sd, n_estimators=50))}
    res, oof = cross_validate_cells(t, folds, k, methods, n_background=3000, buffer_px=2)
    assert np.isfinite(oof["head"]).all() and np.isfinite(oof["rf"]).all()  # every cell scored, NaN bands too
    assert res["head"]["cells"] == len(t.label) and len(res["head"]["fold_roc_auc"]) == k
    assert res["head"]["roc_auc"] > 0.8
    assert res["head"]["pr_auc"] > 3 * res["head"]["positive_rate"]


def test_few_deposits_keep_the_head_simple():
    """With under 20 deposits no binned weights and no weights-of-evidence member: they overfit (bench/SKILL.md)."""
    from engine.prospectivity.head import HeadConfig, fit_evidence_head

    t = _table(2, n=20_000)
    pos = np.flatnonzero(t.label == 1)[:12]
    pick = np.r_[pos, np.flatnonzero(t.label == 0)[:2000]]
    head = fit_evidence_head(t.bands[pick], None, t.label[pick], HeadConfig(members=2), t.categorical)
    assert head.config.bins == 0 and head.config.wofe_weight == 0 and head.wofe is None
    p, u = head.predict_from(t.bands)
    assert np.all((p >= 0) & (p <= 1)) and np.all(u >= 0)


def test_categorical_classes_become_their_weight_and_unseen_ones_weigh_nothing():
    from engine.prospectivity.evidence import EvidenceEncoder

    x = np.array([[0.5, 1], [0.2, 1], [np.nan, 2], [0.1, 2], [0.3, 2], [0.9, 1]], np.float32)
    y = np.array([1, 1, 0, 0, 0, 0])
    enc = EvidenceEncoder([False, True]).fit(x, y)
    f = enc.transform(np.array([[np.nan, 1], [0.4, 2], [0.4, 7], [0.4, np.nan]], np.float32))
    assert f[0, 0] == pytest.approx(np.nanmean(x[y == 0, 0]))  # missing: the background's mean
    assert f[0, 1] > 0 > f[1, 1]  # class 1 holds the deposits
    assert f[2, 1] == 0 and f[3, 1] == 0  # unseen class and missing class weigh nothing


def test_evidence_head_round_trips_through_safetensors(tmp_path):
    from engine.prospectivity.head import HeadConfig, fit_evidence_head, load_head, save_head

    t = _table(1, n=20_000)
    pick = np.r_[np.flatnonzero(t.label == 1), np.flatnonzero(t.label == 0)[:3000]]
    n_pos = int(t.label[pick].sum())
    assert n_pos >= 20  # enough deposits for binned weights and the weights-of-evidence member
    head = fit_evidence_head(t.bands[pick], None, t.label[pick], HeadConfig(members=2), t.categorical)
    save_head(head, str(tmp_path / "h"), {"encoder": {"name": "x", "sha256": "0"}})
    again, card = load_head(str(tmp_path / "h"))
    assert card["config"]["inputs"] == "bands" and again.reads_bands and not again.reads_embedding
    assert card["config"]["bins"] == min(10, n_pos // 20) and card["config"]["wofe_weight"] == pytest.approx(1 / 3)
    assert len(again.forest) == 2 and again.wofe is not None and again.calibration.shape == (5, 1001)
    np.testing.assert_allclose(again.predict_from(t.bands)[0], head.predict_from(t.bands)[0], rtol=1e-6)
