"""The panel's Foundation model section: which pretrained model the chain uses, its card, and
"Pretrain on my data" (adapt the chosen model to the aligned stack, label-free).

A head only works with the model it was fine-tuned on, so the model is a choice of the whole chain:
Fine-tune, Anomalies and Predict all take it (Predict takes the head's own model when it is listed).
Models listed: the ones shipped in models/, those found in the output folder (pretrained here), and
any folder the user added (remembered in the QGIS settings).
"""

import os

from qgis.core import Qgis, QgsSettings
from qgis.PyQt.QtWidgets import (QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QPushButton, QSpinBox,
                                 QTextBrowser)

from . import PLUGIN_ROOT
from .i18n import tr

MODELS_DIR = os.path.join(PLUGIN_ROOT or os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
SETTINGS_KEY = "mpm_studio/models"


def card_of(folder):
    """The folder's foundation model card (engine.foundation.model.weights.read_card), or None; no weights read."""
    from .engine.core.errors import MPMError
    from .engine.foundation.model.weights import read_card

    if not os.path.isfile(os.path.join(folder, "model_card.json")):
        return None
    try:
        return read_card(folder)
    except MPMError:
        return None


def model_folders(folder):
    """Foundation model folders directly inside `folder`, newest first."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = [os.path.join(folder, n) for n in names if card_of(os.path.join(folder, n)) is not None]
    return sorted(found, key=os.path.getmtime, reverse=True)


def describe(folder):
    """Markdown shown for a model: its sha256 check, then its MODEL_CARD.md (or the card's key facts)."""
    from .engine.core.errors import MPMError
    from .engine.foundation.model.weights import read_card, verify_weights

    try:
        card = read_card(folder)
        verify_weights(card)
        check = tr("Weights verified: sha256 {0}... matches the card.").format(card["sha256"][:12])
    except MPMError as exc:
        return "**" + tr("This model cannot be used: {0}").format(exc) + "**"
    try:
        with open(os.path.join(folder, "MODEL_CARD.md"), encoding="utf-8") as f:
            body = f.read()
    except OSError:
        body = "- " + tr("Sources: {0}").format(", ".join(card.get("sources", [])))
    lines = body.splitlines()
    if lines and lines[0].startswith("# "):  # the card's title: bold, not a heading the size of the panel
        lines[0] = f"**{lines[0][2:].strip()}**"
    return f"{check}\n\n" + "\n".join(lines)


class ModelBox(QGroupBox):
    """Model picker, its card, and the Pretrain on my data button (run through the dock's task runner)."""

    def __init__(self, dock, parent=None):
        super().__init__(tr("Foundation model"), parent)
        self.dock = dock
        self._shown_model = None  # the model whose card is shown
        form = QFormLayout(self)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        row = QHBoxLayout()
        self.combo = QComboBox()
        self.combo.setObjectName("mpm_model")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(14)  # long folder names must not widen the panel
        self.combo.setToolTip(tr("The pretrained encoders the chain uses. A head only works with the model it was "
                                 "fine-tuned on."))
        self.combo.currentIndexChanged.connect(self.show_card)
        self.browse = QPushButton(tr("Add..."))
        self.browse.setObjectName("mpm_model_add")
        self.browse.setToolTip(tr("Add a model folder (one holding model_card.json)"))
        self.browse.clicked.connect(self.choose_model)
        row.addWidget(self.combo, 1)
        row.addWidget(self.browse)
        form.addRow(tr("Model"), row)
        self.card = QTextBrowser()
        self.card.setObjectName("mpm_model_card")
        self.card.setOpenExternalLinks(False)
        self.card.setMaximumHeight(150)
        form.addRow(self.card)
        steps = QHBoxLayout()
        self.steps1 = QSpinBox()
        self.steps1.setObjectName("mpm_pretrain_steps1")
        self.steps1.setRange(0, 1000000)
        self.steps1.setValue(300)
        self.steps1.setToolTip(tr("Stage 1: each source's encoder rebuilds hidden patches of its own layers"))
        self.steps2 = QSpinBox()
        self.steps2.setObjectName("mpm_pretrain_steps2")
        self.steps2.setRange(0, 1000000)
        self.steps2.setValue(150)
        self.steps2.setToolTip(tr("Stage 2: the fusion rebuilds a hidden source from the others"))
        steps.addWidget(self.steps1)
        steps.addWidget(self.steps2)
        form.addRow(tr("Steps (stage 1, stage 2)"), steps)
        self.pretrain_button = QPushButton(tr("Pretrain on my data"))
        self.pretrain_button.setObjectName("mpm_pretrain")
        self.pretrain_button.setToolTip(tr(
            "Adapt the chosen model to the aligned stack without labels (deposits are never read). The new model "
            "is written to the output folder, selected, and its loss curves shown; fine-tune on it next."))
        self.pretrain_button.clicked.connect(self.run_pretrain)
        form.addRow(self.pretrain_button)
        self.refresh()

    # ---- the list of models ----

    def _remembered(self):
        value = QgsSettings().value(SETTINGS_KEY, [])
        return [value] if isinstance(value, str) else list(value or [])

    def refresh(self, select=None):
        """Rebuild the list (shipped, output folder, added); keep the selection, or select `select`."""
        keep = os.path.abspath(select) if select else self.current_model()
        entries = []
        for folder in model_folders(MODELS_DIR):
            entries.append((tr("{0} (shipped)").format(os.path.basename(folder)), folder))
        output = self.dock.output.filePath().strip() if self.dock is not None else ""
        for folder in model_folders(output) if output else []:
            entries.append((os.path.basename(folder), folder))
        for folder in self._remembered():
            if card_of(folder) is not None:
                entries.append((f"{os.path.basename(folder)} ({os.path.dirname(folder)})", folder))
        seen = set()
        self.combo.blockSignals(True)
        self.combo.clear()
        for label, folder in entries:
            folder = os.path.abspath(folder)
            if folder not in seen:
                seen.add(folder)
                self.combo.addItem(label, folder)
        from .engine.core.shipped import FOUNDATION_MODEL  # not engine.foundation.features: that imports rasterio (engine/core/shipped.py)

        default = os.path.abspath(os.path.join(MODELS_DIR, os.path.basename(FOUNDATION_MODEL)))
        index = self.combo.findData(keep) if keep else -1
        self.combo.setCurrentIndex(index if index >= 0 else max(0, self.combo.findData(default)))
        self.combo.blockSignals(False)
        if self.current_model() != self._shown_model or select:  # describe() hashes the weights: not on every rescan
            self.show_card()

    def current_model(self):
        """The chosen model folder, or None when none is listed."""
        return self.combo.currentData() if self.combo.count() else None

    def add_model(self, folder, remember=True):
        """List `folder` (a foundation model folder) and select it; False, with a message, when it is not one."""
        folder = os.path.abspath(folder)
        if card_of(folder) is None:
            self.dock._message(tr("{0} holds no MPM Studio foundation model (model_card.json written by "
                                  "pretraining).").format(folder), Qgis.Warning)
            return False
        if remember and folder not in self._remembered():
            QgsSettings().setValue(SETTINGS_KEY, self._remembered() + [folder])
        self.refresh(select=folder)
        return True

    def choose_model(self):
        folder = QFileDialog.getExistingDirectory(self, tr("Choose a foundation model folder"),
                                                  self.dock.output.filePath() or MODELS_DIR)
        return self.add_model(folder) if folder else False

    def show_card(self, *_):
        folder = self._shown_model = self.current_model()
        self.card.setMarkdown(describe(folder) if folder else tr("No foundation model found in {0}.").format(MODELS_DIR))

    def model_for_head(self, head_dir):
        """The listed model the head was fine-tuned on (matched by its sha256), else the chosen one."""
        from .dock_results import head_card

        sha = (head_card(head_dir).get("encoder") or {}).get("sha256")
        for i in range(self.combo.count()):
            card = card_of(self.combo.itemData(i))
            if sha and card and card.get("sha256") == sha:
                return self.combo.itemData(i)
        return self.current_model()

    def select_model_of_head(self, head_dir):
        folder = self.model_for_head(head_dir)
        if folder:
            self.combo.setCurrentIndex(self.combo.findData(folder))

    # ---- pretraining ----

    def pretrain_parameters(self):
        return {"STACKS": [self.dock.stack_dir], "INIT_MODEL": self.current_model() or "",
                "STEPS1": self.steps1.value(), "STEPS2": self.steps2.value(), "OUTPUT": self.dock._output("model")}

    def run_pretrain(self):
        """mpm:pretrain, starting from the chosen model, on the current stack, into a new 'model' folder."""
        if not self.dock._needs(self.pretrain_button, tr("Align a stack first: pretraining learns from it.")):
            return None
        return self.dock.run_algorithm("mpm:pretrain", self.pretrain_parameters(), self._pretrained,
                                       tr("Pretrain"), tr("Pretraining on the aligned stack..."))

    def _pretrained(self, results):
        folder = results["OUTPUT"]
        self.dock._open_one("model", folder)  # listed, selected, its loss curves beside the map
        self.dock.status.setText(tr("Model written to {0} and selected; fine-tune on it next.").format(folder))
