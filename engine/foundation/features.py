"""Per-pixel features for the heads: the frozen fused embedding, cached, read back by windows.

The encoders are frozen, so a stack's embedding never changes for a given model: it is computed
once (engine.foundation.embed.embed_stack) into a cache keyed by the stack's manifest, the model's sha256
and the sources left out, and every later fine-tune, validation or prediction reads it back.
Embeddings live at patch resolution; `pixel_features` upsamples a window bilinearly exactly as
engine.foundation.model.infer.grid_to_pixels does over the whole raster, so tiles and points agree with a
single pass. Memory is bounded by the window: D x (h/p + 2) x (w/p + 2) floats read, D x h x w out.
"""

import hashlib
import json
import os

import numpy as np
import rasterio
from rasterio.windows import Window

from ..core.errors import InputError
from .model.infer import axis_weights
from ..core.runtime import Runtime, cache_dir
from ..core.shipped import FOUNDATION_MODEL
from ..core.tiles import group_by_tile

DEFAULT_MODEL = FOUNDATION_MODEL




def layers_identity(stack_dir):
    """What an embedding depends on: the grid and the layers with their normalisation, not the deposits
    nor when the stack was written, so another deposit type aligned over the same layers reuses it.
    stack_dir: a stack folder, or an open engine.data.reader.Stack (its manifest is not read again)."""
    m = getattr(stack_dir, "manifest", None)
    if m is None:
        from ..data.reader import read_manifest

        m = read_manifest(stack_dir)
    spec = {k: v for k, v in m.get("spec", {}).items() if k != "deposits"}
    keep = {"grid": m.get("grid"), "bands": m.get("bands"), "layers": m.get("layers"), "spec": spec}
    return json.dumps(keep, sort_keys=True).encode()


def embedding_path(stack_dir, model=None, exclude=(), feedback=None, runtime=None, **settings):
    """Path of the cached embedding GeoTIFF of `stack_dir` (computed now if missing).

    stack_dir: a stack folder, or an open engine.data.reader.Stack, which is then used as it is (one
    manifest read and one set of open files for a whole fine-tune or prediction).
    model: an open ModelCard (engine.foundation.model.weights.open_model; its card is not read again), a
    card or folder, or None for the shipped model.
    runtime (engine.core.runtime.Runtime; or its fields as keywords: backend=, threads=, tile=,
    scheduler=, workers=, cache_dir=): where the cache is, and how and where a missing embedding is
    computed (engine.foundation.embed.embed_stack); the result, and so the cache entry, is the same either way.
    """
    from .embed import embed_stack
    from .model.weights import open_model

    runtime = Runtime.of(runtime, **settings)
    model = open_model(model)
    key = hashlib.sha256(layers_identity(stack_dir) + model.sha256.encode() + json.dumps(sorted(exclude)).encode()).hexdigest()[:24]
    path = os.path.join(runtime.cache_folder(), f"embedding-{key}.tif")
    if not os.path.exists(path):
        embed_stack(stack_dir, model, path, feedback=feedback, exclude=exclude, cache=True, runtime=runtime)
    return path


class EmbeddingReader:
    """Windowed per-pixel reads of a patch-resolution embedding raster on a stack's grid."""

    def __init__(self, path, grid):
        self.ds = rasterio.open(path)
        self.grid = grid
        self.patch = int(round(self.ds.res[0] / grid.res))
        if self.patch < 1 or abs(self.ds.res[0] - self.patch * grid.res) > 1e-6 * grid.res:
            raise InputError(f"embedding raster {path} is not on the stack's grid", fix="recompute the embedding")
        self.dim = self.ds.count

    def close(self):
        self.ds.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _window(self, window):
        """The patch grid under a pixel window and what upsampling it needs:
        (g (D, gh', gw') with no-data patches zeroed, m (gh', gw') 1 = patch has data, interp, keep (h, w))."""
        p = self.patch
        gh, gw = self.ds.height, self.ds.width
        r0, c0 = int(window.row_off), int(window.col_off)
        h, w = int(window.height), int(window.width)
        iy0, iy1, wy = axis_weights(h, gh, p, start=r0)
        ix0, ix1, wx = axis_weights(w, gw, p, start=c0)
        ya, yb = int(min(iy0.min(), iy1.min())), int(max(iy0.max(), iy1.max())) + 1
        xa, xb = int(min(ix0.min(), ix1.min())), int(max(ix0.max(), ix1.max())) + 1
        g = self.ds.read(window=Window(xa, ya, xb - xa, yb - ya)).astype(np.float32)
        ok = np.isfinite(g).all(0)
        g = np.where(ok, g, 0.0)
        m = ok.astype(np.float32)
        iy0, iy1, ix0, ix1 = iy0 - ya, iy1 - ya, ix0 - xa, ix1 - xa

        def interp(a):
            a = a[..., iy0, :] * (1 - wy)[:, None] + a[..., iy1, :] * wy[:, None]
            return a[..., ix0] * (1 - wx) + a[..., ix1] * wx

        own = ok[np.clip((np.arange(r0, r0 + h) // p) - ya, 0, ok.shape[0] - 1)][:, np.clip((np.arange(c0, c0 + w) // p) - xa, 0, ok.shape[1] - 1)]
        inside = ((np.arange(r0, r0 + h) // p) < gh)[:, None] & ((np.arange(c0, c0 + w) // p) < gw)[None, :]
        return g, m, interp, own & inside

    def pixel_features(self, window):
        """(D, h, w) float32 features of the pixel window; NaN where the pixel's patch has no data."""
        g, m, interp, keep = self._window(window)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = interp(g) / interp(m)
        out[:, ~keep] = np.nan
        return out.astype(np.float32)

    def pixel_projection(self, window, weights, bias):
        """(M, h, w) float32: pixel_features(window) projected per pixel, features @ weights (D, M) + bias (M,),
        NaN where pixel_features is NaN.

        Upsampling is linear and its normalising weight (interp of the data mask) is one scalar per
        pixel, so the projection is taken at patch resolution first and only M maps are upsampled
        instead of D: the same values up to float rounding, ~D/M times less work (linear heads)."""
        g, m, interp, keep = self._window(window)
        q = np.tensordot(np.asarray(weights, np.float32).T, g, axes=1)  # (M, gh', gw')
        with np.errstate(invalid="ignore", divide="ignore"):
            out = interp(q) / interp(m) + np.asarray(bias, np.float32)[:, None, None]
        out[:, ~keep] = np.nan
        return out.astype(np.float32)

    def at_pixels(self, rows, cols, tile=256):
        """(n, D) features at pixel (row, col) positions, read tile by tile."""
        rows, cols = np.asarray(rows, int), np.asarray(cols, int)
        out = np.full((len(rows), self.dim), np.nan, np.float32)
        for r0, c0, sel in group_by_tile(rows, cols, tile):
            h, w = min(tile, self.grid.height - r0), min(tile, self.grid.width - c0)
            f = self.pixel_features(Window(c0, r0, w, h))
            out[sel] = f[:, rows[sel] - r0, cols[sel] - c0].T
        return out

