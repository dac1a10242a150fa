"""The dialog that installs the plugin's Python packages (Plugins > MPM Studio > Install Python packages...).

Thin: mpm_plugin.installer does the work in a worker thread; this shows its progress and log, offers the
optional groups and a folder of wheels for offline machines, and loads the packages when pip is done.
"""

import os
import threading

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QObject, pyqtSignal
from qgis.PyQt.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit,
                                 QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout)

from . import deps, installer
from .i18n import tr


def profile_dir():
    return os.path.normpath(QgsApplication.qgisSettingsDirPath())


def activate():
    """The plugin-local packages of this profile on sys.path (at every plugin start); True when the folder exists."""
    return installer.activate(installer.target_dir(profile_dir()))


class _Bridge(QObject):
    """Carries the worker thread's callbacks to the dialog's (UI) thread."""
    line = pyqtSignal(str)
    progress = pyqtSignal(int, str)
    done = pyqtSignal(object, str)  # (packages or None, error text)


class InstallDialog(QDialog):
    finished_install = pyqtSignal(bool)  # True when the packages now load
    OPTIONAL = (("torch", "torch: fine-tuning and pretraining (a large download)"),
                ("dask", "Dask: running tiles on a cluster"))

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr("MPM Studio: install Python packages"))
        self.setObjectName("mpmInstallDialog")
        self.folder = installer.target_dir(profile_dir())
        self.job = None
        lay = QVBoxLayout(self)
        problem = deps.report()
        self.intro = QLabel((problem + "\n\n" if problem else "") + tr(
            "The pinned packages are installed with pip into a folder of this QGIS profile, never into QGIS's "
            "own Python:") + "\n" + self.folder)
        self.intro.setWordWrap(True)
        lay.addWidget(self.intro)
        self.optional = {}
        for name, label in self.OPTIONAL:
            box = QCheckBox(tr(label))
            box.setChecked(name == "torch")
            self.optional[name] = box
            lay.addWidget(box)
        self.offline = QCheckBox(tr("Install from a folder of wheels (no internet)"))
        self.wheels = QLineEdit()
        self.wheels.setPlaceholderText(tr("Folder holding the downloaded .whl files"))
        self.browse = QPushButton(tr("Browse..."))
        self.browse.clicked.connect(self._pick_wheels)
        row = QHBoxLayout()
        row.addWidget(self.wheels)
        row.addWidget(self.browse)
        lay.addWidget(self.offline)
        lay.addLayout(row)
        self.offline.toggled.connect(self._sync)
        self.bar = QProgressBar()
        self.status = QLabel()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        lay.addWidget(self.log)
        self.buttons = QDialogButtonBox()
        self.install_button = self.buttons.addButton(tr("Install"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(tr("Cancel"), QDialogButtonBox.ButtonRole.RejectRole)
        self.close_button = self.buttons.addButton(tr("Close"), QDialogButtonBox.ButtonRole.DestructiveRole)
        self.install_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        lay.addWidget(self.buttons)
        self.bridge = _Bridge()
        self.bridge.line.connect(self.log.appendPlainText)
        self.bridge.progress.connect(self._progress)
        self.bridge.done.connect(self._done)
        self.resize(640, 480)
        self._sync()

    def _pick_wheels(self):
        folder = QFileDialog.getExistingDirectory(self, tr("Folder of wheels"), self.wheels.text())
        if folder:
            self.wheels.setText(folder)
            self.offline.setChecked(True)

    def _sync(self):
        running = self.job is not None
        for w in (self.install_button, self.offline, *self.optional.values()):
            w.setEnabled(not running)
        self.wheels.setEnabled(self.offline.isChecked() and not running)
        self.browse.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.close_button.setEnabled(not running)

    def start(self):
        if self.job is not None:
            return
        wheels = self.wheels.text().strip() if self.offline.isChecked() else None
        if self.offline.isChecked() and not wheels:
            self.status.setText(tr("Choose the folder of wheels first"))
            return
        without = [name for name, box in self.optional.items() if not box.isChecked()]
        b = self.bridge
        self.job = installer.Installer(profile_dir(), wheels=wheels, without=without,
                                       on_line=b.line.emit, on_progress=b.progress.emit)
        self.bar.setValue(0)
        self.status.setText(tr("Installing..."))
        self._sync()
        threading.Thread(target=self._work, args=(self.job,), daemon=True).start()

    def _work(self, job):
        try:
            self.bridge.done.emit(job.run(), "")
        except installer.Cancelled:
            self.bridge.done.emit(None, tr("Cancelled: nothing was installed"))
        except installer.InstallError as exc:
            self.bridge.done.emit(None, str(exc))
        except Exception as exc:  # noqa: BLE001 (shown, never lost in a thread)
            self.bridge.done.emit(None, f"{type(exc).__name__}: {exc}")

    def cancel(self):
        if self.job is not None:
            self.status.setText(tr("Cancelling..."))
            self.job.cancel()

    def _progress(self, percent, message):
        self.bar.setValue(percent)
        self.status.setText(message)

    def _done(self, packages, error):
        stale = self.job.restart_for if self.job is not None else []
        self.job = None
        self._sync()
        if packages is None:
            self.status.setText(error)
            self.log.appendPlainText(error)
            self.finished_install.emit(False)
            return
        activate()
        deps.preload()  # the GIS wheels next to QGIS's GDAL, in the main thread (see deps.preload)
        problem = deps.report()
        if stale:
            text = tr("Installed. Restart QGIS to use them: these were already loaded from elsewhere:") + " " + \
                ", ".join(stale)
        elif problem:
            text = tr("Installed, but still missing:") + " " + problem
        else:
            text = tr("Installed: MPM Studio can use them now")
        self.bar.setValue(100)
        self.status.setText(text)
        self.log.appendPlainText(text)
        self.finished_install.emit(not problem and not stale)

    def closeEvent(self, event):  # noqa: N802
        if self.job is not None:  # never leaves a pip running behind a closed window
            self.job.cancel()
        super().closeEvent(event)
