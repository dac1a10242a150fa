"""The plugin in QGIS (pytest-qgis iface), as a Processing provider, and with heavy libraries absent."""

import os
import subprocess
import sys
import time

import pytest
from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsVectorLayer

from conftest import KOLARI_CROP, ROOT


@pytest.fixture
def plugin(qgis_iface, qgis_processing):
    import mpm_plugin

    p = mpm_plugin.classFactory(qgis_iface)
    p.initGui()
    yield p
    p.unload()
    QgsProject.instance().removeAllMapLayers()


def test_gui_has_action_dock_and_provider(plugin):
    assert plugin.action.objectName() == "mpmStudioAction"
    assert plugin.action.isCheckable() and not plugin.action.icon().isNull()
    assert plugin.dock is not None and plugin.dock.isHidden()
    plugin.action.setChecked(True)
    assert not plugin.dock.isHidden()
    provider = QgsApplication.processingRegistry().providerById("mpm")
    assert provider is not None and provider.name() == "MPM Studio"
    alg = QgsApplication.processingRegistry().algorithmById("mpm:alignstack")
    assert alg is not None and "GEOPHYSICS" in [p.name() for p in alg.parameterDefinitions()]


def test_unload_removes_provider(qgis_iface, qgis_processing):
    import mpm_plugin

    p = mpm_plugin.classFactory(qgis_iface)
    p.initGui()
    p.unload()
    assert QgsApplication.processingRegistry().providerById("mpm") is None


def _wait(dock, seconds=120):
    """Process Qt events until the dock's background task has reported back; its (ok, results)."""
    end = time.time() + seconds
    while dock.last_result is None and time.time() < end:
        QgsApplication.processEvents()
        time.sleep(0.02)
    assert dock.last_result is not None, "the align task did not finish in time"
    return dock.last_result


def test_dock_aligns_kolari_crop_and_loads_results(plugin, kolari, tmp_path):
    mag = QgsRasterLayer(os.path.join(kolari, "Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif"), "mag")
    faults = QgsVectorLayer(os.path.join(kolari, "Geological_Data", "IOCG_CLB_Structures_1M.shp"), "faults", "ogr")
    till = QgsVectorLayer(os.path.join(kolari, "Geochemical_Data", "Vector_files", "IOCG_CLB_Till_Geochem_reg_511p.shp"), "till", "ogr")
    deps = QgsVectorLayer(os.path.join(kolari, "Deposits_Occurrences", "IOCG_Deps_Prosp_Occs.shp"), "deposits", "ogr")
    area = QgsVectorLayer(os.path.join(kolari, "Geological_Data", "EIS_IOCG_target_area.shp"), "area", "ogr")
    assert all(lyr.isValid() for lyr in (mag, faults, till, deps, area))
    QgsProject.instance().addMapLayers([mag, faults, till, deps, area])
    dock = plugin.dock
    dock.select_layers("geophysics", [mag.id()])
    dock.select_layers("geology", [faults.id()])
    dock.select_layers("geochemistry", [till.id()])
    assert dock.selected_ids("geochemistry") == [till.id()]
    assert till.id() not in [dock.lists["geophysics"].item(i).data(256) for i in range(dock.lists["geophysics"].count())]
    dock.deposits.setLayer(deps)
    dock.aoi.setLayer(area)
    dock.resolution.setValue(500)
    dock.output.setFilePath(str(tmp_path))
    assert dock.run_align() is not None
    ok, results = _wait(dock)
    assert ok and results["STACK"].endswith("stack.tif")
    stack = tmp_path / "stack" / "stack.tif"
    assert stack.exists()
    group = QgsProject.instance().layerTreeRoot().findGroup("MPM Studio")
    assert group is not None
    names = [n.layer().name() for n in group.findLayers()]
    assert "Aligned stack" in names and "Validity mask" in names
    loaded = [n.layer() for n in group.findLayers() if n.layer().name() == "Aligned stack"][0]
    assert loaded.crs().authid() == "EPSG:3067"
    assert loaded.bandCount() == 1 + 1 + 22
    assert dock.progress.value() == 100


def test_dock_reports_engine_error(plugin, tmp_path):
    import numpy as np
    from rasterio.transform import from_origin

    from conftest import write_raster

    a = write_raster(tmp_path / "a.tif", np.random.default_rng(0).normal(size=(20, 20)).astype(np.float32), from_origin(400000, 7500000, 100, 100))
    b = write_raster(tmp_path / "b.tif", np.random.default_rng(1).normal(size=(20, 20)).astype(np.float32), from_origin(900000, 6600000, 100, 100))
    la, lb = QgsRasterLayer(a, "a"), QgsRasterLayer(b, "far_away")
    QgsProject.instance().addMapLayers([la, lb])
    plugin.dock.select_layers("geophysics", [la.id(), lb.id()])
    plugin.dock.output.setFilePath(str(tmp_path / "o"))
    (tmp_path / "o").mkdir()
    assert plugin.dock.run_align() is not None
    ok, _ = _wait(plugin.dock)
    assert not ok
    assert "do not overlap" in plugin.dock.status.text()
    assert not (tmp_path / "o" / "stack" / "stack.json").exists()


def test_plugin_loads_without_torch_or_onnxruntime():
    """Heavy libraries are lazy: with torch and onnxruntime unimportable the plugin still imports and says so."""
    code = r"""
import sys, importlib.abc, importlib.util
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'onnxruntime'):
            raise ImportError('blocked for test: ' + name)
        return None
sys.meta_path.insert(0, Block())
importlib.util.find_spec = (lambda orig: lambda name, *a: None if name.split('.')[0] in ('torch', 'onnxruntime') else orig(name, *a))(importlib.util.find_spec)
sys.path.insert(0, sys.argv[1])
import mpm_plugin, mpm_plugin.plugin, mpm_plugin.provider, mpm_plugin.dock, mpm_plugin.algorithms.align, mpm_plugin.deps as d
import engine.stack, engine.reader, engine.cli
assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules
print(d.report())
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code, ROOT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "install torch or onnxruntime" in out.stdout


def test_aligned_kolari_stack_opens_in_qgis_with_crs_and_extent(kolari_stack):
    with open(os.path.join(kolari_stack, "stack.json")) as f:
        import json

        grid = json.load(f)["grid"]
    for name in ("stack.tif", "valid.tif", "deposits.tif"):
        layer = QgsRasterLayer(os.path.join(kolari_stack, name), name)
        assert layer.isValid(), name
        assert layer.crs().authid() == "EPSG:3067"
        e = layer.extent()
        assert (e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()) == pytest.approx(tuple(grid["bounds"]))
        assert (layer.width(), layer.height()) == (grid["width"], grid["height"])
    stack = QgsRasterLayer(os.path.join(kolari_stack, "stack.tif"), "stack")
    assert stack.bandName(1).endswith("IOCG_Mag_grysc_DGRF65_anom_100m")
