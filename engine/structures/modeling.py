"""SAM models: our small geoscience SAM, or an official checkpoint the user points to.

`segment_anything/__init__.py` imports its automatic mask generator, which needs torchvision;
torchvision does not install beside our torch wheel. The model code itself never touches it, so we
register the package without running its `__init__` and import only `modeling`.
"""

import dataclasses
import importlib.util
import os
import sys
import types

from ..core.errors import InputError, MissingDependency

SAM_KINDS = ("vit_b", "vit_l", "vit_h")


def sam_package():
    """The `segment_anything` package object, with `modeling` importable and torchvision untouched."""
    if "segment_anything.modeling" in sys.modules:
        return sys.modules["segment_anything"]
    spec = importlib.util.find_spec("segment_anything")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("the structure extractor needs the 'segment-anything' package",
                                fix="pip install segment-anything==1.0 into QGIS's Python (scripts/setup.sh does)")
    if "segment_anything" not in sys.modules:
        pkg = types.ModuleType("segment_anything")
        pkg.__path__ = list(spec.submodule_search_locations)
        pkg.__file__ = spec.origin
        pkg.__spec__ = spec
        sys.modules["segment_anything"] = pkg
    importlib.import_module("segment_anything.modeling")
    return sys.modules["segment_anything"]


def modeling():
    sam_package()
    return sys.modules["segment_anything.modeling"]


@dataclasses.dataclass
class GeoSamConfig:
    """Small SAM for single maps: a CNN encoder at 1/4 resolution feeding SAM's own decoder.

    img_size 256 with stride 4 gives a 64 x 64 embedding and 256 x 256 mask logits, i.e. masks at
    the resolution of the input, which thin faults need.
    """

    img_size: int = 256
    dim: int = 128            # prompt / transformer dimension (the official models use 256)
    widths: tuple = (32, 64, 96, 128)   # encoder stages at 1/2, 1/4, 1/8, 1/16
    blocks: tuple = (1, 2, 2, 2)
    decoder_depth: int = 2
    decoder_mlp: int = 512
    decoder_heads: int = 4
    in_chans: int = 3

    @property
    def embedding_size(self):
        return self.img_size // 4

    def to_dict(self):
        d = dataclasses.asdict(self)
        d["widths"], d["blocks"] = list(self.widths), list(self.blocks)
        return d

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"GeoSAM config has unknown fields {unknown}", fix="update MPM Studio")
        d = dict(d)
        for k in ("widths", "blocks"):
            if k in d:
                d[k] = tuple(d[k])
        return cls(**d)


def _torch():
    try:
        import torch
        return torch
    except ImportError:
        raise MissingDependency("the structure extractor's model needs PyTorch",
                                fix="install torch, or use the exported ONNX files") from None


def _encoder_class():
    torch = _torch()
    nn = torch.nn
    LayerNorm2d = importlib.import_module("segment_anything.modeling.common").LayerNorm2d

    class ResBlock(nn.Module):
        def __init__(self, c, dilation=1):
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=dilation, dilation=dilation, bias=False)
            self.norm1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.norm2 = nn.BatchNorm2d(c)

        def forward(self, x):
            y = torch.nn.functional.gelu(self.norm1(self.conv1(x)))
            return torch.nn.functional.gelu(x + self.norm2(self.conv2(y)))

    class GeoSamEncoder(nn.Module):
        """Four conv stages (1/2..1/16) merged back at 1/4: local detail for thin lines plus
        a wide context for bodies. Same interface as SAM's ImageEncoderViT (img_size, B x dim x S/4)."""

        def __init__(self, cfg):
            super().__init__()
            self.img_size = cfg.img_size
            stages, c_in = [], cfg.in_chans
            for i, (c, n) in enumerate(zip(cfg.widths, cfg.blocks)):
                layers = [nn.Conv2d(c_in, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c), nn.GELU()]
                layers += [ResBlock(c, dilation=1 + (j % 2) * (1 if i < 2 else 2)) for j in range(n)]
                stages.append(nn.Sequential(*layers))
                c_in = c
            self.stages = nn.ModuleList(stages)
            # stages 2-4 are projected to the 1/4 grid and summed (a small FPN)
            self.lateral = nn.ModuleList(nn.Conv2d(c, cfg.dim, 1) for c in cfg.widths[1:])
            self.neck = nn.Sequential(
                nn.Conv2d(cfg.dim, cfg.dim, 3, padding=1, bias=False), LayerNorm2d(cfg.dim), nn.GELU(),
                nn.Conv2d(cfg.dim, cfg.dim, 1, bias=False), LayerNorm2d(cfg.dim),
            )

        def forward(self, x):
            feats = []
            for stage in self.stages:
                x = stage(x)
                feats.append(x)
            size = feats[1].shape[-2:]
            y = self.lateral[0](feats[1])
            for lat, f in zip(self.lateral[1:], feats[2:]):
                y = y + torch.nn.functional.interpolate(lat(f), size=size, mode="bilinear", align_corners=False)
            return self.neck(y)

    return GeoSamEncoder


