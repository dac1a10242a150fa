"""The panel's Weights of evidence window (pytest-qgis, offscreen): Calculate weights on GA's Cloncurry
Dist2Breccia raster through mpm:wofeweights, the weights table and the contrast plot it shows, the text fallback
without pyqtgraph, and a bad layer reported in the window."""

import os

import numpy as np
import pytest
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer

from test_i18n import plugin_dir, zh_translator  # noqa: F401 (the compiled zh_CN translation, installed)
from test_plugin import _wait
from test_wofe import DEPOSITS, cloncurry  # noqa: F401 (skips / fails without the shared data)


def _layers(raster, deposits):
    layers = [QgsRasterLayer(raster, os.path.splitext(os.path.basename(raster))[0]),
              QgsVectorLayer(deposits, "deposits", "ogr")]
    assert all(lyr.isValid() for lyr in layers)
    QgsProject.instance().addMapLayers(layers)
    return layers


@pytest.fixture
def dialog(plugin, tmp_path):
    plugin.dock.output.setFilePath(str(tmp_path / "out"))
    plugin.dock.wofe_button.click()
    dlg = plugin.dock.wofe_dialog
    assert dlg.isVisible()
    yield dlg
    dlg.close()


def test_calculate_weights_shows_the_table_and_contrast_plot(dialog, cloncurry, tmp_path):  # noqa: F811
    from engine.classical import wofe

    raster = os.path.join(cloncurry, "weights_inputs", "Dist2Breccia.tif")
    evidence, deposits = _layers(raster, DEPOSITS)
    dialog.evidence.setLayer(evidence)
    dialog.deposits.setLayer(deposits)
    dialog.method.setCurrentIndex(dialog.method.findData("ascending"))
    assert dialog.calculate() is not None
    ok, results = _wait(dialog.dock)
    assert ok, dialog.dock.status.text()
    assert results["OUTPUT"] == str(tmp_path / "out" / "Dist2Breccia_weights.csv")
    table = wofe.calculate_weights(raster, DEPOSITS, method="ascending")
    c = table.columns
    shown = dialog.table
    assert shown.rowCount() == 642 and shown.columnCount() == len(wofe.COLUMNS)
    assert [shown.horizontalHeaderItem(j).text() for j in range(shown.columnCount())] == list(wofe.COLUMNS)
    row = int(np.flatnonzero(c["CLASS"] == 34400)[0])  # the split: maximum significant contrast
    cells = {col: shown.item(row, j).text() for j, col in enumerate(wofe.COLUMNS)}
    assert cells["CLASS"] == "34400" and cells["GEN_CLASS"] == "2"
    assert float(cells["CONTRAST"]) == pytest.approx(c["CONTRAST"][row], abs=5e-5)
    assert float(cells["STUDC"]) == pytest.approx(c["STUDC"][row], abs=5e-5)
    favourable = [i for i in range(shown.rowCount()) if shown.item(i, 0).background().color().green() == 239]
    assert favourable == list(range(row + 1))  # the favourable side (GEN_CLASS 2) is highlighted, nothing else
    x, y = dialog.curve_data("Contrast")
    np.testing.assert_allclose(x, c["CLASS"])
    np.testing.assert_allclose(y, c["CONTRAST"])
    np.testing.assert_allclose(dialog.curve_data("Studentised contrast")[1], c["STUDC"])
    assert dialog.favourable_class() == 34400
    assert "642 classes, 258 deposits" in dialog.status.text()
    names = [lyr.name() for lyr in QgsProject.instance().mapLayers().values()]
    assert "Dist2Breccia generalised" in names  # the generalised raster is loaded into the results group
    gen = QgsProject.instance().mapLayersByName("Dist2Breccia generalised")[0]
    assert gen.source() == str(tmp_path / "out" / "Dist2Breccia_generalised.tif")


def test_contrast_plot_falls_back_to_text_without_pyqtgraph(plugin, cloncurry, monkeypatch, tmp_path):  # noqa: F811
    from engine.classical import wofe
    from mpm_plugin import plots
    from mpm_plugin.wofe_panel import WofeDialog

    path = wofe.calculate_weights(os.path.join(cloncurry, "response_inputs", "StratNo.tif"), DEPOSITS).write_csv(
        str(tmp_path / "strat.csv"))
    monkeypatch.setattr(plots, "HAVE_PYQTGRAPH", False)
    dlg = WofeDialog(plugin.dock)
    assert dlg.plot is None
    dlg.show_table(path, "categorical", 2.0)
    lines = dlg.plot_text.toPlainText().splitlines()
    assert lines[0].split() == ["Class", "Contrast", "Stud.", "C"] and len(lines) == 1 + 2 + 1
    assert lines[-1] == "Studentised contrast threshold 2"  # categorical: no split line
    c = wofe.read_weights_csv(path).columns
    assert [line.split() for line in lines[1:3]] == [[str(k), f"{x:.4f}", f"{s:.4f}"]
                                                     for k, x, s in zip(c["CLASS"], c["CONTRAST"], c["STUDC"])]
    # categorical: the classes reaching the threshold are highlighted (here the favourable unit only)
    highlighted = [int(dlg.table.item(i, 0).text()) for i in range(dlg.table.rowCount())
                   if dlg.table.item(i, 0).background().color().green() == 239]
    assert highlighted == c["CLASS"][c["STUDC"] >= 2.0].tolist() and len(highlighted) == 1
    dlg.close()


def test_a_fractional_raster_is_reported_in_the_window(dialog, cloncurry, tmp_path):  # noqa: F811
    from rasterio.transform import from_origin

    from helpers import write_raster

    floats = write_raster(tmp_path / "fractional.tif", np.full((30, 30), 0.5, np.float32),
                          from_origin(400000, 7700000, 100, 100), crs="EPSG:7845")
    evidence, deposits = _layers(floats, DEPOSITS)
    dialog.evidence.setLayer(evidence)
    dialog.deposits.setLayer(deposits)
    assert dialog.calculate() is not None
    ok, _results = _wait(dialog.dock)
    assert not ok
    assert "non-integer values" in dialog.status.text() and "reclassify" in dialog.status.text()
    assert not os.path.exists(tmp_path / "out" / "fractional_weights.csv")
    assert dialog.table.rowCount() == 0


def test_window_and_tools_speak_chinese(plugin, zh_translator):
    from qgis.core import QgsApplication

    from mpm_plugin.wofe_panel import WofeDialog

    dlg = WofeDialog(plugin.dock)
    assert dlg.windowTitle() == "证据权" and dlg.run_button.text() == "计算权重"
    assert [dlg.method.itemText(i) for i in range(3)] == ["categorical（逐类）", "ascending（数值低时有利）",
                                                          "descending（数值高时有利）"]
    assert dlg.method.currentData() == "categorical"  # the engine's word whatever the language
    dlg.close()
    reg = QgsApplication.processingRegistry()
    assert [reg.algorithmById(f"mpm:{n}").displayName() for n in ("wofeweights", "woferesponse", "logistic", "fuzzy")] \
        == ["计算权重", "计算响应", "逻辑回归", "模糊叠加"]
    assert reg.algorithmById("mpm:woferesponse").group() == "证据权"
