"""Label-free pretraining data: tiles of aligned stacks plus seeded synthetic scenes.

Stacks are cut into tile scenes so memory is bounded by `max_tiles x tile^2`, not by the raster;
deposits are never read here (the stack's deposits.tif is not touched).
"""

import numpy as np

from .errors import InputError
from .reader import Stack


def stack_scenes(folder, tile=256, max_tiles=64, seed=0, min_valid=0.25, exclude_bounds=None):
    """Scenes from up to `max_tiles` tiles of an aligned stack (random subset, fixed seed).

    exclude_bounds (xmin, ymin, xmax, ymax): an area held out for evaluation; tiles touching it are
    skipped, so no held-out pixel is ever seen in pretraining.
    """
    scenes = []
    with Stack(folder) as st:
        tiles = [t for t in st.tiles(tile) if t.core.width >= 32 and t.core.height >= 32]
        if exclude_bounds is not None:
            tiles = [t for t in tiles if not _intersects(st.grid.window_bounds(t.core), exclude_bounds)]
        order = np.random.default_rng(seed).permutation(len(tiles))
        for i in order:
            t = tiles[i]
            if st.read_valid(t.core).mean() < min_valid:
                continue
            scenes.append(st.scene(t.core))
            if len(scenes) >= max_tiles:
                break
    if not scenes:
        raise InputError(f"stack '{folder}' has no {tile} px tile with at least {min_valid:.0%} valid pixels",
                         fix="use a smaller tile, or check the stack's validity mask (valid.tif)")
    return scenes


def _intersects(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def synthetic_scenes(n, seed=0, size=256):
    from .synthetic import generate_scenes

    scenes = generate_scenes(n, seed, size=size)
    for s in scenes:
        s.labels = {}  # label-free: truth maps never reach pretraining
    return scenes
