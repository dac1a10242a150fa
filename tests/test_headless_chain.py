"""The whole MPM chain headless through the built plugin: qgis_process.bin run mpm:alignstack -> finetune ->
predict -> targets -> anomalies on the real Kolari data (full study area at 400 m, to stay fast)."""

import csv
import json
import os
import subprocess

import numpy as np
import pyogrio
import pytest
import rasterio

from test_headless import QGIS_PROCESS, qgis_env  # noqa: F401 (module fixture: unpacked zip + own profile)

from engine.foundation.features import DEFAULT_MODEL

pytestmark = pytest.mark.slow


def _run(env, alg, *pairs, **params):
    """qgis_process.bin --json run mpm:<alg> --KEY=value ... (pairs for repeated keys); the parsed results."""
    args = [QGIS_PROCESS, "--json", "run", f"mpm:{alg}"] + [f"--{k}={v}" for k, v in list(pairs) + list(params.items())]
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"mpm:{alg} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    out = json.loads(r.stdout)
    assert out["algorithm_details"]["id"] == f"mpm:{alg}"
    return out["results"]


def _raster(path, shape=None, count=None):
    assert os.path.exists(path), path
    with rasterio.open(path) as ds:
        assert ds.crs.to_epsg() == 3067
        if shape is not None:
            assert ds.shape == shape
        if count is not None:
            assert ds.count == count
        return ds.read(1, masked=True)


def test_chain_headless_on_kolari(qgis_env, kolari, tmp_path):  # noqa: F811
    k = kolari
    env = dict(qgis_env, MPM_CACHE_DIR=str(tmp_path / "cache"))  # embeddings never go to the user's cache

    stack = _run(env, "alignstack",
                 ("GEOPHYSICS", f"{k}/Geophysics_100m/IOCG_Mag_grysc_DGRF65_anom_100m.tif"),
                 ("GEOPHYSICS", f"{k}/Geophysics_100m/IOCG_Gm_Rd_K_100m.tif"),
                 ("GEOLOGY", f"{k}/Geological_Data/IOCG_CLB_Lith_Asstn_1M.shp"),
                 ("GEOLOGY", f"{k}/Geological_Data/IOCG_CLB_Structures_1M.shp"),
                 ("GEOCHEMISTRY", f"{k}/Geochemical_Data/Vector_files/IOCG_CLB_Till_Geochem_reg_511p.shp"),
                 ELEMENTS="Cu,Co,Fe,Ni", LITHOLOGY_FIELD="ROCK_NAME_",
                 DEPOSITS=f"{k}/Deposits_Occurrences/IOCG_Deps_Prosp_Occs.shp",
                 AOI=f"{k}/Geological_Data/EIS_IOCG_target_area.shp", RESOLUTION=400, OUTPUT=tmp_path / "stack")
    with rasterio.open(stack["STACK"]) as ds:
        assert ds.crs.to_epsg() == 3067 and ds.res == (400.0, 400.0)
        shape = ds.shape
    manifest = json.load(open(tmp_path / "stack" / "stack.json"))
    n_deposits = manifest["deposits"]["used"]
    assert n_deposits >= 10

    head = _run(env, "finetune", STACK=stack["OUTPUT"], BACKGROUND=4000, FOLDS=4, BLOCK=12000,
                OUTPUT=tmp_path / "head")
    assert head["OUTPUT"] == str(tmp_path / "head")
    assert os.path.exists(tmp_path / "head" / "head_card.json")
    report = json.load(open(head["VALIDATION_REPORT"]))
    assert report["meta"]["folds"] == 4 and report["meta"]["deposits"] == n_deposits
    for key, method in (("ROC_AUC_HEAD", "head"), ("ROC_AUC_RF", "random_forest"), ("ROC_AUC_WOFE", "weights_of_evidence")):
        assert 0.5 < head[key] <= 1.0, (key, head[key])
        assert head[key] == report["methods"][method]["roc_auc"]

    pred = _run(env, "predict", STACK=stack["OUTPUT"], HEAD=head["OUTPUT"], OUTPUT=tmp_path / "prediction")
    p = _raster(pred["PROSPECTIVITY"], shape, 1)
    assert 0.0 <= p.min() and p.max() <= 1.0 and p.count() > 0.5 * p.size
    _raster(pred["UNCERTAINTY"], shape, 1)
    _raster(pred["CONTRIBUTIONS"], shape, 3)  # one band per source: geochemistry, geology, geophysics
    cover = _raster(pred["COVERAGE"], shape, 1)  # layers with data per cell; 0 (nodata) outside the valid area
    n_layers = len(json.load(open(os.path.join(stack["OUTPUT"], "stack.json")))["layers"])
    assert cover.max() == n_layers and cover.min() >= 1
    assert cover.count() == p.count()  # a probability wherever some evidence is, and only there

    targets = _run(env, "targets", PREDICTION=pred["OUTPUT"], MODE="capture", VALUE=0.8, STACK=stack["OUTPUT"],
                   MIN_AREA=0.5, OUTPUT=tmp_path / "targets.gpkg")
    assert targets["OUTPUT"] == str(tmp_path / "targets.gpkg")
    info = pyogrio.read_info(targets["OUTPUT"], layer="targets")
    assert info["crs"] == "EPSG:3067" and info["geometry_type"] == "MultiPolygon" and info["features"] > 0
    meta, _fids, _geom, data = pyogrio.raw.read(targets["OUTPUT"], layer="targets",
                                                columns=["rank", "deposits_inside", "dominant_source"])
    rank, inside, source = (data[list(meta["fields"]).index(f)] for f in ("rank", "deposits_inside", "dominant_source"))
    assert list(rank) == list(range(1, len(rank) + 1))
    assert inside.sum() >= 0.6 * n_deposits  # the cut holds 80 % of them; min area may drop a few
    assert set(source) <= {"geochemistry", "geology", "geophysics"}

    # the finished map judged over the whole area (not out-of-fold: the head saw these deposits)
    # no BAND, as in the README's command: its default (1) applies
    val = _run(env, "validate", MAP=pred["PROSPECTIVITY"],
               DEPOSITS=f"{k}/Deposits_Occurrences/IOCG_Deps_Prosp_Occs.shp", OUTPUT=tmp_path / "validation")
    with open(val["VALIDATION_REPORT"]) as f:
        vrep = json.load(f)
    assert vrep["meta"]["deposits"] + len(vrep["meta"]["dropped"]) >= n_deposits
    assert vrep["meta"]["valid_pixels"] == p.count() and val["ROC_AUC"] > 0.7

    anom = _run(env, "anomalies", STACK=stack["OUTPUT"], OUTPUT=tmp_path / "anomalies")
    score = _raster(anom["ANOMALY_SCORE"], shape, 1)
    assert score.count() > 0 and np.isfinite(score.compressed()).all()
    _raster(anom["MAHALANOBIS"], shape, 1)
    _raster(anom["RESIDUALS"], shape, 4)  # Cu, Co, Fe, Ni
    with open(anom["TOP_TABLE"]) as f:
        rows = list(csv.DictReader(f))
    assert 0 < len(rows) <= 20 and rows[0]["rank"] == "1"


