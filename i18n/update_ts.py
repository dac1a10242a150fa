#!/usr/bin/env python3
"""Re-extract the plugin's translatable strings and merge them into the Qt Linguist .ts files.

    python i18n/update_ts.py             # update every i18n/mpm_studio_*.ts (new strings: unfinished)
    python i18n/update_ts.py --check     # exit 1 when a string has no finished translation
    python i18n/update_ts.py --drop-vanished   # also delete entries whose string left the code

Strings are found with `ast` (no import of the plugin, so no QGIS needed) in mpm_plugin/**/*.py:

- literal arguments of tr() (implicitly concatenated literals are one string; `tr(x or "lit")`
  and `tr(a if c else "lit")` give their literals);
- strings that reach tr() indirectly, followed through the code:
  * tr(self.X) / tr(self.X[i]): every class attribute X = "..." / X = (..., "...", ...) in the package
    (DISPLAY, HELP, GROUP of the Processing algorithms);
  * tr(name) where `name` is bound by a for loop or comprehension over a module or class constant
    (`for key, label in SOURCES`): that element of every row of the constant;
  * tr(param) where `param` is a parameter of a function (add, add_folder, add_enum, input_folder,
    load_on_completion ...): the literals passed for that parameter at every call of the function
    (positional or keyword, through any number of such functions; a parameter iterated as
    `param.items()` takes the values of the dict literal or dict comprehension passed).

- the Processing labels and help of the engine's operation declarations (engine/operations.py and the run
  settings in engine/core/runtime.py):
  literal `label=` / `help=` / `what=` of every Param(...) call there, unless it says qgis=False or is of kind
  CUSTOM (the algorithm writes those itself), and the module's *_HELP string constants; tr(p.label)
  and tr(p.help) in the plugin's generic marshaller (mpm_plugin/algorithms/base.py) receive them.

A tr() argument the extractor cannot follow (an f-string, a call, a variable from elsewhere) is
reported as unresolved: tests/test_i18n.py fails on it, so every user-facing string stays
translatable. Pass the literal to tr() directly, or through one of the patterns above.

Context: every string lives in the one context mpm_plugin/i18n.py's tr() uses (CONTEXT, 'MPMStudio').
Existing translations are kept; a string whose source text changed becomes a new unfinished entry.
"""

import argparse
import ast
import os
import re
import string
import sys
import xml.etree.ElementTree as ET
from collections import OrderedDict
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PACKAGE = os.path.join(ROOT, "mpm_plugin")
CONTEXT = "MPMStudio"  # must equal mpm_plugin.i18n.CONTEXT (checked by tests/test_i18n.py)
TR_NAMES = ("tr",)
DECLARATIONS = (os.path.join(ROOT, "engine", "operations.py"), os.path.join(ROOT, "engine", "core", "runtime.py"))
DECLARED_ATTRS = ("label", "help", "what")  # tr(p.label), tr(p.help): strings of the declarations


# ---------------------------------------------------------------- extraction


class _Module:
    def __init__(self, path):
        self.path = path
        self.rel = os.path.relpath(path, ROOT).replace(os.sep, "/")
        with open(path, encoding="utf-8") as f:
            self.tree = ast.parse(f.read(), path)
        self.parents = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        # module-level NAME = constant
        self.constants = {}
        for node in self.tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.constants[target.id] = node.value

    def enclosing(self, node, kinds):
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, kinds):
                return node
        return None


def _params(func):
    """Parameter names of a def, without `self`/`cls` of a method (call arguments map onto these)."""
    names = [a.arg for a in func.args.posonlyargs + func.args.args]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    return names, [a.arg for a in func.args.kwonlyargs]


