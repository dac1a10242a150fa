"""Interactive plots beside the map (pyqtgraph): validation curves of a head, loss curves of a model.

PlotsWidget reads a head folder's validation.json (engine.prospectivity.validate: {"meta": ..., "methods": {method:
report}}, methods head / random_forest / weights_of_evidence) and draws, one tab each:
- success rate: deposits captured against the area flagged (the report's success_rate_curve), with
  the random diagonal;
- ROC: the same out-of-fold points read as true positive rate (deposits) against false positive rate
  (background pixels): the report scores deposits against the unlabelled background, so the
  success-rate curve is the ROC curve; baseline: the diagonal (ROC-AUC 0.5);
- precision-recall, rebuilt from those points: at the k-th deposit's score, recall k/n and precision
  k / (k + area * background); its area is the report's PR-AUC (average precision); baseline: the
  share of deposits among the samples (positive_rate);
- prediction-area (P-A) of one method (a selector: the thresholds of the methods are not on one
  scale): prediction rate and 100 % - area flagged against the score threshold, crossing at the
  report's pa_intersection;
and a loss tab from a losses.csv (stage, step, source, loss; written by pretraining into a model
folder): running mean of the loss per source and stage, log scale. Fine-tuning a head records no
loss history (engine/prospectivity/head.py), so for a head the tab shows the pretraining losses of its encoder.

Every tab exports to PNG (pyqtgraph's ImageExporter) from the Export button. Without pyqtgraph
HAVE_PYQTGRAPH is False and the panel shows validation.png instead.
"""

import csv
import json
import os

import numpy as np
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout,
                                 QWidget)

from .i18n import tr

try:
    import pyqtgraph as pg
    import pyqtgraph.exporters  # noqa: F401 (ImageExporter)

    HAVE_PYQTGRAPH, IMPORT_ERROR = True, None
except Exception as exc:  # noqa: BLE001 (missing, or built for another Qt: the panel falls back to the PNG)
    pg, HAVE_PYQTGRAPH, IMPORT_ERROR = None, False, str(exc)

# method key in validation.json -> legend label
METHODS = (("head", "MPM head"), ("head_with_embeddings", "head + embeddings"),
           ("head_bands_only", "head, bands only"), ("random_forest", "random forest"),
           ("weights_of_evidence", "weights of evidence"))
COLOURS = {"head": "#d62728", "head_with_embeddings": "#9467bd", "head_bands_only": "#9467bd",
           "random_forest": "#1f77b4", "weights_of_evidence": "#2ca02c"}
SOURCE_COLOURS = {"geology": "#8c564b", "geochemistry": "#2ca02c", "geophysics": "#1f77b4",
                  "remote_sensing": "#ff7f0e"}
LEGEND_COLUMN = 3  # PlotItem's layout: left axis 0, view 1, right axis 2, then the legend
# tab key -> tab label
PLOTS = (("success_rate", "Success rate"), ("roc", "ROC"), ("pr", "Precision-recall"), ("pa", "Prediction-area"),
         ("losses", "Training loss"))


def method_label(key):
    """The legend label of a method key of validation.json (translated)."""
    for k, label in METHODS:
        if k == key:
            return tr(label)
    return key


def fold_range(report):
    """(lowest, highest) per-fold ROC-AUC of a method's report, or None with fewer than two folds: the
    fold-to-fold spread says how much one number can be trusted."""
    folds = [f for f in report.get("fold_roc_auc") or [] if isinstance(f, (int, float)) and np.isfinite(f)]
    return (min(folds), max(folds)) if len(folds) > 1 else None


def fold_spread(report):
    """', folds 0.66-0.97' for a legend; empty without several folds."""
    spread = fold_range(report)
    return tr(", folds {0:.2f}-{1:.2f}").format(*spread) if spread else ""


