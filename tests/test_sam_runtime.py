"""SAM runtime: band stretch, SAM geometry, ONNX export vs torch, the predictor, the embedding cache,
official checkpoints (and refusing pickles that run code)."""

import os
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from engine.core.errors import InputError, MissingDependency  # noqa: E402
from engine.structures import predictor as predictor_mod  # noqa: E402
from engine.structures.cache import EmbeddingCache, file_parts  # noqa: E402
from engine.structures.image import from_model_xy, input_size, prepare, stretch_bands, to_model_xy  # noqa: E402
from engine.structures.predictor import StructurePredictor  # noqa: E402

MAG = os.path.join("Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif")
WINDOW = ((400, 600), (300, 600))  # 200 rows x 300 cols of magnetics over the Kolari belt

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def geosam_dir(tmp_path_factory):
    """An untrained, seeded GeoSAM saved as a model folder with its ONNX files."""
    from engine.structures.modeling import build_geosam
    from engine.structures.onnx_export import export_model_folder
    from engine.structures.weights import save_geosam

    torch.manual_seed(0)
    sam = build_geosam()
    out = tmp_path_factory.mktemp("geosam") / "mpm-geosam-test"
    out.mkdir()
    save_geosam(sam, str(out), name="mpm-geosam-test")
    export_model_folder(str(out))
    return str(out)


@pytest.fixture(scope="module")
def mag_view(kolari):
    import rasterio

    path = os.path.join(kolari, MAG)
    with rasterio.open(path) as src:
        a = src.read(1, window=WINDOW, masked=True)
    view = np.ma.filled(a.astype(np.float32), np.nan)
    view[view < -1e5] = np.nan  # -999999 variants of the nodata
    assert view.shape == (200, 300) and np.isfinite(view).mean() > 0.9
    return view[None], path


@pytest.fixture(scope="module")
def geosam(geosam_dir):
    from engine.structures.weights import load_geosam

    return load_geosam(geosam_dir)


# ------------------------------------------------------------------ image.py
def test_stretch_bands_one_two_three_bands():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(40, 50)).astype(np.float32)
    a[0, 0] = 1e6                     # an outlier must not squash the stretch (2-98 %)
    a[5, :10] = np.nan                # nodata
    one = stretch_bands(a[None])
    assert one.shape == (3, 40, 50) and one.dtype == np.float32
    assert np.array_equal(one[0], one[1]) and np.array_equal(one[0], one[2])
    assert one.min() == 0 and one.max() == 255
    assert (one[0, 5, :10] == 0).all()
    assert one[0, 0, 0] == 255                            # clipped, not 1e6-scaled
    assert 100 < np.median(one[0][np.isfinite(a)]) < 155  # the bulk keeps the contrast
    b = rng.uniform(10, 20, size=(40, 50))
    two = stretch_bands(np.stack([a, b]))
    np.testing.assert_allclose(two[2], 0.5 * (two[0] + two[1]), rtol=1e-6)
    c = -b
    three = stretch_bands(np.stack([a, b, c]))
    np.testing.assert_allclose(three[1] + three[2], 255.0, atol=1e-3)  # c = -b mirrors b
    # a valid mask acts like NaN, and a 2-D image is one band
    v = np.ones((40, 50), bool)
    v[:, :3] = False
    masked = stretch_bands(a, valid=v)
    assert (masked[:, :, :3] == 0).all() and masked.shape == (3, 40, 50)


@pytest.mark.parametrize("bands, valid, words", [
    (np.zeros((0, 8, 8)), None, "1 to 3 bands"),
    (np.zeros((4, 8, 8)), None, "1 to 3 bands"),
    (np.full((1, 8, 8), np.nan), None, "no valid pixel"),
    (np.random.default_rng(0).normal(size=(1, 8, 8)), np.zeros((8, 8), bool), "no valid pixel"),
    (np.stack([np.arange(64.0).reshape(8, 8), np.full((8, 8), 3.0)]), None, "band 2 is constant"),
    (np.stack([np.arange(64.0).reshape(8, 8), np.full((8, 8), np.nan)]), None, "band 2 has no valid pixel"),
])
def test_stretch_bands_errors(bands, valid, words):
    with pytest.raises(InputError) as e:
        stretch_bands(bands, valid)
    assert words in str(e.value) and "Fix:" in str(e.value)