class Extractor:
    def __init__(self, package=PACKAGE):
        self.package = package
        self.modules = []
        for dirpath, dirnames, filenames in os.walk(package):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for f in sorted(filenames):
                if f.endswith(".py"):
                    self.modules.append(_Module(os.path.join(dirpath, f)))
        self.strings = OrderedDict()  # source text -> [(file, line)]
        self.unresolved = []  # "file:line: why"
        self.functions = {}  # name -> [(module, FunctionDef)]
        self.class_attrs = {}  # name -> [(module, value node)]
        for m in self.modules:
            for node in ast.walk(m.tree):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.functions.setdefault(node.name, []).append((m, node))
                elif isinstance(node, ast.ClassDef):
                    for stmt in node.body:
                        if isinstance(stmt, ast.Assign):
                            for target in stmt.targets:
                                if isinstance(target, ast.Name):
                                    self.class_attrs.setdefault(target.id, []).append((m, stmt.value))
        self.marks = set()  # (function name, parameter, mode) whose values reach tr(); mode 'value' | 'dict_values'

    # -- results

    def _add(self, text, module, line):
        if not text:
            return
        self.strings.setdefault(text, [])
        loc = (module.rel, line)
        if loc not in self.strings[text]:
            self.strings[text].append(loc)

    def _unresolved(self, module, node, why):
        self.unresolved.append(f"{module.rel}:{node.lineno}: {why}: {ast.unparse(node)}")

    # -- following an expression back to its literals

    def resolve(self, expr, module, mode="value"):
        """Add the literals `expr` can evaluate to; parameters met on the way are marked for their call sites."""
        if isinstance(expr, ast.Constant):
            if isinstance(expr.value, str):
                self._add(expr.value, module, expr.lineno)
            elif expr.value is not None:
                self._unresolved(module, expr, "not a string")
            return
        if mode == "dict_values":
            if isinstance(expr, ast.Dict):
                for v in expr.values:
                    self.resolve(v, module)
            elif isinstance(expr, ast.DictComp):
                self.resolve(expr.value, module)
            elif isinstance(expr, ast.Name) and self._param_of(expr, module):
                self._mark(expr, module, mode)
            else:
                self._unresolved(module, expr, "dict of labels the extractor cannot follow")
            return
        if isinstance(expr, ast.BoolOp):
            for v in expr.values:
                self.resolve(v, module)
        elif isinstance(expr, ast.IfExp):
            self.resolve(expr.body, module)
            self.resolve(expr.orelse, module)
        elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in ("self", "cls"):
            self._class_attr(expr.attr, None, module, expr)
        elif (isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Attribute)
              and isinstance(expr.value.value, ast.Name) and expr.value.value.id in ("self", "cls")
              and isinstance(expr.slice, ast.Constant) and isinstance(expr.slice.value, int)):
            self._class_attr(expr.value.attr, expr.slice.value, module, expr)
        elif isinstance(expr, ast.Attribute) and expr.attr in DECLARED_ATTRS:
            pass  # a declared parameter's label / help: extracted from engine/operations.py (declared())
        elif isinstance(expr, ast.Name):
            if not self._loop_name(expr, module) and not self._mark(expr, module, mode):
                self._unresolved(module, expr, "a variable the extractor cannot follow")
        else:
            self._unresolved(module, expr, "not a literal")

    def _class_attr(self, attr, index, module, node):
        found = self.class_attrs.get(attr, [])
        if not found:
            self._unresolved(module, node, f"no class attribute {attr}")
        for m, value in found:
            if index is None:
                self._row_item(value, None, m, node)
            elif isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) > index:
                self.resolve(value.elts[index], m)
            else:
                self._unresolved(m, value, f"class attribute {attr} has no item {index}")

    def _row_item(self, value, index, module, node):
        if index is None:
            self.resolve(value, module)
        elif isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) > index:
            self.resolve(value.elts[index], module)
        else:
            self._unresolved(module, node, f"row without item {index}")

    def _scope(self, node, module):
        return module.enclosing(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) or module.tree

    def _loop_name(self, name, module):
        """`name` bound by `for ... in CONSTANT` / a comprehension over one, in the enclosing function."""
        scope = self._scope(name, module)
        bound = False
        for node in ast.walk(scope):
            if isinstance(node, (ast.For, ast.comprehension)):
                target, iterable = node.target, node.iter
            else:
                continue
            if isinstance(target, ast.Name) and target.id == name.id:
                index = None
            elif isinstance(target, ast.Tuple):
                ids = [t.id if isinstance(t, ast.Name) else None for t in target.elts]
                if name.id not in ids:
                    continue
                index = ids.index(name.id)
            else:
                continue
            bound = True
            # param.items(): the parameter carries a dict whose values are the labels
            if (isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute)
                    and iterable.func.attr == "items" and isinstance(iterable.func.value, ast.Name) and index == 1):
                if not self._mark(iterable.func.value, module, "dict_values"):
                    self._unresolved(module, name, "loop over a dict the extractor cannot follow")
                continue
            rows = self._constant(iterable, module)
            if rows is None:
                self._unresolved(module, name, "loop over something the extractor cannot follow")
                continue
            for row in rows:
                self._row_item(row, index, module, name)
        return bound

    def _constant(self, node, module):
        """Rows of a tuple/list constant: a literal, a module constant or a class constant."""
        if isinstance(node, (ast.Tuple, ast.List)):
            return node.elts
        if isinstance(node, ast.Name) and isinstance(module.constants.get(node.id), (ast.Tuple, ast.List)):
            return module.constants[node.id].elts
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
            values = [v for _m, v in self.class_attrs.get(node.attr, []) if isinstance(v, (ast.Tuple, ast.List))]
            if values:
                return [e for v in values for e in v.elts]
        return None

    def _param_of(self, name, module):
        func = module.enclosing(name, (ast.FunctionDef, ast.AsyncFunctionDef))
        if func is None:
            return None
        positional, keyword = _params(func)
        return func if name.id in positional + keyword else None

    def _mark(self, name, module, mode):
        func = self._param_of(name, module)
        if func is None:
            return False
        self.marks.add((func.name, name.id, mode))
        return True

    # -- driving it

    def run(self):
        for m in self.modules:
            for node in ast.walk(m.tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in TR_NAMES:
                    if not node.args:
                        self._unresolved(m, node, "tr() without argument")
                        continue
                    self.resolve(node.args[0], m)
        if os.path.abspath(self.package) == os.path.abspath(PACKAGE):  # the plugin's own algorithms read them
            for path in DECLARATIONS:
                self.declared(path)
        done = set()
        while self.marks - done:
            for mark in sorted(self.marks - done):
                done.add(mark)
                self._call_sites(*mark)
        return self

    def declared(self, path):
        """The Processing labels and help of a declarations module (engine/operations.py, engine/core/runtime.py)."""
        if not os.path.exists(path):
            return
        m = _Module(path)
        for name, value in m.constants.items():
            if name.endswith("_HELP") and isinstance(value, ast.Constant) and isinstance(value.value, str):
                self._add(value.value, m, value.lineno)
        for node in ast.walk(m.tree):
            if not isinstance(node, ast.Call):
                continue
            kw = {k.arg: k.value for k in node.keywords if k.arg}
            if isinstance(kw.get("qgis"), ast.Constant) and kw["qgis"].value is False:
                continue
            if any(self._custom(a, m) for a in node.args[:2]):
                continue
            for attr in DECLARED_ATTRS:
                value = kw.get(attr)
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    self._add(value.value, m, value.lineno)

    @staticmethod
    def _custom(arg, m):
        """CUSTOM, or a module constant declared with it (dataclasses.replace(EVIDENCE, help=...))."""
        if not isinstance(arg, ast.Name):
            return False
        if arg.id == "CUSTOM":
            return True
        value = m.constants.get(arg.id)
        return isinstance(value, ast.Call) and any(isinstance(a, ast.Name) and a.id == "CUSTOM" for a in value.args[:2])

    def _call_sites(self, func_name, param, mode):
        defs = self.functions.get(func_name, [])
        for m, func in defs:  # a default value also reaches tr()
            all_args = func.args.posonlyargs + func.args.args
            defaults = func.args.defaults
            for a, d in zip(all_args[len(all_args) - len(defaults):], defaults):
                if a.arg == param:
                    self.resolve(d, m, mode)
            for a, d in zip(func.args.kwonlyargs, func.args.kw_defaults):
                if a.arg == param and d is not None:
                    self.resolve(d, m, mode)
        for m in self.modules:
            for node in ast.walk(m.tree):
                if not isinstance(node, ast.Call):
                    continue
                f = node.func
                called = None
                if isinstance(f, ast.Name):
                    called = f.id
                elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ("self", "cls"):
                    called = f.attr
                if called != func_name:
                    continue
                for _dm, func in defs[:1]:
                    positional, _kw = _params(func)
                    arg = None
                    if param in positional and positional.index(param) < len(node.args):
                        arg = node.args[positional.index(param)]
                        if isinstance(arg, ast.Starred):
                            self._unresolved(m, node, f"*args passed to {func_name}")
                            continue
                    for kw in node.keywords:
                        if kw.arg == param:
                            arg = kw.value
                        elif kw.arg is None:
                            self._unresolved(m, node, f"**kwargs passed to {func_name}")
                    if arg is not None:
                        self.resolve(arg, m, mode)


def extract(package=PACKAGE):
    """(OrderedDict source text -> [(file relative to the repository, line)], [unresolved tr() arguments])."""
    ex = Extractor(package).run()
    return ex.strings, ex.unresolved


# ---------------------------------------------------------------- .ts read / write / merge

PLACEHOLDER = re.compile(r"%(\d+|n)")


def placeholders(text):
    """Sorted str.format fields ('{0}', '{1:.3f}') and Qt %1 / %n markers of a string."""
    found = []
    try:
        for _lit, field, spec, conv in string.Formatter().parse(text):
            if field is not None:
                found.append("{" + field + ("!" + conv if conv else "") + (":" + spec if spec else "") + "}")
    except ValueError:  # not a format string (e.g. a lone brace): compare the raw braces
        found.extend(re.findall(r"[{}]", text))
    found.extend(PLACEHOLDER.findall(text))
    return sorted(found)


class Message:
    def __init__(self, source, translation="", kind=None, locations=(), comment=""):
        self.source = source
        self.translation = translation
        self.kind = kind  # None (finished) | 'unfinished' | 'vanished' | 'obsolete'
        self.locations = list(locations)
        self.comment = comment

    @property
    def finished(self):
        return self.kind is None and bool(self.translation)


def read_ts(path):
    """(language, {context: OrderedDict source -> Message})."""
    root = ET.parse(path).getroot()
    contexts = OrderedDict()
    for ctx in root.findall("context"):
        name = ctx.findtext("name") or ""
        msgs = contexts.setdefault(name, OrderedDict())
        for msg in ctx.findall("message"):
            tr_el = msg.find("translation")
            locs = [(loc.get("filename"), loc.get("line")) for loc in msg.findall("location")]
            msgs[msg.findtext("source") or ""] = Message(
                msg.findtext("source") or "", (tr_el.text or "") if tr_el is not None else "",
                tr_el.get("type") if tr_el is not None else "unfinished", locs, msg.findtext("translatorcomment") or "")
    return root.get("language"), contexts


def write_ts(path, language, contexts):
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<!DOCTYPE TS>",
             f'<TS version="2.1" language="{language}" sourcelanguage="en">']
    for name, msgs in contexts.items():
        lines += ["<context>", f"    <name>{escape(name)}</name>"]
        for msg in msgs.values():
            lines.append("    <message>")
            for filename, line in msg.locations:
                line_attr = f' line="{line}"' if line else ""
                lines.append(f'        <location filename="{escape(filename)}"{line_attr}/>')
            lines.append(f"        <source>{escape(msg.source)}</source>")
            if msg.comment:
                lines.append(f"        <translatorcomment>{escape(msg.comment)}</translatorcomment>")
            kind = f' type="{msg.kind}"' if msg.kind else ""
            lines.append(f"        <translation{kind}>{escape(msg.translation)}</translation>")
            lines.append("    </message>")
        lines.append("</context>")
    lines.append("</TS>")
    tmp = path + ".partial"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def merge(strings, old_messages, ts_dir, drop_vanished=False):
    """Messages for `strings` in code order, translations taken from `old_messages`; the others vanished."""
    merged = OrderedDict()
    for source, locs in strings.items():
        rel = [(os.path.relpath(os.path.join(ROOT, f), ts_dir).replace(os.sep, "/"), str(line)) for f, line in locs]
        old = old_messages.get(source)
        if old is not None and old.translation:
            kind = None if old.kind in (None, "vanished", "obsolete") else old.kind
            merged[source] = Message(source, old.translation, kind, rel, old.comment)
        else:
            merged[source] = Message(source, "", "unfinished", rel, old.comment if old else "")
    if not drop_vanished:
        for source, old in old_messages.items():
            if source not in merged and old.translation:
                merged[source] = Message(source, old.translation, "vanished", [], old.comment)
    return merged


