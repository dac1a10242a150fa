"""Every engine operation declared once: its parameters (kind, default, help, choices, range, checks)
and the engine function it calls. The CLI (engine/cli.py: add_operation, run_operation) and the
Processing algorithms (mpm_plugin/algorithms/base.py: EngineAlgorithm.definition / read) are
generated from these declarations, so a parameter, its default and its help are written here and
nowhere else.

No QGIS import, and cheap to import (no numpy, torch or rasterio): the plugin reads it while it loads.

The run settings every heavy operation shares (backend, CPU threads, tile size, embedding cache
folder, Dask scheduler and workers) are one `Runtime` (engine/core/runtime.py, with BACKENDS, the one
list of inference backends), passed down the engine explicitly (never through os.environ).

How to add a parameter to an operation: add a `Param(...)` to its `params` below. `name` is the
engine function's keyword; the CLI flag is `--name-with-dashes` (or `flag=`), the Processing name
NAME_IN_CAPITALS (or `key=`). A parameter only one front end has: `qgis=False` (CLI only) or
`cli=False`. E.g. an `align --dry-run` preview: add `Param("dry_run", BOOL, False, help="...",
qgis=False)` to ALIGN and a `dry_run=False` keyword to run_align (every declared value reaches the
operation's function as a keyword), or `engine=False` to keep it from the engine and act on it in
engine/cli.py's run_operation (`values["dry_run"]`). Range checks (`min`/`max`),
`choices` and `check` run in both front ends; user-facing Processing labels and help are extracted
for translation by i18n/update_ts.py (keep them literal strings).
"""

import dataclasses
import importlib
import os
from dataclasses import dataclass

from .core.errors import InputError
from .core.params import (BANDS, BOOL, CHOICE, CRS, CUSTOM, EXTENT, FIELD, FILE, FILES, FOLDER, INT, LAYERS, NUMBER,
                          OUT_FILE, OUT_FOLDER, RASTER, TEXT, VECTOR, Param)
from .core.runtime import BACKENDS, RUNTIME, Runtime  # noqa: F401 (the front ends' one import)
from .prospectivity.artifacts import HEAD_CARD, PREDICTION_MARKER


@dataclass(frozen=True)
class Operation:
    """An engine operation: CLI command `name`, Processing algorithm mpm:`alg`, engine function `call`
    ("module:function" in this package, imported when run), its parameters and the Runtime fields it takes."""

    name: str
    alg: str
    call: str
    help: str
    params: tuple
    runtime: tuple = ()  # names of the Runtime fields the operation takes
    overwrite: bool = True  # the CLI's --overwrite
    epilog: str = None  # "module:function" giving the CLI help's closing text (imported only for --help)

    def all_params(self):
        """Its own parameters then the runtime's it takes, in the order the front ends show them."""
        return tuple(self.params) + tuple(RUNTIME[n] for n in self.runtime)

    def param(self, name):
        for p in self.all_params():
            if p.name == name:
                return p
        raise KeyError(name)

    def function(self):
        module, func = self.call.split(":")
        return getattr(importlib.import_module(f".{module}", __package__), func)

    def run(self, values, runtime=None, feedback=None, overwrite=False, **extra):
        """Call the engine with `values` {param name: value} (the front end's reading), checked here;
        None values are left out (the engine's default applies). `extra`: keywords a front end adds
        (e.g. a layer's display name)."""
        kwargs = {}
        for p in self.params:
            value = values.get(p.name)
            if value is not None and p.engine:
                kwargs[p.name] = p.validate(value)
        if self.runtime:
            kwargs["runtime"] = runtime or Runtime()
        if self.overwrite:
            kwargs["overwrite"] = overwrite
        return self.function()(**kwargs, **extra, feedback=feedback)

    def runtime_from(self, values):
        """The Runtime of a run from the front end's values (only the fields this operation takes)."""
        given = {n: RUNTIME[n].validate(values.get(n)) for n in self.runtime}
        return Runtime.of(None, **given)


def _unit_interval(what):
    def check(v):
        if not 0.0 <= v <= 1.0:
            raise InputError(f"{what} {v} is not between 0 and 1", fix="give a fraction from 0 to 1")
    return check


# ---- shared parameters ----

STACK = Param("stack_dir", FOLDER, positional=True, key="STACK", metavar="stack", marker="stack.json",
              what="an aligned stack folder", label="Aligned stack folder", help="aligned stack folder")
MODEL = Param("model", FOLDER, None, optional=True, advanced=True, flag="--model",
              label="Foundation model folder (empty: the shipped model)",
              help="The pretrained foundation model: the folder holding model_card.json (as written by Pretrain "
                   "foundation encoders), or the model_card.json itself. Leave empty for the model shipped with the "
                   "plugin. A head only works with the model it was fine-tuned on.")
