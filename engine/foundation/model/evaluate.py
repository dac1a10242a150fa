"""Evidence that pretraining learned something: masked reconstruction against classical fills,
and linear probes of frozen embeddings. Shared by the tests and bench/ so the figures agree."""

import numpy as np
from scipy.spatial import cKDTree


def sample_windows(data, win, n, seed, min_valid=0.9):
    """Up to n windows (n, C, win, win) of `data` (C, H, W) with mostly valid pixels, fixed seed."""
    rng = np.random.default_rng(seed)
    c, h, w = data.shape
    out, tries = [], 0
    while len(out) < n and tries < 50 * n:
        tries += 1
        r, q = rng.integers(0, h - win + 1), rng.integers(0, w - win + 1)
        x = data[:, r:r + win, q:q + win]
        if np.isfinite(x).mean() >= min_valid:
            out.append(x)
    return np.stack(out).astype(np.float32)


def _idw_fill(values, seen, k=8):
    """Inverse-distance (power 2, k nearest) fill of a 2-D array from its `seen` pixels."""
    h, w = values.shape
    yy, xx = np.mgrid[0:h, 0:w]
    v = values[seen]
    if not v.size:
        return np.zeros_like(values)
    k = min(k, v.size)
    tree = cKDTree(np.column_stack([yy[seen], xx[seen]]))
    d, i = tree.query(np.column_stack([yy.ravel(), xx.ravel()]), k=k)
    d, i = d.reshape(-1, k), i.reshape(-1, k)
    wts = 1.0 / np.maximum(d, 1e-6) ** 2
    return ((wts * v[i]).sum(1) / wts.sum(1)).reshape(h, w)


def _regression_idw(target, seen, fills=None):
    """Regression-kriging style fill of one window (C, H, W): each layer is regressed (least
    squares) on the IDW fills of the OTHER layers over its own seen pixels, and the residual is
    interpolated by IDW. The classical answer to "use the co-located layers": what a per-layer
    mask has to be measured against, not just single-layer interpolation. fills: the layers'
    IDW fills from `seen` when already computed."""
    c = target.shape[0]
    if fills is None:
        fills = np.stack([_idw_fill(target[j], seen[j]) for j in range(c)])
    out = fills.copy()
    if c < 2:
        return out
    for j in range(c):
        s = seen[j]
        if s.sum() < c + 2:
            continue
        x = np.column_stack([np.delete(fills, j, 0).reshape(c - 1, -1).T, np.ones(fills[0].size)])
        coef, *_ = np.linalg.lstsq(x[s.ravel()], target[j][s], rcond=None)
        reg = (x @ coef).reshape(target.shape[1:])
        resid = np.where(s, target[j] - reg, 0.0)
        out[j] = reg + _idw_fill(resid, s)
    return out


