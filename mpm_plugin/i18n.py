"""Translation helpers: every user-facing string goes through tr() in the 'MPMStudio' context.

The plugin speaks the language of QGIS's own interface: when the plugin loads, install_translator()
installs a QTranslator on the application with i18n/mpm_studio_<locale>.qm (compiled by build.py
from i18n/mpm_studio_<locale>.ts; Simplified Chinese: mpm_studio_zh_CN.qm). The locale is the one
QGIS uses: Settings > Options > General > "Override system locale" (QgsSettings locale/overrideFlag
and locale/userLocale, e.g. "zh-Hans"), else the system locale (e.g. zh_CN). Without a matching
.qm the strings stay English.

Strings that reach tr() through a variable must follow the patterns i18n/update_ts.py can trace
(see there), so that they are extracted into the .ts files; tests/test_i18n.py checks it.
"""

import os

from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

CONTEXT = "MPMStudio"
QM_PREFIX = "mpm_studio_"
_translator = None


def tr(text):
    return QCoreApplication.translate(CONTEXT, text)


def qgis_locale():
    """The locale of QGIS's interface: the user's override when it is on, else the system's (e.g. 'zh_CN')."""
    try:
        from qgis.core import QgsSettings

        settings = QgsSettings()
    except ImportError:  # pragma: no cover (the plugin always runs inside QGIS)
        from qgis.PyQt.QtCore import QSettings

        settings = QSettings()
    if settings.value("locale/overrideFlag", False, type=bool):
        locale = settings.value("locale/userLocale", "", type=str)
        if locale:
            return locale
    return QLocale.system().name()


def locale_candidates(locale):
    """File suffixes to try for a locale, most specific first.

    QGIS names its own translations 'zh-Hans' / 'zh-Hant'; systems say 'zh_CN' / 'zh_TW'; QLocale maps
    the former onto the latter ('zh' and 'zh-Hans' -> zh_CN, 'zh-Hant' -> zh_TW). So 'zh-Hans', 'zh_CN'
    and 'zh' all find mpm_studio_zh_CN.qm (then mpm_studio_zh.qm); Traditional Chinese does not fall
    back to the Simplified file.
    """
    locale = (locale or "").strip().replace("-", "_")
    if not locale or locale in ("C", "POSIX"):
        return []
    names = []
    for name in (QLocale(locale).name(), locale, locale.split("_")[0]):
        if name and name != "C" and name not in names:
            names.append(name)
    return names


def find_qm(plugin_dir, locale=None):
    """Path of the .qm for `locale` (default: QGIS's) in plugin_dir/i18n, or None."""
    for name in locale_candidates(qgis_locale() if locale is None else locale):
        qm = os.path.join(plugin_dir, "i18n", f"{QM_PREFIX}{name}.qm")
        if os.path.exists(qm):
            return qm
    return None


def install_translator(plugin_dir, locale=None):
    """Install the translator for QGIS's locale (or `locale`) on the application; returns the .qm used, or None."""
    global _translator
    remove_translator()  # a reloaded plugin replaces its translator, never stacks a second one
    qm = find_qm(plugin_dir, locale) if plugin_dir else None
    if qm is None:
        return None
    translator = QTranslator()
    if not translator.load(qm):
        return None
    QCoreApplication.installTranslator(translator)
    _translator = translator
    return qm


def remove_translator():
    global _translator
    if _translator is not None:
        QCoreApplication.removeTranslator(_translator)
        _translator = None