NEW_FOLDER_HELP = "A new folder (it must not exist, or be empty)."


def _out(kind=OUT_FOLDER, label="", help=NEW_FOLDER_HELP, ext=None, name="out", **kw):
    """The operation's output: --out on the CLI, OUTPUT in Processing; `name`: the engine function's keyword."""
    return Param(name, kind, key="OUTPUT", flag="--out", label=label, help=help, ext=ext, **kw)


# ---- the operations ----

ALIGN = Operation("align", "alignstack", "operations:run_align",
                  "align layers of every source onto one grid (stack folder)", (
    Param("layers", CUSTOM, help="layers per source (geology, geochemistry, geophysics, remote sensing)"),
    Param("spec", FILE, None, optional=True, qgis=False,
          help="JSON stack spec (layers, grid, deposits); flags below add to / override it"),
    Param("deposits", VECTOR, None, optional=True, geometry="point", label="Known deposits (points)",
          help="known deposits (points)"),
    Param("aoi", VECTOR, None, optional=True, geometry="polygon", label="Area of interest (polygons)",
          help="area of interest (polygons)"),
    Param("lithology_field", TEXT, None, optional=True, cli=False,
          label="Lithology class field (empty: first text field)"),
    Param("elements", TEXT, None, optional=True, cli=False,
          label="Elements to grid, comma separated (empty: all element fields)"),
    Param("layer_types", TEXT, None, optional=True, cli=False, advanced=True,
          label="Layer types by layer name (name=type, comma separated; empty: guessed from the names)",
          help="What each layer measures, a name of the model's vocabulary per layer (its file name without "
               "extension), e.g. mag_100m=magnetic, lith=lithology_unit. The panel's Align preview fills it in."),
    Param("class_fields", TEXT, None, optional=True, cli=False, advanced=True,
          label="Class field by polygon layer name (name=field, comma separated; empty: the most informative)",
          help="The text field holding the classes of a polygon layer, per layer, e.g. lith=ROCK_NAME_. Overrides "
               "the lithology class field for that layer. The panel's Align preview fills it in."),
    Param("clr", BOOL, True, label="Centred log-ratio transform of geochemistry", flag="--no-clr",
          help="On: the geochemistry is gridded as centred log-ratios; off (CLI: --no-clr): as raw concentrations."),
    Param("search_radius", NUMBER, None, min=0.0, optional=True, zero_is_none=True,
          label="Geochemistry search radius in metres (0: 3 x median sample spacing)",
          help="geochemistry IDW search radius in metres"),
    Param("crs", CRS, None, optional=True, label="Target CRS (empty: the first raster's)",
          help="target CRS, e.g. EPSG:3067 (default: the first raster's)"),
    Param("res", NUMBER, None, optional=True, zero_is_none=True, key="RESOLUTION",  # checked by align (any number)
          label="Target pixel size (0: most common raster pixel size)",
          help="target pixel size in CRS units (default: most common raster pixel)"),
    Param("bounds", EXTENT, None, optional=True, key="EXTENT", label="Target extent (empty: AOI or raster overlap)",
          metavar=("XMIN", "YMIN", "XMAX", "YMAX")),
    Param("tile_size", INT, 512, min=32, qgis=False),
    _out(label="Output stack folder", optional=True,  # CLI: not with --dry-run; Processing always asks for it
         help="output stack folder (must not exist unless --overwrite); not with --dry-run"),
    Param("dry_run", BOOL, False, qgis=False,
          help="write nothing: show per layer its kind, layer type, class field and classes, nodata, native "
               "resolution and coverage of the area, with warnings on suspicious choices"),
    Param("json", BOOL, False, qgis=False, help="with --dry-run: print the preview as JSON"),
), epilog="data.layers:options_help")


def name_pairs(text, what):
    """{layer name: value} from 'name=value, name=value' (layer_types, class_fields); a malformed item is named."""
    out = {}
    for item in (text or "").replace("\n", ",").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InputError(f"{what}: '{item.strip()}' is not name=value", fix=f"give {what} as name=value pairs, "
                             "comma separated, e.g. mag=magnetic")
        out[name.strip()] = value.strip()
    return out


def _per_layer(layers, pairs, what, key):
    """Set `key` of each named layer; a name no layer has is refused with the layers' names (a typo is not ignored)."""
    from .data.layers import check_layer_type

    by_name = {layer.name: layer for layer in layers}
    unknown = sorted(set(pairs) - set(by_name))
    if unknown:
        raise InputError(f"{what} names layer(s) not given: {', '.join(unknown)}",
                         fix=f"use the layers' names: {', '.join(by_name) or '(no layers)'}")
    for name, value in pairs.items():
        if key == "layer_type":
            check_layer_type(value, by_name[name].source, name)
        setattr(by_name[name], key, value)