def ts_files(ts_dir=HERE):
    return sorted(os.path.join(ts_dir, f) for f in os.listdir(ts_dir) if re.match(r"mpm_studio_.+\.ts$", f))


def update(ts_path, strings, drop_vanished=False):
    """Merge `strings` into one .ts (created when missing); returns (finished, unfinished) counts."""
    language = os.path.basename(ts_path)[len("mpm_studio_"):-3]
    old = OrderedDict()
    if os.path.exists(ts_path):
        language, contexts = read_ts(ts_path)
        old = contexts.get(CONTEXT, OrderedDict())
    merged = merge(strings, old, os.path.dirname(os.path.abspath(ts_path)), drop_vanished)
    write_ts(ts_path, language, OrderedDict([(CONTEXT, merged)]))
    live = [m for m in merged.values() if m.source in strings]
    return sum(m.finished for m in live), sum(not m.finished for m in live)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ts", nargs="*", help="the .ts files (default: every i18n/mpm_studio_*.ts)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 on missing translations")
    ap.add_argument("--drop-vanished", action="store_true", help="delete entries whose string left the code")
    args = ap.parse_args(argv)
    strings, unresolved = extract()
    for u in unresolved:
        print(f"unresolved tr() argument: {u}", file=sys.stderr)
    status = 1 if unresolved else 0
    for path in args.ts or ts_files():
        if args.check:
            _lang, contexts = read_ts(path)
            msgs = contexts.get(CONTEXT, {})
            missing = [s for s in strings if s not in msgs or not msgs[s].finished]
            for s in missing:
                print(f"{os.path.basename(path)}: no finished translation for {s!r}", file=sys.stderr)
            status = status or (1 if missing else 0)
            print(f"{path}: {len(strings) - len(missing)} of {len(strings)} strings translated")
        else:
            done, todo = update(path, strings, args.drop_vanished)
            print(f"{path}: {done} translated, {todo} unfinished, {len(strings)} strings in the code")
    return status


if __name__ == "__main__":
    sys.exit(main())
