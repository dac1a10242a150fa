"""The engine's layers are its folders: each imports only the layers below it, and no module imports itself
back through another (issue 22, item 2). Read from the source, so a new import that breaks the layering fails here."""

import ast
import os

from helpers import ROOT

ENGINE = os.path.join(ROOT, "engine")
# a folder may import from folders of a lower rank only (and from the package itself: SOURCES, __version__)
RANK = {"core": 0, "data": 1, "foundation": 2, "classical": 2, "prospectivity": 3, "anomalies": 3, "structures": 3}


def _imports():
    """{module: {imported module, ...}} for every relative import in the engine, at any depth in the file."""
    graph = {}
    for folder, _, files in os.walk(ENGINE):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(folder, f)
            module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
            is_pkg = module.endswith(".__init__")
            module = module.removesuffix(".__init__")
            package = module if is_pkg else module.rsplit(".", 1)[0]
            found = graph.setdefault(module, set())
            for node in ast.walk(ast.parse(open(path).read(), path)):
                if isinstance(node, ast.ImportFrom) and node.level:
                    parts = package.split(".")
                    base = parts[: len(parts) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                    names = [a.name for a in node.names]
                    modules = [f"{target}.{n}" for n in names if _is_module(f"{target}.{n}")]
                    found.update(modules or [target])
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    name = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
                    assert not (name or "").split(".")[0] == "engine", (
                        f"{path}: absolute `engine` import; the engine is also mpm_plugin.engine: import relatively")
    return graph


def _is_module(name):
    path = os.path.join(ROOT, *name.split("."))
    return os.path.isfile(path + ".py") or os.path.isdir(path)


def _layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK) else None


def test_every_engine_folder_is_a_known_layer():
    folders = {d for d in os.listdir(ENGINE) if os.path.isdir(os.path.join(ENGINE, d)) and d != "__pycache__"}
    assert folders == set(RANK), f"folders {sorted(folders ^ set(RANK))}: give each a rank in RANK and the README"


def test_layers_import_only_the_layers_below():
    wrong = []
    for module, targets in _imports().items():
        layer = _layer(module)
        if layer is None:  # top level (cli, api, demo) may import any layer
            continue
        for target in targets:
            other = _layer(target)
            if target == "engine" or other == layer:
                continue
            if other is None or RANK[other] >= RANK[layer]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layering:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = _imports()
    cycles = []

    def visit(node, path, on_path, done):
        on_path.add(node)
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in done:
                visit(nxt, path, on_path, done)
        path.pop()
        on_path.discard(node)
        done.add(node)

    done = set()
    for node in sorted(graph):
        if node not in done:
            visit(node, [], set(), done)
    # a package's __init__ serving its own modules lazily is not a cycle that matters at import time
    cycles = [c for c in cycles if not any(c.startswith(f"engine.{p} -> ") for p in RANK)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_plugin_relative_imports_resolve():
    """Every relative import in mpm_plugin, lazy ones included, names a module that exists (mpm_plugin.engine being
    the engine): a wrong level only fails when the function runs, inside QGIS."""
    plugin = os.path.join(ROOT, "mpm_plugin")
    wrong = []
    for folder, _, files in os.walk(plugin):
        for f in files:
            if not f.endswith(".py"):
                continue
            path = os.path.join(folder, f)
            package = os.path.relpath(folder, ROOT).split(os.sep)
            for node in ast.walk(ast.parse(open(path).read(), path)):
                if not (isinstance(node, ast.ImportFrom) and node.level):
                    continue
                if node.level > len(package):
                    wrong.append(f"{path}:{node.lineno}: beyond the top-level package")
                    continue
                parts = package[: len(package) - node.level + 1] + (node.module.split(".") if node.module else [])
                if parts[:2] == ["mpm_plugin", "engine"]:
                    parts = parts[1:]
                if not _is_module(".".join(parts)):
                    wrong.append(f"{path}:{node.lineno}: {'.'.join(parts)} does not exist")
            for node in ast.walk(ast.parse(open(path).read(), path)):
                absolute = ([node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                            else [a.name for a in node.names] if isinstance(node, ast.Import) else [])
                if any(name.split(".")[0] == "engine" for name in absolute):
                    wrong.append(f"{path}:{node.lineno}: top-level `engine`: import it as the plugin's subpackage")
    assert not wrong, "\n".join(wrong)
