"""Cross-source fusion and the FoundationModel that holds one encoder per source.

Fusion is a small mixture of experts per spatial patch: each source has its own expert
projection, and gates (content scores plus a learned per-source bias) decide, per head, how much
each present source contributes. A learned 'no source' member keeps the output defined where
no source has data, and absent sources are simply left out, so any subset of sources works.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import SOURCES
from ...core.errors import InputError
from .encoder import SourceEncoder, prepare
from .layers import NEG, Block, ChannelHead, masked_mse, patchify, sincos_2d
from ...data.vocab import source_id


class SourceFusion(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = config
        d, h = c.dim, c.heads
        self.heads = h
        self.source_emb = nn.Embedding(c.n_sources, d)
        nn.init.normal_(self.source_emb.weight, std=0.02)
        self.norm_in = nn.LayerNorm(d)
        self.gate = nn.Linear(d, h)
        self.gate_bias = nn.Parameter(torch.zeros(c.n_sources, h))  # learned source gates
        self.null_gate = nn.Parameter(torch.full((h,), -2.0))
        self.null_value = nn.Parameter(torch.zeros(d))
        self.expert_w = nn.Parameter(torch.empty(c.n_sources, d, d))
        self.expert_b = nn.Parameter(torch.zeros(c.n_sources, d))
        nn.init.trunc_normal_(self.expert_w, std=1.0 / math.sqrt(d))
        self.proj = nn.Linear(d, d)
        self.register_buffer("pos", sincos_2d(c.grid, d), persistent=False)
        self.blocks = nn.ModuleList([Block(d, h, c.mlp_ratio) for _ in range(c.fusion_depth)])
        self.norm = nn.LayerNorm(d)

    def forward(self, tokens, present, source_ids):
        """tokens: (B, S, N, D); present: (B, S, N) bool or 0/1 float; source_ids: (S,) long.

        Returns fused (B, N, D). Returns the gate weights too via `gates()` for inspection.
        """
        return self._fuse(tokens, present, source_ids)[0]

    def _fuse(self, tokens, present, source_ids):
        b, s, n, d = tokens.shape
        h = self.heads
        present = present > 0
        t = self.norm_in(tokens) + self.source_emb(source_ids)[None, :, None, :]
        scores = self.gate(t) + self.gate_bias[source_ids][None, :, None, :]  # (B, S, N, H)
        scores = scores.masked_fill(~present.unsqueeze(-1), NEG)
        null = self.null_gate.reshape(1, 1, 1, h).expand(b, 1, n, h)
        w = torch.softmax(torch.cat([scores, null], dim=1), dim=1)  # (B, S+1, N, H)
        # Per-source expert projection as one batched matmul over sources (no Einsum in ONNX).
        experts = (t.transpose(0, 1).reshape(s, b * n, d) @ self.expert_w[source_ids]).reshape(s, b, n, d).transpose(0, 1)
        experts = experts + self.expert_b[source_ids][None, :, None, :]
        experts = experts.reshape(b, s, n, h, d // h)
        mixed = (w[:, :s, :, :, None] * experts).sum(dim=1)  # (B, N, H, D/H)
        mixed = mixed + w[:, s, :, :, None] * self.null_value.reshape(h, d // h)
        z = self.proj(mixed.reshape(b, n, d)) + self.pos
        for blk in self.blocks:
            z = blk(z)
        return self.norm(z), w

    def gates(self, tokens, present, source_ids):
        """Per-patch source weights (B, S+1, N) averaged over heads; the last row is 'no source'."""
        return self._fuse(tokens, present, source_ids)[1].mean(dim=-1)


class CrossSourceDecoder(nn.Module):
    """Stage-2 head: reconstructs every channel of a hidden source from the fused tokens of the
    other sources (all patches, since the whole source is hidden)."""

    def __init__(self, config):
        super().__init__()
        c = config
        dd = c.decoder_dim
        self.embed = nn.Linear(c.dim, dd)
        self.target_emb = nn.Embedding(c.n_sources, dd)
        nn.init.normal_(self.target_emb.weight, std=0.02)
        self.register_buffer("pos", sincos_2d(c.grid, dd), persistent=False)
        self.blocks = nn.ModuleList([Block(dd, max(1, dd // 32), c.mlp_ratio) for _ in range(c.decoder_depth)])
        self.norm = nn.LayerNorm(dd)
        self.head = ChannelHead(dd, c.vocab_size, c.patch * c.patch)

    def forward(self, fused, target_index, layer_ids):
        h = self.embed(fused) + self.pos + self.target_emb.weight[target_index]
        for blk in self.blocks:
            h = blk(h)
        return self.head(self.norm(h), layer_ids)  # (B, C, N, pp)


def _as_tensor(a, device, dtype=None):
    if isinstance(a, np.ndarray):
        a = torch.from_numpy(np.ascontiguousarray(a))
    elif not torch.is_tensor(a):
        a = torch.as_tensor(a)
    return a.to(device=device, dtype=dtype) if dtype is not None else a.to(device)


def source_inputs(entry, device):
    """Normalise one source entry of a batch to (x, valid or None, ids) tensors.

    An entry is a dict {"x": (B, C, H, W) float (NaN = invalid), "ids": (C,) layer ids,
    optional "valid": (B, C, H, W)}; a tuple (x, ids) is accepted too.
    """
    if isinstance(entry, (tuple, list)):
        x, ids = entry[0], entry[1]
        valid = entry[2] if len(entry) > 2 else None
    else:
        x, ids, valid = entry["x"], entry["ids"], entry.get("valid")
    x = _as_tensor(x, device, torch.float32)
    ids = _as_tensor(ids, device, torch.long).reshape(-1)
    if x.ndim != 4 or x.shape[1] != ids.shape[0]:
        raise InputError(
            f"window array of shape {tuple(x.shape)} does not match {ids.shape[0]} layer ids",
            fix="pass x as (batch, layers, height, width) with one layer id per layer",
        )
    if valid is not None:
        valid = _as_tensor(valid, device, torch.float32)
    return x, valid, ids


class FoundationModel(nn.Module):
    """One SourceEncoder per source + SourceFusion (+ the stage-2 decoder used in pretraining)."""

    def __init__(self, config, sources=SOURCES):
        super().__init__()
        self.config = config
        self.sources = [s for s in SOURCES if s in set(sources)]
        for s in sources:
            source_id(s)  # raises InputError for a foreign source name
        self.encoders = nn.ModuleDict({s: SourceEncoder(config, s) for s in self.sources})
        self.fusion = SourceFusion(config)
        self.cross_decoder = CrossSourceDecoder(config)

    def embedding_param_count(self):
        """Parameters used at inference (MAE and cross-source decoders excluded)."""
        n = 0
        for name, p in self.encoders.named_parameters():
            part = name.split(".")[1]
            if not (part.startswith(("dec_", "ldec_")) or part in ("head", "mask_token")):
                n += p.numel()
        return int(n + sum(p.numel() for p in self.fusion.parameters()))

    @property
    def device(self):
        return next(self.parameters()).device

    def encode_sources(self, batch):
        """batch: {source: entry} -> (tokens (B, S, N, D), present (B, S, N), source_ids (S,), names)."""
        names = [s for s in self.sources if s in batch]
        foreign = [s for s in batch if s not in self.encoders]
        if foreign:
            raise InputError(
                f"this model has no encoder for source(s) {', '.join(foreign)}",
                fix=f"use sources the model was pretrained on ({', '.join(self.sources)}) or pretrain one that includes them",
            )
        if not names:
            raise InputError("the batch holds no source", fix="pass at least one source's layers")
        dev = self.device
        toks, pres = [], []
        for s in names:
            x, valid, ids = source_inputs(batch[s], dev)
            t, p = self.encoders[s].encode(x, valid, ids)
            toks.append(t)
            pres.append(p)
        sids = torch.tensor([source_id(s) for s in names], dtype=torch.long, device=dev)
        return torch.stack(toks, 1), torch.stack(pres, 1), sids, names

    def embed(self, batch, return_present=False):
        """Fused per-patch embeddings (B, N, D) for whichever sources the batch holds.

        With return_present, also (B, N) bool: whether any source had data in the patch.
        """
        tokens, present, sids, _ = self.encode_sources(batch)
        fused = self.fusion(tokens, present, sids)
        if return_present:
            return fused, present.any(dim=1)
        return fused

    def cross_source_loss(self, batch, target, drop_others=None):
        """Stage-2 loss: hide all of `target`, fuse the remaining sources, reconstruct the target's
        channels (valid pixels only). drop_others: optional sources also hidden (robustness)."""
        keep = {s: e for s, e in batch.items() if s != target and s not in (drop_others or ())}
        tokens, present, sids, _ = self.encode_sources(keep)
        fused = self.fusion(tokens, present, sids)
        x, valid, ids = source_inputs(batch[target], self.device)
        x, v = prepare(x, valid, self.config.clip)
        p = self.config.patch
        pred = self.cross_decoder(fused, source_id(target), ids)
        loss, n = masked_mse(pred, patchify(x, p), patchify(v, p))
        return loss, n


def tokens_to_grid(tokens, grid):
    """(B, N, D) -> (B, D, grid, grid): the patch grid as a feature map."""
    b, n, d = tokens.shape
    return tokens.transpose(1, 2).reshape(b, d, grid, grid)


def pixel_embedding(tokens, grid, patch, mode="bilinear"):
    """Per-pixel embedding map (B, D, grid*patch, grid*patch) upsampled from the patch grid.

    Bilinear (default) avoids blocky classifier maps; 'nearest' keeps patch values exact.
    """
    fmap = tokens_to_grid(torch.as_tensor(tokens), grid)
    size = (grid * patch, grid * patch)
    if mode == "nearest":
        return F.interpolate(fmap, size=size, mode="nearest")
    return F.interpolate(fmap, size=size, mode=mode, align_corners=False)
