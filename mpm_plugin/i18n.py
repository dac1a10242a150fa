"""Translation helpers: every user-facing string goes through tr() in the 'MPMStudio' context."""

import os

from qgis.PyQt.QtCore import QCoreApplication, QLocale, QSettings, QTranslator

CONTEXT = "MPMStudio"
_translator = None


def tr(text):
    return QCoreApplication.translate(CONTEXT, text)


def install_translator(plugin_dir):
    """Load i18n/mpm_studio_<locale>.qm following QGIS's locale setting."""
    global _translator
    locale = QSettings().value("locale/userLocale", QLocale().name()) or "en"
    for name in (locale, locale.split("_")[0]):
        qm = os.path.join(plugin_dir, "i18n", f"mpm_studio_{name}.qm")
        if os.path.exists(qm):
            _translator = QTranslator()
            if _translator.load(qm):
                QCoreApplication.installTranslator(_translator)
                return qm
    return None


def remove_translator():
    global _translator
    if _translator is not None:
        QCoreApplication.removeTranslator(_translator)
        _translator = None
