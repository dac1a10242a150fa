"""Plugin object QGIS creates: registers the Processing provider, the toolbar action and the dock."""

import os

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction, QPushButton

from . import PLUGIN_ROOT, deps, install_dialog
from .i18n import install_translator, remove_translator, tr

LOG_TAG = "MPM Studio"


class MPMStudioPlugin:
    def __init__(self, iface):
        self.iface = iface
        self.provider = None
        self.action = None
        self.dock = None
        self.install_action = self.installer_window = None
        install_dialog.activate()  # packages the installer put in this profile: first on sys.path before any import
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
        self.install_action = QAction(tr("Install Python packages..."), self.iface.mainWindow())
        self.install_action.triggered.connect(self.show_installer)
        self.iface.addPluginToMenu(tr("&MPM Studio"), self.install_action)
        problem = deps.report()
        if problem:
            QgsMessageLog.logMessage(problem, LOG_TAG, Qgis.Warning)
            bar = self.iface.messageBar()
            item = bar.createMessage(LOG_TAG, problem)
            button = QPushButton(tr("Install..."), item)
            button.clicked.connect(self.show_installer)
            item.layout().addWidget(button)
            bar.pushWidget(item, Qgis.Warning, 0)

    def show_installer(self):
        if self.installer_window is None:
            self.installer_window = install_dialog.InstallDialog(self.iface.mainWindow())
        self.installer_window.show()
        self.installer_window.raise_()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.action is not None:
            self.iface.removeToolBarIcon(self.action)
            self.iface.removePluginMenu(tr("&MPM Studio"), self.action)
            self.action = None
        if self.install_action is not None:
            self.iface.removePluginMenu(tr("&MPM Studio"), self.install_action)
            self.install_action = None
        if self.installer_window is not None:
            self.installer_window.close()
            self.installer_window.deleteLater()
            self.installer_window = None
        if self.dock is not None:
            self.dock.remove_plots()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        remove_translator()
