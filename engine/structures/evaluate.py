"""Held-out scores of a GeoSAM against the classical click baseline, on the very same prompts.

mIoU per structure type and overall (mean over prompts) for three ways of asking: one click,
three clicks, a box. The model answers a single click with the best of its three masks by its
own IoU estimate (what SamPredictor and the ONNX decoder do); more clicks or a box take the single
mask output. Lines are also scored by `centreline_f1` (their centre lines within 3 px), since a
trace parallel to the mapped fault 2 px off is useful yet has an IoU near 0; 'traced' is that F1 of
what the tool gives for lines asked with clicks: the line traced on the image (`trace.py`). The baseline
(`engine.structures.baseline.click_baseline`: marker watershed for bodies, ridge filter for lines) gets
the same image, points, box and, unlike the model, the structure type.

Held-out data: synthetic seeds from EVAL_SEED0 on (training never draws them) and crops inside
the Kolari block KOLARI_HELD_OUT (no training crop touches it).
"""

import numpy as np

from .forward import EVAL_SEED0, MASK_THRESHOLD, decode, dense_embeddings, embed_prompts, normalise_images, prompt_tensors
from .geometry import GEOMETRY_OF
from .training_data import FEATURE_TYPES, kolari_eval_samples, synthetic_eval_samples

MODES = ("click1", "click3", "box")
DEFAULT_EVAL_SCENES = 16
# Kolari crops per evaluation: 6 gave 3 intrusion prompts per mode, too few to read (model 0.076 vs
# baseline 0.357 on one click there; 24 crops, 10 prompts: 0.107 vs 0.062)
KOLARI_EVAL_WINDOWS = 24


def iou(pred, target):
    pred, target = np.asarray(pred, bool), np.asarray(target, bool)
    union = (pred | target).sum()
    return float((pred & target).sum() / union) if union else 1.0


CENTRELINE_TOLERANCE = 3  # px: how far a traced centre line may be from the mapped one and still count


def centreline_f1(pred, target, tol=CENTRELINE_TOLERANCE):
    """F1 of the two masks' skeletons, a pixel counting as matched within `tol` px of the other's.

    Why beside IoU for lines: the tool turns a line mask into its centre line, and a fault drawn
    2 px beside the mapped one, parallel to it, is a good trace with an IoU near 0. This is the
    relaxed precision / recall of road extraction (Mnih & Hinton 2010) on centre lines.
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    p, t = skeletonize(np.asarray(pred, bool)), skeletonize(np.asarray(target, bool))
    if not p.any() or not t.any():
        return float(p.any() == t.any())
    near_t = ndimage.distance_transform_edt(~t) <= tol
    near_p = ndimage.distance_transform_edt(~p) <= tol
    precision, recall = float(near_t[p].mean()), float(near_p[t].mean())
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _mode(prompt):
    if prompt.box is not None and prompt.n_include == 0:
        return "box"
    return "click1" if prompt.single_click else f"click{prompt.n_include}"


def _tokens(prompt):
    """Prompt tokens as the predictor sends them: the points, then a box's 2 corners or 1 padding point."""
    return len(prompt.labels) + (2 if prompt.box is not None else 1)


def predict(model, samples, device=None, chunk=32):
    """Model masks (bool) for samples with prompts; one encoder pass per distinct image.

    Prompts are batched only with prompts of as many tokens, so none gets extra padding points: each
    is decoded exactly as the predictor decodes it in the tool (padding shifted the scores before).
    """
    import torch

    dev = torch.device(device or "cpu")
    model = model.to(dev).eval()
    out = [None] * len(samples)
    groups = {}
    for i, s in enumerate(samples):
        groups.setdefault(id(s.image), {}).setdefault(_tokens(s.prompt), []).append(i)
    with torch.no_grad():
        for by_len in groups.values():
            first = next(iter(by_len.values()))[0]
            img = torch.from_numpy(np.ascontiguousarray(samples[first].image, np.float32))[None].to(dev)
            emb = model.image_encoder(normalise_images(model, img))
            batches = [idxs[c:c + chunk] for idxs in by_len.values() for c in range(0, len(idxs), chunk)]
            for part in batches:
                prompts = [samples[i].prompt for i in part]
                coords, labels = prompt_tensors(prompts, dev)
                sparse = embed_prompts(model.prompt_encoder, coords, labels)
                dense = dense_embeddings(model, None, len(part), dev)
                masks, iou_pred = decode(model, emb.expand(len(part), -1, -1, -1), sparse, dense)
                for k, i in enumerate(part):
                    j = int(torch.argmax(iou_pred[k, 1:])) + 1 if prompts[k].single_click else 0
                    out[i] = (masks[k, j] > MASK_THRESHOLD).cpu().numpy()
    return out


