"""Train GeoSAM (engine/structures/modeling.py) on synthetic structures plus the Kolari maps.

SAM's recipe at our scale: per step a batch of images, each with several structures and a random
prompt per structure (1-3 clicks, sometimes an exclude click, sometimes a jittered box); loss
20 x focal + 1 x dice on the mask plus the MSE of the IoU head; for a single click (ambiguous) the
least loss of the three multimask outputs; with probability `refine` a second decoder pass adds a
corrective click from the error region and the first pass's logits as mask prompt (what a user's
next click does). AdamW with linear warm-up and cosine decay over the run; a run capped by
`minutes` follows the schedule by elapsed time, so it still anneals.

Two departures, both measured on CPU runs of this budget (bench/RESULTS.md): from a random start
the focal term (alpha 0.25 on the few structure pixels, gamma 2) keeps the decoder on a blank mask
for hundreds of steps and, switched on after a cross-entropy start, dropped training IoU from
0.15 to 0.05; so `bce_warmup` (the shipped recipe: the whole run) puts cross-entropy / 20 in its
place. And `locality_init` ties the decoder's cross-attention query / key projections at the start.
Most steps run on 128 px windows (`crop`), the same weights at half the input size.

Nothing half-written: everything goes into a temporary folder beside `out_dir`, moved into place
at the end (engine/core/atomic.py); cancel or an error removes it.
"""

import csv
import json
import math
import os
import time

import numpy as np

from ..core.atomic import atomic_path
from ..core.errors import InputError
from ..core.progress import Steps
from .forward import (EVAL_SEED0, MASK_THRESHOLD, decode, dense_embeddings, embed_prompts, normalise_images,
                      prompt_tensors)
from .modeling import GeoSamConfig, build_geosam
from .training_data import (KOLARI_HELD_OUT, KolariBank, KolariData, SampleBank, sample_prompt, synthetic_bank)


def locality_init(model, gain=2.5):
    """Start the decoder's cross-attentions with tied, scaled query / key projections.

    Then the dot product of a click token's and an image token's positional encodings (SAM's random
    Fourier features, largest where the positions coincide) already steers attention from the start,
    so image tokens near a click take up that click: the decoder begins with masks that depend on
    where the click is instead of having to discover it from a random start. Only an
    initialisation; the architecture is SAM's.
    """
    import torch

    tr = model.mask_decoder.transformer
    atts = [a for layer in tr.layers for a in (layer.cross_attn_image_to_token, layer.cross_attn_token_to_image)]
    with torch.no_grad():
        for a in atts + [tr.final_attn_token_to_image]:
            a.q_proj.weight.mul_(gain)
            a.k_proj.weight.copy_(a.q_proj.weight)
    return model


# --------------------------------------------------------------------------- losses


def _losses(logits, target, bce=False):
    """Per-mask focal (SAM: alpha 0.25, gamma 2, mean over pixels) and dice; logits (B, K, H, W).

    bce: plain cross-entropy / 20 in place of the focal term (warm-up: from a random start the focal
    term's damping keeps the decoder on an all-background answer for hundreds of steps).
    """
    import torch
    import torch.nn.functional as F

    t = target.unsqueeze(1).expand_as(logits)
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, t, reduction="none")
    if bce:
        focal = ce.flatten(2).mean(-1) / 20
    else:
        pt = p * t + (1 - p) * (1 - t)
        focal = ((0.25 * t + 0.75 * (1 - t)) * ce * (1 - pt) ** 2).flatten(2).mean(-1)
    inter = (p * t).flatten(2).sum(-1)
    dice = 1 - (2 * inter + 1) / (p.flatten(2).sum(-1) + t.flatten(2).sum(-1) + 1)
    with torch.no_grad():
        hard = logits > MASK_THRESHOLD
        tb = t > 0.5
        iou = (hard & tb).flatten(2).sum(-1).float() / ((hard | tb).flatten(2).sum(-1).float().clamp(min=1))
    return focal, dice, iou


def mask_loss(masks, iou_pred, target, multi, bce=False):
    """SAM's loss per prompt; `multi` (B,) bool: single click -> min over outputs 1-3, else output 0."""
    import torch

    focal, dice, iou = _losses(masks, target, bce)
    seg = 20 * focal + dice                      # (B, 4)
    iou_mse = (iou_pred - iou) ** 2              # (B, 4)
    multi_seg, best = seg[:, 1:].min(1)
    loss = torch.where(multi, multi_seg, seg[:, 0])
    iou_l = torch.where(multi, iou_mse[:, 1:].mean(1), iou_mse[:, 0])
    pick = torch.where(multi, best + 1, torch.zeros_like(best))
    ar = torch.arange(len(pick), device=masks.device)
    return {"loss": loss.mean() + iou_l.mean(), "focal": focal[ar, pick].mean(), "dice": dice[ar, pick].mean(),
            "iou_mse": iou_l.mean(), "iou": iou[ar, pick].mean(), "pick": pick}


