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


def reconstruction_scores(model, source, windows, layer_names, seed=0, mask_ratio=0.75):
    """Mean squared error on masked, valid pixels: the model vs mean-fill vs IDW interpolation.

    The same random patch mask is used for all three; baselines see exactly the visible pixels.
    """
    import torch

    from .layers import patchify, unpatchify
    from .vocab import layer_ids

    enc = model.encoders[source]
    cfg = enc.config
    ids = torch.as_tensor(np.asarray(layer_ids(layer_names, source)[0], np.int64))
    x = torch.from_numpy(windows)
    with torch.no_grad():
        out = enc.mae_forward(x, None, ids, mask_ratio=mask_ratio, generator=torch.Generator().manual_seed(seed))
    masked = out["mask"].numpy()  # (B, N) True = hidden
    recon = out["recon"].numpy()
    pix_mask = unpatchify(patchify(torch.ones_like(x), cfg.patch) * torch.from_numpy(masked)[:, None, :, None].float(),
                          cfg.patch, cfg.grid).numpy().astype(bool)
    target = np.clip(windows, -cfg.clip, cfg.clip)
    scored = pix_mask & np.isfinite(target)
    mean_fill = np.empty_like(target)
    idw = np.empty_like(target)
    yy, xx = np.mgrid[0:cfg.window, 0:cfg.window]
    for b in range(target.shape[0]):
        for c in range(target.shape[1]):
            seen = ~pix_mask[b, c] & np.isfinite(target[b, c])
            v = target[b, c][seen]
            mean_fill[b, c] = v.mean() if v.size else 0.0
            if v.size:
                tree = cKDTree(np.column_stack([yy[seen], xx[seen]]))
                d, i = tree.query(np.column_stack([yy.ravel(), xx.ravel()]), k=min(8, v.size))
                d, i = d.reshape(-1, min(8, v.size)), i.reshape(-1, min(8, v.size))
                wts = 1.0 / np.maximum(d, 1e-6) ** 2
                idw[b, c] = ((wts * v[i]).sum(1) / wts.sum(1)).reshape(cfg.window, cfg.window)
            else:
                idw[b, c] = 0.0
    err = lambda p: float(np.mean((p[scored] - target[scored]) ** 2))  # noqa: E731
    out = {"model": err(recon), "mean_fill": err(mean_fill), "idw": err(idw), "pixels": int(scored.sum()),
           "windows": int(target.shape[0])}
    if cfg.recon_prior != "none":  # what the decoder adds over its own fixed fill
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


def linear_probe(features_train, y_train, features_test, y_test):
    """Balanced accuracy of a logistic regression on frozen features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(features_train)
    clf = LogisticRegression(max_iter=2000, class_weight="balanced").fit(sc.transform(features_train), y_train)
    return float(balanced_accuracy_score(y_test, clf.predict(sc.transform(features_test))))
