"""The SAM structure tracer in QGIS (pytest-qgis, offscreen): the map tool driven by real mouse and key
events, the panel's Structures section toggling it on the canvas, the styles of its layers, and mpm:structures
through processing.run and headless through qgis_process.bin."""

import json
import os
import subprocess
import threading
import time

import numpy as np
import pytest
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsPointXY, QgsProject, QgsRasterLayer,
                       QgsRectangle, QgsVectorLayer, QgsWkbTypes)
from qgis.gui import QgsMapMouseEvent, QgsMapToolPan
from qgis.PyQt.QtCore import QEvent, QPoint, Qt
from qgis.PyQt.QtGui import QKeyEvent

from test_headless import QGIS_PROCESS, qgis_env  # noqa: F401 (the plugin zip unpacked into its own plugins folder)

torch = pytest.importorskip("torch")

MAG = os.path.join("Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif")
CROP_WINDOW = ((440, 640), (380, 580))  # rows, cols: 200 x 200 px (20 km) over the Venejoki thrust, SE Kolari
EPSG3067 = QgsCoordinateReferenceSystem("EPSG:3067")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def crop(kolari, tmp_path_factory):
    """A 200 x 200 px GeoTIFF of the Kolari magnetics (nodata kept as declared)."""
    import rasterio

    with rasterio.open(os.path.join(kolari, MAG)) as src:
        win = rasterio.windows.Window.from_slices(*CROP_WINDOW)
        profile = dict(src.profile, width=200, height=200, transform=src.window_transform(win), tiled=False)
        data = src.read(window=win)
    path = str(tmp_path_factory.mktemp("crop") / "mag_crop.tif")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


@pytest.fixture
def canvas(qgis_canvas, qgis_parent, crop):
    """The canvas on the crop (EPSG:3067, a 10 % margin of no raster around it), the raster layer loaded."""
    layer = QgsRasterLayer(crop, "mag crop")
    assert layer.isValid()
    QgsProject.instance().addMapLayer(layer)
    qgis_parent.show()  # offscreen: the canvas's viewport gets its 600 x 600 px only once its window is shown
    qgis_canvas.show()
    QgsApplication.processEvents()  # the viewport takes its size: map units per pixel follow
    qgis_canvas.setDestinationCrs(EPSG3067)
    qgis_canvas.setLayers([layer])
    ext = layer.extent()
    ext.scale(1.1)
    qgis_canvas.setExtent(ext)
    qgis_canvas.layer = layer
    yield qgis_canvas
    qgis_canvas.unsetMapTool(qgis_canvas.mapTool()) if qgis_canvas.mapTool() else None
    qgis_canvas.setLayers([])
    QgsProject.instance().removeAllMapLayers()  # a layer alive at exit segfaults QGIS's teardown (pytest-qgis #67)
    qgis_parent.hide()
    QgsApplication.processEvents()


def pixel(canvas, x, y):
    p = canvas.getCoordinateTransform().transform(QgsPointXY(x, y))
    return QPoint(int(round(p.x())), int(round(p.y())))


def mouse(canvas, tool, kind, pos, button):
    buttons = Qt.NoButton if kind == QEvent.MouseButtonRelease else button
    ev = QgsMapMouseEvent(canvas, kind, pos, button, buttons, Qt.NoModifier)
    {QEvent.MouseButtonPress: tool.canvasPressEvent, QEvent.MouseButtonRelease: tool.canvasReleaseEvent,
     QEvent.MouseMove: tool.canvasMoveEvent}[kind](ev)


def settle(tool, timeout=120):
    """Let the event loop run until the tool's background encode (if any) has ended and been used."""
    t0 = time.monotonic()
    while tool.encoding:
        QgsApplication.processEvents()
        time.sleep(0.005)
        assert time.monotonic() - t0 < timeout, "the view's encode did not finish"
    QgsApplication.processEvents()


def click(canvas, tool, x, y, button=Qt.LeftButton, wait=True):
    pos = pixel(canvas, x, y)
    mouse(canvas, tool, QEvent.MouseButtonPress, pos, button)
    mouse(canvas, tool, QEvent.MouseButtonRelease, pos, button)
    if wait:
        settle(tool)