def run_align(layers=(), out=None, spec=None, deposits=None, aoi=None, lithology_field=None, elements=None,
              layer_types=None, class_fields=None, clr=True, search_radius=None, crs=None, res=None, bounds=None,
              tile_size=512, overwrite=False, feedback=None, dry_run=False, json=False):
    """align_stack from the declared values: `layers` [LayerSpec]; a --spec file's layers come first.
    layer_types / class_fields: 'name=value' pairs per layer (the panel's preview edits).
    dry_run: nothing written; the layers' preview (engine.data.preview.Preview) is returned instead."""
    from .data.stack import StackSpec, align_stack

    extra = {}
    if lithology_field:
        extra["geology"] = {"field": lithology_field}
    if elements:
        extra["geochemistry"] = {"elements": [e.strip() for e in elements.split(",") if e.strip()]}
    for layer in layers:
        for k, v in extra.get(layer.source, {}).items():
            setattr(layer, k, v)
    _per_layer(layers, name_pairs(layer_types, "layer_types"), "layer_types", "layer_type")
    _per_layer(layers, name_pairs(class_fields, "class_fields"), "class_fields", "field")
    if spec:
        spec = StackSpec.from_json(spec)
        spec.layers += list(layers)
    else:
        spec = StackSpec(list(layers))
    for k, v in (("deposits", deposits), ("aoi", aoi)):
        if v:
            setattr(spec, k, os.path.abspath(v))
    for k, v in (("crs", crs), ("res", res), ("bounds", bounds), ("search_radius", search_radius)):
        if v is not None:
            setattr(spec, k, v)
    spec.clr = spec.clr and clr
    spec.tile_size = tile_size
    if dry_run:
        from .data.preview import preview_layers

        return preview_layers(spec, feedback=feedback)
    if not out:
        raise InputError("no output folder given", fix="give --out FOLDER (or --dry-run to only preview the layers)")
    return align_stack(spec, out, overwrite=overwrite, feedback=feedback)


FINETUNE = Operation("finetune", "finetune", "prospectivity:finetune",
                     "train a prospectivity head on the stack's deposits, with spatial cross-validation against "
                     "random forest and weights of evidence", (
    dataclasses.replace(STACK, label="Aligned stack folder (with deposits)",
                        help="A folder written by Align evidence stack with known deposits (stack.json, deposits.tif)."),
    Param("deposits", VECTOR, None, optional=True, geometry="point", label="Deposits to train on (points, optional)",
          help="Another deposit type on the same stack: the stack and its cached embedding are reused. Empty: the "
               "deposits given to Align."),
    MODEL,
    Param("n_background", INT, 10000, min=100, key="BACKGROUND", flag="--background",
          label="Background (unlabelled) pixels sampled",
          help="Random cells used as unlabelled samples in each training fold; more is slower and steadier."),
    Param("buffer_m", NUMBER, 2000.0, min=0.0, key="BUFFER", flag="--buffer",
          label="Buffer around deposits kept out of the background (m)",
          help="metres around deposits kept out of the background"),
    Param("validate", BOOL, True, label="Spatial cross-validation against baselines",
          help="Off: train the head only (faster), no validation report."),
    Param("compare_embeddings", BOOL, False, label="Compare with the foundation embeddings",
          help="Also cross-validate the head with the foundation model's embeddings added, so the report says "
               "whether they add skill on this stack. Embeds the stack once (cached): most of a first run's time."),
    Param("folds", INT, 5, min=2, max=50, advanced=True, label="Cross-validation folds",
          help="spatial cross-validation folds"),
    Param("block_m", NUMBER, 10000.0, min=1.0, key="BLOCK", flag="--block", advanced=True,
          label="Spatial block size (m)",
          help="Deposits and background are grouped in square blocks of this size; whole blocks go to one fold, so "
               "validation is not flattered by spatial autocorrelation."),
    Param("seed", INT, 0, min=0, advanced=True, label="Random seed"),
    _out(label="Head folder", name="out_dir"),
), runtime=("backend", "threads", "cache_dir"))

