"""The MPM Studio panel: pick layers per source, run the chain, get styled results back in the project.

Align, then Fine-tune + validate, Predict, Targets and Anomalies: each step is a Processing algorithm
(mpm:alignstack, mpm:finetune, mpm:predict, mpm:targets, mpm:anomalies) run as a QgsTask
(QgsProcessingAlgRunnerTask) so QGIS stays responsive, shows progress in its task manager and can
cancel. A step reads the folders the previous steps wrote (kept on the panel: stack_dir, head_dir,
prediction_dir) and writes a fresh subfolder of the chosen output folder ("stack", "head",
"prediction", "targets.gpkg", "anomalies"; "head_2" etc. when the name is taken). Results are added
to an 'MPM Studio' layer group with the QML styles in resources/ (and marked, so that they are never
offered as inputs); after fine-tuning, the ROC-AUC summary is shown in the panel and the validation
curves in the "MPM Studio plots" panel beside the map (plots.py, pyqtgraph; without it the panel
shows validation.png).

The Foundation model section (models_panel.py) picks the pretrained model the chain uses, shows its
card, and runs Pretrain on my data (mpm:pretrain from the chosen model on the current stack).

Runs take the user's settings (settings.py: backend, threads, tile size, cache folder; the Settings
button). "Open results..." picks up an existing stack / head / prediction folder (or an output folder
holding them) after a restart: the panel's state follows, so the next steps' buttons enable, and the
layers load styled. The output folder defaults to a folder beside the saved project, else under the
user's home (never the temporary folder, whose layers QGIS warns about on exit).
"""

import datetime
import json
import math
import os
import traceback
from functools import partial

from qgis.core import (Qgis, QgsApplication, QgsColorRampShader, QgsMapLayerProxyModel, QgsMessageLog,
                       QgsProcessingAlgRunnerTask, QgsProcessingContext, QgsProcessingFeedback, QgsProject,
                       QgsRasterLayer, QgsSingleBandPseudoColorRenderer, QgsVectorLayer, QgsWkbTypes)
from qgis.gui import QgsDockWidget, QgsFileWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt, QUrl, pyqtSlot
from qgis.PyQt.QtGui import QDesktopServices, QPixmap
from qgis.PyQt.QtWidgets import (QCheckBox, QDialog, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout, QGroupBox,
                                 QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QProgressBar, QPushButton,
                                 QScrollArea, QSpinBox, QVBoxLayout, QWidget)

from . import PLUGIN_ROOT, plots
from .i18n import tr
from .settings import RunSettings, SettingsDialog

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
RESULT_PROPERTY = "mpm_studio/result"  # custom property of the layers the panel loads (kept in the project file)
OUTPUT_FOLDER_NAME = "MPM Studio"
# what a results folder is, by the file that marks it, in chain order
RESULT_MARKERS = (("stack", "stack.json"), ("head", "head_card.json"), ("prediction", "prospectivity.tif"),
                  ("anomalies", "anomalies.json"), ("model", "model_card.json"),
                  ("validation", "validation.json"))  # last: a head folder holds a validation.json too
