"""One base for every MPM algorithm: parameter marshalling to engine calls, errors, feedback.

QgsProcessingFeedback already speaks the engine's progress protocol (setProgress / isCanceled /
pushInfo), so it is handed to the engine as is; engine errors become QgsProcessingException with
the engine's actionable text.

Conventions shared by every algorithm (kept here once):
- folders the engine reads (stack, head, prediction, model) are QgsProcessingParameterFile with
  folder behaviour, so the modeler can wire a previous step's OUTPUT folder into them;
- enums whose values are engine identifiers (backend, device, targets mode) use static strings, so
  `qgis_process run mpm:predict --BACKEND=onnx-cpu` and saved models read as the engine's words;
- folder outputs: Processing may create the destination folder before the run, while the engine
  creates its output whole (atomically) and refuses an existing one. An EMPTY existing folder is
  removed first; a non-empty one is never touched: the run stops and asks for a new folder;
- file outputs (targets GeoPackage, embedding GeoTIFF) are Processing destinations: QGIS asked the
  user before overwriting, so the engine is allowed to replace the file (atomically);
- raster files an engine call leaves in a folder are declared as raster outputs and queued to load
  into the project when the algorithm runs from the Toolbox, batch or a model.
"""

import contextlib
import os

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingException,
                       QgsProcessingParameterDefinition, QgsProcessingParameterEnum, QgsProcessingParameterFile,
                       QgsProcessingParameterNumber, QgsProcessingUtils, QgsRasterLayer, QgsVectorFileWriter,
                       QgsVectorLayer)

from .. import deps
from ..i18n import tr


class Terminated(BaseException):
    """A second SIGTERM during a run: raised in the main thread so every open output is still removed."""