def drag(canvas, tool, a, b):
    pa, pb = pixel(canvas, *a), pixel(canvas, *b)
    mouse(canvas, tool, QEvent.MouseButtonPress, pa, Qt.LeftButton)
    mouse(canvas, tool, QEvent.MouseMove, (pa + pb) / 2, Qt.LeftButton)
    mouse(canvas, tool, QEvent.MouseMove, pb, Qt.LeftButton)
    mouse(canvas, tool, QEvent.MouseButtonRelease, pb, Qt.LeftButton)
    settle(tool)


def key(canvas, k):
    """A key press as the canvas gets it (it hands keys it does not use itself to the map tool)."""
    ev = QKeyEvent(QEvent.KeyPress, k, Qt.NoModifier)
    canvas.keyPressEvent(ev)
    return ev.isAccepted()


def centre(layer, fx=0.5, fy=0.5):
    e = layer.extent()
    return e.xMinimum() + fx * e.width(), e.yMinimum() + fy * e.height()


def make_tool(canvas, out, model, feature_type="fault"):
    from mpm_plugin.structure_tool import StructureMapTool

    tool = StructureMapTool(canvas, canvas.layer, str(out), bands=(1,), feature_type=feature_type, model=model,
                            backend="auto", threads=1)
    tool.messages, tool.errors, tool.layers = [], [], []
    tool.changed.connect(tool.messages.append)
    tool.failed.connect(tool.errors.append)
    tool.saved.connect(tool.layers.append)
    canvas.setMapTool(tool)
    return tool


def preview(tool):
    return tool.preview.asGeometry()


def layer_of(path, name):
    return QgsVectorLayer(f"{path}|layername={name}", name, "ogr")


# ------------------------------------------------------------------ the map tool
def test_map_tool_clicks_box_undo_clear(canvas, sam_model, tmp_path):
    from mpm_plugin.structure_tool import LOW_SCORE

    tool = make_tool(canvas, tmp_path / "s.gpkg", sam_model)
    layer = canvas.layer
    assert canvas.mapTool() is tool and preview(tool).isEmpty()
    a = centre(layer, 0.3, 0.6)
    click(canvas, tool, *a)
    assert tool.errors == [] and len(tool.history) == 1
    (inc, exc, box), = tool.history
    assert exc == () and box is None and len(inc) == 1
    assert inc[0] == pytest.approx(a, abs=canvas.mapUnitsPerPixel())  # the click, in the raster's CRS
    assert tool.prediction is not None and tool.prediction.mask.shape == (200, 200)  # the crop at native pixels
    assert tool.prediction.method.startswith("trace:")  # a fault is traced on the raster, not decoded as a mask
    if tool.geometry is not None:
        assert not preview(tool).isEmpty() and preview(tool).type() == QgsWkbTypes.LineGeometry
        assert "score" in tool.messages[-1] and "1 include / 0 exclude" in tool.messages[-1]
        weak = tool.prediction.score < LOW_SCORE  # a weak trace says so and is drawn dashed grey
        assert tool.weak == weak
        assert ("low score" in tool.messages[-1]) == weak
        assert tool.preview.strokeColor().getRgb()[:3] == ((160, 160, 160) if weak else (255, 0, 200))
    one = (tool.state, tool.geometry)
    assert len(tool.markers) == 1

    click(canvas, tool, *centre(layer, 0.7, 0.3), button=Qt.RightButton)
    assert len(tool.history) == 2 and len(tool.state[0]) == 1 and len(tool.state[1]) == 1
    assert len(tool.markers) == 2
    two = (tool.state, tool.geometry)

    drag(canvas, tool, centre(layer, 0.2, 0.2), centre(layer, 0.6, 0.8))
    inc, exc, box = tool.state
    assert len(tool.history) == 3 and len(inc) == 1 and len(exc) == 1
    (x0, y0), (x1, y1) = centre(layer, 0.2, 0.2), centre(layer, 0.6, 0.8)
    assert box == pytest.approx((x0, y0, x1, y1), abs=canvas.mapUnitsPerPixel())
    assert not tool.box_band.asGeometry().isEmpty()

    assert key(canvas, Qt.Key_Z)  # undo the box: the click + exclude state and its mask again
    assert tool.state == two[0] and tool.box_band.asGeometry().isEmpty()
    assert (tool.geometry is None) == (two[1] is None) and (two[1] is None or tool.geometry.equals(two[1]))
    assert key(canvas, Qt.Key_Z)
    assert tool.state == one[0] and len(tool.markers) == 1
    assert (tool.geometry is None) == (one[1] is None) and (one[1] is None or tool.geometry.equals(one[1]))
    assert tool.extractor.predictor.encoder_calls == 1  # one view, encoded once for all these prompts

    assert key(canvas, Qt.Key_C)
    assert tool.history == [] and tool.geometry is None and preview(tool).isEmpty() and tool.markers == []
    click(canvas, tool, *a)
    assert key(canvas, Qt.Key_Escape)
    assert tool.history == [] and preview(tool).isEmpty()
    assert not key(canvas, Qt.Key_Q)  # other keys are left to QGIS
    assert tool.errors == []


