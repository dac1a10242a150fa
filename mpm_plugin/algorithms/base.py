"""One base for every MPM algorithm: parameter marshalling to engine calls, errors, feedback.

QgsProcessingFeedback already speaks the engine's progress protocol (setProgress / isCanceled /
pushInfo), so it is handed to the engine as is; engine errors become QgsProcessingException with
the engine's actionable text.
"""

import os

from qgis.core import (QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingUtils, QgsRasterLayer,
                       QgsVectorFileWriter, QgsVectorLayer)

from .. import deps
from ..i18n import tr


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

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        from engine.errors import Cancelled, MPMError

        missing = deps.missing(deps.REQUIRED)
        if missing:
            raise QgsProcessingException(deps.report())
        try:
            return self.run(parameters, context, feedback)
        except Cancelled as exc:
            feedback.reportError(str(exc))
            return {}
        except MPMError as exc:
            raise QgsProcessingException(str(exc)) from exc

    def run(self, parameters, context, feedback):
        raise NotImplementedError

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
