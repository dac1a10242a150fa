"""Tiles on a Dask cluster (engine.core.distributed): the same bytes as one process, one writer, clean cancel.

Outputs are compared for exact equality: a worker runs the same per-tile function on the same
inputs as the single process (ONNX Runtime's CPU kernels give the same floats on 1 thread as on 2
here), and the main process writes every tile by window into the one output.
"""

import json
import os
import socket
import sys
import time

import numpy as np
import psutil
import pytest
import rasterio

from engine.core.errors import Cancelled, ClusterError, MissingDependency
from engine.foundation.features import DEFAULT_MODEL

pytestmark = pytest.mark.slow

TILE = 64  # 171 x 206 px at 400 m: 12 tiles
BACKEND = "onnx-cpu"  # the same CPU kernels everywhere (a GPU, under "auto", promises no bitwise repeatability)


@pytest.fixture(scope="module")
def head(kolari_400, tmp_path_factory):
    from engine.prospectivity import finetune

    from engine.prospectivity.head import HeadConfig

    out = str(tmp_path_factory.mktemp("headd") / "head")
    # bands + embeddings: the tiles need the embedding (computed on the cluster) and the tree members travel
    finetune(kolari_400, out, backend=BACKEND, n_background=2000, validate=False, head_config=HeadConfig(inputs="both"))
    return out


@pytest.fixture(scope="module")
def cluster():
    """One 2-worker LocalCluster for the tests that pass a scheduler address (a 'real' cluster)."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=logging.ERROR) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def single_embedding(kolari_400, tmp_path_factory):
    from engine.foundation.embed import embed_stack

    out = str(tmp_path_factory.mktemp("emb1") / "single.tif")
    embed_stack(kolari_400, DEFAULT_MODEL, out, backend=BACKEND, tile=TILE)
    return out


def _read(path):
    with rasterio.open(path) as ds:
        prof = dict(ds.profile)
        nodata = prof.pop("nodata")
        assert np.isnan(nodata) if prof["dtype"] == "float32" else nodata == 0  # coverage.tif: 0 = not predicted
        return ds.read(), prof


def _spawned_children():
    """Worker processes started by multiprocessing's spawn (Dask's nannies) under this process."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if any("spawn_main" in a for a in p.cmdline()):
                out.add(p.pid)
        except psutil.Error:
            pass
    return out


def test_embed_on_a_local_cluster_is_identical(kolari_400, single_embedding, tmp_path):
    from engine.foundation.embed import embed_stack

    out = str(tmp_path / "dist.tif")
    name = embed_stack(kolari_400, DEFAULT_MODEL, out, backend=BACKEND, tile=TILE, scheduler="local", workers=2)
    assert name == "onnx-cpu"
    a, pa = _read(single_embedding)
    b, pb = _read(out)
    assert pa == pb and np.isfinite(a).mean() > 0.5
    np.testing.assert_array_equal(b, a)
    assert sorted(os.listdir(tmp_path)) == ["dist.tif"]  # atomic: no temporary left beside it


def test_predict_on_a_cluster_address_is_identical(kolari_400, head, cluster, tmp_path, monkeypatch):
    from engine.prospectivity import predict

    single = predict(kolari_400, head, str(tmp_path / "single"), backend=BACKEND, tile=TILE)
    # a fresh cache: the embedding is computed on the cluster too (contributions blank bands: no more embeddings)
    monkeypatch.setenv("MPM_CACHE_DIR", str(tmp_path / "cache2"))
    dist = predict(kolari_400, head, str(tmp_path / "dist"), backend=BACKEND, tile=TILE, scheduler=cluster)
    assert len(os.listdir(tmp_path / "cache2")) == 1
    assert dist["files"] == single["files"] == {k: f"{k}.tif" for k in ("prospectivity", "uncertainty", "coverage",
                                                                             "contributions")}
    for f in single["files"].values():
        a, pa = _read(os.path.join(single["out_dir"], f))
        b, pb = _read(os.path.join(dist["out_dir"], f))
        assert pa == pb
        np.testing.assert_array_equal(b, a, err_msg=f)
    assert np.isfinite(a).any()
    for k in ("valid_pixels", "mean_probability", "max_probability", "sources", "pixels_missing_layers",
              "missing_per_layer"):
        assert dist[k] == single[k]
    j = json.load(open(os.path.join(dist["out_dir"], "predict.json")))
    assert j["mean_probability"] == single["mean_probability"]