def test_map_tool_drops_a_click_off_the_raster(canvas, sam_model, tmp_path):
    tool = make_tool(canvas, tmp_path / "s.gpkg", sam_model)
    e = canvas.layer.extent()
    click(canvas, tool, *centre(canvas.layer, 0.4, 0.5))
    before = tool.state
    click(canvas, tool, e.xMinimum() - 500, e.center().y())  # in the canvas's margin, beside the raster
    assert len(tool.errors) == 1 and "outside the view" in tool.errors[0]
    assert tool.history == [before] and tool.prediction is not None  # the click before it still stands
    # zoomed in away from that click: the next click still works, the view grows to hold both
    zoom = QgsRectangle(*centre(canvas.layer, 0.6, 0.6), *centre(canvas.layer, 0.9, 0.9))
    canvas.setExtent(zoom)
    click(canvas, tool, *centre(canvas.layer, 0.75, 0.75))
    assert len(tool.errors) == 1 and len(tool.history) == 2 and tool.prediction is not None
    x0, y0, x1, y1 = tool.extractor.view.bounds
    assert x0 < before[0][0][0] < x1 and y0 < before[0][0][1] < y1


def test_the_view_is_encoded_off_the_main_thread_and_the_preview_follows(canvas, sam_model, tmp_path):
    tool = make_tool(canvas, tmp_path / "s.gpkg", sam_model)
    tool.cache_dir = str(tmp_path / "cache")  # no embedding of an earlier test: this view is really encoded
    a, b = centre(canvas.layer, 0.3, 0.5), centre(canvas.layer, 0.35, 0.5)
    click(canvas, tool, *a, wait=False)
    task = tool._task
    assert tool.encoding and task is not None  # the click returned at once: the encode runs as a QgsTask
    assert tool.prediction is None and preview(tool).isEmpty() and len(tool.markers) == 1
    assert tool.messages[-1].startswith("Encoding the view") and tool.errors == []
    assert key(canvas, Qt.Key_S) and tool.layers == [] and "still being encoded" in tool.messages[-1]
    click(canvas, tool, *b, wait=False)  # a second click before the view is ready waits with the first
    assert tool._task is task and len(tool.history) == 2 and len(tool.markers) == 2 and tool.prediction is None
    settle(tool)
    assert task.ok and not task.stale and task.thread_id not in (None, threading.get_ident())
    assert tool.extractor is task.extractor and tool.extractor.predictor.encoder_calls == 1
    assert tool.errors == [] and tool.prediction is not None and tool.prediction.mask.shape == (200, 200)
    assert len(tool.state[0]) == 2 and tool.messages[-1].startswith(("fault: score", "fault: low score") if tool.geometry else "No fault")
    assert preview(tool).isEmpty() == (tool.geometry is None)
    click(canvas, tool, *a, button=Qt.RightButton, wait=False)  # the same view: decoded at once, no task
    assert not tool.encoding and tool.prediction is not None and tool.extractor.predictor.encoder_calls == 1


