"""Do the plugin's Qt names exist in PyQt6? Run with a Python that has PyQt6 (no QGIS needed):

    PYTHONPATH=/path/with/PyQt6 python3 scripts/qt6_check.py [files ...]   # default: every mpm_plugin/*.py

Every name a module imports from qgis.PyQt.<module>, and every attribute chain read off it
(Qt.AlignmentFlag.AlignRight, QMessageBox.StandardButton.Yes, QDialog.exec ...), is looked up in
PyQt6.<module>, the way QGIS's Qt6 builds map qgis.PyQt (QAction & co. moved to QtGui, QVariant's
type names patched back in). Prints what does not resolve; exit status 1 when anything does not.
A check of names only: it does not load the plugin in a Qt6 build of QGIS.
"""

import ast
import importlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MOVED_TO_QTGUI = {"QAction", "QActionGroup", "QShortcut", "QUndoCommand", "QUndoStack", "QFileSystemModel"}
# QGIS's Qt6 builds set QVariant.<Type> to the QMetaType.Type values (QgsField('x', QVariant.Int) keeps working)
QVARIANT_TYPES = {"Invalid", "Bool", "Int", "UInt", "LongLong", "ULongLong", "Double", "String", "Char", "List",
                  "StringList", "ByteArray", "Date", "Time", "DateTime", "Map", "Type", "UserType"}


def qt6_object(module, name):
    if module == "QtWidgets" and name in MOVED_TO_QTGUI:
        module = "QtGui"
    mod = importlib.import_module(f"PyQt6.{module}")
    if not hasattr(mod, name):
        raise AttributeError(f"PyQt6.{module} has no {name}")
    return getattr(mod, name)


def chain(node):
    """['Qt', 'AlignmentFlag', 'AlignRight'] for the attribute chain node, or None when not rooted at a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id] + parts[::-1]


def check(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    imported, problems = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qgis.PyQt."):
            module = node.module.split(".")[2]
            for alias in node.names:
                try:
                    qt6_object(module, alias.name)
                    imported[alias.asname or alias.name] = (module, alias.name)
                except (ImportError, AttributeError) as exc:
                    problems.append(f"{node.lineno}: import {alias.name} from {node.module}: {exc}")
    outer = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in outer:
            continue  # only whole chains: a.b.c, not its a.b
        parts = chain(node)
        if not parts or parts[0] not in imported:
            continue
        module, name = imported[parts[0]]
        if name == "QVariant" and len(parts) == 2 and parts[1] in QVARIANT_TYPES:
            continue
        obj = qt6_object(module, name)
        for i, attr in enumerate(parts[1:], 1):
            if not hasattr(obj, attr):
                problems.append(f"{node.lineno}: {'.'.join(parts)}: PyQt6 has no {'.'.join(parts[:i + 1])}")
                break
            obj = getattr(obj, attr)
    return problems


def main(paths):
    if not paths:
        plugin = os.path.join(ROOT, "mpm_plugin")
        paths = sorted(os.path.join(d, f) for d, _s, fs in os.walk(plugin) for f in fs if f.endswith(".py"))
    bad = 0
    for path in paths:
        for line in check(path):
            print(f"{os.path.relpath(path, ROOT)}:{line}")
            bad += 1
    print(f"{len(paths)} files, {bad} Qt names that PyQt6 does not have")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