@contextlib.contextmanager
def terminate_cleanly(feedback, signals):
    """In qgis_process (the algorithm runs in the main thread) SIGTERM would kill the process with its
    '.partial' outputs on disk. For the run's duration it cancels the run instead, which the engine
    notices at its next step and unwinds cleanly (an exception raised at any bytecode could break a
    library's own clean-up); a second SIGTERM raises at once. Each signal is appended to `signals`."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # QGIS desktop: a task thread; cancel goes through the feedback
        return

    def raise_terminated(signum, frame):
        signals.append(signum)
        feedback.cancel()
        if len(signals) > 1:
            raise Terminated()

    before = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@contextlib.contextmanager
def inputs_untouched():
    """No GDAL PAM side-cars (statistics in NAME.tif.aux.xml) written beside the user's input rasters while
    the run opens them (QGIS computes statistics when it loads a raster layer); restored afterwards."""
    before = os.environ.get("GDAL_PAM_ENABLED")
    os.environ["GDAL_PAM_ENABLED"] = "NO"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("GDAL_PAM_ENABLED", None)
        else:
            os.environ["GDAL_PAM_ENABLED"] = before


class EngineAlgorithm(QgsProcessingAlgorithm):
    NAME = ""
    DISPLAY = ""
    GROUP = ("data", "Data preparation")
    HELP = ""

    def name(self):
        return self.NAME

    def displayName(self):  # noqa: N802
        return tr(self.DISPLAY)

    def group(self):
        return tr(self.GROUP[1])

    def groupId(self):  # noqa: N802
        return self.GROUP[0]

    def shortHelpString(self):  # noqa: N802
        return tr(self.HELP)

    def createInstance(self):  # noqa: N802
        return type(self)()

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802
        """Main thread, before processAlgorithm runs (in a task thread in QGIS desktop): see deps.preload."""
        deps.preload()
        return True

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from ..engine.core.errors import Cancelled, MPMError

        missing = deps.missing(deps.REQUIRED)
        if missing:
            raise QgsProcessingException(deps.report())
        signals = []
        try:
            with inputs_untouched(), terminate_cleanly(feedback, signals):
                return self.run_engine(parameters, context, feedback)
        except (Cancelled, Terminated) as exc:  # an error, so that qgis_process exits non-zero: never taken for success
            if signals:
                raise QgsProcessingException(tr("Terminated (SIGTERM): the run stopped and nothing was written")) from exc
            raise QgsProcessingException(str(exc)) from exc
        except MPMError as exc:
            raise QgsProcessingException(str(exc)) from exc
        except Exception as exc:  # a full disk met outside an atomic output (cache, checkpoint): a message
            from ..engine.core.atomic import as_write_error

            error = as_write_error(exc)
            if error is None:
                raise
            raise QgsProcessingException(str(error)) from exc

    def run_engine(self, parameters, context, feedback):
        """The algorithm's work (engine call); not named `run`, which would shadow QgsProcessingAlgorithm.run
        that the batch dialog and processing.run() call."""
        raise NotImplementedError

    # ---- parameter declarations shared by the algorithms ----

    BACKENDS = ("auto", "torch-cuda", "torch-cpu", "onnx-cpu")

    def add(self, param, help_text=None, advanced=False):
        """addParameter with an optional help line (qgis_process help, tooltips) and advanced flag."""
        if help_text:
            param.setHelp(tr(help_text))
        if advanced:
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(param)
        return param

    def add_folder(self, name, label, help_text=None, optional=False):
        """An input folder (stack, head, prediction): accepts a previous step's OUTPUT folder in the modeler."""
        return self.add(QgsProcessingParameterFile(name, tr(label), behavior=QgsProcessingParameterFile.Folder,
                                                   optional=optional), help_text)

    def add_model(self):
        return self.add(QgsProcessingParameterFile(
            "MODEL", tr("Foundation model folder (empty: the shipped model)"),
            behavior=QgsProcessingParameterFile.Folder, optional=True),
            "The pretrained foundation model: the folder holding model_card.json (as written by Pretrain foundation "
            "encoders), or the model_card.json itself. Leave empty for the model shipped with the plugin. A head "
            "only works with the model it was fine-tuned on.", advanced=True)

    def add_enum(self, name, label, options, default, help_text=None, advanced=False):
        """Enum whose values are the engine's own words (static strings): --NAME=value in qgis_process."""
        return self.add(QgsProcessingParameterEnum(name, tr(label), options=list(options), defaultValue=default,
                                                   usesStaticStrings=True), help_text, advanced)

    def add_backend(self):
        return self.add_enum(
            "BACKEND", "Inference backend", self.BACKENDS, "auto",
            "auto: torch on the GPU when CUDA is there, else ONNX Runtime on the CPU, else torch on the CPU. "
            "Values: auto, torch-cuda, torch-cpu, onnx-cpu.", advanced=True)

    def add_threads(self):
        return self.add(QgsProcessingParameterNumber("THREADS", tr("CPU threads (0: the library's default)"),
                                                     QgsProcessingParameterNumber.Integer, 0, minValue=0),
                        "CPU threads of the foundation encoders (torch and ONNX Runtime); 0 leaves the library's "
                        "default (all cores).", advanced=True)

    def add_tile(self):
        return self.add(QgsProcessingParameterNumber("TILE", tr("Tile size (pixels)"),
                                                     QgsProcessingParameterNumber.Integer, 256, minValue=32),
                        "Bounds memory; the result does not depend on it.", advanced=True)

    # ---- reading parameters ----

    def threads(self, parameters, context):
        """THREADS as a number of threads, or None (the library's default) for 0 or no such parameter."""
        if self.parameterDefinition("THREADS") is None:
            return None
        return self.parameterAsInt(parameters, "THREADS", context) or None

    def enum_string(self, parameters, name, context):
        return self.parameterAsEnumString(parameters, name, context)

    def input_folder(self, parameters, name, context, marker=None, what=None):
        """Path of an input folder parameter, checked to exist (and to hold `marker`); None when optional and empty."""
        path = self.parameterAsFile(parameters, name, context)
        if not path:
            return None
        if not os.path.isdir(path):
            raise QgsProcessingException(tr("{0}: the folder '{1}' does not exist").format(name, path))
        if marker and not os.path.exists(os.path.join(path, marker)):
            raise QgsProcessingException(tr("{0}: '{1}' is not {2} (no {3} in it)").format(
                name, path, tr(what or "the expected folder"), marker))
        return path

    def model_path(self, parameters, context, default=None):
        """The MODEL parameter as a path, or `default` (None: the engine's shipped model) when empty."""
        path = self.parameterAsFile(parameters, "MODEL", context)
        if path and not os.path.exists(path):
            raise QgsProcessingException(tr("MODEL: '{0}' does not exist").format(path))
        return path or default

    def output_folder(self, parameters, name, context, keep_if=None):
        """A folder destination ready for an engine call that creates the folder itself.

        Processing may have created the folder already: if it exists and is empty it is removed (so
        the engine can create it whole); a non-empty folder is never deleted, the run stops instead,
        unless it holds `keep_if` (e.g. a checkpoint the engine resumes from).
        """
        path = self.parameterAsFileOutput(parameters, name, context)
        if not path:
            raise QgsProcessingException(tr("{0}: no output folder given").format(name))
        path = os.path.abspath(path)
        if os.path.isfile(path):
            raise QgsProcessingException(tr("{0}: '{1}' is a file; choose a new folder").format(name, path))
        if os.path.isdir(path):
            if keep_if and os.path.exists(os.path.join(path, keep_if)):
                return path
            if os.listdir(path):
                raise QgsProcessingException(tr(
                    "{0}: the output folder '{1}' already exists and is not empty; MPM Studio never writes into or "
                    "deletes an existing folder. Choose a new folder name (it will be created), or delete that "
                    "folder yourself").format(name, path))
            os.rmdir(path)
        self._make_parent(name, path)
        return path

    @staticmethod
    def _make_parent(name, path):
        """The output's parent folder, made if needed; a read-only or full disk is a message, not a traceback."""
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as exc:
            raise QgsProcessingException(tr("{0}: the folder '{1}' cannot be created ({2}); choose an output in a "
                                            "folder you can write to").format(name, os.path.dirname(path),
                                                                              exc.strerror or exc)) from exc

    def output_file(self, parameters, name, context, ext):
        """A layer/file destination path with the extension the engine writes (ext, e.g. '.gpkg')."""
        path = self.parameterAsOutputLayer(parameters, name, context)
        if not path:
            raise QgsProcessingException(tr("{0}: no output file given").format(name))
        if not path.lower().endswith(ext):
            raise QgsProcessingException(tr("{0}: MPM Studio writes {1} files; give a path ending in {1} (got '{2}')")
                                         .format(name, ext, path))
        path = os.path.abspath(path)
        self._make_parent(name, path)
        return path

    # ---- threads ----

    @staticmethod
    @contextlib.contextmanager
    def torch_threads(threads):
        """torch's process-wide intra-op thread count set to `threads` for the block (nothing when None)."""
        if not threads:
            yield
            return
        try:
            import torch
        except ImportError:
            yield
            return
        before = torch.get_num_threads()
        torch.set_num_threads(int(threads))
        try:
            yield
        finally:
            torch.set_num_threads(before)

    # ---- results ----

    def load_on_completion(self, context, results, names, hint=QgsProcessingUtils.LayerHint.Raster):
        """Queue result files {output name: layer name} to be added to the project when the run ends.

        Destination parameters are queued by Processing itself; these are files inside an output
        folder, declared as QgsProcessingOutputRasterLayer (or tables, hint Vector). Missing files
        (optional products) are skipped.
        """
        project = context.project()
        if project is None:
            return
        for key, label in names.items():
            path = results.get(key)
            if path and os.path.exists(path) and not context.willLoadLayerOnCompletion(path):
                context.addLayerToLoadOnCompletion(path, QgsProcessingContext.LayerDetails(
                    tr(label), project, key, hint))

    # ---- marshalling: QGIS layers -> file paths the engine can read ----

    def layer_sources(self, parameters, name, context, feedback):
        """File sources of a multiple-layer parameter; layers not on disk are exported to a temp GeoPackage."""
        return [self._file_source(lyr, context, feedback) for lyr in self.parameterAsLayerList(parameters, name, context)]

    def vector_source(self, parameters, name, context, feedback):
        if parameters.get(name) in (None, ""):
            return None
        layer = self.parameterAsVectorLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException(tr("Could not load the layer given for {0}").format(name))
        return self._file_source(layer, context, feedback)

    def _file_source(self, layer, context, feedback):
        if isinstance(layer, QgsRasterLayer):
            if layer.providerType() != "gdal":
                raise QgsProcessingException(tr("Layer '{0}' is not a file raster; save it as GeoTIFF first").format(layer.name()))
            return layer.source()
        if isinstance(layer, QgsVectorLayer):
            if layer.providerType() == "ogr" and not layer.subsetString():
                return layer.source()
            path = os.path.join(QgsProcessingUtils.tempFolder(), f"{layer.id()}.gpkg")
            options = QgsVectorFileWriter.SaveVectorOptions()
            options.driverName = "GPKG"
            err = QgsVectorFileWriter.writeAsVectorFormatV3(layer, path, context.transformContext(), options)
            if err[0] != QgsVectorFileWriter.NoError:
                raise QgsProcessingException(tr("Could not export layer '{0}': {1}").format(layer.name(), err[1]))
            feedback.pushInfo(tr("Exported '{0}' to {1}").format(layer.name(), path))
            return path
        raise QgsProcessingException(tr("Layer '{0}' has an unsupported type").format(layer.name()))

