"""Label-free pretraining data: tiles of aligned stacks plus seeded synthetic scenes.

Stacks are cut into tile scenes so memory is bounded by `max_tiles x tile^2`, not by the raster;
deposits are never read here (the stack's deposits.tif is not touched).
"""

import numpy as np

from ..core.errors import InputError
from ..data.reader import Stack


def stack_scenes(folder, tile=256, max_tiles=64, seed=0, min_valid=0.25, exclude_bounds=None):
    """Scenes from up to `max_tiles` tiles of an aligned stack (random subset, fixed seed).

    exclude_bounds (xmin, ymin, xmax, ymax): an area held out for evaluation; tiles touching it are
    skipped, so no held-out pixel is ever seen in pretraining.
    """
    scenes = []
    with Stack(folder) as st:
        tiles = [t for t in st.tiles(tile) if t.core.width >= 32 and t.core.height >= 32]
        if exclude_bounds is not None:
            tiles = [t for t in tiles if not _intersects(st.grid.window_bounds(t.core), exclude_bounds)]
        order = np.random.default_rng(seed).permutation(len(tiles))
        for i in order:
            t = tiles[i]
            if st.read_valid(t.core).mean() < min_valid:
                continue
            scenes.append(st.scene(t.core))
            if len(scenes) >= max_tiles:
                break
    if not scenes:
        raise InputError(f"stack '{folder}' has no {tile} px tile with at least {min_valid:.0%} valid pixels",
                         fix="use a smaller tile, or check the stack's validity mask (valid.tif)")
    return scenes


def _intersects(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def synthetic_scenes(n, seed=0, size=256):
    from ..data.synthetic import generate_scenes

    scenes = generate_scenes(n, seed, size=size)
    for s in scenes:
        s.labels = {}  # label-free: truth maps never reach pretraining
    return scenes


def check_model_folder(out_dir, inputs=()):
    """A pretraining output must be a new or empty folder, or one of our own with a checkpoint to resume:
    never another model's folder (its weights and card would be overwritten) nor one of the inputs."""
    import os

    from ..core.atomic import check_not_input
    from ..core.errors import OutputError
    from .model.pretrain import CHECKPOINT

    check_not_input(out_dir, inputs, "model folder")
    if os.path.isfile(out_dir):
        raise OutputError(f"model folder '{out_dir}' is a file", fix="choose a new folder name (it will be created)")
    if os.path.isdir(out_dir) and os.listdir(out_dir) and not os.path.exists(os.path.join(out_dir, CHECKPOINT)):
        raise OutputError(f"model folder '{out_dir}' already exists and holds no pretraining checkpoint "
                          f"({CHECKPOINT}) to resume; pretraining never writes into another folder",
                          fix="choose a new folder name (it will be created), or delete that folder yourself")


def pretrain_foundation(stacks, out_dir, synthetic=0, synthetic_size=256, tile=256, max_tiles=64, exclude_bounds=None,
                        steps1=1000, steps2=500, batch_size=16, seed=0, device=None, resume=True, onnx=False,
                        feedback=None, config=None, init_model=None, lr=None, layer_masking=None):
    """Pretrain from stack folders and/or synthetic scenes (what the CLI and mpm:pretrain run).

    exclude_bounds: one (xmin, ymin, xmax, ymax) for every stack, or {folder: bounds} when the
    stacks differ in CRS. init_model: a foundation model to adapt instead of starting from random
    weights (see engine.foundation.model.pretrain.pretrain); layer_masking None: the shipped recipe's.
    Returns the pretraining summary (+ "onnx" paths when exported).
    """
    import os

    from .model.pretrain import pretrain

    check_model_folder(out_dir, list(stacks) + [init_model])
    scenes, held = [], {}
    for f in stacks:
        held[f] = exclude_bounds.get(f) if isinstance(exclude_bounds, dict) else exclude_bounds
        scenes += stack_scenes(f, tile=tile, max_tiles=max_tiles, seed=seed, exclude_bounds=held[f])
    if synthetic:
        scenes += synthetic_scenes(synthetic, seed=seed, size=synthetic_size)
    if not scenes:
        raise InputError("nothing to pretrain on", fix="give aligned stack folders and/or a number of synthetic scenes")
    summary = pretrain(scenes, config=config, steps_stage1=steps1, steps_stage2=steps2, out_dir=out_dir, seed=seed, device=device,
                       feedback=feedback, resume=resume, batch_size=batch_size, init_model=init_model, lr=lr, layer_masking=layer_masking,
                       data_description={"stacks": [os.path.abspath(f) for f in stacks], "synthetic_scenes": synthetic,
                                         "synthetic_size": synthetic_size, "tile": tile, "max_tiles_per_stack": max_tiles,
                                         "held_out_bounds": {os.path.abspath(f): b for f, b in held.items()},
                                         "scenes": len(scenes), "labels_used": False})
    if onnx and summary.get("rank", 0) == 0:  # under torchrun rank 0 alone writes (engine/foundation/model/pretrain.py)
        from .model.onnx_export import export_onnx
        from .model.weights import load_model

        summary["onnx"] = export_onnx(load_model(summary["card"]), os.path.join(out_dir, "onnx"), card_path=summary["card"])
    return summary
