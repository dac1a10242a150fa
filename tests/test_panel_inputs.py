"""The panel as a geologist first meets it (issue 21, items 9-12): the wheel, the pickers, the width, results
opened again and remembered by the project, where results go in the layer tree (pytest-qgis, offscreen)."""

import numpy as np
import pytest
import shapely
from qgis.core import QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.PyQt.QtCore import QPoint, QPointF, Qt
from qgis.PyQt.QtGui import QWheelEvent
from qgis.PyQt.QtWidgets import QApplication, QComboBox

from helpers import write_raster, write_vector
from test_plugin import _wait


def _wheel(widget, steps=-1):
    event = QWheelEvent(QPointF(5, 5), QPointF(5, 5), QPoint(0, 0), QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def _polygon_layer(path, name, n=1):
    boxes = [shapely.box(400000 + i * 500, 7500000, 400400 + i * 500, 7500400) for i in range(n)]
    return QgsVectorLayer(write_vector(path, [shapely.MultiPolygon([b]) for b in boxes]), name, "ogr")


def _point_layer(path, name):
    return QgsVectorLayer(write_vector(path, [shapely.Point(400100, 7500100), shapely.Point(400300, 7500300)]), name,
                          "ogr")


def test_combos_and_spin_boxes_take_the_wheel_only_when_focused(plugin, tmp_path):
    dock = plugin.dock
    project = QgsProject.instance()
    project.addMapLayers([_polygon_layer(tmp_path / f"a{i}.gpkg", f"zone {i}", n=2) for i in range(3)])
    combo = dock.aoi
    combo.setLayer(None)
    before = combo.currentIndex()
    plain = QComboBox()  # the control: an unguarded combo does change under the wheel here
    plain.addItems(["a", "b", "c"])
    _wheel(plain)
    assert plain.currentIndex() == 1
    _wheel(combo)
    assert combo.currentIndex() == before and combo.currentLayer() is None
    value = dock.resolution.value()
    _wheel(dock.resolution, steps=1)
    _wheel(dock.capture, steps=1)
    assert dock.resolution.value() == value and dock.capture.value() == 80
    assert combo.focusPolicy() == Qt.FocusPolicy.StrongFocus
    combo.hasFocus = lambda: True  # clicked into: the wheel is the combo's again
    _wheel(combo)
    assert combo.currentIndex() != before


def test_pickers_list_suitable_layers_and_preselect_deposits_and_area(plugin, tmp_path):
    from rasterio.transform import from_origin

    t = from_origin(400000, 7500400, 100, 100)
    rng = np.random.default_rng(0)
    units = QgsRasterLayer(write_raster(tmp_path / "units.tif", rng.integers(1, 5, (4, 4)).astype(np.uint8), t), "units")
    dist = QgsRasterLayer(write_raster(tmp_path / "dist.tif", rng.random((4, 4)).astype(np.float32), t), "fault distance")
    litho = _polygon_layer(tmp_path / "litho.gpkg", "lithology", n=3)
    faults = QgsVectorLayer(write_vector(tmp_path / "faults.gpkg", [shapely.LineString([(400000, 7500000),
                                                                                       (400400, 7500400)])]),
                            "faults", "ogr")
    till = _point_layer(tmp_path / "till.gpkg", "till")
    deposits = _point_layer(tmp_path / "deps.gpkg", "IOCG deposits and occurrences")
    area = _polygon_layer(tmp_path / "area.gpkg", "study area")
    QgsProject.instance().addMapLayers([units, dist, litho, faults, till, deposits, area])
    dock = plugin.dock

    def offered(key):
        lst = dock.lists[key]
        return sorted(lst.item(i).text() for i in range(lst.count()))

    assert offered("geology") == ["faults", "lithology", "units"]  # no float grid, no study area, no points
    assert offered("geochemistry") == ["IOCG deposits and occurrences", "fault distance", "till", "units"]
    assert offered("geophysics") == offered("remote_sensing") == ["fault distance", "units"]
    assert dock.deposits.currentLayer() is deposits and dock.aoi.currentLayer() is area
    dock.aoi.setLayer(litho)  # the user's choice: kept, and the chosen area leaves Geology
    assert offered("geology") == ["faults", "study area", "units"]
    QgsProject.instance().addMapLayer(_polygon_layer(tmp_path / "aoi2.gpkg", "AOI"))
    assert dock.aoi.currentLayer() is litho


def test_panel_opens_wide_enough_with_the_chain_above_the_model_card(plugin):
    dock = plugin.dock
    dock.resize(dock.minimumSizeHint().width(), 900)
    dock.show()
    QApplication.processEvents()
    viewport = dock.widget().viewport()
    for button in (dock.settings_button, dock.cancel_button, dock.open_button, dock.align_button):
        right = button.mapTo(viewport, QPoint(button.width(), 0)).x()
        assert right <= viewport.width(), button.text()
    assert dock.widget().minimumWidth() > 300
    chain = dock.finetune_button.mapTo(viewport, QPoint(0, 0)).y()
    assert chain < dock.models.mapTo(viewport, QPoint(0, 0)).y()
    dock.hide()


def test_open_results_takes_only_a_targets_geopackage(plugin, tmp_path):
    from engine.prospectivity.targets import make_targets
    from rasterio.transform import from_origin

    from mpm_plugin.dock_results import find_results, result_kind

    t = from_origin(400000, 7510000, 100, 100)
    yy, xx = np.mgrid[0:60, 0:60]
    prob = np.exp(-((yy - 30) ** 2 + (xx - 30) ** 2) / 80.0).astype(np.float32)
    out = tmp_path / "out"
    out.mkdir()
    make_targets(write_raster(tmp_path / "p.tif", prob, t), str(out / "targets.gpkg"), threshold=0.5)
    write_vector(out / "structures.gpkg", [shapely.LineString([(400000, 7500000), (400400, 7500400)])])
    (out / "notes.gpkg").write_bytes(b"not a geopackage")
    assert result_kind(str(out / "targets.gpkg")) == "targets"
    assert result_kind(str(out / "structures.gpkg")) is None and result_kind(str(out / "notes.gpkg")) is None
    assert find_results(str(out)) == [("targets", str(out / "targets.gpkg"))]
    assert plugin.dock.open_results(str(out / "structures.gpkg")) == []
    assert plugin.dock.targets_path is None


def test_a_saved_project_brings_its_chain_back(plugin, kolari_stack, tmp_path):
    from test_plugin_panel import _head_folder

    from mpm_plugin.dock_results import remembered_chain

    project = QgsProject.instance()
    dock = plugin.dock
    head = _head_folder(tmp_path / "head", kolari_stack)
    try:
        assert dock.open_results(head) == [("stack", kolari_stack), ("head", head)]
        assert remembered_chain() == [("stack", kolari_stack), ("head", head)]
        project.setFileName(str(tmp_path / "kolari.qgz"))
        assert project.write()
        project.clear()  # another project: the panel forgets the chain
        assert dock.stack_dir is None and dock.head_dir is None and not dock.finetune_button.isEnabled()
        assert project.read(str(tmp_path / "kolari.qgz"))
        assert (dock.stack_dir, dock.head_dir) == (kolari_stack, head)
        assert dock.finetune_button.isEnabled() and dock.predict_button.isEnabled()
        assert not project.isDirty()  # bringing it back changed nothing in the project
    finally:
        project.clear()


def test_results_go_below_the_deposits_and_the_stack_loads_unticked(plugin, kolari_stack, tmp_path):
    project = QgsProject.instance()
    project.clear()
    deposits = _point_layer(tmp_path / "deps.gpkg", "deposits")
    till = _point_layer(tmp_path / "till.gpkg", "till")
    project.addMapLayers([deposits, till])
    root = project.layerTreeRoot()
    root.findLayer(deposits.id()).setItemVisibilityChecked(False)
    dock = plugin.dock
    dock.deposits.setLayer(deposits)
    dock.open_results(kolari_stack)
    names = [n.name() for n in root.children()]
    assert names.index("deposits") < names.index("MPM Studio")
    assert root.findLayer(deposits.id()).itemVisibilityChecked()
    group = root.findGroup("MPM Studio")
    shown = {n.layer().name(): n.itemVisibilityChecked() for n in group.findLayers()}
    assert shown == {"Aligned stack": False, "Validity mask": False}
    project.clear()


# ---- the Align preview (issue 21, item 3) ----


def _kolari_layers(kolari):
    import os

    lith = QgsVectorLayer(os.path.join(kolari, "Geological_Data", "IOCG_CLB_Lith_Asstn_1M.shp"), "lithology", "ogr")
    mag = QgsRasterLayer(os.path.join(kolari, "Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif"), "mag")
    area = QgsVectorLayer(os.path.join(kolari, "Geological_Data", "EIS_IOCG_target_area.shp"), "study area", "ogr")
    assert lith.isValid() and mag.isValid() and area.isValid()
    QgsProject.instance().addMapLayers([lith, mag, area])
    return lith, mag, area


def test_align_preview_shows_each_layer_and_its_choices_reach_align(plugin, kolari, tmp_path):
    import json
    import os

    from mpm_plugin.dock_preview import COL
    from engine.data.layers import vocabulary

    dock = plugin.dock
    lith, mag, area = _kolari_layers(kolari)
    dock.aoi.setLayer(area)
    dock.select_layers("geology", [lith.id()])
    dock.select_layers("geophysics", [mag.id()])
    dock.resolution.setValue(2000.0)
    assert dock.preview_button.isEnabled() and dock.preview_button.text() == "Preview"
    assert dock.run_preview() is not None
    assert not dock.preview_button.isEnabled() and not dock.align_button.isEnabled()  # one run at a time
    ok, _ = _wait(dock)
    assert ok, dock.status.text()
    dialog, preview = dock.preview_dialog, dock.last_preview
    table = dialog.table
    assert table.rowCount() == 2 and [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())] == [
        "Source", "Layer", "Kind", "Layer type", "Class field", "Classes", "Nodata", "Resolution", "Coverage %",
        "Warnings"]
    rows = {r.name: (i, r) for i, r in enumerate(preview.rows)}
    i_lith, lith_row = rows["IOCG_CLB_Lith_Asstn_1M"]
    i_mag, mag_row = rows["IOCG_Mag_grysc_DGRF65_anom_100m"]
    # the lithology is read as classes of the richest text field; the 2-value EON_ is offered, not taken
    assert lith_row.kind == "categorical" and lith_row.class_field == "ROCK_NAME_"
    assert lith_row.class_fields["EON_"] == 2 and lith_row.class_fields["ROCK_NAME_"] > 20
    fields = dialog.field_boxes["IOCG_CLB_Lith_Asstn_1M"]
    assert fields.currentData() == "ROCK_NAME_" and fields.count() == len(lith_row.class_fields)
    assert table.item(i_lith, COL["Classes"]).text() == str(lith_row.class_count)
    assert float(table.item(i_mag, COL["Resolution"]).text()) == pytest.approx(100, abs=0.1)  # in the area's CRS
    assert mag_row.layer_type == "magnetic"
    assert float(table.item(i_mag, COL["Coverage %"]).text()) == pytest.approx(100 * mag_row.coverage, abs=0.06)
    types = dialog.type_boxes["IOCG_Mag_grysc_DGRF65_anom_100m"]
    assert [types.itemText(k) for k in range(types.count())] == vocabulary()["geophysics"]
    assert "IOCG_Mag_grysc_DGRF65_anom_100m" in dialog.type_boxes and types.currentText() == "magnetic"
    # rows with a warning are highlighted, the others not (the 1:1M lithology stops short of the area)
    assert lith_row.warnings and lith_row.coverage < 0.95 and not mag_row.warnings
    assert dialog.warned_rows() == [i for i, r in enumerate(preview.rows) if r.warnings]
    assert table.item(i_lith, COL["Warnings"]).text() == "\n".join(lith_row.warnings)

    # choices made in the table go to the next Align, through the algorithm's parameters
    types.setCurrentText("gravity")
    fields.setCurrentIndex(fields.findData("EON_"))
    dialog.use_button.click()
    params = dock.align_parameters()
    assert params["LAYER_TYPES"] == "IOCG_CLB_Lith_Asstn_1M=lithology_unit, IOCG_Mag_grysc_DGRF65_anom_100m=gravity"
    assert params["CLASS_FIELDS"] == "IOCG_CLB_Lith_Asstn_1M=EON_"
    dock.run_preview()  # previewed again: the table shows the choices, read by the engine
    ok, _ = _wait(dock)
    assert ok and dock.preview_dialog is not dialog
    again = {r.name: r for r in dock.last_preview.rows}
    assert again["IOCG_Mag_grysc_DGRF65_anom_100m"].layer_type == "gravity"
    assert again["IOCG_CLB_Lith_Asstn_1M"].class_field == "EON_" and again["IOCG_CLB_Lith_Asstn_1M"].class_count == 2
    assert any("ROCK_NAME_" in w for w in again["IOCG_CLB_Lith_Asstn_1M"].warnings)  # the richer field is named
    assert dock.preview_dialog.type_boxes["IOCG_Mag_grysc_DGRF65_anom_100m"].currentText() == "gravity"
    dock.preview_dialog.use_button.click()
    dock.output.setFilePath(str(tmp_path))
    dock.run_align()
    ok, results = _wait(dock)
    assert ok, dock.status.text()
    with open(os.path.join(results["OUTPUT"], "stack.json")) as f:
        bands = {b["name"]: b for b in json.load(f)["bands"]}
    assert bands["IOCG_Mag_grysc_DGRF65_anom_100m"]["layer_type"] == "gravity"
    assert sorted(bands["IOCG_CLB_Lith_Asstn_1M"]["classes"].values()) == ["Archean", "Proterozoic"]

    # other layers picked: the choices no longer apply
    dock.select_layers("geophysics", [])
    assert "LAYER_TYPES" not in dock.align_parameters() and dock.layer_choices is None


