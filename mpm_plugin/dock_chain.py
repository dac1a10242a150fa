"""Running the chain from the panel: each step's parameters, one background-task path for every Processing
algorithm (progress, Cancel, the engine's message on failure), and what a finished step leaves on the panel
(the folders the next steps read) and in the project (its layers, styled)."""

import os
import traceback
from functools import partial

from qgis.core import (Qgis, QgsApplication, QgsMessageLog, QgsProcessingAlgRunnerTask, QgsProcessingContext,
                       QgsProcessingFeedback, QgsProject, QgsRasterLayer, QgsVectorLayer)
from qgis.PyQt.QtCore import QUrl, pyqtSlot
from qgis.PyQt.QtWidgets import QCheckBox, QDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox

from .dock_inputs import PARAM_OF_SOURCE, SOURCES, source_label
from .dock_layers import LOG_TAG, add_to_group, band_names, raster_layers
from .dock_results import fresh_path, has, read_json, remember_chain, same_path
from .engine.operations import get as operation
from .engine.prospectivity.artifacts import HEAD_CARD, PREDICTION_MARKER, Prediction
from .i18n import tr
from .settings import RunSettings, SettingsDialog



class ChainRunner:
    """Mixin of MPMDock: the chain's buttons, their parameters and the background runs."""

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
        # the chain's own settings take their defaults and help from the operations' declarations
        value, compare = operation("targets").param("value"), operation("finetune").param("compare_embeddings")
        self.capture = QSpinBox()
        self.capture.setObjectName("mpm_capture")
        self.capture.setRange(1, int(round(100 * value.max)))
        self.capture.setValue(int(round(100 * value.default)))
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
        self.compare_embeddings = QCheckBox(tr(compare.label))
        self.compare_embeddings.setObjectName("mpm_compare_embeddings")
        self.compare_embeddings.setChecked(bool(compare.default))
        self.compare_embeddings.setToolTip(tr(compare.help))
        grid.addWidget(self.compare_embeddings, 2, 1)
        return box

    # ---- the parameters of each step ----

    def _output(self, name):
        """A fresh path for a step's output inside the chosen output folder; None (and a warning) without one."""
        folder = self.output.filePath().strip()
        if not folder:
            self._message(tr("Choose an output folder first."), Qgis.MessageLevel.Warning)
            return None
        return fresh_path(folder, name)

    def align_inputs(self):
        """mpm:alignstack's parameters but the output: the picked layers, deposits, area, pixel size, and the
        layer types and class fields chosen in the preview (dock_preview.py; Preview reads the same)."""
        params = {PARAM_OF_SOURCE[key]: self.selected_ids(key) for key, _l, _a in SOURCES}
        if self.deposits.currentLayer() is not None:
            params["DEPOSITS"] = self.deposits.currentLayer().id()
        if self.aoi.currentLayer() is not None:
            params["AOI"] = self.aoi.currentLayer().id()
        params["RESOLUTION"] = self.resolution.value()
        params.update(self.choice_parameters())
        return params

    def align_parameters(self):
        params = self.align_inputs()
        params["OUTPUT"] = self._output("stack")
        return params

    def stack_manifest(self):
        """stack.json of the current stack, or None."""
        if not has(self.stack_dir, "stack.json"):
            return None
        return read_json(os.path.join(self.stack_dir, "stack.json"))

    def update_buttons(self):
        """Each step's button is enabled when no run is going on and the step's inputs exist."""
        idle = self.task is None
        manifest = self.stack_manifest()
        has_stack = manifest is not None
        has_deposits = has_stack and bool((manifest.get("deposits") or {}).get("used"))
        has_geochem = has_stack and any(b.get("source") == "geochemistry" for b in manifest.get("bands", []))
        self.align_button.setEnabled(idle)
        self.preview_button.setEnabled(idle)
        self.finetune_button.setEnabled(idle and has_deposits)
        self.predict_button.setEnabled(idle and has_stack and has(self.head_dir, HEAD_CARD))
        self.targets_button.setEnabled(idle and has_stack and has(self.prediction_dir, PREDICTION_MARKER))
        self.anomalies_button.setEnabled(idle and has_geochem)
        self.models.pretrain_button.setEnabled(idle and has_stack)
        self.capture.setEnabled(self.targets_button.isEnabled())
        self.cancel_button.setEnabled(not idle)

    def run_align(self):
        """Start mpm:alignstack as a background task; returns the task (tests wait on it)."""
        params = self.align_parameters()
        if not any(params[PARAM_OF_SOURCE[k]] for k, _l, _a in SOURCES):
            self._message(tr("Pick at least one layer in a source section."), Qgis.MessageLevel.Warning)
            return None
        if params["OUTPUT"] is None:
            return None
        return self.run_algorithm("mpm:alignstack", params, self._aligned, tr("Align"), tr("Aligning..."))

    def finetune_parameters(self):
        params = {"STACK": self.stack_dir, "VALIDATE": True, "MODEL": self.models.current_model() or "",
                  "COMPARE_EMBEDDINGS": self.compare_embeddings.isChecked(), "OUTPUT": self._output("head")}
        # another deposit type picked after Align: train on it, on the same stack (no re-alignment)
        layer = self.deposits.currentLayer()
        aligned = ((read_json(os.path.join(self.stack_dir or "", "stack.json")) or {}).get("deposits") or {}).get("path")
        if layer is not None and not same_path(layer.source().split("|")[0], aligned):
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
        return dialog.exec() == QDialog.DialogCode.Accepted

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
            self._message(tr("A run is in progress.") if self.task is not None else hint, Qgis.MessageLevel.Warning)
            return False
        return True

    # ---- running a step (one path for every algorithm) ----

    def run_algorithm(self, alg_id, params, on_success, what, busy_text):
        """Run a Processing algorithm as a background task; on success on_success(results) shows its results.

        Returns the task, or None when nothing was started. self.last_result becomes (ok, results) when it ends.
        """
        if self.task is not None:
            self._message(tr("A run is in progress; wait for it to finish or cancel it."), Qgis.MessageLevel.Warning)
            return None
        if any(v is None for v in params.values()):
            return None
        alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
        if alg is None:
            self._message(tr("The Processing algorithm {0} is not available; enable the MPM Studio plugin's "
                             "provider in Processing settings.").format(alg_id), Qgis.MessageLevel.Critical)
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
            if lines:  # the whole run log, for details
                QgsMessageLog.logMessage("\n".join(lines), LOG_TAG, Qgis.MessageLevel.Info)
            if self._feedback is not None and self._feedback.isCanceled():
                self._message(tr("{0} cancelled; nothing was written.").format(what), Qgis.MessageLevel.Info)
                self.status.setText(tr("{0} cancelled; nothing was written.").format(what))
            else:  # the engine's actionable message is the last line of the log
                reason = lines[-1].strip().rstrip(".") if lines else tr("no result")
                self._message(tr("{0} failed: {1}").format(what, reason), Qgis.MessageLevel.Critical)
                self.status.setText(tr("{0} failed: {1}. Nothing was written.").format(what, reason))
            self.last_result = (False, {})
        else:
            try:
                on_success(results)
                self.progress.setValue(100)
                self.last_result = (True, results)
            except Exception as exc:  # noqa: BLE001 (a slot must not raise: report it instead)
                QgsMessageLog.logMessage(traceback.format_exc(), LOG_TAG, Qgis.MessageLevel.Critical)
                self._message(tr("{0} finished but its results could not be shown: {1}").format(what, exc),
                              Qgis.MessageLevel.Critical)
                self.status.setText(tr("{0} finished; results are in {1}").format(what, results.get("OUTPUT", "")))
                self.last_result = (False, results)
        self.update_buttons()

    def _aligned(self, results):
        self.set_stack(results["OUTPUT"])
        self.status.setText(tr("Stack written to {0}").format(results["OUTPUT"]))

    def _finetuned(self, results):
        self.set_head(results["OUTPUT"])  # its summary shows once, in the validation box
        self.status.setText(tr("Head written to {0}").format(self.head_dir))

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


