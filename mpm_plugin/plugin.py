"""Plugin object QGIS creates: registers the Processing provider, the toolbar action and the dock."""

import os

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from . import PLUGIN_ROOT, deps
from .i18n import install_translator, remove_translator, tr

LOG_TAG = "MPM Studio"


class MPMStudioPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.action = None
        self.dock = None
        install_translator(PLUGIN_ROOT)

    def initProcessing(self):  # noqa: N802 (called by QGIS, also headless in qgis_process)
        from .provider import MPMProvider

        if self.provider is None:
            if QgsApplication.platform() == "qgis_process":
                # a headless run is all ours: QGIS loads the input rasters (computing statistics) before any
                # algorithm code runs, and GDAL would save them as NAME.tif.aux.xml beside the user's files
                os.environ["GDAL_PAM_ENABLED"] = "NO"
            self.provider = MPMProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()
        from .dock import MPMDock

        icon = QIcon(os.path.join(PLUGIN_ROOT, "resources", "icon.svg"))
        self.action = QAction(icon, tr("MPM Studio"), self.iface.mainWindow())
        self.action.setObjectName("mpmStudioAction")
        self.action.setCheckable(True)
        self.action.setToolTip(tr("Show the MPM Studio panel"))
        self.dock = MPMDock(self.iface)
        self.dock.setObjectName("mpmStudioDock")
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(self.action.setChecked)
        self.iface.addToolBarIcon(self.action)
        self.iface.addPluginToMenu(tr("&MPM Studio"), self.action)
        problem = deps.report()
        if problem:
            QgsMessageLog.logMessage(problem, LOG_TAG, Qgis.Warning)
            self.iface.messageBar().pushMessage(LOG_TAG, problem, level=Qgis.Warning, duration=0)

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.action is not None:
            self.iface.removeToolBarIcon(self.action)
            self.iface.removePluginMenu(tr("&MPM Studio"), self.action)
            self.action = None
        if self.dock is not None:
            self.dock.remove_plots()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        remove_translator()
