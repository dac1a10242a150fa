"""Map tool: trace a fault, lineament, contact, intrusion or alteration zone with Segment Anything.

Left click = include point, right click = exclude point, drag = box; Z undo, C clear, S save.
Prompts are kept in map coordinates, so after a pan or zoom the new view is encoded once and the
same prompts run again. The embedding of a view is computed once (and cached by the engine) in a
background task (view_encoder.py), so the canvas never freezes on a large SAM: clicks made meanwhile
wait in the history and decode when the view is ready; a pan while it runs supersedes it. The
decoder runs once per prompt change (milliseconds, on the UI thread); every change redraws the
preview (the feature as it would be saved). Saved features go to a GeoPackage: layer
'structure_lines' (faults, lineaments, contacts) or 'structure_polygons' (intrusions, alteration), in
the raster's CRS, with the type as attribute.
"""

import datetime
import os

from qgis.core import (QgsCoordinateTransform, QgsFeature, QgsField,
                       QgsFields, QgsGeometry, QgsPointXY, QgsProject, QgsRectangle, QgsVectorFileWriter,
                       QgsVectorLayer, QgsWkbTypes)
from qgis.gui import QgsMapTool, QgsRubberBand, QgsVertexMarker
from qgis.PyQt.QtCore import QVariant, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import QApplication

from .i18n import tr

# feature type (engine.structures.geometry.FEATURE_TYPES, the value written) and its label (shown, translated)
TYPE_NAMES = (("fault", "fault"), ("lineament", "lineament"), ("contact", "contact"), ("intrusion", "intrusion"),
              ("alteration", "alteration"))
LINE_TYPES = ("fault", "lineament", "contact")
# = engine.structures.extract.LAYER_OF_KIND: the batch (mpm:structures) writes the same layers and fields
LAYER_OF_KIND = {"line": "structure_lines", "polygon": "structure_polygons"}
DRAG_PX = 6  # a press-release further apart than this is a box, not a click
LOW_SCORE = 0.3  # a traced line scoring below this is drawn dashed grey and the status line says it is weak


def type_label(feature_type):
    """The feature type as shown to the user (translated)."""
    for key, label in TYPE_NAMES:
        if key == feature_type:
            return tr(label)
    return feature_type


def structure_fields():
    """The attributes of a traced structure (= engine.structures.extract.FIELDS; 'group' stays empty for clicks)."""
    fields = QgsFields()
    for name, kind in (("type", QVariant.String), ("score", QVariant.Double), ("n_include", QVariant.Int),
                       ("n_exclude", QVariant.Int), ("has_box", QVariant.Int), ("group", QVariant.String),
                       ("raster", QVariant.String), ("bands", QVariant.String), ("model", QVariant.String),
                       ("created", QVariant.String), ("snapped", QVariant.Int)):
        fields.append(QgsField(name, kind))
    return fields


def open_structure_layer(path, kind, crs):
    """The GeoPackage layer for `kind` ('line' / 'polygon'), created (with its fields) when missing."""
    name = LAYER_OF_KIND[kind]
    uri = f"{path}|layername={name}"
    layer = QgsVectorLayer(uri, name, "ogr")
    if layer.isValid():
        missing = [f for f in structure_fields() if layer.fields().indexOf(f.name()) < 0]
        if missing:  # a GeoPackage from an earlier version: add the new columns, keep its features
            if not layer.dataProvider().addAttributes(missing):
                raise OSError(tr("Could not add the fields {0} to '{1}'").format(
                    ", ".join(f.name() for f in missing), path))
            layer.updateFields()
        return layer
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = name
    options.actionOnExistingFile = (QgsVectorFileWriter.CreateOrOverwriteLayer if os.path.exists(path)
                                    else QgsVectorFileWriter.CreateOrOverwriteFile)
    wkb = QgsWkbTypes.MultiLineString if kind == "line" else QgsWkbTypes.MultiPolygon
    writer = QgsVectorFileWriter.create(path, structure_fields(), wkb, crs, QgsProject.instance().transformContext(),
                                        options)
    if writer.hasError() != QgsVectorFileWriter.NoError:
        raise OSError(tr("Could not create the structures GeoPackage '{0}': {1}").format(path, writer.errorMessage()))
    del writer  # flushes and closes the file
    layer = QgsVectorLayer(uri, name, "ogr")
    if not layer.isValid():
        raise OSError(tr("Could not open layer {0} of '{1}'").format(name, path))
    return layer