def step_xy(x, y):
    """Points of a step curve that holds y[i] from x[i] to x[i+1] (matplotlib's steps-post)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2:
        return x, y
    return np.repeat(x, 2)[1:], np.repeat(y, 2)[:-1]


def success_points(report):
    """(area flagged, deposits captured) of a method's report, fractions, as stored."""
    c = report["success_rate_curve"]
    return np.asarray(c["area"], float), np.asarray(c["captured"], float)


def pr_points(report, background=None):
    """(recall, precision) at each deposit's out-of-fold score, rebuilt from the success-rate curve.

    The k-th deposit (by area flagged at its score) sees k deposits and area * background pixels at or
    above its score: precision k / (k + area * background). background: the number of background samples
    (validation.json meta), else derived from positive_rate.
    """
    area, _captured = success_points(report)
    at = np.sort(area[1:-1])  # the curve is [0, one point per deposit (sorted), 1]
    n = len(at)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    if not background:
        rate = float(report.get("positive_rate") or 0.0)
        background = n * (1.0 - rate) / rate if rate > 0 else 0.0
    k = np.arange(1, n + 1, dtype=float)
    return k / n, k / (k + at * float(background))


def read_losses(path):
    """{(stage, source): (steps, losses)} from a losses.csv (stage, step, source, loss)."""
    series = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                key = (int(row["stage"]), row["source"])
                step, loss = int(row["step"]), float(row["loss"])
            except (KeyError, TypeError, ValueError):
                continue
            series.setdefault(key, ([], []))
            series[key][0].append(step)
            series[key][1].append(loss)
    return {k: (np.asarray(s, float), np.asarray(v, float)) for k, (s, v) in sorted(series.items())}


def running_mean(values, window):
    """Centred running mean; near the ends, the mean of the values the window holds (no padding bias)."""
    values = np.asarray(values, float)
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window)
    return np.convolve(values, kernel, mode="same") / np.convolve(np.ones(len(values)), kernel, mode="same")


if HAVE_PYQTGRAPH:
    class LogLabelAxis(pg.AxisItem):
        """A log-scale axis that labels only 1, 2 and 5 times a power of ten: pyqtgraph labels every minor tick
        when the range spans under three decades, and 0.07 0.08 0.09 0.1 overprint each other."""

        def logTickStrings(self, values, scale, spacing):
            strings = super().logTickStrings(values, scale, spacing)
            shown = []
            for v, text in zip(values, strings):
                mantissa = round(10 ** (v - np.floor(v + 1e-9)), 6)
                shown.append(text if mantissa in (1.0, 2.0, 5.0, 10.0) else "")
            return shown


