"""The 'mpm' Processing provider: what the Toolbox, the modeler and qgis_process see."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import PLUGIN_ROOT
from .i18n import tr


def algorithm_classes():
    from .algorithms.align import AlignStackAlgorithm
    from .algorithms.anomalies import AnomaliesAlgorithm
    from .algorithms.derivatives import DerivativesAlgorithm
    from .algorithms.embed import EmbedAlgorithm
    from .algorithms.finetune import FinetuneAlgorithm
    from .algorithms.predict import PredictAlgorithm
    from .algorithms.pretrain import PretrainAlgorithm
    from .algorithms.structures import StructuresAlgorithm
    from .algorithms.targets import TargetsAlgorithm
    from .algorithms.validate import ValidateAlgorithm
    from .algorithms.wofe import FuzzyAlgorithm, LogisticAlgorithm, WofeResponseAlgorithm, WofeWeightsAlgorithm

    return [AlignStackAlgorithm, FinetuneAlgorithm, PredictAlgorithm, TargetsAlgorithm, AnomaliesAlgorithm,
            EmbedAlgorithm, PretrainAlgorithm, StructuresAlgorithm, ValidateAlgorithm, WofeWeightsAlgorithm,
            WofeResponseAlgorithm, LogisticAlgorithm, FuzzyAlgorithm, DerivativesAlgorithm]


class MPMProvider(QgsProcessingProvider):
    def id(self):
        return "mpm"

    def name(self):
        return tr("MPM Studio")

    def longName(self):  # noqa: N802
        return tr("MPM Studio: foundation-model mineral prospectivity")

    def icon(self):
        return QIcon(os.path.join(PLUGIN_ROOT, "resources", "icon.svg"))

    # The engine writes GeoTIFF rasters and GeoPackage vectors only: file pickers and temporary
    # outputs of the mpm algorithms offer just those.
    def supportedOutputRasterLayerExtensions(self):  # noqa: N802
        return ["tif"]

    def supportedOutputVectorLayerExtensions(self):  # noqa: N802
        return ["gpkg"]

    def loadAlgorithms(self):  # noqa: N802
        for cls in algorithm_classes():
            self.addAlgorithm(cls())
