"""Operations declared once (engine/operations.py): the CLI and the Processing algorithms are generated
from the declarations, and the drift the copies had is gone (issue 22, item 1): predict's tile bounds the
embedding pass too, --threads reaches finetune / predict / anomalies from the CLI, the backends are one
list, and the cache folder is passed down, never set in os.environ."""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import rasterio

from helpers import ROOT

from engine import cli, operations
from engine.operations import BACKENDS, OPERATIONS, Runtime


def test_declarations_import_without_heavy_libraries():
    code = ("import sys, engine.operations; heavy = [m for m in ('numpy', 'torch', 'rasterio', 'qgis') "
            "if m in sys.modules]; print(heavy)")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr


def _subcommands():
    return next(a for a in cli.build_parser()._actions if a.dest == "command").choices


def test_every_operation_is_a_cli_command_with_its_declared_flags():
    commands = _subcommands()
    for op in OPERATIONS.values():
        flags = {s for a in commands[op.name]._actions for s in a.option_strings}
        dests = {a.dest for a in commands[op.name]._actions}
        for p in op.all_params():
            if p.cli and p.kind != operations.CUSTOM:
                assert (p.cli_flag in flags) if not p.positional else (p.name in dests), (op.name, p.name)
        assert ("--overwrite" in flags) == op.overwrite


def test_backends_are_one_list():
    """Every --backend takes the one list; the engine's backend selectors use the same object, and the
    list is written out once in the engine and the plugin."""
    from engine.foundation.model import backend
    from engine.structures import predictor

    assert backend.NAMES is BACKENDS and predictor.NAMES is BACKENDS
    commands = _subcommands()
    for name in ("finetune", "predict", "embed", "structures"):
        (choices,) = [a.choices for a in commands[name]._actions if a.dest == "backend"]
        assert tuple(choices) == BACKENDS
    written = []
    for folder in ("engine", "mpm_plugin"):
        for dirpath, _dirs, files in os.walk(os.path.join(ROOT, folder)):
            for f in files:
                if f.endswith(".py"):
                    text = open(os.path.join(dirpath, f), encoding="utf-8").read()
                    written += [f] * len(re.findall(r'"auto",\s*"torch-cuda",\s*"torch-cpu",\s*"onnx-cpu"', text))
    assert written == ["runtime.py"]


@pytest.mark.parametrize("command", ["finetune", "predict", "anomalies"])
def test_cli_threads_reach_the_engine(command, monkeypatch, tmp_path, capsys):
    """--threads (and the other runtime settings) on the CLI's finetune / predict / anomalies arrive at the
    engine function as its Runtime."""
    op = OPERATIONS[command]
    module, func = op.call.split(":")
    seen = []

    def fake(*args, runtime=None, **kw):
        seen.append(runtime)
        raise SystemExit(0)

    import importlib

    monkeypatch.setattr(importlib.import_module(f"engine.{module}"), func, fake)
    argv = [command, str(tmp_path / "stack"), "--threads", "3", "--out", str(tmp_path / "out")]
    if command == "predict":
        argv += ["--head", str(tmp_path / "head"), "--tile", "64", "--cache-dir", str(tmp_path / "c")]
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert seen and seen[0].threads == 3
    if command == "predict":
        assert (seen[0].tile, seen[0].cache_dir) == (64, str(tmp_path / "c"))


def test_cli_checks_ranges_from_the_declarations(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["predict", "s", "--head", "h", "--tile", "8", "--out", "o"])
    assert "below 32" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["predict", "s", "--head", "h", "--backend", "gpu", "--out", "o"])


def test_runtime_is_checked_and_takes_the_old_keywords():
    with pytest.raises(operations.InputError, match="backend 'quantum'"):
        Runtime(backend="quantum")
    rt = Runtime.of(Runtime(threads=2), tile=128, backend=None)
    assert (rt.threads, rt.tile, rt.backend) == (2, 128, "auto")


