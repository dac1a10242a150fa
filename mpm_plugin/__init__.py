"""MPM Studio QGIS plugin entry point.

Only `mpm_plugin` is a top-level name: the plugin never puts its folder on sys.path, so another
plugin's `engine`, `settings` or `i18n` module cannot shadow ours, nor ours theirs. The plugin
reaches the engine as `mpm_plugin.engine`:
- installed (build.py), the engine is a real subpackage, mpm_plugin/engine/;
- in a source checkout the engine sits beside this folder as the top-level `engine` package (the
  CLI's and the tests'); `mpm_plugin.engine.*` are then the very same module objects, so one
  engine is loaded, never two copies whose errors and settings differ.
"""

import importlib
import importlib.abc
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


class _CheckoutEngine(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves `mpm_plugin.engine[.x]` as the checkout's `engine[.x]` (the same module objects)."""

    prefix = __name__ + ".engine"

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.prefix and not fullname.startswith(self.prefix + "."):
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module("engine" + spec.name[len(self.prefix):])
        spec.loader_state = module.__spec__  # importlib sets this alias spec on it next; exec_module puts it back
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state  # per import, so imports in two threads cannot mix them


def _link_engine():
    """The folder holding the engine's parent (the plugin folder installed, the checkout otherwise)."""
    if os.path.isdir(os.path.join(_HERE, "engine")):
        return _HERE
    checkout = os.path.dirname(_HERE)
    if not os.path.isdir(os.path.join(checkout, "engine")):
        return None
    if checkout not in sys.path:
        sys.path.append(checkout)  # appended: a checkout's names never shadow another plugin's
    if not any(isinstance(f, _CheckoutEngine) for f in sys.meta_path):
        sys.meta_path.insert(0, _CheckoutEngine())
    return checkout


PLUGIN_ROOT = _link_engine()


def classFactory(iface):  # noqa: N802 (QGIS API name)
    from .plugin import MPMStudioPlugin

    return MPMStudioPlugin(iface)
