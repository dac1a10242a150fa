"""The 'mpm' Processing provider: what the Toolbox, the modeler and qgis_process see."""

import os

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from . import PLUGIN_ROOT
from .i18n import tr


def algorithm_classes():
    from .algorithms.align import AlignStackAlgorithm

    return [AlignStackAlgorithm]


class MPMProvider(QgsProcessingProvider):
    def id(self):
        return "mpm"

    def name(self):
        return tr("MPM Studio")

    def longName(self):  # noqa: N802
        return tr("MPM Studio: foundation-model mineral prospectivity")

    def icon(self):
        return QIcon(os.path.join(PLUGIN_ROOT, "resources", "icon.svg"))

    def loadAlgorithms(self):  # noqa: N802
        for cls in algorithm_classes():
            self.addAlgorithm(cls())