@pytest.fixture(scope="module")
def embedding_head(kolari_stack, tmp_path_factory):
    """A head that reads the foundation embeddings (so predict embeds the stack)."""
    from engine.prospectivity.head import HeadConfig
    from engine.prospectivity import finetune

    head = str(tmp_path_factory.mktemp("ops_head") / "head")
    cache = str(tmp_path_factory.mktemp("ops_cache"))
    finetune(kolari_stack, head, validate=False, n_background=500, head_config=HeadConfig(inputs="both"),
             runtime=Runtime(cache_dir=cache))
    return head


def test_predict_tile_bounds_the_embedding_pass_and_cache_folder_is_passed(kolari_stack, embedding_head, tmp_path,
                                                                            monkeypatch):
    """The tile size bounds every tile of the embedding pass (it used to be 256 whatever was asked), the
    result does not depend on it, and each run's embedding lands in the cache folder it was given while
    MPM_CACHE_DIR stays as it was."""
    import engine.foundation.embed as E
    from engine.prospectivity import predict

    cores = []
    real = E.embed_tile

    def spy(st, backend, core, exclude=()):
        cores.append((core.height, core.width))
        return real(st, backend, core, exclude)

    monkeypatch.setattr(E, "embed_tile", spy)
    env_before = os.environ.get("MPM_CACHE_DIR")
    env_files = set(os.listdir(env_before)) if env_before and os.path.isdir(env_before) else set()
    maps = {}
    for tile in (32, 256):
        cache = tmp_path / f"cache{tile}"
        cores.clear()
        predict(kolari_stack, embedding_head, str(tmp_path / f"p{tile}"), contributions=False,
                runtime=Runtime(tile=tile, cache_dir=str(cache)))
        assert cores and max(max(c) for c in cores) <= tile, (tile, cores[:3])
        assert [f for f in os.listdir(cache) if f.startswith("embedding-")], "embedding not in the given cache"
        with rasterio.open(tmp_path / f"p{tile}" / "prospectivity.tif") as ds:
            maps[tile] = ds.read(1)
    assert len(cores) == 1  # the 100 x 100 px stack in one tile at 256, in 16 at 32
    np.testing.assert_allclose(maps[32], maps[256], rtol=1e-5, atol=1e-6, equal_nan=True)
    assert os.environ.get("MPM_CACHE_DIR") == env_before
    if env_before and os.path.isdir(env_before):
        assert set(os.listdir(env_before)) == env_files  # nothing went to the environment's cache


