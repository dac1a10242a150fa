"""The small trainable head on frozen embeddings: an ensemble of tiny models, trained PU-style.

Why an ensemble: with 10-60 deposits one network's output is mostly its own luck. Each member
sees a bootstrap of the deposits and its own draw of likely-negatives from the unlabelled
background, so the members' spread is an honest uncertainty (label noise + sampling), and the
mean is steadier than any member. Why so small: a 96-wide embedding and a few dozen positives.
The default member is linear (a logistic probe, weight decay, early stopping): on Kolari's
spatial cross-validation it scored ROC-AUC 0.92 against 0.73 for a 32-unit MLP member, which
overfits 13 deposits (HeadConfig(hidden=32) still gives the MLP for larger deposit sets).

Training needs torch; applying a head does not (plain numpy), so prediction runs wherever the
ONNX encoders run. Weights are safetensors with their sha256 in head_card.json.
"""

import dataclasses
import datetime
import json
import os
from dataclasses import asdict, dataclass

import numpy as np

from .. import __version__
from ..core.errors import InputError
from ..foundation.model.weights import ModelCard, read_card_file
from ..foundation.model.weights import sha256_file as _sha256

from .artifacts import HEAD_CARD as CARD, HEAD_WEIGHTS as WEIGHTS

HEAD_FORMAT = "mpm-studio-head"


INPUTS = ("bands", "both", "emb")  # what the head reads: evidence bands, bands + embedding, embedding only
BINS_PER_DEPOSITS, MAX_BINS = 20, 10
WOFE_SHARE = 1.0 / 3.0
CALIBRATION_LEVELS = 1001  # quantiles kept per member to put every member on the background-share scale


@dataclass
class HeadConfig:
    inputs: str = "bands"  # see INPUTS; chosen by bench/bench_skill.py (bench/SKILL.md)
    bins: int = -1  # > 0: continuous bands also enter as their binned weight of evidence (engine.prospectivity.evidence);
    # -1: one bin per BINS_PER_DEPOSITS training deposits, at most MAX_BINS (none with few deposits: they would overfit)
    forest: int = 150  # trees of the random-forest members on the raw bands (engine.prospectivity.forest); 0 = linear members only
    wofe_weight: float = -1.0  # share of the score of a multi-class weights-of-evidence member (deciles, classes);
    # -1: WOFE_SHARE when the deposits are enough for binned weights (bins > 0), else none (it overfits a few deposits)
    hidden: int = 0  # 0 = linear members; > 0 = one GELU hidden layer of this width
    dropout: float = 0.0
    members: int = 5
    negatives_per_positive: int = 20  # likely-negatives per deposit drawn by each member
    weight_decay: float = 1e-2
    lr: float = 3e-3
    max_epochs: int = 400
    patience: int = 40
    seed: int = 0


