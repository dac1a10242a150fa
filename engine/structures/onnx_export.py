"""ONNX files for the structure extractor: SAM's prompt decoder (any SAM) and the GeoSAM encoder.

The decoder is segment-anything's own SamOnnxModel (the graph SAM's web demo and Geo-SAM run),
so ONNX Runtime in QGIS decodes a click in milliseconds without torch. Each file describes itself
in metadata_props (as Deepness models do): what it is, its image and embedding sizes, every input's
meaning, the mask threshold, how pixels must be scaled, and the sha256 of the weights it came from.
"""

import contextlib
import json
import os
import warnings

from .. import __version__ as ENGINE_VERSION
from ..core.atomic import atomic_path
from ..core.errors import MissingDependency
from .modeling import sam_package
from ..foundation.model.onnx_export import read_metadata  # noqa: F401 (one reader of metadata_props for every export)
from .weights import INPUT_SCALING

OPSET = 17
ENCODER_FILE = "encoder.onnx"
DECODER_FILE = "decoder.onnx"
DECODER_MULTI_FILE = "decoder_multimask.onnx"

POINTS_TEXT = ("point_coords are SAM coordinates at img_size: x = column, y = row of the resized, "
               "unpadded image, as pixel indices (the model adds 0.5). From a continuous pixel position "
               "p of the original H x W view: p * (resized / original) - 0.5 per axis, resized = "
               "original * img_size / max(H, W) rounded (engine/structures/image.py to_model_xy).")


def _need():
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        raise MissingDependency(f"ONNX export needs torch and onnx ({exc.name} is missing)",
                                fix="install torch and onnx, or use the torch backend") from None


def _kind(sam):
    return getattr(sam, "kind", "sam")


def _embedding_shape(sam):
    pe = sam.prompt_encoder
    return [1, int(pe.embed_dim), int(pe.image_embedding_size[0]), int(pe.image_embedding_size[1])]


def base_metadata(sam, weights_sha256=None):
    """What every file of this model says about itself."""
    emb = _embedding_shape(sam)
    meta = {
        "model_type": "mpm_studio_sam", "kind": _kind(sam), "engine_version": ENGINE_VERSION,
        "segment_anything_version": "1.0", "img_size": str(int(sam.image_encoder.img_size)),
        "embedding_shape": json.dumps(emb), "mask_threshold": str(float(sam.mask_threshold)),
        "input_scaling": INPUT_SCALING,
        "pixel_mean": json.dumps([float(v) for v in sam.pixel_mean.flatten()]),
        "pixel_std": json.dumps([float(v) for v in sam.pixel_std.flatten()]),
    }
    if weights_sha256:
        meta["weights_sha256"] = weights_sha256
    return meta


def _write_metadata(path, meta, doc):
    import onnx

    m = onnx.load(path)
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = str(k), v if isinstance(v, str) else json.dumps(v)
    m.doc_string = doc
    onnx.checker.check_model(m)
    onnx.save(m, path)


@contextlib.contextmanager
def _quiet():
    """The tracer's warnings are about SAM code paths it handles correctly here (constants that are
    constant, non-negative indices); users should not see them on every export."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*aten::index.*", category=UserWarning)
        yield


def _atomic(path):
    """engine.core.atomic.atomic_path for an export that replaces an older one (the folder made if needed)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return atomic_path(path, overwrite=True, what="ONNX export")


def decoder_module(sam, return_single_mask=True):
    """SAM's SamOnnxModel with a crop that stays dynamic in the exported graph.

    Upstream crops the padding with `int(tensor)`, which the tracer freezes to the size used at
    export, so any other view size came out shifted; slicing by the tensor itself stays an input-
    dependent Slice. The torch backend runs this same module, so both backends compute one thing.
    """
    sam_package()
    import torch
    import torch.nn.functional as F
    from segment_anything.utils.onnx import SamOnnxModel

    class Decoder(SamOnnxModel):
        def mask_postprocessing(self, masks, orig_im_size):
            masks = F.interpolate(masks, size=(self.img_size, self.img_size), mode="bilinear", align_corners=False)
            pre = self.resize_longest_image_size(orig_im_size, self.img_size)
            masks = masks[..., : pre[0], : pre[1]]
            hw = orig_im_size.to(torch.int64)
            return F.interpolate(masks, size=(hw[0], hw[1]), mode="bilinear", align_corners=False)

    return Decoder(sam, return_single_mask=return_single_mask).eval()


