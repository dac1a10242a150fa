"""The plain CLI: the same operations without QGIS, with actionable errors and exit codes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import KOLARI_CROP, ROOT

from engine.foundation.features import DEFAULT_MODEL


def _engine(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, "-m", "engine", *args], capture_output=True, text=True, env=env,
                          cwd=cwd or ROOT, timeout=600)


def test_cli_align_and_info_on_kolari(kolari, tmp_path):
    k = kolari
    out = tmp_path / "stack"
    r = _engine("align", "--geophysics", f"{k}/Geophysics_100m/IOCG_Gm_Rd_K_100m.tif",
                "--geology", f"{k}/Geological_Data/IOCG_CLB_Lith_Asstn_1M.shp::field=GENERALI_1::name=litho",
                f"{k}/Geological_Data/IOCG_CLB_Structures_1M.shp",
                "--geochemistry", f"{k}/Geochemical_Data/Vector_files/IOCG_CLB_Till_Geochem_reg_511p.shp::elements=Cu,Zn",
                "--deposits", f"{k}/Deposits_Occurrences/IOCG_Deps_Prosp_Occs.shp",
                "--bounds", *map(str, KOLARI_CROP), "--res", "500", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert f"Stack: {out}" in r.stdout
    assert "deposits:" in r.stdout and "not used:" in r.stdout  # crop leaves some deposits outside, by name
    m = json.load(open(out / "stack.json"))
    assert [b["name"] for b in m["bands"]] == ["litho", "IOCG_CLB_Structures_1M", "Cu", "Zn", "IOCG_Gm_Rd_K_100m"]
    assert m["layers"]["litho"]["class_field"] == "GENERALI_1"
    info = _engine("info", str(out))
    assert info.returncode == 0 and "geochemistry: 2 band(s): Cu, Zn" in info.stdout
    assert "Valid area: " in info.stdout and "of the 4 layers have data" in info.stdout  # coverage, issue 21 item 5


def test_cli_spec_file_with_relative_paths(kolari, tmp_path):
    spec = {"layers": [{"path": os.path.relpath(f"{kolari}/Geophysics_100m/IOCG_Gm_Rd_Th_eq_100m.tif", tmp_path),
                        "source": "geophysics", "name": "th"}],
            "bounds": list(KOLARI_CROP), "res": 1000}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    r = _engine("align", "--spec", str(tmp_path / "spec.json"), "--out", str(tmp_path / "s"))
    assert r.returncode == 0, r.stderr
    assert json.load(open(tmp_path / "s" / "stack.json"))["grid"]["width"] == 20


def test_cli_errors_are_actionable(tmp_path):
    r = _engine("align", "--geophysics", str(tmp_path / "missing.tif"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert "file not found" in r.stderr and "Fix:" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_demo_is_idempotent(kolari, tmp_path):
    first = _engine("demo", "--out", str(tmp_path / "demo"))
    assert first.returncode == 0, first.stderr
    assert "deposits: 13 of 13 used" in first.stdout
    demo = tmp_path / "demo"
    outputs = [demo / "stack" / "stack.tif", demo / "head" / "head_card.json", demo / "head" / "validation.png",
               demo / "prediction" / "prospectivity.tif", demo / "prediction" / "contributions.tif",
               demo / "targets.gpkg", demo / "anomalies" / "top_anomalies.csv"]
    stamps = [os.path.getmtime(p) for p in outputs]  # raises if the chain left one out
    assert "weights_of_evidence" in first.stdout and "Targets:" in first.stdout  # CV table and targets printed
    second = _engine("demo", "--out", str(tmp_path / "demo"))
    assert second.returncode == 0 and second.stdout.count("Reusing") == 5
    assert [os.path.getmtime(p) for p in outputs] == stamps


@pytest.mark.slow
def test_cli_pretrain_adapts_a_model_and_refuses_a_changed_architecture(kolari_stack, tmp_path):
    shipped = DEFAULT_MODEL
    r = _engine("pretrain", "--stack", kolari_stack, "--init-from", shipped, "--recon-prior", "idw", "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "cannot change a model given with --init-from" in r.stderr and not (tmp_path / "x").exists()
    r = _engine("pretrain", "--stack", kolari_stack, "--init-from", shipped, "--token-mode", "patch", "--out", str(tmp_path / "x"))
    assert r.returncode != 0 and "--token-mode cannot change" in r.stderr and not (tmp_path / "x").exists()
    r = _engine("pretrain", "--stack", kolari_stack, "--init-from", shipped, "--steps1", "2", "--steps2", "1",
            "--batch-size", "4", "--tile", "100", "--out", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "m" / "model_card.json") as f:
        card = json.load(f)
    with open(os.path.join(shipped, "model_card.json")) as f:
        base = json.load(f)
    assert card["training"]["initialised_from"]["sha256"] == base["sha256"] != card["sha256"]
    from engine.foundation.model.config import ModelConfig

    assert ModelConfig.from_dict(card["config"]) == ModelConfig.from_dict(base["config"])
    assert card["sources"] == base["sources"]
    assert card["training"]["lr"] == 3e-4


@pytest.mark.slow
def test_cli_pretrain_from_scratch_defaults_to_layer_tokens(kolari_stack, tmp_path):
    """Per-layer tokens are the default architecture (as in the shipped v2); mpm:pretrain's own
    TOKEN_MODE test picks patch tokens."""
    r = _engine("pretrain", "--stack", kolari_stack, "--steps1", "2", "--steps2", "1",
                "--batch-size", "4", "--tile", "100", "--out", str(tmp_path / "m"))
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "m" / "model_card.json") as f:
        card = json.load(f)
    assert card["config"]["token_mode"] == "layer" and "training" in card
    with open(tmp_path / "m" / "MODEL_CARD.md") as f:
        assert "one per layer and patch" in f.read()


def test_cli_validate_a_map(kolari, tmp_path):
    mag = os.path.join(kolari, "Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif")
    dep = os.path.join(kolari, "Deposits_Occurrences", "IOCG_Deps_Prosp_Occs.shp")
    r = _engine("validate", mag, "--deposits", dep, "--out", str(tmp_path / "v"))
    assert r.returncode == 0, r.stderr
    with open(tmp_path / "v" / "validation.json") as f:
        (m,) = json.load(f)["methods"].values()
    assert f"ROC-AUC {m['roc_auc']:.3f}" in r.stdout
    r = _engine("validate", mag, "--deposits", dep, "--out", str(tmp_path / "v"))  # taken: refused, kept
    assert r.returncode != 0 and "Fix:" in r.stderr and (tmp_path / "v" / "validation.json").exists()


def test_cli_terminated_leaves_nothing_half_written(kolari, tmp_path):
    """SIGTERM mid-run: exit 143, no output and no '.partial' left beside it."""
    import signal
    import time

    k = kolari
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "engine", "align", "--geophysics",
                             f"{k}/Geophysics_100m/IOCG_Mag_grysc_DGRF65_anom_100m.tif",
                             f"{k}/Geophysics_100m/IOCG_Gm_Rd_K_100m.tif", "--res", "20", "--out", str(tmp_path / "stack")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.time() + 120
    while time.time() < end and not any(n.endswith(".partial") for n in os.listdir(tmp_path)) and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be terminated: make it bigger"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Terminated: nothing was written" in err, err
    assert os.listdir(tmp_path) == []


def test_cli_says_what_it_left_out_when_redirected(kolari_400, tmp_path):
    """Output to a file or pipe (no terminal): no progress bar, but the run's notices are still printed."""
    import shapely

    from helpers import write_vector

    with open(os.path.join(kolari_400, "stack.json")) as f:
        used = [p for p in json.load(f)["deposits"]["points"] if p["status"] == "used"]
    pts = [shapely.Point(p["x"], p["y"]) for p in used] + [shapely.Point(0.0, 0.0)]
    names = [p["name"] for p in used] + ["far away"]
    dep = write_vector(tmp_path / "dep.gpkg", pts, {"name": np.array(names, dtype=object)})
    r = _engine("finetune", kolari_400, "--no-validate", "--deposits", dep, "--out", str(tmp_path / "head"))
    assert r.returncode == 0, r.stderr
    assert "Deposits not used" in r.stderr and "far away (outside)" in r.stderr
    assert "Head:" in r.stdout


