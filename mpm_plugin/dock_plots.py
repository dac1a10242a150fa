"""The panel's validation box and the 'MPM Studio plots' panel beside the map (plots.py, pyqtgraph; without it
the panel shows validation.png)."""

import os

from qgis.core import Qgis
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import Qt, QUrl
from qgis.PyQt.QtGui import QDesktopServices, QPixmap
from qgis.PyQt.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from . import plots
from .dock_results import head_card
from .i18n import tr

# method key in the cross-validation report -> label in the validation summary
CV_METHODS = (("head", "head"), ("head_with_embeddings", "head + embeddings"), ("head_bands_only", "head, bands only"),
              ("random_forest", "random forest"), ("weights_of_evidence", "weights of evidence"))


def fold_note(report):
    """' (folds 0.66-0.97)' for the summary line; empty with fewer than two folds."""
    spread = plots.fold_range(report)
    return tr(" (folds {0:.2f}-{1:.2f})").format(*spread) if spread else ""


class ValidationView:
    """Mixin of MPMDock: the validation summary, the fallback picture and the plots panel."""

    def _validation_box(self):
        self.validation_box = QGroupBox(tr("Validation (spatial cross-validation)"))
        self.validation_box.setObjectName("mpm_validation")
        v = QVBoxLayout(self.validation_box)
        self.validation_summary = QLabel()
        self.validation_summary.setObjectName("mpm_validation_summary")
        self.validation_summary.setWordWrap(True)
        self.validation_summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.validation_plot = QLabel()
        self.validation_plot.setObjectName("mpm_validation_plot")
        self.validation_plot.setAlignment(Qt.AlignmentFlag.AlignCenter)
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

    def show_validation(self, head_dir):
        """The validation plot and a one-line ROC-AUC summary of head_dir's cross-validation; the summary."""
        card = head_card(head_dir)
        cv = card.get("cv") or {}
        parts = [f"{tr(label)} {cv[key]['roc_auc']:.2f}{fold_note(cv[key])}" for key, label in CV_METHODS if key in cv]
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
                                                                    Qt.TransformationMode.SmoothTransformation))
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
                self.iface.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.plots_dock)
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

    def show_model_losses(self, path):
        """A model folder's pretraining loss curves beside the map (or a note where losses.png is)."""
        widget = self.plots_widget()
        losses = os.path.join(path, "losses.csv")
        if widget is not None and widget.load_losses(losses, tr("Pretraining loss of {0} (running mean)").format(
                os.path.basename(path))):
            widget.tabs.setCurrentIndex([k for k, _l in plots.PLOTS].index("losses"))
            self.show_plots()
        elif widget is None:
            self._message(tr("Loss curves need the Python package pyqtgraph; see {0}").format(
                os.path.join(path, "losses.png")), Qgis.MessageLevel.Info)

    def show_validation_folder(self, path):
        """A map validated with mpm:validate: its curves beside the map (or a note where validation.png is)."""
        widget = self.plots_widget()
        if widget is not None and widget.load_validation(path):
            self.show_plots()
        elif widget is None:
            self._message(tr("Validation curves need the Python package pyqtgraph; see {0}").format(
                os.path.join(path, "validation.png")), Qgis.MessageLevel.Info)

    def _show_head_losses(self, head_dir):
        """Loss curves for a head: its own losses.csv if fine-tuning wrote one, else its encoder's pretraining
        losses (the shipped model's, when the head was fine-tuned on it)."""
        path = os.path.join(head_dir, "losses.csv")
        if os.path.exists(path):
            return self.plots.load_losses(path, tr("Head training loss"))
        encoder = head_card(head_dir).get("encoder") or {}
        from .engine.foundation.features import DEFAULT_MODEL  # light: no heavy import at module level
        from .models_panel import card_of

        model_card = card_of(DEFAULT_MODEL) or {}
        losses = os.path.join(DEFAULT_MODEL, "losses.csv")
        if encoder.get("sha256") and encoder.get("sha256") == model_card.get("sha256") and os.path.exists(losses):
            return self.plots.load_losses(losses, tr("Pretraining loss of the encoder {0} (running mean)").format(
                encoder.get("name", "")))
        return self.plots.load_losses("", "")

    def open_plot(self):
        if self._plot_path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self._plot_path))
