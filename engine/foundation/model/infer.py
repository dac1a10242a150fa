"""Embedding a whole Scene by sliding the model window over it (any backend, numpy only).

Windows overlap by half by default and are blended with a tent weight, so patch embeddings
near window borders (which saw less context) count less and no seams show in the maps.
Patches where no source has data come out as NaN, so downstream models can mask them.
"""

from dataclasses import dataclass

import numpy as np

from ...core.progress import Steps


@dataclass
class SceneEmbedding:
    grid: np.ndarray      # (D, gh, gw) float32, NaN where no source has data
    present: np.ndarray   # (gh, gw) bool
    patch: int
    shape: tuple          # (H, W) of the scene in pixels

    def pixels(self, mode="bilinear"):
        """(D, H, W) per-pixel map; see grid_to_pixels."""
        return grid_to_pixels(self.grid, self.patch, self.shape, mode)


def _tent(g):
    i = np.arange(g)
    w = np.minimum(i + 1, g - i) / ((g + 1) / 2)
    return np.outer(w, w).astype(np.float32)


def _starts(n, win, stride):
    last = max(0, n - win)
    s = list(range(0, last + 1, stride))
    if s[-1] != last:
        s.append(last)
    return s


def embed_scene(backend, scene, stride=None, batch_size=32, feedback=None):
    """Patch-grid embeddings (SceneEmbedding) of `scene` with a backend from select_backend.

    stride: window step in pixels, a multiple of the patch (default window // 2). Sources the
    model lacks are skipped with a message; layers with unknown names use the fallback type.
    """
    steps = Steps(feedback)
    cfg = backend.config
    win, p = cfg.window, cfg.patch
    stride = stride or win // 2
    if stride % p:
        stride = max(p, stride // p * p)
    h, w = scene.shape
    hp, wp = max(win, -(-h // p) * p), max(win, -(-w // p) * p)
    srcs = {}
    for s, arr in scene.sources.items():
        if s not in backend.sources:
            steps.info(f"Source '{s}' is not in this model; it is left out of the embedding")
            continue
        ids, unknown = backend.layer_ids(arr.layers, s)
        if unknown:
            steps.info(f"{s}: layers without a learned type (using 'unknown_{s}'): {', '.join(map(str, unknown))}")
        data = np.full((arr.data.shape[0], hp, wp), np.nan, np.float32)
        data[:, :h, :w] = arr.data
        srcs[s] = (data, np.asarray(ids, np.int64), np.isfinite(data).any(0))
    if not srcs:
        from ...core.errors import InputError

        raise InputError("none of the scene's sources is known to this model",
                         fix=f"the model covers {', '.join(backend.sources)}")
    anyvalid = np.logical_or.reduce([v[2] for v in srcs.values()])
    gy, gx = hp // p, wp // p
    acc = np.zeros((cfg.dim, gy, gx), np.float32)
    wsum = np.zeros((gy, gx), np.float32)
    present = np.zeros((gy, gx), bool)
    tent = _tent(cfg.grid)
    pos = [(y, x) for y in _starts(hp, win, stride) for x in _starts(wp, win, stride)
           if anyvalid[y:y + win, x:x + win].any()]
    for b0 in range(0, len(pos), batch_size):
        chunk = pos[b0:b0 + batch_size]
        batch = {}
        for s, (data, ids, _) in srcs.items():
            x = np.stack([data[:, y:y + win, x_:x_ + win] for y, x_ in chunk])
            if np.isfinite(x).any():
                batch[s] = {"x": x, "ids": ids}
        fused, pres = backend.embed(batch, return_present=True)
        g = cfg.grid
        for k, (y, x) in enumerate(chunk):
            sy, sx = y // p, x // p
            acc[:, sy:sy + g, sx:sx + g] += fused[k].T.reshape(cfg.dim, g, g) * tent
            wsum[sy:sy + g, sx:sx + g] += tent
            present[sy:sy + g, sx:sx + g] |= pres[k].reshape(g, g)
        steps.report(min(1.0, (b0 + len(chunk)) / max(1, len(pos))))
    with np.errstate(invalid="ignore", divide="ignore"):
        grid = acc / wsum
    grid[:, ~present] = np.nan
    gh, gw = -(-h // p), -(-w // p)
    return SceneEmbedding(grid[:, :gh, :gw], present[:gh, :gw], p, (h, w))


def axis_weights(n_out, n_in, scale, start=0):
    """Bilinear source indices and weights of output pixels start .. start + n_out along one axis
    (engine.foundation.features reads windows with the same weights as a whole-raster pass)."""
    src = (np.arange(start, start + n_out) + 0.5) / scale - 0.5
    src = np.clip(src, 0, n_in - 1)
    i0 = np.floor(src).astype(int)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)


def grid_to_pixels(grid, patch, shape, mode="bilinear"):
    """Upsample a (D, gh, gw) patch grid to (D, H, W) pixels.

    Bilinear interpolation ignores NaN (no-data) patches instead of spreading them, and pixels
    whose own patch has no data stay NaN. 'nearest' repeats each patch value.
    """
    h, w = shape
    if mode == "nearest":
        out = np.repeat(np.repeat(grid, patch, axis=1), patch, axis=2)
        return out[:, :h, :w]
    ok = np.isfinite(grid).all(0)
    g = np.where(ok, grid, 0.0).astype(np.float32)
    m = ok.astype(np.float32)
    y0, y1, wy = axis_weights(grid.shape[1] * patch, grid.shape[1], patch)
    x0, x1, wx = axis_weights(grid.shape[2] * patch, grid.shape[2], patch)

    def interp(a):
        a = a[..., y0, :] * (1 - wy)[:, None] + a[..., y1, :] * wy[:, None]
        return a[..., x0] * (1 - wx) + a[..., x1] * wx

    num, den = interp(g), interp(m)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    own = np.repeat(np.repeat(ok, patch, 0), patch, 1)
    out[:, ~own] = np.nan
    return out[:, :h, :w].astype(np.float32)