def _gelu(x):
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class HeadEnsemble:
    """members: list of dicts W1 (D, H), b1 (H,), W2 (H, 1), b2 (1,); mean/std standardise features."""

    def __init__(self, members, mean, std, config=None, encoder=None):
        self.members = members
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.config = config or HeadConfig()
        self.encoder = encoder  # engine.prospectivity.evidence.EvidenceEncoder when the head reads bands
        self.forest = None  # engine.prospectivity.forest sub-forests on the raw bands, one member each
        self.forest_features = 0
        self.calibration = None  # (M, Q) quantiles of each member's output over the training background
        self.wofe = None  # engine.prospectivity.evidence.decile_wofe whose summed weights are one more member
        self.class_remap = {}  # band -> (codes of the stack predicted, codes the head knows): set by predict
        self.band_order = None  # stack band of each band the head reads (prospectivity.match_bands): set by predict

    @property
    def reads_bands(self):
        return self.encoder is not None

    @property
    def reads_embedding(self):
        return self.encoder is None or self.config.inputs == "both"

    def features(self, bands=None, emb=None):
        """(n, D) head features from stack bands (n, C) and / or embeddings (n, E), as the head was trained."""
        parts = []
        if self.reads_bands:
            parts.append(self.encoder.transform(bands))
        if self.reads_embedding:
            parts.append(np.asarray(emb, np.float32))
        return np.concatenate(parts, 1)

    def member_probs_from(self, bands=None, emb=None):
        """(M, n): the linear members on the head features, then the tree members on the raw bands."""
        p = self.member_probs(self.features(bands, emb))
        if self.forest:
            from .forest import forest_probs

            p = np.concatenate([p, forest_probs(self.forest, bands)])
        if self.wofe is not None:
            p = np.concatenate([p, self.wofe.weight_sum(bands)[None]])
        if self.calibration is not None:
            p = self._to_background_share(p)
        return p

    def member_weights(self, m):
        """Weight of each of m members in the score: equal, except the weights-of-evidence member's share."""
        w = np.ones(m)
        if self.wofe is not None:
            share = float(self.config.wofe_weight)
            w[:-1] = (1.0 - share) / (m - 1)
            w[-1] = share
        return w / w.sum()

    def _to_background_share(self, p):
        """Each member's output as the share of the training background it exceeds: the linear and
        tree members speak on one scale (their raw probabilities differ by 100x), and 0.9 reads as
        'above 90 % of the background'."""
        n = self.calibration.shape[1]
        levels = np.linspace(0.0, 1.0, n)
        out = np.empty_like(p)
        for i, q in enumerate(self.calibration):
            bad = ~np.isfinite(p[i])
            x = np.where(bad, 0.0, p[i])
            lo, hi = np.searchsorted(q, x, "left"), np.searchsorted(q, x, "right")
            # a value many background cells share (a forest's 0) takes the middle of their block, not its top
            out[i] = np.where(hi - lo > 1, (lo + hi - 1) / (2.0 * (n - 1)), np.interp(x, q, levels))
            out[i][bad] = np.nan
        return out

    def predict_from(self, bands=None, emb=None):
        """(probability, uncertainty) from bands and / or embeddings: the members' mean and spread."""
        p = self.member_probs_from(bands, emb)
        return self.weighted_mean(p), p.std(0)

    def weighted_mean(self, p):
        """(n,) score from the members' (M, n) outputs, summed in a fixed order (no BLAS: same bits anywhere)."""
        w = self.member_weights(len(p))
        out = np.zeros(p.shape[1:], np.float64)
        for wi, pi in zip(w, p):
            out += wi * pi.astype(np.float64)
        return out.astype(np.float32)

    @property
    def dim(self):
        return self.mean.shape[0]

    def member_probs(self, x):
        """(M, n) probability of every member for features x (n, D); NaN rows give NaN."""
        x = np.asarray(x, np.float32)
        bad = ~np.isfinite(x).all(1)
        # float64: a float32 BLAS product rounds differently with the thread count, and a map must not
        # depend on how many threads (or Dask workers) computed it
        z = (np.where(bad[:, None], 0.0, x) - self.mean).astype(np.float64) / self.std
        out = np.empty((len(self.members), len(x)), np.float32)
        for i, m in enumerate(self.members):
            m = {k: np.asarray(v, np.float64) for k, v in m.items()}
            h = _gelu(z @ m["W1"] + m["b1"]) if "W2" in m else z
            logit = (h @ m["W2"] + m["b2"])[:, 0] if "W2" in m else (z @ m["W1"] + m["b1"])[:, 0]
            out[i] = 1.0 / (1.0 + np.exp(-np.clip(logit, -40, 40)))
        out[:, bad] = np.nan
        return out

    def predict(self, x):
        """(probability, uncertainty): the members' mean and standard deviation."""
        p = self.member_probs(x)
        return p.mean(0), p.std(0)


def fit_head(x, y, config=None, feedback=None):
    """Train a HeadEnsemble on features x (n, D) and labels y (1 deposit, 0 unlabelled)."""
    import torch
    from torch import nn

    cfg = config or HeadConfig()
    x = np.asarray(x, np.float32)
    y = np.asarray(y).astype(np.int8)
    if not np.isfinite(x).all():
        raise InputError("some training samples have no features (NaN)", fix="drop samples on nodata before training")
    pos, unl = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    if len(pos) < 2 or len(unl) < 2:
        raise InputError(f"need at least 2 deposits and 2 background samples, got {len(pos)} and {len(unl)}",
                         fix="add deposits or enlarge the area")
    # Tiny matrices: one thread is faster than a pool that contends for the cores (measured 10x).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(torch, nn, x, y, pos, unl, cfg, feedback)
    finally:
        torch.set_num_threads(threads)


