"""Geochemical anomalies from the geochemistry encoder's reconstruction: exact masks, no seams,
planted anomalies found, outputs on the grid, bad input stopped before anything is written."""

import csv
import json
import os
import shutil

import numpy as np
import pytest
import rasterio

from engine.foundation.features import DEFAULT_MODEL
from helpers import write_raster

MODEL = DEFAULT_MODEL
HOLE = np.s_[64:, 60:]  # punched out of the valid mask (one whole tile at tile=64): outputs must be NaN there


@pytest.fixture(scope="module")
def model():
    from engine.foundation.model.weights import load_model

    return load_model(MODEL)


def test_explicit_mask_equals_mae_forward(model):
    import torch

    from engine.anomalies.reconstruction import PHASES, mae_explicit, phase_keep
    from engine.data.vocab import layer_ids

    enc = model.encoders["geochemistry"]
    cfg = enc.config
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, cfg.window, cfg.window)).astype(np.float32)
    x[0, 1, :9, :13] = np.nan
    x = torch.from_numpy(x)
    ids = torch.as_tensor(layer_ids(["Cu", "Co", "Fe", "Zn"], "geochemistry")[0])
    with torch.no_grad():
        ref = enc.mae_forward(x, None, ids, generator=torch.Generator().manual_seed(7))
        # mae_forward's keep set, drawn from the same generator state
        keep = torch.rand(3, cfg.n_patches, generator=torch.Generator().manual_seed(7)).argsort(1)[:, :cfg.n_patches // 4]
        recon, hidden = mae_explicit(enc, x, None, ids, keep)
    assert torch.equal(hidden, ref["mask"])
    torch.testing.assert_close(recon, ref["recon"], atol=1e-5, rtol=1e-5)
    # the deterministic passes: 25 % visible each, every patch hidden in the same number of passes
    ph = phase_keep(cfg.grid)
    assert ph.shape == (PHASES, cfg.n_patches // 4)
    assert np.bincount(ph.ravel(), minlength=cfg.n_patches).tolist() == [1] * cfg.n_patches


def test_planted_multi_element_anomaly_ranks_top(model):
    from scipy import ndimage

    from engine.anomalies.reconstruction import reconstruct
    from engine.data.vocab import layer_ids
    from engine.data.synthetic import robust_normalise

    names = ["Cu", "Co", "Ni", "Fe", "Zn", "K", "Th", "La"]
    rng = np.random.default_rng(0)
    f = [ndimage.gaussian_filter(rng.normal(size=(96, 96)), 8) for _ in range(2)]  # two smooth lithological factors
    load = rng.normal(size=(len(names), 2))
    data = np.stack([robust_normalise(a * f[0] + b * f[1] + 0.1 * f[0].std() * rng.normal(size=(96, 96))) for a, b in load])
    yy, xx = np.mgrid[:96, :96]
    data[:3] += 5 * np.exp(-((yy - 50) ** 2 + (xx - 41) ** 2) / (2 * 1.5 ** 2))  # Cu-Co-Ni spike the factors cannot make
    data[:, :6, :10] = np.nan
    exp = reconstruct(model.encoders["geochemistry"], data, layer_ids(names, "geochemistry")[0])
    assert exp.shape == data.shape and np.isfinite(exp).all()
    res = data - exp
    score = np.sqrt(np.nanmean(res[:, 6:] ** 2, 0))
    assert (score >= score[44, 41]).mean() < 0.01  # the planted centre (row 50 = 44 after the cut) is in the top 1 %
    assert (res[:3, 50, 41] > 2).all() and np.abs(np.median(res[3:, 6:], axis=(1, 2))).max() < 0.5


@pytest.fixture(scope="module")
def runs(kolari_stack, model, tmp_path_factory):
    """The crop with a hole in its valid mask, run with tiles of 64 and of 512 pixels."""
    import engine.anomalies.reconstruction as an

    root = tmp_path_factory.mktemp("anomaly")
    stack = str(root / "stack")
    shutil.copytree(kolari_stack, stack)
    with rasterio.open(os.path.join(stack, "valid.tif"), "r+") as ds:
        v = ds.read(1)
        v[HOLE] = 0
        ds.write(v, 1)
    saved, an.SAMPLE = an.SAMPLE, 3000  # a smaller MCD sample keeps the test fast; the full run uses 20,000
    try:
        out = {t: an.geochem_anomalies(stack, str(root / f"t{t}"), model=model, tile=t) for t in (64, 512)}
    finally:
        an.SAMPLE = saved
    return stack, root, out


def _read(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.profile, ds.descriptions


def test_tiles_do_not_change_the_result(runs):
    _, root, out = runs
    for name in ("residual.tif", "anomaly_score.tif", "mahalanobis.tif"):
        a, _, _ = _read(root / "t64" / name)
        b, _, _ = _read(root / "t512" / name)
        np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))
        np.testing.assert_allclose(a[np.isfinite(a)], b[np.isfinite(b)], atol=1e-5)
    assert (root / "t64" / "top_anomalies.csv").read_text() == (root / "t512" / "top_anomalies.csv").read_text()
    assert out[64]["spearman_score_vs_mahalanobis"] == pytest.approx(out[512]["spearman_score_vs_mahalanobis"], abs=1e-6)


def test_outputs_on_the_grid(runs):
    from engine.data.reader import Stack

    stack, root, out = runs
    d = root / "t512"
    assert sorted(os.listdir(root)) == ["stack", "t512", "t64"]  # no temporary folders left
    assert sorted(os.listdir(d)) == sorted(out[512]["files"])
    with Stack(stack) as st:
        g, valid = st.grid, st.read_valid()
        elements = [b["layer_type"] for b in st.bands if b["source"] == "geochemistry"]
    assert not valid[HOLE].any() and valid.mean() > 0.5
    res, prof, desc = _read(d / "residual.tif")
    assert list(desc) == elements and res.shape == (len(elements), g.height, g.width)
    assert prof["crs"].to_epsg() == 3067 and prof["transform"] == g.transform and prof["dtype"] == "float32"
    assert np.isnan(prof["nodata"]) and prof["tiled"] and prof["compress"] == "deflate"
    # the sampling support: cells within one median sample spacing of a till sample (read here on their own)
    import shapely
    from scipy.spatial import cKDTree

    from engine.data.vectors import pyogrio

    with open(os.path.join(stack, "stack.json")) as f:
        till = [lyr for lyr in json.load(f)["spec"]["layers"] if lyr["source"] == "geochemistry"][0]["path"]
    xy = shapely.get_coordinates(shapely.from_wkb(pyogrio.raw.read(till)[2]))  # EPSG:3067 like the grid
    spacing = float(np.median(cKDTree(xy).query(xy, k=2)[0][:, 1]))
    support = json.load(open(d / "anomalies.json"))["support"]
    assert support["median_spacing_m"] == pytest.approx(spacing) and support["max_distance_m"] == pytest.approx(spacing)
    rows, cols = np.mgrid[0:g.height, 0:g.width]
    px, py = g.transform * (cols + 0.5, rows + 0.5)
    near = (cKDTree(xy).query(np.column_stack([px.ravel(), py.ravel()]))[0] <= spacing).reshape(valid.shape)
    shown = valid & near
    assert 0 < (valid & ~near).sum() == support["masked_cells"] and shown.sum() > 0.3 * valid.sum()
    for name in ("anomaly_score.tif", "mahalanobis.tif"):
        a = _read(d / name)[0][0]
        assert np.isnan(a[~shown]).all() and np.isfinite(a[shown]).all() and (a[shown] >= 0).all()
    assert np.isnan(res[:, ~shown]).all() and np.isfinite(res[:, shown]).all()
    assert abs(float(np.median(res[:, shown]))) < 0.3  # the encoder explains the background

    rows = list(csv.DictReader(open(d / "top_anomalies.csv")))
    assert len(rows) == 20
    xy = np.array([[float(r["x"]), float(r["y"])] for r in rows])
    assert ((xy[:, 0] > g.xmin) & (xy[:, 0] < g.xmax) & (xy[:, 1] > g.ymin) & (xy[:, 1] < g.ymax)).all()
    dist = np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1)) + np.eye(len(xy)) * 1e9
    assert dist.min() >= 1000.0
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    col, row = ~g.transform * (xy[0, 0], xy[0, 1])
    assert valid[int(row), int(col)] and float(rows[0]["residual_1"]) >= float(rows[0]["residual_2"])
    assert rows[0]["element_1"] in elements

    summary = json.load(open(d / "anomalies.json"))
    assert summary["backend"] == "torch-cpu" and summary["elements"] == elements
    assert summary["model"]["name"] == os.path.basename(DEFAULT_MODEL) and len(summary["model"]["sha256"]) == 64
    assert -1 <= summary["spearman_score_vs_mahalanobis"] <= 1


