"""Channel-agnostic per-source encoders: invariances, masked loss, training, safe weights, ONNX parity."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from engine.core.errors import InputError  # noqa: E402
from engine.foundation.model.config import ModelConfig  # noqa: E402
from engine.foundation.model.encoder import SourceEncoder  # noqa: E402
from engine.foundation.model.fusion import FoundationModel  # noqa: E402
from engine.data.vocab import layer_ids  # noqa: E402

GEOPHYSICS = ["magnetic", "gravity", "em_inphase", "em_quadrature", "resistivity", "gamma_k", "gamma_th", "gamma_u",
              "gamma_total"]


def _fields(seed, c, size=32, b=2):
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(b, c, size, size)).astype(np.float32)
    return np.stack([np.stack([gaussian_filter(x[i, j], 2) * 3 for j in range(c)]) for i in range(b)]).astype(np.float32)


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return SourceEncoder(ModelConfig(), "geophysics").eval()


def _ids(names):
    return torch.from_numpy(np.asarray(layer_ids(names, "geophysics")[0], np.int64))


def test_same_weights_take_any_number_of_layers(encoder):
    with torch.no_grad():
        few = encoder(torch.from_numpy(_fields(0, 3)), None, _ids(GEOPHYSICS[:3]))
        many = encoder(torch.from_numpy(_fields(0, 9)), None, _ids(GEOPHYSICS))
    n = ModelConfig().n_patches
    assert few.shape == many.shape == (2, n, ModelConfig().dim)
    assert not torch.allclose(few, many)


def test_layer_order_does_not_matter(encoder):
    x = torch.from_numpy(_fields(1, 9))
    ids = _ids(GEOPHYSICS)
    perm = torch.from_numpy(np.random.default_rng(0).permutation(9))
    with torch.no_grad():
        a = encoder(x, None, ids)
        b = encoder(x[:, perm], None, ids[perm])
    torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)


def test_missing_layer_is_not_a_layer_of_zeros(encoder):
    x = torch.from_numpy(_fields(2, 9))
    ids = _ids(GEOPHYSICS)
    with torch.no_grad():
        dropped = encoder(x[:, 1:], None, ids[1:])
        nan_layer = x.clone()
        nan_layer[:, 0] = float("nan")  # a layer with no data at all counts as missing
        masked = encoder(nan_layer, None, ids)
        zeros = x.clone()
        zeros[:, 0] = 0
        zero_valued = encoder(zeros, None, ids)
    torch.testing.assert_close(dropped, masked, atol=2e-5, rtol=1e-4)
    assert not torch.allclose(dropped, zero_valued, atol=1e-3)


def test_masked_loss_ignores_invalid_pixels(encoder):
    x = torch.from_numpy(_fields(3, 4))
    ids = _ids(GEOPHYSICS[:4])
    x[:, 2, 5:20, 3:30] = float("nan")
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731  same mask both times
    out = encoder.mae_forward(x, None, ids, generator=g())
    assert torch.isfinite(out["loss"])
    valid = torch.isfinite(x)
    y = torch.where(valid, x, torch.full_like(x, 1e6))  # garbage where invalid, flagged by the mask
    out2 = encoder.mae_forward(y, valid, ids, generator=g())
    torch.testing.assert_close(out["loss"], out2["loss"])


def test_cancelled_pretraining_resumes_where_it_stopped(tmp_path):
    from engine.core.errors import Cancelled
    from engine.foundation.model.pretrain import pretrain
    from engine.foundation.pretrain_data import synthetic_scenes
    from engine.core.progress import Feedback

    class CancelAt(Feedback):
        def __init__(self, n):
            self.n, self.calls = n, 0

        def isCanceled(self):  # noqa: N802
            self.calls += 1
            return self.calls > self.n

    scenes = synthetic_scenes(2, seed=2, size=64)
    kw = dict(steps_stage1=20, steps_stage2=0, out_dir=str(tmp_path), seed=0, batch_size=4, checkpoint_every=5)
    with pytest.raises(Cancelled):
        pretrain(scenes, feedback=CancelAt(12), **kw)
    assert os.path.exists(tmp_path / "checkpoint.pt") and not os.path.exists(tmp_path / "weights.safetensors")
    s2 = pretrain(scenes, **kw)
    import csv

    steps1 = [int(r["step"]) for r in csv.DictReader(open(s2["losses_csv"])) if r["stage"] == "1" and r["source"] == "geophysics"]
    assert steps1 == list(range(20))  # each step once: resumed, not restarted


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    from engine.foundation.model.weights import save_model

    torch.manual_seed(0)
    m = FoundationModel(ModelConfig(), ["geophysics", "geochemistry"]).eval()
    folder = tmp_path_factory.mktemp("model")
    card = save_model(m, str(folder), data={"note": "random init, tests only"})
    return m, card


def test_save_load_roundtrip_and_sha_check(small_model, tmp_path):
    import shutil

    from engine.foundation.model.weights import load_model

    m, card = small_model
    loaded = load_model(card)
    batch = {"geophysics": {"x": _fields(4, 3), "ids": layer_ids(GEOPHYSICS[:3], "geophysics")[0]}}
    with torch.no_grad():
        torch.testing.assert_close(m.embed(batch), loaded.embed(batch))
    bad = tmp_path / "bad"
    shutil.copytree(os.path.dirname(card), bad)
    w = bad / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(InputError, match="does not match its card"):
        load_model(str(bad / "model_card.json"))


def test_model_card_handle_reads_once_and_verifies_once(small_model, tmp_path, monkeypatch):
    """open_model gives the one model-card type: the folder's files, its sha256 check done once, the same
    handle accepted by load_model / select_backend without reading the card again; a damaged copy is refused."""
    import pickle
    import shutil

    from engine.foundation.model import weights as W

    _m, card = small_model
    handle = W.open_model(os.path.dirname(card))
    assert W.open_model(handle) is handle
    assert handle.path == os.path.abspath(card) and handle.name == os.path.basename(os.path.dirname(card))
    assert handle.files["weights"] == os.path.join(handle.folder, "weights.safetensors")
    assert handle.sha256 == W.sha256_file(handle.files["weights"])
    hashed, reads = [], []
    real_sha, real_read = W.sha256_file, W.read_card_file
    monkeypatch.setattr(W, "sha256_file", lambda p, *a: hashed.append(p) or real_sha(p, *a))
    monkeypatch.setattr(W, "read_card_file", lambda *a, **k: reads.append(a[0]) or real_read(*a, **k))
    assert handle.verify() == handle.verify() == handle.files["weights"]
    W.load_model(handle)
    assert len(hashed) == 1 and not reads, (hashed, reads)
    assert pickle.loads(pickle.dumps(handle))._weights is None  # a worker checks for itself
    bad = tmp_path / "bad"
    shutil.copytree(handle.folder, bad)
    w = bad / "weights.safetensors"
    data = bytearray(w.read_bytes())
    data[-1] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(InputError, match="does not match its card"):
        W.open_model(str(bad)).verify()


def test_pickle_disguised_as_weights_is_refused_without_running(small_model, tmp_path):
    import json
    import pickle
    import shutil

    from engine.foundation.model.weights import load_model, sha256_file

    _, card = small_model
    evil = tmp_path / "evil"
    shutil.copytree(os.path.dirname(card), evil)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (evil / "weights.safetensors").write_bytes(pickle.dumps(Payload()))
    c = json.load(open(evil / "model_card.json"))
    c["sha256"] = sha256_file(str(evil / "weights.safetensors"))  # even with a matching card
    json.dump(c, open(evil / "model_card.json", "w"))
    with pytest.raises(InputError, match="refused|not a readable safetensors"):
        load_model(str(evil / "model_card.json"))
    assert not marker.exists()


def test_onnx_matches_torch_on_real_kolari_windows(small_model, kolari_stack, tmp_path):
    from engine.foundation.model.backend import select_backend
    from engine.foundation.model.infer import embed_scene
    from engine.data.reader import Stack

    m, card = small_model
    with Stack(kolari_stack) as st:
        scene = st.scene()
    scene.sources = {k: v for k, v in scene.sources.items() if k in m.sources}
    t = embed_scene(select_backend(card, "torch-cpu", cache=False), scene)
    o = embed_scene(select_backend(card, "onnx-cpu", onnx_dir=str(tmp_path), cache=False), scene)
    ok = np.isfinite(t.grid)
    assert ok.mean() > 0.5
    np.testing.assert_array_equal(ok, np.isfinite(o.grid))
    rel = np.abs(t.grid[ok] - o.grid[ok]).max() / np.abs(t.grid[ok]).max()
    assert rel < 1e-4, rel


def test_onnx_files_describe_themselves(small_model, tmp_path):
    from engine.foundation.model.onnx_export import export_onnx, read_metadata

    m, card = small_model
    paths = export_onnx(m, str(tmp_path))
    meta = read_metadata(paths["geophysics"])
    assert meta["source"] == "geophysics" and int(meta["window_size"]) == ModelConfig().window
    assert "magnetic" in meta["layer_vocabulary"] and "normalisation" in meta


def test_auto_backend_is_onnx_on_a_cpu_machine(small_model, tmp_path):
    from engine.foundation.model.backend import select_backend

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: auto picks torch-cuda there")
    _, card = small_model
    msgs = []

    class Log:
        def pushInfo(self, t):  # noqa: N802
            msgs.append(t)

        def isCanceled(self):  # noqa: N802
            return False

        def setProgress(self, p):  # noqa: N802
            pass

    b = select_backend(card, "auto", onnx_dir=str(tmp_path), feedback=Log(), cache=False)
    assert b.name == "onnx-cpu"
    assert any("onnx-cpu" in m and "auto" in m for m in msgs)
    with pytest.raises(Exception, match="no CUDA GPU"):
        select_backend(card, "torch-cuda", cache=False)
