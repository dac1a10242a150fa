"""The model shipped in models/: verified on load, runs from its own ONNX files, embeddings carry geology."""

import os

import pytest
from helpers import KOLARI_CROP

from engine.foundation.features import DEFAULT_MODEL

pytestmark = pytest.mark.slow

SHIPPED = DEFAULT_MODEL


def test_shipped_card_verifies_and_onnx_files_are_used_as_shipped():
    from engine.foundation.model.backend import select_backend
    from engine.foundation.model.weights import read_card, verify_weights

    card = read_card(SHIPPED)
    assert verify_weights(card).endswith("weights.safetensors")
    assert set(card["sources"]) == {"geology", "geochemistry", "geophysics", "remote_sensing"}
    assert card["data"]["labels_used"] is False and card["data"]["held_out_bounds"]
    before = {f: os.path.getmtime(os.path.join(SHIPPED, "onnx", f)) for f in os.listdir(os.path.join(SHIPPED, "onnx"))}
    b = select_backend(SHIPPED, "onnx-cpu", cache=False)
    assert b.name == "onnx-cpu"
    after = {f: os.path.getmtime(os.path.join(SHIPPED, "onnx", f)) for f in os.listdir(os.path.join(SHIPPED, "onnx"))}
    assert before == after  # the shipped, sha-checked ONNX files were used, not re-exported


def test_frozen_embeddings_separate_intrusions_from_host_better_than_untrained():
    torch = pytest.importorskip("torch")
    from engine.foundation.model.backend import select_backend
    from engine.foundation.model.config import ModelConfig
    from engine.foundation.model.evaluate import intrusion_probe
    from engine.foundation.model.fusion import FoundationModel

    shipped = intrusion_probe(select_backend(SHIPPED, "onnx-cpu"))  # 16 unseen scenes, 4-fold by scene groups
    torch.manual_seed(0)
    untrained = intrusion_probe(select_backend(FoundationModel(ModelConfig()).eval(), "torch-cpu", cache=False))
    assert shipped > 0.94, shipped
    assert shipped > untrained + 0.01, (shipped, untrained)  # measured: 0.956 vs 0.930 (v1: 0.966)


def test_reconstructs_held_out_kolari_better_than_mean_fill_and_interpolation(kolari, tmp_path):
    """The issue's evidence on the model users get: held-out block (never seen in pretraining) at
    the 100 m it was trained at, bench_model.py's windows and masks. Measured 2026-12-02 (MSE):
    geophysics 1.001 vs IDW 1.060 / mean-fill 1.492, geochemistry 0.079 vs 0.097 / 0.500, geology
    0.028 vs 0.016 / 0.072 (IDW still wins on the piecewise-constant geology layers)."""
    from engine.demo import kolari_spec
    from engine.foundation.model.evaluate import reconstruction_scores, sample_windows
    from engine.foundation.model.weights import load_model
    from engine.data.reader import Stack
    from engine.data.stack import align_stack

    model = load_model(SHIPPED)
    align_stack(kolari_spec(kolari, res=100.0, bounds=KOLARI_CROP), str(tmp_path / "heldout"))
    with Stack(str(tmp_path / "heldout")) as st:
        scene = st.scene()
    for source in ("geophysics", "geochemistry", "geology"):
        windows = sample_windows(scene.sources[source].data, model.config.window, 64, seed=0)
        r = reconstruction_scores(model, source, windows, scene.sources[source].layers)
        assert r["model"] < 0.8 * r["mean_fill"], (source, r)
        if source != "geology":
            assert r["model"] < r["idw"], (source, r)
