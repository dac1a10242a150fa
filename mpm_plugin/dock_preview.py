"""The Align preview in the panel (issue 21, item 3): what Align would make of each picked layer, before anything
is written, as a table whose layer type and class field can be changed there.

Preview builds the parameters the Align button would pass (ChainRunner.align_inputs), reads them with mpm:alignstack
itself (so the StackSpec is the one Align builds) and runs the engine's preview (engine.data.preview, 10-20 s on
Kolari) in a background task. The table's choices go to the next Align run through the algorithm's LAYER_TYPES and
CLASS_FIELDS parameters, as long as the same layers are picked.
"""

from functools import partial

from qgis.core import (Qgis, QgsApplication, QgsMessageLog, QgsProcessingContext, QgsProcessingFeedback, QgsProject,
                       QgsTask)
from qgis.PyQt.QtGui import QBrush, QColor
from qgis.PyQt.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QLabel,
                                 QTableWidget, QTableWidgetItem, QVBoxLayout)

from .dock_inputs import PARAM_OF_SOURCE, SOURCES, source_label
from .dock_layers import LOG_TAG
from .i18n import tr

COLUMNS = ("Source", "Layer", "Kind", "Layer type", "Class field", "Classes", "Nodata", "Resolution", "Coverage %",
           "Warnings")
COL = {name: i for i, name in enumerate(COLUMNS)}
MAX_COLUMN_PX = 190  # widest column but the warnings (full texts in the tooltips)
WARNINGS_PX = 460  # the warnings column, wrapped to it
COMBO_MARGIN_PX = 40  # a combo's arrow and frame beside its text
WARNING_BRUSH = QBrush(QColor(255, 214, 153))  # rows with a warning: light orange, readable in light and dark themes


def pairs_text(choices):
    """'name=value, name=value' (the algorithm's LAYER_TYPES / CLASS_FIELDS) of {name: value}; '' when empty."""
    return ", ".join(f"{name}={value}" for name, value in sorted(choices.items()))