def test_the_canvas_stays_responsive_while_a_slow_encoder_runs(canvas, sam_model, tmp_path, monkeypatch):
    from engine.structures.predictor import StructurePredictor

    real = StructurePredictor._encode

    def slow(self, x):  # an official ViT-H takes seconds to minutes per view on a CPU
        time.sleep(1.5)
        return real(self, x)

    monkeypatch.setattr(StructurePredictor, "_encode", slow)
    tool = make_tool(canvas, tmp_path / "s.gpkg", sam_model)
    tool.cache_dir = str(tmp_path / "cache")
    t0 = time.monotonic()
    click(canvas, tool, *centre(canvas.layer, 0.3, 0.5), wait=False)
    first, second = time.monotonic() - t0, None
    assert first < 0.5  # the click returned at once (the model loads and the view encodes in the task)
    gaps, last = [], time.monotonic()
    while tool.encoding and time.monotonic() - t0 < 60:
        QgsApplication.processEvents()
        now = time.monotonic()
        gaps.append(now - last)
        last = now
        if len(gaps) == 20:  # meanwhile the map takes another click at once
            t1 = time.monotonic()
            click(canvas, tool, *centre(canvas.layer, 0.7, 0.5), button=Qt.RightButton, wait=False)
            second = time.monotonic() - t1
        time.sleep(0.01)
    settle(tool)
    assert time.monotonic() - t0 >= 1.5 and tool.extractor.predictor.encoder_calls == 1
    assert second is not None and second < 0.5 and max(gaps) < 0.5, (second, max(gaps))
    assert tool.errors == [] and tool.prediction is not None and len(tool.state[0]) == len(tool.state[1]) == 1


def test_panning_away_supersedes_a_stale_encode(canvas, sam_model, tmp_path):
    tool = make_tool(canvas, tmp_path / "s.gpkg", sam_model)
    click(canvas, tool, *centre(canvas.layer, 0.5, 0.5))  # loads the model, encodes the whole view
    full = tool.extractor.view.bounds
    zoom = QgsRectangle(*centre(canvas.layer, 0.55, 0.55), *centre(canvas.layer, 0.85, 0.85))
    canvas.setExtent(zoom)
    click(canvas, tool, *centre(canvas.layer, 0.7, 0.7), wait=False)  # a new view (the first click and the zoom)
    first = tool._task
    assert first is not None and not first.stale
    zoom2 = QgsRectangle(*centre(canvas.layer, 0.45, 0.45), *centre(canvas.layer, 0.75, 0.75))
    canvas.setExtent(zoom2)  # panned before it finished: that encode is stale, the new view follows
    assert first.stale and first.isCanceled() and tool.encoding
    settle(tool)
    assert tool._task is None and tool.errors == [] and tool.prediction is not None
    x0, y0, x1, y1 = tool.extractor.view.bounds
    assert (x0, y0, x1, y1) != full and x0 < zoom2.xMinimum() + 1 and x1 > zoom2.xMaximum() - 1
    assert tool._view_extent == tool._view_key()  # the view in use is the one the canvas shows now
    # the tool switched off while a view encodes: the late result draws nothing
    canvas.setExtent(zoom)
    click(canvas, tool, *centre(canvas.layer, 0.8, 0.8), wait=False)
    assert tool.encoding
    pan = QgsMapToolPan(canvas)
    canvas.setMapTool(pan)
    settle(tool)
    assert tool.prediction is None and preview(tool).isEmpty() and tool.markers == [] and tool.errors == []
    canvas.unsetMapTool(pan)


def test_a_waiting_click_off_the_raster_is_dropped_when_the_view_is_ready(canvas, sam_model, tmp_path):
    tool = make_tool(canvas, tmp_path / "s.gpkg", sam_model)
    e = canvas.layer.extent()
    click(canvas, tool, *centre(canvas.layer, 0.4, 0.5), wait=False)
    first = tool.state
    click(canvas, tool, e.xMinimum() - 500, e.center().y(), wait=False)  # beside the raster, while it encodes
    assert tool.encoding and len(tool.history) == 2 and tool.errors == []
    settle(tool)
    assert len(tool.errors) == 1 and "outside the view" in tool.errors[0]
    assert tool.history == [first] and tool.prediction is not None and len(tool.markers) == 1


