"""Weights as safetensors plus a model card; loading verifies the card's sha256 first.

safetensors holds raw tensors only, so a weights file can never run code on load (a pickle
checkpoint can). The sha256 in the card catches truncated copies and files swapped in from
elsewhere before a byte of them is parsed.
"""

import datetime
import hashlib
import json
import os

from ... import __version__ as ENGINE_VERSION
from ...core.errors import InputError, MissingDependency
from .config import ModelConfig, count_params
from ...data.vocab import VOCAB

CARD_FORMAT = "mpm-studio-foundation-model"
CARD_VERSION = 1
WEIGHTS_NAME = "weights.safetensors"
CARD_NAME = "model_card.json"
CARD_MD = "MODEL_CARD.md"
NORMALISATION = (
    "Each layer is robust z-scored on its own (median / IQR, skewed positive quantities logged "
    "first); NaN marks invalid pixels, which are zero-filled and masked inside the model. Values "
    "are clipped to +-clip (config) before embedding."
)


def sha256_file(path, chunk=1 << 20):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def _markdown(card):
    cfg = card["config"]
    lines = [
        f"# MPM Studio foundation model ({', '.join(card['sources'])})",
        "",
        "Channel-agnostic ViT encoders, one per data source, pretrained as masked autoencoders "
        "(stage 1) and fused by a source-gated mixture of experts trained to rebuild a hidden "
        "source from the others (stage 2, encoders frozen). No deposit labels were used.",
        "",
        f"- Weights: `{card['weights_file']}` sha256 `{card['sha256']}`",
        f"- Window {cfg['window']} px, patch {cfg['patch']} px, dim {cfg['dim']}, depth {cfg['depth']}, "
        f"heads {cfg['heads']}, decoder {cfg['decoder_depth']}x{cfg['decoder_dim']}, mask ratio {cfg['mask_ratio']}",
        ("- Tokens: one per layer and patch (width {0}) through axial blocks (across patches, then across "
         "layers), pooled over layers into the {1}-wide embedding; per-layer MAE decoder {2} block(s)".format(
             cfg.get("layer_dim"), cfg["dim"], cfg.get("layer_decoder_depth"))
         if cfg.get("token_mode") == "layer" else
         "- Tokens: a patch's layers pooled into one token before the spatial blocks"),
        f"- Parameters: {card['params']['embedding']:,} on the embedding path, {card['params']['total']:,} in all",
        f"- FLOPs per window (embedding path, {card['flops_per_window']['channels']}): "
        f"{card['flops_per_window']['flops'] / 1e9:.3f} GFLOP",
        f"- Normalisation: {card['normalisation']}",
        f"- Layer vocabulary: {len(card['vocabulary'])} names (unknown names use `unknown_<source>`)",
    ]
    tr = card.get("training") or {}
    if tr:
        lines.append(f"- Training: stage 1 {tr.get('steps_stage1')} steps, stage 2 {tr.get('steps_stage2')} steps, "
                     f"batch {tr.get('batch_size')}, seed {tr.get('seed')}, device {tr.get('device')}")
        init = tr.get("initialised_from")
        if init:
            lines.append(f"  - started from `{init.get('name')}` (sha256 `{(init.get('sha256') or '')[:12]}`): "
                         f"{init.get('tensors_copied')} tensors copied, {init.get('tensors_fresh')} new")
        for stage, vals in (tr.get("final_losses") or {}).items():
            if vals:
                lines.append(f"  - final {stage} loss: " + ", ".join(f"{k} {v:.4f}" for k, v in vals.items()))
    data = card.get("data")
    if data:
        lines.append(f"- Data: {json.dumps(data)[:600]}")
    lines += ["", f"Engine version {card['engine_version']}, created {card['created']}.", ""]
    return "\n".join(lines)


