"""Tiles on a Dask distributed cluster, with the calling process as the only writer.

`map_tiles` sends a per-tile function to Dask workers and hands each tile's result back to the
caller as soon as it is ready; the caller writes it by window into its one output. One writer
means no locks and no races, and the output stays the atomic temporary file of engine.core.atomic
(a cancel or failure still leaves nothing behind).

scheduler:
  "local" (or None)   a LocalCluster of `workers` processes on this machine, started for the run
                      and shut down after it (also after a cancel or an error);
  "tcp://host:port"   a running cluster (`dask scheduler`, then `dask worker tcp://host:port` on
                      each machine); the workers need this engine importable (the same version)
                      and the same paths to the stack, the model and the embedding cache, i.e. a
                      shared filesystem;
  a distributed.Client  used as it is and left open (the caller owns it).

Workers get only picklable arguments (paths, windows, small arrays such as a head's weights) and
open their own rasterio datasets and ONNX sessions once per worker process (`worker_cached` here,
engine.foundation.model.backend's cache for the sessions). Following Dask's convention (its nanny sets
OMP_NUM_THREADS=1), each task computes on one thread unless told otherwise: scale with workers
and threads per worker.
"""

import collections
import contextlib
import itertools
import logging
import os
import threading
import time

from .errors import ClusterError, MissingDependency
from .progress import Steps

CONNECT_TIMEOUT = 10.0  # seconds to reach a scheduler address (and find a worker there) before giving up
POLL = 0.05  # seconds between checks for finished tiles and for cancel
MAX_CACHED = 16  # open objects kept per worker thread
IN_FLIGHT = 2  # tiles submitted per worker thread ahead of the results fetched


def _distributed():
    try:
        import distributed
    except ImportError:
        raise MissingDependency("running tiles on a Dask cluster (a scheduler was given) needs dask.distributed",
                                fix="install it into this Python: pip install 'dask[distributed]' (pinned in "
                                    "requirements.txt), or run without a scheduler (single process)") from None
    return distributed


def is_client(obj):
    return hasattr(obj, "submit") and hasattr(obj, "scheduler_info")


def describe(scheduler, workers=2, threads_per_worker=1):
    if scheduler in (None, "local"):
        return f"a local Dask cluster ({workers} worker processes x {threads_per_worker} thread(s))"
    if is_client(scheduler):
        return f"the Dask cluster of {scheduler!r}"
    return f"the Dask scheduler at {scheduler}"


@contextlib.contextmanager
def cluster_client(scheduler="local", workers=2, threads_per_worker=1):
    """A distributed.Client for `scheduler` (see the module's docstring), closed (with its cluster) on exit."""
    dist = _distributed()
    if is_client(scheduler):
        yield scheduler
        return
    cluster = client = None
    try:
        if scheduler in (None, "local"):
            if int(workers) < 1 or int(threads_per_worker) < 1:
                raise ClusterError(f"a local cluster needs at least 1 worker and 1 thread per worker, got {workers} "
                                   f"and {threads_per_worker}", fix="pass workers >= 1 (--workers)")
            cluster = dist.LocalCluster(n_workers=int(workers), threads_per_worker=int(threads_per_worker),
                                        processes=True, dashboard_address=":0", silence_logs=logging.ERROR)
            client = dist.Client(cluster, set_as_default=False)
        else:
            client = dist.Client(str(scheduler), timeout=CONNECT_TIMEOUT, set_as_default=False)
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
    except ClusterError:
        _close(client, cluster)
        raise
    except Exception as exc:  # connection refused, timeout, malformed address, no workers ...
        _close(client, cluster)
        if scheduler in (None, "local"):
            raise ClusterError(f"could not start a local Dask cluster ({type(exc).__name__}: {exc})",
                               fix="run without a scheduler (single process), or check the machine's "
                                   "memory and that worker processes may be started") from None
        raise ClusterError(f"could not use the Dask scheduler at '{scheduler}' within {CONNECT_TIMEOUT:g} s "
                           f"({type(exc).__name__}: {exc})",
                           fix="check the address (tcp://host:port, as printed by `dask scheduler`), that the "
                               "scheduler runs and has workers, or use 'local' for a cluster on this machine") from None
    try:
        yield client
    finally:
        _close(client, cluster)


def _close(client, cluster):
    for obj in (client, cluster):
        if obj is not None:
            with contextlib.suppress(Exception):
                obj.close()


def map_tiles(fn, tiles, scheduler=None, workers=2, threads_per_worker=1, feedback=None):
    """Yield (tile, fn(tile)) for every tile, computed on Dask workers, in the order they finish.

    fn must be picklable (a module-level function, or functools.partial of one with picklable
    arguments). At most IN_FLIGHT tiles per worker thread are queued or waiting to be fetched,
    so memory stays bounded by the tile on the workers too. Progress goes to feedback as the
    fraction of tiles done; a cancel (checked every POLL seconds) cancels the pending tiles,
    closes the client and the cluster and raises engine.core.errors.Cancelled. Use it inside
    contextlib.closing() so that an error in the caller's loop shuts the cluster down at once.
    A worker's exception is raised here as it was raised there.
    """
    dist = _distributed()
    steps = Steps(feedback)
    tiles = list(tiles)
    steps.check()
    with cluster_client(scheduler, workers, threads_per_worker) as client:
        limit = max(2, IN_FLIGHT * sum(client.nthreads().values()))
        todo = iter(range(len(tiles)))
        running = {}  # future key -> (tile index, future)
        finished = dist.as_completed(loop=client.loop)

        def submit(n):
            for i in itertools.islice(todo, n):
                f = client.submit(fn, tiles[i], pure=False)
                running[f.key] = (i, f)
                finished.add(f)

        try:
            submit(limit)
            done = 0
            while running:
                steps.check()
                batch = finished.next_batch(block=False)
                if not batch:
                    time.sleep(POLL)
                    continue
                for f in batch:
                    i, _ = running.pop(f.key)
                    try:
                        result = f.result()
                    except dist.KilledWorker as exc:
                        raise ClusterError(f"a Dask worker died while computing a tile ({exc})",
                                           fix="give the workers more memory, or use fewer threads per worker") from None
                    f.release()
                    submit(1)  # keep the workers busy while this process writes
                    done += 1
                    yield tiles[i], result
                    steps.report(done / len(tiles))
        finally:
            with contextlib.suppress(Exception):
                client.cancel([f for _, f in running.values()])


# --------------------------------------------------------------------------- on the workers
_LOCAL = threading.local()


def worker_cached(key, factory, files=()):
    """One `factory()` object per worker thread and key, reused by every later tile.

    rasterio datasets are not safe to share between threads, so the cache is per thread (Dask's
    worker threads live as long as the worker). `files`: paths whose size and modification time
    join the key, so a stack or embedding rewritten in place is opened afresh. Objects past
    MAX_CACHED are closed, oldest first.
    """
    cache = getattr(_LOCAL, "cache", None)
    if cache is None:
        cache = _LOCAL.cache = collections.OrderedDict()
    stamp = []
    for p in files:
        try:
            s = os.stat(p)
            stamp.append((s.st_mtime_ns, s.st_size))
        except OSError:
            stamp.append(None)
    key = (key, tuple(stamp))
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    obj = cache[key] = factory()
    while len(cache) > MAX_CACHED:
        _, old = cache.popitem(last=False)
        with contextlib.suppress(Exception):
            old.close()
    return obj

