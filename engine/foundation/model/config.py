"""Architecture settings shared by pretraining, the weights card and ONNX export.

The default is sized for CPU: a 32 px window cut into 4 px patches gives 64 spatial tokens, so a
4-block, 96-wide ViT per source costs 0.05-0.08 GFLOP per window and a whole 680 x 800 px
stack embeds in seconds on two cores. Figures for REFERENCE_CHANNELS (30 layers over 4 sources),
from count_flops (matmul FLOPs, FlopCounterMode, batch 1):

    embedding path (4 encoders + fusion): 0.288 GFLOP per window
      geology 2 layers 0.052, geochemistry 13 layers 0.084, geophysics 10 layers 0.075,
      remote_sensing 5 layers 0.061 GFLOP (each extra layer adds ~0.003 GFLOP)
    parameters: 1.52 M on the embedding path, 1.93 M with the MAE / cross-source decoders

Measured on 2 CPU cores (AMD EPYC), batch 32, 30 layers: ~220 windows/s ONNX Runtime,
~185 windows/s eager torch; a 680 x 800 px scene with 38 layers embeds in ~3 s with stride 32
and ~8 s with the default stride 16 (infer.embed_scene). Run `python -m engine.foundation.model.config` to
print the numbers for the current default.
"""

from dataclasses import asdict, dataclass, fields

from ... import SOURCES
from ...data.vocab import VOCAB

# The stack the card's FLOPs figure is quoted for: ~30 layers over the four sources.
REFERENCE_CHANNELS = {"geology": 2, "geochemistry": 13, "geophysics": 10, "remote_sensing": 5}


@dataclass
class ModelConfig:
    window: int = 32          # pixels per side of one model window
    patch: int = 4            # pixels per side of one patch token
    dim: int = 96             # token width
    depth: int = 4            # transformer blocks over spatial tokens, per source encoder
    heads: int = 4
    mlp_ratio: float = 2.0
    channel_mlp_ratio: float = 1.0   # per-channel token MLP before channel pooling
    decoder_dim: int = 64
    decoder_depth: int = 2
    fusion_depth: int = 1     # transformer blocks over fused tokens
    mask_ratio: float = 0.75
    clip: float = 8.0         # inputs are robust z-scores; clip outliers before embedding
    recon_prior: str = "none"  # "idw": the MAE decoder predicts the residual over an IDW fill of the visible pixels
    # "layer": one token per (layer, patch) through axial blocks, pooled only at the end (single-map
    # units; mpm-foundation-v2); "patch": a patch's layers are pooled into one token first (v1)
    token_mode: str = "layer"
    layer_dim: int = 48       # token width per (layer, patch) in token_mode "layer"
    layer_decoder_depth: int = 1   # axial blocks of the per-layer MAE decoder (token_mode "layer")
    pooled_loss_weight: float = 0.5  # token_mode "layer": weight of the pooled-token reconstruction that trains the embedding heads read
    vocab_size: int = len(VOCAB)
    n_sources: int = len(SOURCES)

    def __post_init__(self):
        if self.window % self.patch:
            raise ValueError(f"window {self.window} is not a multiple of patch {self.patch}")
        if self.dim % self.heads:
            raise ValueError(f"dim {self.dim} is not divisible by heads {self.heads}")
        if self.recon_prior not in ("none", "idw"):
            raise ValueError(f"recon_prior must be 'none' or 'idw', got {self.recon_prior!r}")
        if self.token_mode not in ("patch", "layer"):
            raise ValueError(f"token_mode must be 'patch' or 'layer', got {self.token_mode!r}")
        if self.layer_dim % self.heads or self.layer_dim % 4:
            raise ValueError(f"layer_dim {self.layer_dim} must be a multiple of 4 and of heads {self.heads}")

    @property
    def grid(self):
        return self.window // self.patch

    @property
    def n_patches(self):
        return self.grid * self.grid

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in fields(cls)}
        # cards written before these options existed were trained without a prior, with patch tokens
        d = {"recon_prior": "none", "token_mode": "patch", **d}
        return cls(**{k: v for k, v in d.items() if k in names})


def count_params(module, trainable_only=False):
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only))


def count_flops(config, channels=None):
    """Matmul FLOPs to embed ONE window (batch 1), via torch.utils.flop_counter.

    `channels`: int -> one source encoder with that many layers; dict {source: n_layers} ->
    all those encoders plus fusion (the full embedding path). Default: REFERENCE_CHANNELS.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from .encoder import SourceEncoder
    from .fusion import FoundationModel

    channels = REFERENCE_CHANNELS if channels is None else channels
    w = config.window
    with torch.no_grad():
        if isinstance(channels, int):
            enc = SourceEncoder(config, "geophysics").eval()
            x = torch.zeros(1, channels, w, w)
            ids = torch.zeros(channels, dtype=torch.long)
            with FlopCounterMode(display=False) as fc:
                enc(x, torch.ones_like(x), ids)
            return int(fc.get_total_flops())
        model = FoundationModel(config, list(channels)).eval()
        batch = {
            s: {"x": torch.zeros(1, c, w, w), "ids": torch.zeros(c, dtype=torch.long)}
            for s, c in channels.items()
        }
        with FlopCounterMode(display=False) as fc:
            model.embed(batch)
        return int(fc.get_total_flops())


if __name__ == "__main__":  # pragma: no cover - prints the card figures
    from .fusion import FoundationModel

    cfg = ModelConfig()
    m = FoundationModel(cfg, list(REFERENCE_CHANNELS))
    print("config", cfg.to_dict())
    print("params (embedding path)", m.embedding_param_count())
    print("params (all, incl. decoders)", count_params(m))
    print("GFLOP/window", count_flops(cfg) / 1e9)
    for s, c in REFERENCE_CHANNELS.items():
        print(f"  {s} ({c} layers): {count_flops(cfg, c) / 1e9:.4f} GFLOP")
