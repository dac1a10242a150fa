"""Fused foundation embeddings of a whole aligned stack, tile by tile, into one GeoTIFF.

Each tile is read with a halo of window - stride pixels (clipped at the raster's edges, and
reaching back to the raster's last window at its far edges), so every window that touches the
tile's core is seen exactly as in a single pass over the whole raster: no seams, and memory
bounded by the tile. Output is at patch resolution (one value per patch x patch pixels), D bands, NaN where no
source has data; it is written to a temporary file and renamed, so a cancel leaves nothing.

The tiles are computed in this process, or on a Dask cluster (scheduler=..., engine.core.distributed)
whose workers return each tile's patch-grid block; this process alone writes them, by window.
"""

import contextlib
import functools
import os

import numpy as np
import rasterio
from rasterio.windows import Window

from ..core.atomic import atomic_path, check_free_space, check_output_path
from ..core.runtime import Runtime
from ..core.progress import Steps
from ..data.reader import Stack
from ..data.stack import bounded_block_cache


def embed_stack(stack_dir, model=None, out_path=None, overwrite=False, feedback=None, exclude=(), cache=False,
                runtime=None, **settings):
    """Write the fused embedding of `stack_dir` to `out_path`; returns the backend name used.

    stack_dir: a stack folder, or an open engine.data.reader.Stack (used as it is, left open).
    model: an open ModelCard (engine.foundation.model.weights.open_model), a card or folder (read once
    here), None for the shipped model, or a FoundationModel.
    exclude: sources left out, as if never observed (the fusion handles missing sources); used to
    measure what each source contributes to a prediction.
    runtime (engine.core.runtime.Runtime, or its fields as keywords): backend, threads, tile and where
    the tiles are computed: scheduler None = every tile in this process; "local" = a local Dask
    cluster of `workers` processes; "tcp://host:port" = a running Dask cluster (or a
    distributed.Client). On a cluster the workers compute the tiles (threads: per task, default 1)
    and this process writes them.
    cache: out_path is a cache entry (engine.foundation.features): one another process wrote meanwhile is used.
    """
    from .model.backend import select_backend
    from .model.weights import ModelCard, open_model

    rt = Runtime.of(runtime, **settings)
    stack = stack_dir if isinstance(stack_dir, Stack) else None
    stack_dir = stack.folder if stack is not None else stack_dir
    backend, threads, tile, scheduler, workers = rt.backend, rt.threads, rt.tile, rt.scheduler, rt.workers
    if model is None or isinstance(model, (str, os.PathLike, ModelCard)):
        model = open_model(model)  # the card read once (or not at all: a handle given)
    steps = Steps(feedback)
    check_output_path(out_path, overwrite, "embedding raster", inputs=(stack_dir, model))
    if scheduler is None:
        b = select_backend(model, backend, threads=threads, feedback=feedback)
        cfg, name = b.config, b.name
    else:
        cfg, name = _model_config(model), None
    p, win = cfg.patch, cfg.window
    tile = max(win, tile // win * win)  # keeps tiles on the windows' lattice (stride = window / 2)
    block = max(16, min(256, tile // p // 16 * 16))  # one tile = one block (64 x 64 at tile 256): written once, whole
    with bounded_block_cache(), (contextlib.nullcontext(stack) if stack is not None else Stack(stack_dir)) as st:
        g = st.grid
        gh, gw = -(-g.height // p), -(-g.width // p)
        check_free_space(out_path, gh * gw * cfg.dim * 4, f"the embedding ({gw:,} x {gh:,} patches x {cfg.dim} features)",
                         fix="free space on that disk, or set the cache folder (--cache-dir, the panel's Settings) "
                             "to a disk with more" if cache else "choose an output on a disk with more space")
        transform = g.transform * g.transform.scale(p, p)
        tiles = list(st.tiles(tile))
        with atomic_path(out_path, overwrite=overwrite, what="embedding raster", checked=True,
                         cache=cache) as tmp:
            with rasterio.open(tmp, "w", driver="GTiff", width=gw, height=gh, count=cfg.dim, dtype="float32",
                               crs=g.rio_crs, transform=transform, nodata=np.nan, tiled=True, blockxsize=block,
                               blockysize=block, compress="deflate", predictor=3, BIGTIFF="IF_SAFER") as dst:
                if scheduler is None:
                    for k, t in enumerate(tiles):
                        _write_block(dst, t, embed_tile(st, b, t.core, exclude), p)
                        steps.report((k + 1) / len(tiles), None)
                else:
                    from ..core.distributed import describe, map_tiles

                    steps.info(f"Embedding {len(tiles)} tiles on {describe(scheduler, workers)}")
                    task = functools.partial(_embed_tile_task, os.path.abspath(stack_dir), model, backend,
                                             threads, tuple(exclude))
                    with contextlib.closing(map_tiles(task, tiles, scheduler, workers, feedback=feedback)) as results:
                        for t, (bname, block) in results:
                            name = name or bname
                            _write_block(dst, t, block, p)
    name = name or backend
    steps.info(f"Embedding ({cfg.dim} bands at {p * g.res:g} m) written to {out_path} with backend {name}")
    return name


def _tile_halo(cfg):
    """Pixels read before and after a tile's core: windows on the stride lattice (window / 2, as
    infer.embed_scene) that touch the core start at most window - stride before it."""
    return cfg.window - cfg.window // 2


def _halo_span(off, size, n, cfg):
    """(first, end) pixels read for a core [off, off + size) along an axis of n pixels.

    A whole-raster pass puts windows on the stride lattice plus one last window at the padded
    end minus a window (off the lattice in general). The span starts `halo` before the core, on
    the lattice, but no later than that last window's lattice step; it ends `halo` after the
    core, or at the raster's end when the last window touches the core. So the tile's own
    lattice and last window are the whole pass's, at the same places."""
    stride, win = cfg.window // 2, cfg.window
    last = max(win, -(-n // cfg.patch) * cfg.patch) - win
    first = max(0, min(off - _tile_halo(cfg), last // stride * stride))
    end = n if last < off + size else min(n, off + size + _tile_halo(cfg))
    return first, end


def embed_tile(st, backend, core, exclude=()):
    """(D, h, w) float32 patch-grid block of the tile whose core window is `core`; None if nothing is observed.

    The core is read with a halo of window - stride pixels (engine.foundation.embed._halo_span), clipped to
    the raster, so every window touching the core is one a whole-raster pass runs, at its place.
    """
    from .model.infer import embed_scene

    g = st.grid
    cfg = backend.config
    p = cfg.patch
    if core.row_off % cfg.window or core.col_off % cfg.window:
        raise ValueError("tile cores must start on multiples of the model window")
    r_a, r_b = _halo_span(core.row_off, core.height, g.height, cfg)
    c_a, c_b = _halo_span(core.col_off, core.width, g.width, cfg)
    scene = st.scene(Window(c_a, r_a, c_b - c_a, r_b - r_a))
    for s in exclude:
        scene.sources.pop(s, None)
    if not scene.sources:  # only excluded sources here: nothing observed
        return None
    e = embed_scene(backend, scene)
    r0, c0 = (core.row_off - r_a) // p, (core.col_off - c_a) // p
    h, w = -(-core.height // p), -(-core.width // p)
    return e.grid[:, r0:r0 + h, c0:c0 + w].astype(np.float32)


def _write_block(dst, t, block, p):
    if block is not None:
        dst.write(block, window=Window(t.core.col_off // p, t.core.row_off // p, block.shape[2], block.shape[1]))


def _embed_tile_task(stack_dir, model, backend, threads, exclude, t):
    """On a Dask worker: (backend name, block) of tile t; the stack and the backend stay open per worker."""
    from ..data.reader import cached_stack
    from .model.backend import select_backend

    b = select_backend(model, backend, threads=threads or 1)
    return b.name, embed_tile(cached_stack(stack_dir), b, t.core, exclude)


def _model_config(model):
    from .model.weights import ModelCard

    if isinstance(model, ModelCard):
        from .model.config import ModelConfig

        return ModelConfig.from_dict(model.card["config"])
    return model.config
