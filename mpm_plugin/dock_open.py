"""Opening results again (Open results..., after a restart): the panel's chain follows the folders opened, so
the next steps' buttons enable, and their layers load styled."""

import os

from qgis.core import Qgis
from qgis.PyQt.QtWidgets import QFileDialog

from .dock_results import default_output_folder, find_results, has, head_card, head_fits, read_json, \
    remembered_chain, result_kind, same_path, sibling_stack, stack_for
from .engine.prospectivity.artifacts import HEAD_CARD, Prediction
from .i18n import tr


class ResultsOpener:
    """Mixin of MPMDock: Open results... and the default output folder following the project."""

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
            self._message(tr("A run is in progress; wait for it to finish or cancel it."), Qgis.MessageLevel.Warning)
            return []
        folder = os.path.abspath(folder)
        found = find_results(folder)
        if not found:
            self._message(tr("No MPM Studio results in {0}: choose a folder with stack.json (a stack), "
                             "head_card.json (a head) or prospectivity.tif (a prediction), or the output folder "
                             "holding them.").format(folder), Qgis.MessageLevel.Warning)
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
            if same_path(self.stack_dir, path):
                self._load_stack_layers(path)  # again, if they were removed
            else:
                self.set_stack(path)
            opened.append((kind, path))
        elif kind == "head":
            card = head_card(path)
            if not self.stack_dir or not head_fits(self.stack_dir, card):
                stack = stack_for(path, card)
                if stack:
                    opened += self._open_one("stack", stack)
            self.set_head(path)
            opened.append((kind, path))
        elif kind == "prediction":
            head = Prediction(path).head  # the head named by its predict.json
            if head and has(head, HEAD_CARD) and not same_path(self.head_dir, head):
                opened += self._open_one("head", head)
            if not self.stack_dir:
                stack = sibling_stack(path)
                if stack:
                    opened += self._open_one("stack", stack)
            self.set_prediction(path)
            opened.append((kind, path))
        elif kind == "targets":
            self.set_targets(path)
            opened.append((kind, path))
        elif kind == "anomalies":
            stack = (read_json(os.path.join(path, "anomalies.json")) or {}).get("stack")
            if not self.stack_dir and stack and has(stack, "stack.json"):
                opened += self._open_one("stack", stack)
            self.set_anomalies(path)
            opened.append((kind, path))
        elif kind == "validation":  # a map validated with mpm:validate: its curves beside the map
            self.show_validation_folder(path)
            opened.append((kind, path))
        elif kind == "model":
            from .models_panel import card_of

            if card_of(path) is not None:
                self.models.add_model(path)
            self.show_model_losses(path)
            opened.append((kind, path))
        return opened

    def restore_chain(self, *_):
        """A saved project opened: the chain it keeps (stack, head, prediction, targets, anomalies folders still on
        disk) is the panel's again; returns [(kind, path)] restored."""
        restored = []
        self._restoring = True  # the project already holds these entries: rewriting them would mark it modified
        try:
            for kind, path in remembered_chain():
                restored += self._open_one(kind, path)
        finally:
            self._restoring = False
        self.update_buttons()
        return restored

    def follow_project(self, *_):
        """A project opened, saved or closed: the default output folder follows it, unless the user chose one."""
        current = self.output.filePath().strip()
        if not current or same_path(current, self._auto_output):
            self._auto_output = default_output_folder()
            self.output.setFilePath(self._auto_output)
