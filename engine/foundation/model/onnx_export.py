"""ONNX export of the embedding path: one file per source encoder plus one for the fusion.

Files describe themselves in metadata_props (as Deepness models do): what the inputs are, the
layer vocabulary that layer_ids index, window and patch size, normalisation and versions, so a
runtime without torch (onnxruntime in QGIS) can use them from the .onnx files alone.
"""

import json
import os

from ... import __version__ as ENGINE_VERSION
from ...core.errors import MissingDependency
from ...data.vocab import VOCAB

OPSET = 17


def _wrappers():
    import torch
    from torch import nn

    class EncoderExport(nn.Module):
        def __init__(self, enc):
            super().__init__()
            self.enc = enc

        def forward(self, x, valid, layer_ids):
            tokens, present = self.enc.encode(x, valid, layer_ids)
            return tokens, present.to(torch.float32)

    class FusionExport(nn.Module):
        def __init__(self, fusion):
            super().__init__()
            self.fusion = fusion

        def forward(self, tokens, present, source_ids):
            return self.fusion(tokens, present, source_ids)

    return EncoderExport, FusionExport


def _metadata(model, kind, source=None, weights_sha=None):
    cfg = model.config
    from .weights import NORMALISATION

    vocab = list(getattr(model, "vocab", VOCAB))[: cfg.vocab_size]
    meta = {
        "model_type": "mpm_studio_embedding",
        "component": kind,
        "engine_version": ENGINE_VERSION,
        "window_size": str(cfg.window),
        "tile_size": str(cfg.window),
        "patch_size": str(cfg.patch),
        "embedding_dim": str(cfg.dim),
        "normalisation": NORMALISATION,
        "config": json.dumps(cfg.to_dict()),
        "layer_vocabulary": json.dumps(vocab),
        "sources": json.dumps(list(model.sources)),
    }
    if kind == "encoder":
        meta["source"] = source
        meta["inputs"] = json.dumps({
            "x": "float32 (batch, channels, window, window): normalised layers, invalid pixels set to 0",
            "valid": "float32 (batch, channels, window, window): 1 valid, 0 invalid",
            "layer_ids": "int64 (channels,): index of each layer's type in layer_vocabulary",
        })
        meta["outputs"] = json.dumps({
            "tokens": f"float32 (batch, {cfg.n_patches}, {cfg.dim}): patch tokens, row-major {cfg.grid}x{cfg.grid} grid",
            "present": f"float32 (batch, {cfg.n_patches}): 1 where any layer has data in the patch",
        })
    else:
        meta["inputs"] = json.dumps({
            "tokens": f"float32 (batch, sources, {cfg.n_patches}, {cfg.dim}): encoder tokens, stacked",
            "present": f"float32 (batch, sources, {cfg.n_patches}): encoder 'present' outputs",
            "source_ids": "int64 (sources,): index of each source in the engine's SOURCES order",
        })
        meta["outputs"] = json.dumps({"fused": f"float32 (batch, {cfg.n_patches}, {cfg.dim})"})
    if weights_sha:
        meta["weights_sha256"] = weights_sha
    return meta


def _add_metadata(path, meta):
    import onnx

    m = onnx.load(path)
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, str(v)
    m.doc_string = "MPM Studio channel-agnostic embedding model component"
    onnx.checker.check_model(m)
    onnx.save(m, path)


def export_onnx(model, out_dir, card_path=None, opset=OPSET):
    """Write <source>_encoder.onnx per source and fusion.onnx; return {name: path}.

    Dynamic axes: batch and channel count (encoders), batch and source count (fusion). With
    card_path, the card gains an "onnx" entry listing the files and their sha256.
    """
    try:
        import onnx  # noqa: F401
        import torch
    except ImportError as exc:
        raise MissingDependency(f"ONNX export needs torch and onnx ({exc.name} is missing)",
                                fix="install torch and onnx, or use the torch backend") from None
    from .weights import read_card, sha256_file, write_card

    EncoderExport, FusionExport = _wrappers()
    os.makedirs(out_dir, exist_ok=True)
    model = model.cpu().eval()
    cfg = model.config
    sha = getattr(model, "card", {}).get("sha256")
    if card_path:
        sha = read_card(card_path).get("sha256") or sha
    w = cfg.window
    paths = {}
    with torch.no_grad():
        for s in model.sources:
            path = os.path.join(out_dir, f"{s}_encoder.onnx")
            x = torch.randn(2, 3, w, w)
            args = (x, torch.ones_like(x), torch.tensor([0, 1, 2], dtype=torch.long))
            torch.onnx.export(
                EncoderExport(model.encoders[s]), args, path, dynamo=False, opset_version=opset,
                input_names=["x", "valid", "layer_ids"], output_names=["tokens", "present"],
                dynamic_axes={"x": {0: "batch", 1: "channels"}, "valid": {0: "batch", 1: "channels"},
                              "layer_ids": {0: "channels"}, "tokens": {0: "batch"}, "present": {0: "batch"}},
            )
            _add_metadata(path, _metadata(model, "encoder", s, sha))
            paths[s] = path
        path = os.path.join(out_dir, "fusion.onnx")
        ns = max(2, len(model.sources))
        args = (torch.randn(2, ns, cfg.n_patches, cfg.dim), torch.ones(2, ns, cfg.n_patches),
                torch.arange(ns, dtype=torch.long) % cfg.n_sources)
        torch.onnx.export(
            FusionExport(model.fusion), args, path, dynamo=False, opset_version=opset,
            input_names=["tokens", "present", "source_ids"], output_names=["fused"],
            dynamic_axes={"tokens": {0: "batch", 1: "sources"}, "present": {0: "batch", 1: "sources"},
                          "source_ids": {0: "sources"}, "fused": {0: "batch"}},
        )
        _add_metadata(path, _metadata(model, "fusion", None, sha))
        paths["fusion"] = path
    if card_path:
        card = read_card(card_path)
        folder = os.path.dirname(card["_path"])
        card["onnx"] = {
            k: {"file": os.path.relpath(p, folder), "sha256": sha256_file(p), "opset": opset} for k, p in paths.items()
        }
        card_file = card.pop("_path")
        write_card(card, card_file)
    return paths


def read_metadata(path):
    """metadata_props of an exported file as a dict (JSON values decoded)."""
    import onnx

    m = onnx.load(path, load_external_data=False)
    out = {}
    for p in m.metadata_props:
        try:
            out[p.key] = json.loads(p.value) if p.value[:1] in "[{" else p.value
        except ValueError:
            out[p.key] = p.value
    return out