PREDICT = Operation("predict", "predict", "prospectivity:predict",
                    "prospectivity, uncertainty and per-source contribution rasters", (
    dataclasses.replace(STACK, help="A folder written by Align evidence stack with the same layer kinds as the "
                                    "head's training stack."),
    Param("head_dir", FOLDER, key="HEAD", flag="--head", marker=HEAD_CARD, what="a head folder",
          label="Head folder (from Fine-tune prospectivity head)", help="head folder from finetune"),
    MODEL,
    Param("contributions", BOOL, True, label="Per-source contribution maps",
          help="Costs one more embedding pass per source (cached afterwards)."),
    _out(label="Prediction folder", name="out_dir"),
), runtime=("backend", "threads", "tile", "cache_dir", "scheduler", "workers"))

TARGETS = Operation("targets", "targets", "operations:run_targets",
                    "ranked target polygons from a prospectivity map (GeoPackage)", (
    Param("prediction_dir", FOLDER, positional=True, key="PREDICTION", metavar="prediction", marker=PREDICTION_MARKER,
          what="a prediction folder", label="Prediction folder (from Predict prospectivity)",
          help="Holds prospectivity.tif; uncertainty.tif and contributions.tif are used when present."),
    Param("mode", CHOICE, "capture", choices=("capture", "threshold"), cli=False, label="How to cut the map",
          help="Values: capture, threshold. capture: VALUE is the fraction of known deposits the targets must "
               "hold; threshold: VALUE is the probability cut."),
    Param("value", NUMBER, 0.8, min=0.0, max=1.0, cli=False,
          label="Fraction of deposits captured, or probability threshold"),
    Param("threshold", NUMBER, None, optional=True, qgis=False, check=_unit_interval("threshold"),
          help="probability cut (0-1)"),
    Param("capture", NUMBER, None, optional=True, qgis=False, check=_unit_interval("capture"),
          help="fraction of known deposits the targets must capture (0-1]"),
    Param("stack_dir", FOLDER, None, optional=True, key="STACK", flag="--stack", marker="stack.json",
          what="an aligned stack folder",
          label="Aligned stack folder (its deposits are counted; needed for mode 'capture')",
          help="The stack the prediction was made on; its known deposits (stack.json) decide the cut in mode "
               "capture and are counted per target."),
    Param("min_area_km2", NUMBER, 1.0, min=0.0, key="MIN_AREA", flag="--min-area", label="Smallest target (km2)",
          help="Smallest target in km2: at Kolari 8 of 31 targets were under 1 km2, their labels wider than them."),
    Param("simplify", NUMBER, None, min=0.0, optional=True, zero_is_none=True, advanced=True,
          label="Simplification tolerance (map units, 0: none)", help="simplification tolerance in map units"),
    _out(OUT_FILE, label="Targets", help="A GeoPackage (.gpkg).", ext=".gpkg", geometry="polygon"),
))


def run_targets(prediction_dir, out, stack_dir=None, mode=None, value=None, threshold=None, capture=None,
                min_area_km2=1.0, simplify=None, overwrite=False, feedback=None):
    """targets_from_prediction: the cut given as MODE + VALUE (Processing) or --threshold / --capture (CLI)."""
    from .prospectivity.targets import targets_from_prediction

    if mode is not None:
        threshold, capture = (value, None) if mode == "threshold" else (None, value)
    if (threshold is None) == (capture is None):
        raise InputError("give either a probability threshold or a fraction of deposits to capture, not both",
                         fix="targets: --threshold 0.7 or --capture 0.8")
    if capture is not None and not stack_dir:
        raise InputError("Mode 'capture' needs the STACK folder (its known deposits decide the cut)",
                         fix="give the stack folder (--stack, STACK), or cut at a probability threshold")
    return targets_from_prediction(prediction_dir, out, stack_dir=stack_dir, threshold=threshold, capture=capture,
                                   min_area_km2=min_area_km2, simplify=simplify, overwrite=overwrite, feedback=feedback)


ANOMALIES = Operation("anomalies", "anomalies", "anomalies.reconstruction:geochem_anomalies",
                      "geochemical anomaly maps (reconstruction residuals + Mahalanobis baseline)", (
    dataclasses.replace(STACK, label="Aligned stack folder (with geochemistry)",
                        help="aligned stack folder with geochemistry"),
    MODEL,
    Param("top", INT, 20, min=1, max=10000, label="Anomalies listed in the table", help="rows in top_anomalies.csv"),
    _out(label="Anomaly folder", name="out_dir"),
), runtime=("threads", "tile"))

VALIDATE = Operation("validate", "validate", "operations:run_validate",
                     "validate any prospectivity map against known deposits (success-rate, ROC, P-A over the whole map)", (
    Param("raster", RASTER, positional=True, key="MAP", metavar="map", label="Prospectivity map",
          help="prospectivity raster (e.g. prediction/prospectivity.tif, or another tool's map)"),
    Param("band", INT, 1, min=1, parent="MAP", label="Band"),
    Param("deposits", VECTOR, geometry="point", label="Known deposits (points)", help="Any CRS; reprojected to the map's."),
    Param("lower_is_better", BOOL, False, advanced=True, label="Low values are prospective",
          help="the map ranks low values as prospective"),
    _out(label="Validation folder"),
))


