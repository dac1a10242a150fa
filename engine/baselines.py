"""What a user would run instead of our head, on the same stack, samples and folds.

- Random forest (scikit-learn) on the aligned bands themselves (normalised values; categorical
  bands as class codes; NaN handled natively by the trees).
- Weights of evidence on the reclassified bands: continuous bands cut at deciles of the
  background, categorical bands by class; each class gets W = ln P(class | deposit) -
  ln P(class | background) (counts + 0.5), summed over bands with the prior logit under the
  usual conditional-independence assumption. Scores rank areas; they are not calibrated.
"""

import numpy as np
from rasterio.windows import Window

from .tiles import group_by_tile

N_CLASSES = 10


def band_values(stack, rows, cols, tile=512):
    """(n, C) normalised stack values at pixels, read tile by tile."""
    rows, cols = np.asarray(rows, int), np.asarray(cols, int)
    out = np.full((len(rows), len(stack.bands)), np.nan, np.float32)
    for r0, c0, sel in group_by_tile(rows, cols, tile):
        a = stack.read(Window(c0, r0, tile, tile))
        out[sel] = a[:, rows[sel] - r0, cols[sel] - c0].T
    return out


class RandomForestBaseline:
    name = "random_forest"

    def __init__(self, seed=0, n_estimators=300):
        from sklearn.ensemble import RandomForestClassifier

        self.model = RandomForestClassifier(n_estimators=n_estimators, min_samples_leaf=2, class_weight="balanced",
                                            n_jobs=-1, random_state=seed)

    def fit(self, x, y):
        self.model.fit(x, y)
        return self

    def predict(self, x):
        return self.model.predict_proba(x)[:, 1]


class WeightsOfEvidence:
    name = "weights_of_evidence"

    def __init__(self, categorical):
        self.categorical = np.asarray(categorical, bool)

    def _classes(self, x):
        cls = np.full(x.shape, -1, np.int64)
        for j in range(x.shape[1]):
            v = x[:, j]
            ok = np.isfinite(v)
            if self.categorical[j]:
                cls[ok, j] = v[ok].astype(np.int64)
            else:
                cls[ok, j] = np.searchsorted(self.breaks[j], v[ok], side="right")
        return cls

    def fit(self, x, y):
        y = np.asarray(y).astype(bool)
        bg = x[~y]
        self.breaks = [None if c else np.unique(np.nanquantile(bg[:, j], np.linspace(0, 1, N_CLASSES + 1)[1:-1]))
                       for j, c in enumerate(self.categorical)]
        cls = self._classes(x)
        n_pos, n_neg = max(1, y.sum()), max(1, (~y).sum())
        self.weights = []
        for j in range(x.shape[1]):
            classes = np.unique(cls[:, j][cls[:, j] >= 0])
            k = max(1, len(classes))
            w = {}
            for c in classes:
                inside = cls[:, j] == c
                p_d = (np.sum(inside & y) + 0.5) / (n_pos + 0.5 * k)
                p_b = (np.sum(inside & ~y) + 0.5) / (n_neg + 0.5 * k)
                w[int(c)] = float(np.log(p_d / p_b))
            self.weights.append(w)
        self.prior = float(np.log(n_pos / n_neg))
        return self

    def predict(self, x):
        cls = self._classes(x)
        logit = np.full(len(x), self.prior)
        for j, w in enumerate(self.weights):
            logit += np.array([w.get(int(c), 0.0) for c in cls[:, j]])
        return 1.0 / (1.0 + np.exp(-logit))


def categorical_mask(stack):
    return [b["kind"] == "categorical" for b in stack.bands]
