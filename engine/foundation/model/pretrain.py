"""Two-stage self-supervised pretraining on Scenes (no deposits or labels are ever read).

Stage 1: each source encoder learns alone as a masked autoencoder (75 % of patches hidden; with
layer_masking, that share of batches hides 75 % of each layer's patches on their own).
Stage 2: the encoders are FROZEN and the fusion module + cross-source decoder learn to rebuild a
wholly hidden source from the others. Freezing keeps the stage-1 encoders exactly as validated,
makes stage 2 cheap (no encoder backward pass) and stops the cross-source task from eroding
within-source detail; the fusion is the only part that has to learn how sources relate.

Randomness is derived from (seed, stage, step), so a resumed run draws the same windows and
masks as an uninterrupted one without storing RNG state in the checkpoint.

Data-parallel: started by `torchrun --nproc_per_node=N` (WORLD_SIZE > 1 in the environment),
pretrain() joins the process group (NCCL on GPUs, one per LOCAL_RANK; gloo on the CPU), wraps
each trained part in DistributedDataParallel, draws windows and masks from (seed, stage, step,
rank), checks cancel collectively once per step (every rank stops at the same step) and lets
rank 0 alone write checkpoints, weights, card and curves. Each rank trains on batch_size windows,
so the effective batch is N x batch_size. Without WORLD_SIZE (or with 1) nothing of this runs.
"""

import csv
import errno
import json
import os
import time

import numpy as np

from ...core.errors import Cancelled, InputError
from ...core.progress import Steps
from .config import ModelConfig, count_flops, count_params
from ...data.vocab import layer_ids

CHECKPOINT = "checkpoint.pt"
MIN_VALID = 0.5


# --------------------------------------------------------------------------- window sampling
def _window_fraction(valid2d, win, step):
    """Fraction of valid pixels of every win x win window on a `step` grid (summed-area table)."""
    sat = np.zeros((valid2d.shape[0] + 1, valid2d.shape[1] + 1), np.float64)
    sat[1:, 1:] = valid2d.cumsum(0).cumsum(1)
    ys = np.arange(0, valid2d.shape[0] - win + 1, step)
    xs = np.arange(0, valid2d.shape[1] - win + 1, step)
    y0, x0 = np.meshgrid(ys, xs, indexing="ij")
    tot = sat[y0 + win, x0 + win] - sat[y0, x0 + win] - sat[y0 + win, x0] + sat[y0, x0]
    return y0.ravel(), x0.ravel(), tot.ravel() / (win * win)


class WindowSampler:
    """Random windows whose valid-pixel fraction is at least MIN_VALID, per source (stage 1) and
    over all sources (stage 2)."""

    def __init__(self, scenes, config, vocab=None, steps=None):
        self.scenes = scenes
        self.win = config.window
        self.ids = []  # per scene: {source: ids}
        self.single = {}  # source -> list of (scene, y, x)
        self.joint = []  # (scene, y, x) with >= 2 sources holding data
        unknown = set()
        for si, sc in enumerate(scenes):
            h, w = sc.shape
            if h < self.win or w < self.win:
                raise InputError(
                    f"scene {si} is {h} x {w} pixels, smaller than the {self.win} px model window",
                    fix="use larger scenes or a smaller window in ModelConfig",
                )
            ids = {}
            fracs = {}
            for s, arr in sc.sources.items():
                i, unk = layer_ids(arr.layers, s, vocab)
                unknown.update(f"{s}/{n}" for n in unk)
                ids[s] = np.asarray(i, np.int64)
                y0, x0, f = _window_fraction(np.isfinite(arr.data).mean(0), self.win, config.patch)
                fracs[s] = f
                ok = f >= MIN_VALID
                self.single.setdefault(s, []).extend((si, y, x) for y, x in zip(y0[ok], x0[ok]))
            self.ids.append(ids)
            if fracs:
                stacked = np.stack(list(fracs.values()))
                ok = (stacked.mean(0) >= MIN_VALID) & ((stacked > 0.1).sum(0) >= 2)
                self.joint.extend((si, y, x) for y, x in zip(y0[ok], x0[ok]))
        self.single = {s: np.asarray(v, np.int64).reshape(-1, 3) for s, v in self.single.items() if v}
        self.joint = np.asarray(self.joint, np.int64).reshape(-1, 3)
        if unknown and steps is not None:
            steps.info(f"Layers without a learned type (use their source's 'unknown' embedding): {', '.join(sorted(unknown))}")

    @property
    def sources(self):
        return sorted(self.single)

    @staticmethod
    def _cut(rng, cands):
        """Candidates of ONE scene, drawn in proportion to its windows: a batch cannot mix
        scenes because their channel sets may differ."""
        scene_idx = cands[rng.integers(len(cands)), 0]
        return scene_idx, cands[cands[:, 0] == scene_idx]

    def batch(self, rng, source, size):
        cands = self.single[source]
        scene_idx, mine = self._cut(rng, cands)
        pick = mine[rng.integers(len(mine), size=size)]
        x = self._stack(scene_idx, source, pick)
        k, flip = int(rng.integers(4)), bool(rng.integers(2))
        return _augment(x, k, flip), self.ids[scene_idx][source]

    def joint_batch(self, rng, size):
        scene_idx, mine = self._cut(rng, self.joint)
        pick = mine[rng.integers(len(mine), size=size)]
        k, flip = int(rng.integers(4)), bool(rng.integers(2))
        sc = self.scenes[scene_idx]
        return {s: {"x": _augment(self._stack(scene_idx, s, pick), k, flip), "ids": self.ids[scene_idx][s]} for s in sc.sources}

    def _stack(self, scene_idx, source, pick):
        data = self.scenes[scene_idx].sources[source].data
        w = self.win
        return np.stack([data[:, y:y + w, x:x + w] for _, y, x in pick]).astype(np.float32)


