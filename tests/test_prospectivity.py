"""Head, samples, validation and prediction: seeded unit checks, then the chain on real Kolari data."""

import json
import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from engine.core.errors import InputError
from engine.foundation.features import DEFAULT_MODEL
from engine.data.reader import Stack


# --------------------------------------------------------------------------- features
def test_windowed_pixel_features_equal_whole_raster_upsampling(tmp_path):
    from engine.foundation.features import EmbeddingReader
    from engine.core.grid import Grid
    from engine.foundation.model.infer import grid_to_pixels

    rng = np.random.default_rng(1)
    p, gh, gw, d = 4, 23, 31, 5
    g = rng.normal(size=(d, gh, gw)).astype(np.float32)
    g[:, 3:6, 10:14] = np.nan  # a no-data hole
    path = str(tmp_path / "emb.tif")
    with rasterio.open(path, "w", driver="GTiff", width=gw, height=gh, count=d, dtype="float32", crs="EPSG:3067",
                       transform=from_origin(0, gh * 400, 400, 400), nodata=np.nan) as dst:
        dst.write(g)
    grid = Grid("EPSG:3067", 100.0, 0, 0, (gw * p - 3) * 100.0, (gh * p - 2) * 100.0)  # last patch part-filled
    whole = grid_to_pixels(g, p, grid.shape)
    with EmbeddingReader(path, grid) as er:
        for win in (Window(0, 0, 17, 13), Window(30, 41, 50, 29), Window(grid.width - 9, grid.height - 7, 9, 7)):
            part = er.pixel_features(win)
            ref = whole[:, win.row_off:win.row_off + win.height, win.col_off:win.col_off + win.width]
            np.testing.assert_array_equal(np.isnan(part), np.isnan(ref))
            np.testing.assert_allclose(part[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=1e-5, atol=1e-6)
        rows, cols = rng.integers(0, grid.height, 50), rng.integers(0, grid.width, 50)
        pts = er.at_pixels(rows, cols, tile=32)
        np.testing.assert_allclose(pts, whole[:, rows, cols].T, rtol=1e-5, atol=1e-6)
        # linear members applied at patch resolution, then upsampled (predict's shortcut) = features @ W + b
        w, b = rng.normal(size=(d, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
        for win in (Window(0, 0, 17, 13), Window(30, 41, 50, 29), Window(grid.width - 9, grid.height - 7, 9, 7)):
            f = er.pixel_features(win)
            ref = np.tensordot(w.T, f, axes=1) + b[:, None, None]
            got = er.pixel_projection(win, w, b)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
            np.testing.assert_allclose(got[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- head
def _blobs(n_pos=30, n_bg=3000, d=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_pos + n_bg, d)).astype(np.float32)
    x[:n_pos, :3] += 2.5  # deposits differ in three directions
    y = np.r_[np.ones(n_pos), np.zeros(n_bg)].astype(int)
    return x, y


def test_head_learns_from_few_deposits_and_round_trips(tmp_path):
    from sklearn.metrics import roc_auc_score

    from engine.prospectivity.head import HeadConfig, fit_head, load_head, save_head

    x, y = _blobs(seed=0)
    xt, yt = _blobs(seed=1)
    head = fit_head(x, y, HeadConfig(members=3, seed=0))
    p, u = head.predict(xt)
    assert roc_auc_score(yt, p) > 0.95
    assert (u >= 0).all() and u.max() > 0  # members disagree somewhere
    card = save_head(head, str(tmp_path / "h"), {"note": "test"})
    again, c = load_head(os.path.dirname(card))
    np.testing.assert_allclose(again.predict(xt)[0], p, atol=1e-6)
    assert c["note"] == "test" and c["members"] == 3
    # a corrupt or swapped weights file is refused before it is parsed
    with open(tmp_path / "h" / "head.safetensors", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\0\0\0\0")
    with pytest.raises(InputError, match="sha256"):
        load_head(str(tmp_path / "h"))


def test_head_refuses_nan_features():
    from engine.prospectivity.head import fit_head

    x, y = _blobs()
    x[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        fit_head(x, y)


# --------------------------------------------------------------------------- validation figures
def test_curves_perfect_random_and_inverted():
    from engine.prospectivity.validate import curves

    rng = np.random.default_rng(0)
    bg = rng.random(5000)
    perfect = curves(np.full(10, 2.0), bg)
    assert perfect["roc_auc"] == 1.0 and perfect["success_rate_auc"] == 1.0
    assert perfect["captured_at_10pct_area"] == 1.0
    rand = curves(rng.random(400), bg)
    assert abs(rand["roc_auc"] - 0.5) < 0.06 and abs(rand["success_rate_auc"] - rand["roc_auc"]) < 0.01
    pa = rand["pa_intersection"]
    assert abs(pa["prediction_rate"] - (1 - pa["area"])) < 0.05
    worst = curves(np.full(10, -1.0), bg)
    assert worst["roc_auc"] == 0.0


def test_weights_of_evidence_weights_the_enriched_class():
    from engine.classical.baselines import WeightsOfEvidence

    rng = np.random.default_rng(0)
    n = 4000
    cat = rng.integers(1, 5, n).astype(np.float32)
    cont = rng.normal(size=n).astype(np.float32)
    y = np.zeros(n, int)
    y[np.flatnonzero(cat == 3)[:40]] = 1  # deposits all on class 3
    x = np.column_stack([cat, cont])
    w = WeightsOfEvidence([True, False]).fit(x, y)
    assert w.weights[0][3] > 1.0 and w.weights[0][1] < 0
    p = w.predict(x)
    assert p[cat == 3].mean() > 3 * p[cat != 3].mean()


# --------------------------------------------------------------------------- samples and folds
class _FakeStack:
    """The bits of engine.data.reader.Stack that samples.py reads."""

    def __init__(self, valid, points, res=100.0):
        from engine.core.grid import Grid

        self.valid = valid
        self.grid = Grid("EPSG:3067", res, 0, 0, valid.shape[1] * res, valid.shape[0] * res)
        self.manifest = {"deposits": {"points": points}}

    def tiles(self, tile):
        from engine.core.tiles import iter_tiles

        return iter_tiles(*self.valid.shape, tile)

    def read_valid(self, w):
        return self.valid[w.row_off:w.row_off + w.height, w.col_off:w.col_off + w.width]


def test_background_respects_validity_and_buffer_and_folds_are_spatial():
    from engine.prospectivity.samples import build_samples, spatial_folds

    valid = np.ones((300, 400), bool)
    valid[:, :50] = False
    pts = [{"name": f"d{i}", "row": r, "col": c, "status": "used"} for i, (r, c) in
           enumerate([(20, 60), (40, 300), (150, 200), (250, 100), (280, 390), (120, 350)])]
    pts.append({"name": "off", "row": None, "col": None, "status": "outside"})
    s = build_samples(_FakeStack(valid, pts), n_background=5000, buffer_m=1000, seed=3)
    assert s.n_pos == 6 and "off" not in s.names
    bg = s.label == 0
    assert valid[s.rows[bg], s.cols[bg]].all()
    d2 = (s.rows[bg, None] - s.rows[~bg][None]) ** 2 + (s.cols[bg, None] - s.cols[~bg][None]) ** 2
    assert d2.min() > 10 ** 2
    again = build_samples(_FakeStack(valid, pts), n_background=5000, buffer_m=1000, seed=3)
    np.testing.assert_array_equal(again.rows, s.rows)
    fold, k = spatial_folds(s, k=5, block_px=50, seed=0)
    assert k == 5
    block = (s.rows // 50) * 1000 + s.cols // 50
    for b in np.unique(block):
        assert len(np.unique(fold[block == b])) == 1  # a block never straddles folds
    for f in range(k):
        assert (s.label[fold == f] == 1).any()  # every fold tests on a deposit


def test_too_few_deposits_says_how_many_are_needed():
    from engine.prospectivity.samples import build_samples

    pts = [{"name": "a", "row": 5, "col": 5, "status": "used"}, {"name": "b", "row": 9, "col": 9, "status": "on_nodata"}]
    with pytest.raises(InputError, match=r"only 1 deposit.*at least 5.*b \(on_nodata\)"):
        build_samples(_FakeStack(np.ones((50, 50), bool), pts))


# --------------------------------------------------------------------------- the chain on Kolari
@pytest.fixture(scope="module")
def trained_head(kolari_400, tmp_path_factory):
    from engine.prospectivity import finetune

    out = str(tmp_path_factory.mktemp("heads") / "head")
    r = finetune(kolari_400, out, n_background=4000, block_m=12000.0, folds=4, compare_embeddings=True)
    return out, r


def kolari_400_path(trained_head):
    return json.load(open(os.path.join(trained_head[0], "head_card.json")))["stack"]


def test_finetune_validates_against_baselines_on_kolari(trained_head):
    out, r = trained_head
    rep = json.load(open(os.path.join(out, "validation.json")))
    assert set(rep["methods"]) == {"head", "head_with_embeddings", "random_forest", "weights_of_evidence"}
    assert rep["meta"]["folds"] == 4 and rep["meta"]["deposits"] == len(rep["methods"]["head"]["deposit_scores"])
    # every valid cell of the stack is scored out-of-fold, not a background sample
    with Stack(kolari_400_path(trained_head)) as st:
        assert rep["meta"]["cells"] == rep["meta"]["valid_cells"] == int(st.read_valid().sum())
    for m, v in rep["methods"].items():
        assert len(v["fold_roc_auc"]) == 4 and v["cells"] == rep["meta"]["cells"]
        assert 0.0 <= v["pr_auc"] <= 1.0 and v["positive_rate"] == pytest.approx(rep["meta"]["deposits"] / v["cells"])
    # held-out deposits rank far above chance, and the report says whether the embeddings helped
    assert rep["methods"]["head"]["roc_auc"] > 0.7
    v = rep["meta"]["embeddings"]
    assert v["roc_with"] == rep["methods"]["head_with_embeddings"]["roc_auc"]
    assert v["roc_without"] == rep["methods"]["head"]["roc_auc"]
    assert ("add no skill" in v["text"]) != v["adds_skill"] and r["embeddings"] == v
    assert os.path.getsize(os.path.join(out, "validation.png")) > 10_000
    card = json.load(open(os.path.join(out, "head_card.json")))
    assert card["encoder"]["name"] == os.path.basename(DEFAULT_MODEL) and len(card["deposits"]) == rep["meta"]["deposits"]
    assert card["cv"]["head"]["roc_auc"] == rep["methods"]["head"]["roc_auc"]


def test_predict_maps_probability_uncertainty_and_contributions(kolari_400, trained_head, tmp_path):
    from engine.prospectivity import predict
    from engine.data.reader import Stack

    head, _ = trained_head
    out = str(tmp_path / "pred")
    r = predict(kolari_400, head, out, tile=64)
    with Stack(kolari_400) as st:
        valid = st.read_valid()
        dep = st.read_deposits() > 0
    with rasterio.open(os.path.join(out, "prospectivity.tif")) as ds:
        p = ds.read(1)
        assert ds.crs.to_epsg() == 3067 and ds.shape == valid.shape
    u = rasterio.open(os.path.join(out, "uncertainty.tif")).read(1)
    with rasterio.open(os.path.join(out, "contributions.tif")) as ds:
        c = ds.read()
        assert list(ds.descriptions) == r["sources"] == ["geochemistry", "geology", "geophysics"]
    assert np.isnan(p[~valid]).all() and np.isfinite(p[valid]).mean() > 0.99
    assert np.nanmin(p) >= 0 and np.nanmax(p) <= 1 and np.nanmin(u) >= 0
    # training deposits sit high on the map (in-sample, so this is a sanity check, not a score)
    pv = np.sort(p[valid & np.isfinite(p)])
    assert np.mean(np.searchsorted(pv, p[dep]) / len(pv)) > 0.85
    assert np.isnan(c[:, ~valid]).all() and np.nanmax(np.abs(c)) > 0.05
    # cells beyond the lithology are predicted from the other layers, and coverage.tif says so (issue 21, item 5)
    with Stack(kolari_400) as st:
        pres = st.read_presence()
        names = [n for n, _ in st.layers]
    n = rasterio.open(os.path.join(out, "coverage.tif")).read(1)
    assert (n[~valid] == 0).all() and (n[valid] == pres[:, valid].sum(0)).all()
    short = valid & ~pres[names.index("lithology")]
    assert short.sum() > 0.05 * valid.sum() and np.isfinite(p[short]).all() and (n[short] < len(names)).all()
    assert r["pixels_missing_layers"] == int((valid & (n < len(names))).sum())
    assert r["missing_per_layer"]["lithology"] == int(short.sum())
    # tiling does not change the map
    r2 = predict(kolari_400, head, str(tmp_path / "pred2"), tile=512, contributions=False)
    p2 = rasterio.open(os.path.join(r2["out_dir"], "prospectivity.tif")).read(1)
    np.testing.assert_allclose(p2, p, atol=1e-6, equal_nan=True)


def test_head_refuses_a_stack_with_other_layers(kolari, kolari_400, trained_head, tmp_path):
    from engine.demo import kolari_spec
    from engine.prospectivity import predict
    from engine.data.stack import align_stack

    spec = kolari_spec(kolari, res=800.0, geophysics=("IOCG_Mag_grysc_DGRF65_anom_100m",))
    other = str(tmp_path / "other")
    align_stack(spec, other)
    with pytest.raises(InputError) as e:
        predict(other, trained_head[0], str(tmp_path / "p"))
    text = str(e.value)
    # what is missing, by layer, and what to do; not two 33-item lists
    assert "the stack lacks 8 of the head's 33 bands" in text and "geophysics/IOCG_AEM_Inph_100m (em_inphase" in text
    assert "IOCG_Mag_grysc" not in text and "fine-tune a head on this stack" in text and len(text) < 1200
    assert not os.path.exists(tmp_path / "p")


def test_the_same_layers_in_another_order_fit_the_head(kolari, kolari_400, trained_head, tmp_path):
    """issue 21, item 7: layers are matched by name, so a stack aligned from the same layers listed in another
    order (the API keeps the caller's order, the CLI orders by source) gives the same map; a head written before
    cards named their bands matches by layer type."""
    import shutil

    from engine.demo import kolari_spec
    from engine.prospectivity import predict
    from engine.data.stack import align_stack

    spec = kolari_spec(kolari, res=400.0)
    spec.layers = spec.layers[::-1]
    other = str(tmp_path / "reversed")
    align_stack(spec, other)
    with Stack(other) as st:
        assert st.bands[0]["source"] == "geochemistry" and st.bands[-1]["source"] == "geophysics"
    a = predict(kolari_400, trained_head[0], str(tmp_path / "p_a"), contributions=False)
    b = predict(other, trained_head[0], str(tmp_path / "p_b"))
    pa = rasterio.open(os.path.join(a["out_dir"], "prospectivity.tif")).read(1)
    pb = rasterio.open(os.path.join(b["out_dir"], "prospectivity.tif")).read(1)
    assert np.isfinite(pa).mean() > 0.5
    np.testing.assert_allclose(pb, pa, atol=1e-6, equal_nan=True)
    assert b["sources"] == ["geochemistry", "geology", "geophysics"]
    old = tmp_path / "old_head"
    shutil.copytree(trained_head[0], old)
    card = json.load(open(old / "head_card.json"))
    del card["stack_bands"]
    (old / "head_card.json").write_text(json.dumps(card))
    c = predict(other, str(old), str(tmp_path / "p_c"), contributions=False)
    pc = rasterio.open(os.path.join(c["out_dir"], "prospectivity.tif")).read(1)
    np.testing.assert_allclose(pc, pa, atol=1e-6, equal_nan=True)


def test_cancelled_predict_leaves_nothing(kolari_400, trained_head, tmp_path):
    from engine.core.errors import Cancelled
    from engine.core.progress import Feedback
    from engine.prospectivity import predict

    class CancelLate(Feedback):
        n = 0

        def isCanceled(self):  # noqa: N802
            self.n += 1
            return self.n > 3

    with pytest.raises(Cancelled):
        predict(kolari_400, trained_head[0], str(tmp_path / "p"), tile=64, feedback=CancelLate())
    assert os.listdir(tmp_path) == []


def test_head_reapplies_to_a_new_area_with_the_same_layers(kolari, trained_head, tmp_path):
    """A head travels: the same source layers aligned over another extent give a map on that grid."""
    from helpers import KOLARI_CROP
    from engine.demo import kolari_spec
    from engine.prospectivity import predict
    from engine.data.stack import align_stack

    xmin, ymin, xmax, ymax = KOLARI_CROP
    other = str(tmp_path / "other_area")
    align_stack(kolari_spec(kolari, res=400.0, bounds=(xmin - 8000, ymin - 8000, xmax + 8000, ymax)), other)
    r = predict(other, trained_head[0], str(tmp_path / "p"), contributions=False)
    with rasterio.open(os.path.join(r["out_dir"], "prospectivity.tif")) as ds:
        p = ds.read(1)
        assert ds.bounds.left == xmin - 8000 and ds.bounds.top == ymax and ds.res == (400.0, 400.0)
    assert np.isfinite(p).mean() > 0.9 and 0 <= np.nanmin(p) < np.nanmax(p) <= 1


def test_another_deposit_type_reuses_the_stack_and_its_embedding(kolari, kolari_400, trained_head, tmp_path):
    """finetune --deposits: a second deposit type on the same stack, with no re-alignment and no re-embedding."""
    import shapely

    from helpers import write_vector
    from engine.core.runtime import cache_dir
    from engine.foundation.features import layers_identity
    from engine.prospectivity import finetune

    with Stack(kolari_400) as st:
        used = [p for p in st.manifest["deposits"]["points"] if p["status"] == "used"]
    pts = used[::2] + [{"name": "far away", "x": 0.0, "y": 0.0}]  # 7 deposits, and one outside the area
    other = write_vector(tmp_path / "other_type.gpkg", [shapely.Point(p["x"], p["y"]) for p in pts],
                         {"name": np.array([p["name"] for p in pts], dtype=object)})
    before = sorted(os.listdir(cache_dir()))
    r = finetune(kolari_400, str(tmp_path / "head_b"), deposits=other, n_background=3000, block_m=12000.0, folds=3)
    assert sorted(os.listdir(cache_dir())) == before  # the embedding the first head used, read again
    card = json.load(open(os.path.join(r["head"], "head_card.json")))
    assert card["deposits_file"] == os.path.abspath(other)
    assert sorted(card["deposits"]) == sorted({p["name"] for p in used[::2]} & set(card["deposits"]))
    assert r["deposits"] == len(card["deposits"]) <= 7 and r["cv"]["head"]["roc_auc"] > 0.5
    # without --compare-embeddings the head (on the bands) is validated against the baselines only, and says so
    assert set(r["cv"]) == {"head", "random_forest", "weights_of_evidence"}
    assert r["embeddings"]["compared"] is False and "--compare-embeddings" in r["embeddings"]["text"]
    # the embedding's key is the layers: the deposits (and when the stack was written) are not part of it
    with open(os.path.join(kolari_400, "stack.json")) as f:
        m = json.load(f)
    m["deposits"], m["created"] = None, "another day"
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "stack.json").write_text(json.dumps(m))
    assert layers_identity(str(twin)) == layers_identity(kolari_400)


def test_rock_units_are_matched_by_name_when_another_stack_numbers_them_differently(kolari_400, trained_head, tmp_path):
    """The same lithology under other class numbers (another file or area) maps exactly as before."""
    import shutil

    from engine.prospectivity import predict

    twin = tmp_path / "renumbered"
    shutil.copytree(kolari_400, twin)
    m = json.load(open(twin / "stack.json"))
    j = next(i for i, b in enumerate(m["bands"]) if b.get("classes"))
    classes = m["bands"][j]["classes"]
    codes = sorted(int(c) for c in classes)
    new_code = dict(zip(codes, reversed(codes)))  # 1 <-> K, 2 <-> K-1, ...
    m["bands"][j]["classes"] = {str(new_code[int(c)]): name for c, name in classes.items()}
    with rasterio.open(os.path.join(kolari_400, "stack.tif")) as src:
        prof, data = src.profile, src.read()
    band = data[j]
    ok = np.isfinite(band)
    band[ok] = np.vectorize(lambda v: new_code[int(v)])(band[ok])
    with rasterio.open(twin / "stack.tif", "w", **prof) as dst:
        dst.write(data)
    (twin / "stack.json").write_text(json.dumps(m))
    a = predict(kolari_400, trained_head[0], str(tmp_path / "p_a"), contributions=False)
    b = predict(str(twin), trained_head[0], str(tmp_path / "p_b"), contributions=False)
    pa = rasterio.open(os.path.join(a["out_dir"], "prospectivity.tif")).read(1)
    pb = rasterio.open(os.path.join(b["out_dir"], "prospectivity.tif")).read(1)
    assert np.isfinite(pa).any()
    np.testing.assert_allclose(pb, pa, atol=1e-6, equal_nan=True)


def test_finetune_says_which_deposits_lie_where_layers_are_missing(kolari_400, tmp_path):
    """issue 21, item 5: deposits beyond the lithology are trained on (not dropped) and the summary says how many
    lie where which layer has no data."""
    import shapely

    from helpers import write_vector
    from engine.prospectivity import finetune

    with Stack(kolari_400) as st:
        used = [p for p in st.manifest["deposits"]["points"] if p["status"] == "used"]
        pres = st.read_presence()
        valid = st.read_valid()
        lith = [n for n, _ in st.layers].index("lithology")
        t = st.grid.transform
    rows, cols = np.nonzero(valid & ~pres[lith])
    pick = np.random.default_rng(0).choice(len(rows), 3, replace=False)
    extra = [{"name": f"beyond {i}", "x": t.c + (cols[k] + 0.5) * t.a, "y": t.f + (rows[k] + 0.5) * t.e}
             for i, k in enumerate(pick)]
    pts = used + extra
    path = write_vector(tmp_path / "deps.gpkg", [shapely.Point(p["x"], p["y"]) for p in pts],
                        {"name": np.array([p["name"] for p in pts], dtype=object)})
    r = finetune(kolari_400, str(tmp_path / "head"), deposits=path, validate=False, n_background=2000)
    assert r["deposits"] == len(pts)
    assert r["deposits_lacking_layers"] == {"deposits": 3, "per_layer": {"lithology": 3}}
    card = json.load(open(os.path.join(r["head"], "head_card.json")))
    assert {f"beyond {i}" for i in range(3)} <= set(card["deposits"])