def export_decoder(sam, path, metadata=None, return_single_mask=True, opset=OPSET):
    """SAM's prompt encoder + mask decoder + upscaling as ONNX at `path` (atomic); returns path.

    Inputs (SAM's ONNX convention): image_embeddings, point_coords (1, N, 2), point_labels (1, N)
    with 1 include / 0 exclude / 2, 3 box corners / -1 padding, mask_input, has_mask_input and
    orig_im_size. N is dynamic. return_single_mask=False gives all 4 masks (0 = single-mask
    token, 1-3 = SAM's multimask candidates) for a runtime to choose from.
    """
    _need()
    import torch

    sam = sam.cpu().eval()
    wrapper = decoder_module(sam, return_single_mask)
    emb = _embedding_shape(sam)
    lo = 4 * emb[2]
    S = int(sam.image_encoder.img_size)
    args = (torch.randn(*emb), torch.randint(0, S, (1, 5, 2), dtype=torch.float),
            torch.randint(0, 4, (1, 5), dtype=torch.float), torch.randn(1, 1, lo, lo),
            torch.tensor([1], dtype=torch.float), torch.tensor([S * 0.75, S], dtype=torch.float))
    names = ["image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size"]
    with _atomic(path) as tmp:
        with torch.no_grad(), _quiet():
            torch.onnx.export(
                wrapper, args, tmp, dynamo=False, opset_version=opset, do_constant_folding=True,
                input_names=names, output_names=["masks", "iou_predictions", "low_res_masks"],
                dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}},
            )
        k = 1 if return_single_mask else 4
        meta = dict(metadata or base_metadata(sam))
        meta.update({
            "component": "decoder", "return_single_mask": str(bool(return_single_mask)).lower(),
            "point_convention": POINTS_TEXT,
            "inputs": json.dumps({
                "image_embeddings": f"float32 {emb}: the encoder's output for the view",
                "point_coords": "float32 (1, N, 2): clicks and box corners, x/y in SAM coordinates (see point_convention)",
                "point_labels": "float32 (1, N): 1 include, 0 exclude, 2 box top-left, 3 box bottom-right, "
                                "-1 padding point at (0, 0) (append one when there is no box)",
                "mask_input": f"float32 (1, 1, {lo}, {lo}): previous low_res_masks, to refine; zeros if none",
                "has_mask_input": "float32 (1,): 1 when mask_input holds a previous mask, else 0",
                "orig_im_size": "float32 (2,): height, width of the original view in pixels",
            }),
            "outputs": json.dumps({
                "masks": f"float32 (1, {k}, H, W): mask logits at the original size; mask = logits > mask_threshold",
                "iou_predictions": f"float32 (1, {k}): predicted quality of each mask",
                "low_res_masks": f"float32 (1, {k}, {lo}, {lo}): logits to feed back as mask_input",
            }),
            "mask_selection": ("single mask: SAM's rule, the best multimask candidate by iou for 1 click "
                               "(N <= 2 with padding), the single-mask output for more prompts")
            if return_single_mask else "all 4 outputs; 1-3 are the multimask candidates",
        })
        _write_metadata(tmp, meta, f"MPM Studio SAM prompt decoder ({_kind(sam)})")
    return path


def _encoder_wrapper(sam):
    import torch

    class EncoderExport(torch.nn.Module):
        """Raw 0..255 pixels in; SAM's normalisation is part of the graph, so runtimes need no stats."""

        def __init__(self, sam):
            super().__init__()
            self.image_encoder = sam.image_encoder
            self.register_buffer("mean", sam.pixel_mean.detach().clone(), persistent=False)
            self.register_buffer("std", sam.pixel_std.detach().clone(), persistent=False)

        def forward(self, image):
            return self.image_encoder((image - self.mean) / self.std)

    return EncoderExport(sam)


def encoder_module(sam):
    """The exported encoder's computation as a torch module (raw padded pixels -> embedding)."""
    return _encoder_wrapper(sam).eval()


def export_encoder(sam, path, metadata=None, opset=OPSET):
    """GeoSAM's image encoder as ONNX at `path` (atomic): (1, 3, S, S) raw 0..255 -> embedding.

    Official ViT encoders stay on torch: vit_h is over the 2 GB protobuf limit and all three are
    slow on a CPU whichever runtime runs them.
    """
    _need()
    import torch

    sam = sam.cpu().eval()
    S = int(sam.image_encoder.img_size)
    emb = _embedding_shape(sam)
    with _atomic(path) as tmp:
        with torch.no_grad(), _quiet():
            torch.onnx.export(
                encoder_module(sam), (torch.rand(1, 3, S, S) * 255,), tmp, dynamo=False, opset_version=opset,
                input_names=["image"], output_names=["image_embeddings"], do_constant_folding=True,
            )
        meta = dict(metadata or base_metadata(sam))
        meta.update({
            "component": "encoder",
            "inputs": json.dumps({"image": f"float32 (1, 3, {S}, {S}): stretched pixels 0..255 (input_scaling), "
                                           "longest side resized to img_size, padded bottom/right with pixel_mean; "
                                           "normalisation by pixel_mean / pixel_std is inside the graph"}),
            "outputs": json.dumps({"image_embeddings": f"float32 {emb}"}),
        })
        _write_metadata(tmp, meta, f"MPM Studio SAM image encoder ({_kind(sam)})")
    return path


def export_model_folder(model_dir, multimask=True):
    """Write onnx/encoder.onnx and onnx/decoder.onnx (and decoder_multimask.onnx) into a GeoSAM
    model folder; the card gains an "onnx" entry with each file's sha256. Returns {name: path}."""
    from ..foundation.model.weights import sha256_file
    from .weights import load_geosam, write_card

    sam = load_geosam(model_dir)
    card = dict(sam.card)
    folder = os.path.dirname(card["_path"])
    onnx_dir = os.path.join(folder, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    meta = base_metadata(sam, card.get("sha256"))
    meta["name"] = card.get("name", "")
    paths = {"encoder": export_encoder(sam, os.path.join(onnx_dir, ENCODER_FILE), meta),
             "decoder": export_decoder(sam, os.path.join(onnx_dir, DECODER_FILE), meta)}
    if multimask:
        paths["decoder_multimask"] = export_decoder(sam, os.path.join(onnx_dir, DECODER_MULTI_FILE), meta,
                                                    return_single_mask=False)
    card["onnx"] = {k: {"file": os.path.relpath(p, folder), "sha256": sha256_file(p), "opset": OPSET}
                    for k, p in paths.items()}
    write_card(card, folder)
    return paths
