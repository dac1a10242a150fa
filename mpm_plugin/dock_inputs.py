"""The panel's input pickers: layers ticked per source, known deposits, area of interest, pixel size, output
folder. Each picker lists only layers that suit it (a source's kinds of data; MPM Studio's own results never);
deposits and the area of interest are preselected by name; combos and spin boxes take the mouse wheel only
when focused, so scrolling the panel never changes a choice."""

import re

from qgis.core import Qgis, QgsMapLayerProxyModel, QgsProject, QgsRasterLayer, QgsVectorLayer, QgsWkbTypes
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QObject, Qt
from qgis.PyQt.QtWidgets import (QAbstractSpinBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QListWidget,
                                 QListWidgetItem, QVBoxLayout)

from .dock_layers import result_layer_ids
from .dock_results import default_output_folder
from .i18n import tr

GEOMETRY = QgsWkbTypes.GeometryType
INTEGER_TYPES = (Qgis.DataType.Byte, Qgis.DataType.UInt16, Qgis.DataType.Int16, Qgis.DataType.UInt32,
                 Qgis.DataType.Int32)
# names that say what a layer is, for the preselection of deposits and the area of interest
DEPOSIT_NAMES = re.compile(r"deposit|occurrence|mineral|prospect|mines?\b|showing|orebod", re.IGNORECASE)
AOI_NAMES = re.compile(r"\baoi\b|area|study|boundary|extent|outline|region", re.IGNORECASE)


def is_vector(lyr, *geometries):
    return isinstance(lyr, QgsVectorLayer) and lyr.geometryType() in geometries


def is_raster(lyr):
    return isinstance(lyr, QgsRasterLayer)


def is_categorical_raster(lyr):
    """One band of integer classes (a rock-unit grid); a float grid (distance, density) is not categorical."""
    return is_raster(lyr) and lyr.bandCount() == 1 and lyr.dataProvider().dataType(1) in INTEGER_TYPES


SOURCES = (
    ("geology", "Geology", lambda lyr: is_vector(lyr, GEOMETRY.PolygonGeometry, GEOMETRY.LineGeometry)
     or is_categorical_raster(lyr)),
    ("geochemistry", "Geochemistry", lambda lyr: is_vector(lyr, GEOMETRY.PointGeometry) or is_raster(lyr)),
    ("geophysics", "Geophysics", is_raster),
    ("remote_sensing", "Remote sensing", is_raster),
)


def source_label(key):
    """A source's name as the panel shows it (translated), for a key such as 'geology'; unknown keys as they are."""
    for k, label, _accept in SOURCES:
        if k == key:
            return tr(label)
    return key


PARAM_OF_SOURCE = {"geology": "GEOLOGY", "geochemistry": "GEOCHEMISTRY", "geophysics": "GEOPHYSICS",
                   "remote_sensing": "REMOTE_SENSING"}
USER_ROLE = Qt.ItemDataRole.UserRole


class WheelGuard(QObject):
    """Event filter: a combo or spin box without focus hands the wheel to the panel's scroll bar instead of
    changing its value (scrolling the panel once changed the Area of interest)."""

    def __init__(self, scroll, parent=None):
        super().__init__(parent)
        self.scroll = scroll

    def eventFilter(self, obj, event):  # noqa: N802 (Qt API name)
        if event.type() != QEvent.Type.Wheel or obj.hasFocus():
            return False
        if self.scroll is not None:
            QCoreApplication.sendEvent(self.scroll.verticalScrollBar(), event)
        return True


def guard_wheel(root, scroll):
    """Every combo and spin box under `root` takes the wheel only when focused (clicked or tabbed to)."""
    guard = WheelGuard(scroll, root)
    for widget in root.findChildren(QComboBox) + root.findChildren(QAbstractSpinBox):
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        widget.installEventFilter(guard)
    return guard


def pick_by_name(layers, pattern, accept):
    """The first layer accepted whose name matches pattern, else None."""
    return next((lyr for lyr in layers if accept(lyr) and pattern.search(lyr.name())), None)