def save_model(model, out_dir, data=None, training=None, flops=None, flops_channels=None):
    """Write weights.safetensors, model_card.json and MODEL_CARD.md into out_dir; return the card path."""
    from safetensors.torch import save_file

    from .config import REFERENCE_CHANNELS, count_flops

    os.makedirs(out_dir, exist_ok=True)
    wpath = os.path.join(out_dir, WEIGHTS_NAME)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = wpath + ".partial"
    save_file(state, tmp, metadata={"format": CARD_FORMAT, "engine_version": ENGINE_VERSION})
    os.replace(tmp, wpath)
    channels = flops_channels or {s: REFERENCE_CHANNELS.get(s, 8) for s in model.sources}
    if flops is None:
        flops = count_flops(model.config, channels)
    card = {
        "format": CARD_FORMAT,
        "format_version": CARD_VERSION,
        "engine_version": ENGINE_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "weights_file": WEIGHTS_NAME,
        "sha256": sha256_file(wpath),
        "sources": list(model.sources),
        "vocabulary": list(VOCAB)[: model.config.vocab_size],
        "normalisation": NORMALISATION,
        "config": model.config.to_dict(),
        "params": {"embedding": model.embedding_param_count(), "total": count_params(model)},
        "flops_per_window": {"flops": int(flops), "channels": channels, "counted": "matmul FLOPs, torch FlopCounterMode, batch 1"},
        "data": data,
        "training": training,
    }
    cpath = os.path.join(out_dir, CARD_NAME)
    write_card(card, cpath)
    return cpath


def write_card(card, card_path):
    tmp = card_path + ".partial"
    with open(tmp, "w") as f:
        json.dump(card, f, indent=2)
    os.replace(tmp, card_path)
    with open(os.path.join(os.path.dirname(card_path), CARD_MD), "w") as f:
        f.write(_markdown(card))


def _card_path(path):
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, CARD_NAME)
    elif path.endswith(".safetensors"):
        path = os.path.join(os.path.dirname(path), CARD_NAME)
    if not os.path.isfile(path):
        raise InputError(
            f"model card '{path}' not found",
            fix=f"pass the {CARD_NAME} written by pretraining, or the folder holding it",
        )
    return path


def read_card(path):
    """Parse and sanity-check a model card (no weights are touched)."""
    return read_card_file(_card_path(path), CARD_FORMAT, CARD_VERSION, "model card",
                          fix="pass the model_card.json written by MPM Studio pretraining")


def read_card_file(cpath, card_format, version, kind, fix):
    """The one card reader (foundation model, GeoSAM, head): the JSON at `cpath`, checked to be a card
    of `card_format` no newer than `version` (None: unversioned), with `_path` set; the weights it
    names are checked by verify_weights. kind: what the card is, for the messages; fix: how to get one."""
    if not os.path.isfile(cpath):
        raise InputError(f"{kind} '{cpath}' not found", fix=fix)
    try:
        with open(cpath) as f:
            card = json.load(f)
    except (OSError, ValueError) as exc:
        raise InputError(f"{kind} '{cpath}' is not valid JSON ({exc})", fix="re-copy the whole folder") from None
    if not isinstance(card, dict) or card.get("format") != card_format:
        raise InputError(f"'{cpath}' is not an MPM Studio {kind}", fix=fix)
    if version is not None and card.get("format_version", 0) > version:
        raise InputError(f"{kind} format {card.get('format_version')} is newer than this engine understands",
                         fix="update MPM Studio")
    card["_path"] = os.path.abspath(cpath)
    return card


class ModelCard:
    """An opened model folder (foundation model, GeoSAM or head): its card read once by read_card_file,
    where its files are, and the sha256 check of its weights done at most once. Opened at the top of an
    operation and passed down, so nothing below reads the card again or re-implements the check."""

    def __init__(self, card, fix="re-copy the model folder, or re-run pretraining to rebuild it"):
        self.card = card
        self.path = card["_path"]
        self.folder = os.path.dirname(self.path)
        self.fix = fix  # how to get a good copy when verify() fails
        self._weights = None

    def __repr__(self):
        return f"ModelCard({self.path!r})"

    def __getstate__(self):  # Dask workers get the card, not this process's verdict on the weights
        return {**self.__dict__, "_weights": None}

    @property
    def name(self):
        """The card's name, else the folder's (the foundation cards have none)."""
        return self.card.get("name") or os.path.basename(self.folder)

    @property
    def sha256(self):
        return self.card.get("sha256")

    @property
    def weights_file(self):
        return os.path.join(self.folder, os.path.basename(self.card.get("weights_file", WEIGHTS_NAME)))

    @property
    def files(self):
        """{role: path} of what the card names: the card, the weights, and its ONNX files if any."""
        out = {"card": self.path, "weights": self.weights_file}
        out.update({f"onnx:{k}": os.path.join(self.folder, e["file"]) for k, e in (self.card.get("onnx") or {}).items()})
        return out

    def verify(self):
        """The weights file's path once its sha256 matches the card (checked the first time only)."""
        if self._weights is None:
            self._weights = verify_weights(self.card, fix=self.fix)
        return self._weights


