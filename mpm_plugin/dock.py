"""The MPM Studio panel: pick layers per source, run the chain, get styled results back in the project.

Align, then Fine-tune + validate, Predict, Targets and Anomalies: each step is a Processing algorithm
(mpm:alignstack, mpm:finetune, mpm:predict, mpm:targets, mpm:anomalies) run as a QgsTask
(QgsProcessingAlgRunnerTask) so QGIS stays responsive, shows progress in its task manager and can
cancel. A step reads the folders the previous steps wrote (kept on the panel: stack_dir, head_dir,
prediction_dir) and writes a fresh subfolder of the chosen output folder ("stack", "head",
"prediction", "targets.gpkg", "anomalies"; "head_2" etc. when the name is taken). Results are added
to an 'MPM Studio' layer group with the QML styles in resources/; after fine-tuning, the spatial
cross-validation plot and its ROC-AUC summary are shown in the panel.
"""

import json
import math
import os
import tempfile
import traceback
from functools import partial

from qgis.core import (Qgis, QgsApplication, QgsColorRampShader, QgsMapLayerProxyModel, QgsMessageLog,
                       QgsProcessingAlgRunnerTask, QgsProcessingContext, QgsProcessingFeedback, QgsProject,
                       QgsRasterLayer, QgsSingleBandPseudoColorRenderer, QgsVectorLayer, QgsWkbTypes)
from qgis.gui import QgsDockWidget, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt, QUrl, pyqtSlot
from qgis.PyQt.QtGui import QDesktopServices, QPixmap
from qgis.PyQt.QtWidgets import (QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                                 QListWidget, QListWidgetItem, QProgressBar, QPushButton, QScrollArea, QSpinBox,
                                 QVBoxLayout, QWidget)