def test_map_tool_saves_lines_and_polygons_to_the_geopackage(canvas, sam_model, tmp_path):
    out = tmp_path / "structures.gpkg"
    tool = make_tool(canvas, out, sam_model)
    assert key(canvas, Qt.Key_S) and tool.layers == [] and "Nothing to save yet" in tool.messages[-1]
    assert not out.exists()
    saved = {}
    for feature_type, name, kind, fx in (("fault", "structure_lines", QgsWkbTypes.LineGeometry, 0.3),
                                         ("intrusion", "structure_polygons", QgsWkbTypes.PolygonGeometry, 0.6)):
        tool.feature_type = feature_type
        for f in (fx, fx + 0.05, fx + 0.1):  # a click where the model finds something
            click(canvas, tool, *centre(canvas.layer, f, 0.5))
            if tool.geometry is not None:
                break
        assert tool.geometry is not None, feature_type
        assert tool.prediction.snapped == (feature_type == "intrusion")  # bodies snap to edges by default
        if feature_type == "intrusion":  # a body is the model's: its own low IoU estimate is not called weak
            assert tool.prediction.path is None and not tool.weak and "low score" not in tool.messages[-1]
        if kind == QgsWkbTypes.PolygonGeometry:
            assert preview(tool).type() == QgsWkbTypes.PolygonGeometry
        state, score = tool.state, tool.prediction.score
        assert key(canvas, Qt.Key_S)
        assert tool.errors == [] and tool.history == [] and preview(tool).isEmpty()  # saved, then cleared
        assert tool.layers[-1].name() == name and f"Saved a {feature_type} to structures.gpkg" == tool.messages[-1]
        saved[name] = (feature_type, kind, state, score)
    del tool.layers[:]
    for name, (feature_type, kind, state, score) in saved.items():
        layer = layer_of(out, name)
        assert layer.isValid() and layer.crs().authid() == "EPSG:3067" and layer.featureCount() == 1
        assert layer.geometryType() == kind and QgsWkbTypes.isMultiType(layer.wkbType())
        f = next(layer.getFeatures())
        assert f["type"] == feature_type and f["score"] == pytest.approx(score)
        assert (f["n_include"], f["n_exclude"], f["has_box"]) == (len(state[0]), 0, 0)
        assert (f["raster"], f["bands"], f["model"]) == ("mag_crop.tif", "1", os.path.basename(sam_model))
        assert f["snapped"] == int(feature_type == "intrusion")
        assert f.geometry().isGeosValid() and canvas.layer.extent().contains(f.geometry().boundingBox())
        del f, layer
    from engine.structures.extract import FIELDS, LAYER_OF_KIND
    from mpm_plugin.structure_tool import LAYER_OF_KIND as TOOL_LAYERS
    from mpm_plugin.structure_tool import structure_fields

    assert TOOL_LAYERS == LAYER_OF_KIND and structure_fields().names() == list(FIELDS)  # = the batch's layers


def test_a_geopackage_from_before_the_snapped_field_gains_it_and_keeps_its_features(qgis_app, tmp_path):
    import shapely

    from engine.structures.extract import FIELDS, write_features
    from mpm_plugin.structure_tool import open_structure_layer

    path = tmp_path / "old.gpkg"
    write_features(path, [(shapely.LineString([(0, 0), (100, 50)]), "fault", 0.8, 2, 0, "A", False)], "EPSG:3067", "m.tif",
                   [1], "geosam")
    from osgeo import ogr

    ds = ogr.Open(str(path), update=1)  # make it look like an earlier version's file: no 'snapped' column
    assert ds.GetLayerByName("structure_lines").DeleteField(len(FIELDS) - 1) == 0
    del ds
    layer = open_structure_layer(str(path), "line", QgsCoordinateReferenceSystem("EPSG:3067"))
    assert layer.fields().names() == ["fid", *FIELDS] and layer.featureCount() == 1
    f = next(layer.getFeatures())
    assert (f["type"], f["group"], f["score"]) == ("fault", "A", pytest.approx(0.8))
    assert not f["snapped"]  # unknown for the old feature: NULL


# ------------------------------------------------------------------ the panel's Structures section
class FakeDock:
    """What StructuresBox needs of MPMDock: output (QgsFileWidget), _message, add_layers, iface."""

    def __init__(self, iface, folder):
        from qgis.gui import QgsFileWidget

        self.iface = iface
        self.output = QgsFileWidget()
        self.output.setFilePath(str(folder))
        self.messages, self.added = [], []

    def _message(self, text, level):
        self.messages.append(text)

    def add_layers(self, layers):
        self.added.append([(lyr.name(), style, visible) for lyr, style, visible in layers])
        for lyr, _style, _visible in layers:
            QgsProject.instance().addMapLayer(lyr)


