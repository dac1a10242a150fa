"""The built plugin zip, unpacked into a plugins folder, runs headless: qgis_process.bin run mpm:alignstack."""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import rasterio

from helpers import KOLARI_CROP, ROOT

QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"


@pytest.fixture(scope="module")
def qgis_env(tmp_path_factory):
    """A plugins folder holding the unpacked zip and a profile of its own (never the user's)."""
    if not os.path.exists(QGIS_PROCESS):
        pytest.fail("qgis_process.bin not found: run scripts/setup.sh (installs QGIS from Debian)")
    sys.path.insert(0, ROOT)
    import build

    base = tmp_path_factory.mktemp("qgis")
    zpath = build.build_zip(str(base / "dist"))
    plugins = base / "plugins"
    with zipfile.ZipFile(zpath) as z:
        names = z.namelist()
        assert "mpm_plugin/metadata.txt" in names and "mpm_plugin/engine/data/stack.py" in names
        assert not any("__pycache__" in n for n in names)
        z.extractall(plugins)
    runtime = base / "xdg"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, QGIS_PLUGINPATH=str(plugins), QGIS_CUSTOM_CONFIG_PATH=str(base / "profile"),
               QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("PYTHONPATH", None)  # the plugin must find its engine inside the unpacked folder
    out = subprocess.run([QGIS_PROCESS, "plugins", "enable", "mpm_plugin"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return env


def _run(env, *args):
    return subprocess.run([QGIS_PROCESS, "--json", "run", "mpm:alignstack", *args], env=env, capture_output=True,
                          text=True, timeout=600)


def test_alignstack_headless_on_kolari(qgis_env, kolari, tmp_path):
    k = kolari
    out_dir = tmp_path / "stack"
    r = _run(qgis_env,
             f"--GEOPHYSICS={k}/Geophysics_100m/IOCG_Mag_grysc_DGRF65_anom_100m.tif",
             f"--GEOPHYSICS={k}/Geophysics_100m/IOCG_Gm_Rd_K_100m.tif",
             f"--GEOLOGY={k}/Geological_Data/IOCG_CLB_Lith_Asstn_1M.shp",
             f"--GEOLOGY={k}/Geological_Data/IOCG_CLB_Structures_1M.shp",
             f"--GEOCHEMISTRY={k}/Geochemical_Data/Vector_files/IOCG_CLB_Till_Geochem_reg_511p.shp",
             "--ELEMENTS=Cu,Co,Fe,Ni", "--LITHOLOGY_FIELD=ROCK_NAME_",
             f"--DEPOSITS={k}/Deposits_Occurrences/IOCG_Deps_Prosp_Occs.shp",
             "--EXTENT={},{},{},{} [EPSG:3067]".format(KOLARI_CROP[0], KOLARI_CROP[2], KOLARI_CROP[1], KOLARI_CROP[3]),
             "--RESOLUTION=250", f"--OUTPUT={out_dir}")
    assert r.returncode == 0, r.stderr[-3000:]
    result = json.loads(r.stdout)["results"]
    assert result["STACK"] == str(out_dir / "stack.tif")
    with rasterio.open(result["STACK"]) as ds:
        assert ds.crs.to_epsg() == 3067
        assert tuple(ds.bounds) == KOLARI_CROP
        assert ds.count == 2 + 2 + 4
        assert ds.descriptions[0] == "geology:IOCG_CLB_Lith_Asstn_1M"
        a = ds.read(1)
        assert np.isfinite(a).mean() > 0.9
    manifest = json.load(open(out_dir / "stack.json"))
    assert manifest["layers"]["IOCG_CLB_Lith_Asstn_1M"]["class_field"] == "ROCK_NAME_"
    assert manifest["deposits"]["used"] > 0


def test_alignstack_headless_reports_bad_input(qgis_env, tmp_path):
    from rasterio.transform import from_origin

    from helpers import write_raster

    a = write_raster(tmp_path / "a.tif", np.random.default_rng(0).normal(size=(20, 20)).astype(np.float32), from_origin(400000, 7500000, 100, 100))
    b = write_raster(tmp_path / "far.tif", np.random.default_rng(1).normal(size=(20, 20)).astype(np.float32), from_origin(900000, 6600000, 100, 100))
    r = _run(qgis_env, f"--GEOPHYSICS={a}", f"--GEOPHYSICS={b}", f"--OUTPUT={tmp_path / 'out'}")
    assert r.returncode != 0
    assert "do not overlap" in r.stdout + r.stderr
    assert not (tmp_path / "out" / "stack.json").exists()
