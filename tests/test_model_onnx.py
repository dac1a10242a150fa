"""ONNX export matches torch, files describe themselves, and backend selection behaves."""

import os

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from engine.core.errors import InputError, MissingDependency
from engine.foundation.model.backend import clear_cache, select_backend
from engine.foundation.model.config import ModelConfig
from engine.foundation.model.fusion import FoundationModel
from engine.foundation.model.infer import embed_scene
from engine.foundation.model.onnx_export import export_onnx, read_metadata
from engine.data.vocab import VOCAB, layer_ids
from engine.foundation.model.weights import read_card, save_model
from engine.core.progress import Feedback
from engine.data.scene import Scene, SourceArray

CFG = ModelConfig()  # the shipped architecture, so export is tested on what users run
LAYERS = {
    "geophysics": ["magnetic", "gravity", "em_inphase", "gamma_k", "gamma_th"],
    "geochemistry": ["Cu", "Ni", "Co", "Au", "Zn", "Fe", "K"],
    "remote_sensing": ["dem", "band_red", "band_nir"],
    "geology": ["lithology_unit", "fault_distance"],
}


class Log(Feedback):
    def __init__(self):
        self.lines = []

    def pushInfo(self, text):  # noqa: N802
        self.lines.append(str(text))


def windows(seed, c, b=3, nan=True):
    rng = np.random.default_rng(seed)
    x = np.stack([[gaussian_filter(rng.normal(size=(32, 32)), 2) * 4 for _ in range(c)] for _ in range(b)]).astype(np.float32)
    if nan:
        x[0, 0, :12] = np.nan
        x[1, -1] = np.nan
        x[2, :, 20:, 20:] = np.nan
    return x


def batch_for(sources, seed=0):
    return {s: {"x": windows(seed + i, len(LAYERS[s])), "ids": np.array(layer_ids(LAYERS[s], s)[0])}
            for i, s in enumerate(sources)}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx_model")
    torch.manual_seed(0)
    model = FoundationModel(CFG).eval()
    with torch.no_grad():  # make layer types matter as after training
        for enc in model.encoders.values():
            enc.layer_emb.weight.normal_(0, 0.3)
    card = save_model(model, str(out), flops=1, flops_channels={s: len(v) for s, v in LAYERS.items()})
    paths = export_onnx(model, str(out / "onnx"), card_path=card)
    return out, card, paths, model


def rel_err(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def test_onnx_matches_torch(model_dir):
    _, card, _, model = model_dir
    torch_b = select_backend(model, "torch-cpu", cache=False)
    onnx_b = select_backend(card, "onnx-cpu", cache=False)
    for sources in (list(LAYERS), ["geophysics"], ["geochemistry", "remote_sensing"]):
        batch = batch_for(sources, seed=len(sources))
        a, pa = onnx_b.embed(batch, return_present=True)
        b, pb = torch_b.embed(batch, return_present=True)
        assert a.shape == (3, CFG.n_patches, CFG.dim)
        assert np.isfinite(a).all()
        assert rel_err(a, b) < 1e-4
        assert (pa == pb).all()
    # dynamic channel axis: 2 and 9 channels through the same ONNX file
    for c in (2, 9):
        x = windows(9, c, b=5)
        ids = np.arange(c) % 11
        a = onnx_b.embed({"geophysics": {"x": x, "ids": ids}})
        b = torch_b.embed({"geophysics": {"x": x, "ids": ids}})
        assert rel_err(a, b) < 1e-4


def test_onnx_self_description(model_dir):
    _, card, paths, _ = model_dir
    meta = read_metadata(paths["geochemistry"])
    assert meta["source"] == "geochemistry" and meta["component"] == "encoder"
    assert meta["layer_vocabulary"] == list(VOCAB)
    assert int(meta["window_size"]) == CFG.window and int(meta["patch_size"]) == CFG.patch
    assert set(meta["inputs"]) == {"x", "valid", "layer_ids"}
    assert "z-score" in meta["normalisation"] and meta["engine_version"]
    assert meta["weights_sha256"] == read_card(card)["sha256"]
    assert read_metadata(paths["fusion"])["component"] == "fusion"
    listed = read_card(card)["onnx"]
    assert set(listed) == set(LAYERS) | {"fusion"}


def test_backend_auto_picks_onnx_here_and_reuses_sessions(model_dir):
    _, card, _, _ = model_dir
    assert not torch.cuda.is_available()
    clear_cache()
    log = Log()
    b1 = select_backend(card, "auto", threads=2, feedback=log)
    b2 = select_backend(card, "auto", threads=2)
    assert b1.name == "onnx-cpu" and b2 is b1
    assert b1.sessions["geology"] is b2.sessions["geology"]
    assert any("onnx-cpu" in line for line in log.lines)
    with pytest.raises(MissingDependency):
        select_backend(card, "torch-cuda")
    with pytest.raises(InputError):
        select_backend(card, "tpu")
    with pytest.raises(InputError, match="no encoder"):
        b1.embed({"hyperspectral": {"x": windows(0, 2), "ids": [0, 1]}})


def test_tampered_onnx_is_reexported(model_dir, tmp_path):
    out, card, paths, _ = model_dir
    import shutil

    dst = tmp_path / "copy"
    shutil.copytree(out, dst)
    with open(dst / "onnx" / "fusion.onnx", "ab") as f:
        f.write(b"junk")
    log = Log()
    b = select_backend(str(dst / "model_card.json"), "onnx-cpu", feedback=log, cache=False)
    assert any("exporting them again" in line for line in log.lines)
    assert np.isfinite(b.embed(batch_for(["geology"]))).all()


def test_embed_scene_onnx_and_torch_agree(model_dir):
    _, card, _, model = model_dir
    rng = np.random.default_rng(3)
    h, w = 70, 90  # not a multiple of the window or the patch

    def stack(c):
        return np.stack([gaussian_filter(rng.normal(size=(h, w)), 3) * 5 for _ in range(c)]).astype(np.float32)

    chem = stack(3)
    chem[:, :, :20] = np.nan  # survey does not cover the west
    geo = stack(2)
    geo[:, :, :20] = np.nan  # ... nor does geophysics: the strip has no data at all
    scene = Scene({"geochemistry": SourceArray(chem, ["Cu", "Ni", "Mystery_ppm"]),
                   "geophysics": SourceArray(geo, ["magnetic", "gravity"])})
    log = Log()
    onnx_b = select_backend(card, "onnx-cpu")
    e1 = embed_scene(onnx_b, scene, feedback=log)
    e2 = embed_scene(select_backend(model, "torch-cpu", cache=False), scene)
    gh, gw = -(-h // CFG.patch), -(-w // CFG.patch)
    assert e1.grid.shape == (CFG.dim, gh, gw)
    assert not e1.present[:, :5].any() and e1.present[:, 6:].all()
    assert np.isnan(e1.grid[:, :, :5]).all() and np.isfinite(e1.grid[:, :, 6:]).all()
    ok = e1.present
    assert rel_err(e1.grid[:, ok], e2.grid[:, ok]) < 1e-4
    pix = e1.pixels()
    assert pix.shape == (CFG.dim, h, w)
    assert np.isnan(pix[:, :, :20]).all() and np.isfinite(pix[:, :, 24:]).all()
    assert any("Mystery_ppm" in line for line in log.lines)
    assert os.path.exists(card)