def test_pretrain_headless_holds_out_an_extent_and_exports_onnx(qgis_env, kolari_stack, tmp_path):  # noqa: F811
    """mpm:pretrain runs the engine's pretrain_foundation: a tiny run from a stack + one synthetic scene."""
    with open(os.path.join(kolari_stack, "stack.json")) as f:
        xmin, ymin, xmax, ymax = json.load(f)["grid"]["bounds"]
    held = (xmin, ymin, xmin + (xmax - xmin) / 2, ymax)
    shipped = DEFAULT_MODEL
    r = _run(qgis_env, "pretrain", STACKS=kolari_stack, INIT_MODEL=shipped, SYNTHETIC=1, SYNTHETIC_SIZE=64, STEPS1=2, STEPS2=1,
             BATCH_SIZE=2, TILE=64, ONNX="true", LAYER_MASKING=0.5,
             EXCLUDE_EXTENT=f"{held[0]},{held[2]},{held[1]},{held[3]} [EPSG:3067]", OUTPUT=tmp_path / "model")
    card = json.load(open(r["MODEL_CARD"]))
    assert card["training"]["steps_stage1"] == 2 and card["data"]["labels_used"] is False
    assert card["training"]["layer_masking"] == 0.5
    assert card["training"]["initialised_from"]["sha256"] == json.load(open(os.path.join(shipped, "model_card.json")))["sha256"]
    assert list(card["data"]["held_out_bounds"].values())[0] == list(held)
    onnx = set(os.listdir(tmp_path / "model" / "onnx"))
    assert onnx == {f"{s}_encoder.onnx" for s in card["sources"]} | {"fusion.onnx"}
    assert os.path.exists(r["LOSSES"])


def test_pretrain_headless_token_mode_picks_the_architecture(qgis_env, kolari_stack, tmp_path):  # noqa: F811
    """TOKEN_MODE=patch from scratch writes a v1-style model; the card says so."""
    r = _run(qgis_env, "pretrain", STACKS=kolari_stack, SYNTHETIC=0, STEPS1=1, STEPS2=1, BATCH_SIZE=2, TILE=64,
             TOKEN_MODE="patch", OUTPUT=tmp_path / "model")
    card = json.load(open(r["MODEL_CARD"]))
    assert card["config"]["token_mode"] == "patch" and "initialised_from" not in card["training"]
