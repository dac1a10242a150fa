"""Weights of evidence beside the panel: Calculate weights on one evidence layer, its table and contrast plot.

Why a window of its own: a geologist judges an evidence layer by its weights table (which classes hold
the deposits, where the contrast peaks and whether it is significant) before using it; this shows the
table (QTableWidget) and the contrast and studentised contrast per class (pyqtgraph; without it the
same figures as text) without leaving QGIS. The run is mpm:wofeweights through the panel's task
machinery (background task, progress, Cancel, errors in the panel's status), writing
<layer>_weights.csv and <layer>_generalised.tif into the panel's output folder; the generalised
raster loads into the MPM Studio group. Opened from the panel's "Weights of evidence..." button.
"""

import csv
import os
import re

from qgis.core import QgsMapLayerProxyModel
from qgis.gui import QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor, QFont
from qgis.PyQt.QtWidgets import (QComboBox, QDialog, QDoubleSpinBox, QFormLayout, QLabel, QPlainTextEdit,
                                 QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout)

from . import plots
from .i18n import tr

# engine word -> what the method list shows
METHOD_LABELS = (("categorical", "categorical (each class)"), ("ascending", "ascending (favourable when low)"),
                 ("descending", "descending (favourable when high)"))
FAVOURABLE = 2  # GEN_CLASS of the favourable side of a cumulative table (engine.classical.wofe.INSIDE)
FAVOURABLE_COLOUR = QColor(198, 239, 206)


def add_button(dock, layout):
    """The panel's "Weights of evidence..." button (into `layout`), opening one WofeDialog per panel."""
    button = QPushButton(tr("Weights of evidence..."))
    button.setObjectName("mpm_wofe")
    button.setToolTip(tr("Calculate weights of one evidence layer against the known deposits: weights table and "
                         "contrast plot"))
    button.clicked.connect(lambda *_: open_dialog(dock))
    layout.addWidget(button)
    dock.wofe_button = button
    return button


def open_dialog(dock):
    dialog = getattr(dock, "wofe_dialog", None)
    if dialog is None:
        dialog = dock.wofe_dialog = WofeDialog(dock, dock)
    dialog.show()
    dialog.raise_()
    return dialog


def read_table(path):
    """A weights table CSV as (header, rows of floats): csv only, so opening the window imports no GIS wheel."""
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [[float(v) for v in row] for row in reader if row]
    return header, rows


