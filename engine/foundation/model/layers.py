"""Building blocks kept export-friendly: plain matmul attention (classic ONNX exporter, no
fused kernels) and no data-dependent Python control flow in forward paths."""

import math

import torch
from torch import nn

NEG = -1e9  # masked score; fp32 only (the models never run in fp16)


def sincos_2d(grid, dim):
    """Fixed 2-D sin-cos position table (grid*grid, dim): no parameters to overfit, same every run."""
    if dim % 4:
        raise ValueError("dim must be a multiple of 4 for 2-D sin-cos embeddings")
    quarter = dim // 4
    omega = 1.0 / (10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter))
    ys, xs = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64), indexing="ij")
    out = []
    for coord in (ys.reshape(-1), xs.reshape(-1)):
        ang = coord[:, None] * omega[None]
        out += [torch.sin(ang), torch.cos(ang)]
    return torch.cat(out, dim=1).float()


def patchify(x, patch):
    """(B, C, H, W) -> (B, C, N, patch*patch), patches in row-major grid order."""
    b, c, h, w = x.shape
    gh, gw = h // patch, w // patch
    x = x.reshape(b, c, gh, patch, gw, patch).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(b, c, gh * gw, patch * patch)


def unpatchify(p, patch, grid):
    """(B, C, N, patch*patch) -> (B, C, H, W)."""
    b, c = p.shape[:2]
    x = p.reshape(b, c, grid, grid, patch, patch).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(b, c, grid * patch, grid * patch)


class Mlp(nn.Module):
    def __init__(self, dim, hidden, out=None):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, out or dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, key_mask=None):
        """key_mask: (B, N) bool, True = a token others may attend to; a token always sees itself,
        so a row whose keys are all masked stays defined."""
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q * self.scale) @ k.transpose(-2, -1)
        if key_mask is not None:
            idx = torch.arange(n, device=x.device)  # not torch.eye: ONNX Runtime has no boolean EyeLike
            seen = key_mask[:, None, None, :] | (idx[:, None] == idx[None, :])
            scores = scores.masked_fill(~seen, float("-inf"))
        attn = torch.softmax(scores, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(b, n, d)
        return self.proj(out)


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim, heads, mlp_ratio=2.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class AxialBlock(nn.Module):
    """Pre-norm block over a (layer, patch) grid of tokens (B, C, N, D): attention across patches
    within each layer (spatial context), then across layers within each patch (co-located layers),
    then an MLP. Factorised so the cost is C*N^2 + N*C^2, not (C*N)^2, and any C works. Across
    layers a token without data (a missing layer, a hole) is never read by the others, so a layer
    with no data here gives the same tokens as a stack without it."""

    def __init__(self, dim, heads, mlp_ratio=2.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.space = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.across = Attention(dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x, mask=None):
        """x: (B, C, N, D); mask: (B, N, C) bool, True = the layer has data in the patch, or None."""
        b, c, n, d = x.shape
        y = x.reshape(b * c, n, d)
        y = y + self.space(self.norm1(y))
        y = y.reshape(b, c, n, d).transpose(1, 2).reshape(b * n, c, d)
        y = y + self.across(self.norm2(y), None if mask is None else mask.reshape(b * n, c))
        y = y + self.mlp(self.norm3(y))
        return y.reshape(b, n, c, d).transpose(1, 2)


class SetPool(nn.Module):
    """Multi-head attention pooling over a set axis with a learned query (scores are a linear
    read-out of each member, equivalent to a fixed query against projected keys), plus a learned
    'nothing here' member so a position where every member is masked still gets a defined token.

    Members are projected after pooling (per head), so the cost is one D x D projection per
    position instead of one per member: cheap when the set is 20+ channels.
    """

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.score = nn.Linear(dim, heads)
        self.null_score = nn.Parameter(torch.zeros(heads))
        self.value = nn.Parameter(torch.empty(heads, dim, dim // heads))
        self.null_value = nn.Parameter(torch.zeros(heads, dim // heads))
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.value, std=1.0 / math.sqrt(dim))

    def forward(self, t, mask, bias=None):
        """t: (B, N, S, D) members; mask: (B, N, S) bool, True = usable; bias: (S, H) or None."""
        b, n, s, d = t.shape
        tn = self.norm(t)
        scores = self.score(tn)  # (B, N, S, H)
        if bias is not None:
            scores = scores + bias
        scores = scores.masked_fill(~mask.unsqueeze(-1), NEG)
        null = self.null_score.reshape(1, 1, 1, self.heads).expand(b, n, 1, self.heads)
        w = torch.softmax(torch.cat([scores, null], dim=2), dim=2)  # (B, N, S+1, H)
        # Plain (batched) matmuls rather than einsum: ONNX Runtime's Einsum kernel is slow on CPU.
        pooled = w[:, :, :s].transpose(2, 3) @ tn  # (B, N, H, D)
        per_head = pooled.reshape(b * n, self.heads, d).transpose(0, 1) @ self.value  # (H, B*N, D/H)
        out = per_head.transpose(0, 1).reshape(b, n, self.heads, d // self.heads)
        out = out + w[:, :, s:].transpose(2, 3) * self.null_value  # null member's value
        return self.proj(out.reshape(b, n, d))


class ChannelHead(nn.Module):
    """Predicts p*p pixels for any requested channel from a patch token: the channel's
    layer-type embedding is added to the token and a small MLP decodes it, so one head serves
    any channel set (an additive embedding alone would only shift a linear read-out)."""

    def __init__(self, dim, vocab_size, n_pix):
        super().__init__()
        self.layer_emb = nn.Embedding(vocab_size, dim)
        nn.init.normal_(self.layer_emb.weight, std=0.02)
        self.norm = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim, n_pix)
        # Start from predicting 0 (the z-score mean) rather than random values.
        nn.init.zeros_(self.mlp.fc2.weight)
        nn.init.zeros_(self.mlp.fc2.bias)

    def forward(self, h, ids):
        """h: (B, M, D) tokens; ids: (C,) -> (B, C, M, p*p)."""
        z = h.unsqueeze(1) + self.layer_emb(ids)[None, :, None, :]
        return self.mlp(self.norm(z))


def masked_mse(pred, target, valid):
    """Mean squared error over valid pixels only; invalid pixels never reach the loss, not
    even as NaN (they are selected away, not multiplied by zero)."""
    valid = valid.bool() & torch.isfinite(target)
    diff = torch.where(valid, pred - torch.where(valid, target, torch.zeros_like(target)), torch.zeros_like(pred))
    n = valid.sum()
    return (diff * diff).sum() / n.clamp(min=1), n
