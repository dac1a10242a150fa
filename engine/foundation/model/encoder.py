"""Channel-agnostic per-source encoder (a small ViT) with its MAE pretraining path.

Every layer is embedded on its own from 1-band patches, so the same weights take 3 layers or
17, in any order, with layers missing. Why each piece:
- value + validity go into the patch embedding together, so a zero-filled hole is
  distinguishable from a real zero;
- the layer type enters as an additive embedding and as a FiLM scale, so the same value of
  "Cu" and of "magnetic" become different tokens (the type is not just an offset);
- channels are merged per patch by attention pooling (symmetric in the channels, hence
  order-invariant). token_mode "patch" (v1) pools first, so the transformer runs over N spatial
  tokens whatever C is: cheap, but one token must carry every layer of a patch, which caps
  reconstruction on many-layer sources (bench/RESULTS.md, "Why v1 loses to interpolation").
  token_mode "layer" keeps one narrower token per (layer, patch) through axial blocks (space, then
  across layers) and pools at the end, so the embedding keeps the same (B, N, D) shape for
  fusion and heads while each layer keeps its own detail.
"""

import torch
from torch import nn

from .layers import AxialBlock, Block, ChannelHead, Mlp, SetPool, masked_mse, patchify, sincos_2d, unpatchify
from ...data.vocab import source_id


def prepare(x, valid=None, clip=None):
    """Zero-fill invalid pixels and return (x, valid float). NaN/inf are always invalid."""
    finite = torch.isfinite(x)
    v = finite if valid is None else (finite & (valid > 0))
    x = torch.where(v, x, torch.zeros_like(x))
    if clip is not None:
        x = x.clamp(-clip, clip)
    return x, v.to(x.dtype)


