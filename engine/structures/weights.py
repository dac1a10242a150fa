"""GeoSAM weights as safetensors with a card; loading checks the card's sha256 before parsing.

Same rules as the foundation encoders (engine/foundation/model/weights.py): no pickle, a card that says what
the model is, was trained on and scored, and a digest that catches a swapped or truncated file.
"""

import datetime
import json
import os

from .. import __version__ as ENGINE_VERSION
from ..core.errors import InputError
from ..foundation.model.weights import ModelCard, load_state, read_card_file, sha256_file
from .modeling import GeoSamConfig, build_geosam

CARD_FORMAT = "mpm-studio-geosam"
CARD_VERSION = 1
WEIGHTS_NAME = "weights.safetensors"
CARD_NAME = "model_card.json"
CARD_MD = "MODEL_CARD.md"
INPUT_SCALING = ("Each of 1-3 bands is stretched on its own from its 2nd to 98th percentile of valid "
                 "pixels to 0-255; one band is repeated to 3, two get their mean as the third; "
                 "invalid pixels are 0. The view is resized so its longest side is img_size, then padded.")


def _markdown(card):
    lines = [f"# {card['name']}", "", card.get("description", ""), "",
             "- architecture: SAM prompt encoder + mask decoder (segment-anything 1.0), GeoSAM CNN image encoder",
             f"- config: `{json.dumps(card['config'])}`",
             f"- parameters: {card.get('params', '?'):,}" if isinstance(card.get('params'), int) else "",
             f"- input: {card['input_scaling']}",
             f"- weights: `{card['weights_file']}` sha256 `{card['sha256']}`", ""]
    for key in ("training", "evaluation", "evaluated"):
        if card.get(key):
            lines += [f"## {key.capitalize()}", "", "```json", json.dumps(card[key], indent=2), "```", ""]
    return "\n".join(line for line in lines if line is not None)


def save_geosam(model, out_dir, name="mpm-geosam", description="", training=None, evaluation=None):
    """Write weights + card into `out_dir` (which must exist); return the card."""
    from safetensors.torch import save_file

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    wpath = os.path.join(out_dir, WEIGHTS_NAME)
    save_file(state, wpath + ".partial")
    os.replace(wpath + ".partial", wpath)
    card = {
        "format": CARD_FORMAT, "format_version": CARD_VERSION, "name": name,
        "description": description, "kind": "geosam", "engine_version": ENGINE_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "config": model.config.to_dict(),
        "params": int(sum(v.numel() for v in model.parameters())),
        "input_scaling": INPUT_SCALING, "weights_file": WEIGHTS_NAME, "sha256": sha256_file(wpath),
        "training": training or {}, "evaluation": evaluation or {},
    }
    write_card(card, out_dir)
    return card


def write_card(card, out_dir):
    card = {k: v for k, v in card.items() if not k.startswith("_")}
    cpath = os.path.join(out_dir, CARD_NAME)
    with open(cpath + ".partial", "w") as f:
        json.dump(card, f, indent=2)
    os.replace(cpath + ".partial", cpath)
    with open(os.path.join(out_dir, CARD_MD), "w") as f:
        f.write(_markdown(card))


def read_card(path):
    path = os.fspath(path)
    cpath = os.path.join(path, CARD_NAME) if os.path.isdir(path) else path
    return read_card_file(cpath, CARD_FORMAT, CARD_VERSION, "GeoSAM model card",
                          fix=f"pass a folder written by MPM Studio's SAM training (it holds {CARD_NAME} and "
                              f"{WEIGHTS_NAME}), or an official SAM .pth checkpoint")


def open_geosam(path):
    """A GeoSAM folder (or its card) as a ModelCard, the type every model's card has: read once here."""
    if isinstance(path, ModelCard):
        return path
    return ModelCard(read_card(path), fix="re-copy the model folder, or retrain it (engine sam-train)")


def load_geosam(path):
    """A GeoSAM from its folder, card or open_geosam handle, eval mode, `.card` attached."""
    handle = open_geosam(path)
    card = handle.card
    state = load_state(handle.verify())
    model = build_geosam(GeoSamConfig.from_dict(card["config"]))
    own = model.state_dict()
    bad = sorted(set(own) ^ set(state)) + sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if bad:
        raise InputError(f"weights in '{card['_path']}' do not fit the architecture in the card (e.g. {bad[:3]})",
                         fix="use the card written together with these weights")
    model.load_state_dict(state, strict=True)
    model.card = card
    return model.eval()