def reconstruction_scores(model, source, windows, layer_names, seed=0, mask_ratio=0.75, per_layer=False):
    """Mean squared error on masked, valid pixels: the model vs mean-fill vs IDW interpolation.

    The same random mask is used for all; baselines see exactly the visible pixels. per_layer:
    the mask is drawn per (layer, patch) (SourceEncoder.mae_layers_forward) rather than per patch,
    and the regression-IDW baseline, which uses the co-located visible layers too, is added.
    """
    import torch

    from .layers import patchify, unpatchify
    from ...data.vocab import layer_ids

    enc = model.encoders[source]
    cfg = enc.config
    ids = torch.as_tensor(np.asarray(layer_ids(layer_names, source)[0], np.int64))
    x = torch.from_numpy(windows)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if per_layer:
            out = enc.mae_layers_forward(x, None, ids, mask_ratio=mask_ratio, generator=g)
            hidden = out["mask"][..., None].float()  # (B, C, N, 1)
        else:
            out = enc.mae_forward(x, None, ids, mask_ratio=mask_ratio, generator=g)
            hidden = out["mask"][:, None, :, None].float()  # (B, 1, N, 1)
    masked = out["mask"].numpy()
    recon = out["recon"].numpy()
    pix_mask = unpatchify(patchify(torch.ones_like(x), cfg.patch) * hidden, cfg.patch, cfg.grid).numpy().astype(bool)
    target = np.clip(windows, -cfg.clip, cfg.clip)
    scored = pix_mask & np.isfinite(target)
    seen_all = ~pix_mask & np.isfinite(target)
    mean_fill = np.empty_like(target)
    idw = np.empty(target.shape, np.float64)  # float64 like _idw_fill: the regression fill reuses it
    for b in range(target.shape[0]):
        for c in range(target.shape[1]):
            v = target[b, c][seen_all[b, c]]
            mean_fill[b, c] = v.mean() if v.size else 0.0
            idw[b, c] = _idw_fill(target[b, c], seen_all[b, c])
    err = lambda p: float(np.mean((p[scored] - target[scored]) ** 2))  # noqa: E731
    out = {"model": err(recon), "mean_fill": err(mean_fill), "idw": err(idw), "pixels": int(scored.sum()),
           "windows": int(target.shape[0])}
    if per_layer:
        out["regression_idw"] = err(np.stack([_regression_idw(target[b], seen_all[b], idw[b]) for b in range(target.shape[0])]))
    if cfg.recon_prior != "none" and not per_layer:  # what the decoder adds over its own fixed fill
        with torch.no_grad():
            xz, v = torch.nan_to_num(x).clamp(-cfg.clip, cfg.clip), torch.isfinite(x).float()
            n = cfg.n_patches
            order = torch.from_numpy(masked).float().argsort(dim=1, stable=True)  # visible first
            keep, hid = order[:, :n - int(masked[0].sum())], order[:, n - int(masked[0].sum()):]
            xp, vp = patchify(xz, cfg.patch), patchify(v, cfg.patch)
            fill = xp.scatter(2, hid[:, None, :, None].expand(-1, xp.shape[1], -1, xp.shape[-1]),
                              enc.prior_hidden(xp, vp, keep, hid))
        out["prior"] = err(unpatchify(fill, cfg.patch, cfg.grid).numpy())
    return out


def intrusion_probe(backend, n_scenes=16, seed=1000, n_intrusions=3, folds=4):
    """Mean balanced accuracy of a linear probe, intrusion vs host patches, on frozen embeddings of
    unseen synthetic scenes, cross-validated by groups of scenes: one 2-scene hold-out swung
    0.90-0.96 between two random encoders, too noisy to compare models. seed: the first scene seed
    (pretraining never draws 1000 on)."""
    from ...data.synthetic import generate_scenes
    from .infer import embed_scene

    feats, labels, groups = [], [], []
    for i, sc in enumerate(generate_scenes(n_scenes, seed, size=128, n_intrusions=n_intrusions)):
        e = embed_scene(backend, sc)
        p, (gh, gw) = e.patch, e.grid.shape[1:]
        frac = sc.labels["intrusion"][:gh * p, :gw * p].reshape(gh, p, gw, p).mean((1, 3))
        keep = ((frac > 0.75) | (frac == 0)) & np.isfinite(e.grid).all(0)
        feats.append(e.grid[:, keep].T)
        labels.append(frac[keep] > 0.75)
        groups.append(np.full(keep.sum(), i * folds // n_scenes))
    x, y, g = np.concatenate(feats), np.concatenate(labels), np.concatenate(groups)
    short = [k for k in range(folds) if y[g == k].sum() < 5]
    if short:
        raise ValueError(f"probe fold(s) {short} hold fewer than 5 intrusion patches; use more scenes or intrusions")
    return float(np.mean([linear_probe(x[g != k], y[g != k], x[g == k], y[g == k]) for k in range(folds)]))


def linear_probe(features_train, y_train, features_test, y_test):
    """Balanced accuracy of a logistic regression on frozen features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(features_train)
    clf = LogisticRegression(max_iter=2000, class_weight="balanced").fit(sc.transform(features_train), y_train)
    return float(balanced_accuracy_score(y_test, clf.predict(sc.transform(features_test))))
