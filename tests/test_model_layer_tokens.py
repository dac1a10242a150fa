"""token_mode "layer": one token per (layer, patch) through axial blocks, pooled at the end.

What must hold for it to be a drop-in encoder: same embedding shape, any number and order of
layers, hidden values never reach their own reconstruction, ONNX agrees with torch, and it can
learn what a pooled token cannot (a hidden layer from the co-located visible ones)."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from engine.foundation.model.config import ModelConfig
from engine.foundation.model.encoder import SourceEncoder
from engine.foundation.model.fusion import FoundationModel

SMALL = ModelConfig(window=16, patch=4, dim=32, depth=1, heads=2, decoder_dim=32, decoder_depth=1,
                    token_mode="layer", layer_dim=16)


def smooth(seed, c, b=2, size=16):
    rng = np.random.default_rng(seed)
    x = np.stack([[gaussian_filter(rng.normal(size=(size, size)), 2) for _ in range(c)] for _ in range(b)])
    return torch.from_numpy(((x - x.mean()) / x.std()).astype(np.float32))


@pytest.fixture(scope="module")
def enc():
    torch.manual_seed(0)
    e = SourceEncoder(SMALL, "geophysics").eval()
    with torch.no_grad():  # non-zero FiLM scales and decoder head, as after training
        e.layer_emb.weight.normal_(0, 0.5)
        e.ldec_head.weight.normal_(0, 0.3)
        e.head.mlp.fc2.weight.normal_(0, 0.3)
    return e


def test_any_number_and_order_of_layers_same_embedding_shape(enc):
    ids = torch.arange(1, 10)
    x = smooth(0, 9)
    perm = torch.tensor([4, 0, 8, 2, 6, 1, 7, 3, 5])
    with torch.no_grad():
        t3 = enc(x[:, :3], None, ids[:3])
        a, b = enc(x, None, ids), enc(x[:, perm], None, ids[perm])
        wrong = enc(x[:, perm], None, ids)  # same data under the wrong layer types
    assert t3.shape == a.shape == (2, SMALL.n_patches, SMALL.dim)
    assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    assert (a - wrong).abs().max() > 1e-3


def test_hidden_patches_never_reach_their_reconstruction(enc):
    x, ids = smooth(1, 4), torch.arange(1, 5)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    with torch.no_grad():
        out = enc.mae_forward(x, None, ids, generator=g())
        hidden = out["mask"]  # (B, N) True = hidden
        pix = hidden.reshape(2, 4, 4).repeat_interleave(4, 1).repeat_interleave(4, 2)[:, None].expand_as(x)
        y = torch.where(pix, x * -3 + 5, x)  # change only what is hidden
        again = enc.mae_forward(y, None, ids, generator=g())
    assert torch.allclose(out["recon"][pix], again["recon"][pix], atol=1e-5)
    assert not torch.allclose(out["loss"], again["loss"])  # the targets did change


def test_a_channel_hidden_from_the_encoder_cannot_leak_into_its_reconstruction(enc):
    x, ids = smooth(2, 3), torch.arange(1, 4)
    use = torch.tensor([True, False, True])
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    with torch.no_grad():
        a = enc.mae_forward(x, None, ids, input_channels=use, generator=g())
        y = x.clone()
        y[:, 1] = y[:, 1] * 4 - 2
        b = enc.mae_forward(y, None, ids, input_channels=use, generator=g())
    hid = a["mask"].reshape(2, 4, 4).repeat_interleave(4, 1).repeat_interleave(4, 2)
    assert torch.allclose(a["recon"][:, 1][hid], b["recon"][:, 1][hid], atol=1e-5)


def test_per_layer_mask_never_leaks_a_hidden_value(enc):
    x, ids = smooth(3, 5), torch.arange(1, 6)
    with torch.no_grad():
        out = enc.mae_layers_forward(x, None, ids, generator=torch.Generator().manual_seed(1))
        hidden = out["mask"]  # (B, C, N)
        pix = hidden.reshape(2, 5, 4, 4).repeat_interleave(4, 2).repeat_interleave(4, 3)
        again = enc.mae_layers_forward(torch.where(pix, x + 7, x), None, ids, hidden=hidden)
    assert hidden.float().mean().item() == pytest.approx(0.75, abs=0.1)
    assert torch.allclose(out["recon"][pix], again["recon"][pix], atol=1e-5)


def test_layer_tokens_learn_a_hidden_layer_from_its_colocated_copy():
    """Layer 2 is a copy of layer 1 (negated): with per-layer masks a hidden patch of one is
    usually visible in the other, so the error must fall far below what spatial context alone
    allows -- the cross-layer path works."""
    torch.manual_seed(0)
    cfg = replace(SMALL, layer_dim=32, depth=2, pooled_loss_weight=0.0)
    e = SourceEncoder(cfg, "geophysics")
    ids = torch.tensor([1, 2])
    opt = torch.optim.AdamW(e.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)

    def batch():
        a = np.stack([gaussian_filter(rng.normal(size=(16, 16)), 1.0) for _ in range(16)])
        a = (a / a.std()).astype(np.float32)
        return torch.from_numpy(np.stack([a, -a], 1))

    for step in range(250):
        out = e.mae_layers_forward(batch(), None, ids, generator=torch.Generator().manual_seed(step))
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
    e.eval()
    x = batch()
    g = torch.Generator().manual_seed(999)
    hidden = torch.rand(x.shape[0], 2, cfg.n_patches, generator=g) < 0.5
    hidden[:, 1] = ~hidden[:, 0]  # every hidden patch of one layer is visible in the other
    with torch.no_grad():
        out = e.mae_layers_forward(x, None, ids, hidden=hidden)
    pix = hidden.reshape(-1, 2, 4, 4).repeat_interleave(4, 2).repeat_interleave(4, 3)
    mse = float(((out["recon"] - x)[pix] ** 2).mean())
    assert mse < 0.25 * float((x[pix] ** 2).mean()), mse


def test_layer_mode_exports_to_onnx_matching_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    from engine.foundation.model.backend import select_backend
    from engine.foundation.model.onnx_export import export_onnx
    from engine.foundation.model.weights import save_model

    torch.manual_seed(0)
    cfg = replace(ModelConfig(), token_mode="layer")
    model = FoundationModel(cfg, ["geophysics", "geochemistry"]).eval()
    card = save_model(model, str(tmp_path), flops=1, flops_channels={"geophysics": 3, "geochemistry": 5})
    export_onnx(model, str(tmp_path / "onnx"), card_path=card)
    onnx_b = select_backend(card, "onnx-cpu", cache=False)
    torch_b = select_backend(model, "torch-cpu", cache=False)
    rng = np.random.default_rng(1)
    for c in (3, 7):
        x = np.stack([[gaussian_filter(rng.normal(size=(32, 32)), 2) * 4 for _ in range(c)] for _ in range(3)]).astype(np.float32)
        x[0, 0, :10] = np.nan
        batch = {"geophysics": {"x": x[:, :3], "ids": np.arange(1, 4)}, "geochemistry": {"x": x, "ids": np.arange(20, 20 + c)}}
        a, b = onnx_b.embed(batch), torch_b.embed(batch)
        assert a.shape == (3, cfg.n_patches, cfg.dim) and np.isfinite(a).all()
        assert float(np.abs(a - b).max() / np.abs(b).max()) < 1e-4


def test_cards_written_before_token_modes_read_as_patch_tokens():
    old = {k: v for k, v in ModelConfig().to_dict().items() if k not in ("token_mode", "layer_dim")}
    assert ModelConfig.from_dict(old).token_mode == "patch"
    with pytest.raises(ValueError, match="token_mode"):
        ModelConfig(token_mode="pixel")