def _fit(torch, nn, x, y, pos, unl, cfg, feedback):
    mean, std = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / std
    rng = np.random.default_rng(cfg.seed)
    torch.manual_seed(cfg.seed)
    members = []
    for m in range(cfg.members):
        bp = rng.choice(pos, size=len(pos), replace=True)
        nn_ = min(len(unl), cfg.negatives_per_positive * len(pos))
        bn = rng.choice(unl, size=nn_, replace=False)
        # early-stopping split: a fifth of each class (at least one deposit)
        vp = max(1, len(bp) // 5)
        vn = max(1, len(bn) // 5)
        tr = np.concatenate([bp[vp:], bn[vn:]])
        va = np.concatenate([bp[:vp], bn[:vn]])
        members.append(_train_member(torch, nn, z[tr], y[tr], z[va], y[va], cfg, seed=cfg.seed * 1000 + m))
        if feedback is not None:
            from ..core.progress import Steps

            Steps(feedback).report((m + 1) / cfg.members)
    return HeadEnsemble(members, mean, std, cfg)


def _train_member(torch, nn, xt, yt, xv, yv, cfg, seed):
    torch.manual_seed(seed)
    d = xt.shape[1]
    if cfg.hidden:
        net = nn.Sequential(nn.Linear(d, cfg.hidden), nn.GELU(), nn.Dropout(cfg.dropout), nn.Linear(cfg.hidden, 1))
    else:  # linear (logistic) member: the right capacity for a handful of deposits
        net = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(d, 1))
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    xt_, yt_ = torch.from_numpy(xt), torch.from_numpy(yt.astype(np.float32))
    xv_, yv_ = torch.from_numpy(xv), torch.from_numpy(yv.astype(np.float32))
    # class weighting: deposits and background count equally in the loss
    pw = torch.tensor(max(1.0, float((yt == 0).sum()) / max(1, int((yt == 1).sum()))))
    pwv = torch.tensor(max(1.0, float((yv == 0).sum()) / max(1, int((yv == 1).sum()))))
    best, best_state, wait = np.inf, None, 0
    for _ in range(cfg.max_epochs):
        net.train()
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(net(xt_)[:, 0], yt_, pos_weight=pw)
        loss.backward()
        opt.step()
        net.eval()
        with torch.no_grad():
            v = float(nn.functional.binary_cross_entropy_with_logits(net(xv_)[:, 0], yv_, pos_weight=pwv))
        if v < best - 1e-4:
            best, wait = v, 0
            best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
        else:
            wait += 1
            if wait >= cfg.patience:
                break
    net.load_state_dict(best_state)
    sd = {k: t.numpy() for k, t in net.state_dict().items()}
    if not cfg.hidden:
        return {"W1": sd["1.weight"].T.copy(), "b1": sd["1.bias"].copy()}
    return {"W1": sd["0.weight"].T.copy(), "b1": sd["0.bias"].copy(), "W2": sd["3.weight"].T.copy(), "b2": sd["3.bias"].copy()}


def fit_evidence_head(bands, emb, y, config=None, categorical=None, feedback=None):
    """A head on the inputs config.inputs names: bands encoded by engine.prospectivity.evidence, embeddings as they are."""
    from .evidence import EvidenceEncoder, decile_wofe

    cfg = config or HeadConfig()
    if cfg.inputs not in INPUTS:
        raise InputError(f"unknown head inputs '{cfg.inputs}'", fix=f"use one of {', '.join(INPUTS)}")
    y = np.asarray(y).astype(int)
    if cfg.bins < 0:
        cfg = dataclasses.replace(cfg, bins=min(MAX_BINS, int(y.sum()) // BINS_PER_DEPOSITS))
    if cfg.wofe_weight < 0:
        cfg = dataclasses.replace(cfg, wofe_weight=WOFE_SHARE if cfg.bins > 0 else 0.0)
    encoder = None
    if cfg.inputs != "emb":
        encoder = EvidenceEncoder(categorical if categorical is not None else [False] * bands.shape[1], bins=cfg.bins)
        encoder.fit(bands, y)
    probe = HeadEnsemble([], np.zeros(1), np.ones(1), cfg, encoder)
    head = fit_head(probe.features(bands, emb), y, cfg, feedback=feedback)
    head.encoder = encoder
    if cfg.forest and encoder is not None:
        from .forest import fit_forest

        head.forest, head.forest_features = fit_forest(bands, y, cfg.forest, cfg.members, seed=cfg.seed)
    if cfg.wofe_weight > 0 and encoder is not None:
        head.wofe = decile_wofe(encoder.categorical).fit(bands, y)
    bg = y == 0
    raw = head.member_probs_from(None if bands is None else bands[bg], None if emb is None else emb[bg])
    head.calibration = np.quantile(raw, np.linspace(0.0, 1.0, CALIBRATION_LEVELS), axis=1).T.astype(np.float32)
    return head


class HeadMethod:
    """fit(x, y) / predict(x) on the columns engine.prospectivity.assess hands over (bands, then embeddings)."""

    def __init__(self, config, categorical, n_bands):
        self.config, self.categorical, self.n_bands = config, categorical, n_bands

    def _split(self, x):
        bands, emb = x[:, :self.n_bands], x[:, self.n_bands:]
        return {"emb": (None, emb), "both": (bands, emb), "bands": (bands, None)}[self.config.inputs]

    def fit(self, x, y):
        self.head = fit_evidence_head(*self._split(x), y, self.config, self.categorical[:self.n_bands or 0])
        return self

    def predict(self, x):
        return self.head.predict_from(*self._split(x))[0]


# --------------------------------------------------------------------------- save / load
def save_head(head, out_dir, card_extra):
    """Write head.safetensors + head_card.json (with sha256) into out_dir; return the card path."""
    from safetensors.numpy import save_file

    os.makedirs(out_dir, exist_ok=True)
    tensors = {"mean": head.mean, "std": head.std}
    if head.encoder is not None:
        tensors.update(head.encoder.to_tensors())
    if head.calibration is not None:
        tensors["calibration"] = np.ascontiguousarray(head.calibration, np.float32)
    if head.wofe is not None:
        tensors.update(head.wofe.to_tensors("wofe."))
    if head.forest:
        from .forest import to_tensors

        tensors.update(to_tensors(head.forest, head.forest_features))
    for i, m in enumerate(head.members):
        for k, v in m.items():
            tensors[f"member{i}.{k}"] = np.ascontiguousarray(v, np.float32)
    wpath = os.path.join(out_dir, WEIGHTS)
    save_file(tensors, wpath, metadata={"format": HEAD_FORMAT})
    card = {"format": HEAD_FORMAT, "engine_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "weights_file": WEIGHTS, "sha256": _sha256(wpath), "config": asdict(head.config),
            "members": len(head.members), "feature_dim": head.dim, **card_extra}
    cpath = os.path.join(out_dir, CARD)
    with open(cpath, "w") as f:
        json.dump(card, f, indent=1)
    return cpath


def read_head_card(path):
    cpath = os.path.join(path, CARD) if os.path.isdir(path) else path
    return read_card_file(cpath, HEAD_FORMAT, None, "head card",
                          fix="give the folder written by fine-tune (it holds head_card.json)")


def open_head(path):
    """The head folder (or its card) as a ModelCard: the card read once; verify() checks the weights once."""
    if isinstance(path, ModelCard):
        return path
    return ModelCard(read_head_card(path), fix="re-run fine-tune or restore the original head folder")


def load_head(path):
    """HeadEnsemble + its card; the weights' sha256 is checked (ModelCard.verify) before they are parsed.
    path: a head folder or card, or an open_head handle."""
    from safetensors.numpy import load_file

    handle = open_head(path)
    card = handle.card
    wpath = handle.verify()
    t = load_file(wpath)
    members = [{k: t[f"member{i}.{k}"] for k in ("W1", "b1", "W2", "b2") if f"member{i}.{k}" in t}
               for i in range(card["members"])]
    fields = HeadConfig.__dataclass_fields__
    config = dict(card.get("config", {}))
    config.setdefault("inputs", "emb")  # heads written before the evidence encoding read embeddings only
    cfg = HeadConfig(**{k: v for k, v in config.items() if k in fields})
    encoder = None
    if "enc.fill" in t:
        from .evidence import EvidenceEncoder

        encoder = EvidenceEncoder.from_tensors(t)
    head = HeadEnsemble(members, t["mean"], t["std"], cfg, encoder)
    from .forest import from_tensors

    head.forest, head.forest_features = from_tensors(t)
    head.calibration = t.get("calibration")
    if "wofe.fill" in t:
        from .evidence import EvidenceEncoder

        head.wofe = EvidenceEncoder.from_tensors(t, "wofe.")
    return head, card