def open_model(model=None):
    """The foundation model as a ModelCard: a ModelCard as it is, None the shipped model, a path (card,
    folder or weights file) read once. Operations call it once at the top and pass the handle down."""
    if isinstance(model, ModelCard):
        return model
    if model is None:
        from ...core.shipped import FOUNDATION_MODEL as model
    return ModelCard(read_card(model))


def verify_weights(card, fix="re-copy the model folder, or re-run pretraining to rebuild it"):
    """Check the weights file against the card's sha256; return its path. `fix`: how to get a good copy."""
    folder = os.path.dirname(card["_path"])
    wpath = os.path.join(folder, os.path.basename(card.get("weights_file", WEIGHTS_NAME)))
    if not os.path.isfile(wpath):
        raise InputError(f"weights file '{wpath}' named by the card is missing", fix="re-copy the whole model folder")
    digest = sha256_file(wpath)
    if digest != card.get("sha256"):
        raise InputError(
            f"weights file '{wpath}' does not match its card (sha256 {digest[:12]}... expected "
            f"{str(card.get('sha256'))[:12]}...): it is corrupt, truncated or a different file",
            fix=fix,
        )
    return wpath


def _refuse_non_safetensors(wpath):
    """A safetensors file is an 8-byte little-endian header length, then that many bytes of JSON.

    Anything else (a pickle starts 0x80, a torch.save zip 'PK') is refused before any parser sees it;
    the check reads the header rather than the first byte, since a real header's length can end in 0x80.
    """
    size = os.path.getsize(wpath)
    with open(wpath, "rb") as f:
        head = f.read(8)
        n = int.from_bytes(head, "little") if len(head) == 8 else -1
        first = f.read(1) if 2 <= n <= size - 8 else b""
    if first != b"{":
        if head[:1] == b"\x80" or head[:2] == b"PK":
            raise InputError(f"'{wpath}' is a pickle / torch.save file, not safetensors; it is refused because "
                             "loading it could run arbitrary code",
                             fix="use weights saved by MPM Studio (weights.safetensors)")
        raise InputError(f"'{wpath}' is not a safetensors file (damaged, truncated or another format); it is "
                         "never loaded", fix="re-copy the model folder, or re-run pretraining")


def load_state(wpath):
    """Tensors from a safetensors file; anything else raises InputError without being executed."""
    try:
        from safetensors import SafetensorError
        from safetensors.torch import load_file
    except ImportError:
        raise MissingDependency("loading weights needs the 'safetensors' and 'torch' packages",
                                fix="install them into QGIS's Python (see the plugin's install notes)") from None
    _refuse_non_safetensors(wpath)
    try:
        return load_file(wpath, device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(
            f"'{wpath}' is not a readable safetensors file ({str(exc)[:120]})",
            fix="re-copy the model folder, or re-run pretraining",
        ) from None


def load_model(card_path, device="cpu"):
    """FoundationModel from a card (or its folder, or an open ModelCard), in eval mode, with `.card` attached.

    Order: read card -> verify sha256 -> parse safetensors -> strict key/shape check.
    """
    try:
        import torch  # noqa: F401
    except ImportError:
        raise MissingDependency("the torch backend needs PyTorch",
                                fix="install torch, or use the onnx-cpu backend with exported ONNX files") from None
    from .fusion import FoundationModel

    handle = open_model(card_path)
    card = handle.card
    wpath = handle.verify()
    state = load_state(wpath)
    config = ModelConfig.from_dict(card["config"])
    model = FoundationModel(config, card["sources"])
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    bad = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or extra or bad:
        raise InputError(
            f"weights in '{wpath}' do not fit the architecture in the card "
            f"({len(missing)} missing, {len(extra)} unexpected, {len(bad)} mis-shaped tensors, e.g. "
            f"{(missing + extra + bad)[:3]})",
            fix="use the card that was written together with these weights",
        )
    model.load_state_dict(state, strict=True)
    model.card = card
    model.vocab = tuple(card.get("vocabulary") or VOCAB)
    return model.to(device).eval()
