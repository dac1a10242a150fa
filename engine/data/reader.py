"""Read an aligned stack back by windows, normalised with the statistics stored at alignment."""

import json
import os

import numpy as np
import rasterio
import rasterio.errors
from rasterio.windows import Window

from . import normalise
from ..core.errors import InputError
from ..core.grid import Grid
from .scene import Scene, SourceArray
from .stack import FORMAT
from ..core.tiles import iter_tiles

MAX_CLASSES = 8  # categorical layers become at most this many indicator maps (largest classes)


def _read_filled(ds, band, window, fill):
    """ds.read(band, window=window, boundless=True, fill_value=fill), the same array, without the
    boundless path's VRT (several times slower per window, measured) for whole-pixel windows: only
    the part inside the raster is read, the rest filled."""
    r0, c0, h, w = window.row_off, window.col_off, window.height, window.width
    if any(v != int(v) for v in (r0, c0, h, w)):
        return ds.read(band, window=window, boundless=True, fill_value=fill)
    r0, c0, h, w = int(r0), int(c0), int(h), int(w)
    ra, ca, rb, cb = max(0, r0), max(0, c0), min(ds.height, r0 + h), min(ds.width, c0 + w)
    if (ra, ca, rb, cb) == (r0, c0, r0 + h, c0 + w):
        return ds.read(band, window=Window(c0, r0, w, h))
    dtypes = {ds.dtypes[i] for i in ([band - 1] if band else range(ds.count))}
    if rb <= ra or cb <= ca or len(dtypes) > 1 or (np.isnan(fill) and not np.issubdtype(np.dtype(dtypes.pop()), np.floating)):
        return ds.read(band, window=window, boundless=True, fill_value=fill)
    inner = ds.read(band, window=Window(ca, ra, cb - ca, rb - ra))
    out = np.full(inner.shape[:-2] + (h, w), fill, inner.dtype)
    out[..., ra - r0:rb - r0, ca - c0:cb - c0] = inner
    return out


def layer_groups(bands):
    """[(layer name, [band indices])] of a stack's bands, in stack order: a geochemistry layer's elements are one
    layer. Stacks written before bands named their layer group samples by their file."""
    groups = {}
    for i, b in enumerate(bands):
        name = b.get("layer") or (os.path.splitext(os.path.basename(str(b.get("path", ""))))[0]
                                  if b["kind"] == "points" else b["name"])
        groups.setdefault((b["source"], name), []).append(i)
    return [(name, idx) for (_, name), idx in groups.items()]


class StackBands:
    """A stack's bands and layers from its stack.json alone, no raster opened: what a head is matched against
    (engine.prospectivity.workflow.match_bands) where only the manifest is at hand (the QGIS panel)."""

    def __init__(self, manifest):
        self.bands = manifest["bands"]
        self.layers = layer_groups(self.bands)


def read_manifest(folder):
    """A stack folder's stack.json, checked (present, readable, this format), no raster opened: for callers
    that need only the manifest (the known deposits, the bands)."""
    path = os.path.join(folder, "stack.json")
    if not os.path.exists(path):
        raise InputError(f"'{folder}' is not an aligned stack (no stack.json)", fix="run align first and pass its output folder")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"'{path}' is damaged ({exc})", layer=os.path.basename(os.path.abspath(folder)),
                         fix="align the stack again (a stack folder is only ever written whole)") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise InputError(f"'{folder}' has stack format {found!r}, expected {FORMAT!r}",
                         fix="re-run align with this version of MPM Studio")
    return manifest