@pytest.fixture
def box(qgis_iface, canvas, sam_model, tmp_path, monkeypatch):
    from mpm_plugin.structures_panel import StructuresBox

    monkeypatch.setattr("mpm_plugin.settings.RunSettings.load", classmethod(lambda cls, s=None: cls(threads=1)))
    dock = FakeDock(qgis_iface, tmp_path / "out")
    b = StructuresBox(dock)
    b.raster.setLayer(canvas.layer)
    b.model.setFilePath(sam_model)
    pan = QgsMapToolPan(canvas)
    canvas.setMapTool(pan)
    b.pan = pan
    yield b
    b.button.setChecked(False)
    canvas.unsetMapTool(pan)


def test_structures_box_toggles_the_tool_and_loads_saved_layers(box, canvas, tmp_path):
    from mpm_plugin.structure_tool import StructureMapTool

    labels = [box.feature_type.itemText(i) for i in range(box.feature_type.count())]
    assert labels == ["fault", "lineament", "contact", "intrusion", "alteration"]
    box.button.setChecked(True)
    tool = box.tool
    assert isinstance(tool, StructureMapTool) and canvas.mapTool() is tool and box.dock.messages == []
    assert tool.output_path == str(tmp_path / "out" / "structures.gpkg") and (tmp_path / "out").is_dir()
    assert (tool.feature_type, tool.bands, tool.model, tool.threads) == ("fault", (1,), box.model.filePath(), 1)
    assert tool.snap and box.snap.isChecked() and not box.snap.isEnabled()  # snapping is for bodies only
    box.feature_type.setCurrentIndex(3)
    assert box.snap.isEnabled()
    box.snap.setChecked(False)
    assert tool.snap is False
    box.snap.setChecked(True)
    box.feature_type.setCurrentIndex(2)
    box.tolerance.setValue(150.0)
    assert (tool.feature_type, tool.tolerance, tool.snap) == ("contact", 150.0, True) and not box.snap.isEnabled()

    for f in (0.3, 0.35, 0.4, 0.45):
        click(canvas, tool, *centre(canvas.layer, f, 0.5))
        if tool.geometry is not None:
            break
    # the score is shown; a weak trace (these clicks are not aimed at a contact) says it is weak
    assert tool.geometry is not None and box.status.text().startswith(
        "contact: low score" if tool.weak else "contact: score")
    key(canvas, Qt.Key_S)
    assert box.dock.added == [[("structure_lines", "structure_lines.qml", True)]]
    for f in (0.6, 0.65, 0.7, 0.75):
        click(canvas, tool, *centre(canvas.layer, f, 0.5))
        if tool.geometry is not None:
            break
    key(canvas, Qt.Key_S)
    assert len(box.dock.added) == 1  # the loaded layer is reloaded, not loaded twice
    loaded = QgsProject.instance().mapLayersByName("structure_lines")[0]
    assert loaded.featureCount() == 2 and {f["type"] for f in loaded.getFeatures()} == {"contact"}
    assert "Saved a contact to structures.gpkg" in box.status.text()

    box.button.setChecked(False)  # unchecking hands the canvas back to the tool before
    assert canvas.mapTool() is box.pan and box.tool is None
    box.button.setChecked(True)
    assert isinstance(canvas.mapTool(), StructureMapTool)
    other = QgsMapToolPan(canvas)
    canvas.setMapTool(other)  # the user picks another tool: the button follows, the canvas keeps that tool
    assert not box.button.isChecked() and box.tool is None and canvas.mapTool() is other
    canvas.unsetMapTool(other)


def test_structures_box_refuses_what_it_cannot_trace(box, canvas, tmp_path):
    box.bands.setText("1,2")
    box.button.setChecked(True)
    assert not box.button.isChecked() and box.tool is None and canvas.mapTool() is box.pan
    assert box.dock.messages[-1] == "Structures: Choose 1 to 3 bands between 1 and 1"
    box.bands.setText("x")
    box.button.setChecked(True)
    assert "Bands must be numbers" in box.dock.messages[-1]
    box.bands.setText("1")
    box.dock.output.setFilePath("")
    box.button.setChecked(True)
    assert not box.button.isChecked() and "choose an output folder first" in box.dock.messages[-1]
    box.raster.setLayer(None)
    box.button.setChecked(True)
    assert not box.button.isChecked() and "choose a raster file layer" in box.dock.messages[-1]
    assert canvas.mapTool() is box.pan