from . import PLUGIN_ROOT
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
LOG_TAG = "MPM Studio"
STYLE_DIR = os.path.join(PLUGIN_ROOT or os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources")
STRETCHED_STYLES = ("uncertainty.qml", "anomaly.qml")  # ramps re-stretched to each layer's own value range
# method key in the cross-validation report -> label in the validation summary
CV_METHODS = (("head", "head"), ("random_forest", "random forest"), ("weights_of_evidence", "weights of evidence"))


def fresh_path(folder, name):
    """folder/name, or folder/name_2 (name_3, ...; before the extension) when that is taken."""
    stem, ext = os.path.splitext(name)
    path, n = os.path.join(folder, name), 2
    while os.path.exists(path):
        path, n = os.path.join(folder, f"{stem}_{n}{ext}"), n + 1
    return path


def stretch_to_data(layer, lower=0.02, upper=0.98):
    """Re-space a pseudocolor ramp (as loaded from QML) over the layer's lower-upper cumulative cut; True if done."""
    renderer = layer.renderer()
    if not isinstance(renderer, QgsSingleBandPseudoColorRenderer):
        return False
    lo, hi = layer.dataProvider().cumulativeCut(renderer.band(), lower, upper)
    shader = renderer.shader().rasterShaderFunction() if renderer.shader() else None
    items = shader.colorRampItemList() if isinstance(shader, QgsColorRampShader) else []
    if len(items) < 2 or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return False
    a, b = items[0].value, items[-1].value
    if not b > a:
        return False
    digits = max(0, 2 - int(math.floor(math.log10(hi - lo))))
    new = []
    for item in items:
        value = lo + (item.value - a) / (b - a) * (hi - lo)
        new.append(QgsColorRampShader.ColorRampItem(value, item.color, f"{value:.{digits}f}"))
    shader.setColorRampItemList(new)
    shader.setMinimumValue(lo)
    shader.setMaximumValue(hi)
    renderer.setClassificationMin(lo)
    renderer.setClassificationMax(hi)
    return True


def _has(path, marker=None):
    return bool(path) and os.path.exists(os.path.join(path, marker) if marker else path)


class MPMDock(QgsDockWidget):
    def __init__(self, iface, parent=None):
        super().__init__(tr("MPM Studio"), parent)
        self.iface = iface
        self.task = None
        self.last_result = None  # (ok, results) of the last run, for callers that wait on it
        self._context = None
        self._feedback = None
        self.lists = {}
        # folders the chain's steps wrote (None until a step has run); the next steps read them
        self.stack_dir = self.head_dir = self.prediction_dir = self.targets_path = self.anomalies_dir = None
        # {algorithm id: {PARAMETER: value}} merged into what the panel passes (advanced settings, tests)
        self.overrides = {}
        self._plot_path = None
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
        self.cancel_button.setObjectName("mpm_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.align_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        layout.addWidget(self._chain_box())
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        layout.addWidget(self.progress)
        self.status = QLabel(tr("Pick layers per source, then Align."))
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addWidget(self._validation_box())
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)
        project = QgsProject.instance()
        project.layersAdded.connect(self.refresh_layers)
        project.layersRemoved.connect(self.refresh_layers)
        self.refresh_layers()
        self.update_buttons()

    def _chain_box(self):
        box = QGroupBox(tr("Prospectivity and anomalies (after Align)"))
        grid = QGridLayout(box)

        def button(name, text, tip, slot):
            b = QPushButton(text)
            b.setObjectName(name)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            return b

        self.finetune_button = button(
            "mpm_finetune", tr("Fine-tune + validate"),
            tr("Train the prospectivity head on the aligned stack's known deposits and cross-validate it against "
               "random forest and weights of evidence (needs a stack aligned with deposits)."), self.run_finetune)
        self.predict_button = button(
            "mpm_predict", tr("Predict"),
            tr("Map prospectivity, uncertainty and per-source contributions (needs a fine-tuned head)."),
            self.run_predict)
        self.targets_button = button(
            "mpm_targets", tr("Targets"),
            tr("Ranked target polygons holding the chosen share of the known deposits (needs a prediction)."),
            self.run_targets)
        self.anomalies_button = button(
            "mpm_anomalies", tr("Anomalies"),
            tr("Geochemical anomalies from the geochemistry encoder (needs a stack with geochemistry)."),
            self.run_anomalies)
        self.capture = QSpinBox()
        self.capture.setObjectName("mpm_capture")
        self.capture.setRange(1, 100)
        self.capture.setValue(80)
        self.capture.setSuffix(" %")
        self.capture.setToolTip(tr("Share of the known deposits the targets must hold; the probability cut follows."))
        capture_row = QHBoxLayout()
        capture_row.addWidget(QLabel(tr("capture % of deposits")))
        capture_row.addWidget(self.capture)
        grid.addWidget(self.finetune_button, 0, 0)
        grid.addWidget(self.predict_button, 0, 1)
        grid.addWidget(self.targets_button, 1, 0)
        grid.addLayout(capture_row, 1, 1)
        grid.addWidget(self.anomalies_button, 2, 0)
        return box

    def _validation_box(self):
        self.validation_box = QGroupBox(tr("Validation (spatial cross-validation)"))
        self.validation_box.setObjectName("mpm_validation")
        v = QVBoxLayout(self.validation_box)
        self.validation_summary = QLabel()
        self.validation_summary.setObjectName("mpm_validation_summary")
        self.validation_summary.setWordWrap(True)
        self.validation_summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.validation_plot = QLabel()
        self.validation_plot.setObjectName("mpm_validation_plot")
        self.validation_plot.setAlignment(Qt.AlignCenter)
        self.open_plot_button = QPushButton(tr("Open plot"))
        self.open_plot_button.setToolTip(tr("Open validation.png full size"))
        self.open_plot_button.clicked.connect(self.open_plot)
        v.addWidget(self.validation_summary)
        v.addWidget(self.validation_plot)
        v.addWidget(self.open_plot_button, 0, Qt.AlignRight)
        self.validation_box.hide()
        return self.validation_box

    # ---- layers to pick ----

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

    # ---- the chain: parameters of each step ----

    def _output(self, name):
        """A fresh path for a step's output inside the chosen output folder; None (and a warning) without one."""
        folder = self.output.filePath().strip()
        if not folder:
            self._message(tr("Choose an output folder first."), Qgis.Warning)
            return None
        return fresh_path(folder, name)

    def align_parameters(self):
        params = {PARAM_OF_SOURCE[key]: self.selected_ids(key) for key, _l, _a in SOURCES}
        if self.deposits.currentLayer() is not None:
            params["DEPOSITS"] = self.deposits.currentLayer().id()
        if self.aoi.currentLayer() is not None:
            params["AOI"] = self.aoi.currentLayer().id()
        params["RESOLUTION"] = self.resolution.value()
        params["OUTPUT"] = self._output("stack")
        return params

    def stack_manifest(self):
        """stack.json of the current stack, or None."""
        if not _has(self.stack_dir, "stack.json"):
            return None
        try:
            with open(os.path.join(self.stack_dir, "stack.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def update_buttons(self):
        """Each step's button is enabled when no run is going on and the step's inputs exist."""
        idle = self.task is None
        manifest = self.stack_manifest()
        has_stack = manifest is not None
        has_deposits = has_stack and bool((manifest.get("deposits") or {}).get("used"))
        has_geochem = has_stack and any(b.get("source") == "geochemistry" for b in manifest.get("bands", []))
        self.align_button.setEnabled(idle)
        self.finetune_button.setEnabled(idle and has_deposits)
        self.predict_button.setEnabled(idle and has_stack and _has(self.head_dir, "head_card.json"))
        self.targets_button.setEnabled(idle and has_stack and _has(self.prediction_dir, "prospectivity.tif"))
        self.anomalies_button.setEnabled(idle and has_geochem)
        self.capture.setEnabled(self.targets_button.isEnabled())
        self.cancel_button.setEnabled(not idle)

    def run_align(self):
        """Start mpm:alignstack as a background task; returns the task (tests wait on it)."""
        params = self.align_parameters()
        if not any(params[PARAM_OF_SOURCE[k]] for k, _l, _a in SOURCES):
            self._message(tr("Pick at least one layer in a source section."), Qgis.Warning)
            return None
        if params["OUTPUT"] is None:
            return None
        return self.run_algorithm("mpm:alignstack", params, self._aligned, tr("Align"), tr("Aligning..."))

    def run_finetune(self):
        """mpm:finetune (with validation) on the current stack, into a new 'head' folder."""
        if not self._needs(self.finetune_button, tr("Align a stack with known deposits first.")):
            return None
        params = {"STACK": self.stack_dir, "VALIDATE": True, "OUTPUT": self._output("head")}
        return self.run_algorithm("mpm:finetune", params, self._finetuned, tr("Fine-tune"),
                                  tr("Fine-tuning the head and cross-validating it..."))

    def run_predict(self):
        """mpm:predict with the current stack and head, into a new 'prediction' folder."""
        if not self._needs(self.predict_button, tr("Fine-tune a head on the stack first.")):
            return None
        params = {"STACK": self.stack_dir, "HEAD": self.head_dir, "CONTRIBUTIONS": True,
                  "OUTPUT": self._output("prediction")}
        return self.run_algorithm("mpm:predict", params, self._predicted, tr("Predict"), tr("Mapping prospectivity..."))

    def run_targets(self):
        """mpm:targets on the current prediction, capturing the chosen share of the deposits, into 'targets.gpkg'."""
        if not self._needs(self.targets_button, tr("Predict prospectivity first.")):
            return None
        params = {"PREDICTION": self.prediction_dir, "MODE": "capture", "VALUE": self.capture.value() / 100.0,
                  "STACK": self.stack_dir, "OUTPUT": self._output("targets.gpkg")}
        return self.run_algorithm("mpm:targets", params, self._targets_made, tr("Targets"), tr("Drawing targets..."))

    def run_anomalies(self):
        """mpm:anomalies on the current stack, into a new 'anomalies' folder."""
        if not self._needs(self.anomalies_button, tr("Align a stack with geochemistry first.")):
            return None
        params = {"STACK": self.stack_dir, "OUTPUT": self._output("anomalies")}
        return self.run_algorithm("mpm:anomalies", params, self._anomalies_found, tr("Anomalies"),
                                  tr("Finding geochemical anomalies..."))

    def _needs(self, button, hint):
        self.update_buttons()
        if not button.isEnabled():
            self._message(tr("A run is in progress.") if self.task is not None else hint, Qgis.Warning)
            return False
        return True

    # ---- running a step (one path for every algorithm) ----

    def run_algorithm(self, alg_id, params, on_success, what, busy_text):
        """Run a Processing algorithm as a background task; on success on_success(results) shows its results.

        Returns the task, or None when nothing was started. self.last_result becomes (ok, results) when it ends.
        """
        if self.task is not None:
            self._message(tr("A run is in progress; wait for it to finish or cancel it."), Qgis.Warning)
            return None
        if any(v is None for v in params.values()):
            return None
        alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
        if alg is None:
            self._message(tr("The Processing algorithm {0} is not available; enable the MPM Studio plugin's "
                             "provider in Processing settings.").format(alg_id), Qgis.Critical)
            return None
        params = dict(params, **self.overrides.get(alg_id, {}))
        self._context = QgsProcessingContext()
        self._context.setProject(QgsProject.instance())
        self._feedback = QgsProcessingFeedback()
        self._feedback.progressChanged.connect(self._set_progress)
        self.last_result = None
        self.progress.setValue(0)
        self.task = QgsProcessingAlgRunnerTask(alg, params, self._context, self._feedback)
        self.task.executed.connect(partial(self._finished, on_success, what))
        self.update_buttons()
        self.status.setText(busy_text)
        QgsApplication.taskManager().addTask(self.task)
        return self.task

    @pyqtSlot(float)
    def _set_progress(self, percent):
        self.progress.setValue(int(percent))

    def cancel(self):
        if self._feedback is not None:
            self._feedback.cancel()

    def _finished(self, on_success, what, ok, results):
        self.task = None  # the task manager deletes it
        if not ok or not results:
            lines = [ln for ln in (self._feedback.textLog() if self._feedback else "").splitlines() if ln.strip()]
            if lines:
                QgsMessageLog.logMessage("\n".join(lines), LOG_TAG, Qgis.Info)  # the whole run log, for details
            if self._feedback is not None and self._feedback.isCanceled():
                self._message(tr("{0} cancelled; nothing was written.").format(what), Qgis.Info)
                self.status.setText(tr("{0} cancelled; nothing was written.").format(what))
            else:  # the engine's actionable message is the last line of the log
                reason = lines[-1].strip().rstrip(".") if lines else tr("no result")
                self._message(tr("{0} failed: {1}").format(what, reason), Qgis.Critical)
                self.status.setText(tr("{0} failed: {1}. Nothing was written.").format(what, reason))
            self.last_result = (False, {})
        else:
            try:
                on_success(results)
                self.progress.setValue(100)
                self.last_result = (True, results)
            except Exception as exc:  # noqa: BLE001 (a slot must not raise: report it instead)
                QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.Critical)
                self._message(tr("{0} finished but its results could not be shown: {1}").format(what, exc),
                              Qgis.Critical)
                self.status.setText(tr("{0} finished; results are in {1}").format(what, results.get("OUTPUT", "")))
                self.last_result = (False, results)
        self.update_buttons()

    # ---- what each step leaves on the panel and in the project ----

    def _aligned(self, results):
        self.stack_dir = results["OUTPUT"]
        self.head_dir = self.prediction_dir = self.targets_path = self.anomalies_dir = None  # they belong to the old stack
        self.validation_box.hide()
        self.add_results([(results["STACK"], tr("Aligned stack")), (results["VALID"], tr("Validity mask"))])
        self.status.setText(tr("Stack written to {0}").format(results["OUTPUT"]))

    def _finetuned(self, results):
        self.head_dir = results["OUTPUT"]
        self.prediction_dir = self.targets_path = None
        summary = self.show_validation(self.head_dir)
        self.status.setText(tr("Head written to {0}").format(self.head_dir) + (f"\n{summary}" if summary else ""))

    def _predicted(self, results):
        self.prediction_dir = results["OUTPUT"]
        self.targets_path = None
        self.add_results([(results.get("PROSPECTIVITY"), tr("Prospectivity"), "prospectivity.qml", True),
                          (results.get("UNCERTAINTY"), tr("Prospectivity uncertainty"), "uncertainty.qml", False),
                          (results.get("CONTRIBUTIONS"), tr("Source contributions"), None, False)])
        self.status.setText(tr("Prediction written to {0}").format(self.prediction_dir))

    def _targets_made(self, results):
        self.targets_path = results["OUTPUT"]
        layer = QgsVectorLayer(f"{self.targets_path}|layername=targets", tr("Targets"), "ogr")
        self.add_layers([(layer, "targets.qml", True)])
        self.status.setText(tr("{0} targets holding {1} % of the known deposits written to {2}").format(
            layer.featureCount() if layer.isValid() else 0, self.capture.value(), self.targets_path))

    def _anomalies_found(self, results):
        self.anomalies_dir = results["OUTPUT"]
        self.add_results([(results.get("ANOMALY_SCORE"), tr("Geochemical anomaly score"), "anomaly.qml", True),
                          (results.get("MAHALANOBIS"), tr("Robust Mahalanobis distance"), "anomaly.qml", False)])
        self.status.setText(tr("Anomalies written to {0} (top_anomalies.csv lists the strongest)").format(
            self.anomalies_dir))

    def show_validation(self, head_dir):
        """The validation plot and a one-line ROC-AUC summary of head_dir's cross-validation; the summary."""
        try:
            with open(os.path.join(head_dir, "head_card.json")) as f:
                cv = json.load(f).get("cv") or {}
        except (OSError, ValueError):
            cv = {}
        parts = [f"{tr(label)} {cv[key]['roc_auc']:.2f}" for key, label in CV_METHODS if key in cv]
        summary = tr("ROC-AUC {0}").format(" | ".join(parts)) if parts else tr("No validation report for this head.")
        self.validation_summary.setText(summary)
        self.validation_summary.setToolTip("\n".join(
            tr("{0}: ROC-AUC {1:.3f}, PR-AUC {2:.3f}, success-rate AUC {3:.3f}").format(
                tr(label), cv[key]["roc_auc"], cv[key]["pr_auc"], cv[key]["success_rate_auc"])
            for key, label in CV_METHODS if key in cv))
        png = os.path.join(head_dir, "validation.png")
        pixmap = QPixmap(png) if os.path.exists(png) else QPixmap()
        self._plot_path = png if not pixmap.isNull() else None
        if pixmap.isNull():
            self.validation_plot.clear()
        else:
            self.validation_plot.setPixmap(pixmap.scaledToWidth(min(pixmap.width(), 380), Qt.SmoothTransformation))
            self.validation_plot.setToolTip(png)
        self.open_plot_button.setEnabled(self._plot_path is not None)
        self.validation_box.show()
        return summary

    def open_plot(self):
        if self._plot_path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self._plot_path))

    def add_results(self, items):
        """Raster files as layers in the group: (path, name[, QML style in resources/[, visible]]); missing paths skipped."""
        layers = []
        for path, name, *rest in items:
            if path and os.path.exists(path):
                layers.append((QgsRasterLayer(path, name), rest[0] if rest else None, rest[1] if len(rest) > 1 else True))
        self.add_layers(layers)

    def add_layers(self, layers):
        """(layer, QML style or None, visible) into the 'MPM Studio' group, in order, above what is there."""
        project = QgsProject.instance()
        root = project.layerTreeRoot()
        group = root.findGroup(GROUP_NAME) or root.insertGroup(0, GROUP_NAME)
        for layer, style, visible in reversed(layers):
            if not layer.isValid():
                self._message(tr("Could not load {0} as a layer").format(layer.source()), Qgis.Warning)
                continue
            if style:
                message, ok = layer.loadNamedStyle(os.path.join(STYLE_DIR, style))
                if not ok:
                    QgsMessageLog.logMessage(tr("Style {0} not applied: {1}").format(style, message), LOG_TAG,
                                             Qgis.Warning)
                elif style in STRETCHED_STYLES:
                    stretch_to_data(layer)
            project.addMapLayer(layer, False)
            node = group.insertLayer(0, layer)
            node.setItemVisibilityChecked(visible)

    def _message(self, text, level):
        QgsMessageLog.logMessage(text, LOG_TAG, level)
        try:
            self.iface.messageBar().pushMessage(tr("MPM Studio"), text, level=level)
        except AttributeError:  # no message bar (headless tests with a stub iface)
            pass