CHAIN_ORDER = ("stack", "head", "prediction", "targets", "anomalies", "model", "validation")
STYLE_DIR = os.path.join(PLUGIN_ROOT or os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources")
STRETCHED_STYLES = ("uncertainty.qml", "anomaly.qml")  # ramps re-stretched to each layer's own value range
# method key in the cross-validation report -> label in the validation summary
CV_METHODS = (("head", "head"), ("head_with_embeddings", "head + embeddings"), ("head_bands_only", "head, bands only"),
              ("random_forest", "random forest"), ("weights_of_evidence", "weights of evidence"))


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


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def default_output_folder(project=None):
    """Where results go by default: <project folder>/MPM Studio for a saved project, else ~/MPM Studio/<date>."""
    project = project or QgsProject.instance()
    folder = project.absolutePath() if project.fileName() else ""
    if folder:
        return os.path.join(folder, OUTPUT_FOLDER_NAME)
    return os.path.join(os.path.expanduser("~"), OUTPUT_FOLDER_NAME, datetime.date.today().isoformat())


def result_kind(path):
    """'stack', 'head', 'prediction', 'anomalies', 'model', 'validation' (mpm:validate) or 'targets' (a .gpkg)
    for a results path; else None."""
    if os.path.isfile(path):
        return "targets" if path.lower().endswith(".gpkg") else None
    for kind, marker in RESULT_MARKERS:
        if os.path.exists(os.path.join(path, marker)):
            return kind
    return None


def _signature(stack_dir):
    """What a head depends on (engine.prospectivity.stack_signature), from stack.json."""
    manifest = _read_json(os.path.join(stack_dir, "stack.json")) or {}
    return [[b.get("source"), b.get("layer_type"), b.get("kind")] for b in manifest.get("bands", [])]


def find_results(folder):
    """[(kind, path)] to open for `folder`: the folder itself when it is a result, else the results in it.

    In an output folder (stack, head, head_2, prediction, ...) the newest of each kind is taken, preferring
    a head trained on the stack taken and a prediction made with the head taken; in chain order.
    """
    kind = result_kind(folder)
    if kind:
        return [(kind, folder)]
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = {}
    for name in names:
        path = os.path.join(folder, name)
        k = result_kind(path)
        if k:
            found.setdefault(k, []).append(path)
    for paths in found.values():
        paths.sort(key=os.path.getmtime, reverse=True)
    chosen = {k: paths[0] for k, paths in found.items()}
    if "stack" in chosen and "head" in chosen:
        same = [h for h in found["head"] if _same_path((_read_json(os.path.join(h, "head_card.json")) or {})
                                                      .get("stack"), chosen["stack"])]
        chosen["head"] = same[0] if same else chosen["head"]
    if "head" in chosen and "prediction" in chosen:
        same = [p for p in found["prediction"] if _same_path(os.path.dirname(
            (_read_json(os.path.join(p, "predict.json")) or {}).get("head") or ""), chosen["head"])]
        chosen["prediction"] = same[0] if same else chosen["prediction"]
    return [(k, chosen[k]) for k in CHAIN_ORDER if k in chosen]


def _same_path(a, b):
    return bool(a) and bool(b) and os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


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
        self.plots = self.plots_dock = None  # the plots beside the map, made when first needed (pyqtgraph)
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
        self.output.setObjectName("mpm_output")
        self.output.setStorageMode(QgsFileWidget.GetDirectory)
        self._auto_output = default_output_folder()
        self.output.setFilePath(self._auto_output)
        self.output.setToolTip(tr("Each step writes a new folder in here. Default: beside the saved project, "
                                  "else in your home folder."))
        form.addRow(tr("Output folder"), self.output)
        layout.addLayout(form)
        tools = QHBoxLayout()
        self.open_button = QPushButton(tr("Open results..."))
        self.open_button.setObjectName("mpm_open_results")
        self.open_button.setToolTip(tr("Open an existing stack, head or prediction folder (or an output folder "
                                       "holding them): its layers load and the next steps can run on it."))
        self.open_button.clicked.connect(self.choose_results)
        self.settings_button = QPushButton(tr("Settings..."))
        self.settings_button.setObjectName("mpm_settings")
        self.settings_button.setToolTip(tr("Inference backend, CPU threads, tile size and cache folder of the runs"))
        self.settings_button.clicked.connect(self.edit_settings)
        tools.addWidget(self.open_button)
        tools.addWidget(self.settings_button)
        from .wofe_panel import add_button

        add_button(self, tools)  # Weights of evidence... (wofe_panel.py)
        layout.addLayout(tools)
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
        from .models_panel import ModelBox

        self.models = ModelBox(self)
        self.models.setObjectName("mpm_box_model")
        self.output.fileChanged.connect(lambda *_: self.models.refresh())
        layout.addWidget(self.models)
        layout.addWidget(self._chain_box())
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        layout.addWidget(self.progress)
        self.status = QLabel(tr("Pick layers per source, then Align."))
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addWidget(self._validation_box())
        from .structures_panel import StructuresBox

        self.structures = StructuresBox(self)
        self.structures.setObjectName("mpm_box_structures")
        layout.addWidget(self.structures)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        self.setWidget(scroll)
        project = QgsProject.instance()
        project.layersAdded.connect(self.refresh_layers)
        project.layersRemoved.connect(self.refresh_layers)
        root = project.layerTreeRoot()
        root.addedChildren.connect(self.refresh_layers)  # a layer moved into or out of the results group
        root.removedChildren.connect(self.refresh_layers)
        for signal in (project.readProject, project.projectSaved, project.cleared):
            signal.connect(self.follow_project)
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
        self.compare_embeddings = QCheckBox(tr("Compare with the foundation embeddings"))
        self.compare_embeddings.setObjectName("mpm_compare_embeddings")
        self.compare_embeddings.setToolTip(tr("Fine-tune also cross-validates the head with the foundation model's "
                                              "embeddings added and says whether they add skill here (embeds the "
                                              "stack once; slower the first time)."))
        grid.addWidget(self.compare_embeddings, 2, 1)
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
        self.plots_message = QLabel()
        self.plots_message.setObjectName("mpm_plots_fallback")
        self.plots_message.setWordWrap(True)
        self.plots_message.hide()
        self.show_plots_button = QPushButton(tr("Show plots"))
        self.show_plots_button.setObjectName("mpm_show_plots")
        self.show_plots_button.setToolTip(tr("Success-rate, ROC, precision-recall, prediction-area and loss curves "
                                             "beside the map"))
        self.show_plots_button.clicked.connect(self.show_plots)
        self.show_plots_button.setVisible(plots.HAVE_PYQTGRAPH)
        self.open_plot_button = QPushButton(tr("Open plot"))
        self.open_plot_button.setToolTip(tr("Open validation.png full size"))
        self.open_plot_button.clicked.connect(self.open_plot)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.show_plots_button)
        row.addWidget(self.open_plot_button)
        v.addWidget(self.validation_summary)
        v.addWidget(self.plots_message)
        v.addWidget(self.validation_plot)
        v.addLayout(row)
        self.validation_box.hide()
        return self.validation_box

    # ---- layers to pick ----

    def result_layer_ids(self):
        """Ids of the layers MPM Studio made (marked when loaded, or in the 'MPM Studio' group)."""
        project = QgsProject.instance()
        ids = {lid for lid, lyr in project.mapLayers().items() if lyr.customProperty(RESULT_PROPERTY)}
        group = project.layerTreeRoot().findGroup(GROUP_NAME)
        if group is not None:
            ids.update(group.findLayerIds())
        return ids

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
        self.models.pretrain_button.setEnabled(idle and has_stack)
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

    def finetune_parameters(self):
        params = {"STACK": self.stack_dir, "VALIDATE": True, "MODEL": self.models.current_model() or "",
                  "COMPARE_EMBEDDINGS": self.compare_embeddings.isChecked(), "OUTPUT": self._output("head")}
        # another deposit type picked after Align: train on it, on the same stack (no re-alignment)
        layer = self.deposits.currentLayer()
        aligned = ((_read_json(os.path.join(self.stack_dir or "", "stack.json")) or {}).get("deposits") or {}).get("path")
        if layer is not None and not _same_path(layer.source().split("|")[0], aligned):
            params["DEPOSITS"] = layer.id()
        return params

    def predict_parameters(self):
        return {"STACK": self.stack_dir, "HEAD": self.head_dir, "CONTRIBUTIONS": True,
                "MODEL": self.models.model_for_head(self.head_dir) or "", "OUTPUT": self._output("prediction")}

    def targets_parameters(self):
        return {"PREDICTION": self.prediction_dir, "MODE": "capture", "VALUE": self.capture.value() / 100.0,
                "STACK": self.stack_dir, "OUTPUT": self._output("targets.gpkg")}

    def anomalies_parameters(self):
        return {"STACK": self.stack_dir, "MODEL": self.models.current_model() or "",
                "OUTPUT": self._output("anomalies")}

    def run_finetune(self):
        """mpm:finetune (with validation) on the current stack, into a new 'head' folder."""
        if not self._needs(self.finetune_button, tr("Align a stack with known deposits first.")):
            return None
        return self.run_algorithm("mpm:finetune", self.finetune_parameters(), self._finetuned, tr("Fine-tune"),
                                  tr("Fine-tuning the head and cross-validating it..."))

    def run_predict(self):
        """mpm:predict with the current stack and head, into a new 'prediction' folder."""
        if not self._needs(self.predict_button, tr("Fine-tune a head on the stack first.")):
            return None
        return self.run_algorithm("mpm:predict", self.predict_parameters(), self._predicted, tr("Predict"),
                                  tr("Mapping prospectivity..."))

    def run_targets(self):
        """mpm:targets on the current prediction, capturing the chosen share of the deposits, into 'targets.gpkg'."""
        if not self._needs(self.targets_button, tr("Predict prospectivity first.")):
            return None
        return self.run_algorithm("mpm:targets", self.targets_parameters(), self._targets_made, tr("Targets"),
                                  tr("Drawing targets..."))

    def run_anomalies(self):
        """mpm:anomalies on the current stack, into a new 'anomalies' folder."""
        if not self._needs(self.anomalies_button, tr("Align a stack with geochemistry first.")):
            return None
        return self.run_algorithm("mpm:anomalies", self.anomalies_parameters(), self._anomalies_found,
                                  tr("Anomalies"), tr("Finding geochemical anomalies..."))

    # ---- settings ----

    def edit_settings(self):
        """The settings dialog; OK stores them for the next runs. Returns True when stored."""
        dialog = SettingsDialog(self)
        return dialog.exec_() == QDialog.Accepted

    def parameters_for(self, alg_id, params, alg=None):
        """What the panel passes to `alg_id`: the step's params, the settings the algorithm takes, then overrides."""
        alg = alg or QgsApplication.processingRegistry().algorithmById(alg_id)
        merged = dict(params)
        if alg is not None:
            for name, value in RunSettings.load().parameters().items():
                if name not in merged and alg.parameterDefinition(name) is not None:
                    merged[name] = value
        merged.update(self.overrides.get(alg_id, {}))
        return merged

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
        params = self.parameters_for(alg_id, params, alg)
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

    # ---- what each step leaves on the panel and in the project (a run, or results opened again) ----

    def _aligned(self, results):
        self.set_stack(results["OUTPUT"])
        self.status.setText(tr("Stack written to {0}").format(results["OUTPUT"]))

    def _finetuned(self, results):
        summary = self.set_head(results["OUTPUT"])
        self.status.setText(tr("Head written to {0}").format(self.head_dir) + (f"\n{summary}" if summary else ""))

    def _predicted(self, results):
        self.set_prediction(results["OUTPUT"])
        self.status.setText(tr("Prediction written to {0}").format(self.prediction_dir))

    def _targets_made(self, results):
        layer = self.set_targets(results["OUTPUT"])
        self.status.setText(tr("{0} targets holding {1} % of the known deposits written to {2}").format(
            layer.featureCount() if layer.isValid() else 0, self.capture.value(), self.targets_path))

    def _anomalies_found(self, results):
        self.set_anomalies(results["OUTPUT"])
        self.status.setText(tr("Anomalies written to {0} (top_anomalies.csv lists the strongest)").format(
            self.anomalies_dir))

    def set_stack(self, path):
        """The current stack (what follows it is cleared: it belonged to the old one); its layers loaded."""
        self.stack_dir = path
        self.head_dir = self.prediction_dir = self.targets_path = self.anomalies_dir = None
        self.validation_box.hide()
        self._load_stack_layers(path)

    def _load_stack_layers(self, path):
        self.add_results([(os.path.join(path, "stack.tif"), tr("Aligned stack")),
                          (os.path.join(path, "valid.tif"), tr("Validity mask"))])

    def set_head(self, path):
        """The current head (its prediction and targets cleared); its validation shown. Returns the summary."""
        self.head_dir = path
        self.prediction_dir = self.targets_path = None
        self.models.select_model_of_head(path)
        return self.show_validation(path)

    def set_prediction(self, path):
        self.prediction_dir = path
        self.targets_path = None
        self.add_results([(os.path.join(path, "prospectivity.tif"), tr("Prospectivity"), "prospectivity.qml", True),
                          (os.path.join(path, "uncertainty.tif"), tr("Prospectivity uncertainty"), "uncertainty.qml",
                           False),
                          (os.path.join(path, "contributions.tif"), tr("Source contributions"), None, False)])

    def set_targets(self, path):
        self.targets_path = path
        layer = QgsVectorLayer(f"{path}|layername=targets", tr("Targets"), "ogr")
        self.add_layers([(layer, "targets.qml", True)])
        return layer

    def set_anomalies(self, path):
        self.anomalies_dir = path
        self.add_results([(os.path.join(path, "anomaly_score.tif"), tr("Geochemical anomaly score"), "anomaly.qml",
                           True),
                          (os.path.join(path, "mahalanobis.tif"), tr("Robust Mahalanobis distance"), "anomaly.qml",
                           False)])

    # ---- opening results again (after a restart) ----

    def choose_results(self):
        folder = QFileDialog.getExistingDirectory(self, tr("Open an MPM Studio results folder"),
                                                  self.output.filePath() or os.path.expanduser("~"))
        return self.open_results(folder) if folder else []

    def open_results(self, folder):
        """Open a stack / head / prediction / anomalies / model folder, or an output folder holding such folders
        (and targets .gpkg): the panel's state follows (the next steps' buttons enable) and the layers load.

        A head brings its stack (recorded in its card, or a sibling folder with the same layers) and a
        prediction its head, when the panel has none that fits. Returns [(kind, path)] opened."""
        if self.task is not None:
            self._message(tr("A run is in progress; wait for it to finish or cancel it."), Qgis.Warning)
            return []
        folder = os.path.abspath(folder)
        found = find_results(folder)
        if not found:
            self._message(tr("No MPM Studio results in {0}: choose a folder with stack.json (a stack), "
                             "head_card.json (a head) or prospectivity.tif (a prediction), or the output folder "
                             "holding them.").format(folder), Qgis.Warning)
            return []
        opened = []
        for kind, path in found:
            opened += self._open_one(kind, path)
        self.output.setFilePath(os.path.dirname(folder) if result_kind(folder) else folder)
        self.update_buttons()
        names = {"stack": tr("stack"), "head": tr("head"), "prediction": tr("prediction"), "targets": tr("targets"),
                 "anomalies": tr("anomalies"), "model": tr("model"), "validation": tr("validation")}
        self.status.setText(tr("Opened {0} from {1}").format(", ".join(names[k] for k, _p in opened), folder))
        return opened

    def _open_one(self, kind, path):
        opened = []
        if kind == "stack":
            if _same_path(self.stack_dir, path):
                self._load_stack_layers(path)  # again, if they were removed
            else:
                self.set_stack(path)
            opened.append((kind, path))
        elif kind == "head":
            card = _read_json(os.path.join(path, "head_card.json")) or {}
            want = card.get("stack_signature")
            if not self.stack_dir or (want and _signature(self.stack_dir) != want):
                stack = self._stack_for(path, card)
                if stack:
                    opened += self._open_one("stack", stack)
            self.set_head(path)
            opened.append((kind, path))
        elif kind == "prediction":
            head_card = (_read_json(os.path.join(path, "predict.json")) or {}).get("head")
            head = os.path.dirname(head_card) if head_card else None
            if head and _has(head, "head_card.json") and not _same_path(self.head_dir, head):
                opened += self._open_one("head", head)
            if not self.stack_dir:
                stack = self._sibling_stack(path)
                if stack:
                    opened += self._open_one("stack", stack)
            self.set_prediction(path)
            opened.append((kind, path))
        elif kind == "targets":
            self.set_targets(path)
            opened.append((kind, path))
        elif kind == "anomalies":
            stack = (_read_json(os.path.join(path, "anomalies.json")) or {}).get("stack")
            if not self.stack_dir and stack and _has(stack, "stack.json"):
                opened += self._open_one("stack", stack)
            self.set_anomalies(path)
            opened.append((kind, path))
        elif kind == "validation":  # a map validated with mpm:validate: its curves beside the map
            widget = self.plots_widget()
            if widget is not None and widget.load_validation(path):
                self.show_plots()
            elif widget is None:
                self._message(tr("Validation curves need the Python package pyqtgraph; see {0}").format(
                    os.path.join(path, "validation.png")), Qgis.Info)
            opened.append((kind, path))
        elif kind == "model":
            from .models_panel import card_of

            if card_of(path) is not None:
                self.models.add_model(path)
            widget = self.plots_widget()
            losses = os.path.join(path, "losses.csv")
            if widget is not None and widget.load_losses(losses, tr("Pretraining loss of {0} (running mean)").format(
                    os.path.basename(path))):
                widget.tabs.setCurrentIndex([k for k, _l in plots.PLOTS].index("losses"))
                self.show_plots()
            elif widget is None:
                self._message(tr("Loss curves need the Python package pyqtgraph; see {0}").format(
                    os.path.join(path, "losses.png")), Qgis.Info)
            opened.append((kind, path))
        return opened

    def _stack_for(self, head_dir, card):
        """The stack a head was trained on: the one its card names, else a sibling folder with its layers."""
        want = card.get("stack_signature")
        named = card.get("stack")
        if named and _has(named, "stack.json") and (not want or _signature(named) == want):
            return named
        return self._sibling_stack(head_dir, want)

    @staticmethod
    def _sibling_stack(path, signature=None):
        parent = os.path.dirname(os.path.abspath(path))
        try:
            names = sorted(os.listdir(parent))
        except OSError:
            return None
        stacks = [os.path.join(parent, n) for n in names if _has(os.path.join(parent, n), "stack.json")]
        stacks = [s for s in stacks if not signature or _signature(s) == signature]
        return max(stacks, key=os.path.getmtime) if stacks else None

    def follow_project(self, *_):
        """A project opened, saved or closed: the default output folder follows it, unless the user chose one."""
        current = self.output.filePath().strip()
        if not current or _same_path(current, self._auto_output):
            self._auto_output = default_output_folder()
            self.output.setFilePath(self._auto_output)

    def show_validation(self, head_dir):
        """The validation plot and a one-line ROC-AUC summary of head_dir's cross-validation; the summary."""
        try:
            with open(os.path.join(head_dir, "head_card.json")) as f:
                card = json.load(f)
        except (OSError, ValueError):
            card = {}
        cv = card.get("cv") or {}
        parts = [f"{tr(label)} {cv[key]['roc_auc']:.2f}" for key, label in CV_METHODS if key in cv]
        summary = tr("ROC-AUC {0}").format(" | ".join(parts)) if parts else tr("No validation report for this head.")
        emb = card.get("embeddings")
        if emb:  # the ablation, said plainly: does the foundation model help on these data?
            from .algorithms.finetune import embeddings_sentence

            summary += "\n" + embeddings_sentence(emb)
        self.validation_summary.setText(summary)
        self.validation_summary.setToolTip("\n".join(
            tr("{0}: ROC-AUC {1:.3f}, PR-AUC {2:.4f} (chance {3:.5f}), top 10 % of the area captures {4:.0%}").format(
                tr(label), cv[key]["roc_auc"], cv[key]["pr_auc"], cv[key].get("positive_rate", float("nan")),
                cv[key].get("captured_at_10pct_area", float("nan")))
            for key, label in CV_METHODS if key in cv))
        png = os.path.join(head_dir, "validation.png")
        self._plot_path = png if os.path.exists(png) else None
        drawn = False
        if plots.HAVE_PYQTGRAPH:
            widget = self.plots_widget()
            drawn = widget.load_validation(head_dir)
            self._show_head_losses(head_dir)
            if drawn:
                self.show_plots()
        if drawn:  # the curves are beside the map: no picture in the panel
            self.validation_plot.clear()
            self.validation_plot.hide()
            self.plots_message.hide()
        else:
            pixmap = QPixmap(png) if self._plot_path else QPixmap()
            if pixmap.isNull():
                self.validation_plot.clear()
            else:
                self.validation_plot.setPixmap(pixmap.scaledToWidth(min(pixmap.width(), 380),
                                                                    Qt.SmoothTransformation))
                self.validation_plot.setToolTip(png)
            self.validation_plot.show()
            if not plots.HAVE_PYQTGRAPH:
                self.plots_message.setText(tr("Interactive plots need the Python package pyqtgraph ({0}); showing "
                                              "validation.png instead.").format(plots.IMPORT_ERROR or ""))
                self.plots_message.show()
            else:
                self.plots_message.hide()
        self.show_plots_button.setEnabled(drawn)
        self.open_plot_button.setEnabled(self._plot_path is not None)
        self.validation_box.show()
        return summary

    # ---- the plots beside the map ----

    def plots_widget(self):
        """The PlotsWidget of the 'MPM Studio plots' panel (made and docked below the map at first use), or None
        without pyqtgraph."""
        if not plots.HAVE_PYQTGRAPH:
            return None
        if self.plots is None:
            self.plots = plots.PlotsWidget()
            self.plots.exported.connect(lambda path: self.status.setText(tr("Plot saved to {0}").format(path)))
            self.plots_dock = QgsDockWidget(tr("MPM Studio plots"), self.parent())
            self.plots_dock.setObjectName("mpmStudioPlotsDock")
            self.plots_dock.setWidget(self.plots)
            try:
                self.iface.addDockWidget(Qt.BottomDockWidgetArea, self.plots_dock)
            except AttributeError:  # no main window (a stub iface)
                pass
            self.plots_dock.hide()
        return self.plots

    def show_plots(self):
        if self.plots_widget() is not None:
            self.plots_dock.show()
            self.plots_dock.raise_()

    def remove_plots(self):
        """Take the plots panel out of the main window (the plugin unloads)."""
        if self.plots_dock is not None:
            try:
                self.iface.removeDockWidget(self.plots_dock)
            except AttributeError:
                pass
            self.plots_dock.deleteLater()
            self.plots_dock = self.plots = None

    def _show_head_losses(self, head_dir):
        """Loss curves for a head: its own losses.csv if fine-tuning wrote one, else its encoder's pretraining
        losses (the shipped model's, when the head was fine-tuned on it)."""
        path = os.path.join(head_dir, "losses.csv")
        if os.path.exists(path):
            return self.plots.load_losses(path, tr("Head training loss"))
        card = _read_json(os.path.join(head_dir, "head_card.json")) or {}
        encoder = card.get("encoder") or {}
        from .engine.foundation.features import DEFAULT_MODEL  # light: no heavy import at module level

        model_card = _read_json(os.path.join(DEFAULT_MODEL, "model_card.json")) or {}
        losses = os.path.join(DEFAULT_MODEL, "losses.csv")
        if encoder.get("sha256") and encoder.get("sha256") == model_card.get("sha256") and os.path.exists(losses):
            return self.plots.load_losses(losses, tr("Pretraining loss of the encoder {0} (running mean)").format(
                encoder.get("name", "")))
        return self.plots.load_losses("", "")

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
        """(layer, QML style or None, visible) into the 'MPM Studio' group, in order, above what is there.

        Each is marked as a result (never offered as an input); a file already loaded in the group is not
        loaded twice (results opened again)."""
        project = QgsProject.instance()
        root = project.layerTreeRoot()
        group = root.findGroup(GROUP_NAME) or root.insertGroup(0, GROUP_NAME)
        loaded = {n.layer().source() for n in group.findLayers() if n.layer() is not None}
        for layer, style, visible in reversed(layers):
            if not layer.isValid():
                self._message(tr("Could not load {0} as a layer").format(layer.source()), Qgis.Warning)
                continue
            if layer.source() in loaded:
                continue
            layer.setCustomProperty(RESULT_PROPERTY, True)
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
        self.refresh_layers()

    def _message(self, text, level):
        QgsMessageLog.logMessage(text, LOG_TAG, level)
        try:
            self.iface.messageBar().pushMessage(tr("MPM Studio"), text, level=level)
        except AttributeError:  # no message bar (headless tests with a stub iface)
            pass