class StructureMapTool(QgsMapTool):
    """Clicks become SAM prompts on one raster layer; S writes the previewed feature."""

    changed = pyqtSignal(str)       # a status line for the panel (score, prompts, hints)
    saved = pyqtSignal(object)      # the QgsVectorLayer a feature was written to
    failed = pyqtSignal(str)

    def __init__(self, canvas, raster_layer, output_path, bands=(1,), feature_type="fault", model=None,
                 backend="auto", tolerance=0.0, threads=None, cache_dir=None, snap=True):
        super().__init__(canvas)
        self.canvas = canvas
        self.layer = raster_layer
        self.output_path = output_path
        self.bands = tuple(bands)
        self.feature_type = feature_type
        self.model = model
        self.backend = backend
        self.tolerance = tolerance
        self.snap = snap            # intrusions and alteration snapped to the raster's edges (engine/structures/snap.py)
        self.threads = threads
        self.cache_dir = cache_dir  # the panel's cache folder setting; None: the engine's default
        self.extractor = None
        self.history = []           # prompt states, newest last: (include, exclude, box) in raster CRS
        self.prediction = None
        self.geometry = None        # shapely, raster CRS
        self._view_extent = None    # the view current in the extractor (its key)
        self._task = None           # the background encode in flight (view_encoder.ViewEncodeTask)
        self._off = False           # deactivated: a task ending later draws nothing
        self._press = None
        self.preview = QgsRubberBand(canvas, QgsWkbTypes.LineGeometry)
        self.preview.setColor(QColor(255, 0, 200, 220))
        self.preview.setFillColor(QColor(255, 0, 200, 60))
        self.preview.setWidth(3)
        self.box_band = QgsRubberBand(canvas, QgsWkbTypes.PolygonGeometry)
        self.box_band.setColor(QColor(0, 160, 255, 200))
        self.box_band.setFillColor(QColor(0, 160, 255, 30))
        self.markers = []
        self.setCursor(Qt.CursorShape.CrossCursor)

    # ---- coordinates ----

    def _to_raster(self):
        return QgsCoordinateTransform(self.canvas.mapSettings().destinationCrs(), self.layer.crs(), QgsProject.instance())

    def _to_canvas(self):
        return QgsCoordinateTransform(self.layer.crs(), self.canvas.mapSettings().destinationCrs(), QgsProject.instance())

    def _raster_point(self, pos):
        p = self.toMapCoordinates(pos)
        return self._to_raster().transform(QgsPointXY(p))

    def raster_extent(self):
        return self._to_raster().transformBoundingBox(self.canvas.extent())

    # ---- state ----

    @property
    def state(self):
        return self.history[-1] if self.history else ((), (), None)

    def push(self, include=None, exclude=None, box=None):
        """Add a prompt; one the engine cannot use (off the raster, ...) is dropped again, so a bad click
        never blocks the prompts before it."""
        inc, exc, b = self.state
        inc = inc + ((include.x(), include.y()),) if include is not None else inc
        exc = exc + ((exclude.x(), exclude.y()),) if exclude is not None else exc
        self.history.append((inc, exc, box if box is not None else b))
        if self.update_prediction() is False:  # None: it waits for the view's encode (_encoded decodes it)
            self.history.pop()
            self.update_prediction(report=False)  # the previous mask again (its view is cached: decoder only)

    def undo(self):
        if self.history:
            self.history.pop()
        self.update_prediction()

    def clear(self):
        self.history = []
        self.update_prediction()

    # ---- prediction ----

    @property
    def encoding(self):
        """True while a view is being encoded in the background (clicks wait for it)."""
        return self._task is not None

    def _make_extractor(self):
        from .engine.structures.extract import StructureExtractor

        return StructureExtractor(self.layer.source(), self.bands, model=self.model, backend=self.backend,
                                  threads=self.threads, cache_dir=self.cache_dir or None)

    def _view_key(self):
        """The view the current prompts need: the canvas extent, grown to hold prompts panned away from."""
        ext = self.raster_extent()
        x0, y0, x1, y1 = ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum()
        inc, exc, box = self.state
        xs = [p[0] for p in inc + exc] + ([box[0], box[2]] if box else [])
        ys = [p[1] for p in inc + exc] + ([box[1], box[3]] if box else [])
        if xs and (min(xs) < x0 or max(xs) > x1 or min(ys) < y0 or max(ys) > y1):
            # zoomed or panned away from earlier prompts: the view grows to hold them (and a margin)
            x0, x1, y0, y1 = min(x0, *xs), max(x1, *xs), min(y0, *ys), max(y1, *ys)
            pad = 0.05 * max(x1 - x0, y1 - y0)
            x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
        return round(x0, 3), round(y0, 3), round(x1, 3), round(y1, 3)

    def _encode(self, key):
        """Have `key` encoded in the background: start a task, or supersede the running one (the next
        starts when it ends, so two encoders never share the CPU)."""
        task = self._task
        if task is not None:
            if task.extent != key:
                task.supersede()
            else:
                task.stale = False  # panned back to the view in flight: its result is wanted again
            return
        from .view_encoder import ViewEncodeTask

        self._task = ViewEncodeTask(key, self.extractor, self._make_extractor, self._encoded,
                                    lines=self.feature_type in LINE_TYPES).start()  # a line's responses come with the view

    def _encoded(self, task):
        """A background encode ended (main thread): make its view current and decode the waiting prompts."""
        if task is not self._task:
            return
        self._task = None
        if self.extractor is None and task.extractor is not None:
            self.extractor = task.extractor  # the model loaded in the worker is kept even for a stale view
        if self._off:  # the tool was switched off meanwhile: nothing to draw
            return
        if task.error is not None and not task.stale:
            self.preview.reset(QgsWkbTypes.LineGeometry)
            self.changed.emit(tr("The view could not be encoded: {0}").format(task.error))
            self.failed.emit(task.error)
            return
        if task.ok and not task.stale:  # (a stale task's error or view is nobody's: the current prompts go on)
            self.extractor.use_view(task.view, task.embedding, task.line_maps)
            self._view_extent = task.extent
        elif not task.stale:  # cancelled from QGIS's task list: the prompts stay, the next click tries again
            self.changed.emit(tr("Encoding the view was cancelled; click to try again"))
            return
        ok = self.update_prediction()
        while ok is False and self.history:  # waiting prompts the engine refused are dropped, as push drops one
            self.history.pop()
            ok = self.update_prediction(report=False)

    def _extent_changed(self):
        """Panned or zoomed while a view encodes: the encode follows the new view (the stale one is cancelled)."""
        if self._task is not None and self.history:
            self.update_prediction(report=False)

    def update_prediction(self, report=True):
        """Run the decoder on the current prompts and redraw. True when drawn, False when the engine
        refused the prompts, None when they wait for the view being encoded in the background."""
        inc, exc, box = self.state
        self._draw_prompts()
        self.prediction, self.geometry = None, None
        if not inc and box is None:
            self.preview.reset(QgsWkbTypes.LineGeometry)
            self.changed.emit(tr("Left click: include, right click: exclude, drag: box; Z undo, C clear, S save"))
            return True
        key = self._view_key()
        if self.extractor is None or key != self._view_extent:
            self.preview.reset(QgsWkbTypes.LineGeometry)
            self._encode(key)
            self.changed.emit(tr("Encoding the view for SAM; the preview follows when it is ready "
                                 "({0} include / {1} exclude points)").format(len(inc), len(exc)))
            return None
        if self._task is not None:
            self._task.supersede()  # back on the current view: the encode of another one is not needed
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            from .engine.structures.snap import snaps

            self.prediction = self.extractor.predict(inc, exc, box, snap=self.snap and snaps(self.feature_type),
                                                     feature_type=self.feature_type)
            # Simplify 0 ("auto") = the engine's default: lines by one view pixel (no staircase), bodies not
            self.geometry = self.extractor.feature_geometry(self.prediction, self.feature_type,
                                                            tolerance=self.tolerance or None)
        except Exception as exc:  # engine errors carry the actionable text; the tool must never crash QGIS
            self.prediction, self.geometry = None, None
            self.preview.reset(QgsWkbTypes.LineGeometry)
            if report:
                self.failed.emit(str(exc))
            return False
        finally:
            QApplication.restoreOverrideCursor()
        self._draw_preview()
        if self.geometry is None:
            self.changed.emit(tr("No {0} found at these prompts; add points or drag a box").format(
                type_label(self.feature_type)))
        elif self.weak:
            self.changed.emit(tr("{0}: low score {1:.2f}, {2} include / {3} exclude points: the raster shows little "
                                 "here (dashed); click on it further along, or right-click where it should stop; "
                                 "S saves it anyway").format(
                type_label(self.feature_type), float(self.prediction.score), len(inc), len(exc)))
        else:
            self.changed.emit(tr("{0}: score {1:.2f}, {2} include / {3} exclude points; S saves it").format(
                type_label(self.feature_type), float(self.prediction.score), len(inc), len(exc)))
        return True

    @property
    def weak(self):
        """A traced line scoring under LOW_SCORE: the raster shows little where it was drawn. (A decoded
        mask's score is the model's own IoU estimate, low on real grids even for good bodies: not used.)"""
        p = self.prediction
        return p is not None and p.path is not None and float(p.score) < LOW_SCORE

    def _draw_prompts(self):
        for m in self.markers:
            self.canvas.scene().removeItem(m)
        self.markers = []
        inc, exc, box = self.state
        tf = self._to_canvas()
        for pts, colour, icon in ((inc, QColor(0, 200, 0), QgsVertexMarker.ICON_CROSS),
                                  (exc, QColor(230, 0, 0), QgsVertexMarker.ICON_X)):
            for x, y in pts:
                m = QgsVertexMarker(self.canvas)
                m.setCenter(tf.transform(QgsPointXY(x, y)))
                m.setColor(colour)
                m.setIconType(icon)
                m.setIconSize(12)
                m.setPenWidth(3)
                self.markers.append(m)
        self.box_band.reset(QgsWkbTypes.PolygonGeometry)
        if box is not None:
            rect = tf.transformBoundingBox(QgsRectangle(*box))
            self.box_band.setToGeometry(QgsGeometry.fromRect(rect), None)

    def _draw_preview(self):
        if self.geometry is None:
            self.preview.reset(QgsWkbTypes.LineGeometry)
            return
        geom = QgsGeometry.fromWkt(self.geometry.wkt)
        geom.transform(self._to_canvas())
        self.preview.setLineStyle(Qt.PenStyle.DashLine if self.weak else Qt.PenStyle.SolidLine)  # a weak result looks unsure
        self.preview.setColor(QColor(160, 160, 160, 220) if self.weak else QColor(255, 0, 200, 220))
        self.preview.setToGeometry(geom, None)

    # ---- saving ----

    def save(self):
        """Write the previewed feature; returns the layer written to, or None when there is nothing to save."""
        if self.geometry is None or self.prediction is None:
            self.changed.emit(tr("Nothing to save yet: wait for the preview, the view is still being encoded")
                              if self._task is not None and self.history else
                              tr("Nothing to save yet: click on a structure first"))
            return None
        from .engine.structures.geometry import GEOMETRY_OF

        kind = GEOMETRY_OF[self.feature_type]
        try:
            layer = open_structure_layer(self.output_path, kind, self.layer.crs())
        except OSError as exc:
            self.failed.emit(str(exc))
            return None
        geom = QgsGeometry.fromWkt(self.geometry.wkt)
        geom.convertToMultiType()
        inc, exc, box = self.state
        f = QgsFeature(layer.fields())
        f.setGeometry(geom)
        for name, value in (("type", self.feature_type), ("score", float(self.prediction.score)),
                            ("n_include", len(inc)), ("n_exclude", len(exc)), ("has_box", int(box is not None)),
                            ("raster", os.path.basename(self.layer.source())),
                            ("bands", ",".join(map(str, self.bands))), ("model", self.extractor.model_name),
                            ("created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")),
                            ("snapped", int(bool(self.prediction.snapped)))):
            f.setAttribute(name, value)
        ok, _ = layer.dataProvider().addFeatures([f])
        if not ok:
            self.failed.emit(tr("Could not write the feature to '{0}'").format(self.output_path))
            return None
        layer.updateExtents()
        layer.triggerRepaint()
        self.saved.emit(layer)
        self.clear()
        self.changed.emit(tr("Saved a {0} to {1}").format(type_label(self.feature_type),
                                                          os.path.basename(self.output_path)))
        return layer

    # ---- events ----

    def canvasPressEvent(self, event):  # noqa: N802
        self._press = (event.pos(), event.button())

    def canvasMoveEvent(self, event):  # noqa: N802
        if self._press and self._press[1] == Qt.MouseButton.LeftButton:
            start = self._press[0]
            if (event.pos() - start).manhattanLength() > DRAG_PX:
                a, b = self.toMapCoordinates(start), self.toMapCoordinates(event.pos())
                self.box_band.setToGeometry(QgsGeometry.fromRect(QgsRectangle(a, b)), None)

    def canvasReleaseEvent(self, event):  # noqa: N802
        if self._press is None:
            return
        start, button = self._press
        self._press = None
        if button == Qt.MouseButton.LeftButton and (event.pos() - start).manhattanLength() > DRAG_PX:
            a, b = self._raster_point(start), self._raster_point(event.pos())
            self.push(box=(min(a.x(), b.x()), min(a.y(), b.y()), max(a.x(), b.x()), max(a.y(), b.y())))
        elif button == Qt.MouseButton.LeftButton:
            self.push(include=self._raster_point(event.pos()))
        elif button == Qt.MouseButton.RightButton:
            self.push(exclude=self._raster_point(event.pos()))

    def keyPressEvent(self, event):  # noqa: N802
        key = event.key()
        if key == Qt.Key.Key_Z:
            self.undo()
        elif key in (Qt.Key.Key_C, Qt.Key.Key_Escape):
            self.clear()
        elif key == Qt.Key.Key_S:
            self.save()
        else:
            event.ignore()
            return
        event.accept()

    def activate(self):
        self._off = False
        self._follow_extent(False)
        self._follow_extent(True)
        super().activate()

    def _follow_extent(self, on):
        if on:
            self.canvas.extentsChanged.connect(self._extent_changed)
            return
        try:
            self.canvas.extentsChanged.disconnect(self._extent_changed)
        except TypeError:  # was not connected
            pass

    def deactivate(self):
        self._off = True
        self._follow_extent(False)
        if self._task is not None:
            self._task.supersede()  # nobody waits for that view any more
        self.preview.reset(QgsWkbTypes.LineGeometry)
        self.box_band.reset(QgsWkbTypes.PolygonGeometry)
        for m in self.markers:
            self.canvas.scene().removeItem(m)
        self.markers = []
        super().deactivate()
