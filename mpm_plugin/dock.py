"""The MPM Studio panel: pick layers per source, run, get styled results back in the project.

Work runs as a QgsTask (QgsProcessingAlgRunnerTask) so QGIS stays responsive, shows progress in
its task manager and can cancel; results are added to an 'MPM Studio' layer group.
"""

import os
import tempfile

from qgis.core import (Qgis, QgsApplication, QgsMapLayerProxyModel, QgsProcessingAlgRunnerTask, QgsProcessingContext,
                       QgsProcessingFeedback, QgsProject, QgsRasterLayer, QgsVectorLayer, QgsWkbTypes)
from qgis.gui import QgsDockWidget, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                                 QListWidgetItem, QProgressBar, QPushButton, QScrollArea, QVBoxLayout, QWidget)

from .i18n import tr

SOURCES = (
    ("geology", "Geology", lambda lyr: True),
    ("geochemistry", "Geochemistry", lambda lyr: isinstance(lyr, QgsVectorLayer)
     and lyr.geometryType() == QgsWkbTypes.PointGeometry),
    ("geophysics", "Geophysics", lambda lyr: isinstance(lyr, QgsRasterLayer)),
    ("remote_sensing", "Remote sensing", lambda lyr: isinstance(lyr, QgsRasterLayer)),
)
PARAM_OF_SOURCE = {"geology": "GEOLOGY", "geochemistry": "GEOCHEMISTRY", "geophysics": "GEOPHYSICS",
                   "remote_sensing": "REMOTE_SENSING"}
GROUP_NAME = "MPM Studio"


class MPMDock(QgsDockWidget):
    def __init__(self, iface, parent=None):
        super().__init__(tr("MPM Studio"), parent)
        self.iface = iface
        self.task = None
        self.last_result = None  # (ok, results) of the last run, for callers that wait on it
        self._context = None
        self._feedback = None
        self.lists = {}
        body = QWidget()
        layout = QVBoxLayout(body)
        for key, label, _accept in SOURCES:
            box = QGroupBox(tr(label))
            box.setObjectName(f"mpm_box_{key}")
            lst = QListWidget()
            lst.setObjectName(f"mpm_layers_{key}")
            lst.setMaximumHeight(110)
            QVBoxLayout(box).addWidget(lst)
            self.lists[key] = lst
            layout.addWidget(box)
        form = QFormLayout()
        self.deposits = QgsMapLayerComboBox()
        self.deposits.setFilters(QgsMapLayerProxyModel.PointLayer)
        self.deposits.setAllowEmptyLayer(True)
        self.deposits.setLayer(None)
        form.addRow(tr("Known deposits"), self.deposits)
        self.aoi = QgsMapLayerComboBox()
        self.aoi.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.aoi.setAllowEmptyLayer(True)
        self.aoi.setLayer(None)
        form.addRow(tr("Area of interest"), self.aoi)
        self.resolution = QDoubleSpinBox()
        self.resolution.setRange(0, 1e6)
        self.resolution.setDecimals(1)
        self.resolution.setSpecialValueText(tr("auto"))
        form.addRow(tr("Pixel size"), self.resolution)
        self.output = QgsFileWidget()
        self.output.setStorageMode(QgsFileWidget.GetDirectory)
        self.output.setFilePath(os.path.join(tempfile.gettempdir(), "mpm_studio"))
        form.addRow(tr("Output folder"), self.output)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.align_button = QPushButton(tr("Align"))
        self.align_button.setObjectName("mpm_align")
        self.align_button.clicked.connect(self.run_align)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.align_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        layout.addWidget(self.progress)
        self.status = QLabel(tr("Pick layers per source, then Align."))
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)
        project = QgsProject.instance()
        project.layersAdded.connect(self.refresh_layers)
        project.layersRemoved.connect(self.refresh_layers)
        self.refresh_layers()

    def refresh_layers(self, *_):
        layers = list(QgsProject.instance().mapLayers().values())
        for key, _label, accept in SOURCES:
            lst = self.lists[key]
            checked = set(self.selected_ids(key))
            lst.clear()
            for lyr in layers:
                if lyr.isValid() and accept(lyr):
                    item = QListWidgetItem(lyr.name())
                    item.setData(Qt.UserRole, lyr.id())
                    item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
                    item.setCheckState(Qt.Checked if lyr.id() in checked else Qt.Unchecked)
                    lst.addItem(item)

    def selected_ids(self, key):
        lst = self.lists[key]
        return [lst.item(i).data(Qt.UserRole) for i in range(lst.count()) if lst.item(i).checkState() == Qt.Checked]

    def select_layers(self, key, layer_ids):
        lst = self.lists[key]
        for i in range(lst.count()):
            item = lst.item(i)
            item.setCheckState(Qt.Checked if item.data(Qt.UserRole) in layer_ids else Qt.Unchecked)

    def align_parameters(self):
        params = {PARAM_OF_SOURCE[key]: self.selected_ids(key) for key, _l, _a in SOURCES}
        if self.deposits.currentLayer() is not None:
            params["DEPOSITS"] = self.deposits.currentLayer().id()
        if self.aoi.currentLayer() is not None:
            params["AOI"] = self.aoi.currentLayer().id()
        params["RESOLUTION"] = self.resolution.value()
        params["OUTPUT"] = os.path.join(self.output.filePath(), "stack")
        return params

    def run_align(self):
        """Start mpm:alignstack as a background task; returns the task (tests wait on it)."""
        params = self.align_parameters()
        if not any(params[PARAM_OF_SOURCE[k]] for k, _l, _a in SOURCES):
            self._message(tr("Pick at least one layer in a source section."), Qgis.Warning)
            return None
        alg = QgsApplication.processingRegistry().createAlgorithmById("mpm:alignstack")
        self._context = QgsProcessingContext()
        self._context.setProject(QgsProject.instance())
        self._feedback = QgsProcessingFeedback()
        self._feedback.progressChanged.connect(lambda p: self.progress.setValue(int(p)))
        self.last_result = None
        self.task = QgsProcessingAlgRunnerTask(alg, params, self._context, self._feedback)
        self.task.executed.connect(self._finished)
        self.align_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.setText(tr("Aligning..."))
        QgsApplication.taskManager().addTask(self.task)
        return self.task

    def cancel(self):
        if self._feedback is not None:
            self._feedback.cancel()

    def _finished(self, ok, results):
        self.task = None  # the task manager deletes it
        self.align_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if not ok or not results:
            lines = [ln for ln in (self._feedback.textLog() if self._feedback else "").splitlines() if ln.strip()]
            reason = lines[-1] if lines else tr("cancelled")
            self._message(tr("Align failed: {0}").format(reason), Qgis.Critical)
            self.status.setText(tr("Failed: {0}. Nothing was written.").format(reason))
            self.last_result = (False, {})
            return
        self.add_results([(results["STACK"], tr("Aligned stack")), (results["VALID"], tr("Validity mask"))])
        self.status.setText(tr("Stack written to {0}").format(results["OUTPUT"]))
        self.last_result = (True, results)

    def add_results(self, items):
        project = QgsProject.instance()
        root = project.layerTreeRoot()
        group = root.findGroup(GROUP_NAME) or root.insertGroup(0, GROUP_NAME)
        for path, name in items:
            layer = QgsRasterLayer(path, name)
            if layer.isValid():
                project.addMapLayer(layer, False)
                group.addLayer(layer)

    def _message(self, text, level):
        try:
            self.iface.messageBar().pushMessage(tr("MPM Studio"), text, level=level)
        except AttributeError:  # no message bar (headless tests with a stub iface)
            pass