def file_stem(name):
    """A layer name as a file name part (no path separators or odd characters)."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "evidence"


def _number(value, column):
    if column in ("CLASS", "NO_POINTS", "GEN_CLASS"):
        return str(int(value))
    return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.1f}"


class WofeDialog(QDialog):
    """Calculate weights on one layer (mpm:wofeweights) and show the table and the contrast plot."""

    def __init__(self, dock, parent=None):
        super().__init__(parent)
        self.dock = dock
        self.setWindowTitle(tr("Weights of evidence"))
        self.setObjectName("mpm_wofe_dialog")
        self.table_path = self.generalised_path = None
        self.shown_method = self.shown_threshold = None  # of the table shown (the fields may have changed since)
        self.header, self.rows = [], []
        form = QFormLayout()
        self.evidence = QgsMapLayerComboBox()
        self.evidence.setObjectName("mpm_wofe_evidence")
        self.evidence.setFilters(QgsMapLayerProxyModel.RasterLayer)
        self.evidence.setToolTip(tr("An evidence raster of integer classes (e.g. distance in 100 m steps, lithology "
                                    "codes), in a projected CRS"))
        form.addRow(tr("Evidence raster"), self.evidence)
        self.deposits = QgsMapLayerComboBox()
        self.deposits.setObjectName("mpm_wofe_deposits")
        self.deposits.setFilters(QgsMapLayerProxyModel.PointLayer)
        if dock.deposits.currentLayer() is not None:
            self.deposits.setLayer(dock.deposits.currentLayer())
        form.addRow(tr("Known deposits"), self.deposits)
        self.method = QComboBox()
        self.method.setObjectName("mpm_wofe_method")
        for key, label in METHOD_LABELS:  # shown translated, passed as the engine's word
            self.method.addItem(tr(label), key)
        form.addRow(tr("Method"), self.method)
        self.unit_cell = QDoubleSpinBox()
        self.unit_cell.setRange(0.0001, 1e4)
        self.unit_cell.setDecimals(4)
        self.unit_cell.setValue(1.0)
        self.unit_cell.setSuffix(" km2")
        form.addRow(tr("Unit cell area"), self.unit_cell)
        self.studc = QDoubleSpinBox()
        self.studc.setRange(0.0, 100.0)
        self.studc.setValue(2.0)
        self.studc.setToolTip(tr("A class is used in the generalisation only when its studentised contrast reaches "
                                 "this"))
        form.addRow(tr("Studentised contrast threshold"), self.studc)
        self.run_button = QPushButton(tr("Calculate weights"))
        self.run_button.setObjectName("mpm_wofe_run")
        self.run_button.clicked.connect(self.calculate)
        self.status = QLabel(tr("Pick an evidence raster and the known deposits, then Calculate weights."))
        self.status.setObjectName("mpm_wofe_status")
        self.status.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setObjectName("mpm_wofe_table")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.plot = self.plot_text = None
        if plots.HAVE_PYQTGRAPH:
            self.plot = plots.pg.PlotWidget(background="w")
            self.plot.setObjectName("mpm_wofe_plot")
            item = self.plot.getPlotItem()
            item.showGrid(x=True, y=True, alpha=0.15)
            item.addLegend(offset=(-10, 10), labelTextColor="#222", brush=plots.pg.mkBrush(255, 255, 255, 200))
            item.setLabel("left", tr("Contrast"))
            item.setLabel("bottom", tr("Class"))
            view = self.plot
        else:  # the same figures as text (pyqtgraph missing, or built for another Qt)
            self.plot_text = QPlainTextEdit()
            self.plot_text.setObjectName("mpm_wofe_plot_text")
            self.plot_text.setReadOnly(True)
            self.plot_text.setFont(QFont("monospace"))
            view = self.plot_text
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(view)
        split.setSizes([320, 280])
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.run_button)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self.resize(760, 760)

    # ---- running ----

    def parameters(self):
        """mpm:wofeweights parameters from the window, or None (with what is missing in the status)."""
        layer, deposits = self.evidence.currentLayer(), self.deposits.currentLayer()
        if layer is None or deposits is None:
            self.status.setText(tr("Pick an evidence raster and the known deposits first."))
            return None
        stem = file_stem(layer.name())
        table, generalised = self.dock._output(f"{stem}_weights.csv"), self.dock._output(f"{stem}_generalised.tif")
        if table is None:
            self.status.setText(tr("Choose an output folder in the panel first."))
            return None
        return {"INPUT": layer.id(), "DEPOSITS": deposits.id(), "METHOD": self.method.currentData(),
                "UNIT_CELL": self.unit_cell.value(), "STUDC": self.studc.value(), "OUTPUT": table,
                "GENERALISED": generalised}

    def calculate(self):
        """Run mpm:wofeweights as the panel's background task; the table and plot follow when it ends."""
        params = self.parameters()
        if params is None:
            return None
        name = self.evidence.currentLayer().name()
        method, threshold = params["METHOD"], params["STUDC"]
        task = self.dock.run_algorithm("mpm:wofeweights", params,
                                       lambda results: self.calculated(results, name, method, threshold),
                                       tr("Calculate weights"), tr("Calculating weights of '{0}'...").format(name))
        if task is None:
            self.status.setText(self.dock.status.text())
            return None
        self.status.setText(tr("Calculating weights of '{0}'...").format(name))
        # a failure shows here too (the panel's own slot, connected first, has written its status)
        task.executed.connect(lambda ok, _results: ok or self.status.setText(self.dock.status.text()))
        return task

    def calculated(self, results, name, method, threshold):
        self.generalised_path = results.get("GENERALISED")
        self.show_table(results["OUTPUT"], method, threshold)
        if self.generalised_path:
            self.dock.add_results([(self.generalised_path, tr("{0} generalised").format(name))])
        self.status.setText(tr("{0} classes, {1} deposits; weights table {2}").format(
            int(results["CLASSES"]), int(results["DEPOSITS_USED"]), os.path.basename(results["OUTPUT"])))
        self.status.setToolTip(results["OUTPUT"])
        self.dock.status.setText(self.status.text())

    # ---- showing ----

    def show_table(self, path, method, threshold):
        """Fill the table and the contrast plot from a weights table CSV made with `method` and `threshold`.

        Highlighted: the favourable side of a cumulative table (GEN_CLASS 2), or the categorical classes
        whose studentised contrast reaches the threshold (the ones positively tied to the deposits)."""
        self.table_path, self.shown_method, self.shown_threshold = path, method, threshold
        self.header, self.rows = read_table(path)
        gen, studc = self.header.index("GEN_CLASS"), self.header.index("STUDC")
        cumulative = method != "categorical"
        self.table.clear()
        self.table.setColumnCount(len(self.header))
        self.table.setRowCount(len(self.rows))
        self.table.setHorizontalHeaderLabels(self.header)
        for i, row in enumerate(self.rows):
            for j, (col, value) in enumerate(zip(self.header, row)):
                item = QTableWidgetItem(_number(value, col))
                item.setTextAlignment(int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter))
                if (row[gen] == FAVOURABLE) if cumulative else (row[studc] >= threshold):
                    item.setBackground(FAVOURABLE_COLOUR)
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.draw()

    def column(self, name):
        i = self.header.index(name)
        return [row[i] for row in self.rows]

    def favourable_class(self):
        """The last class of the favourable side of a cumulative table (the split), or None."""
        inside = [c for c, g in zip(self.column("CLASS"), self.column("GEN_CLASS")) if g == FAVOURABLE]
        return inside[-1] if inside and self.shown_method != "categorical" else None

    def draw(self):
        classes, contrast, studc = self.column("CLASS"), self.column("CONTRAST"), self.column("STUDC")
        threshold = self.shown_threshold
        split = self.favourable_class()
        if self.plot is None:
            lines = [f"{tr('Class'):>10} {tr('Contrast'):>10} {tr('Stud. C'):>10}"]
            lines += [f"{int(k):>10} {c:>10.4f} {s:>10.4f}" for k, c, s in zip(classes, contrast, studc)]
            lines.append(tr("Studentised contrast threshold {0:g}").format(threshold))
            if split is not None:
                lines.append(tr("Favourable up to class {0}").format(int(split)))
            self.plot_text.setPlainText("\n".join(lines))
            return
        pg = plots.pg
        item = self.plot.getPlotItem()
        item.clear()
        categorical = self.shown_method == "categorical"
        style = dict(pen=None, symbol="o", symbolSize=6) if categorical else {}
        item.plot(classes, contrast, name=tr("Contrast"),
                  **(dict(style, symbolBrush="#1f77b4") if categorical else dict(pen=pg.mkPen("#1f77b4", width=2))))
        item.plot(classes, studc, name=tr("Studentised contrast"),
                  **(dict(style, symbolBrush="#d62728") if categorical else dict(pen=pg.mkPen("#d62728", width=2))))
        item.addItem(pg.InfiniteLine(threshold, angle=0, pen=pg.mkPen("#555", style=Qt.PenStyle.DashLine),
                                     label=tr("threshold {0:g}").format(threshold),
                                     labelOpts={"color": "#333", "position": 0.08}))
        if split is not None:
            item.addItem(pg.InfiniteLine(split, angle=90, pen=pg.mkPen("#2ca02c", width=2),
                                         label=tr("split {0}").format(int(split)),
                                         labelOpts={"color": "#2ca02c", "position": 0.92}))

    def curve_data(self, name):
        """(x, y) of the plot's curve named `name` (tests, callers)."""
        found = [c.getData() for c in self.plot.getPlotItem().listDataItems() if c.name() == name]
        if not found:
            raise KeyError(name)
        return found[0]