def _augment(x, k, flip):
    """Rotations/flips: geology has no preferred orientation at window scale."""
    x = np.rot90(x, k, axes=(2, 3))
    if flip:
        x = x[..., ::-1]
    return np.ascontiguousarray(x)


# --------------------------------------------------------------------------- data-parallel helpers
class _Dist:
    """Rank, world size and the collectives pretrain needs; a no-op when WORLD_SIZE <= 1."""

    def __init__(self, device):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank, self.local_rank, self.owns_group = 0, 0, False
        self.device = device
        if self.world <= 1:
            self.world = 1
            return
        import torch
        import torch.distributed as dist

        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device.type == "cuda":
            self.device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(self.device)
        if not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
            self.owns_group = True
        self.rank, self.world = dist.get_rank(), dist.get_world_size()

    @property
    def on(self):
        return self.world > 1

    @property
    def main(self):
        return self.rank == 0

    def wrap(self, module):
        """module inside DistributedDataParallel (parameters used per step vary: channel dropout,
        the target source), or the module itself in a single process."""
        if not self.on:
            return module
        from torch.nn.parallel import DistributedDataParallel as DDP

        import inspect

        ids = [self.device.index] if self.device.type == "cuda" else None
        # buffers are constant position tables: no need to sync them every forward
        sync = ("forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(DDP.__init__).parameters
                else "broadcast_buffers")
        return DDP(module, device_ids=ids, find_unused_parameters=True, **{sync: False})

    def reduce(self, values, op="sum"):
        """values (list of floats) reduced over the ranks (as float64)."""
        if not self.on:
            return list(values)
        import torch
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(t, op={"sum": dist.ReduceOp.SUM, "min": dist.ReduceOp.MIN}[op])
        return t.cpu().tolist()

    def barrier(self):
        if self.on:
            import torch.distributed as dist

            dist.barrier()

    def close(self):
        if self.owns_group:
            import torch.distributed as dist

            dist.destroy_process_group()
            self.owns_group = False


def _adapters():
    """nn.Modules whose forward() is the training loss: DDP synchronises through forward/backward."""
    import torch.nn as nn

    class MAEStep(nn.Module):
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

        def forward(self, *args, layers=False, **kwargs):
            return (self.encoder.mae_layers_forward if layers else self.encoder.mae_forward)(*args, **kwargs)

    class CrossStep(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, batch, target, drop_others=None):
            return self.model.cross_source_loss(batch, target, drop_others=drop_others)

    return MAEStep, CrossStep


