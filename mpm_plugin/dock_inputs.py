"""The panel's input pickers: layers ticked per source, known deposits, area of interest, pixel size, output
folder. MPM Studio's own results are never offered."""

from qgis.core import QgsMapLayerProxyModel, QgsProject, QgsRasterLayer, QgsVectorLayer, QgsWkbTypes
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QDoubleSpinBox, QFormLayout, QGroupBox, QListWidget, QListWidgetItem, QVBoxLayout

from .dock_layers import result_layer_ids
from .dock_results import default_output_folder
from .i18n import tr

SOURCES = (
    ("geology", "Geology", lambda lyr: True),
    ("geochemistry", "Geochemistry", lambda lyr: isinstance(lyr, QgsVectorLayer)
     and lyr.geometryType() == QgsWkbTypes.GeometryType.PointGeometry),
    ("geophysics", "Geophysics", lambda lyr: isinstance(lyr, QgsRasterLayer)),
    ("remote_sensing", "Remote sensing", lambda lyr: isinstance(lyr, QgsRasterLayer)),
)
PARAM_OF_SOURCE = {"geology": "GEOLOGY", "geochemistry": "GEOCHEMISTRY", "geophysics": "GEOPHYSICS",
                   "remote_sensing": "REMOTE_SENSING"}
USER_ROLE = Qt.ItemDataRole.UserRole


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
        self.deposits.setFilters(QgsMapLayerProxyModel.Filter.PointLayer)
        self.deposits.setAllowEmptyLayer(True)
        self.deposits.setLayer(None)
        form.addRow(tr("Known deposits"), self.deposits)
        self.aoi = QgsMapLayerComboBox()
        self.aoi.setFilters(QgsMapLayerProxyModel.Filter.PolygonLayer)
        self.aoi.setAllowEmptyLayer(True)
        self.aoi.setLayer(None)
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

    def refresh_layers(self, *_):
        """The layers offered per source, deposits and area of interest: the project's, minus MPM Studio's results."""
        results = self.result_layer_ids()
        project = QgsProject.instance()
        layers = [lyr for lid, lyr in project.mapLayers().items() if lid not in results]
        excepted = [project.mapLayer(lid) for lid in results]
        for combo in (self.deposits, self.aoi):
            combo.setExceptedLayerList([lyr for lyr in excepted if lyr is not None])
        for key, _label, accept in SOURCES:
            lst = self.lists[key]
            checked = set(self.selected_ids(key))
            lst.clear()
            for lyr in layers:
                if lyr.isValid() and accept(lyr):
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