def test_cli_align_dry_run_previews_the_layers_and_writes_nothing(kolari, tmp_path):
    """issue 21, item 3: `align --dry-run` (same arguments as align) shows per layer what align would make of it,
    warns on a 2-value class field beside a richer one, prints JSON with --json, and writes nothing."""
    k = kolari
    args = ["align", "--geology", f"{k}/Geological_Data/IOCG_CLB_Lith_Asstn_1M.shp::field=EON_::name=litho",
            "--geophysics", f"{k}/Geophysics_100m/IOCG_Gm_Rd_K_100m.tif",
            "--geochemistry", f"{k}/Geochemical_Data/Vector_files/IOCG_CLB_Till_Geochem_reg_511p.shp::elements=Cu,Zn",
            "--bounds", *map(str, KOLARI_CROP), "--res", "500", "--dry-run"]
    r = _engine(*args, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "geology/litho: categorical (from the geometry type), type lithology_unit, classes from 'EON_', 2 classes" in r.stdout
    assert "warning: classes from 'EON_' (2 values) while" in r.stdout
    assert "geophysics/IOCG_Gm_Rd_K_100m: continuous (a geophysics raster), type gamma_k" in r.stdout
    assert "Target grid: EPSG:3067, 500 m, 40 x 40 px" in r.stdout
    j = _engine(*args, "--json", cwd=str(tmp_path))
    assert j.returncode == 0, j.stderr
    d = json.loads(j.stdout)
    rows = {row["name"]: row for row in d["rows"]}
    assert rows["litho"]["class_count"] == 2 and rows["litho"]["class_fields"]["ROCK_NAME_"] == 23
    assert rows["IOCG_CLB_Till_Geochem_reg_511p"]["bands"] == ["Cu", "Zn"] and d["grid"]["width"] == 40
    assert all(0 < row["coverage"] <= 1 for row in d["rows"])
    assert os.listdir(tmp_path) == []
    no_out = _engine(*args[:-1], cwd=str(tmp_path))
    assert no_out.returncode == 2 and "--out" in no_out.stderr and os.listdir(tmp_path) == []


def test_pyproj_finds_its_data_in_the_venv():
    """scripts/setup.sh points Debian's pyproj at PROJ's data: without it every import of pyproj (pyogrio's, the set-up
    check's) printed "Valid PROJ data directory not found" (issue 21, item 16)."""
    r = subprocess.run([sys.executable, "-W", "error", "-c", "import pyproj.datadir; print(pyproj.datadir.get_data_dir())"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "PROJ data directory not found" not in r.stderr, r.stderr[-2000:]
    assert os.path.exists(os.path.join(r.stdout.strip(), "proj.db"))