class InputPickers:
    """Mixin of MPMDock: builds the pickers and keeps them in step with the project's layers."""

    def _source_boxes(self, layout):
        for key, label, _accept in SOURCES:
            box = QGroupBox(tr(label))
            box.setObjectName(f"mpm_box_{key}")
            lst = QListWidget()
            lst.setObjectName(f"mpm_layers_{key}")
            lst.setMaximumHeight(110)
            QVBoxLayout(box).addWidget(lst)
            self.lists[key] = lst
            layout.addWidget(box)

    def _input_form(self):
        form = QFormLayout()
        self.deposits = QgsMapLayerComboBox()
        self.deposits.setObjectName("mpm_deposits")
        self.deposits.setFilters(QgsMapLayerProxyModel.Filter.PointLayer)
        self.deposits.setAllowEmptyLayer(True)
        self.deposits.setLayer(None)
        form.addRow(tr("Known deposits"), self.deposits)
        self.aoi = QgsMapLayerComboBox()
        self.aoi.setObjectName("mpm_aoi")
        self.aoi.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.aoi.setAllowEmptyLayer(True)
        self.aoi.setLayer(None)
        self._chosen = set()  # combos the user set: never preselected again
        self._preselecting = False
        for combo in (self.deposits, self.aoi):
            combo.layerChanged.connect(lambda _lyr, c=combo: self._combo_changed(c))
        form.addRow(tr("Area of interest"), self.aoi)
        self.resolution = QDoubleSpinBox()
        self.resolution.setRange(0, 1e6)
        self.resolution.setDecimals(1)
        self.resolution.setSpecialValueText(tr("auto"))
        form.addRow(tr("Pixel size"), self.resolution)
        self.output = QgsFileWidget()
        self.output.setObjectName("mpm_output")
        self.output.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self._auto_output = default_output_folder()
        self.output.setFilePath(self._auto_output)
        self.output.setToolTip(tr("Each step writes a new folder in here. Default: beside the saved project, "
                                  "else in your home folder."))
        form.addRow(tr("Output folder"), self.output)
        return form

    def result_layer_ids(self):
        """Ids of the layers MPM Studio made (marked when loaded, or in the 'MPM Studio' group)."""
        return result_layer_ids()

    def _combo_changed(self, combo):
        if not self._preselecting:
            self._chosen.add(combo.objectName())
            if combo is self.aoi:
                self.refresh_layers()  # the area of interest is no geology

    def preselect(self, layers):
        """Deposits and area of interest picked by name (a polygon layer with one feature for the area), unless
        the user chose them."""
        self._preselecting = True
        try:
            if self.deposits.currentLayer() is None and "mpm_deposits" not in self._chosen:
                lyr = pick_by_name(layers, DEPOSIT_NAMES, lambda x: is_vector(x, GEOMETRY.PointGeometry))
                if lyr is not None:
                    self.deposits.setLayer(lyr)
            if self.aoi.currentLayer() is None and "mpm_aoi" not in self._chosen:
                polygons = [x for x in layers if is_vector(x, GEOMETRY.PolygonGeometry)]
                lyr = pick_by_name(polygons, AOI_NAMES, lambda x: True) or next(
                    (x for x in polygons if x.featureCount() == 1), None)
                if lyr is not None:
                    self.aoi.setLayer(lyr)
        finally:
            self._preselecting = False

    def refresh_layers(self, *_):
        """The layers offered per source, deposits and area of interest: the project's that suit each, minus
        MPM Studio's results (and, under Geology, the area of interest)."""
        results = self.result_layer_ids()
        project = QgsProject.instance()
        layers = [lyr for lid, lyr in project.mapLayers().items() if lid not in results and lyr.isValid()]
        excepted = [project.mapLayer(lid) for lid in results]
        for combo in (self.deposits, self.aoi):
            combo.setExceptedLayerList([lyr for lyr in excepted if lyr is not None])
        self.preselect(layers)
        aoi = self.aoi.currentLayer()
        for key, _label, accept in SOURCES:
            lst = self.lists[key]
            checked = set(self.selected_ids(key))
            lst.clear()
            for lyr in layers:
                if key == "geology" and aoi is not None and lyr.id() == aoi.id():
                    continue
                if accept(lyr):
                    item = QListWidgetItem(lyr.name())
                    item.setData(USER_ROLE, lyr.id())
                    item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    item.setCheckState(Qt.CheckState.Checked if lyr.id() in checked else Qt.CheckState.Unchecked)
                    lst.addItem(item)

    def selected_ids(self, key):
        lst = self.lists[key]
        return [lst.item(i).data(USER_ROLE) for i in range(lst.count())
                if lst.item(i).checkState() == Qt.CheckState.Checked]

    def select_layers(self, key, layer_ids):
        lst = self.lists[key]
        for i in range(lst.count()):
            item = lst.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(USER_ROLE) in layer_ids else Qt.CheckState.Unchecked)
