"""Fused foundation embeddings of a whole aligned stack, tile by tile, into one GeoTIFF.

Each tile is read with a halo of one model window (clipped at the raster's edges), so every
window that touches the tile's core is seen exactly as in a single pass over the whole raster: no
seams, and memory bounded by the tile. Output is at patch resolution (one value per patch x patch pixels), D bands, NaN where no
source has data; it is written to a temporary file and renamed, so a cancel leaves nothing.
"""

import numpy as np
import rasterio
from rasterio.windows import Window

from .atomic import atomic_path
from .progress import Steps
from .reader import Stack


def embed_stack(stack_dir, model, out_path, backend="auto", tile=256, overwrite=False, feedback=None, threads=None,
                exclude=()):
    """Write the fused embedding of `stack_dir` to `out_path`; returns the backend name used.

    exclude: sources left out, as if never observed (the fusion handles missing sources); used to
    measure what each source contributes to a prediction.
    """
    from .model.backend import select_backend
    from .model.infer import embed_scene

    steps = Steps(feedback)
    b = select_backend(model, backend, threads=threads, feedback=feedback)
    cfg = b.config
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
                for k, t in enumerate(tiles):
                    # halo clipped to the raster, so edge windows fall where a whole-raster pass puts them
                    r_a, c_a = max(0, t.core.row_off - halo), max(0, t.core.col_off - halo)
                    r_b = min(g.height, t.core.row_off + t.core.height + halo)
                    c_b = min(g.width, t.core.col_off + t.core.width + halo)
                    scene = st.scene(Window(c_a, r_a, c_b - c_a, r_b - r_a))
                    for s in exclude:
                        scene.sources.pop(s, None)
                    if not scene.sources:  # only excluded sources here: nothing observed
                        continue
                    e = embed_scene(b, scene)
                    r0, c0 = (t.core.row_off - r_a) // p, (t.core.col_off - c_a) // p
                    h, w = -(-t.core.height // p), -(-t.core.width // p)
                    block = e.grid[:, r0:r0 + h, c0:c0 + w]
                    dst.write(block.astype(np.float32), window=Window(t.core.col_off // p, t.core.row_off // p, w, h))
                    steps.report((k + 1) / len(tiles), None)
    steps.info(f"Embedding ({cfg.dim} bands at {p * g.res:g} m) written to {out_path} with backend {b.name}")
    return b.name