def test_refuses_stack_without_geochemistry_and_existing_output(tmp_path, runs):
    from rasterio.transform import from_origin

    from engine.anomalies.reconstruction import geochem_anomalies
    from engine.core.errors import Cancelled, InputError, OutputError
    from engine.data.layers import LayerSpec
    from engine.core.progress import Feedback
    from engine.data.stack import StackSpec, align_stack

    mag = write_raster(tmp_path / "mag.tif", np.random.default_rng(0).normal(size=(40, 40)).astype("float32"),
                       from_origin(3.6e5, 7.5e6, 100, 100))
    align_stack(StackSpec([LayerSpec(mag, "geophysics")]), str(tmp_path / "stack"))
    with pytest.raises(InputError, match="no geochemistry") as exc:
        geochem_anomalies(str(tmp_path / "stack"), str(tmp_path / "out"))
    assert "Fix:" in str(exc.value)
    assert sorted(os.listdir(tmp_path)) == ["mag.tif", "stack"]

    stack, root, _ = runs
    with pytest.raises(OutputError, match="already exists"):
        geochem_anomalies(stack, str(root / "t512"))

    class Cancel(Feedback):
        def isCanceled(self):  # noqa: N802
            return True

    with pytest.raises(Cancelled):
        geochem_anomalies(stack, str(tmp_path / "cancelled"), feedback=Cancel())
    assert sorted(os.listdir(tmp_path)) == ["mag.tif", "stack"]


