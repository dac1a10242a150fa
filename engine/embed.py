"""Fused foundation embeddings of a whole aligned stack, tile by tile, into one GeoTIFF.

Each tile is read with a halo of one model window (clipped at the raster's edges), so every
window that touches the tile's core is seen exactly as in a single pass over the whole raster: no
seams, and memory bounded by the tile. Output is at patch resolution (one value per patch x patch pixels), D bands, NaN where no
source has data; it is written to a temporary file and renamed, so a cancel leaves nothing.

The tiles are computed in this process, or on a Dask cluster (scheduler=..., engine.distributed)
whose workers return each tile's patch-grid block; this process alone writes them, by window.
"""

import contextlib
import functools
import os

import numpy as np
import rasterio
from rasterio.windows import Window

from .atomic import atomic_path
from .progress import Steps
from .reader import Stack


def embed_stack(stack_dir, model, out_path, backend="auto", tile=256, overwrite=False, feedback=None, threads=None,
                exclude=(), scheduler=None, workers=2):
    """Write the fused embedding of `stack_dir` to `out_path`; returns the backend name used.

    exclude: sources left out, as if never observed (the fusion handles missing sources); used to
    measure what each source contributes to a prediction.
    scheduler: None = every tile in this process; "local" = a local Dask cluster of `workers`
    processes; "tcp://host:port" = a running Dask cluster (or a distributed.Client). On a cluster
    the workers compute the tiles (threads: per task, default 1) and this process writes them.
    """
    from .model.backend import select_backend

    steps = Steps(feedback)
    if scheduler is None:
        b = select_backend(model, backend, threads=threads, feedback=feedback)
        cfg, name = b.config, b.name
    else:
        cfg, name = _model_config(model), None
    p, halo = cfg.patch, cfg.window
    tile = max(halo, tile // halo * halo)  # keeps tiles on the windows' lattice (stride = window / 2)
    with Stack(stack_dir) as st:
        g = st.grid
        gh, gw = -(-g.height // p), -(-g.width // p)
        transform = g.transform * g.transform.scale(p, p)
        tiles = list(st.tiles(tile))
        with atomic_path(out_path, overwrite=overwrite, what="embedding raster") as tmp:
            with rasterio.open(tmp, "w", driver="GTiff", width=gw, height=gh, count=cfg.dim, dtype="float32",
                               crs=g.rio_crs, transform=transform, nodata=np.nan, tiled=True, blockxsize=256,
                               blockysize=256, compress="deflate", predictor=3, BIGTIFF="IF_SAFER") as dst:
                if scheduler is None:
                    for k, t in enumerate(tiles):
                        _write_block(dst, t, embed_tile(st, b, t.core, exclude), p)
                        steps.report((k + 1) / len(tiles), None)
                else:
                    from .distributed import describe, map_tiles

                    steps.info(f"Embedding {len(tiles)} tiles on {describe(scheduler, workers)}")
                    task = functools.partial(_embed_tile_task, os.path.abspath(stack_dir), _model_arg(model), backend,
                                             threads, tuple(exclude))
                    with contextlib.closing(map_tiles(task, tiles, scheduler, workers, feedback=feedback)) as results:
                        for t, (bname, block) in results:
                            name = name or bname
                            _write_block(dst, t, block, p)
    name = name or backend
    steps.info(f"Embedding ({cfg.dim} bands at {p * g.res:g} m) written to {out_path} with backend {name}")
    return name


def embed_tile(st, backend, core, exclude=()):
    """(D, h, w) float32 patch-grid block of the tile whose core window is `core`; None if nothing is observed.

    The core is read with a halo of one model window, clipped to the raster, so edge windows
    fall where a whole-raster pass puts them.
    """
    from .model.infer import embed_scene

    g = st.grid
    p, halo = backend.config.patch, backend.config.window
    r_a, c_a = max(0, core.row_off - halo), max(0, core.col_off - halo)
    r_b = min(g.height, core.row_off + core.height + halo)
    c_b = min(g.width, core.col_off + core.width + halo)
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
    from .distributed import cached_stack
    from .model.backend import select_backend

    b = select_backend(model, backend, threads=threads or 1)
    return b.name, embed_tile(cached_stack(stack_dir), b, t.core, exclude)


def _model_arg(model):
    """What the workers get: the model card's absolute path (or the model object itself)."""
    if isinstance(model, (str, os.PathLike)):
        from .model.weights import read_card

        return read_card(model)["_path"]
    return model


def _model_config(model):
    if isinstance(model, (str, os.PathLike)):
        from .model.config import ModelConfig
        from .model.weights import read_card

        return ModelConfig.from_dict(read_card(model)["config"])
    return model.config
