"""One base for every MPM algorithm: parameter marshalling to engine calls, errors, feedback.

QgsProcessingFeedback already speaks the engine's progress protocol (setProgress / isCanceled /
pushInfo), so it is handed to the engine as is; engine errors become QgsProcessingException with
the engine's actionable text.

The parameters are not written here nor in the algorithms: each algorithm names its engine
operation (OP, engine/operations.py) and one generic marshaller turns the declared parameters into
Processing parameters (definition) and their values back into the engine's (read); the CLI is
generated from the same declarations (engine/cli.py). An algorithm keeps only its outputs, its
help text and what it shows its own way (kind CUSTOM).

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

from qgis.core import (QgsProcessing, QgsProcessingAlgorithm, QgsProcessingContext, QgsProcessingException,
                       QgsProcessingParameterBand, QgsProcessingParameterBoolean, QgsProcessingParameterCrs,
                       QgsProcessingParameterDefinition, QgsProcessingParameterEnum, QgsProcessingParameterExtent,
                       QgsProcessingParameterField, QgsProcessingParameterFile, QgsProcessingParameterFileDestination,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterRasterDestination,
                       QgsProcessingParameterRasterLayer, QgsProcessingParameterString,
                       QgsProcessingParameterVectorDestination, QgsProcessingParameterVectorLayer, QgsProcessingUtils,
                       QgsRasterLayer, QgsVectorFileWriter, QgsVectorLayer)

from .. import deps
from ..i18n import tr


# engine.operations' geometry words -> Processing layer types
LAYER_TYPES = {"point": QgsProcessing.TypeVectorPoint, "polygon": QgsProcessing.TypeVectorPolygon,
               "line": QgsProcessing.TypeVectorLine, "any": QgsProcessing.TypeVectorAnyGeometry,
               "raster": QgsProcessing.TypeRaster, "map": QgsProcessing.TypeMapLayer, "file": QgsProcessing.TypeFile}


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

    # ---- parameters: generated from the engine's declarations (engine/operations.py) ----

    OP = ""  # the engine operation whose declared parameters this algorithm shows (engine.operations.get)
    KEEP_IF = None  # a file that lets the output folder exist already (pretrain: its checkpoint)

    def operation(self):
        from ..engine.operations import get

        return get(self.OP or self.NAME)

    def initAlgorithm(self, config=None):  # noqa: N802
        """Every Processing parameter of the operation's declaration, then the algorithm's outputs."""
        from ..engine.operations import CUSTOM

        for p in self.operation().all_params():
            if not p.qgis:
                continue
            if p.kind == CUSTOM:
                self.add_custom(p)
            else:
                self.add(self.definition(p), p.help, p.advanced)
        self.add_outputs()

    def add(self, param, help_text=None, advanced=False):
        """addParameter with an optional help line (qgis_process help, tooltips) and advanced flag."""
        if help_text:
            param.setHelp(tr(help_text))
        if advanced:
            param.setFlags(param.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(param)
        return param

    def add_outputs(self):
        """addOutput of what run_engine returns beside the declared destinations."""

    def add_custom(self, p):
        """A parameter the algorithm shows its own way (kind CUSTOM)."""
        raise NotImplementedError(p.name)

    def definition(self, p):
        """The QgsProcessingParameterDefinition of a declared parameter (engine.operations.Param)."""
        from ..engine import operations as O

        key, label, k = p.qgis_key, tr(p.label), p.kind
        if k in (O.FOLDER, O.FILE):
            behavior = QgsProcessingParameterFile.Folder if k == O.FOLDER else QgsProcessingParameterFile.File
            return QgsProcessingParameterFile(key, label, behavior=behavior, optional=p.optional)
        if k == O.RASTER:
            return QgsProcessingParameterRasterLayer(key, label, optional=p.optional)
        if k == O.VECTOR:
            return QgsProcessingParameterVectorLayer(key, label, [LAYER_TYPES[p.geometry]], optional=p.optional)
        if k in (O.LAYERS, O.FILES):
            return QgsProcessingParameterMultipleLayers(key, label, LAYER_TYPES[p.geometry or "file"],
                                                        optional=p.optional)
        if k == O.INT and p.parent:
            # optional when it has a default: qgis_process (3.22) checks a band's value before applying its
            # default, so a mandatory BAND had to be given even though the default (1) is what most want
            return QgsProcessingParameterBand(key, label, p.default, p.parent,
                                              optional=p.optional or p.default is not None)
        if k in (O.NUMBER, O.INT):
            default = 0 if p.zero_is_none and p.default is None else p.default
            kw = {n: v for n, v in (("minValue", p.min), ("maxValue", p.max)) if v is not None}
            kind = QgsProcessingParameterNumber.Double if k == O.NUMBER else QgsProcessingParameterNumber.Integer
            return QgsProcessingParameterNumber(key, label, kind, default, optional=p.optional and default is None, **kw)
        if k == O.BOOL:
            return QgsProcessingParameterBoolean(key, label, p.default)
        if k == O.CHOICE:
            return QgsProcessingParameterEnum(key, label, options=list(p.choices), defaultValue=p.default,
                                              usesStaticStrings=True)
        if k == O.TEXT:
            return QgsProcessingParameterString(key, label, optional=p.optional)
        if k == O.CRS:
            return QgsProcessingParameterCrs(key, label, optional=p.optional)
        if k == O.EXTENT:
            return QgsProcessingParameterExtent(key, label, optional=p.optional)
        if k == O.BANDS:
            return QgsProcessingParameterBand(key, label, defaultValue=list(p.default), parentLayerParameterName=p.parent,
                                              allowMultiple=True)
        if k == O.FIELD:
            return QgsProcessingParameterField(key, label, parentLayerParameterName=p.parent, optional=p.optional)
        if k == O.OUT_FOLDER:
            return QgsProcessingParameterFolderDestination(key, label)
        if k == O.OUT_FILE and p.ext == ".tif":
            return QgsProcessingParameterRasterDestination(key, label, optional=p.optional, createByDefault=True)
        if k == O.OUT_FILE and p.ext == ".gpkg":
            return QgsProcessingParameterVectorDestination(key, label, LAYER_TYPES[p.geometry])
        if k == O.OUT_FILE:
            return QgsProcessingParameterFileDestination(key, label, tr("CSV files (*.csv)"))
        raise ValueError(f"no Processing parameter for kind {k} ({p.name})")

    def read(self, p, parameters, context, feedback):
        """The engine's value of a declared parameter (paths for layers and folders; None when not given)."""
        from ..engine import operations as O

        key, k = p.qgis_key, p.kind
        given = parameters.get(key) not in (None, "")
        if k == O.FOLDER and p.marker:
            return self.input_folder(parameters, key, context, p.marker, p.what)
        if k in (O.FOLDER, O.FILE):
            path = self.parameterAsFile(parameters, key, context)
            if path and p.exists and not os.path.exists(path):
                raise QgsProcessingException(tr("{0}: '{1}' does not exist").format(key, path))
            return path or None
        if k == O.RASTER:
            layer = self.parameterAsRasterLayer(parameters, key, context)
            if layer is None:
                raise QgsProcessingException(tr("Could not load the layer given for {0}").format(key))
            return self._file_source(layer, context, feedback)
        if k == O.VECTOR:
            return self.vector_source(parameters, key, context, feedback)
        if k == O.LAYERS:
            return self.layer_sources(parameters, key, context, feedback)
        if k == O.FILES:
            return self.parameterAsFileList(parameters, key, context)
        if k in (O.NUMBER, O.INT):
            if not given and p.default is None:
                return None
            return p.read((self.parameterAsDouble if k == O.NUMBER else self.parameterAsInt)(parameters, key, context))
        if k == O.BOOL:
            return self.parameterAsBoolean(parameters, key, context)
        if k == O.CHOICE:
            return self.parameterAsEnumString(parameters, key, context)
        if k in (O.TEXT, O.FIELD):
            return self.parameterAsString(parameters, key, context) or None
        if k == O.CRS:
            crs = self.parameterAsCrs(parameters, key, context)
            return (crs.authid() or crs.toWkt()) if crs.isValid() else None
        if k == O.EXTENT:
            if not given:
                return None
            rect = self.parameterAsExtent(parameters, key, context)
            return None if rect.isNull() or rect.width() <= 0 else (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(),
                                                                     rect.yMaximum())
        if k == O.BANDS:
            return [int(b) for b in self.parameterAsInts(parameters, key, context)] or list(p.default)
        if k == O.OUT_FOLDER:
            return self.output_folder(parameters, key, context, keep_if=self.KEEP_IF)
        if k == O.OUT_FILE:
            if p.optional and not self.parameterAsOutputLayer(parameters, key, context):
                return None
            return self.output_file(parameters, key, context, p.ext)
        raise ValueError(f"no reading for kind {k} ({p.name})")

    def values(self, parameters, context, feedback, skip=()):
        """{declared name: engine value} of every Processing parameter of the operation (but the keys in `skip`)."""
        return {p.name: self.read(p, parameters, context, feedback) for p in self.operation().all_params()
                if p.qgis and p.qgis_key not in skip}

    def run_operation(self, parameters, context, feedback, **extra):
        """The engine call of the declared operation: (values, result). Files replace their destination
        (QGIS asked before overwriting); folders never exist (output_folder). torch's thread count is
        put back afterwards (the engine sets it process-wide)."""
        from ..engine import operations as O

        op = self.operation()
        values = self.values(parameters, context, feedback)
        runtime = op.runtime_from(values)
        files = any(p.kind == O.OUT_FILE and p.qgis_key == "OUTPUT" for p in op.params)
        with runtime.torch_threads():
            return values, op.run(values, runtime, feedback, overwrite=files, **extra)

    # ---- reading parameters ----

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

