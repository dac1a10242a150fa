"""Tiled embedding of a whole stack: identical to one pass over the raster, atomic, from the CLI."""

import os
import subprocess
import sys

import numpy as np
import pytest
import rasterio

from engine.foundation.features import DEFAULT_MODEL
from helpers import ROOT

MODEL = DEFAULT_MODEL


def test_tiled_embedding_has_no_seams(kolari_stack, tmp_path):
    from engine.foundation.embed import embed_stack
    from engine.foundation.model.backend import select_backend
    from engine.foundation.model.infer import embed_scene
    from engine.data.reader import Stack

    out = tmp_path / "emb.tif"
    assert embed_stack(kolari_stack, MODEL, str(out), backend="onnx-cpu", tile=32) == "onnx-cpu"  # 16 tiles
    with Stack(kolari_stack) as st:
        whole = embed_scene(select_backend(MODEL, "onnx-cpu"), st.scene()).grid
        grid = st.grid
    with rasterio.open(out) as ds:
        tiled = ds.read()
        assert ds.crs.to_epsg() == 3067 and ds.res == (grid.res * 4, grid.res * 4)
        assert tuple(ds.bounds)[:2] == (grid.xmin, grid.ymax - ds.height * grid.res * 4)
    np.testing.assert_array_equal(np.isfinite(whole), np.isfinite(tiled))
    assert np.isfinite(tiled).mean() > 0.5
    np.testing.assert_allclose(tiled[np.isfinite(tiled)], whole[np.isfinite(whole)], atol=1e-5)


def test_cancelled_embedding_leaves_nothing(kolari_stack, tmp_path):
    from engine.foundation.embed import embed_stack
    from engine.core.errors import Cancelled
    from engine.core.progress import Feedback

    class Cancel(Feedback):
        def isCanceled(self):  # noqa: N802
            return True

    with pytest.raises(Cancelled):
        embed_stack(kolari_stack, MODEL, str(tmp_path / "e.tif"), backend="onnx-cpu", tile=32, feedback=Cancel())
    assert os.listdir(tmp_path) == []


def test_cli_embed(kolari_stack, tmp_path):
    r = subprocess.run([sys.executable, "-m", "engine", "embed", kolari_stack, "--backend", "onnx-cpu",
                        "--out", str(tmp_path / "e.tif")], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "backend onnx-cpu" in r.stdout and (tmp_path / "e.tif").exists()
