"""MPM Studio QGIS plugin entry point.

In the installed plugin the engine package sits inside this folder; in a source checkout it sits
beside it. Either way it is made importable as `engine` before anything else loads.
"""

import os
import sys


def _make_engine_importable():
    here = os.path.dirname(os.path.abspath(__file__))
    for base in (here, os.path.dirname(here)):
        if os.path.isdir(os.path.join(base, "engine")):
            if base not in sys.path:
                sys.path.insert(0, base)
            return base
    return None


PLUGIN_ROOT = _make_engine_importable()


def classFactory(iface):  # noqa: N802 (QGIS API name)
    from .plugin import MPMStudioPlugin

    return MPMStudioPlugin(iface)