def build_geosam(cfg=None):
    """An untrained GeoSAM (`segment_anything.modeling.Sam`) with our encoder."""
    cfg = cfg or GeoSamConfig()
    m = modeling()
    e = cfg.embedding_size
    sam = m.Sam(
        image_encoder=_encoder_class()(cfg),
        prompt_encoder=m.PromptEncoder(embed_dim=cfg.dim, image_embedding_size=(e, e),
                                       input_image_size=(cfg.img_size, cfg.img_size), mask_in_chans=16),
        mask_decoder=m.MaskDecoder(
            num_multimask_outputs=3,
            transformer=m.TwoWayTransformer(depth=cfg.decoder_depth, embedding_dim=cfg.dim,
                                            mlp_dim=cfg.decoder_mlp, num_heads=cfg.decoder_heads),
            transformer_dim=cfg.dim, iou_head_depth=3, iou_head_hidden_dim=cfg.dim,
        ),
        # inputs are stretched to 0-255 per band (image.py); centre them like SAM's ImageNet stats do
        pixel_mean=[127.5] * 3, pixel_std=[64.0] * 3,
    )
    sam.config = cfg
    sam.kind = "geosam"
    return sam.eval()


def build_official(kind):
    """An untrained official SAM architecture (vit_b / vit_l / vit_h), weights to be loaded."""
    if kind not in SAM_KINDS:
        raise InputError(f"unknown SAM model type '{kind}'", fix=f"use one of {', '.join(SAM_KINDS)}")
    sam_package()
    build = importlib.import_module("segment_anything.build_sam")
    sam = build.sam_model_registry[kind](checkpoint=None)  # never let it torch.load (unsafe) itself
    sam.kind = kind
    return sam.eval()


def _kind_from_state(state):
    """vit_b / l / h from the patch-embedding width, so the user need not know which file they have."""
    w = state.get("image_encoder.patch_embed.proj.weight")
    if w is None:
        return None
    return {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}.get(int(w.shape[0]))


def read_checkpoint(path):
    """State dict of an official SAM checkpoint (.pth, or .safetensors), loaded without running code."""
    torch = _torch()
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"SAM checkpoint '{path}' not found",
                         fix="point to a sam_vit_b_01ec64.pth / sam_vit_l_0b3195.pth / sam_vit_h_4b8939.pth you downloaded")
    if path.endswith(".safetensors"):
        from ..foundation.model.weights import load_state
        return load_state(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError, RuntimeError, zipfile errors ...
        raise InputError(
            f"'{path}' could not be read as a plain-tensor checkpoint ({str(exc).splitlines()[0][:160]}); "
            "files that need arbitrary code to load are refused",
            fix="use an official SAM checkpoint (sam_vit_*.pth) or a .safetensors file") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    if not isinstance(state, dict) or not state:
        raise InputError(f"'{path}' holds no state dict", fix="use an official SAM checkpoint")
    return state


def load_official(path, kind=None):
    """An official SAM from the user's checkpoint; the type is read off the weights unless given."""
    state = read_checkpoint(path)
    detected = _kind_from_state(state)
    if detected is None:
        raise InputError(f"'{path}' is not a SAM checkpoint (no image_encoder.patch_embed weights)",
                         fix="use an official SAM checkpoint (vit_b / vit_l / vit_h)")
    if kind and kind != detected:
        raise InputError(f"'{path}' holds a {detected} model, not {kind}", fix=f"choose {detected}, or leave the type on auto")
    sam = build_official(detected)
    missing, unexpected = sam.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise InputError(
            f"'{path}' does not fit the {detected} architecture ({len(missing)} missing, "
            f"{len(unexpected)} unexpected tensors, e.g. {(list(missing) + list(unexpected))[:3]})",
            fix="use an unmodified official SAM checkpoint")
    sam.checkpoint = os.path.abspath(path)
    return sam.eval()
