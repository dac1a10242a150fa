"""Channel agnosticism, validity masking and the layer vocabulary of the source encoders."""

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from engine.core.errors import InputError
from engine.foundation.model.config import ModelConfig, count_flops
from engine.foundation.model.encoder import SourceEncoder
from engine.foundation.model.fusion import FoundationModel, pixel_embedding
from engine.data.vocab import VOCAB, layer_id, layer_ids, resolve

SMALL = ModelConfig(window=16, patch=4, dim=32, depth=1, heads=2, decoder_dim=32, decoder_depth=1, token_mode="patch")  # v1 tokens; layer tokens: test_model_layer_tokens.py


def smooth_stack(seed, c, b=2, size=16):
    rng = np.random.default_rng(seed)
    x = np.stack([[gaussian_filter(rng.normal(size=(size, size)), 2) for _ in range(c)] for _ in range(b)])
    return torch.from_numpy(((x - x.mean()) / x.std()).astype(np.float32))


GEOPHYS = ["magnetic", "gravity", "em_inphase", "em_quadrature", "resistivity", "gamma_k", "gamma_th", "gamma_u", "gamma_total"]


@pytest.fixture(scope="module")
def enc():
    torch.manual_seed(0)
    e = SourceEncoder(SMALL, "geophysics").eval()
    # Non-zero FiLM scales so layer types matter in the test as they do after training.
    with torch.no_grad():
        e.layer_emb.weight.normal_(0, 0.5)
    return e


def ids_of(names):
    return torch.tensor(layer_ids(names, "geophysics")[0])


def test_same_weights_take_3_and_9_channels(enc):
    with torch.no_grad():
        t3 = enc(smooth_stack(0, 3), None, ids_of(GEOPHYS[:3]))
        t9 = enc(smooth_stack(0, 9), None, ids_of(GEOPHYS))
    assert t3.shape == t9.shape == (2, SMALL.n_patches, SMALL.dim)
    assert torch.isfinite(t3).all() and torch.isfinite(t9).all()


def test_channel_order_does_not_matter(enc):
    x = smooth_stack(1, 9)
    ids = ids_of(GEOPHYS)
    perm = torch.tensor([4, 0, 8, 2, 6, 1, 7, 3, 5])
    with torch.no_grad():
        a = enc(x, None, ids)
        b = enc(x[:, perm], None, ids[perm])
        c = enc(x[:, perm], None, ids)  # same data, wrong type labels: must differ
    assert torch.allclose(a, b, atol=1e-5, rtol=1e-4)
    assert (a - c).abs().max() > 1e-3


def test_missing_layer_and_missing_source():
    torch.manual_seed(0)
    model = FoundationModel(SMALL).eval()
    x = smooth_stack(2, 9)
    with torch.no_grad():
        full = model.embed({"geophysics": {"x": x, "ids": ids_of(GEOPHYS)}})
        fewer = model.embed({"geophysics": {"x": x[:, [0, 2, 5]], "ids": ids_of([GEOPHYS[i] for i in (0, 2, 5)])},
                             "remote_sensing": {"x": smooth_stack(3, 2), "ids": torch.tensor(layer_ids(["dem", "band_red"], "remote_sensing")[0])}})
        pix = pixel_embedding(fewer, SMALL.grid, SMALL.patch)
    assert full.shape == fewer.shape == (2, SMALL.n_patches, SMALL.dim)
    assert torch.isfinite(fewer).all()
    assert pix.shape == (2, SMALL.dim, 16, 16)
    with pytest.raises(InputError):
        FoundationModel(SMALL, ["geophysics"]).embed({"geology": {"x": x[:, :1], "ids": torch.tensor([0])}})


def test_invalid_pixels_do_not_leak(enc):
    x = smooth_stack(4, 4)
    x[:, 1, :6, :] = float("nan")
    x[0, 2] = float("nan")  # a whole layer invalid in one window
    ids = ids_of(GEOPHYS[:4])
    y = x.clone()
    y[~torch.isfinite(x)] = 123.0
    valid = torch.isfinite(x).float()
    with torch.no_grad():
        a = enc(x, None, ids)
        b = enc(y, valid, ids)
        allnan = enc(torch.full_like(x, float("nan")), None, ids)
    assert torch.isfinite(a).all() and torch.isfinite(allnan).all()
    assert torch.allclose(a, b, atol=1e-6)


