"""Image embeddings of map views, kept so that panning back or reopening a project skips the encoder.

The encoder is the slow half of SAM (seconds on a CPU for the official models); the decoder runs per
click. A small in-memory LRU covers going back and forth; .npy files on disk survive restarts,
bounded in total size. The disk copy is a cache: a corrupt or foreign file is dropped, never trusted
(np.load with allow_pickle=False, so a planted file cannot run code).
"""

import collections
import hashlib
import json
import os
import re
import threading
import time

import numpy as np

DEFAULT_DISK_BYTES = 512 * 2 ** 20
_HEX = re.compile(r"[0-9a-f]{16,128}")


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (set, frozenset)):
        return sorted(v)
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    return str(v)


def file_parts(path):
    """Identity of a raster file for key_for: absolute path, mtime (ns) and size, so an edit misses."""
    st = os.stat(path)
    return {"path": os.path.abspath(os.fspath(path)), "mtime_ns": st.st_mtime_ns, "size": st.st_size}


class EmbeddingCache:
    """Memory LRU of `memory_items` arrays plus .npy files under disk_dir (default
    cache_dir()/sam/embeddings) bounded to `disk_bytes` in total, least recently used evicted.
    disk_bytes=0 keeps it in memory only."""

    def __init__(self, memory_items=8, disk_dir=None, disk_bytes=DEFAULT_DISK_BYTES):
        self.memory_items = max(0, int(memory_items))
        self.disk_bytes = max(0, int(disk_bytes or 0))
        if self.disk_bytes and disk_dir is None:
            from ..core.runtime import cache_dir

            disk_dir = os.path.join(cache_dir(), "sam", "embeddings")
        self.disk_dir = os.fspath(disk_dir) if disk_dir and self.disk_bytes else None
        self._mem = collections.OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key_for(**parts):
        """sha256 hex of the parts (model sha, raster path / mtime / size, bands, window or extent,
        output size ...): the caller names what makes a view's embedding what it is."""
        blob = json.dumps(parts, sort_keys=True, default=_jsonable, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def _file(self, key):
        name = key if _HEX.fullmatch(str(key)) else hashlib.sha256(str(key).encode()).hexdigest()
        return os.path.join(self.disk_dir, name + ".npy")

    def get(self, key):
        """The array stored under key, or None."""
        with self._lock:
            if key in self._mem:
                self._mem.move_to_end(key)
                self.hits += 1
                return self._mem[key]
            arr = self._read_disk(key) if self.disk_dir else None
            if arr is None:
                self.misses += 1
                return None
            self.hits += 1
            self._remember(key, arr)
            return arr

    def put(self, key, array):
        arr = np.ascontiguousarray(array)
        with self._lock:
            self._remember(key, arr)
            if self.disk_dir and arr.nbytes < self.disk_bytes:
                self._write_disk(key, arr)

    def clear(self):
        """Forget the memory copies (disk files stay until evicted)."""
        with self._lock:
            self._mem.clear()

    def disk_usage(self):
        return sum(size for _, size, _ in self._disk_files())

    def _remember(self, key, arr):
        if not self.memory_items:
            return
        self._mem[key] = arr
        self._mem.move_to_end(key)
        while len(self._mem) > self.memory_items:
            self._mem.popitem(last=False)

    def _read_disk(self, key):
        path = self._file(key)
        if not os.path.isfile(path):
            return None
        try:
            arr = np.load(path, allow_pickle=False, mmap_mode=None)
            if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
                raise ValueError("not a numeric array")
        except (OSError, ValueError, EOFError):
            _remove(path)
            return None
        _touch(path)  # mark as recently used for eviction
        return arr

    def _write_disk(self, key, arr):
        try:
            os.makedirs(self.disk_dir, exist_ok=True)
            path = self._file(key)
            tmp = f"{path}.partial-{os.getpid()}-{threading.get_ident()}"
            with open(tmp, "wb") as f:
                np.save(f, arr, allow_pickle=False)
            os.replace(tmp, path)
            _touch(path)
        except OSError:  # a full or read-only disk only costs the next session an encoder run
            _remove(locals().get("tmp"))
            return
        self._evict(keep=path)

    def _disk_files(self):
        out = []
        try:
            entries = list(os.scandir(self.disk_dir)) if self.disk_dir and os.path.isdir(self.disk_dir) else []
        except OSError:
            return out
        for e in entries:
            if e.name.endswith(".npy") and e.is_file():
                try:
                    st = e.stat()
                except OSError:
                    continue
                out.append((e.path, st.st_size, st.st_mtime_ns))
        return out

    def _evict(self, keep=None):
        # oldest use first; the file just written goes last (only if it alone is over the cap)
        files = sorted(self._disk_files(), key=lambda f: (f[0] == keep, f[2]))
        total = sum(size for _, size, _ in files)
        for path, size, _ in files:
            if total <= self.disk_bytes:
                break
            _remove(path)
            total -= size


def _touch(path):
    """mtime = now at ns precision (file-system clocks tick in ms, which would tie successive writes)."""
    now = time.time_ns()
    try:
        os.utime(path, ns=(now, now))
    except OSError:
        pass


def _remove(path):
    if path:
        try:
            os.remove(path)
        except OSError:
            pass