def corrective_prompt(prompt, pred, target, rng):
    """The prompt plus one click where the prediction is most wrong (include on a miss, exclude on a false hit)."""
    from .training_data import Prompt

    fn, fp = target & ~pred, pred & ~target
    err = fn if fn.sum() >= fp.sum() else fp
    if not err.any():
        err = target
        lab = 1
    else:
        lab = 1 if err is fn else 0
    from scipy import ndimage

    dt = ndimage.distance_transform_edt(np.pad(err, 1))[1:-1, 1:-1]
    r, c = np.nonzero(dt >= dt.max() * 0.7)
    k = int(rng.integers(len(r)))
    pts = np.concatenate([prompt.points.reshape(-1, 2), [[c[k] + 0.5, r[k] + 0.5]]]).astype(np.float32)
    return Prompt(pts, np.concatenate([prompt.labels, [lab]]).astype(np.int64), prompt.box)


# --------------------------------------------------------------------------- batches


def _augment(image, masks, rng):
    k, flip = int(rng.integers(4)), bool(rng.integers(2))
    image = np.rot90(image, k, axes=(1, 2))
    masks = [np.rot90(m, k) for m in masks]
    if flip:
        image = image[:, :, ::-1]
        masks = [m[:, ::-1] for m in masks]
    return np.ascontiguousarray(image), [np.ascontiguousarray(m) for m in masks]


