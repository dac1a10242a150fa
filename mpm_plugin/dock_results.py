"""Result folders on disk: what kind a path is, which folders of an output folder to open, fresh names.

No widgets here: the panel (dock_chain.py) asks these functions where a chain's results are.
"""

import datetime
import json
import os
import sqlite3

from qgis.core import QgsProject

from .engine.prospectivity.artifacts import HEAD_CARD, PREDICTION_MARKER, Prediction

OUTPUT_FOLDER_NAME = "MPM Studio"
# what a results folder is, by the file that marks it, in chain order
RESULT_MARKERS = (("stack", "stack.json"), ("head", HEAD_CARD), ("prediction", PREDICTION_MARKER),
                  ("anomalies", "anomalies.json"), ("model", "model_card.json"),
                  ("validation", "validation.json"))  # last: a head folder holds a validation.json too
CHAIN_ORDER = ("stack", "head", "prediction", "targets", "anomalies", "model", "validation")
TARGET_FIELDS = {"rank", "area_km2", "mean_prob"}  # engine.prospectivity.targets.FIELDS that mark its GeoPackage
PROJECT_SCOPE = "mpm_studio"  # the chain's folders kept in the project file (QgsProject entries)
REMEMBERED = ("stack", "head", "prediction", "targets", "anomalies")


def fresh_path(folder, name):
    """folder/name, or folder/name_2 (name_3, ...; before the extension) when that is taken."""
    stem, ext = os.path.splitext(name)
    path, n = os.path.join(folder, name), 2
    while os.path.exists(path):
        path, n = os.path.join(folder, f"{stem}_{n}{ext}"), n + 1
    return path


def has(path, marker=None):
    return bool(path) and os.path.exists(os.path.join(path, marker) if marker else path)


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def head_card(head_dir):
    """The head's card as a dict, {} when it is missing or unreadable: the panel shows what it can."""
    card = read_json(os.path.join(head_dir, HEAD_CARD)) if head_dir else None
    return card if isinstance(card, dict) else {}


def same_path(a, b):
    return bool(a) and bool(b) and os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def default_output_folder(project=None):
    """Where results go by default: <project folder>/MPM Studio for a saved project, else ~/MPM Studio/<date>."""
    project = project or QgsProject.instance()
    folder = project.absolutePath() if project.fileName() else ""
    if folder:
        return os.path.join(folder, OUTPUT_FOLDER_NAME)
    return os.path.join(os.path.expanduser("~"), OUTPUT_FOLDER_NAME, datetime.date.today().isoformat())


def is_targets_gpkg(path):
    """True for a GeoPackage written by mpm:targets: a layer 'targets' with its rank and area fields (not
    structures.gpkg or any other .gpkg)."""
    if not path.lower().endswith(".gpkg") or not os.path.isfile(path):
        return False
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {r[0] for r in con.execute("SELECT table_name FROM gpkg_contents")}
            if "targets" not in tables:
                return False
            fields = {r[1] for r in con.execute('PRAGMA table_info("targets")')}
        finally:
            con.close()
    except sqlite3.Error:
        return False
    return TARGET_FIELDS <= fields


def result_kind(path):
    """'stack', 'head', 'prediction', 'anomalies', 'model', 'validation' (mpm:validate) or 'targets' (a
    targets GeoPackage) for a results path; else None."""
    if os.path.isfile(path):
        return "targets" if is_targets_gpkg(path) else None
    for kind, marker in RESULT_MARKERS:
        if os.path.exists(os.path.join(path, marker)):
            return kind
    return None


def head_fits(stack_dir, card):
    """Whether predict takes the head of `card` on the stack in `stack_dir`: the engine's matching by layer and band
    name (engine.prospectivity.workflow.head_fits; the same layers in another order fit), from stack.json alone.
    A card that names no bands fits any stack (nothing to tell them apart)."""
    from .engine.data.reader import StackBands
    from .engine.prospectivity.workflow import head_fits as fits

    manifest = read_json(os.path.join(stack_dir, "stack.json")) if stack_dir else None
    if not manifest or "bands" not in manifest:
        return False
    if "stack_bands" not in card and "stack_signature" not in card:
        return True
    return fits(card, StackBands(manifest))[0]


def find_results(folder):
    """[(kind, path)] to open for `folder`: the folder itself when it is a result, else the results in it.

    In an output folder (stack, head, head_2, prediction, ...) the newest of each kind is taken, preferring
    a head trained on the stack taken and a prediction made with the head taken; in chain order.
    """
    kind = result_kind(folder)
    if kind:
        return [(kind, folder)]
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = {}
    for name in names:
        path = os.path.join(folder, name)
        k = result_kind(path)
        if k:
            found.setdefault(k, []).append(path)
    for paths in found.values():
        paths.sort(key=os.path.getmtime, reverse=True)
    chosen = {k: paths[0] for k, paths in found.items()}
    if "stack" in chosen and "head" in chosen:
        same = [h for h in found["head"] if same_path(head_card(h).get("stack"), chosen["stack"])]
        chosen["head"] = same[0] if same else chosen["head"]
    if "head" in chosen and "prediction" in chosen:
        same = [p for p in found["prediction"] if same_path(Prediction(p).head, chosen["head"])]
        chosen["prediction"] = same[0] if same else chosen["prediction"]
    return [(k, chosen[k]) for k in CHAIN_ORDER if k in chosen]


def sibling_stack(path, card=None):
    """The newest stack folder beside `path` (one the head of `card` fits, when given), or None."""
    parent = os.path.dirname(os.path.abspath(path))
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return None
    stacks = [os.path.join(parent, n) for n in names if has(os.path.join(parent, n), "stack.json")]
    stacks = [s for s in stacks if card is None or head_fits(s, card)]
    return max(stacks, key=os.path.getmtime) if stacks else None


def stack_for(head_dir, card):
    """The stack a head was trained on: the one its card names, else a sibling folder with its layers."""
    named = card.get("stack")
    if named and has(named, "stack.json") and head_fits(named, card):
        return named
    return sibling_stack(head_dir, card)


def remember_chain(folders, project=None):
    """Keep the chain's folders ({kind: path or None}, kinds in REMEMBERED) in the project, so that a saved
    project opened again brings its chain back. Only changed entries are written (no needless 'modified')."""
    project = project or QgsProject.instance()
    for kind in REMEMBERED:
        value = os.path.abspath(folders[kind]) if folders.get(kind) else ""
        if project.readEntry(PROJECT_SCOPE, kind, "")[0] != value:
            project.writeEntry(PROJECT_SCOPE, kind, value)


def remembered_chain(project=None):
    """[(kind, path)] the project keeps, in chain order, those still on disk."""
    project = project or QgsProject.instance()
    found = []
    for kind in REMEMBERED:
        path = project.readEntry(PROJECT_SCOPE, kind, "")[0]
        if path and result_kind(path) == kind:
            found.append((kind, path))
    return found
