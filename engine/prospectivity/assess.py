"""All-cell spatial cross-validation: every valid cell of a stack scored out-of-fold.

Why: scoring deposits against a background *sample* makes PR-AUC depend on the sample size and
hides what a geologist looks at, where on the whole map the deposits rank. Here the folds are
square blocks dealt from their position and a seed (blocks holding deposits round-robin, so every
fold tests some), each method trains on the training blocks' deposits plus a background sample,
and then scores every valid cell of the test blocks. Metrics are tie-fair (engine.prospectivity.validate).
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..core.errors import InputError
from ..core.progress import Steps

MAX_CELLS = 400_000  # beyond it, a fixed-seed uniform sample of the non-deposit cells is scored (bounded memory)


@dataclass
class CellTable:
    """What the methods see at the scored cells: stack values, embeddings, labels."""

    rows: np.ndarray
    cols: np.ndarray
    label: np.ndarray  # 1 = a known deposit lies in the cell
    bands: np.ndarray  # (n, C) normalised stack values (NaN = no data in that band)
    emb: np.ndarray = None  # (n, D) fused embedding, or None
    categorical: list = None  # per band
    n_valid: int = 0  # valid cells in the stack (the table may hold a sample of them)

    def take(self, idx):
        return dataclasses.replace(self, rows=self.rows[idx], cols=self.cols[idx], label=self.label[idx],
                                   bands=self.bands[idx], emb=None if self.emb is None else self.emb[idx])

    @property
    def sampled(self):
        return len(self.label) < self.n_valid

    def features(self, which):
        if which == "bands":
            return self.bands
        if self.emb is None:
            raise InputError("this assessment has no embeddings", fix="pass an embedding to cell_table")
        return self.emb if which == "emb" else np.concatenate([self.bands, self.emb], 1)


def cell_table(stack, embedding=None, max_cells=MAX_CELLS, seed=0, tile=512, deposits=None):
    """CellTable of an open engine.data.reader.Stack; embedding: an EmbeddingReader on its grid or None;
    deposits: an engine.data.labels.deposit_report placed on the stack (default: the stack's own deposits)."""
    from rasterio.windows import Window

    width = stack.grid.width
    report = deposits or stack.manifest.get("deposits", {})
    pos = np.unique([p["row"] * width + p["col"] for p in report.get("points", [])
                     if p["status"] == "used"]).astype(np.int64)
    if not len(pos):
        raise InputError("the stack has no deposit on a valid cell", layer="deposits",
                         fix="re-run align with a deposits point layer that falls inside the layers' coverage")
    n_valid = sum(int(stack.read_valid(t.core).sum()) for t in stack.tiles(tile))
    keep_p = min(1.0, max_cells / max(n_valid, 1))
    rng = np.random.default_rng(seed)
    rows, cols, bands, emb = [], [], [], []
    for t in stack.tiles(tile):
        w = t.core
        r, c = np.nonzero(stack.read_valid(w))
        r, c = r + int(w.row_off), c + int(w.col_off)
        if keep_p < 1:
            sel = np.isin(r.astype(np.int64) * width + c, pos) | (rng.random(len(r)) < keep_p)
            r, c = r[sel], c[sel]
        if not len(r):
            continue
        a = stack.read(w)
        rr, cc = r - int(w.row_off), c - int(w.col_off)
        bands.append(a[:, rr, cc].T)
        if embedding is not None:
            e = embedding.pixel_features(Window(w.col_off, w.row_off, w.width, w.height))
            emb.append(e[:, rr, cc].T)
        rows.append(r)
        cols.append(c)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    label = np.isin(rows.astype(np.int64) * width + cols, pos).astype(np.int8)
    return CellTable(rows, cols, label, np.concatenate(bands).astype(np.float32),
                     np.concatenate(emb).astype(np.float32) if emb else None,
                     [b["kind"] == "categorical" for b in stack.bands], n_valid)


def cell_folds(table, block_px, k=5, seed=0):
    """(fold per cell, k): square blocks of block_px cells, deterministic from position and seed."""
    from .samples import Samples, spatial_folds

    return spatial_folds(Samples(table.rows, table.cols, table.label, []), k, block_px, seed)


def training_rows(table, train, n_background, buffer_px, rng):
    """Deposits of the training blocks + a uniform background sample kept buffer_px away from them."""
    pos = np.flatnonzero(train & (table.label == 1))
    neg = np.flatnonzero(train & (table.label == 0))
    if buffer_px > 0 and len(pos):
        # cells near a deposit may well be mineralised: keep them out of the background
        near = np.zeros(len(neg), bool)
        for i in pos:
            near |= (np.abs(table.rows[neg] - table.rows[i]) <= buffer_px) & (np.abs(table.cols[neg] - table.cols[i]) <= buffer_px)
        neg = neg[~near]
    neg = rng.choice(neg, size=min(n_background, len(neg)), replace=False)
    return np.concatenate([pos, np.sort(neg)])


def cross_validate_cells(table, folds, k, methods, n_background=10000, buffer_px=0, seed=0, feedback=None):
    """Out-of-fold score of every cell per method, and each method's metrics.

    methods: name -> (features, make) with features "bands" / "emb" / "both" and make(seed,
    categorical) returning an object with fit(x, y) and predict(x).
    Returns ({name: metrics (engine.prospectivity.validate.cell_curves) + fold_roc_auc}, {name: oof scores}).
    """
    from sklearn.metrics import roc_auc_score

    from .validate import cell_curves

    steps = Steps(feedback)
    y = table.label.astype(int)
    oof = {m: np.full(len(y), np.nan) for m in methods}
    per_fold = {m: [] for m in methods}
    rng = np.random.default_rng(seed)
    for f in range(k):
        te = folds == f
        tr = training_rows(table, ~te, n_background, buffer_px, rng)
        for m, (which, make) in methods.items():
            x = table.features(which)
            model = make(seed, _categorical(table, which)).fit(x[tr], y[tr])
            oof[m][te] = model.predict(x[te])
            if y[te].any() and (~y[te].astype(bool)).any():
                per_fold[m].append(float(roc_auc_score(y[te], oof[m][te])))
        steps.report((f + 1) / k, f"fold {f + 1}/{k}")
    results = {}
    for m in methods:
        r = cell_curves(oof[m], y)
        r["fold_roc_auc"] = per_fold[m]
        r["fold_roc_auc_mean"] = float(np.mean(per_fold[m])) if per_fold[m] else None
        results[m] = r
    return results, oof


def _categorical(table, which):
    cat = list(table.categorical)
    if which == "bands":
        return cat
    d = table.emb.shape[1]
    return [False] * d if which == "emb" else cat + [False] * d