def run_validate(raster, deposits, out, band=1, lower_is_better=False, name=None, overwrite=False, feedback=None):
    from .prospectivity.validate import validate_map

    return validate_map(raster, deposits, out, band=band or 1, higher_is_better=not lower_is_better, name=name,
                        overwrite=overwrite, feedback=feedback)

# engine.data.derivatives.KINDS, spelled out: importing that module would import numpy and rasterio
DERIVATIVE_KINDS = ("tilt", "horizontal_gradient", "vertical_derivative")
DERIVATIVES = Operation("derivatives", "derivatives", "operations:run_derivatives",
                        "tilt derivative, total horizontal gradient, vertical derivative of a magnetic or gravity grid "
                        "(layers to trace faults and contacts on)", (
    Param("raster", RASTER, positional=True, key="GRID", metavar="grid", label="Magnetic or gravity grid",
          help="a potential-field grid in a projected CRS (pixels in metres), e.g. reduced-to-pole magnetics"),
    Param("band", INT, 1, min=1, parent="GRID", label="Band"),
    Param("derivative", CHOICE, "all", choices=("all",) + DERIVATIVE_KINDS, label="Derivative",
          help="all (one band each), or one of tilt, horizontal_gradient, vertical_derivative."),
    _out(OUT_FILE, label="Derivatives", help="A GeoTIFF (.tif), one band per derivative.", ext=".tif"),
))


def run_derivatives(raster, out, band=1, derivative="all", overwrite=False, feedback=None):
    from .data.derivatives import write_derivatives

    kinds = DERIVATIVE_KINDS if derivative == "all" else (derivative,)
    return write_derivatives(raster, out, kinds, band=band or 1, overwrite=overwrite, feedback=feedback)


EMBED = Operation("embed", "embed", "foundation.embed:embed_stack",
                  "fused foundation embedding of an aligned stack (GeoTIFF, patch resolution)", (
    STACK,
    MODEL,
    _out(OUT_FILE, label="Embedding", help="A GeoTIFF (.tif).", ext=".tif", name="out_path"),
), runtime=("backend", "tile", "threads", "scheduler", "workers"))

PRETRAIN = Operation("pretrain", "pretrain", "operations:run_pretrain",
                     "pretrain the per-source foundation encoders (label-free)", (
    Param("stacks", FILES, (), optional=True, flag="--stack", geometry="file",
          label="Aligned stacks (folders, or their stack.tif)",
          help="Folders written by Align evidence stack, or a file inside each (stack.tif). qgis_process: repeat "
               "--STACKS=/data/a/stack --STACKS=/data/b/stack (or join with ';'). Empty: synthetic scenes only."),
    Param("synthetic", INT, 0, min=0, label="Synthetic scenes to add", help="number of seeded synthetic scenes to add"),
    Param("init_model", FOLDER, None, optional=True, flag="--init-from", metavar="MODEL",
          label="Start from foundation model (empty: random weights)",
          help="Adapt a pretrained model (the shipped one, or one you pretrained) to these data instead of "
               "training from scratch: far fewer steps are needed. Its architecture is kept; sources it lacks "
               "start fresh, its sources without data here are kept unchanged. A model folder or its "
               "model_card.json."),
    Param("steps1", INT, 1000, min=0, label="Stage 1 steps (each source alone)"),
    Param("steps2", INT, 500, min=0, label="Stage 2 steps (one source from the others)"),
    Param("batch_size", INT, 16, min=1, label="Batch size"),
    Param("seed", INT, 0, min=0, label="Random seed"),
    Param("device", CHOICE, "auto", choices=("auto", "cpu", "cuda"), label="Device",
          help="Values: auto, cpu, cuda (auto: cuda when a GPU is available, else cpu)."),
    Param("onnx", BOOL, False, label="Also export the encoders to ONNX (CPU inference)"),
    Param("resume", BOOL, True, advanced=True, label="Resume from a checkpoint in the output folder",
          help="Off (CLI: --no-resume): start afresh even if the output folder holds a checkpoint."),
    Param("tile", INT, 256, min=32, advanced=True, label="Stack tile size per scene (pixels)"),
    Param("max_tiles", INT, 64, min=1, advanced=True, label="Tiles per stack (bounds memory)"),
    Param("synthetic_size", INT, 256, min=64, advanced=True, label="Synthetic scene size (pixels)"),
    Param("layer_masking", NUMBER, None, min=0.0, max=1.0, optional=True, advanced=True, metavar="SHARE",
          label="Share of stage 1 batches masked per layer (0-1)",
          help="0: every batch hides whole patches (all layers of a place). Above 0: that share of the batches "
               "hides each layer's patches on its own, so the encoder learns to rebuild a layer from the others "
               "at the same place. Empty: 0.5 as the shipped model was trained (0 for a model with an "
               "interpolation prior). Sources with one layer always use whole patches."),
    Param("token_mode", CHOICE, "default", choices=("default", "layer", "patch"), advanced=True,
          label="Encoder tokens",
          help="layer: one token per layer and patch, pooled at the end (keeps each layer's detail; about "
               "2-4x the compute on sources with 10-20 layers). patch: a patch's layers are pooled into one "
               "token first (the retired v1 design, cheaper). default: the engine's default, layer tokens as in "
               "the shipped model. A model to start from keeps its own architecture (then leave this at default)."),
    Param("recon_prior", CHOICE, "none", choices=("none", "idw"), qgis=False,
          help="idw: the MAE decoder learns the residual over an inverse-distance fill of the visible pixels"),
    Param("lr", NUMBER, None, min=0.0, optional=True, qgis=False,
          help="learning rate (default: 1e-3 from scratch, 3e-4 with --init-from)"),
    Param("exclude_bounds", EXTENT, None, optional=True, key="EXCLUDE_EXTENT", advanced=True,
          metavar=("XMIN", "YMIN", "XMAX", "YMAX"), label="Area held out of pretraining (for evaluation)",
          help="Tiles touching this extent are never seen."),
    _out(label="Model folder", help="A new or empty folder, or one holding a checkpoint to resume."),
), overwrite=False)


