"""The panel's run settings (backend, threads, tile size, cache folder), kept in QGIS's settings.

Stored with QgsSettings under "mpm_studio/" (mpm_studio/backend, mpm_studio/threads,
mpm_studio/tile, mpm_studio/cache_dir) in the user's QGIS profile, so they survive a restart, and
edited in the Settings dialog the panel opens. Each run from the panel gets them as parameters of the Processing algorithm, where it has them
(RunSettings.parameters; the panel passes only what the algorithm declares): BACKEND, THREADS,
TILE and CACHE_DIR, the engine's Runtime (engine/operations.py, which also holds the one list of
backends). The cache folder is where the frozen embeddings are cached; empty: MPM_CACHE_DIR from
the environment, else ~/.cache/mpm-studio. Nothing is set in os.environ.
"""

import os

from qgis.core import QgsSettings
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout

from .engine.core.runtime import BACKENDS, RUNTIME, default_cache_dir

from .i18n import tr

PREFIX = "mpm_studio/"
DEFAULT_TILE = RUNTIME["tile"].default
MIN_TILE, MAX_TILE = RUNTIME["tile"].min, RUNTIME["tile"].max
MAX_THREADS = 1024


class RunSettings:
    """backend (one of BACKENDS), threads (0: the library's default), tile (pixels), cache_dir ('' = default)."""

    def __init__(self, backend="auto", threads=0, tile=DEFAULT_TILE, cache_dir=""):
        self.backend = backend if backend in BACKENDS else "auto"
        self.threads = min(max(int(threads or 0), 0), MAX_THREADS)
        self.tile = min(max(int(tile or DEFAULT_TILE), MIN_TILE), MAX_TILE)
        self.cache_dir = (cache_dir or "").strip()

    def __eq__(self, other):
        return isinstance(other, RunSettings) and vars(self) == vars(other)

    def __repr__(self):
        return f"RunSettings({vars(self)})"

    @classmethod
    def load(cls, settings=None):
        s = settings or QgsSettings()

        def number(key, default):
            try:
                return int(s.value(PREFIX + key, default))
            except (TypeError, ValueError):
                return default

        return cls(backend=str(s.value(PREFIX + "backend", "auto") or "auto"), threads=number("threads", 0),
                   tile=number("tile", DEFAULT_TILE), cache_dir=str(s.value(PREFIX + "cache_dir", "") or ""))

    def save(self, settings=None):
        s = settings or QgsSettings()
        s.setValue(PREFIX + "backend", self.backend)
        s.setValue(PREFIX + "threads", self.threads)
        s.setValue(PREFIX + "tile", self.tile)
        s.setValue(PREFIX + "cache_dir", self.cache_dir)
        s.sync()

    def parameters(self):
        """Processing parameters these settings set (the panel keeps those the algorithm declares)."""
        params = {"BACKEND": self.backend, "THREADS": self.threads, "TILE": self.tile}
        if self.cache_dir:
            params["CACHE_DIR"] = self.cache_folder()
        return params

    def cache_folder(self):
        """The cache folder set here as an absolute path, or None (the engine's default)."""
        return os.path.abspath(os.path.expanduser(self.cache_dir)) if self.cache_dir else None


class SettingsDialog(QDialog):
    """Edit the run settings; OK stores them (QgsSettings, mpm_studio/...)."""

    def __init__(self, parent=None, settings=None):
        super().__init__(parent)
        self.setObjectName("mpm_settings_dialog")
        self.setWindowTitle(tr("MPM Studio settings"))
        current = settings or RunSettings.load()
        layout = QVBoxLayout(self)
        form = QFormLayout()

        def row(widget, name):  # label and tooltip are the run setting's declaration (engine/core/runtime.py)
            param = RUNTIME[name]
            widget.setObjectName(f"mpm_settings_{name}")
            widget.setToolTip(tr(param.help))
            form.addRow(tr(param.label), widget)
            return widget

        self.backend = row(QComboBox(), "backend")
        for name in RUNTIME["backend"].choices:
            self.backend.addItem(name, name)
        self.threads = row(QSpinBox(), "threads")
        self.threads.setRange(int(RUNTIME["threads"].min), MAX_THREADS)
        self.threads.setSpecialValueText(tr("library default"))
        self.tile = row(QSpinBox(), "tile")
        self.tile.setRange(MIN_TILE, MAX_TILE)
        self.tile.setSingleStep(32)
        self.tile.setSuffix(tr(" px"))
        self.cache_dir = row(QgsFileWidget(), "cache_dir")
        self.cache_dir.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.cache_dir.lineEdit().setPlaceholderText(default_cache_dir())
        layout.addLayout(form)
        note = QLabel(tr("Applied to the runs started from the panel."))
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(lambda: self.set_values(RunSettings()))
        layout.addWidget(buttons)
        self.set_values(current)

    def set_values(self, s):
        self.backend.setCurrentIndex(max(0, self.backend.findData(s.backend)))
        self.threads.setValue(s.threads)
        self.tile.setValue(s.tile)
        self.cache_dir.setFilePath(s.cache_dir)

    def values(self):
        return RunSettings(self.backend.currentData(), self.threads.value(), self.tile.value(),
                           self.cache_dir.filePath())

    def accept(self):
        self.values().save()
        super().accept()