def test_no_parameter_block_copied_between_cli_and_processing():
    """`duplicates` (the team's copy finder) pairs nothing in engine/cli.py with mpm_plugin/algorithms/:
    the parameters are declared once in engine/operations.py."""
    if shutil.which("duplicates") is None:
        pytest.skip("the duplicates command is not on PATH here")
    r = subprocess.run(["duplicates", "--most", "200", "--seconds", "60"], cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    rows = [ln for ln in r.stdout.splitlines() if re.match(r"D\d+ ", ln)]
    assert rows or "no duplicates" in r.stdout, r.stdout[-2000:]
    crossing = [ln for ln in rows if "engine/cli.py" in ln and "mpm_plugin/algorithms/" in ln]
    assert not crossing, crossing


def test_predict_reads_the_stack_manifest_once(kolari_stack, embedding_head, tmp_path, monkeypatch):
    """One predict (embedding computed, cold cache) opens the stack once: its manifest is read once, not
    again for the cache key and the embedding pass."""
    import builtins

    from engine.prospectivity import predict

    reads = []
    real_open = builtins.open

    def counting_open(file, *a, **kw):
        if str(file).endswith("stack.json"):
            reads.append(file)
        return real_open(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", counting_open)
    predict(kolari_stack, embedding_head, str(tmp_path / "p"), contributions=False,
            runtime=Runtime(cache_dir=str(tmp_path / "cold")))
    assert os.listdir(tmp_path / "cold") and len(reads) == 1, reads


def test_targets_smallest_area_default_is_declared_once():
    """1 km2 (issue 21, item 14: 8 of 31 Kolari targets were under it): the CLI's default is the declared one,
    the engine function's too, and the panel passes none of its own (Processing shows the declared default)."""
    import inspect

    from engine.prospectivity.targets import make_targets

    declared = operations.TARGETS.param("min_area_km2").default
    assert declared == 1.0
    (cli_default,) = [a.default for a in _subcommands()["targets"]._actions if a.dest == "min_area_km2"]
    assert cli_default == declared
    for fn in (operations.run_targets, make_targets):
        assert inspect.signature(fn).parameters["min_area_km2"].default == declared
    panel = open(os.path.join(ROOT, "mpm_plugin", "dock_chain.py"), encoding="utf-8").read()
    assert "MIN_AREA" not in panel


def test_align_takes_layer_types_and_class_fields_per_layer_name(kolari):
    """What the panel's preview table sets (LAYER_TYPES, CLASS_FIELDS) reaches the layers align reads; a name no
    layer has, or a type outside the vocabulary, is refused with what to give instead."""
    from engine.core.errors import InputError
    from engine.data.layers import LayerSpec

    lith = os.path.join(kolari, "Geological_Data", "IOCG_CLB_Lith_Asstn_1M.shp")
    res = os.path.join(kolari, "Geophysics_100m", "IOCG_App_res_100m.tif")

    def layers():
        return [LayerSpec(lith, "geology"), LayerSpec(res, "geophysics")]

    kw = dict(aoi=os.path.join(kolari, "Geological_Data", "EIS_IOCG_target_area.shp"), res=4000.0, dry_run=True)
    plain = {r.name: r for r in operations.run_align(layers(), **kw).rows}
    assert plain["IOCG_CLB_Lith_Asstn_1M"].class_field == "ROCK_NAME_"
    assert plain["IOCG_App_res_100m"].layer_type == "resistivity"
    chosen = {r.name: r for r in operations.run_align(
        layers(), layer_types="IOCG_App_res_100m=em_ratio", class_fields=" IOCG_CLB_Lith_Asstn_1M = EON_ ", **kw).rows}
    assert chosen["IOCG_App_res_100m"].layer_type == "em_ratio"
    assert chosen["IOCG_CLB_Lith_Asstn_1M"].class_field == "EON_" and chosen["IOCG_CLB_Lith_Asstn_1M"].class_count == 2
    with pytest.raises(InputError, match="IOCG_App_res_100m") as err:
        operations.run_align(layers(), layer_types="app_res=em_ratio", **kw)
    assert "app_res" in str(err.value)
    with pytest.raises(InputError, match="unknown layer_type 'emratio'"):
        operations.run_align(layers(), layer_types="IOCG_App_res_100m=emratio", **kw)
    with pytest.raises(InputError, match="not name=value"):
        operations.run_align(layers(), class_fields="EON_", **kw)
    assert operations.ALIGN.param("layer_types").qgis and not operations.ALIGN.param("layer_types").cli


def test_predict_reads_the_model_card_once(kolari_stack, embedding_head, tmp_path, monkeypatch):
    """One cold predict opens the foundation model once (engine.foundation.model.weights.ModelCard) and passes
    the handle down: its card is read once, not again for the cache key, the embedding pass and the backend."""
    from engine.foundation.model import weights as W
    from engine.prospectivity import predict

    reads = []
    real = W.read_card_file

    def spy(cpath, *a, **kw):
        reads.append(os.path.basename(cpath))
        return real(cpath, *a, **kw)

    from engine.foundation.model.backend import clear_cache
    from engine.prospectivity import head as H

    monkeypatch.setattr(W, "read_card_file", spy)
    monkeypatch.setattr(H, "read_card_file", spy)

    clear_cache()  # a backend cached by an earlier test would hide the reads of building one
    predict(kolari_stack, embedding_head, str(tmp_path / "p"), runtime=Runtime(cache_dir=str(tmp_path / "cold")))
    assert [f for f in os.listdir(tmp_path / "cold") if f.startswith("embedding-")]
    assert reads.count("model_card.json") == 1 and reads.count("head_card.json") == 1, reads
    # the folder it wrote, through its handle: every raster predict.json lists is where the handle says
    from engine.prospectivity.artifacts import Prediction

    pred = Prediction(tmp_path / "p")
    files = pred.summary["files"]
    assert set(files) == {"prospectivity", "uncertainty", "coverage", "contributions"}
    assert pred.existing() == {k: os.path.join(pred.folder, f) for k, f in files.items()}
    assert os.path.samefile(pred.head, embedding_head)
