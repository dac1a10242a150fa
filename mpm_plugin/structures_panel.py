"""The panel's Structures section: pick a raster, its bands and a feature type, then trace on the map."""

import os

from qgis.core import Qgis, QgsMapLayerProxyModel, QgsProject, QgsRasterLayer
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QPushButton,
                                 QDoubleSpinBox)

from .i18n import tr
from .structure_tool import TYPE_NAMES, StructureMapTool, type_label

FEATURE_TYPES = tuple(key for key, _label in TYPE_NAMES)


def parse_band_list(text, count):
    """'1' or '1,2,3' -> [1] / [1, 2, 3]; ValueError with a readable message otherwise."""
    try:
        bands = [int(t) for t in text.replace(";", ",").replace(" ", ",").split(",") if t]
    except ValueError:
        raise ValueError(tr("Bands must be numbers separated by commas, e.g. 1 or 1,2,3")) from None
    if not 1 <= len(bands) <= 3 or any(not 1 <= b <= count for b in bands):
        raise ValueError(tr("Choose 1 to 3 bands between 1 and {0}").format(count))
    return bands


class StructuresBox(QGroupBox):
    """Starts the StructureMapTool on the map canvas with the chosen settings."""

    def __init__(self, dock, parent=None):
        super().__init__(tr("Structures (SAM)"), parent)
        self.dock = dock
        self.tool = None
        self.previous_tool = None
        form = QFormLayout(self)
        self.raster = QgsMapLayerComboBox()
        self.raster.setFilters(QgsMapLayerProxyModel.RasterLayer)
        self.raster.setAllowEmptyLayer(True)
        self.raster.setToolTip(tr("A magnetic or gravity grid, a DEM or an image"))
        form.addRow(tr("Raster"), self.raster)
        self.derive = QPushButton(tr("Tilt derivative of this grid..."))
        self.derive.setToolTip(tr("Faults and contacts show more evenly on a magnetic or gravity grid's tilt "
                                  "derivative than on the grid itself. Opens Potential-field derivatives for the "
                                  "chosen raster; the result is picked here to trace on"))
        self.derive.clicked.connect(self.make_tilt)
        form.addRow("", self.derive)
        self.bands = QLineEdit("1")
        self.bands.setToolTip(tr("One band for a grid, or three (e.g. 1,2,3) for an image"))
        form.addRow(tr("Bands"), self.bands)
        self.feature_type = QComboBox()
        for key in FEATURE_TYPES:  # shown translated, written as the engine's word
            self.feature_type.addItem(type_label(key), key)
        self.feature_type.currentIndexChanged.connect(self._type_changed)
        form.addRow(tr("Feature type"), self.feature_type)
        self.snap = QCheckBox(tr("Snap bodies to edges"))
        self.snap.setChecked(True)
        self.snap.setToolTip(tr("Intrusions and alteration: the model finds the body, a watershed on the raster's "
                                "gradient draws its boundary; a body asked with a box is the box's ellipse moved "
                                "by the raster's values. Off: the model's own mask"))
        self.snap.toggled.connect(self._snap_changed)
        form.addRow("", self.snap)
        self._snap_enabled()
        self.tolerance = QDoubleSpinBox()
        self.tolerance.setRange(0, 1e6)
        self.tolerance.setDecimals(1)
        self.tolerance.setSuffix(tr(" map units"))
        self.tolerance.setSpecialValueText(tr("auto"))
        self.tolerance.setToolTip(tr("Simplification tolerance of the saved geometry (auto: one pixel of the view "
                                     "for lines, the exact pixel edges for bodies)"))
        self.tolerance.valueChanged.connect(self._tolerance_changed)
        form.addRow(tr("Simplify"), self.tolerance)
        self.model = QgsFileWidget()
        self.model.setFilter("SAM (*.json *.pth *.pt *.safetensors)")
        self.model.setToolTip(tr("Empty: the shipped GeoSAM. Or an official SAM checkpoint (sam_vit_b/l/h .pth)"))
        form.addRow(tr("SAM model"), self.model)
        # the tool is built for one raster, its bands and model: a change while tracing starts a new one
        self.raster.layerChanged.connect(self._source_changed)
        self.bands.editingFinished.connect(self._source_changed)
        self.model.fileChanged.connect(self._source_changed)
        self.button = QPushButton(tr("Trace structures on the map"))
        self.button.setCheckable(True)
        self.button.toggled.connect(self.toggle)
        form.addRow(self.button)
        self.status = QLabel(tr("Left click: include, right click: exclude, drag: box; Z undo, C clear, S save"))
        self.status.setWordWrap(True)
        form.addRow(self.status)

    def make_tilt(self, _checked=False, dialog=None):
        """Processing's dialog of mpm:derivatives for the chosen raster and band (tilt preselected); the
        layer it adds becomes the raster to trace on. `dialog`: processing.execAlgorithmDialog (tests pass
        their own)."""
        layer = self.raster.currentLayer()
        if layer is None:
            self.status.setText(tr("Choose a magnetic or gravity grid first"))
            return None
        try:
            band = self.current_bands(layer)[0]
        except ValueError:
            band = 1
        if dialog is None:
            from processing import execAlgorithmDialog as dialog
        results = dialog("mpm:derivatives", {"GRID": layer, "BAND": band, "DERIVATIVE": "tilt"}) or {}
        out = results.get("OUTPUT")
        if not out:
            return None
        made = [lyr for lyr in QgsProject.instance().mapLayers().values()
                if isinstance(lyr, QgsRasterLayer) and os.path.normpath(lyr.source()) == os.path.normpath(str(out))]
        if not made:  # the dialog was told not to open its output: open it here
            made = [QgsRasterLayer(str(out), tr("{0} tilt derivative").format(layer.name()))]
            if not made[0].isValid():
                return None
            QgsProject.instance().addMapLayer(made[0])
        self.raster.setLayer(made[-1])
        self.bands.setText("1")
        self._source_changed()
        self.status.setText(tr("Tracing on {0}: contacts lie on its zero line, bodies under its highs").format(
            made[-1].name()))
        return made[-1]

    def output_path(self):
        """structures.gpkg in the panel's output folder: every traced feature of a project in one file.
        ValueError (with what to do) when no output folder is set or it cannot be made."""
        folder = self.dock.output.filePath().strip()
        if not folder:
            raise ValueError(tr("choose an output folder first (Output folder, above)"))
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as exc:
            raise ValueError(tr("cannot create the output folder '{0}': {1}").format(folder, exc.strerror)) from None
        return os.path.join(folder, "structures.gpkg")

    def current_bands(self, layer):
        return parse_band_list(self.bands.text(), layer.bandCount())

    def _snap_enabled(self):
        """Snapping applies to bodies only: the box is greyed out for lines."""
        try:
            from .engine.structures.snap import snaps
        except ImportError:  # engine not importable yet (dependencies missing): leave the box as it is
            return
        self.snap.setEnabled(snaps(self.feature_type.currentData()))

    def _type_changed(self, *_):
        self._snap_enabled()
        if self.tool is not None:
            self.tool.feature_type = self.feature_type.currentData()
            self.tool.update_prediction()

    def _snap_changed(self, on):
        if self.tool is not None:
            self.tool.snap = on
            self.tool.update_prediction()

    def _tolerance_changed(self, value):
        if self.tool is not None:
            self.tool.tolerance = value
            self.tool.update_prediction()

    def _source_changed(self, *_):
        """Raster, bands or model changed while tracing: restart the tool on them (or stop, with why)."""
        if self.tool is None:
            return
        tool = self.tool
        try:
            same_bands = tuple(parse_band_list(self.bands.text(), tool.layer.bandCount())) == tool.bands
        except ValueError:
            same_bands = False
        if tool.layer is self.raster.currentLayer() and same_bands and (self.model.filePath() or None) == tool.model:
            return
        self.button.setChecked(False)
        self.button.setChecked(True)

    def toggle(self, on):
        canvas = self.dock.iface.mapCanvas()
        if not on:  # the button was unchecked: hand the canvas back to the tool that was there before
            tool, self.tool = self.tool, None
            if tool is not None and canvas.mapTool() is tool:
                canvas.unsetMapTool(tool)
                if self.previous_tool is not None:
                    try:
                        canvas.setMapTool(self.previous_tool)
                    except RuntimeError:  # that tool was deleted meanwhile
                        pass
            self.previous_tool = None
            return
        layer = self.raster.currentLayer()
        if not isinstance(layer, QgsRasterLayer) or layer.providerType() != "gdal":
            self.dock._message(tr("Structures: choose a raster file layer to trace on"), Qgis.Warning)
            self.button.setChecked(False)
            return
        try:
            bands = self.current_bands(layer)
        except ValueError as exc:
            self.dock._message(tr("Structures: {0}").format(exc), Qgis.Warning)
            self.button.setChecked(False)
            return
        try:
            output = self.output_path()
        except ValueError as exc:
            self.dock._message(tr("Structures: {0}").format(exc), Qgis.Warning)
            self.button.setChecked(False)
            return
        self.tool = self.make_tool(canvas, layer, bands, output)
        self.previous_tool = canvas.mapTool()
        canvas.setMapTool(self.tool)

    def _tool_deactivated(self):
        """Another map tool took the canvas (pan, identify ...): only the button follows."""
        if self.tool is not None and self.sender() is self.tool:
            self.tool, self.previous_tool = None, None
            self.button.blockSignals(True)
            self.button.setChecked(False)
            self.button.blockSignals(False)

    def make_tool(self, canvas, layer, bands, output):
        from .settings import RunSettings

        settings = RunSettings.load()  # the panel's Settings: backend, threads, cache folder
        cache_dir = settings.cache_folder()
        tool = StructureMapTool(canvas, layer, output, bands=bands,
                                feature_type=self.feature_type.currentData(), model=self.model.filePath() or None,
                                backend=settings.backend, tolerance=self.tolerance.value(), snap=self.snap.isChecked(),
                                threads=settings.threads or None, cache_dir=cache_dir)
        tool.changed.connect(self.status.setText)
        tool.failed.connect(lambda text: self.dock._message(text, Qgis.Warning))
        tool.saved.connect(self._saved)
        tool.deactivated.connect(self._tool_deactivated)
        return tool

    def _saved(self, layer):
        """Load the structures layer into the project once (styled); later saves only repaint it."""
        def key(source):
            path, _, rest = source.partition("|")
            return os.path.normcase(os.path.abspath(path)), rest

        for lyr in QgsProject.instance().mapLayers().values():
            if lyr.providerType() == "ogr" and key(lyr.source()) == key(layer.source()):
                lyr.reload()
                lyr.triggerRepaint()
                return
        self.dock.add_layers([(layer, f"{layer.name()}.qml", True)])