class PlotsWidget(QWidget):
    """Tabs of pyqtgraph plots: success rate, ROC, precision-recall, prediction-area, training loss."""

    exported = pyqtSignal(str)

    def __init__(self, parent=None):
        if not HAVE_PYQTGRAPH:
            raise ImportError(IMPORT_ERROR or "pyqtgraph is not installed")
        super().__init__(parent)
        self.setObjectName("mpm_plots")
        self.report = None  # the validation.json loaded: {"meta":..., "methods":...}
        self.report_path = self.losses_path = None
        self._scope = ""  # "out-of-fold" or "whole map", from the report drawn
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mpm_plots_tabs")
        self.plots = {}
        for key, label in PLOTS:
            page = QWidget()
            v = QVBoxLayout(page)
            v.setContentsMargins(2, 2, 2, 2)
            if key == "pa":
                row = QHBoxLayout()
                row.addWidget(QLabel(tr("Method")))
                self.pa_method = QComboBox()
                self.pa_method.setObjectName("mpm_plots_pa_method")
                self.pa_method.currentIndexChanged.connect(lambda _i: self._draw_pa())
                row.addWidget(self.pa_method, 1)
                v.addLayout(row)
            plot = pg.PlotWidget(background="w", axisItems={"left": LogLabelAxis("left")} if key == "losses" else None)
            plot.setObjectName(f"mpm_plot_{key}")
            item = plot.getPlotItem()
            for side in ("left", "bottom"):
                axis = item.getAxis(side)
                axis.setPen(pg.mkPen("#444"))
                axis.setTextPen(pg.mkPen("#222"))
            item.showGrid(x=True, y=True, alpha=0.15)
            self._legend_beside(item)
            v.addWidget(plot)
            if key == "pr":
                self.pr_note = QLabel()
                self.pr_note.setObjectName("mpm_plots_pr_note")
                self.pr_note.setWordWrap(True)
                v.addWidget(self.pr_note)
            self.plots[key] = plot
            self.tabs.addTab(page, tr(label))
        self.message = QLabel()
        self.message.setObjectName("mpm_plots_message")
        self.message.setWordWrap(True)
        self.export_button = QPushButton(tr("Export PNG..."))
        self.export_button.setObjectName("mpm_plots_export")
        self.export_button.setToolTip(tr("Save the plot of this tab as a PNG image"))
        self.export_button.clicked.connect(self.export_current)
        bottom = QHBoxLayout()
        bottom.addWidget(self.message, 1)
        bottom.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignRight)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.tabs)
        layout.addLayout(bottom)
        self.clear()

    # ---- reading ----

    def clear(self):
        self.report = self.report_path = self.losses_path = None
        for key, plot in self.plots.items():
            self._reset(key)
        self.pa_method.blockSignals(True)
        self.pa_method.clear()
        self.pa_method.blockSignals(False)
        self.message.setText(tr("No validation report loaded."))

    def load_validation(self, path):
        """Draw the validation curves of a head folder's validation.json (or the file itself); True when drawn."""
        if os.path.isdir(path):
            path = os.path.join(path, "validation.json")
        try:
            with open(path) as f:
                report = json.load(f)
            methods = report["methods"]
            for r in methods.values():
                success_points(r)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            for key in ("success_rate", "roc", "pr", "pa"):
                self._reset(key)
            self.report = self.report_path = None
            self.message.setText(tr("No validation report: {0}").format(exc))
            return False
        self.report, self.report_path = report, path
        # a head's report is out-of-fold (cross-validation); mpm:validate judges a whole map
        self._scope = tr("out-of-fold") if (report.get("meta") or {}).get("folds") else tr("whole map")
        self._draw_success(methods)
        self._draw_roc(methods)
        self._draw_pr(methods, (report.get("meta") or {}).get("background"))
        self.pa_method.blockSignals(True)
        self.pa_method.clear()
        for key in self._methods(methods):
            self.pa_method.addItem(method_label(key), key)
        self.pa_method.blockSignals(False)
        self._draw_pa()
        title = (report.get("meta") or {}).get("title")
        self.message.setText(title or path)
        self.message.setToolTip(path)
        return True

    def load_losses(self, path, title=""):
        """Draw a losses.csv (stage, step, source, loss) in the loss tab; True when drawn."""
        plot = self._reset("losses")
        try:
            series = read_losses(path)
        except OSError:
            series = {}
        if not series:
            self.losses_path = None
            plot.setTitle(tr("No loss history"))
            return False
        self.losses_path = path
        item = plot.getPlotItem()
        item.setLogMode(y=True)
        for (stage, source), (steps, losses) in series.items():
            mean = running_mean(losses, max(1, len(losses) // 50))
            ok = np.isfinite(mean) & (mean > 0)
            pen = pg.mkPen(SOURCE_COLOURS.get(source, "#555"), width=2,
                           style=Qt.PenStyle.SolidLine if stage == 1 else Qt.PenStyle.DashLine)
            plot.plot(steps[ok], mean[ok], pen=pen, name=tr("{0} (stage {1})").format(source, stage))
        plot.setTitle(title or tr("Pretraining loss (running mean)"))
        item.setLabel("bottom", tr("step"))
        item.setLabel("left", tr("loss (MSE)"))
        self._fit_legend("losses")
        return True

    # ---- drawing ----

    @staticmethod
    def _legend_beside(item):
        """The legend in a column of its own right of the plot (item.legend, so named curves join it): it never
        covers a curve or the P-A intersection, on screen or in an exported PNG."""
        legend = pg.LegendItem(offset=None, labelTextColor="#222", verSpacing=-4)
        legend.setParentItem(item)
        item.legend = legend
        spacer = pg.GraphicsWidget()  # holds the column open; its width follows the legend (_fit_legend)
        item.layout.addItem(spacer, 2, LEGEND_COLUMN)
        legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-4, 24))
        return legend

    def _fit_legend(self, key):
        item = self.plots[key].getPlotItem()
        item.legend.updateSize()
        width = item.legend.boundingRect().width() if item.legend.items else 0
        item.layout.setColumnFixedWidth(LEGEND_COLUMN, width + 8 if width else 0)

    def _reset(self, key):
        plot = self.plots[key]
        item = plot.getPlotItem()
        item.clear()  # the legend's entries go with the curves
        item.setLogMode(x=False, y=False)
        plot.setTitle("")
        self._fit_legend(key)
        return plot

    @staticmethod
    def _methods(methods):
        """Method keys of a report: the known ones in METHODS order, then any others."""
        known = [k for k, _label in METHODS if k in methods]
        return known + [k for k in methods if k not in known]

    def _pen(self, key):
        return pg.mkPen(COLOURS.get(key, "#555"), width=2)

    @staticmethod
    def _chance_pen():
        return pg.mkPen("#000", width=1, style=Qt.PenStyle.DotLine)

    def _draw_captured(self, key, methods, scale, label, chance, axes, title):
        """Deposits captured against area flagged (the success rate, in %) or the same points as ROC (0-1):
        one step curve per method, labelled by `label` (method, method report), and the diagonal."""
        plot = self._reset(key)
        for method in self._methods(methods):
            area, captured = success_points(methods[method])
            x, y = step_xy(area * scale, captured * scale)
            plot.plot(x, y, pen=self._pen(method), name=label(method_label(method), methods[method]))
        plot.plot([0, scale], [0, scale], pen=self._chance_pen(), name=chance)
        item = plot.getPlotItem()
        item.setLabel("bottom", axes[0])
        item.setLabel("left", axes[1])
        plot.setTitle(title)
        item.setRange(xRange=(0, scale), yRange=(0, scale), padding=0.02)
        self._fit_legend(key)

    def _draw_success(self, methods):
        self._draw_captured("success_rate", methods, 100,
                            lambda name, r: tr("{0} (success-AUC {1:.3f})").format(name, r["success_rate_auc"]),
                            tr("random"),
                            (tr("area flagged (%)"), tr("deposits captured (%)")),
                            tr("Success rate, {0}").format(self._scope))

    def _draw_roc(self, methods):
        self._draw_captured("roc", methods, 1,
                            lambda name, r: tr("{0} (ROC-AUC {1:.3f}{2})").format(name, r["roc_auc"], fold_spread(r)),
                            tr("chance (ROC-AUC 0.5)"),
                            (tr("false positive rate (background pixels)"), tr("true positive rate (deposits)")),
                            tr("ROC, deposits against the background, {0}").format(self._scope))

    def _draw_pr(self, methods, background):
        plot = self._reset("pr")
        rate = None
        for key in self._methods(methods):
            recall, precision = pr_points(methods[key], background)
            if not len(recall):
                continue
            x, y = step_xy(np.r_[0.0, recall], np.r_[precision, precision[-1]])
            plot.plot(x, y, pen=self._pen(key), name=tr("{0} (PR-AUC {1:.3f})").format(
                method_label(key), methods[key]["pr_auc"]))
            rate = methods[key].get("positive_rate", rate)
        if rate is not None:
            plot.plot([0, 1], [rate, rate], pen=pg.mkPen("#000", width=2, style=Qt.PenStyle.DashLine),
                      name=tr("chance (share of deposits {0:.3f})").format(rate))
        item = plot.getPlotItem()
        item.setLabel("bottom", tr("recall (deposits found)"))
        item.setLabel("left", tr("precision"))
        plot.setTitle(tr("Precision-recall, {0}").format(self._scope))
        top = max([rate or 0.0] + [float(np.max(c.getData()[1])) for c in item.listDataItems() if len(c.getData()[1])])
        item.setRange(xRange=(0, 1), yRange=(0, min(1.0, 1.1 * top) or 1.0), padding=0.02)
        self.pr_note.setText(tr("Precision is the share of the flagged cells that hold a deposit; deposits are "
                                "{0:.2%} of the cells, so a curve far above that dashed chance line is skill even "
                                "when it looks low.").format(rate) if rate is not None else "")
        self._fit_legend("pr")

    def _draw_pa(self):
        plot = self._reset("pa")
        methods = (self.report or {}).get("methods") or {}
        key = self.pa_method.currentData()
        if key not in methods:
            return
        r = methods[key]
        pa = r["pa_curve"]
        thr = np.asarray(pa["threshold"], float)
        plot.plot(thr, np.asarray(pa["prediction_rate"], float) * 100, pen=pg.mkPen("#d62728", width=2),
                  name=tr("prediction rate (deposits, %)"))
        plot.plot(thr, 100 - np.asarray(pa["area"], float) * 100, pen=pg.mkPen("#1f77b4", width=2),
                  name=tr("area not flagged (100 - area %)"))
        cross = r.get("pa_intersection")
        if cross:
            plot.plot([cross["threshold"]], [cross["prediction_rate"] * 100], pen=None, symbol="o", symbolSize=9,
                      symbolBrush="#000", name=tr("intersection: {0:.0f} % of deposits in {1:.0f} % of the area")
                      .format(cross["prediction_rate"] * 100, cross["area"] * 100))
        item = plot.getPlotItem()
        item.setLabel("bottom", tr("score threshold"))
        item.setLabel("left", tr("share (%)"))
        plot.setTitle(tr("Prediction-area plot: {0}").format(self.pa_method.currentText()))
        item.setYRange(0, 100, padding=0.02)
        self._fit_legend("pa")

    # ---- reading back (tests, callers) ----

    def curve_labels(self, key):
        """Legend names of the curves of a tab, in drawing order."""
        return [c.name() for c in self.plots[key].getPlotItem().listDataItems()]

    def curve_data(self, key, name):
        """(x, y) of the curve named `name` in tab `key`."""
        for c in self.plots[key].getPlotItem().listDataItems():
            if c.name() == name:
                return c.getData()
        raise KeyError(name)

    # ---- export ----

    def export_png(self, key, path, width=1200):
        """Write tab `key`'s plot as a PNG `width` pixels wide; returns the path."""
        plot = self.plots[key]
        if not plot.isVisible():  # a hidden tab has no layout of its own: lay it out at the export size
            plot.getPlotItem().resize(float(width), float(int(width * 0.6)))
        exporter = pg.exporters.ImageExporter(plot.getPlotItem())
        exporter.parameters()["width"] = int(width)
        exporter.export(path)
        self.exported.emit(path)
        return path

    def current_key(self):
        return PLOTS[self.tabs.currentIndex()][0]

    def export_current(self):
        key = self.current_key()
        folder = os.path.dirname(self.report_path or self.losses_path or "") or os.path.expanduser("~")
        path, _ = QFileDialog.getSaveFileName(self, tr("Export plot as PNG"), os.path.join(folder, f"{key}.png"),
                                              tr("PNG images (*.png)"))
        if not path:
            return None
        if not path.lower().endswith(".png"):
            path += ".png"
        self.export_png(key, path)
        self.message.setText(tr("Plot saved to {0}").format(path))
        return path