def run_pretrain(out, stacks=(), init_model=None, token_mode="default", recon_prior="none", device="auto",
                 feedback=None, **kw):
    """pretrain_foundation from the declared values: the architecture from token_mode / recon_prior
    (refused with a model to adapt, whose architecture is kept)."""
    from .foundation.pretrain_data import pretrain_foundation

    if init_model and (recon_prior != "none" or token_mode != "default"):
        raise InputError("--recon-prior and --token-mode cannot change a model given with --init-from",
                         fix="drop them (the model's own architecture is kept), or start from scratch")
    config = None
    if not init_model:
        from .foundation.model.config import ModelConfig

        arch = {"recon_prior": recon_prior, **({"token_mode": token_mode} if token_mode != "default" else {})}
        config = ModelConfig(**arch)
    return pretrain_foundation(list(stacks), out, device=None if device == "auto" else device, init_model=init_model,
                               config=config, feedback=feedback, **kw)


STRUCTURES = Operation("structures", "structures", "structures.extract:extract_from_points",
                       "trace structures (faults, contacts, intrusions ...) with SAM at prompt points (GeoPackage)", (
    Param("raster", RASTER, positional=True, key="INPUT", label="Raster to trace structures on",
          help="raster to trace on (a magnetic or gravity grid, a DEM, an image)"),
    Param("bands", BANDS, (1,), parent="INPUT", metavar="B", label="Bands (1 to 3)",
          help="One band for a grid (magnetics, gravity, DEM), up to three for an image."),
    Param("prompts", VECTOR, geometry="point", label="Prompt points",
          help="points layer of prompts (GeoPackage, Shapefile, GeoJSON)"),
    Param("feature_type", CHOICE, "fault", choices=("fault", "lineament", "contact", "intrusion", "alteration"),
          key="TYPE", flag="--type", label="Feature type",
          help="Values: fault, lineament, contact, intrusion, alteration. Used for every group unless a type "
               "field is given."),
    Param("group_field", FIELD, None, optional=True, parent="PROMPTS", label="Group field (points of one feature)",
          help="points sharing a value of this field make one feature (default: one per point)"),
    Param("label_field", FIELD, None, optional=True, parent="PROMPTS", label="Label field (1 include, 0 exclude)",
          help="1 = include, 0 = exclude point (default: all include)"),
    Param("type_field", FIELD, None, optional=True, parent="PROMPTS", label="Type field (overrides the feature type)",
          help="feature type per group, overriding --type"),
    Param("tolerance", NUMBER, None, min=0.0, optional=True, zero_is_none=True,
          label="Simplification tolerance (map units, 0: one view pixel for lines, none for bodies)",
          help="simplification tolerance in map units (default: one pixel of the view for lines, none for bodies)"),
    Param("min_size", NUMBER, 0.0, min=0.0, advanced=True, label="Smallest structure kept (map units)",
          help="drop parts shorter (lines) or smaller (polygons) than this, in map units"),
    Param("snap", BOOL, True, label="Snap intrusions and alteration to the image's edges",
          help="The model finds the body, a watershed on the image's gradient seeded with the model's mask draws "
               "its boundary (on the held-out Kolari grids this traces the intrusions far better). Off: the "
               "model's own mask."),
    Param("context_px", INT, 256, min=32, key="CONTEXT", flag="--context", advanced=True,
          label="View size around each group (raster pixels)",
          help="view size around each group in raster pixels (default: 256)"),
    Param("model", FILE, None, optional=True, advanced=True, label="SAM model (empty: the shipped GeoSAM)",
          help="A GeoSAM model folder or its model_card.json, or an official SAM checkpoint (sam_vit_b/l/h .pth, "
               ".safetensors) loaded without running code."),
    _out(OUT_FILE, label="Structures", ext=".gpkg", geometry="any", name="out_path",
         help="A GeoPackage (.gpkg): layer structure_lines and / or structure_polygons."),
), runtime=("backend", "threads", "cache_dir"))