def test_only_samples_with_values_support_the_anomaly_map(tmp_path):
    """The support mask comes from the samples the stack was gridded from: a sample missing an element is
    left out of the CLR grids, so it must not make the cells around it look supported either."""
    from types import SimpleNamespace

    import shapely

    from engine.anomalies.reconstruction import sampling_support
    from engine.core.grid import Grid
    from helpers import write_vector

    xy = [(400000.0 + 1000 * i, 7500000.0 + 1000 * j) for i in range(4) for j in range(4)] + [(430000.0, 7500000.0)]
    cu = ["12", "8", "<2", "30"] * 4 + [""]  # the far sample has no Cu
    zn = ["40", "55", "61", "70"] * 4 + ["80"]
    path = write_vector(tmp_path / "till.gpkg", [shapely.Point(p) for p in xy],
                        {"Cu_ppm": np.array(cu, dtype=object), "Zn_ppm": np.array(zn, dtype=object)})
    manifest = {"spec": {"layers": [{"source": "geochemistry", "kind": "points", "name": "till", "path": path}]},
                "layers": {"till": {"elements": ["Cu", "Zn"]}}}
    grid = Grid("EPSG:3067", 500.0, 399000.0, 7499000.0, 432000.0, 7504000.0)
    tree, reach, spacing = sampling_support(SimpleNamespace(manifest=manifest, grid=grid))
    assert tree.n == 16 and spacing == pytest.approx(1000.0)
    assert np.isinf(tree.query([430000.0, 7500000.0], distance_upper_bound=reach)[0])
    # with the element that every sample has, the far sample supports its cells again
    manifest["layers"]["till"]["elements"] = ["Zn"]
    tree, _, _ = sampling_support(SimpleNamespace(manifest=manifest, grid=grid))
    assert tree.n == 17
