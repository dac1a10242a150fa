"""Inside QGIS only `mpm_plugin` is a top-level name: another plugin's `engine` and `settings` modules and ours
both work, whichever loads first (issue 22, item 3)."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from helpers import ROOT, write_raster

QGIS_PROCESS = shutil.which("qgis_process.bin") or "/usr/bin/qgis_process.bin"
# what an unpacked mpm_plugin folder must not make importable at the top level
PLUGIN_MODULES = ("engine", "settings", "deps", "plots", "i18n", "dock", "provider", "algorithms", "resources")

DUMMY_METADATA = """[general]
name=Dummy plugin with its own engine
qgisMinimumVersion=3.22
description=test double
about=test double
version=1.0
author=tests
email=tests@localhost
repository=none
hasProcessingProvider=yes
"""

# the old, careless way: its folder at the front of sys.path, then bare `import engine, settings`
DUMMY_INIT = '''
import os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def classFactory(iface):
    from .plugin import DummyPlugin
    return DummyPlugin()
'''

DUMMY_PLUGIN = '''
from qgis.core import QgsApplication, QgsProcessingAlgorithm, QgsProcessingOutputString, QgsProcessingProvider


class WhoAmI(QgsProcessingAlgorithm):
    def name(self):
        return "whoami"

    def displayName(self):
        return "whoami"

    def createInstance(self):
        return WhoAmI()

    def initAlgorithm(self, config=None):
        self.addOutput(QgsProcessingOutputString("ENGINE", "engine"))
        self.addOutput(QgsProcessingOutputString("SETTINGS", "settings"))

    def processAlgorithm(self, parameters, context, feedback):
        import engine, settings
        return {"ENGINE": engine.WHO, "SETTINGS": settings.WHO}


class Provider(QgsProcessingProvider):
    def id(self):
        return "dummy"

    def name(self):
        return "dummy"

    def loadAlgorithms(self):
        self.addAlgorithm(WhoAmI())


class DummyPlugin:
    def initProcessing(self):
        self.provider = Provider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):
        self.initProcessing()

    def unload(self):
        QgsApplication.processingRegistry().removeProvider(self.provider)
'''


def _plugins_folder(base):
    """The built plugin (as the zip unpacks) beside a dummy plugin with top-level `engine` and `settings`."""
    sys.path.insert(0, ROOT)
    import build

    plugins = base / "plugins"
    build.build_dir(str(plugins))
    dummy = plugins / "dummy_plugin"
    dummy.mkdir()
    (dummy / "metadata.txt").write_text(DUMMY_METADATA)
    (dummy / "__init__.py").write_text(DUMMY_INIT)
    (dummy / "plugin.py").write_text(DUMMY_PLUGIN)
    (dummy / "engine.py").write_text('WHO = "dummy engine"\n')
    (dummy / "settings.py").write_text('WHO = "dummy settings"\n')
    return plugins


@pytest.fixture(scope="module")
def plugins(tmp_path_factory):
    return _plugins_folder(tmp_path_factory.mktemp("isolation"))


@pytest.mark.parametrize("dummy_first", [True, False])
def test_plugin_adds_no_top_level_names(plugins, dummy_first):
    """Loading our plugin (panel, provider, algorithms, engine) leaves `engine`, `settings`, ... to others."""
    code = textwrap.dedent(f"""
        import importlib.util, sys
        sys.path.append({str(plugins)!r})   # what QGIS does with a plugins folder
        def dummy():
            import dummy_plugin, engine, settings
            assert engine.WHO == "dummy engine" and settings.WHO == "dummy settings", (engine, settings)
        if {dummy_first}:
            dummy()
        import mpm_plugin, mpm_plugin.plugin, mpm_plugin.provider, mpm_plugin.dock, mpm_plugin.settings
        assert len(mpm_plugin.provider.algorithm_classes()) >= 13
        from mpm_plugin.engine.core.grid import Grid
        from mpm_plugin.engine.core.errors import InputError
        assert mpm_plugin.engine.__file__.startswith({str(plugins / 'mpm_plugin')!r}), mpm_plugin.engine.__file__
        if {dummy_first}:
            import engine, settings
            assert engine.WHO == "dummy engine" and settings.WHO == "dummy settings", "ours replaced the dummy's"
        else:
            leaked = [m for m in {PLUGIN_MODULES!r} if importlib.util.find_spec(m) is not None]
            assert not leaked, f"top-level names leaked by mpm_plugin: {{leaked}}"
            dummy()
        print("ok")
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("PYTHONPATH", None)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=180,
                       cwd=str(plugins.parent))  # not the checkout: its `engine` must not be found
    assert r.returncode == 0 and "ok" in r.stdout, r.stderr[-3000:]


@pytest.mark.slow
def test_both_plugins_run_under_qgis_process(plugins, tmp_path):
    """qgis_process loads both plugins; each algorithm runs on its own modules."""
    if not os.path.exists(QGIS_PROCESS):
        pytest.fail("qgis_process.bin not found: run scripts/setup.sh (installs QGIS from Debian)")
    from rasterio.transform import from_origin

    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ, QGIS_PLUGINPATH=str(plugins), QGIS_CUSTOM_CONFIG_PATH=str(tmp_path / "profile"),
               QT_QPA_PLATFORM="offscreen", XDG_RUNTIME_DIR=str(runtime),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("PYTHONPATH", None)
    for name in ("dummy_plugin", "mpm_plugin"):
        out = subprocess.run([QGIS_PROCESS, "plugins", "enable", name], env=env, capture_output=True, text=True,
                             timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
    r = subprocess.run([QGIS_PROCESS, "--json", "run", "dummy:whoami"], env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout)["results"] == {"ENGINE": "dummy engine", "SETTINGS": "dummy settings"}
    a = write_raster(tmp_path / "a.tif", np.random.default_rng(0).normal(size=(20, 20)).astype(np.float32),
                     from_origin(400000, 7500000, 100, 100))
    r = subprocess.run([QGIS_PROCESS, "--json", "run", "mpm:alignstack", f"--GEOPHYSICS={a}",
                        f"--OUTPUT={tmp_path / 'stack'}"], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "stack" / "stack.json").exists()