# ---- weights of evidence, logistic regression, fuzzy overlay ----

WOFE_DEPOSITS = Param("deposits", VECTOR, geometry="point", label="Known deposits (points)",
                      help="Every point must lie on a valid pixel of the evidence; each point counts (GA's convention).")
UNIT_CELL = Param("unit_cell_km2", NUMBER, 1.0, min=1e-6, key="UNIT_CELL", flag="--unit-cell",
                  label="Unit cell area (km2)",
                  help="Area of one unit cell: the prior and the weights count deposits per unit cell. 1 km2 is usual; "
                       "the study area must hold far more unit cells than deposits.")
MISSING = Param("missing", INT, None, optional=True, advanced=True, label="Missing-data class (empty: none)",
                help="The class value meaning 'inside the study area, evidence unknown here': kept out of the totals "
                     "(weights) and adding the missing-data variance (response).")
EVIDENCE = Param("evidence", CUSTOM, metavar=("RASTER", "TABLE"),
                 help="an evidence raster (usually the generalised one) and its weights table CSV; repeat per map")

WOFE_WEIGHTS = Operation("wofe-weights", "wofeweights", "operations:run_wofe_weights",
                         "weights of evidence of one integer evidence raster against deposit points (GA / ArcSDM "
                         "weights table + generalised raster)", (
    Param("raster", RASTER, positional=True, key="INPUT", label="Evidence raster (integer classes)",
          help="Projected CRS in metres; nodata is outside the study area."),
    Param("band", INT, 1, min=1, optional=True, parent="INPUT", advanced=True, label="Band"),
    WOFE_DEPOSITS,
    Param("method", CHOICE, "categorical", choices=("categorical", "ascending", "descending"), label="Method",
          help="Values: categorical, ascending (favourable when low), descending (favourable when high)."),
    UNIT_CELL,
    Param("studentized_threshold", NUMBER, 2.0, min=0.0, key="STUDC", flag="--studc",
          label="Studentised contrast threshold",
          help="A class is used in the generalisation only when its studentised contrast reaches this (2: about "
               "95 % confidence that the contrast is not zero)."),
    MISSING,
    Param("pool", BOOL, False, advanced=True, label="Pool the categorical classes below the threshold (ArcSDM)"),
    _out(OUT_FILE, label="Weights table", help="A .csv file.", ext=".csv"),
    Param("generalised", OUT_FILE, None, optional=True, ext=".tif", label="Generalised raster",
          help="The evidence reclassified to GEN_CLASS (GeoTIFF)."),
))


def run_wofe_weights(raster, deposits, out, generalised=None, band=1, overwrite=False, feedback=None, name=None, **kw):
    """The weights table written to `out` (CSV) and, when asked, the generalised raster; returns the table."""
    from .core.atomic import check_output_path
    from .classical.wofe import calculate_weights, write_generalised

    check_output_path(out, overwrite, "weights table", inputs=(raster,))
    if generalised:
        check_output_path(generalised, overwrite, "generalised raster", inputs=(raster,))
    t = calculate_weights(raster, deposits, band=band or 1, name=name, **kw)
    if feedback is not None:
        feedback.setProgress(60)
    t.write_csv(out, overwrite=overwrite)
    if generalised:
        write_generalised(raster, t, generalised, band=band or 1, overwrite=overwrite)
    return t