def test_cli_embed_on_a_cluster(kolari_400, single_embedding, cluster, tmp_path, capsys, monkeypatch):
    import engine.core.distributed
    from engine.cli import main

    out = tmp_path / "cli.tif"
    assert main(["embed", kolari_400, "--backend", BACKEND, "--tile", str(TILE), "--scheduler", cluster, "--out", str(out)]) == 0
    assert "backend onnx-cpu" in capsys.readouterr().out
    np.testing.assert_array_equal(_read(str(out))[0], _read(single_embedding)[0])
    # a bad address: the engine's message and exit status 2, as for any other input error
    monkeypatch.setattr(engine.core.distributed, "CONNECT_TIMEOUT", 1.5)
    assert main(["embed", kolari_400, "--scheduler", "tcp://256.0.0.1:1", "--out", str(tmp_path / "bad.tif")]) == 2
    assert "error: could not use the Dask scheduler at 'tcp://256.0.0.1:1'" in capsys.readouterr().err
    assert not (tmp_path / "bad.tif").exists()


def test_cancel_mid_run_leaves_nothing_and_stops_the_cluster(kolari_400, tmp_path):
    from engine.foundation.embed import embed_stack
    from engine.core.progress import Feedback

    class CancelAfterFirstTile(Feedback):
        progress = 0.0

        def setProgress(self, percent):  # noqa: N802
            self.progress = percent

        def isCanceled(self):  # noqa: N802
            return self.progress > 0

    before = _spawned_children()
    fb = CancelAfterFirstTile()
    with pytest.raises(Cancelled):
        embed_stack(kolari_400, DEFAULT_MODEL, str(tmp_path / "e.tif"), backend=BACKEND, tile=32, scheduler="local", workers=2, feedback=fb)
    assert 0 < fb.progress < 100  # stopped mid-run, after some tiles were written
    assert os.listdir(tmp_path) == []
    deadline = time.time() + 10
    while _spawned_children() - before and time.time() < deadline:
        time.sleep(0.2)
    assert not _spawned_children() - before, "the local cluster's workers outlived the cancel"


def test_bad_scheduler_address_is_a_clear_error(kolari_400, head, tmp_path, monkeypatch):
    import engine.core.distributed
    from engine.foundation.embed import embed_stack
    from engine.prospectivity import predict

    monkeypatch.setattr(engine.core.distributed, "CONNECT_TIMEOUT", 1.5)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        addr = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    t = time.time()
    with pytest.raises(ClusterError, match=rf"Dask scheduler at '{addr}'.*Fix: check the address"):
        predict(kolari_400, head, str(tmp_path / "p"), scheduler=addr)
    with pytest.raises(ClusterError, match="could not use the Dask scheduler"):
        embed_stack(kolari_400, DEFAULT_MODEL, str(tmp_path / "e.tif"), scheduler=addr)
    assert time.time() - t < 20
    assert os.listdir(tmp_path) == []


def test_missing_dask_is_a_clear_error(kolari_400, tmp_path, monkeypatch):
    from engine.foundation.embed import embed_stack

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(MissingDependency, match=r"dask.distributed.*pip install 'dask\[distributed\]'"):
        embed_stack(kolari_400, DEFAULT_MODEL, str(tmp_path / "e.tif"), scheduler="local")
    assert os.listdir(tmp_path) == []


def test_cli_flags():
    from engine.cli import build_parser

    a = build_parser().parse_args(["predict", "s", "--head", "h", "--out", "o", "--scheduler", "tcp://10.0.0.5:8786",
                                   "--workers", "4", "--tile", "128"])
    assert (a.scheduler, a.workers, a.tile) == ("tcp://10.0.0.5:8786", 4, 128)
    a = build_parser().parse_args(["embed", "s", "--out", "o"])
    assert (a.scheduler, a.workers) == (None, 2)