def test_stretch_bands_mostly_flat_band_uses_full_range():
    a = np.zeros((1, 20, 20))
    a[0, 0, :3] = 5.0  # 2nd and 98th percentiles are both 0: fall back to min..max instead of failing
    s = stretch_bands(a)
    assert s[0, 0, 0] == 255 and s[0, 10, 10] == 0


@pytest.mark.parametrize("img_size", [256, 1024])
def test_prepare_and_coords_round_trip_non_square(img_size):
    H, W = 200, 300
    img = np.zeros((3, H, W), np.float32)
    img[:, :, : W // 2] = 200.0                   # left half bright
    x, hw = prepare(img, img_size, pad_value=[127.5, 100.0, 50.0])
    assert x.shape == (1, 3, img_size, img_size) and x.dtype == np.float32
    assert hw == input_size((H, W), img_size) == (int(H * img_size / W + 0.5), img_size)
    assert (x[0, 0, hw[0]:] == 127.5).all() and (x[0, 2, hw[0]:] == 50.0).all()   # padded bottom
    assert x[0, 0, : hw[0], : hw[1] // 2 - 2].min() > 199 and x[0, 0, : hw[0], hw[1] // 2 + 2:].max() < 1
    pts = np.array([[0.0, 0.0], [W, H], [W / 2, H / 2], [12.25, 187.5]])
    m = to_model_xy(pts, (H, W), img_size)
    np.testing.assert_allclose(m[0], [-0.5, -0.5])                       # SAM adds 0.5 back
    np.testing.assert_allclose(m[1], [hw[1] - 0.5, hw[0] - 0.5], atol=1e-4)
    np.testing.assert_allclose(from_model_xy(m, (H, W), img_size), pts, atol=1e-3)
    # the model's own +0.5 puts a click on pixel (r, c)'s centre where the resized pixel would be
    centre = (m[3] + 0.5) / np.array([hw[1] / W, hw[0] / H])
    np.testing.assert_allclose(centre, pts[3], atol=1e-3)


def test_prepare_matches_sam_preprocess(geosam):
    """Padding with pixel_mean then normalising = SAM's normalise-then-pad-with-zeros."""
    img = stretch_bands(np.random.default_rng(2).normal(size=(1, 90, 60)))
    x, hw = prepare(img, 256, pad_value=[float(v) for v in geosam.pixel_mean.flatten()])
    ours = (torch.from_numpy(x) - geosam.pixel_mean) / geosam.pixel_std
    theirs = geosam.preprocess(torch.from_numpy(x[:, :, : hw[0], : hw[1]].copy()))
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5)


# ------------------------------------------------------------------ ONNX vs torch
def _reference(sam, emb, pts, labels, box, mask_in, orig_hw):
    """SAM's own torch path (prompt encoder, mask decoder, postprocess_masks) with SAM's ONNX
    rule for which mask to return: best multimask candidate for <= 2 prompt points, else token 0."""
    S = sam.image_encoder.img_size
    n = (0 if pts is None else len(pts)) + (2 if box is not None else 1)
    points = None
    if pts is not None:
        points = (torch.from_numpy(to_model_xy(pts, orig_hw, S))[None], torch.tensor(labels, dtype=torch.int)[None])
    boxes = None
    if box is not None:
        boxes = torch.from_numpy(to_model_xy(np.reshape(box, (2, 2)), orig_hw, S).reshape(1, 4))
    masks = None if mask_in is None else torch.from_numpy(mask_in)
    with torch.no_grad():
        sparse, dense = sam.prompt_encoder(points=points, boxes=boxes, masks=masks)
        low, iou = sam.mask_decoder(image_embeddings=torch.from_numpy(emb), image_pe=sam.prompt_encoder.get_dense_pe(),
                                    sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                    multimask_output=n <= 2)
        i = int(iou[0].argmax())
        low, iou = low[:, i:i + 1], iou[:, i]
        up = sam.postprocess_masks(low, input_size(orig_hw, S), orig_hw)
    return up[0, 0].numpy(), float(iou[0]), low.numpy()


def _rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


def test_onnx_decoder_matches_torch_on_kolari(geosam_dir, geosam, mag_view):
    view, _ = mag_view
    onnx_p = StructurePredictor(geosam_dir, backend="onnx-cpu", cache=False)
    torch_p = StructurePredictor(geosam_dir, backend="torch-cpu", cache=False)
    assert onnx_p.decoder_backend == onnx_p.encoder_backend == "onnx-cpu"
    assert torch_p.decoder_backend == "torch-cpu"
    emb = torch_p.set_image(view)
    onnx_p.set_embedding(emb, view.shape[1:])
    H, W = view.shape[1:]
    prev = torch_p.predict(points=[[150.5, 100.5]], labels=[1]).low_res_logits
    cases = [
        dict(points=[[150.5, 100.5], [40.0, 30.0], [260.0, 180.0]], labels=[1, 1, 0]),   # clicks (token 0)
        dict(box=[60.0, 40.0, 220.0, 170.0]),                                           # box only (multimask pick)
        dict(points=[[120.0, 80.0]], labels=[1], box=[60.0, 40.0, 220.0, 170.0]),       # click + box
        dict(points=[[150.5, 100.5]], labels=[1], mask_input=prev),                     # refine a previous mask
    ]
    for case in cases:
        ref_logits, ref_score, ref_low = _reference(geosam, emb, np.array(case["points"]) if "points" in case else None,
                                                    case.get("labels"), case.get("box"), case.get("mask_input"), (H, W))
        for p in (onnx_p, torch_p):
            r = p.predict(**case)
            assert r.logits.shape == (H, W)
            assert _rel(r.logits, ref_logits) < 1e-4, (p.decoder_backend, case)
            assert _rel(r.low_res_logits, ref_low) < 1e-4
            assert abs(r.score - ref_score) < 1e-4
    # multimask: SAM's 3 candidates, best first, on both backends
    a = onnx_p.predict(points=[[150.5, 100.5]], labels=[1], multimask=True)
    b = torch_p.predict(points=[[150.5, 100.5]], labels=[1], multimask=True)
    assert len(a) == len(b) == 3 and [x.score for x in a] == sorted((x.score for x in a), reverse=True)
    for x, y in zip(a, b):
        assert _rel(x.logits, y.logits) < 1e-4 and x.low_res_logits.shape == (1, 1, 256, 256)


def test_onnx_encoder_matches_torch(geosam_dir, geosam, mag_view):
    import onnxruntime as ort

    from engine.structures.onnx_export import read_metadata

    img = stretch_bands(mag_view[0])
    x, hw = prepare(img, 256, pad_value=[float(v) for v in geosam.pixel_mean.flatten()])
    path = os.path.join(geosam_dir, "onnx", "encoder.onnx")
    got = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    with torch.no_grad():  # SAM's own preprocess on the unpadded resized image, then the encoder
        want = geosam.image_encoder(geosam.preprocess(torch.from_numpy(x[:, :, : hw[0], : hw[1]].copy()))).numpy()
    assert got.shape == want.shape == (1, 128, 64, 64)
    assert _rel(got, want) < 1e-4
    for backend in ("onnx-cpu", "torch-cpu"):  # the predictor's own stretch / resize / pad agree with SAM's
        emb = StructurePredictor(geosam_dir, backend=backend, cache=False).set_image(mag_view[0])
        assert _rel(emb, want) < 1e-4, backend
    meta = read_metadata(path)
    assert meta["kind"] == "geosam" and meta["img_size"] == "256" and meta["embedding_shape"] == [1, 128, 64, 64]
    dmeta = read_metadata(os.path.join(geosam_dir, "onnx", "decoder.onnx"))
    assert dmeta["component"] == "decoder" and dmeta["mask_threshold"] == "0.0"
    assert set(dmeta["inputs"]) == {"image_embeddings", "point_coords", "point_labels", "mask_input",
                                    "has_mask_input", "orig_im_size"}
    assert dmeta["weights_sha256"] == geosam.card["sha256"] and "percentile" in dmeta["input_scaling"]


# ------------------------------------------------------------------ predictor
def test_predictor_mask_shape_threshold_and_refinement(geosam_dir, mag_view):
    view, _ = mag_view
    p = StructurePredictor(geosam_dir, cache=False)           # auto -> onnx-cpu here (no GPU)
    assert "onnx-cpu" in p.describe() and p.kind == "geosam" and p.img_size == 256
    p.set_image(view)
    assert p.embedding.shape == (1, 128, 64, 64) and p.orig_hw == (200, 300)
    r = p.predict(points=[[150.5, 100.5]], labels=[1])
    assert r.mask.shape == (200, 300) and r.mask.dtype == bool
    assert np.array_equal(r.mask, r.logits > 0)
    assert r.low_res_logits.shape == (1, 1, 256, 256) and np.isfinite(r.score)
    again = p.predict(points=[[150.5, 100.5]], labels=[1], mask_input=r.low_res_logits)
    assert np.abs(again.logits - r.logits).max() > 1e-3 * np.abs(r.logits).max()
    with pytest.raises(InputError, match="no prompt"):
        p.predict()
    with pytest.raises(InputError, match="outside the view"):
        p.predict(points=[[301.0, 10.0]], labels=[1])
    with pytest.raises(InputError, match="1 .include. or 0"):
        p.predict(points=[[3.0, 10.0]], labels=[5])
    with pytest.raises(InputError, match="mask_input"):
        p.predict(points=[[3.0, 10.0]], labels=[1], mask_input=np.zeros((64, 64)))


def test_predictor_without_set_image_says_so(geosam_dir):
    p = StructurePredictor(geosam_dir, backend="torch-cpu", cache=False)
    with pytest.raises(InputError, match="set_image"):
        p.predict(points=[[1.0, 1.0]], labels=[1])


def test_predictor_takes_the_open_model_card(geosam_dir, mag_view, monkeypatch):
    """A GeoSAM opened once (open_geosam: the same ModelCard type as the foundation model's) is used as it
    is: the predictor and its torch model read no card again, and the weights are hashed once."""
    from engine.foundation.model import weights as FW
    from engine.structures import weights as SW

    handle = SW.open_geosam(geosam_dir)
    assert handle.name == "mpm-geosam-test" and set(handle.files) >= {"card", "weights", "onnx:encoder"}
    reads, hashed = [], []
    real_read, real_sha = SW.read_card_file, FW.sha256_file
    monkeypatch.setattr(SW, "read_card_file", lambda *a, **k: reads.append(a[0]) or real_read(*a, **k))
    monkeypatch.setattr(FW, "sha256_file", lambda p, *a: hashed.append(p) or real_sha(p, *a))
    p = StructurePredictor(handle, backend="torch-cpu", cache=False)
    assert p.model_card is handle and p.name == "mpm-geosam-test" and p.model_sha == handle.sha256
    p.set_image(mag_view[0])
    p._torch_model()
    assert not reads and hashed == [handle.files["weights"]], (reads, hashed)


def test_onnx_folder_runs_without_torch(geosam_dir, mag_view, monkeypatch):
    """QGIS with onnxruntime only: the folder's ONNX files (self-describing) are all it needs."""
    ref = StructurePredictor(geosam_dir, backend="onnx-cpu", cache=False)
    ref.set_image(mag_view[0])
    real = predictor_mod._has
    monkeypatch.setattr(predictor_mod, "_has", lambda mod: False if mod == "torch" else real(mod))
    p = StructurePredictor(geosam_dir, cache=False)
    assert p.backend == "onnx-cpu" and p._sam is None
    assert p.img_size == 256 and tuple(p.embedding_shape) == (1, 128, 64, 64) and p.pixel_mean == [127.5] * 3
    np.testing.assert_array_equal(p.set_image(mag_view[0]), ref.embedding)
    a = p.predict(points=[[10.0, 20.0]], labels=[1], multimask=True)
    b = ref.predict(points=[[10.0, 20.0]], labels=[1], multimask=True)
    assert len(a) == 3 and all(np.array_equal(x.mask, y.mask) for x, y in zip(a, b))
    with pytest.raises(MissingDependency, match="needs PyTorch"):  # asking for torch without it: clear error
        StructurePredictor(geosam_dir, backend="torch-cpu", cache=False)


def test_tampered_onnx_encoder_is_not_used(geosam_dir, tmp_path):
    d = tmp_path / "m"
    shutil.copytree(geosam_dir, d)
    with open(d / "onnx" / "encoder.onnx", "ab") as f:
        f.write(b"\0")
    p = StructurePredictor(str(d), backend="onnx-cpu", cache=False)
    assert p.encoder_backend == "torch-cpu" and p.decoder_backend == "onnx-cpu"
    assert any("sha256" in n for n in p.notes)


# ------------------------------------------------------------------ cache
def test_cache_memory_and_disk_hits_skip_the_encoder(geosam_dir, mag_view, tmp_path):
    view, path = mag_view
    cache = EmbeddingCache(memory_items=4, disk_dir=str(tmp_path / "emb"))
    p = StructurePredictor(geosam_dir, cache=cache)
    key = p.key_for(**file_parts(path), bands=[1], window=WINDOW, out=list(view.shape[1:]))
    e1 = p.set_image(view, key=key)
    e2 = p.set_image(view, key=key)
    assert p.encoder_calls == 1 and np.array_equal(e1, e2)
    p.set_image(view[:, :100], key=p.key_for(**file_parts(path), bands=[1], window="other"))
    assert p.encoder_calls == 2
    # a new session finds it on disk
    q = StructurePredictor(geosam_dir, cache=EmbeddingCache(disk_dir=str(tmp_path / "emb")))
    assert q.key_for(**file_parts(path), bands=[1], window=WINDOW, out=list(view.shape[1:])) == key
    np.testing.assert_array_equal(q.set_image(view, key=key), e1)
    assert q.encoder_calls == 0


def test_cache_disk_eviction_keeps_total_under_cap(tmp_path):
    arr = lambda i: np.full((10, 1000), i, np.float32)  # 40 kB each  # noqa: E731
    cap = 130_000
    c = EmbeddingCache(memory_items=0, disk_dir=str(tmp_path), disk_bytes=cap)
    keys = [c.key_for(view=i) for i in range(8)]
    for i, k in enumerate(keys[:3]):
        c.put(k, arr(i))
    assert c.get(keys[0])[0, 0] == 0        # touch the oldest: now most recently used
    for i, k in enumerate(keys[3:], 3):
        c.put(k, arr(i))
        assert c.disk_usage() <= cap
    assert len(os.listdir(tmp_path)) == 3
    assert c.get(keys[7])[0, 0] == 7 and c.get(keys[1]) is None
    big = np.zeros(cap, np.float32)          # larger than the whole cap: not written at all
    c.put(c.key_for(view="big"), big)
    assert c.disk_usage() <= cap and c.get(keys[7]) is not None


def test_cache_corrupt_files_are_ignored_and_removed(tmp_path):
    c = EmbeddingCache(memory_items=0, disk_dir=str(tmp_path))
    k1, k2 = c.key_for(a=1), c.key_for(a=2)
    (tmp_path / f"{k1}.npy").write_bytes(b"\x93NUMPY garbage")
    np.save(tmp_path / f"{k2}.npy", np.array([{"x": 1}], dtype=object), allow_pickle=True)  # pickled objects
    assert c.get(k1) is None and c.get(k2) is None
    assert not os.listdir(tmp_path)
    c.put(k1, np.ones(3, np.float32))
    np.testing.assert_array_equal(c.get(k1), np.ones(3))


def test_cache_memory_lru_bound():
    c = EmbeddingCache(memory_items=2, disk_bytes=0)
    for i in range(3):
        c.put(f"k{i}", np.array([i]))
    assert c.get("k0") is None and c.get("k2")[0] == 2 and c.disk_dir is None


# ------------------------------------------------------------------ models: official, pickles, missing
@pytest.fixture(scope="module")
def vit_b_checkpoint(tmp_path_factory):
    """An official-architecture vit_b state dict written with torch.save, as the official files are (375 MB)."""
    from engine.structures.modeling import build_official

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("official") / "sam_vit_b_test.pth"
    torch.save(build_official("vit_b").state_dict(), path)
    yield str(path)
    os.remove(path)


def test_official_checkpoint_loads_and_predicts(vit_b_checkpoint, embedding_cache, tmp_path):
    p = StructurePredictor(vit_b_checkpoint, cache=False)     # auto: torch encoder, ONNX decoder (exported once)
    assert p.kind == "vit_b" and p.img_size == 1024 and p.embedding_shape == (1, 256, 64, 64)
    assert p.decoder_backend == "onnx-cpu" and p.encoder_backend == "torch-cpu"
    assert os.path.isfile(os.path.join(embedding_cache, "sam", p.model_sha, "decoder.onnx"))
    # the 1024-pixel ViT encoder takes ~20 s on 2 CPU cores: decode on a stand-in embedding instead
    # (the encoder path itself is the one GeoSAM's tests run)
    p.set_embedding(np.random.default_rng(3).normal(size=(1, 256, 64, 64)), (48, 64))
    r = p.predict(points=[[20.0, 30.0]], labels=[1])
    assert r.mask.shape == (48, 64) and np.array_equal(r.mask, r.logits > 0)
    # a cache folder chosen in the panel holds the exported decoder too, not the default cache
    q = StructurePredictor(vit_b_checkpoint, cache=False, cache_dir=str(tmp_path / "panel_cache"))
    assert os.path.isfile(tmp_path / "panel_cache" / "sam" / q.model_sha / "decoder.onnx")
    # ... and, with the default cache, the view embeddings under the same root
    assert StructurePredictor(vit_b_checkpoint, cache_dir=str(tmp_path / "panel_cache")).cache.disk_dir == \
        str(tmp_path / "panel_cache" / "sam" / "embeddings")
    q.set_embedding(np.random.default_rng(3).normal(size=(1, 256, 64, 64)), (48, 64))
    np.testing.assert_allclose(q.predict(points=[[20.0, 30.0]], labels=[1]).logits, r.logits, atol=1e-4)


class _Evil:
    """Unpickling this runs open(marker, 'w'): what a booby-trapped checkpoint would do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_checkpoint_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "sam_vit_b_evil.pth"
    torch.save({"model": _Evil(str(marker))}, ckpt)
    with pytest.raises(InputError, match="refused"):
        StructurePredictor(str(ckpt), cache=False)
    assert not marker.exists()
    # control: the file really is live; an unsafe load would have run it
    torch.load(ckpt, weights_only=False)["model"].close()
    assert marker.exists()


def test_missing_models_give_actionable_messages(tmp_path, monkeypatch):
    with pytest.raises(InputError) as e:
        StructurePredictor(str(tmp_path / "sam_vit_h_4b8939.pth"))
    assert "not found" in str(e.value) and "Fix:" in str(e.value)
    monkeypatch.setattr(predictor_mod, "DEFAULT_SAM_MODEL", str(tmp_path / "models" / "mpm-geosam-v2"))
    with pytest.raises(InputError) as e:
        StructurePredictor()
    msg = str(e.value)
    assert "mpm-geosam-v2" in msg and "not installed" in msg and "sam-train" in msg and "sam_vit_b" in msg
    with pytest.raises(InputError, match="no SAM model is configured"):
        StructurePredictor("")
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(InputError, match="neither a GeoSAM model folder nor a SAM checkpoint"):
        StructurePredictor(str(other))
    with pytest.raises(InputError, match="unknown backend"):
        StructurePredictor(str(other), backend="cuda")