def test_structures_box_in_the_real_dock(qgis_iface, qgis_processing, canvas):
    import mpm_plugin

    p = mpm_plugin.classFactory(qgis_iface)
    p.initGui()
    try:
        box = p.dock.structures
        assert box.dock is p.dock and box.title() == "Structures (SAM)"
        assert box.raster.currentLayer() in (None, canvas.layer)
    finally:
        p.unload()


def test_structure_styles_load(qgis_app, tmp_path):
    from mpm_plugin.dock import STYLE_DIR

    for name, geom, values in (("structure_lines", "MultiLineString", ["fault", "lineament", "contact"]),
                               ("structure_polygons", "MultiPolygon", ["intrusion", "alteration"])):
        layer = QgsVectorLayer(f"{geom}?crs=EPSG:3067&field=type:string", name, "memory")
        message, ok = layer.loadNamedStyle(os.path.join(STYLE_DIR, f"{name}.qml"))
        assert ok, message
        renderer = layer.renderer()
        assert renderer.type() == "categorizedSymbol" and renderer.classAttribute() == "type"
        assert [c.value() for c in renderer.categories()] == values
        del renderer, layer


# ------------------------------------------------------------------ mpm:structures
def _points(path):
    import shapely

    from engine.data.vectors import pyogrio

    xy = [(386000, 7487500), (388000, 7490000), (397000, 7481000), (396000, 7480000)]
    pyogrio.raw.write(str(path), geometry=shapely.to_wkb(shapely.points(np.array(xy, float))),
                      field_data=[np.array(["a", "a", "b", "b"], dtype=object), np.array([1, 1, 1, 0], np.int32),
                                  np.array(["fault", "fault", "intrusion", "intrusion"], dtype=object)],
                      fields=["grp", "lab", "kind"], geometry_type="Point", crs="EPSG:3067", driver="GPKG")
    return str(path)