def traced_masks(samples):
    """Line samples traced on the image as the tool does (`trace.trace_line`: one click both ways,
    more clicks joined by the cheapest path); None for bodies and for lines asked with a box only."""
    from .trace import line_maps, trace_line

    maps, out = {}, []
    for s in samples:
        p = s.prompt
        if GEOMETRY_OF.get(s.feature_type) != "line" or p.n_include == 0:
            out.append(None)
            continue
        key = id(s.image)
        if key not in maps:
            maps[key] = line_maps(s.image, s.valid)
        out.append(trace_line(maps[key], p.points[p.labels == 1], p.points[p.labels == 0]).mask)
    return out


def snapped_masks(samples, masks):
    """What the tool gives by default for intrusions and alteration: a body asked with a box is the
    box's ellipse moved by the image (`box.box_body`, nodata kept out as in the tool), one asked with
    clicks the model's mask snapped to edges (`snap.snap_to_edges`); None for line samples."""
    from .box import box_body
    from .snap import snap_to_edges, snaps

    out = []
    for s, m in zip(samples, masks):
        p = s.prompt
        if not snaps(s.feature_type):
            out.append(None)
        elif p.box is not None:
            out.append(box_body(s.image, p.box, p.points, p.labels, getattr(s, "valid", None)))
        else:
            out.append(snap_to_edges(s.image, m, p.points, p.labels, p.box))
    return out


def baseline_masks(samples):
    """(masks, n refused) of click_baseline on the same prompts; None without engine/structures/baseline.py.

    A prompt the baseline refuses (a line with a box but no click on it) scores an empty mask.
    """
    try:
        from .baseline import click_baseline
    except ImportError:
        return None
    from ..core.errors import InputError

    res, failed = [], 0
    for s in samples:
        p = s.prompt
        try:
            m = np.asarray(click_baseline(s.image, p.points, p.labels, box=p.box, feature_type=s.feature_type), bool)
        except InputError:  # e.g. a line asked for with a box only: the baseline needs a click on it
            m, failed = np.zeros(s.mask.shape, bool), failed + 1
        res.append(m)
    return res, failed


def table(samples, scores):
    """{mode: {type: mIoU, 'all': mIoU over prompts}} and {mode: {type: n}}."""
    t, n = {}, {}
    for mode in MODES:
        sel = [(s.feature_type, v) for s, v in zip(samples, scores) if _mode(s.prompt) == mode]
        if not sel:
            continue
        t[mode], n[mode] = {}, {}
        for ft in FEATURE_TYPES:
            vals = [v for f, v in sel if f == ft]
            if vals:
                t[mode][ft] = round(float(np.mean(vals)), 4)
                n[mode][ft] = len(vals)
        t[mode]["all"] = round(float(np.mean([v for _, v in sel])), 4)
        n[mode]["all"] = len(sel)
    return t, n


def evaluate(model, samples, baseline=True, device=None, feedback=None, snap=True):
    """{'model': {mode: {type: mIoU, 'all': ...}}, 'snapped': same, 'baseline': same or None,
    'counts': {mode: {type: n}}}.

    'model' is the model's own masks; 'snapped' is what the tool gives by default: bodies snapped to
    edges (`snap.py`), lines as the model drew them (None with snap=False). 'centreline_f1':
    {'model': ..., 'baseline': ..., 'tolerance_px'} for the line samples.
    `samples`: training_data.Sample with `prompt` set (synthetic_eval_samples / kolari_eval_samples).
    `feedback`: optional callable, called between stages (e.g. a cancel check).
    """
    masks = predict(model, samples, device)
    m_scores = [iou(p, s.mask) for p, s in zip(masks, samples)]
    if feedback:
        feedback()
    model_t, counts = table(samples, m_scores)
    res = {"model": model_t, "snapped": None, "baseline": None, "counts": counts, "n_samples": len(samples)}
    if snap:
        snapped = snapped_masks(samples, masks)
        res["snapped"] = table(samples, [v if m is None else iou(m, s.mask)
                                         for v, m, s in zip(m_scores, snapped, samples)])[0]
        if feedback:
            feedback()
    b = baseline_masks(samples) if baseline else None
    if b is not None:
        res["baseline"] = table(samples, [iou(p, s.mask) for p, s in zip(b[0], samples)])[0]
        res["baseline_refused"] = b[1]
    lines = [i for i, s in enumerate(samples) if GEOMETRY_OF.get(s.feature_type) == "line"]
    if lines:  # how close the traced centre lines run to the mapped ones (what the tool saves)
        sub = [samples[i] for i in lines]
        traced = traced_masks(sub)
        res["centreline_f1"] = {
            "model": table(sub, [centreline_f1(masks[i], samples[i].mask) for i in lines])[0],
            # what the tool saves for lines asked with clicks: the trace (a box alone goes to the model)
            "traced": table(sub, [centreline_f1(masks[i] if t is None else t, samples[i].mask)
                                  for i, t in zip(lines, traced)])[0],
            "baseline": table(sub, [centreline_f1(b[0][i], samples[i].mask) for i in lines])[0] if b else None,
            "tolerance_px": CENTRELINE_TOLERANCE}
    return res


