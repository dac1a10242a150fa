"""Held-out scores of a GeoSAM against the classical click baseline, on the very same prompts.

mIoU per structure type and overall (mean over prompts) for three ways of asking: one click,
three clicks, a box. The model answers a single click with the best of its three masks by its
own IoU estimate (what SamPredictor and the ONNX decoder do); more clicks or a box take the single
mask output. The baseline (`engine.sam.baseline.click_baseline`: marker watershed for bodies, ridge
filter for lines) gets the same image, points, box and, unlike the model, the structure type.

Held-out data: synthetic seeds from EVAL_SEED0 on (training never draws them) and crops inside
the Kolari block KOLARI_HELD_OUT (no training crop touches it).
"""

import numpy as np

from .train import EVAL_SEED0, MASK_THRESHOLD, decode, dense_embeddings, embed_prompts, normalise_images, prompt_tensors
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


def _mode(prompt):
    if prompt.box is not None and prompt.n_include == 0:
        return "box"
    return "click1" if prompt.single_click else f"click{prompt.n_include}"


def predict(model, samples, device=None, chunk=32):
    """Model masks (bool) for samples with prompts; one encoder pass per distinct image."""
    import torch

    dev = torch.device(device or "cpu")
    model = model.to(dev).eval()
    out = [None] * len(samples)
    groups = {}
    for i, s in enumerate(samples):
        groups.setdefault(id(s.image), []).append(i)
    with torch.no_grad():
        for idxs in groups.values():
            img = torch.from_numpy(np.ascontiguousarray(samples[idxs[0]].image, np.float32))[None].to(dev)
            emb = model.image_encoder(normalise_images(model, img))
            for c in range(0, len(idxs), chunk):
                part = idxs[c:c + chunk]
                prompts = [samples[i].prompt for i in part]
                coords, labels = prompt_tensors(prompts, dev)
                sparse = embed_prompts(model.prompt_encoder, coords, labels)
                dense = dense_embeddings(model, None, len(part), dev)
                masks, iou_pred = decode(model, emb.expand(len(part), -1, -1, -1), sparse, dense)
                for k, i in enumerate(part):
                    j = int(torch.argmax(iou_pred[k, 1:])) + 1 if prompts[k].single_click else 0
                    out[i] = (masks[k, j] > MASK_THRESHOLD).cpu().numpy()
    return out


def baseline_masks(samples):
    """(masks, n refused) of click_baseline on the same prompts; None without engine/sam/baseline.py.

    A prompt the baseline refuses (a line with a box but no click on it) scores an empty mask.
    """
    try:
        from .baseline import click_baseline
    except ImportError:
        return None
    from ..errors import InputError

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


def evaluate(model, samples, baseline=True, device=None, feedback=None):
    """{'model': {mode: {type: mIoU, 'all': ...}}, 'baseline': same or None, 'counts': {mode: {type: n}}}.

    `samples`: training_data.Sample with `prompt` set (synthetic_eval_samples / kolari_eval_samples).
    `feedback`: optional callable, called between stages (e.g. a cancel check).
    """
    masks = predict(model, samples, device)
    m_scores = [iou(p, s.mask) for p, s in zip(masks, samples)]
    if feedback:
        feedback()
    model_t, counts = table(samples, m_scores)
    res = {"model": model_t, "baseline": None, "counts": counts, "n_samples": len(samples)}
    if baseline:
        b = baseline_masks(samples)
        if b is not None:
            res["baseline"] = table(samples, [iou(p, s.mask) for p, s in zip(b[0], samples)])[0]
            res["baseline_refused"] = b[1]
    return res


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


def format_table(results, title=""):
    """Text table: rows = type, columns = model / baseline per prompt mode."""
    lines = [title] if title else []
    modes = [m for m in MODES if m in results["model"]]
    head = f"{'type':<11}" + "".join(f"{m + ' model':>14}{m + ' base':>13}" for m in modes) + f"{'n':>5}"
    lines.append(head)
    base = results.get("baseline") or {}
    for ft in list(FEATURE_TYPES) + ["all"]:
        if not any(ft in results["model"][m] for m in modes):
            continue
        row = f"{ft:<11}"
        for m in modes:
            mv = results["model"][m].get(ft)
            bv = base.get(m, {}).get(ft)
            row += f"{mv:>14.3f}" if mv is not None else f"{'-':>14}"
            row += f"{bv:>13.3f}" if bv is not None else f"{'-':>13}"
        row += f"{results['counts'][modes[0]].get(ft, 0):>5}"
        lines.append(row)
    return "\n".join(lines)
