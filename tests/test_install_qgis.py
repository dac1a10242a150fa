"""The plugin installed like the plugin manager does into a fresh QGIS profile whose Python has none of the packages
(Debian's /usr/bin/python3, not the venv): the install dialog puts the pinned set into the profile's plugin-local
folder, the packages load without a restart, and the Kolari chain runs through qgis_process on them.

Minutes (about 4 for pip, shapely built from source, then the chain): slow. The pip index is the one pip is
configured with; MPM_TEST_WHEELS=<folder> installs offline from a folder of wheels instead."""

import json
import os
import subprocess
import sys
import time
import zipfile

import pytest

from helpers import ROOT
from test_headless import QGIS_PROCESS

pytestmark = pytest.mark.slow

DEBIAN_PYTHON = "/usr/bin/python3"

DRIVER = r"""
import json, os, sys, time
from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QEventLoop, QTimer
app = QgsApplication([], True)
app.initQgis()
sys.path.insert(0, sys.argv[1])
from mpm_plugin import install_dialog
from mpm_plugin.install_dialog import InstallDialog
assert not install_dialog.activate()  # nothing installed yet
dlg = InstallDialog()
if os.environ.get("MPM_TEST_WHEELS"):
    dlg.offline.setChecked(True)
    dlg.wheels.setText(os.environ["MPM_TEST_WHEELS"])
percents, result = [], {}
dlg.bridge.progress.connect(lambda p, m: percents.append(p))
loop = QEventLoop()
dlg.finished_install.connect(lambda ok: (result.update(ok=ok), loop.exit()))
QTimer.singleShot(1500 * 1000, loop.exit)
t0 = time.monotonic()
dlg.install_button.click()
running = not dlg.install_button.isEnabled() and dlg.cancel_button.isEnabled()
loop.exec_()
mods = {}
for name in ("rasterio", "shapely", "pyogrio", "scipy", "sklearn", "torch", "onnxruntime", "safetensors", "numpy"):
    m = __import__(name)
    mods[name] = [m.__version__, m.__file__]
print("RESULT " + json.dumps(dict(result, seconds=time.monotonic() - t0, folder=dlg.folder, status=dlg.status.text(),
                                  percents=percents, running=running, modules=mods, log=dlg.log.toPlainText()[-3000:])))
"""


def _bare_env(base):
    """Debian's Python first on PATH (QGIS takes the python3 on PATH), the venv nowhere, a profile of its own."""
    bin_dir = base / "bin"
    bin_dir.mkdir()
    os.symlink(DEBIAN_PYTHON, bin_dir / "python3")
    runtime = base / "xdg"
    runtime.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=f"{bin_dir}:/usr/bin:/bin", QGIS_CUSTOM_CONFIG_PATH=str(base / "config"),
               QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime), MPM_CACHE_DIR=str(base / "cache"))
    return env


def test_fresh_profile_installs_its_packages_from_the_dialog_then_runs_the_chain(kolari, tmp_path):
    if not (os.path.exists(QGIS_PROCESS) and os.path.exists(DEBIAN_PYTHON)):
        pytest.fail("needs Debian's QGIS and python3: run scripts/setup.sh")
    env = _bare_env(tmp_path)
    missing = subprocess.run([DEBIAN_PYTHON, "-c", "import rasterio"], env=env, capture_output=True)
    assert missing.returncode != 0, "Debian's python3 has rasterio: this test needs a Python without the packages"

    # Plugins > Manage and Install > Install from ZIP: the zip unpacked into the profile's plugins folder
    sys.path.insert(0, ROOT)
    import build

    profile = tmp_path / "config" / "profiles" / "default"
    plugins = profile / "python" / "plugins"
    with zipfile.ZipFile(build.build_zip(str(tmp_path / "dist"))) as z:
        z.extractall(plugins)
    r = subprocess.run([QGIS_PROCESS, "plugins", "enable", "mpm_plugin"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr

    # before: the algorithms are there and say how to get the packages
    r = subprocess.run([QGIS_PROCESS, "run", "mpm:alignstack", f"--GEOPHYSICS={kolari}/Geophysics_100m/"
                        "IOCG_Gm_Rd_K_100m.tif", f"--OUTPUT={tmp_path / 'never'}"], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode != 0 and "Install Python packages" in r.stdout + r.stderr, r.stdout[-2000:] + r.stderr[-2000:]

    # the dialog (from the panel's message or the plugin menu) installs them into the profile
    t0 = time.monotonic()
    r = subprocess.run([DEBIAN_PYTHON, "-c", DRIVER, str(plugins)], env=env, capture_output=True, text=True,
                       timeout=1800)
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT ")]
    assert r.returncode == 0 and line, r.stdout[-3000:] + r.stderr[-3000:]
    out = json.loads(line[0][len("RESULT "):])
    install_s = time.monotonic() - t0
    folder = str(profile / "python" / "mpm_studio_deps" / f"py{sys.version_info[0]}.{sys.version_info[1]}")
    assert out["folder"] == folder and out["running"]
    assert out["ok"], out["status"] + "\n" + out["log"]
    assert out["percents"] == sorted(out["percents"]) and out["percents"][-1] == 100
    for name, (version, path) in out["modules"].items():  # loaded in the same session: no restart
        if name == "numpy":
            assert path.startswith("/usr/lib/python3/"), path  # QGIS's own numpy, never a second one
        else:
            assert path.startswith(folder + os.sep), (name, path)
    assert out["modules"]["rasterio"][0] == "1.4.4" and out["modules"]["scipy"][0] == "1.15.3"
    assert sorted(os.listdir(os.path.dirname(folder))) == [os.path.basename(folder)]  # no staging left
    assert not os.path.isdir(os.path.join(folder, "shapely.libs")), "shapely must be built against the system's GEOS"
    again = subprocess.run([DEBIAN_PYTHON, "-c", "import rasterio"], env=env, capture_output=True)
    assert again.returncode != 0, "the install reached QGIS's own Python"

    # later QGIS sessions find the folder at plugin start: the whole chain headless on Debian's Python
    from test_headless_chain import test_chain_headless_on_kolari

    t1 = time.monotonic()
    (tmp_path / "chain").mkdir()
    test_chain_headless_on_kolari(env, kolari, tmp_path / "chain")
    print(f"\ninstall (dialog, pip, shapely built from source): {install_s:.0f} s; "
          f"Kolari chain through qgis_process: {time.monotonic() - t1:.0f} s")