def test_masked_loss_ignores_invalid_pixels(enc):
    x = smooth_stack(5, 4)
    x[:, 0, 4:10, 2:12] = float("nan")
    x[1, 3] = float("nan")
    ids = ids_of(GEOPHYS[:4])
    outs = []
    for fill in (None, 0.0, 1e6):
        y = x.clone()
        valid = torch.isfinite(x).float()
        if fill is not None:
            y[~torch.isfinite(x)] = fill
        g = torch.Generator().manual_seed(3)
        outs.append(enc.mae_forward(y, valid, ids, generator=g))
    loss = outs[0]["loss"]
    assert torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in enc.parameters() if p.grad is not None)
    enc.zero_grad()
    assert torch.allclose(outs[0]["loss"], outs[1]["loss"]) and torch.allclose(outs[0]["loss"], outs[2]["loss"])
    assert outs[0]["mask"].sum() == 2 * round(SMALL.n_patches * SMALL.mask_ratio)
    assert outs[0]["recon"].shape == x.shape


def test_vocab_fallback_and_aliases():
    assert VOCAB[layer_id("magnetic", "geophysics")] == "magnetic"
    assert VOCAB[layer_id("Cu_ppm", "geochemistry")] == "Cu"
    assert VOCAB[layer_id("cu", "geochemistry")] == "Cu"
    assert VOCAB[layer_id("K", "geophysics")] == "gamma_k"
    assert VOCAB[layer_id("K", "geochemistry")] == "K"
    i, known = resolve("hyperspectral_band_7", "remote_sensing")
    assert VOCAB[i] == "unknown_remote_sensing" and not known
    ids, unknown = layer_ids(["gravity", "mystery"], "geophysics")
    assert unknown == ["mystery"] and VOCAB[ids[1]] == "unknown_geophysics"
    for el in ["Al", "Ba", "Zr", "Au", "U", "aem_50m", "em_ratio", "band_swir2"]:
        assert resolve(el, "geochemistry")[1]


def test_count_flops_default_config():
    cfg = ModelConfig()
    one = count_flops(cfg, 10)
    full = count_flops(cfg)
    assert 1e7 < one < full < 2e9