class PreviewDialog(QDialog):
    """The preview's table: one row per layer; layer type and class field are combos, rows with warnings highlighted.
    Accepted: choices() is what the next Align uses."""

    def __init__(self, preview, parent=None):
        from .engine.data.layers import vocabulary

        super().__init__(parent)
        self.setObjectName("mpm_preview_dialog")
        self.setWindowTitle(tr("Align preview"))
        self.preview = preview
        layout = QVBoxLayout(self)
        summary = QLabel(tr("Valid area: {0:.1f} % of the area (at least {1} of {2} layers with data); every layer "
                            "has data on {3:.1f} %. Change a layer type or class field below, then Use for Align.")
                         .format(100 * preview.valid_share, preview.min_layers, preview.n_layers,
                                 100 * preview.all_layers_share))
        summary.setWordWrap(True)
        layout.addWidget(summary)
        self.table = QTableWidget(len(preview.rows), len(COLUMNS))
        self.table.setObjectName("mpm_preview_table")
        self.table.setHorizontalHeaderLabels([tr(c) for c in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.type_boxes, self.field_boxes = {}, {}
        vocab = vocabulary()
        for r, row in enumerate(preview.rows):
            cells = {
                "Source": source_label(row.source), "Layer": row.name, "Kind": row.kind, "Layer type": row.layer_type,
                "Class field": row.class_field or "",
                "Classes": "" if row.class_count is None else str(row.class_count),
                "Nodata": "" if row.nodata is None else f"{row.nodata:g}",
                "Resolution": "" if row.native_res is None else f"{row.native_res:g}",
                "Coverage %": "" if row.coverage is None else f"{100 * row.coverage:.1f}",
                "Warnings": "\n".join(row.warnings),
            }
            tips = {"Layer": row.path, "Kind": tr("how detected: {0}").format(row.kind_reason)}
            for name, text in cells.items():
                item = QTableWidgetItem(text)
                item.setToolTip(tips.get(name) or "\n".join(row.warnings) or text)
                if row.warnings:
                    item.setBackground(WARNING_BRUSH)
                self.table.setItem(r, COL[name], item)
            if row.kind != "points":  # a sample layer's types are its elements'
                box = QComboBox()
                box.addItems(vocab.get(row.source, []))
                if box.findText(row.layer_type) < 0:
                    box.insertItem(0, row.layer_type)
                box.setCurrentText(row.layer_type)
                box.setToolTip(tr("What the layer measures, as the foundation model names it"))
                self.table.setCellWidget(r, COL["Layer type"], box)
                self.type_boxes[row.name] = box
            if row.class_fields:
                box = QComboBox()
                for field, count in row.class_fields.items():
                    box.addItem(tr("{0} ({1} values)").format(field, count), field)
                box.setCurrentIndex(max(0, box.findData(row.class_field)))
                box.setToolTip(tr("The text field holding the classes (rock units)"))
                self.table.setCellWidget(r, COL["Class field"], box)
                self.field_boxes[row.name] = box
        self.table.setWordWrap(True)
        self.table.resizeColumnsToContents()
        metrics = self.table.fontMetrics()
        for k in range(len(COLUMNS) - 1):  # a sample layer's 22 element types must not push the warnings away
            self.table.setColumnWidth(k, min(self.table.columnWidth(k), MAX_COLUMN_PX))
        for column, boxes in ((COL["Layer type"], self.type_boxes), (COL["Class field"], self.field_boxes)):
            for box in boxes.values():  # a combo shows its whole choice ("ROCK_NAME_ (23 values)")
                need = max(metrics.horizontalAdvance(box.itemText(i)) for i in range(box.count())) + COMBO_MARGIN_PX
                self.table.setColumnWidth(column, max(self.table.columnWidth(column), min(need, 2 * MAX_COLUMN_PX)))
        self.table.setColumnWidth(COL["Warnings"], WARNINGS_PX)
        self.table.horizontalHeader().setStretchLastSection(True)  # the warnings take what the dialog has left
        self.table.resizeRowsToContents()
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.use_button = buttons.addButton(tr("Use for Align"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setObjectName("mpm_preview_use")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        width = sum(self.table.columnWidth(k) for k in range(len(COLUMNS))) + self.table.verticalHeader().width()
        height = sum(self.table.rowHeight(r) for r in range(len(preview.rows)))
        self.resize(width + 60, min(height + 160, 800))

    def choices(self):
        """({layer name: layer type}, {layer name: class field}) as the table shows them."""
        return ({name: box.currentText() for name, box in self.type_boxes.items()},
                {name: box.currentData() for name, box in self.field_boxes.items()})

    def warned_rows(self):
        """Rows drawn highlighted (a warning)."""
        return [r for r in range(self.table.rowCount())
                if self.table.item(r, COL["Warnings"]).background() == WARNING_BRUSH]


class PreviewTask(QgsTask):
    """The engine's preview in a task thread: progress and Cancel through the Processing feedback, like Align's."""

    def __init__(self, alg, values, feedback, on_done):
        super().__init__(tr("MPM Studio: Align preview"))
        self.alg, self.values, self.feedback, self.on_done = alg, values, feedback, on_done
        self.preview = self.error = None
        feedback.progressChanged.connect(self.setProgress)

    def run(self):
        try:
            self.preview = self.alg.preview(self.values, self.feedback)
            return True
        except Exception as exc:  # noqa: BLE001 (reported in the main thread, in finished)
            self.error = exc
            return False

    def cancel(self):
        self.feedback.cancel()
        super().cancel()

    def finished(self, ok):  # noqa: N802 (Qt API name)
        self.on_done(self.error, self.preview)


class PreviewRunner:
    """Mixin of MPMDock: the Preview button's background run, its dialog, and the choices kept for Align."""

    def _init_preview(self):
        self.layer_choices = None  # (picked layer ids, {name: layer type}, {name: class field}) from the preview
        self.preview_dialog = None
        self.last_preview = None

    def picked_ids(self):
        """Every picked layer id per source: the choices hold for these layers only."""
        return tuple((key, tuple(self.selected_ids(key))) for key, _l, _a in SOURCES)

    def choice_parameters(self):
        """LAYER_TYPES and CLASS_FIELDS of the preview's choices, while the same layers are picked; else none."""
        if not self.layer_choices:
            return {}
        ids, types, fields = self.layer_choices
        if ids != self.picked_ids():
            self.layer_choices = None
            self._message(tr("Other layers are picked than in the preview: its layer types and class fields are not "
                             "used (run Preview again)."), Qgis.MessageLevel.Info)
            return {}
        return {"LAYER_TYPES": pairs_text(types), "CLASS_FIELDS": pairs_text(fields)}

    def run_preview(self):
        """The Align preview of the picked layers as a background task; returns the task (tests wait on it)."""
        from . import deps

        params = self.align_inputs()
        if not any(params[PARAM_OF_SOURCE[k]] for k, _l, _a in SOURCES):
            self._message(tr("Pick at least one layer in a source section."), Qgis.MessageLevel.Warning)
            return None
        if self.task is not None:
            self._message(tr("A run is in progress; wait for it to finish or cancel it."), Qgis.MessageLevel.Warning)
            return None
        alg = QgsApplication.processingRegistry().createAlgorithmById("mpm:alignstack")
        if alg is None:
            self._message(tr("The Processing algorithm {0} is not available; enable the MPM Studio plugin's "
                             "provider in Processing settings.").format("mpm:alignstack"), Qgis.MessageLevel.Critical)
            return None
        missing = deps.missing(deps.REQUIRED)
        if missing:
            self._message(deps.report(), Qgis.MessageLevel.Critical)
            return None
        deps.preload()
        self._context = QgsProcessingContext()
        self._context.setProject(QgsProject.instance())
        self._feedback = QgsProcessingFeedback()
        self._feedback.progressChanged.connect(self._set_progress)
        try:
            values = alg.preview_values(self.parameters_for("mpm:alignstack", params, alg), self._context,
                                        self._feedback)
        except Exception as exc:  # noqa: BLE001 (a layer that cannot be read: say which)
            self._message(tr("Preview failed: {0}").format(exc), Qgis.MessageLevel.Critical)
            return None
        self.last_result = self.last_preview = None
        self.progress.setValue(0)
        self.task = PreviewTask(alg, values, self._feedback, partial(self._previewed, self.picked_ids()))
        self.update_buttons()
        self.status.setText(tr("Reading the layers for the preview..."))
        QgsApplication.taskManager().addTask(self.task)
        return self.task

    def _previewed(self, ids, exception, preview=None):
        from .engine.core.errors import Cancelled, MPMError

        self.task = None
        self.update_buttons()
        if exception is not None or preview is None:
            if isinstance(exception, Cancelled) or (self._feedback is not None and self._feedback.isCanceled()):
                self.status.setText(tr("{0} cancelled; nothing was written.").format(tr("Preview")))
            else:
                if exception is not None and not isinstance(exception, MPMError):
                    QgsMessageLog.logMessage(repr(exception), LOG_TAG, Qgis.MessageLevel.Critical)
                reason = str(exception) if exception is not None else tr("no result")
                self._message(tr("Preview failed: {0}").format(reason), Qgis.MessageLevel.Critical)
                self.status.setText(tr("Preview failed: {0}").format(reason))
            self.last_result = (False, {})
            return
        self.progress.setValue(100)
        self.last_preview = preview
        warned = sum(1 for r in preview.rows if r.warnings)
        self.status.setText(tr("Preview: {0} layers, {1} with warnings; valid area {2:.1f} % of the area.").format(
            len(preview.rows), warned, 100 * preview.valid_share))
        if self.preview_dialog is not None:  # one preview open at a time: the newest
            self.preview_dialog.close()
            self.preview_dialog.deleteLater()
        dialog = PreviewDialog(preview, self)
        dialog.accepted.connect(partial(self._keep_choices, ids, dialog))
        self.preview_dialog = dialog
        dialog.show()
        self.last_result = (True, {"PREVIEW": preview})

    def _keep_choices(self, ids, dialog):
        types, fields = dialog.choices()
        self.layer_choices = (ids, types, fields)
        self.status.setText(tr("The next Align uses the preview's layer types and class fields."))