def test_align_preview_reports_a_bad_layer_and_can_be_cancelled(plugin, kolari, tmp_path):
    from rasterio.transform import from_origin

    dock = plugin.dock
    lith, mag, area = _kolari_layers(kolari)
    no_crs = QgsRasterLayer(write_raster(tmp_path / "grid.tif", np.ones((4, 4), np.float32),
                                         from_origin(400000, 7500400, 100, 100), crs=None), "grid")
    QgsProject.instance().addMapLayers([no_crs])
    dock.select_layers("geophysics", [no_crs.id()])
    dock.run_preview()
    ok, _ = _wait(dock)
    assert not ok and "Preview failed" in dock.status.text() and "grid" in dock.status.text(), dock.status.text()
    assert dock.preview_button.isEnabled() and dock.layer_choices is None

    dock.select_layers("geophysics", [mag.id()])
    dock.select_layers("geology", [lith.id()])
    dock.aoi.setLayer(area)
    dock.resolution.setValue(500.0)
    dock.run_preview()
    assert dock.cancel_button.isEnabled()
    dock.cancel_button.click()
    ok, _ = _wait(dock)
    assert not ok and dock.status.text() == "Preview cancelled; nothing was written."
    assert dock.preview_dialog is None and dock.preview_button.isEnabled()


def test_the_chain_settings_come_from_the_operations_declarations(plugin, monkeypatch):
    """Capture % and Compare embeddings: default, range, label and help are the declared ones, so the panel and
    Processing cannot drift apart (a new panel reads a changed declaration)."""
    import dataclasses

    from engine import operations
    from mpm_plugin.i18n import tr

    dock = plugin.dock
    value, compare = operations.get("targets").param("value"), operations.get("finetune").param("compare_embeddings")
    assert dock.capture.value() == round(100 * value.default) and dock.capture.maximum() == round(100 * value.max)
    assert dock.compare_embeddings.text() == tr(compare.label) and dock.compare_embeddings.toolTip() == tr(compare.help)
    assert dock.compare_embeddings.isChecked() is bool(compare.default)
    # declared otherwise, shown otherwise
    targets = operations.get("targets")
    params = tuple(dataclasses.replace(p, default=0.5) if p.name == "value" else p for p in targets.params)
    monkeypatch.setitem(operations.OPERATIONS, "targets", dataclasses.replace(targets, params=params))
    plugin.unload()
    plugin.initGui()
    assert plugin.dock.capture.value() == 50
