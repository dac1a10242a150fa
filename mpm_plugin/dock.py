"""The MPM Studio panel: pick layers per source, run the chain, get styled results back in the project.

Align, then Fine-tune + validate, Predict, Targets and Anomalies: each step is a Processing algorithm
(mpm:alignstack, mpm:finetune, mpm:predict, mpm:targets, mpm:anomalies) run as a QgsTask so QGIS stays
responsive, shows progress in its task manager and can cancel. This module lays the panel out; each job
lives in its own module, mixed into MPMDock:

- dock_inputs.py: the pickers (layers per source, deposits, area of interest, pixel size, output folder);
- dock_preview.py: Preview beside Align (what Align would make of each layer; layer types and class fields chosen
  there go to the next Align);
- dock_chain.py: each step's parameters, the background runs, and what a finished step leaves on the panel
  (stack_dir, head_dir, prediction_dir: the folders the next steps read) and in the project;
- dock_open.py: Open results... (an existing stack / head / prediction folder, or an output folder holding
  them, after a restart) and the default output folder following the project;
- dock_results.py: result folders on disk (their kinds, fresh names, the newest of each kind);
- dock_layers.py: result layers into the 'MPM Studio' group with the QML styles in resources/;
- dock_plots.py: the validation summary and the "MPM Studio plots" panel beside the map (plots.py).

The Foundation model section (models_panel.py) picks the pretrained model the chain uses, shows its card,
and runs Pretrain on my data. Runs take the user's settings (settings.py; the Settings button).
"""

from qgis.core import QgsMessageLog, QgsProject
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QVBoxLayout, QWidget

from .dock_chain import ChainResults, ChainRunner
from .dock_inputs import PARAM_OF_SOURCE, SOURCES, InputPickers, guard_wheel  # noqa: F401 (public names)
from .dock_layers import GROUP_NAME, LOG_TAG, RESULT_PROPERTY, STYLE_DIR, stretch_to_data  # noqa: F401
from .dock_open import ResultsOpener
from .dock_plots import CV_METHODS, ValidationView  # noqa: F401
from .dock_preview import PreviewRunner
from .dock_results import default_output_folder, find_results, fresh_path, result_kind  # noqa: F401
from .i18n import tr


class MPMDock(InputPickers, PreviewRunner, ChainRunner, ChainResults, ResultsOpener, ValidationView, QgsDockWidget):
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
        self._init_preview()
        body = QWidget()
        layout = QVBoxLayout(body)
        self._source_boxes(layout)
        layout.addLayout(self._input_form())
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
        self.preview_button = QPushButton(tr("Preview"))
        self.preview_button.setObjectName("mpm_preview")
        self.preview_button.setToolTip(tr("What Align would make of each picked layer (kind, layer type, class field, "
                                          "classes, nodata, pixel size, coverage of the area), with warnings; the "
                                          "layer types and class fields can be changed there. Writes nothing."))
        self.preview_button.clicked.connect(self.run_preview)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setObjectName("mpm_cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.align_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        layout.addWidget(self._chain_box())  # the chain's buttons above the long model card
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        layout.addWidget(self.progress)
        self.status = QLabel(tr("Pick layers per source, then Align."))
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addWidget(self._validation_box())
        from .models_panel import ModelBox

        self.models = ModelBox(self)
        self.models.setObjectName("mpm_box_model")
        self.output.fileChanged.connect(lambda *_: self.models.refresh())
        layout.addWidget(self.models)
        from .structures_panel import StructuresBox

        self.structures = StructuresBox(self)
        self.structures.setObjectName("mpm_box_structures")
        layout.addWidget(self.structures)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        # wide enough for every row (Settings..., Cancel) beside the vertical scroll bar: no row is cut off
        scroll.setMinimumWidth(body.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
                               + 2 * scroll.frameWidth())
        self.setWidget(scroll)
        self._wheel_guard = guard_wheel(body, scroll)
        project = QgsProject.instance()
        project.layersAdded.connect(self.refresh_layers)
        project.layersRemoved.connect(self.refresh_layers)
        root = project.layerTreeRoot()
        root.addedChildren.connect(self.refresh_layers)  # a layer moved into or out of the results group
        root.removedChildren.connect(self.refresh_layers)
        for signal in (project.readProject, project.projectSaved, project.cleared):
            signal.connect(self.follow_project)
        project.cleared.connect(self.forget)
        project.readProject.connect(self.restore_chain)
        self.refresh_layers()
        self.update_buttons()

    def _message(self, text, level):
        QgsMessageLog.logMessage(text, LOG_TAG, level)
        try:
            self.iface.messageBar().pushMessage(tr("MPM Studio"), text, level=level)
        except AttributeError:  # no message bar (headless tests with a stub iface)
            pass