def state_digest(model):
    """sha256 over the state dict (names and bytes, sorted): equal on every rank after DDP training."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- training helpers
def _lr(step, total, base):
    warm = max(1, int(0.05 * total))
    if step < warm:
        return float(base * (step + 1) / warm)
    t = (step - warm) / max(1, total - warm)
    return float(base * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(t, 1.0)))))


def _save_checkpoint(path, model, opt, stage, step, history, meta):
    import torch

    tmp = path + ".partial"
    try:
        torch.save({"model": model.state_dict(), "opt": opt.state_dict() if opt is not None else None,
                    "stage": stage, "step": step, "history": history, "meta": meta}, tmp)
    except RuntimeError as exc:  # torch's C++ writer loses errno: a full disk or file-size limit reads as this
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise OSError(errno.EIO, f"write failed ({str(exc).strip().splitlines()[0]})", tmp) from exc
    os.replace(tmp, path)


def _load_checkpoint(path, meta):
    import torch

    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file
        raise InputError(
            f"checkpoint '{path}' cannot be read ({exc.__class__.__name__})",
            fix="delete it, or start over: resume=False in Python, --no-resume on the command line, RESUME=false in QGIS",
        ) from None
    if ck.get("meta") != meta:
        raise InputError(
            f"checkpoint '{path}' was made with different settings (config, sources or seed)",
            fix="use a new output folder, or start over: resume=False in Python, --no-resume on the command line, RESUME=false in QGIS",
        )
    return ck


def write_loss_outputs(history, out_dir):
    """losses.csv (stage, step, source, loss) and losses.png (raw + running mean per source)."""
    csv_path = os.path.join(out_dir, "losses.csv")
    with open(csv_path, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["stage", "step", "source", "loss"])
        wr.writerows(history)
    png_path = os.path.join(out_dir, "losses.png")
    from ...core.mpl import pyplot

    pyplot()  # Agg, and the Axes3D warning of Debian's mpl_toolkits silenced
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), dpi=100)
    titles = {1: "Stage 1: per-source MAE (masked patches, valid pixels)", 2: "Stage 2: hidden source from the others"}
    for k, stage in enumerate((1, 2)):
        ax = fig.add_subplot(1, 2, k + 1)
        rows = [r for r in history if r[0] == stage]
        for src in sorted({r[2] for r in rows}):
            st = np.array([r[1] for r in rows if r[2] == src])
            lo = np.array([r[3] for r in rows if r[2] == src])
            line, = ax.plot(st, lo, alpha=0.25, lw=0.8)
            win = max(1, len(lo) // 20)
            ax.plot(st, np.convolve(lo, np.ones(win) / win, mode="same") if win > 1 else lo, color=line.get_color(), label=src)
        ax.set_title(titles[stage], fontsize=9)
        ax.set_xlabel("step")
        ax.set_ylabel("MSE (z-score units)")
        if rows:
            ax.set_yscale("log")
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png_path)
    return csv_path, png_path


def _final(history, stage, last=20):
    out = {}
    for src in sorted({r[2] for r in history if r[0] == stage}):
        vals = [r[3] for r in history if r[0] == stage and r[2] == src][-last:]
        out[src] = float(np.mean(vals))
    return out


class _RankFeedback:
    """Feedback of one rank under DDP: progress and messages from rank 0 only; never cancelled by
    itself (a rank that stopped alone would leave the others waiting in a collective)."""

    def __init__(self, feedback, speak):
        self._fb, self._speak = feedback, speak

    def isCanceled(self):  # noqa: N802
        return False

    def setProgress(self, percent):  # noqa: N802
        if self._speak:
            self._fb.setProgress(percent)

    def pushInfo(self, text):  # noqa: N802
        if self._speak:
            self._fb.pushInfo(text)


# --------------------------------------------------------------------------- entry point
RECIPE_LAYER_MASKING = 0.5  # what the shipped v2 was pretrained with (scripts/train_foundation.sh)


def pretrain(scenes, config=None, steps_stage1=1000, steps_stage2=500, out_dir="pretrain_out", seed=0,
             device=None, feedback=None, resume=True, batch_size=16, lr=None, channel_dropout=0.3,
             checkpoint_every=50, data_description=None, init_model=None, layer_masking=0.0):
    """Pretrain a FoundationModel on `scenes` (list of engine.data.scene.Scene); returns a summary dict.

    Writes to out_dir: checkpoint.pt (resumable; re-running with resume=True continues from it),
    weights.safetensors + model_card.json + MODEL_CARD.md, losses.csv, losses.png.
    init_model: a foundation model (card, folder or loaded model) to start from instead of random
    weights -- adapting a pretrained model to one's own area takes far fewer steps than training
    from scratch. Its config is used; tensors that fit are copied, new sources start fresh, and its
    sources without data here are kept as they are. lr defaults to 1e-3 from scratch, 3e-4 warm.
    layer_masking: share of stage-1 batches (sources with 2+ layers) masked per layer instead of
    per patch (SourceEncoder.mae_layers_forward): the encoder learns how its layers relate; None:
    the shipped recipe's RECIPE_LAYER_MASKING, or 0 where the config has an interpolation prior.
    Scene labels are never read. Under torchrun (WORLD_SIZE > 1) it trains data-parallel (see the
    module's docstring); rank 0 writes, every rank returns the summary with "rank", "world_size"
    and "state_digest" (equal on all ranks).
    """
    import torch

    steps = Steps(feedback)
    base = _init_model(init_model, config)
    config = base.config if base is not None else (config or ModelConfig())
    lr = lr if lr is not None else (3e-4 if base is not None else 1e-3)
    if layer_masking is None:
        layer_masking = RECIPE_LAYER_MASKING if config.recon_prior == "none" else 0.0
    if not 0.0 <= layer_masking <= 1.0:
        raise InputError(f"layer_masking must be between 0 and 1, got {layer_masking}", fix="pass a share such as 0.5")
    if layer_masking > 0 and config.recon_prior != "none":
        raise InputError("per-layer masking cannot be combined with an interpolation prior (recon_prior)",
                         fix="use layer_masking=0 with recon_prior='idw', or recon_prior='none'")
    if not scenes:
        raise InputError("no scenes to pretrain on", fix="pass at least one Scene")
    os.makedirs(out_dir, exist_ok=True)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    dist_ = _Dist(device)
    try:
        return _pretrain(scenes, config, steps_stage1, steps_stage2, out_dir, seed, dist_.device, steps, resume,
                         batch_size, lr, channel_dropout, checkpoint_every, data_description, dist_, base,
                         layer_masking)
    finally:
        dist_.close()


def _init_model(init_model, config):
    """The model to start from (loaded and sha256-verified), or None; refuses a conflicting config."""
    if init_model is None:
        return None
    from .weights import load_model

    base = init_model if hasattr(init_model, "encoders") else load_model(init_model)
    if config is not None and config.to_dict() != base.config.to_dict():
        raise InputError("a model config was given together with a model to start from, and they differ",
                         fix="leave the config out: a warm start keeps the architecture of the model it starts from")
    return base


def _warm_start(model, base):
    """Copy base's tensors into model where name and shape agree; returns (copied, fresh) tensor names."""
    own = model.state_dict()
    theirs = base.state_dict()
    copied = [k for k in own if k in theirs and tuple(theirs[k].shape) == tuple(own[k].shape)]
    for k in copied:
        own[k] = theirs[k].detach().clone()
    model.load_state_dict(own)
    return copied, [k for k in own if k not in set(copied)]


def _pretrain(scenes, config, steps_stage1, steps_stage2, out_dir, seed, device, steps, resume, batch_size, lr,
              channel_dropout, checkpoint_every, data_description, dist_, base=None, layer_masking=0.0):
    import torch

    from .fusion import FoundationModel
    from .weights import save_model

    feedback = steps.feedback
    if dist_.on:  # rank 0 speaks; cancel is checked by all ranks together (check_cancel), never by one alone
        steps = Steps(_RankFeedback(feedback, speak=dist_.main))
    sampler = WindowSampler(scenes, config, steps=steps)
    sources = sampler.sources
    if not sources:
        raise InputError(
            f"no {config.window} x {config.window} px window in any scene has at least {MIN_VALID:.0%} valid pixels",
            fix="check the layers' nodata values and extents",
        )
    steps.info(f"Pretraining on {device.type}: sources {', '.join(sources)}; "
               f"{sum(len(v) for v in sampler.single.values())} source windows, {len(sampler.joint)} joint windows"
               + (f"; data-parallel over {dist_.world} processes ({batch_size} windows each)" if dist_.on else ""))
    MAEStep, CrossStep = _adapters()
    tag = [dist_.rank] if dist_.on else []  # per-rank draws; a single process keeps its historical seeds

    def save(*a):
        if dist_.main:
            _save_checkpoint(ck_path, model, *a)

    def check_cancel():
        """Cancelled on every rank when any rank's feedback asks (a single process: as before)."""
        if dist_.on and dist_.reduce([float(feedback.isCanceled())])[0] > 0:
            raise Cancelled()

    torch.manual_seed(seed)
    model_sources = sorted(set(sources) | set(base.sources)) if base is not None else sources
    model = FoundationModel(config, model_sources)
    origin = None
    if base is not None:
        copied, fresh = _warm_start(model, base)
        card = getattr(base, "card", None) or {}
        origin = {"name": os.path.basename(os.path.dirname(os.path.abspath(card["_path"]))) if card.get("_path") else None,
                  "sha256": card.get("sha256"), "tensors_copied": len(copied), "tensors_fresh": len(fresh)}
        steps.info(f"Starting from {origin['name'] or 'the given model'}: {len(copied)} tensors copied, "
                   f"{len(fresh)} new" + (f" (new sources: {', '.join(sorted(set(sources) - set(base.sources)))})"
                                          if set(sources) - set(base.sources) else ""))
    model = model.to(device)
    meta = {"config": config.to_dict(), "sources": model_sources, "seed": int(seed)}
    if layer_masking:
        meta["layer_masking"] = float(layer_masking)
    if origin is not None:
        meta["init_sha256"] = origin["sha256"]
    ck_path = os.path.join(out_dir, CHECKPOINT)
    history, stage, start = [], 1, 0
    ck = None
    if resume and os.path.exists(ck_path):
        ck = _load_checkpoint(ck_path, meta)
        model.load_state_dict(ck["model"])
        history = [list(r) for r in ck["history"]]
        stage, start = ck["stage"], ck["step"]
        steps.info(f"Resuming from stage {stage}, step {start}")
    t0 = time.time()
    joint_ok = len(sampler.joint) > 0 and len(sources) >= 2
    total = steps_stage1 + (steps_stage2 if joint_ok else 0)

    def gen(stage_, step_):
        g = torch.Generator(device=device)
        g.manual_seed(int(np.random.SeedSequence([seed, stage_, step_, 7] + tag).generate_state(1)[0]))
        return g

    # ---------------- stage 1
    if stage == 1:
        params = [p for s in sources for p in model.encoders[s].parameters()]
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
        if ck is not None and ck["stage"] == 1 and ck["opt"] is not None:
            opt.load_state_dict(ck["opt"])
        model.train()
        mae = {s: dist_.wrap(MAEStep(model.encoders[s])) for s in sources}
        done = start
        try:
            for step in range(start, steps_stage1):
                check_cancel()
                rng = np.random.default_rng([seed, 1, step] + tag)
                for g_ in opt.param_groups:
                    g_["lr"] = float(_lr(step, steps_stage1, lr))
                opt.zero_grad(set_to_none=True)
                losses = {}
                mode_rng = np.random.default_rng([seed, 1, step, 11])  # same masking mode on every rank
                for s in sources:
                    x, ids = sampler.batch(rng, s, batch_size)
                    x = torch.from_numpy(x).to(device)
                    ids_t = torch.from_numpy(ids).to(device)
                    if len(ids) > 1 and layer_masking and mode_rng.random() < layer_masking:
                        out = mae[s](x, None, ids_t, generator=gen(1, step), layers=True)
                    else:
                        keep = None
                        if len(ids) > 1 and rng.random() < channel_dropout:
                            k = np.ones(len(ids), bool)
                            k[rng.choice(len(ids), size=int(rng.integers(1, len(ids))), replace=False)] = False
                            keep = torch.from_numpy(k).to(device)
                        out = mae[s](x, None, ids_t, input_channels=keep, generator=gen(1, step))
                    out["loss"].backward()
                    losses[s] = float(out["loss"].detach())
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                if dist_.on:  # the curve shows the mean over the ranks
                    losses = dict(zip(losses, (v / dist_.world for v in dist_.reduce(list(losses.values())))))
                history.extend([1, step, s, v] for s, v in losses.items())
                done = step + 1
                if (step + 1) % checkpoint_every == 0:
                    save(opt, 1, step + 1, history, meta)
                steps.report((step + 1) / max(1, total), None if step % 50 else
                             f"stage 1 step {step + 1}/{steps_stage1}: " + ", ".join(f"{s} {v:.3f}" for s, v in losses.items()))
        except Cancelled:
            save(opt, 1, done, history, meta)
            dist_.barrier()  # every rank leaves together once rank 0's checkpoint is on disk
            raise
        stage, start, ck = 2, 0, None
        save(None, 2, 0, history, meta)

    # ---------------- stage 2 (encoders frozen)
    if joint_ok and steps_stage2 > 0:
        for p in model.encoders.parameters():
            p.requires_grad_(False)
        params = list(model.fusion.parameters()) + list(model.cross_decoder.parameters())
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
        if ck is not None and ck["stage"] == 2 and ck["opt"] is not None:
            opt.load_state_dict(ck["opt"])
        model.train()
        cross = dist_.wrap(CrossStep(model))
        done = start
        try:
            for step in range(start, steps_stage2):
                check_cancel()
                rng = np.random.default_rng([seed, 2, step] + tag)
                for g_ in opt.param_groups:
                    g_["lr"] = float(_lr(step, steps_stage2, lr))
                batch = sampler.joint_batch(rng, batch_size)
                have = [s for s in batch if s in sources and np.isfinite(batch[s]["x"]).mean() > 0.05]
                if dist_.reduce([float(len(have) >= 2)], "min")[0] < 1:  # every rank skips, or none
                    done = step + 1
                    continue
                target = have[int(rng.integers(len(have)))]
                others = [s for s in have if s != target]
                drop = [s for s in others if rng.random() < 0.25]
                if len(drop) == len(others):
                    drop = drop[:-1]
                batch = {s: batch[s] for s in have}
                opt.zero_grad(set_to_none=True)
                loss, _ = cross(batch, target, drop_others=drop)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                history.append([2, step, target, float(loss.detach())])
                done = step + 1
                if (step + 1) % checkpoint_every == 0:
                    save(opt, 2, step + 1, history, meta)
                steps.report((steps_stage1 + step + 1) / max(1, total), None if step % 50 else
                             f"stage 2 step {step + 1}/{steps_stage2}: hide {target} -> {float(loss.detach()):.3f}")
        except Cancelled:
            save(opt, 2, done, history, meta)
            dist_.barrier()  # every rank leaves together once rank 0's checkpoint is on disk
            raise
        save(None, 2, steps_stage2, history, meta)
    elif steps_stage2 > 0:
        steps.info("Stage 2 skipped: it needs windows where at least two sources hold data")

    # ---------------- outputs
    model.eval()
    for p in model.parameters():
        p.requires_grad_(True)
    digest = state_digest(model)
    if not dist_.main:
        dist_.barrier()  # rank 0 has written everything once this returns
        return {"rank": dist_.rank, "world_size": dist_.world, "state_digest": digest, "out_dir": out_dir,
                "card": os.path.join(out_dir, "model_card.json"), "weights": os.path.join(out_dir, "weights.safetensors"),
                "sources": sources, "device": device.type}
    csv_path, png_path = write_loss_outputs(history, out_dir)
    final = {"stage1": _final(history, 1), "stage2": _final(history, 2)}
    channels = {s: max(len(ids[s]) for ids in sampler.ids if s in ids) for s in sources}
    flops = count_flops(config, channels)
    data = data_description or {
        "scenes": len(scenes),
        "shapes": [list(map(int, sc.shape)) for sc in scenes],
        "layers": {s: sorted({n for sc in scenes if s in sc.sources for n in sc.sources[s].layers}) for s in sources},
        "windows": {"per_source": {s: int(len(v)) for s, v in sampler.single.items()}, "joint": int(len(sampler.joint))},
        "min_valid_fraction": MIN_VALID,
    }
    training = {
        "steps_stage1": int(steps_stage1), "steps_stage2": int(steps_stage2 if joint_ok else 0),
        "batch_size": int(batch_size), "lr": float(lr), "seed": int(seed), "device": device.type,
        "channel_dropout": float(channel_dropout), "layer_masking": float(layer_masking), "stage2_encoders": "frozen",
        "final_losses": final, "seconds_this_session": round(time.time() - t0, 1),
    }
    if origin is not None:
        training["initialised_from"] = origin
    card_path = save_model(model, out_dir, data=data, training=training, flops_channels=channels, flops=flops)
    summary = {
        "card": card_path,
        "weights": os.path.join(out_dir, "weights.safetensors"),
        "checkpoint": ck_path,
        "losses_csv": csv_path,
        "losses_png": png_path,
        "final_losses": final,
        "sources": sources,
        "device": device.type,
        "params": {"embedding": model.embedding_param_count(), "total": count_params(model)},
        "flops_per_window": flops,
        "seconds": round(time.time() - t0, 1),
    }
    if dist_.on:
        summary.update(rank=0, world_size=dist_.world, state_digest=digest)
    with open(os.path.join(out_dir, "pretrain_summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    steps.report(1.0, f"Pretraining done: {json.dumps(final)}")
    dist_.barrier()
    return summary
