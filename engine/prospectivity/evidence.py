"""Stack bands as features a small linear head can weigh: the evidence encoding.

Why: the head must read the evidence layers themselves, not only the embeddings (the skill
benchmark, bench/SKILL.md: on Kolari a linear head on the bands beats random forest, one on the
embeddings alone does not). A class code of a categorical band (a rock unit number) means nothing
as a number, so each class becomes its weight of evidence learned on the training deposits,
shrunk towards 0 for classes with few of them; a class not seen in training, and missing data,
weigh 0. Continuous bands keep their normalised value, missing data the training background's
mean, so a cell short of one layer is still predicted from the others (its uncertainty shows it).
Optionally (bins > 0) a continuous band also gets its binned weight, a monotone-free shape.
"""

import numpy as np

SHRINK = 2.0  # pseudo-deposits spread like the background: classes with few deposits weigh less
DECILE_BINS, DECILE_SHRINK = 10, 0.5  # the multi-class weights of evidence (decile_wofe)


def _class_weights(v, y, shrink):
    """(classes, weights) of one band's codes: ln P(class | deposit) / P(class | background), shrunk."""
    ok = np.isfinite(v)
    codes, y = v[ok], y[ok]
    classes = np.unique(codes)
    bg = np.array([np.sum((codes == c) & (y == 0)) for c in classes], float) + 0.5
    dep = np.array([np.sum((codes == c) & (y == 1)) for c in classes], float)
    p_b = bg / bg.sum()
    p_d = (dep + shrink * p_b) / (dep.sum() + shrink)
    return classes.astype(np.float64), np.log(p_d / p_b).astype(np.float32)


def lookup(v, classes, values, missing=0.0):
    """values[k] where v == classes[k] (classes sorted ascending); `missing` for NaN and any other value."""
    out = np.full(v.shape, missing, np.result_type(values, np.float32))
    ok = np.isfinite(v)
    if len(classes):
        i = np.clip(np.searchsorted(classes, v[ok]), 0, len(classes) - 1)
        hit = classes[i] == v[ok]
        out[np.flatnonzero(ok)[hit]] = values[i[hit]]
    return out


class EvidenceEncoder:
    """fit on training rows (bands (n, C), labels), then transform any rows to (n, F) finite features."""

    def __init__(self, categorical, bins=0, shrink=SHRINK):
        self.categorical = [bool(c) for c in categorical]
        self.bins = int(bins)
        self.shrink = float(shrink)

    def fit(self, x, y):
        x = np.asarray(x, np.float32)
        y = np.asarray(y).astype(int)
        bg = x[y == 0]
        with np.errstate(all="ignore"):
            fill = np.nanmean(bg, 0)
        self.fill = np.where(np.isfinite(fill), fill, 0.0).astype(np.float32)
        self.tables = []  # per band: (classes, weights) of categorical or binned bands, else None
        self.edges = []
        for j, cat in enumerate(self.categorical):
            if cat:
                self.tables.append(_class_weights(x[:, j], y, self.shrink))
                self.edges.append(None)
            elif self.bins:
                v = bg[:, j][np.isfinite(bg[:, j])]
                e = np.unique(np.quantile(v, np.linspace(0, 1, self.bins + 1)[1:-1])) if v.size else np.zeros(0)
                self.edges.append(e.astype(np.float32))
                self.tables.append(_class_weights(self._bin(x[:, j], e), y, self.shrink))
            else:
                self.tables.append(None)
                self.edges.append(None)
        return self

    @staticmethod
    def _bin(v, e):
        out = np.full(v.shape, np.nan, np.float32)
        ok = np.isfinite(v)
        out[ok] = np.searchsorted(e, v[ok], side="right")
        return out

    def transform(self, x):
        x = np.asarray(x, np.float32)
        cols = []
        for j, cat in enumerate(self.categorical):
            v = x[:, j]
            if cat:
                cols.append(lookup(v, *self.tables[j]))
                continue
            cols.append(np.where(np.isfinite(v), v, self.fill[j]))
            if self.bins:
                cols.append(lookup(self._bin(v, self.edges[j]), *self.tables[j]))
        return np.stack(cols, 1).astype(np.float32) if cols else np.zeros((len(x), 0), np.float32)

    def weight_sum(self, x):
        """(n,) the sum of every band's weight of evidence (classes, bins): a naive-Bayes WofE score.
        transform's columns per band: categorical [weight]; continuous [value] (+ [weight] with bins)."""
        cols = [w for c in self.categorical for w in ([True] if c else [False, True] if self.bins else [False])]
        return self.transform(x)[:, np.array(cols, bool)].sum(1)

    # ---- safetensors round trip (plain arrays; never pickle)
    def to_tensors(self, prefix="enc."):
        t = {f"{prefix}fill": self.fill, f"{prefix}categorical": np.array(self.categorical, np.int8),
             f"{prefix}bins": np.array([self.bins], np.int32)}
        for j, tab in enumerate(self.tables):
            if tab is not None:
                t[f"{prefix}{j}.classes"] = tab[0].astype(np.float64)
                t[f"{prefix}{j}.weights"] = tab[1].astype(np.float32)
            if self.edges[j] is not None:
                t[f"{prefix}{j}.edges"] = self.edges[j]
        return t

    @classmethod
    def from_tensors(cls, t, prefix="enc."):
        enc = cls([bool(c) for c in t[f"{prefix}categorical"]], bins=int(t[f"{prefix}bins"][0]))
        enc.fill = t[f"{prefix}fill"]
        enc.tables = [(t[f"{prefix}{j}.classes"], t[f"{prefix}{j}.weights"]) if f"{prefix}{j}.classes" in t else None
                      for j in range(len(enc.categorical))]
        enc.edges = [t.get(f"{prefix}{j}.edges") for j in range(len(enc.categorical))]
        return enc


def decile_wofe(categorical):
    """Multi-class weights of evidence (deciles of continuous bands, every class kept, lightly shrunk):
    fit(x, y), then weight_sum(x). The head's weights-of-evidence member and the benchmark's bar."""
    return EvidenceEncoder(categorical, bins=DECILE_BINS, shrink=DECILE_SHRINK)