class ChainResults:
    """Mixin of MPMDock: what each step leaves on the panel and in the project (a run, or results opened again)."""

    def set_stack(self, path):
        """The current stack (what follows it is cleared: it belonged to the old one); its layers loaded."""
        self.stack_dir = path
        self.head_dir = self.prediction_dir = self.targets_path = self.anomalies_dir = None
        self.validation_box.hide()
        self._load_stack_layers(path)
        self.remember()

    def remember(self):
        """The chain's folders into the project (saved with it; see dock_open.restore_chain)."""
        if getattr(self, "_restoring", False):
            return
        remember_chain({"stack": self.stack_dir, "head": self.head_dir, "prediction": self.prediction_dir,
                        "targets": self.targets_path, "anomalies": self.anomalies_dir})

    def forget(self):
        """No chain (another project): the buttons after Align disable."""
        self.stack_dir = self.head_dir = self.prediction_dir = self.targets_path = self.anomalies_dir = None
        self.validation_box.hide()
        self.update_buttons()

    def _load_stack_layers(self, path):
        """Loaded unticked: they are there to inspect, not to cover the map (a magenta RGB, a black mask)."""
        self.add_results([(os.path.join(path, "stack.tif"), tr("Aligned stack"), None, False),
                          (os.path.join(path, "valid.tif"), tr("Validity mask"), None, False)])

    def set_head(self, path):
        """The current head (its prediction and targets cleared); its validation shown. Returns the summary."""
        self.head_dir = path
        self.prediction_dir = self.targets_path = None
        self.remember()
        self.models.select_model_of_head(path)
        return self.show_validation(path)

    def set_prediction(self, path):
        self.prediction_dir = path
        self.targets_path = None
        self.remember()
        pred = Prediction(path)
        contributions = pred.path("contributions")
        per_source = [(contributions, tr("Contribution of {0}").format(source_label(name)), "contribution.qml", False,
                       band)
                      for band, name in enumerate(band_names(contributions) if os.path.exists(contributions) else [], 1)]
        self.add_results([(pred.path("prospectivity"), tr("Prospectivity"), "prospectivity.qml", True),
                          (pred.path("uncertainty"), tr("Prospectivity uncertainty"), "uncertainty.qml",
                           False),
                          (pred.path("coverage"), tr("Layers with data"), "coverage.qml", False)] + per_source)

    def set_targets(self, path):
        self.targets_path = path
        self.remember()
        layer = QgsVectorLayer(f"{path}|layername=targets", tr("Targets"), "ogr")
        self.add_layers([(layer, "targets.qml", True)])
        return layer

    def set_anomalies(self, path):
        self.anomalies_dir = path
        self.remember()
        score = os.path.join(path, "anomaly_score.tif")
        top = os.path.join(path, "top_anomalies.csv")
        layers = []
        if os.path.exists(top) and os.path.exists(score):  # the strongest anomalies as points, on top
            crs = QgsRasterLayer(score, "crs").crs().authid()
            uri = f"{QUrl.fromLocalFile(top).toString()}?type=csv&xField=x&yField=y&crs={crs}&detectTypes=yes"
            layers.append((QgsVectorLayer(uri, tr("Top anomalies"), "delimitedtext"), "top_anomalies.qml", True))
        layers += raster_layers([(score, tr("Geochemical anomaly score"), "anomaly.qml", True),
                                 (os.path.join(path, "mahalanobis.tif"), tr("Robust Mahalanobis distance"),
                                  "anomaly.qml", False)])
        self.add_layers(layers)

    def add_results(self, items):
        """Raster files as layers in the group: (path, name[, QML style in resources/[, visible]]); missing paths skipped."""
        self.add_layers(raster_layers(items))

    def add_layers(self, layers):
        """(layer, QML style or None, visible) into the 'MPM Studio' group, in order, above what is there (marked as
        results, never offered as inputs; a file already in the group is not loaded twice)."""
        add_to_group(layers, lambda text: self._message(text, Qgis.MessageLevel.Warning),
                     keep_above=self.deposits.currentLayer())
        self.refresh_layers()