def card_evaluation(results):
    """The part of evaluate()'s results a model card keeps, per held-out set."""
    return {k: {kk: v[kk] for kk in ("model", "snapped", "baseline", "centreline_f1", "counts", "n_samples",
                                    "baseline_refused")
                if kk in v}
            for k, v in results.items()}


def reevaluate_model(model_dir, kolari=None, note=None, feedback=None):
    """Score a GeoSAM folder again (same weights) on today's held-out sets and rewrite its
    evaluation.json and its card's evaluation; returns the results. The weights and their sha256 are
    untouched, so a card can follow the evaluation when the protocol changes (more crops, snapping)."""
    import datetime
    import json
    import os

    from .. import __version__
    from .weights import load_geosam, write_card

    model = load_geosam(model_dir)
    results = {}
    for key, ss in held_out_samples(kolari=kolari).items():
        if ss:
            results[key] = evaluate(model, ss, baseline=True, feedback=feedback)
    card = dict(model.card)
    card["evaluation"] = card_evaluation(results)
    card["evaluated"] = {
        "date": datetime.date.today().isoformat(), "engine_version": __version__,
        "protocol": f"engine.structures.evaluate: {DEFAULT_EVAL_SCENES} synthetic scenes, {KOLARI_EVAL_WINDOWS} Kolari "
                    "held-out crops, prompts decoded one by one as in the tool, bodies also as the tool gives them "
                    "(asked with a box: the box's ellipse moved by the image, box.py; with clicks: snapped to edges, "
                    "snap.py), "
                    f"lines also scored by centre-line F1 within {CENTRELINE_TOLERANCE} px, "
                    "as the model's masks and as traced on the image (trace.py, what the tool saves)",
        **({"note": note} if note else {})}
    folder = os.path.dirname(card["_path"])
    path = os.path.join(folder, "evaluation.json")
    with open(path + ".partial", "w") as f:
        json.dump(results, f, indent=1)
    os.replace(path + ".partial", path)
    write_card(card, folder)
    return results


def held_out_samples(eval_seeds=None, kolari=None, kolari_windows=KOLARI_EVAL_WINDOWS, seed=0):
    """{'synthetic': [...], 'kolari': [...]} of held-out samples (kolari: a KolariData, a data folder or None)."""
    if eval_seeds is None:
        eval_seeds = range(EVAL_SEED0, EVAL_SEED0 + DEFAULT_EVAL_SCENES)
    if any(int(s) < EVAL_SEED0 for s in eval_seeds):
        raise ValueError(f"evaluation seeds must be >= {EVAL_SEED0} (below are training seeds)")
    out = {"synthetic": synthetic_eval_samples(eval_seeds, MODES, seed=seed)}
    if kolari is not None:
        from .training_data import KolariData

        data = KolariData(kolari) if isinstance(kolari, str) else kolari
        out["kolari"] = kolari_eval_samples(data, kolari_windows, MODES, seed=seed)
    return out


def _rows(modes, cols, counts=None):
    """Header and one row per feature type present: cols = [(name, {mode: {type: value}})]."""
    width = {m: len(m) + 7 for m in modes}
    head = f"{'type':<11}" + "".join(f"{m + ' ' + name:>{width[m]}}" for m in modes for name, _ in cols)
    out = [head + (f"{'n':>5}" if counts else "")]
    for ft in list(FEATURE_TYPES) + ["all"]:
        if not any(ft in cols[0][1].get(m, {}) for m in modes):
            continue
        row = f"{ft:<11}"
        for m in modes:
            for _, t in cols:
                v = t.get(m, {}).get(ft)
                row += f"{v:>{width[m]}.3f}" if v is not None else f"{'-':>{width[m]}}"
        out.append(row + (f"{counts[modes[0]].get(ft, 0):>5}" if counts else ""))
    return out


def format_table(results, title=""):
    """Text table: rows = type, columns = model (its own mask), snap (bodies snapped to edges, when
    evaluated) and baseline, per prompt mode; then the lines' centre-line F1 when evaluated."""
    lines = [title] if title else []
    modes = [m for m in MODES if m in results["model"]]
    cols = [("model", results["model"])]
    if results.get("snapped"):
        cols.append(("snap", results["snapped"]))
    cols.append(("base", results.get("baseline") or {}))
    lines += _rows(modes, cols, results.get("counts"))
    f1 = results.get("centreline_f1")
    if f1:
        lines.append(f"centre-line F1 within {f1.get('tolerance_px', CENTRELINE_TOLERANCE)} px (lines):")
        lines += _rows(modes, [("model", f1["model"])] + ([("trace", f1["traced"])] if f1.get("traced") else [])
                       + [("base", f1.get("baseline") or {})])
    return "\n".join(lines)