class SourceEncoder(nn.Module):
    def __init__(self, config, source):
        super().__init__()
        c = config
        self.config = c
        self.source = source
        self.source_index = source_id(source)
        d, pp = c.dim, c.patch * c.patch
        self.layered = c.token_mode == "layer"
        d_out, d = d, (c.layer_dim if self.layered else d)  # d: width of the per-channel tokens
        self.patch_embed = nn.Linear(2 * pp, d)
        # Layer-type table: [shift | scale]; scale starts at 0 so training starts from plain addition.
        self.layer_emb = nn.Embedding(c.vocab_size, 2 * d)
        nn.init.normal_(self.layer_emb.weight[:, :d], std=0.02)
        nn.init.zeros_(self.layer_emb.weight[:, d:])
        self.source_emb = nn.Embedding(c.n_sources, d)
        nn.init.normal_(self.source_emb.weight, std=0.02)
        self.channel_norm = nn.LayerNorm(d)
        self.channel_mlp = Mlp(d, max(4, int(d * c.channel_mlp_ratio)))
        self.pool = SetPool(d, c.heads)
        self.register_buffer("pos", sincos_2d(c.grid, d), persistent=False)
        block = AxialBlock if self.layered else Block
        self.blocks = nn.ModuleList([block(d, c.heads, c.mlp_ratio) for _ in range(c.depth)])
        if self.layered:
            self.out_proj = nn.Linear(d, d_out)  # pooled layer tokens -> the embedding width
        self.norm = nn.LayerNorm(d_out)
        # MAE decoder (pretraining only; not exported).
        dd = c.decoder_dim
        self.dec_embed = nn.Linear(d_out, dd)
        self.mask_token = nn.Parameter(torch.zeros(dd))
        nn.init.normal_(self.mask_token, std=0.02)
        self.register_buffer("dec_pos", sincos_2d(c.grid, dd), persistent=False)
        self.dec_blocks = nn.ModuleList([Block(dd, max(1, dd // 32), c.mlp_ratio) for _ in range(c.decoder_depth)])
        self.dec_norm = nn.LayerNorm(dd)
        self.head = ChannelHead(dd, c.vocab_size, pp)
        if self.layered:
            # Per-layer MAE decoder: a hidden (layer, patch) is predicted from its own layer's
            # visible patches and the co-located layers, not squeezed through the pooled token.
            self.ldec_embed = nn.Linear(d, d)
            self.ldec_mask = nn.Parameter(torch.zeros(d))
            nn.init.normal_(self.ldec_mask, std=0.02)
            self.ldec_layer = nn.Embedding(c.vocab_size, d)
            nn.init.normal_(self.ldec_layer.weight, std=0.02)
            self.ldec_blocks = nn.ModuleList([AxialBlock(d, c.heads, c.mlp_ratio) for _ in range(c.layer_decoder_depth)])
            self.ldec_norm = nn.LayerNorm(d)
            self.ldec_head = nn.Linear(d, pp)
            nn.init.zeros_(self.ldec_head.weight)
            nn.init.zeros_(self.ldec_head.bias)
        if c.recon_prior == "idw":
            # Inverse-distance (power 4) weights between every pixel pair of a window: a fixed fill
            # of hidden pixels from the visible ones that the decoder corrects, so the pretext task
            # is "what interpolation misses" (edges, anomalies), not smooth interpolation itself.
            yy, xx = torch.meshgrid(torch.arange(c.window), torch.arange(c.window), indexing="ij")
            pts = torch.stack([yy.reshape(-1), xx.reshape(-1)], 1).float()
            d2 = ((pts[:, None] - pts[None]) ** 2).sum(-1).clamp_min(1e-6)
            self.register_buffer("idw_w", d2.pow(-2.0), persistent=False)

    # ------------------------------------------------------------------ embedding path
    def _channel_tokens(self, xp, vp, ids):
        """xp, vp: (B, C, K, p*p) zero-filled values / validity -> tokens (B, K, C, D), mask (B, K, C)."""
        d = self.patch_embed.out_features
        h = self.patch_embed(torch.cat([xp, vp], dim=-1))
        le = self.layer_emb(ids)  # (C, 2D)
        shift, scale = le[:, :d], le[:, d:]
        src = self.source_emb.weight[self.source_index]
        h = h * (1 + scale[None, :, None, :]) + shift[None, :, None, :] + src
        h = h + self.channel_mlp(self.channel_norm(h))
        mask = vp.amax(dim=-1) > 0  # (B, C, K): the channel has data in this patch
        return h.transpose(1, 2), mask.transpose(1, 2)

    def _encode_patches(self, xp, vp, ids, pos):
        if self.layered:
            z, mask = self._layer_tokens(xp, vp, ids, pos)
            return self._pool_layers(z, mask), mask.any(dim=-1)
        tok, mask = self._channel_tokens(xp, vp, ids)
        z = self.pool(tok, mask) + pos
        for blk in self.blocks:
            z = blk(z)
        return self.norm(z), mask.any(dim=-1)

    def _layer_tokens(self, xp, vp, ids, pos):
        """token_mode "layer": (B, C, K, d) tokens after the axial blocks, and mask (B, K, C).
        pos: (K, d) or (B, K, d) position table of the K patches."""
        tok, mask = self._channel_tokens(xp, vp, ids)
        z = tok.transpose(1, 2) + (pos[:, None] if pos.dim() == 3 else pos)
        for blk in self.blocks:
            z = blk(z, mask)
        return z, mask

    def _pool_layers(self, z, mask):
        """(B, C, K, d) layer tokens -> the (B, K, D) embedding fusion and heads read."""
        return self.norm(self.out_proj(self.pool(z.transpose(1, 2), mask)))

    def _decode_layers(self, h, ids):
        """Per-layer decoder over a full (B, C, N, d) grid of decoder tokens -> (B, C, N, p*p)."""
        h = h + self.ldec_layer(ids)[None, :, None, :] + self.pos
        for blk in self.ldec_blocks:
            h = blk(h)
        return self.ldec_head(self.ldec_norm(h))

    def encode(self, x, valid, layer_ids):
        """x: (B, C, H, W) with NaN allowed; valid: (B, C, H, W) or None; layer_ids: (C,) long.

        Returns tokens (B, N, D) and present (B, N) bool: whether any layer has data in the patch.
        """
        x, v = prepare(x, valid, self.config.clip)
        p = self.config.patch
        return self._encode_patches(patchify(x, p), patchify(v, p), layer_ids, self.pos)

    def forward(self, x, valid, layer_ids):
        return self.encode(x, valid, layer_ids)[0]

    # ------------------------------------------------------------------ MAE path
    def mae_forward(self, x, valid, layer_ids, input_channels=None, mask_ratio=None, generator=None, keep=None):
        """Masked-autoencoder loss: encode ~25 % of patches, reconstruct every channel's pixels
        of the masked ones; loss counts valid pixels only.

        input_channels: optional (C,) bool; False channels are hidden from the encoder but still
        reconstructed (teaches the encoder to cope with missing layers).
        keep: optional (B, K) visible patch indices instead of a random draw (deterministic masks,
        e.g. engine.anomalies.reconstruction); the hidden patches are then the rest, in index order.
        Returns dict(loss, n_valid, mask (B, N) bool True=masked, recon (B, C, H, W)).
        """
        c = self.config
        x, v = prepare(x, valid, c.clip)
        b = x.shape[0]
        n = c.n_patches
        xp, vp = patchify(x, c.patch), patchify(v, c.patch)  # (B, C, N, pp)
        if keep is None:
            ratio = c.mask_ratio if mask_ratio is None else mask_ratio
            n_keep = max(1, int(round(n * (1 - ratio))))
            order = torch.rand(b, n, device=x.device, generator=generator).argsort(dim=1)
            keep, masked = order[:, :n_keep], order[:, n_keep:]  # (B, K), (B, M)
        else:
            hidden = torch.ones(b, n, dtype=torch.bool, device=x.device).scatter(1, keep, False)
            masked = torch.arange(n, device=x.device).expand(b, n)[hidden].reshape(b, n - keep.shape[1])

        xin, vin, ids_in = xp, vp, layer_ids
        if input_channels is not None:
            sel = input_channels.nonzero().flatten()
            xin, vin, ids_in = xp[:, sel], vp[:, sel], layer_ids[sel]
        idx = keep[:, None, :, None].expand(-1, xin.shape[1], -1, xin.shape[-1])
        gidx = masked[:, None, :, None].expand(-1, xp.shape[1], -1, xp.shape[-1])
        target, tvalid = xp.gather(2, gidx), vp.gather(2, gidx)
        seen_v = vp if input_channels is None else vp * input_channels.to(vp.dtype)[None, :, None, None]
        prior = self.prior_hidden(xp, seen_v, keep, masked)
        if self.layered:
            zl, chmask = self._layer_tokens(xin.gather(2, idx), vin.gather(2, idx), ids_in, self.pos[keep])
            z = self._pool_layers(zl, chmask)
        else:
            z, _ = self._encode_patches(xin.gather(2, idx), vin.gather(2, idx), ids_in, self.pos[keep])
        pred = self.decode_hidden(z, keep, masked, layer_ids) + prior  # from the pooled tokens
        loss, nv = masked_mse(pred, target, tvalid)
        if self.layered:  # the per-layer decoder predicts; the pooled prediction stays as an auxiliary loss
            enc = self.ldec_embed(zl)  # (B, Cin, K, d) at the visible patches of the input channels
            grid = self.ldec_mask.expand(b, enc.shape[1], n, enc.shape[-1])
            grid = grid.scatter(2, keep[:, None, :, None].expand(-1, enc.shape[1], -1, enc.shape[-1]), enc)
            if input_channels is not None:  # channels kept from the encoder are mask tokens throughout
                full = self.ldec_mask.expand(b, xp.shape[1], n, enc.shape[-1]).clone()
                full[:, sel] = grid
                grid = full
            pred = self._decode_layers(grid, layer_ids).gather(2, gidx) + prior
            pooled = loss
            loss, nv = masked_mse(pred, target, tvalid)
            loss = loss + c.pooled_loss_weight * pooled

        with torch.no_grad():
            rec = xp.clone()
            rec = rec.scatter(2, gidx, pred.detach())
            recon = unpatchify(rec, c.patch, c.grid)
            mask = torch.zeros(b, n, dtype=torch.bool, device=x.device)
            mask[torch.arange(b, device=x.device)[:, None], masked] = True
        return {"loss": loss, "n_valid": nv, "mask": mask, "recon": recon}

    def mae_layers_forward(self, x, valid, layer_ids, mask_ratio=None, generator=None, hidden=None):
        """Masked-autoencoder loss with a mask drawn per LAYER: each (layer, patch) is hidden on its
        own, so a hidden patch of one layer is usually visible in others at the same place.

        The per-patch mask of mae_forward asks for spatial inpainting, where interpolation is hard
        to beat on smooth 100 m grids; this one asks what the channel-agnostic encoder exists for:
        how layers relate (Co from Ni, Fe and Mg; total count from K, Th, U). Every patch is
        encoded (hidden layers are simply absent members of its channel set, the way a missing
        layer is), and every layer's hidden patches are reconstructed.
        hidden: optional (B, C, N) bool mask instead of a random draw.
        Returns dict(loss, n_valid, mask (B, C, N) bool True=hidden, recon (B, C, H, W)).
        """
        c = self.config
        if c.recon_prior != "none":
            raise ValueError("per-layer masking has no interpolation prior; use recon_prior='none'")
        x, v = prepare(x, valid, c.clip)
        xp, vp = patchify(x, c.patch), patchify(v, c.patch)  # (B, C, N, pp)
        if hidden is None:
            ratio = c.mask_ratio if mask_ratio is None else mask_ratio
            hidden = torch.rand(xp.shape[:3], device=x.device, generator=generator) < ratio
        shown = (~hidden).to(xp.dtype)[..., None]
        hidden_v = vp * (1.0 - shown)
        if self.layered:
            zl, chmask = self._layer_tokens(xp * shown, vp * shown, layer_ids, self.pos)
            z = self._pool_layers(zl, chmask)
        else:
            z, _ = self._encode_patches(xp * shown, vp * shown, layer_ids, self.pos)
        pred = self.head(self._decoder_tokens(self.dec_embed(z)), layer_ids)  # (B, C, N, pp) from the pooled tokens
        loss, nv = masked_mse(pred, xp, hidden_v)
        if self.layered:  # the per-layer decoder predicts; the pooled prediction stays as an auxiliary loss
            h = torch.where(hidden[..., None], self.ldec_mask.expand_as(zl), self.ldec_embed(zl))
            pred = self._decode_layers(h, layer_ids)
            pooled = loss
            loss, nv = masked_mse(pred, xp, hidden_v)
            loss = loss + c.pooled_loss_weight * pooled
        with torch.no_grad():
            recon = unpatchify(torch.where(hidden[..., None], pred.detach(), xp), c.patch, c.grid)
        return {"loss": loss, "n_valid": nv, "mask": hidden, "recon": recon}

    def decode_hidden(self, z, keep, masked, layer_ids):
        """Decoder output (B, C, M, p*p) for the hidden patches `masked` (B, M), from the encoded
        visible patches z (B, K, D) at `keep` (B, K)."""
        c = self.config
        b, dd = z.shape[0], c.decoder_dim
        full = self.mask_token.expand(b, c.n_patches, dd).clone()
        full = full.scatter(1, keep[:, :, None].expand(-1, -1, dd), self.dec_embed(z))
        h = self._decoder_tokens(full)
        return self.head(h.gather(1, masked[:, :, None].expand(-1, -1, dd)), layer_ids)

    def _decoder_tokens(self, h):
        """The MAE decoder over a full grid of decoder-width tokens (B, N, dd): positions, blocks, norm."""
        h = h + self.dec_pos
        for blk in self.dec_blocks:
            h = blk(h)
        return self.dec_norm(h)

    def prior_hidden(self, xp, vp, keep, masked):
        """The IDW fill (B, C, M, p*p) of the hidden patches from the visible pixels (0 without a prior).

        vp: validity; a channel hidden from the encoder must be passed with vp = 0 so its values
        cannot leak into its own reconstruction through the fill."""
        c = self.config
        if c.recon_prior != "idw":
            return 0.0
        b, ch, n, pp = xp.shape
        seen = torch.zeros(b, 1, n, 1, dtype=xp.dtype, device=xp.device).scatter(2, keep[:, None, :, None], 1.0)
        vis = unpatchify(vp * seen, c.patch, c.grid).reshape(b, ch, -1)
        val = unpatchify(xp * vp * seen, c.patch, c.grid).reshape(b, ch, -1)
        fill = (val @ self.idw_w) / (vis @ self.idw_w).clamp_min(1e-12)  # idw_w is symmetric
        fill = patchify(fill.reshape(b, ch, c.window, c.window), c.patch)
        return fill.gather(2, masked[:, None, :, None].expand(-1, ch, -1, pp))
