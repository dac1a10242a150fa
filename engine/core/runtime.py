"""How a run computes, not what: backend, CPU threads, tile size, cache folder, Dask scheduler.

One `Runtime` is passed down the engine explicitly (never through os.environ); BACKENDS is the one
list of inference backends. Cheap to import (no numpy, torch or rasterio): the backends, the SAM
predictor and the QGIS settings read it before the GIS stack is loaded.
"""

import contextlib
import dataclasses
import os
from dataclasses import dataclass

from .params import CHOICE, FOLDER, INT, TEXT, Param

BACKENDS = ("auto", "torch-cuda", "torch-cpu", "onnx-cpu")
CACHE_ENV = "MPM_CACHE_DIR"


@dataclass(frozen=True)
class Runtime:
    """How a run computes, not what: the same result whatever these are (the cache's place aside).

    backend: one of BACKENDS. threads: CPU threads of the encoders (None: the library's default).
    tile: tile size in pixels (bounds memory). cache_dir: the embedding cache (None: MPM_CACHE_DIR,
    else ~/.cache/mpm-studio). scheduler: None (this process), "local" or "tcp://host:port" (a Dask
    cluster, or a distributed.Client); workers: processes of a local cluster."""

    backend: str = "auto"
    threads: int = None
    tile: int = 256
    cache_dir: str = None
    scheduler: object = None
    workers: int = 2

    def __post_init__(self):
        for p in RUNTIME_PARAMS:
            p.validate(getattr(self, p.name))

    @classmethod
    def of(cls, runtime=None, **given):
        """`runtime` (or the defaults) with the settings given as keywords (None: not given) replaced:
        engine functions accept both a Runtime and the old keywords (backend=..., tile=...)."""
        rt = runtime or cls()
        given = {k: v for k, v in given.items() if v is not None}
        return dataclasses.replace(rt, **given) if given else rt

    @contextlib.contextmanager
    def torch_threads(self):
        """torch's process-wide intra-op thread count set to `threads` for the block (nothing when None)."""
        if not self.threads:
            yield
            return
        try:
            import torch
        except ImportError:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(int(self.threads))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    def cache_folder(self):
        """The embedding cache folder, made if needed: cache_dir, else default_cache_dir()."""
        d = os.path.abspath(os.path.expanduser(self.cache_dir or default_cache_dir()))
        os.makedirs(d, exist_ok=True)
        return d


def default_cache_dir():
    """Where embeddings are cached when no folder is given: MPM_CACHE_DIR, else ~/.cache/mpm-studio."""
    return os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "mpm-studio")


RUNTIME_PARAMS = (
    Param("backend", CHOICE, "auto", choices=BACKENDS, label="Inference backend", advanced=True,
          help="auto: torch on the GPU when CUDA is there, else ONNX Runtime on the CPU, else torch on the CPU. "
               "Values: auto, torch-cuda, torch-cpu, onnx-cpu."),
    Param("threads", INT, None, min=0, optional=True, zero_is_none=True, advanced=True,
          label="CPU threads (0: the library's default)",
          help="CPU threads of the foundation encoders (torch and ONNX Runtime); 0 leaves the library's "
               "default (all cores)."),
    Param("tile", INT, 256, min=32, max=8192, label="Tile size (pixels)", advanced=True,
          help="Bounds memory; the result does not depend on it."),
    Param("cache_dir", FOLDER, None, optional=True, advanced=True, exists=False,
          label="Embedding cache folder (empty: MPM_CACHE_DIR, else ~/.cache/mpm-studio)",
          help="Where the foundation embeddings of a stack are cached, so a second run reuses them. The files can "
               "be deleted at any time."),
    Param("scheduler", TEXT, None, optional=True, qgis=False, metavar="local|tcp://HOST:PORT",
          help="compute the tiles on a Dask cluster, this process writing the output: 'local' = a cluster of "
               "--workers processes on this machine; tcp://HOST:PORT = a running cluster (`dask scheduler` + "
               "`dask worker`, same paths on every worker). Default: one process"),
    Param("workers", INT, 2, min=1, qgis=False, help="worker processes of --scheduler local (default: 2)"),
)
RUNTIME = {p.name: p for p in RUNTIME_PARAMS}


def cache_dir(runtime=None):
    """The runtime's cache folder, else MPM_CACHE_DIR, else ~/.cache/mpm-studio, made if needed (everything in it
    can be deleted at any time)."""
    return Runtime.of(runtime).cache_folder()