def _crop_window(mask, size, rng):
    """A size x size window (r0, c0) of the image holding a random pixel of `mask`."""
    H, W = mask.shape
    r, c = np.nonzero(mask)
    k = int(rng.integers(len(r)))
    r0 = int(np.clip(r[k] - rng.integers(size // 8, size - size // 8), 0, H - size))
    c0 = int(np.clip(c[k] - rng.integers(size // 8, size - size // 8), 0, W - size))
    return r0, c0


def draw_batch(bank, rng, n_images, per_image, crop=None):
    """n_images images, each with `per_image` structures (same view) and a prompt each.

    crop: train on crop x crop windows of the views (same pixel scale, 4 x cheaper at half the side);
    each window holds a random pixel of its first structure, the others are kept if enough of them is in it.
    """
    from .training_data import MIN_PIXELS

    images, groups = [], []
    for _ in range(n_images):
        first = bank.draw(rng)
        items = [first]
        # further structures of the same view: redraw from the same entry until the image matches
        for _ in range(per_image - 1):
            s = bank.draw_same(rng, first)
            if s is not None:
                items.append(s)
        image, masks = first.image, [s.mask for s in items]
        if crop and crop < image.shape[1]:
            r0, c0 = _crop_window(masks[0], crop, rng)
            image = image[:, r0:r0 + crop, c0:c0 + crop]
            masks = [m[r0:r0 + crop, c0:c0 + crop] for m in masks]
            keep = [k for k, m in enumerate(masks) if k == 0 or m.sum() >= MIN_PIXELS[items[k].feature_type] // 2]
            items, masks = [items[k] for k in keep], [masks[k] for k in keep]
        img, masks = _augment(image, masks, rng)
        prompts = [sample_prompt(m, s.feature_type, rng) for m, s in zip(masks, items)]
        images.append(img)
        groups.append([(m, s.feature_type, p) for m, s, p in zip(masks, items, prompts)])
    return np.stack(images), groups


def set_resolution(model, img_size):
    """Run the same weights at another input size (the encoder is convolutional, SAM's positional
    encoding is on normalised coordinates): used to train on half-size crops, cheaply."""
    e = img_size // 4
    model.image_encoder.img_size = img_size
    model.prompt_encoder.image_embedding_size = (e, e)
    model.prompt_encoder.input_image_size = (img_size, img_size)
    return model


# --------------------------------------------------------------------------- training


def _lr(progress, base, warmup=0.03, floor=0.02):
    if progress < warmup:
        return base * max(progress / warmup, 0.02)
    q = (progress - warmup) / max(1 - warmup, 1e-9)
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(q, 1.0))))


def train_geosam(out_dir, steps, seed=0, batch=8, feedback=None, minutes=None, prompts_per_image=4,
                 lr=1e-3, weight_decay=0.05, refine=0.3, synthetic_scenes=256, kolari=None,
                 kolari_fraction=0.25, kolari_windows=64, config=None, device=None, threads=None,
                 eval_seeds=None, eval_kolari=True, onnx=True, overwrite=False, name="mpm-geosam-v2",
                 log_every=10, crop=128, crop_fraction=0.7, crop_batch_factor=2, bce_warmup=0.3,
                 attention_gain=2.5):
    """Train a GeoSAM into `out_dir` (new or empty unless overwrite) and return its card.

    kolari: the Kolari data folder (None: synthetic only). Held-out: synthetic seeds >= EVAL_SEED0
    and the Kolari block KOLARI_HELD_OUT, never drawn for training. `minutes` caps the wall clock
    (data preparation included); the run stops at `steps` or at the cap, whichever comes first.
    crop: for the first `crop_fraction` of the run, train on crop x crop windows (same pixel scale)
    with crop_batch_factor x the images, then on full img_size views (None: full size throughout).
    bce_warmup: for this first share of the run, cross-entropy / 20 replaces the focal term.
    attention_gain: locality_init of the decoder's cross-attentions (0: SAM's own initialisation).
    """
    import torch

    t0 = time.time()
    steps = int(steps)
    if steps < 1:
        raise InputError(f"steps must be at least 1, got {steps}", fix="pass --steps 1 or more")
    if threads:
        torch.set_num_threads(int(threads))
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    prog = Steps(feedback)
    if os.path.isdir(out_dir) and not os.listdir(out_dir):
        os.rmdir(out_dir)  # an empty folder (QGIS may create it up front) is replaced
    with atomic_path(out_dir, overwrite=overwrite, directory=True, what="GeoSAM model folder", inputs=(kolari,)) as tmp:
        # ---- data
        rng = np.random.default_rng([int(seed), 42])
        seeds = (np.arange(int(synthetic_scenes)) + 10_007 * int(seed)) % EVAL_SEED0
        prep = prog.sub(0.0, 0.08)
        entries = synthetic_bank(seeds, feedback=lambda f: prep.report(f * 0.8))
        kb, kdata = None, None
        if kolari:
            kdata = KolariData(kolari)
            kb = KolariBank(kdata, n_windows=kolari_windows, seed=seed)
        bank = TrainBank(entries, kolari_fraction, kb)
        prep.report(1.0, f"training data: {len(entries)} synthetic scenes"
                         + (f", {len(kb.entries)} Kolari crops outside the held-out block" if kb else ""))
        # ---- model
        torch.manual_seed(int(seed))
        cfg = config or GeoSamConfig()
        model = build_geosam(cfg)
        if attention_gain:
            locality_init(model, attention_gain)
        model = model.to(dev).train()
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.999))
        train_prog = prog.sub(0.08, 0.85)
        log_rows, recent = [], []
        budget = None if minutes is None else float(minutes) * 60.0
        step, phase_low = 0, False
        for step in range(1, steps + 1):
            elapsed = time.time() - t0
            progress = max((step - 1) / steps, elapsed / budget if budget else 0.0)
            if budget and elapsed >= budget:
                step -= 1
                break
            cur_lr = _lr(progress, lr)
            for g in opt.param_groups:
                g["lr"] = cur_lr
            low = bool(crop) and progress < crop_fraction
            if low != phase_low:
                set_resolution(model, crop if low else cfg.img_size)
                phase_low = low
                if not low:
                    train_prog.info(f"step {step}: full-size views from here")
            stats = train_step(model, opt, bank, rng, batch * (crop_batch_factor if low else 1), prompts_per_image,
                               refine, dev, crop=crop if low else None, bce=progress < bce_warmup)
            recent.append(stats)
            if step % log_every == 0 or step == steps:
                avg = {k: float(np.mean([r[k] for r in recent])) for k in recent[0]}
                recent = []
                log_rows.append({"step": step, "seconds": round(time.time() - t0, 1), "lr": cur_lr, **avg})
                if step % (log_every * 10) == 0:
                    _write_losses(tmp, log_rows, plot=False)  # a running record inside the temporary folder
                train_prog.report(progress, f"step {step}: loss {avg['loss']:.4f} (focal {avg['focal']:.4f}, "
                                            f"dice {avg['dice']:.3f}, IoU {avg['iou']:.3f})")
            else:
                train_prog.check()
        if step == 0:
            raise InputError("no training step fitted in the time cap", fix="raise minutes")
        if recent:
            avg = {k: float(np.mean([r[k] for r in recent])) for k in recent[0]}
            log_rows.append({"step": step, "seconds": round(time.time() - t0, 1), "lr": cur_lr, **avg})
        train_seconds = time.time() - t0
        set_resolution(model, cfg.img_size)
        model.eval().cpu()
        _write_losses(tmp, log_rows)
        # ---- evaluation on held-out data
        from .evaluate import evaluate, held_out_samples

        prog.report(0.86, "evaluating on held-out scenes")
        samples = held_out_samples(eval_seeds, kolari=kdata if eval_kolari else None)
        ev = {}
        for key, ss in samples.items():
            if ss:
                ev[key] = evaluate(model, ss, baseline=True, feedback=prog.check)
        prog.check()
        last = log_rows[-max(1, min(5, len(log_rows))):]
        final = {k: round(float(np.mean([r[k] for r in last])), 5) for k in ("loss", "focal", "dice", "iou_mse", "iou")}
        training = {
            "recipe": "scripts/train_geosam.sh",
            "steps": int(step), "steps_requested": steps, "batch_images": int(batch),
            "prompts_per_image": int(prompts_per_image), "lr": lr, "weight_decay": weight_decay,
            "schedule": "linear warm-up 3 %, cosine to 2 % (by max(step / steps, elapsed / cap))",
            "loss": ("20 x focal + dice (min over the 3 outputs for a single click) + MSE of the IoU head; "
                     f"cross-entropy in place of 20 x focal for the first {bce_warmup:.0%} of the run"),
            "refine_fraction": refine, "seed": int(seed), "attention_init_gain": attention_gain,
            "curriculum": (f"first {crop_fraction:.0%} of the run on {crop} x {crop} windows of the views, "
                           f"{batch * crop_batch_factor} images per step; then full {cfg.img_size} px views")
            if crop else f"full {cfg.img_size} px views throughout", "seconds": round(train_seconds, 1),
            "minutes_cap": minutes, "device": str(dev), "threads": torch.get_num_threads(),
            "final_losses": final,
            "augmentation": "half the draws restretched with a random gamma in STRETCH_GAMMA; a quarter more Kolari "
                            "crops read zoomed out (COARSE_ZOOM x the window shrunk to 256 px); "
                            "engine/structures/training_data.py",
            "data": {
                "synthetic": {"scenes": int(len(seeds)), "seeds": f"{int(seeds.min())}..{int(seeds.max())}"
                              f" (generate_scene, 256 px; every 4th with a nodata edge strip; magnetics and gravity "
                              f"also as their tilt derivative)",
                              "held_out_seeds": f">= {EVAL_SEED0}"},
                "kolari": None if kb is None else {
                    "grids": "GTK Geophysics_100m (magnetics, AEM in-phase, apparent resistivity, K, total count), "
                             "and the magnetics' tilt derivative and total horizontal gradient (engine/data/derivatives.py)",
                    "labels": "IOCG_CLB_Structures_1M faults (one by one, all_touched), plutonic polygons of "
                              "IOCG_CLB_Lith_Asstn_1M as intrusions, shared polygon boundaries > 3 km as contacts",
                    "crops": len(kb.entries), "crop_px": 256, "fraction_of_draws": kolari_fraction,
                    "held_out_block": {"bounds": list(KOLARI_HELD_OUT), "crs": "EPSG:3067",
                                       "what": "south-east quadrant, never cropped for training"}},
            },
        }
        from .evaluate import card_evaluation

        card_eval = card_evaluation(ev)
        from .weights import save_geosam

        card = save_geosam(model, tmp, name=name, description=(
            "GeoSAM: SAM's prompt encoder and mask decoder on a small CNN image encoder, trained from scratch on "
            "seeded synthetic geology and the GTK Kolari maps to extract faults, lineaments (dykes), contacts, "
            "intrusions and alteration zones from 1-3 stretched bands with clicks or a box."),
            training=training, evaluation=card_eval)
        with open(os.path.join(tmp, "evaluation.json"), "w") as f:
            json.dump(ev, f, indent=1)
        if onnx:
            try:
                from .onnx_export import export_model_folder
            except ImportError:
                export_model_folder = None
            if export_model_folder is not None:
                prog.report(0.96, "exporting ONNX")
                export_model_folder(tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a model folder is for everyone to read
        for root, _dirs, files in os.walk(tmp):
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        prog.report(1.0, f"GeoSAM trained: {step} steps in {train_seconds / 60:.1f} min")
    from .weights import read_card

    card = read_card(out_dir)
    card.pop("_path", None)
    return card


class TrainBank(SampleBank):
    """SampleBank that can draw further structures of the very same view (bands and crop)."""

    def draw(self, rng):
        from .training_data import SHOWS, _draw_entry, restretch

        if self.kolari is not None and (not self.entries or rng.random() < self.kolari_fraction):
            entry, shows = self.kolari.entries[int(rng.integers(len(self.kolari.entries)))], None
        else:
            entry, shows = self.entries[int(rng.integers(len(self.entries)))], SHOWS
        s = restretch(_draw_entry(entry, rng, shows), rng)
        s._entry, s._shows = entry, shows
        return s

    def draw_same(self, rng, first):
        from .training_data import TYPE_WEIGHTS, Sample

        e, shows = first._entry, first._shows
        ok = [i for i, t in enumerate(e.types) if shows is None or shows[t] & set(first.bands)]
        if not ok:
            return None
        w = np.array([TYPE_WEIGHTS[e.types[i]] for i in ok], float)
        i = ok[int(rng.choice(len(ok), p=w / w.sum()))]
        return Sample(first.image, e.mask(i), e.types[i], e.source, first.bands)


def train_step(model, opt, bank, rng, batch, per_image, refine, dev, crop=None, bce=False):
    import torch

    images, groups = draw_batch(bank, rng, batch, per_image, crop)
    x = normalise_images(model, torch.from_numpy(images).to(dev))
    emb = model.image_encoder(x)
    flat = [(i, m, t, p) for i, g in enumerate(groups) for m, t, p in g]
    idx = torch.tensor([f[0] for f in flat], device=dev)
    target = torch.from_numpy(np.stack([f[1] for f in flat]).astype(np.float32)).to(dev)
    prompts = [f[3] for f in flat]
    coords, labels = prompt_tensors(prompts, dev, extra_pad=2, rng=rng)
    multi = torch.tensor([p.single_click for p in prompts], device=dev)
    src = emb[idx]
    sparse = embed_prompts(model.prompt_encoder, coords, labels)
    dense = dense_embeddings(model, None, len(flat), dev)
    masks, iou_pred = decode(model, src, sparse, dense)
    out = mask_loss(masks, iou_pred, target, multi, bce)
    loss = out["loss"]
    stats = {k: float(out[k].detach()) for k in ("loss", "focal", "dice", "iou_mse", "iou")}
    if refine > 0:
        sel = np.flatnonzero(rng.random(len(flat)) < refine)
        if len(sel):
            ar = torch.arange(len(flat), device=dev)
            prev = masks[ar, out["pick"]].detach()[sel].unsqueeze(1)
            pred = (prev[:, 0] > MASK_THRESHOLD).cpu().numpy()
            new = [corrective_prompt(prompts[j], pred[k], flat[j][1], rng) for k, j in enumerate(sel)]
            c2, l2 = prompt_tensors(new, dev, extra_pad=1, rng=rng)
            sel_t = torch.from_numpy(sel).to(dev)
            m2, i2 = decode(model, src[sel_t], embed_prompts(model.prompt_encoder, c2, l2),
                            dense_embeddings(model, prev, len(sel), dev))
            out2 = mask_loss(m2, i2, target[sel_t], torch.zeros(len(sel), dtype=torch.bool, device=dev), bce)
            loss = loss + out2["loss"] * (len(sel) / len(flat))
            stats["refine_loss"] = float(out2["loss"].detach())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    stats.setdefault("refine_loss", float("nan"))
    return stats


def _write_losses(folder, rows, plot=True):
    if not rows:
        return
    keys = list(rows[0])
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(os.path.join(folder, "losses.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    if not plot:
        return
    try:
        from ..core.mpl import pyplot

        plt = pyplot()
    except ImportError:
        return
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.2))
    s = [r["step"] for r in rows]
    ax[0].plot(s, [r["loss"] for r in rows], label="total")
    ax[0].plot(s, [r["dice"] for r in rows], label="dice")
    ax[0].plot(s, [20 * r["focal"] for r in rows], label="20 x focal (or cross-entropy)")
    ax[0].set_xlabel("step"), ax[0].legend(), ax[0].set_title("training loss")
    ax[1].plot(s, [r["iou"] for r in rows])
    ax[1].set_xlabel("step"), ax[1].set_title("training IoU (prompted mask)")
    fig.tight_layout()
    fig.savefig(os.path.join(folder, "losses.png"), dpi=90)
    plt.close(fig)