WOFE_RESPONSE = Operation("wofe-response", "woferesponse", "operations:run_wofe_response",
                          "weights-of-evidence posterior probability, its standard deviation and confidence from "
                          "evidence maps and their weights tables", (
    EVIDENCE, WOFE_DEPOSITS, UNIT_CELL, MISSING,
    _out(label="Response folder",
         help="output folder (posterior.tif, posterior_std.tif, confidence.tif, conditions.csv, auc.csv, summary.json)"),
))


def evidence_tables(pairs):
    """[(raster, WeightsTable)] from [(raster, table CSV)] (a table's name: its raster's file name)."""
    from .classical.wofe import read_weights_csv

    return [(r, t if not isinstance(t, (str, os.PathLike)) else
             read_weights_csv(t, name=os.path.splitext(os.path.basename(r))[0])) for r, t in pairs]


def run_wofe_response(evidence, deposits, out, unit_cell_km2=1.0, missing=None, overwrite=False, feedback=None):
    from .core.atomic import check_output_path
    from .classical.wofe import calculate_response

    check_output_path(out, overwrite, "response folder")
    return calculate_response(evidence_tables(evidence), deposits, out_dir=out, missing=missing,
                              unit_cell_km2=unit_cell_km2, overwrite=overwrite, feedback=feedback)


LOGISTIC = Operation("logistic", "logistic", "operations:run_logistic",
                     "logistic regression on weights-of-evidence maps (their generalised classes)", (
    dataclasses.replace(EVIDENCE, help="an evidence raster and its weights table CSV (classes -> GEN_CLASS); "
                                       "repeat per map"),
    WOFE_DEPOSITS, UNIT_CELL,
    _out(label="Logistic regression folder",
         help="output folder (lr_posterior.tif, lr_posterior_std.tif, coefficients.csv, conditions.csv, auc.csv, "
              "summary.json)"),
))


def run_logistic(evidence, deposits, out, unit_cell_km2=1.0, overwrite=False, feedback=None):
    from .classical.logistic import logistic_regression

    return logistic_regression(evidence_tables(evidence), deposits, out_dir=out, unit_cell_km2=unit_cell_km2,
                               overwrite=overwrite, feedback=feedback)


FUZZY = Operation("fuzzy", "fuzzy", "operations:run_fuzzy",
                  "fuzzy overlay: memberships of evidence rasters combined (knowledge-driven)", (
    Param("layers", CUSTOM, metavar=("RASTER", "FUNCTION", "A", "B"),
          help="raster, membership (linear A=value of 0, B=value of 1; small / large A=midpoint B=spread; gaussian "
               "A=centre B=spread); repeat per layer"),
    Param("operator", CHOICE, "gamma", choices=("and", "or", "product", "sum", "gamma"), label="Operator",
          help="Values: and, or, product, sum, gamma."),
    Param("gamma", NUMBER, 0.9, min=0.0, max=1.0, label="Gamma",
          help="Only for the gamma operator: 0 is the product, 1 the sum."),
    _out(OUT_FILE, label="Fuzzy overlay", help="A GeoTIFF (.tif).", ext=".tif"),
))
MEMBERSHIPS = ("linear", "small", "large", "gaussian")


def run_fuzzy(layers, out, operator="gamma", gamma=0.9, overwrite=False, feedback=None):
    """fuzzy_overlay of [(raster, function, a, b)], each row checked (function known, a and b numbers)."""
    from .classical.fuzzy import fuzzy_overlay

    rows = []
    for i, (path, function, a, b) in enumerate(layers):
        if str(function).lower() not in MEMBERSHIPS:
            raise InputError(f"membership row {i + 1}: unknown function '{function}'", layer=path,
                             fix="use linear, small, large or gaussian")
        try:
            rows.append((path, str(function).lower(), float(a), float(b)))
        except ValueError:
            raise InputError(f"membership parameters '{a}' '{b}' are not numbers", layer=path,
                             fix="give --layer RASTER FUNCTION A B with numbers A and B") from None
    if any(os.path.abspath(out) == os.path.abspath(r[0]) for r in rows):
        raise InputError(f"'{out}' is the evidence raster itself; inputs are never overwritten",
                         fix="choose another output file")
    return fuzzy_overlay(rows, operator, out, gamma=gamma, overwrite=overwrite)


OPERATIONS = {op.name: op for op in (ALIGN, FINETUNE, PREDICT, TARGETS, ANOMALIES, VALIDATE, DERIVATIVES, EMBED,
                                     PRETRAIN, STRUCTURES, WOFE_WEIGHTS, WOFE_RESPONSE, LOGISTIC, FUZZY)}
BY_ALGORITHM = {op.alg: op for op in OPERATIONS.values()}


def get(name):
    """The operation of a CLI command name or Processing algorithm name."""
    return OPERATIONS.get(name) or BY_ALGORITHM[name]