def test_structures_algorithm_through_processing_run(qgis_iface, qgis_processing, crop, sam_model, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    import mpm_plugin

    p = mpm_plugin.classFactory(qgis_iface)
    p.initGui()
    try:
        alg = QgsApplication.processingRegistry().algorithmById("mpm:structures")
        assert alg is not None and alg.groupId() == "structures" and len(alg.shortHelpString()) > 100
        names = [d.name() for d in alg.parameterDefinitions()]
        for n in ("INPUT", "BANDS", "PROMPTS", "TYPE", "GROUP_FIELD", "LABEL_FIELD", "TYPE_FIELD", "TOLERANCE",
                  "SNAP", "CONTEXT", "MODEL", "BACKEND", "THREADS", "OUTPUT"):
            assert n in names, n
        assert alg.parameterDefinition("SNAP").defaultValue() is True
        out = str(tmp_path / "s.gpkg")
        params = {"INPUT": crop, "BANDS": [1], "PROMPTS": _points(tmp_path / "p.gpkg"), "TYPE": "fault",
                  "GROUP_FIELD": "grp", "LABEL_FIELD": "lab", "TYPE_FIELD": "kind", "MODEL": sam_model,
                  "THREADS": 1, "CONTEXT": 128, "OUTPUT": out}
        r = processing.run("mpm:structures", params)
        assert r["OUTPUT"] == out and r["FEATURES"] == len(r["LAYERS"].split(","))
        for name in r["LAYERS"].split(","):
            layer = layer_of(out, name)
            assert layer.isValid() and layer.featureCount() == 1 and layer.crs().authid() == "EPSG:3067"
            del layer
        with pytest.raises(QgsProcessingException, match="has no field 'nosuch'"):
            processing.run("mpm:structures", dict(params, GROUP_FIELD="nosuch", OUTPUT=str(tmp_path / "t.gpkg")))
        assert not (tmp_path / "t.gpkg").exists()
    finally:
        p.unload()


def test_structures_headless(qgis_env, crop, sam_model, tmp_path):  # noqa: F811
    out = tmp_path / "s.gpkg"
    env = dict(qgis_env, OMP_NUM_THREADS="1")
    r = subprocess.run([QGIS_PROCESS, "--json", "run", "mpm:structures", f"--INPUT={crop}", "--BANDS=1",
                        f"--PROMPTS={_points(tmp_path / 'p.gpkg')}", "--TYPE=contact", "--GROUP_FIELD=grp",
                        "--LABEL_FIELD=lab", f"--MODEL={sam_model}", "--THREADS=1", "--CONTEXT=128",
                        f"--OUTPUT={out}"], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    results = json.loads(r.stdout)["results"]
    assert results["OUTPUT"] == str(out) and results["LAYERS"] == "structure_lines"
    layer = layer_of(out, "structure_lines")
    assert layer.isValid() and layer.featureCount() == results["FEATURES"] >= 1 and layer.crs().authid() == "EPSG:3067"
    assert {f["type"] for f in layer.getFeatures()} == {"contact"}
    del layer


def test_an_encode_error_reaches_the_message_bar_and_keeps_the_prompts(box, canvas, tmp_path):
    box.model.setFilePath(str(tmp_path / "no_such_sam.pth"))
    box.button.setChecked(True)
    tool = box.tool
    assert tool is not None and box.dock.messages == []  # the model is loaded with the first view, in the task
    click(canvas, tool, *centre(canvas.layer, 0.4, 0.5))
    assert len(box.dock.messages) == 1 and "no_such_sam.pth' not found" in box.dock.messages[0]
    assert box.status.text().startswith("The view could not be encoded")
    assert len(tool.history) == 1 and len(tool.markers) == 1 and tool.extractor is None  # nothing lost
    assert key(canvas, Qt.Key_C) and tool.history == []


def test_changing_bands_or_raster_while_tracing_restarts_or_stops_the_tool(box, canvas):
    from mpm_plugin.structure_tool import StructureMapTool

    box.button.setChecked(True)
    first = box.tool
    box.bands.setText(" 1 ")
    box.bands.editingFinished.emit()
    assert box.tool is first  # the same bands: nothing restarts
    box.bands.setText("1,1")
    box.bands.editingFinished.emit()
    assert isinstance(box.tool, StructureMapTool) and box.tool is not first and box.tool.bands == (1, 1)
    assert canvas.mapTool() is box.tool and box.button.isChecked()
    box.raster.setLayer(None)  # nothing to trace on: the tool stops and says why; the canvas gets its tool back
    assert box.tool is None and not box.button.isChecked() and canvas.mapTool() is box.pan
    assert "choose a raster file layer" in box.dock.messages[-1]


def test_the_tilt_button_runs_the_derivatives_and_picks_them_to_trace_on(box, canvas, plugin, tmp_path):
    """'Tilt derivative of this grid...' opens mpm:derivatives for the chosen raster and band; the layer
    the dialog adds becomes the raster traced on. The dialog is stood in for by what its Run button does
    (processing.run, then the output opened), since a modal dialog cannot be clicked here."""
    import processing
    import rasterio

    calls = []

    def dialog(alg, params):
        calls.append((alg, dict(params)))
        res = processing.run(alg, dict(params, OUTPUT=str(tmp_path / "tilt.tif")))
        QgsProject.instance().addMapLayer(QgsRasterLayer(res["OUTPUT"], "Derivatives"))
        return res

    made = box.make_tilt(dialog=dialog)
    (alg, params), = calls
    assert alg == "mpm:derivatives" and params["GRID"] is canvas.layer
    assert (params["BAND"], params["DERIVATIVE"]) == (1, "tilt")
    assert box.raster.currentLayer() is made and made.source() == str(tmp_path / "tilt.tif")
    assert box.bands.text() == "1" and "zero line" in box.status.text()
    with rasterio.open(tmp_path / "tilt.tif") as ds:
        assert ds.descriptions == ("tilt",)
        tilt = ds.read(1)
    assert np.nanmax(np.abs(tilt)) <= np.pi / 2 + 1e-6 and np.isfinite(tilt).mean() > 0.5
    # the dialog closed without running: the raster stays as it was
    box.raster.setLayer(canvas.layer)
    assert box.make_tilt(dialog=lambda alg, params: {}) is None and box.raster.currentLayer() is canvas.layer
    box.raster.setLayer(None)
    assert box.make_tilt(dialog=dialog) is None and "Choose a magnetic or gravity grid" in box.status.text()
    assert len(calls) == 1