class Stack:
    def __init__(self, folder):
        self.manifest = read_manifest(folder)
        self.folder = folder
        self.grid = Grid.from_dict(self.manifest["grid"])
        self.bands = self.manifest["bands"]
        self._ds = self._open(self.manifest["files"]["stack"])
        self._valid = self._open(self.manifest["files"]["valid"])
        dep = os.path.join(folder, "deposits.tif")
        self._deposits = self._open("deposits.tif") if os.path.exists(dep) else None

    def _open(self, name):
        """A stack file, checked whole (engine.data.sources.check_complete): a missing or cut one is named."""
        from .sources import DAMAGED_FIX, check_complete

        path = os.path.join(self.folder, name)
        if not os.path.exists(path):
            raise InputError(f"'{path}' is missing", layer=os.path.basename(os.path.abspath(self.folder)),
                             fix="align the stack again, or copy the whole stack folder")
        try:
            ds = rasterio.open(path)
        except rasterio.errors.RasterioIOError as exc:
            raise InputError(f"'{path}' cannot be opened ({exc})", layer=os.path.basename(os.path.abspath(self.folder)),
                             fix=DAMAGED_FIX) from exc
        try:
            check_complete(ds, name)
        except InputError:
            ds.close()
            raise
        return ds

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for ds in (self._ds, self._valid, self._deposits):
            if ds is not None:
                ds.close()

    @property
    def sources(self):
        return sorted({b["source"] for b in self.bands})

    @property
    def layers(self):
        return layer_groups(self.bands)

    def read_presence(self, window=None, data=None):
        """(L, h, w) bool: where each layer of `layers` has data (every band of it); `data`: the
        window's bands when already read."""
        a = self.read(window, normalised=False) if data is None else data
        return np.stack([np.isfinite(a[idx]).all(axis=0) for _, idx in self.layers])

    @property
    def has_deposits(self):
        return self._deposits is not None

    def read(self, window=None, normalised=True):
        """(C, h, w) float32; pixels outside the grid or invalid in a band are NaN."""
        window = window or self.grid.full_window()
        a = _read_filled(self._ds, None, window, np.nan).astype(np.float32, copy=False)
        if normalised:
            for i, b in enumerate(self.bands):
                a[i] = normalise.apply(a[i], b["stats"])
        return a

    def read_valid(self, window=None):
        window = window or self.grid.full_window()
        return _read_filled(self._valid, 1, window, 0).astype(bool)

    def read_deposits(self, window=None):
        if self._deposits is None:
            raise InputError("this stack has no deposits", fix="re-run align with a deposits layer")
        window = window or self.grid.full_window()
        return _read_filled(self._deposits, 1, window, 0)

    def tiles(self, tile=512, overlap=0):
        return iter_tiles(self.grid.height, self.grid.width, tile, overlap)

    def scene(self, window=None, max_classes=MAX_CLASSES):
        """Per-source SourceArrays for the models; categorical bands become class indicator maps."""
        window = window or Window(0, 0, self.grid.width, self.grid.height)
        data = self.read(window)
        valid = self.read_valid(window)
        per_source = {}
        for i, b in enumerate(self.bands):
            chans, names = per_source.setdefault(b["source"], ([], []))
            band = data[i]
            if b["kind"] == "categorical":
                present = b["stats"]["classes_present"]
                counts = b["stats"]["class_counts"]
                top = [c for _, c in sorted(zip(counts, present), reverse=True)[:max_classes]]
                for c in top:
                    chans.append(np.where(np.isfinite(band), (band == c).astype(np.float32), np.nan))
                    names.append(b["layer_type"])
            else:
                chans.append(band)
                names.append(b["layer_type"])
        sources = {}
        for s, (chans, names) in per_source.items():
            arr = np.stack(chans).astype(np.float32)
            arr[:, ~valid] = np.nan
            sources[s] = SourceArray(arr, names)
        return Scene(sources)


def cached_stack(stack_dir):
    """A Dask worker thread's open Stack of `stack_dir`, kept between tiles (engine.core.distributed.worker_cached)."""
    from ..core.distributed import worker_cached

    stack_dir = os.path.abspath(stack_dir)
    return worker_cached(("stack", stack_dir), lambda: Stack(stack_dir), files=(os.path.join(stack_dir, "stack.json"),))