def test_idw_prior_is_the_inverse_distance_fill_and_never_leaks_a_hidden_channel():
    """The decoder corrects a fixed fill: 1/d^4-weighted mean of every visible valid pixel of the window."""
    from engine.foundation.model.layers import patchify

    from dataclasses import replace

    torch.manual_seed(0)
    e = SourceEncoder(replace(SMALL, recon_prior="idw"), "geophysics").eval()
    x = torch.randn(2, 3, 16, 16)
    x[0, 1, :5, :5] = float("nan")  # invalid pixels take no part
    xz, v = torch.nan_to_num(x), torch.isfinite(x).float()
    xp, vp = patchify(xz, 4), patchify(v, 4)
    keep = torch.tensor([[0, 5, 10, 15], [1, 6, 11, 12]])
    hidden = torch.tensor([[i for i in range(16) if i not in k] for k in keep.tolist()])
    fill = e.prior_hidden(xp, vp, keep, hidden)  # (B, C, M, 16)
    yy, xx = np.mgrid[0:16, 0:16]
    pix_patch = (yy // 4) * 4 + xx // 4
    for b in range(2):
        for c in range(3):
            seen = np.isin(pix_patch, keep[b].numpy()) & np.isfinite(x[b, c].numpy())
            for m, patch in enumerate(hidden[b].tolist()):
                py, px = divmod(patch, 4)
                ty, tx = py * 4 + 1, px * 4 + 2  # one pixel of the hidden patch
                d2 = (yy[seen] - ty) ** 2 + (xx[seen] - tx) ** 2
                w = 1.0 / d2.astype(np.float64) ** 2
                want = (w * x[b, c].numpy()[seen]).sum() / w.sum()
                assert abs(float(fill[b, c, m, 1 * 4 + 2]) - want) < 1e-4
    # a channel hidden from the encoder has no visible pixels for its own fill
    out = e.mae_forward(x, None, torch.tensor([1, 2, 3]), input_channels=torch.tensor([True, False, True]))
    assert torch.isfinite(out["loss"])
    no_vis = e.prior_hidden(xp, vp * torch.tensor([1.0, 0.0, 1.0])[None, :, None, None], keep, hidden)
    assert float(no_vis[:, 1].abs().max()) == 0.0
    # cards written before the prior existed load as recon_prior "none"
    idw = replace(SMALL, recon_prior="idw").to_dict()
    assert ModelConfig.from_dict({k: v for k, v in idw.items() if k != "recon_prior"}).recon_prior == "none"
    assert ModelConfig.from_dict(idw).recon_prior == "idw"


def test_reconstruction_scores_report_the_prior_alone_for_an_idw_model():
    """A fresh idw-prior model's decoder adds exactly 0 (zero-initialised head): model error == prior error."""
    from dataclasses import replace

    from engine.foundation.model.evaluate import reconstruction_scores

    torch.manual_seed(0)
    model = FoundationModel(replace(SMALL, recon_prior="idw"), ["geophysics"]).eval()
    rng = np.random.default_rng(0)
    w = gaussian_filter(rng.normal(size=(6, 2, 16, 16)), (0, 0, 2, 2)).astype(np.float32) * 5
    r = reconstruction_scores(model, "geophysics", w, ["magnetic", "gravity"])
    assert abs(r["model"] - r["prior"]) < 1e-6 and r["prior"] < r["mean_fill"]
    assert "prior" not in reconstruction_scores(FoundationModel(SMALL, ["geophysics"]).eval(), "geophysics", w,
                                                ["magnetic", "gravity"])


def test_per_layer_masks_hide_layers_not_places_and_never_leak_a_hidden_value():
    """mae_layers_forward: each (layer, patch) hidden on its own; a hidden patch's values cannot
    reach the reconstruction (changing them changes nothing), visible ones come back unchanged."""
    torch.manual_seed(0)
    e = SourceEncoder(SMALL, "geophysics").eval()
    x = smooth_stack(5, 4, b=3)
    ids = ids_of(GEOPHYS[:4])
    out = e.mae_layers_forward(x, None, ids, generator=torch.Generator().manual_seed(1))
    hidden = out["mask"]
    assert hidden.shape == (3, 4, SMALL.n_patches)
    # per layer, not per patch: some patch is hidden in one layer and shown in another
    assert bool((hidden.any(1) & ~hidden.all(1)).any())
    assert 0.6 < float(hidden.float().mean()) < 0.9
    from engine.foundation.model.layers import patchify, unpatchify

    pix = unpatchify(patchify(torch.ones_like(x), 4) * hidden[..., None].float(), 4, SMALL.grid).bool()
    assert torch.equal(out["recon"][~pix], x[~pix])
    y = x.clone()
    y[pix] = 50.0
    again = e.mae_layers_forward(y, None, ids, hidden=hidden)
    assert torch.allclose(again["recon"][pix], out["recon"][pix], atol=1e-5)
    loss = again["loss"]
    loss.backward()
    assert torch.isfinite(loss) and e.patch_embed.weight.grad is not None
    with pytest.raises(ValueError, match="prior"):
        from dataclasses import replace

        SourceEncoder(replace(SMALL, recon_prior="idw"), "geophysics").mae_layers_forward(x, None, ids)


def test_regression_idw_baseline_uses_the_colocated_layers():
    """Layer 1 = 2 x layer 0: with layer 1 hidden where layer 0 is seen, the regression fill recovers
    it almost exactly while single-layer IDW cannot."""
    from engine.foundation.model.evaluate import _idw_fill, _regression_idw

    rng = np.random.default_rng(0)
    a = gaussian_filter(rng.normal(size=(32, 32)), 1.0)
    target = np.stack([a, 2 * a + 0.5])
    seen = np.ones_like(target, bool)
    seen[1, 8:20, 8:20] = False
    reg = _regression_idw(target, seen)
    idw = _idw_fill(target[1], seen[1])
    hid = ~seen[1]
    assert np.mean((reg[1][hid] - target[1][hid]) ** 2) < 0.01 * np.mean((idw[hid] - target[1][hid]) ** 2)
