"""What a user would run instead of our head, on the same stack, samples and folds.

- Random forest (scikit-learn) on the aligned bands themselves (normalised values; categorical
  bands as class codes; NaN handled natively by the trees).
- Weights of evidence as engine.classical.wofe computes it (ArcSDM / GA), fitted on the training rows only:
  per continuous band the favourable direction and threshold of maximum significant contrast,
  per categorical band the significant classes' W+ and the rest pooled; summed with the prior
  logit under the usual conditional-independence assumption. Scores rank areas; not calibrated.
"""

import numpy as np
from rasterio.windows import Window

from ..core.tiles import group_by_tile


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
    """Weights of evidence as engine.classical.wofe computes it (ArcSDM / GA), fitted on the training rows only.

    Each row counts as one unit cell. Continuous band: the favourable direction (ascending: low values
    favourable; descending: high) and threshold are the cumulative split of maximum contrast among
    those with studentised contrast >= `studentized_threshold`, over candidate thresholds at the
    training rows' quantiles; rows inside get W+, outside W-. Categorical band: classes reaching the
    threshold keep their own W+, the rest (and classes unseen in training) are pooled with the W- of
    the significant classes together (ArcSDM's categorical generalisation). A band with no
    significant split adds nothing; NaN adds nothing (missing data). Score = sigmoid(prior logit +
    sum of weights): it ranks rows, it is not a calibrated probability.
    """

    name = "weights_of_evidence"

    def __init__(self, categorical, studentized_threshold=2.0, n_thresholds=19):
        self.categorical = np.asarray(categorical, bool)
        self.studentized_threshold = studentized_threshold
        self.n_thresholds = n_thresholds

    def fit(self, x, y):
        x = np.asarray(x, float)
        y = np.asarray(y).astype(bool)
        self.weights = []  # categorical: {class: weight} (+ "other"); continuous: (direction, t, w_in, w_out)
        for j in range(x.shape[1]):
            v, ok = x[:, j], np.isfinite(x[:, j])
            fit = self._fit_categorical if self.categorical[j] else self._fit_continuous
            self.weights.append(fit(v[ok], y[ok]) if y[ok].any() and ok.sum() > y[ok].sum() else None)
        n_pos = max(1, int(y.sum()))
        self.prior = float(np.log(n_pos / max(1, len(y) - n_pos)))
        return self

    def _significant(self, w):
        return w["STUDC"] >= self.studentized_threshold

    def _fit_continuous(self, v, y):
        from .wofe import weights_from_counts

        cand = np.unique(np.quantile(v, np.linspace(0, 1, self.n_thresholds + 2)[1:-1]))
        best = None
        for direction in ("ascending", "descending"):
            inside = v[None, :] <= cand[:, None] if direction == "ascending" else v[None, :] >= cand[:, None]
            b = inside.sum(1)
            keep = (b > 0) & (b < len(v))
            if not keep.any():
                continue
            w = weights_from_counts(b[keep], (inside & y[None, :]).sum(1)[keep], len(v), int(y.sum()))
            c = np.where(self._significant(w), w["CONTRAST"], -np.inf)
            i = int(np.argmax(c))
            if np.isfinite(c[i]) and (best is None or c[i] > best[0]):
                best = (c[i], direction, float(cand[keep][i]), float(w["WPLUS"][i]), float(w["WMINUS"][i]))
        return None if best is None else best[1:]

    def _fit_categorical(self, v, y):
        from .wofe import pooled_weight, weights_from_counts

        classes = np.unique(v)
        b = np.array([np.count_nonzero(v == c) for c in classes])
        db = np.array([np.count_nonzero(y[v == c]) for c in classes])
        w = weights_from_counts(b, db, len(v), int(y.sum()))
        sig = self._significant(w)
        if not sig.any():
            return None
        other = 0.0 if sig.all() else pooled_weight(b, db, sig, len(v), int(y.sum()))[0]
        lut = {float(c): (float(wp) if s else other) for c, wp, s in zip(classes, w["WPLUS"], sig)}
        lut["other"] = other
        return lut

    def _band_weight(self, j, v):
        fitted = self.weights[j]
        out = np.zeros(len(v))
        ok = np.isfinite(v)
        if fitted is None:
            return out
        if self.categorical[j]:
            out[ok] = [fitted.get(float(c), fitted["other"]) for c in v[ok]]
        else:
            direction, t, w_in, w_out = fitted
            inside = v[ok] <= t if direction == "ascending" else v[ok] >= t
            out[ok] = np.where(inside, w_in, w_out)
        return out

    def predict(self, x):
        x = np.asarray(x, float)
        logit = np.full(len(x), self.prior)
        for j in range(x.shape[1]):
            logit += self._band_weight(j, x[:, j])
        return 1.0 / (1.0 + np.exp(-logit))
