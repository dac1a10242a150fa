"""Windows over a grid: memory is bounded by the tile, never by the raster."""

from dataclasses import dataclass

import numpy as np

from rasterio.windows import Window


@dataclass(frozen=True)
class Tile:
    core: Window  # the pixels this tile is responsible for writing
    read: Window  # core plus overlap on every side (may reach outside the grid: read boundless)

    @property
    def core_in_read(self):
        """Slices of the read array that hold the core."""
        r0 = self.core.row_off - self.read.row_off
        c0 = self.core.col_off - self.read.col_off
        return slice(r0, r0 + self.core.height), slice(c0, c0 + self.core.width)


def iter_tiles(height, width, tile=512, overlap=0):
    """Row-major tiles covering the grid once; each read window carries `overlap` pixels of context."""
    if tile <= 0 or overlap < 0:
        raise ValueError("tile must be positive and overlap non-negative")
    for r in range(0, height, tile):
        for c in range(0, width, tile):
            h, w = min(tile, height - r), min(tile, width - c)
            core = Window(c, r, w, h)
            yield Tile(core, Window(c - overlap, r - overlap, w + 2 * overlap, h + 2 * overlap))


def count_tiles(height, width, tile=512):
    return -(-height // tile) * -(-width // tile)


def group_by_tile(rows, cols, tile):
    """(r0, c0, indices) for every tile x tile block holding some of the pixels: point reads one window at a time."""
    rows, cols = np.asarray(rows, int), np.asarray(cols, int)
    keys = (rows // tile) * 1_000_000 + cols // tile
    for k in np.unique(keys):
        yield int(k // 1_000_000) * tile, int(k % 1_000_000) * tile, np.flatnonzero(keys == k)
