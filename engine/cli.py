"""Command line: `python -m engine <command>`; errors print the engine's actionable text and exit 2."""

import argparse
import json
import os
import sys

from . import SOURCES, __version__
from .core.errors import Cancelled, InputError, MPMError
from .foundation.features import DEFAULT_MODEL


def _layer_arg(source):
    """PATH or PATH::key=value::key=value (keys: engine.data.layers.OPTIONS)."""

    def parse(text):
        from .data.layers import OPTIONS, LayerSpec

        path, *opts = text.split("::")
        kw = {}
        for o in opts:
            if "=" not in o:
                raise argparse.ArgumentTypeError(f"option '{o}' of layer {path} must be key=value")
            k, v = o.split("=", 1)
            if k not in OPTIONS:
                raise argparse.ArgumentTypeError(f"unknown option '{k}' of layer {path}; the options are: "
                                                 f"{', '.join(OPTIONS)} (see --help)")
            try:
                if k == "band":
                    v = int(v)
                elif k == "nodata":
                    v = float(v)
                elif k == "log":
                    v = {"true": True, "false": False}[v.lower()]
            except (ValueError, KeyError):
                raise argparse.ArgumentTypeError(f"option {k}={v} of layer {path}: {OPTIONS[k]}") from None
            if k == "elements":
                v = [e for e in v.split(",") if e]
            kw[k] = v
        try:
            return LayerSpec(os.path.abspath(path), source, **kw)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _scheduler_args(parser):
    parser.add_argument("--scheduler", metavar="local|tcp://HOST:PORT",
                        help="compute the tiles on a Dask cluster, this process writing the output: 'local' = a "
                             "cluster of --workers processes on this machine; tcp://HOST:PORT = a running cluster "
                             "(`dask scheduler` + `dask worker`, same paths on every worker). Default: one process")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of --scheduler local (default: 2)")


def build_parser():
    p = argparse.ArgumentParser(prog="python -m engine", description="MPM Studio engine (no QGIS needed).")
    p.add_argument("--version", action="version", version=f"MPM Studio engine {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    from .data.layers import options_help

    a = sub.add_parser("align", help="align layers of every source onto one grid (stack folder)",
                       epilog=options_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument("--spec", help="JSON stack spec (layers, grid, deposits); flags below add to / override it")
    for s in SOURCES:
        a.add_argument(f"--{s.replace('_', '-')}", nargs="+", default=[], type=_layer_arg(s), metavar="PATH[::k=v]",
                       help=f"{s} layers")
    a.add_argument("--deposits", help="known deposits (points)")
    a.add_argument("--aoi", help="area of interest (polygons)")
    a.add_argument("--crs", help="target CRS, e.g. EPSG:3067 (default: the first raster's)")
    a.add_argument("--res", type=float, help="target pixel size in CRS units (default: most common raster pixel)")
    a.add_argument("--bounds", type=float, nargs=4, metavar=("XMIN", "YMIN", "XMAX", "YMAX"))
    a.add_argument("--no-clr", action="store_true", help="grid raw concentrations instead of centred log-ratios")
    a.add_argument("--search-radius", type=float, help="geochemistry IDW search radius in metres")
    a.add_argument("--tile-size", type=int, default=512)
    a.add_argument("--out", help="output stack folder (must not exist unless --overwrite); not with --dry-run")
    a.add_argument("--overwrite", action="store_true")
    a.add_argument("--dry-run", action="store_true",
                   help="write nothing: show per layer its kind, layer type, class field and classes, nodata, native "
                        "resolution and coverage of the area, with warnings on suspicious choices")
    a.add_argument("--json", action="store_true", help="with --dry-run: print the preview as JSON")

    d = sub.add_parser("demo", help="run the main job on the Kolari demo data")
    d.add_argument("--data", help="Kolari data folder (default: ../shared/data/kolari_iocg or $MPM_DEMO_DATA)")
    d.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    d.add_argument("--overwrite", action="store_true")

    t = sub.add_parser("pretrain", help="pretrain the per-source foundation encoders (label-free)")
    t.add_argument("--stack", nargs="*", default=[], help="aligned stack folders to learn from (deposits are ignored)")
    t.add_argument("--synthetic", type=int, default=0, help="number of seeded synthetic scenes to add")
    t.add_argument("--synthetic-size", type=int, default=256)
    t.add_argument("--tile", type=int, default=256, help="stack tile size per scene")
    t.add_argument("--max-tiles", type=int, default=64, help="tiles per stack (bounds memory)")
    t.add_argument("--exclude-bounds", type=float, nargs=4, metavar=("XMIN", "YMIN", "XMAX", "YMAX"),
                   help="hold this area out of pretraining (for evaluation)")
    t.add_argument("--steps1", type=int, default=1000, help="stage 1 steps (each source alone)")
    t.add_argument("--steps2", type=int, default=500, help="stage 2 steps (one source from the others)")
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    t.add_argument("--no-resume", action="store_true", help="start afresh even if a checkpoint exists")
    t.add_argument("--recon-prior", choices=["none", "idw"], default="none",
                   help="idw: the MAE decoder learns the residual over an inverse-distance fill of the visible pixels")
    t.add_argument("--token-mode", choices=["patch", "layer"], default=None,
                   help="layer: one token per (layer, patch), pooled at the end (keeps each layer's detail); "
                        "patch: a patch's layers pooled into one token first (v1, cheaper). Default: layer, as in the shipped mpm-foundation-v2")
    t.add_argument("--init-from", metavar="MODEL",
                   help="adapt this foundation model (card or folder, e.g. the shipped one) instead of starting from "
                        "random weights; its architecture is kept")
    t.add_argument("--lr", type=float, help="learning rate (default: 1e-3 from scratch, 3e-4 with --init-from)")
    t.add_argument("--layer-masking", type=float, default=None, metavar="SHARE",
                   help="share of stage-1 batches masked per layer instead of per patch (0-1): teaches each encoder "
                        "how its layers relate (default: 0.5 as the shipped model, 0 with --recon-prior idw)")
    t.add_argument("--onnx", action="store_true", help="also export the encoders to ONNX")
    t.add_argument("--out", required=True, help="model folder (weights, card, checkpoints, loss curves)")

    e = sub.add_parser("embed", help="fused foundation embedding of an aligned stack (GeoTIFF, patch resolution)")
    e.add_argument("stack", help="aligned stack folder")
    e.add_argument("--model", default=DEFAULT_MODEL, help="model card or folder")
    e.add_argument("--backend", default="auto", choices=["auto", "torch-cuda", "torch-cpu", "onnx-cpu"])
    e.add_argument("--threads", type=int, help="CPU threads (default: the library's; 1 per task on a --scheduler cluster)")
    e.add_argument("--tile", type=int, default=256)
    _scheduler_args(e)
    e.add_argument("--out", required=True, help="output GeoTIFF")
    e.add_argument("--overwrite", action="store_true")

    f = sub.add_parser("finetune", help="train a prospectivity head on the stack's deposits, with spatial cross-validation "
                                        "against random forest and weights of evidence")
    f.add_argument("stack", help="aligned stack folder (made with --deposits)")
    f.add_argument("--model", default=DEFAULT_MODEL, help="foundation model card or folder")
    f.add_argument("--backend", default="auto", choices=["auto", "torch-cuda", "torch-cpu", "onnx-cpu"])
    f.add_argument("--background", type=int, default=10000,
                   help="unlabelled background cells sampled in each training fold")
    f.add_argument("--buffer", type=float, default=2000.0, help="metres around deposits kept out of the background")
    f.add_argument("--folds", type=int, default=5, help="spatial cross-validation folds")
    f.add_argument("--block", type=float, default=10000.0, help="spatial block size in metres")
    f.add_argument("--no-validate", action="store_true", help="skip cross-validation (faster)")
    f.add_argument("--compare-embeddings", action="store_true",
                   help="also cross-validate the head with the foundation model's embeddings added, to see whether "
                        "they add skill on this stack (embeds the stack once: most of a cold run's time)")
    f.add_argument("--deposits", default=None,
                   help="point layer of the deposits to train on (another deposit type on the same stack: the "
                        "stack and its cached embedding are reused); default: the deposits given to align")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--out", required=True, help="head folder (weights, card, validation.json / .png)")
    f.add_argument("--overwrite", action="store_true")

    r = sub.add_parser("predict", help="prospectivity, uncertainty and per-source contribution rasters")
    r.add_argument("stack", help="aligned stack folder with the same layers as the head's training stack")
    r.add_argument("--head", required=True, help="head folder from finetune")
    r.add_argument("--model", default=DEFAULT_MODEL, help="foundation model card or folder")
    r.add_argument("--backend", default="auto", choices=["auto", "torch-cuda", "torch-cpu", "onnx-cpu"])
    r.add_argument("--no-contributions", action="store_true", help="skip the per-source ablation maps")
    r.add_argument("--tile", type=int, default=256, help="tile size in pixels (one task per tile on a cluster)")
    _scheduler_args(r)
    r.add_argument("--out", required=True, help="output folder")
    r.add_argument("--overwrite", action="store_true")

    g = sub.add_parser("targets", help="ranked target polygons from a prospectivity map (GeoPackage)")
    g.add_argument("prediction", help="folder written by predict (prospectivity.tif ...)")
    how = g.add_mutually_exclusive_group(required=True)
    how.add_argument("--threshold", type=float, help="probability cut (0-1)")
    how.add_argument("--capture", type=float, help="fraction of known deposits the targets must capture (0-1]")
    g.add_argument("--stack", help="stack folder whose deposits are counted (and used by --capture)")
    g.add_argument("--min-area", type=float, default=0.5, help="smallest target in km2")
    g.add_argument("--simplify", type=float, help="simplification tolerance in map units")
    g.add_argument("--out", required=True, help="output GeoPackage")
    g.add_argument("--overwrite", action="store_true")

    n = sub.add_parser("anomalies", help="geochemical anomaly maps (reconstruction residuals + Mahalanobis baseline)")
    n.add_argument("stack", help="aligned stack folder with geochemistry")
    n.add_argument("--model", default=DEFAULT_MODEL, help="foundation model card or folder")
    n.add_argument("--top", type=int, default=20, help="rows in top_anomalies.csv")
    n.add_argument("--out", required=True, help="output folder")
    n.add_argument("--overwrite", action="store_true")

    v = sub.add_parser("validate", help="validate any prospectivity map against known deposits "
                                        "(success-rate, ROC, P-A over the whole map)")
    v.add_argument("map", help="prospectivity raster (e.g. prediction/prospectivity.tif, or another tool's map)")
    v.add_argument("--deposits", required=True, help="deposit points (GeoPackage, Shapefile, GeoJSON; any CRS)")
    v.add_argument("--band", type=int, default=1)
    v.add_argument("--lower-is-better", action="store_true", help="the map ranks low values as prospective")
    v.add_argument("--out", required=True, help="output folder (validation.json, validation.png)")
    v.add_argument("--overwrite", action="store_true")

    ww = sub.add_parser("wofe-weights", help="weights of evidence of one integer evidence raster against deposit "
                                             "points (GA / ArcSDM weights table + generalised raster)")
    ww.add_argument("raster", help="evidence raster of integer classes (e.g. distance in 100 m steps, lithology codes)")
    ww.add_argument("--deposits", required=True, help="deposit points (all inside the raster's valid area)")
    ww.add_argument("--method", choices=["categorical", "ascending", "descending"], default="categorical",
                    help="categorical: each class alone; ascending: favourable when low (cumulative from the lowest "
                         "class); descending: favourable when high (default: categorical)")
    ww.add_argument("--unit-cell", type=float, default=1.0, help="unit cell area in km2 (default: 1)")
    ww.add_argument("--studc", type=float, default=2.0,
                    help="studentised contrast a class must reach to be used in the generalisation (default: 2)")
    ww.add_argument("--missing", type=int, help="class value meaning 'evidence unknown here' (kept out of the totals)")
    ww.add_argument("--pool", action="store_true",
                    help="categorical: pool the classes below --studc into class 99 (ArcSDM) instead of keeping "
                         "each class's own W+ (GA)")
    ww.add_argument("--out", required=True, help="weights table (CSV)")
    ww.add_argument("--generalised", help="also write the raster reclassified to GEN_CLASS (GeoTIFF)")
    ww.add_argument("--overwrite", action="store_true")

    wr = sub.add_parser("wofe-response", help="weights-of-evidence posterior probability, its standard deviation "
                                              "and confidence from evidence maps and their weights tables")
    wr.add_argument("--evidence", nargs=2, action="append", required=True, metavar=("RASTER", "TABLE"),
                    help="an evidence raster (usually the generalised one) and its weights table CSV; repeat per map")
    wr.add_argument("--deposits", required=True, help="deposit points (the ones the weights were calculated from)")
    wr.add_argument("--unit-cell", type=float, default=1.0, help="unit cell area in km2 (default: 1)")
    wr.add_argument("--missing", type=int, help="class value meaning 'evidence unknown here' (adds its variance)")
    wr.add_argument("--out", required=True, help="output folder (posterior.tif, posterior_std.tif, confidence.tif, "
                                                 "conditions.csv, auc.csv, summary.json)")
    wr.add_argument("--overwrite", action="store_true")

    lr = sub.add_parser("logistic", help="logistic regression on weights-of-evidence maps (their generalised classes)")
    lr.add_argument("--evidence", nargs=2, action="append", required=True, metavar=("RASTER", "TABLE"),
                    help="an evidence raster and its weights table CSV (classes -> GEN_CLASS); repeat per map")
    lr.add_argument("--deposits", required=True, help="deposit points")
    lr.add_argument("--unit-cell", type=float, default=1.0, help="unit cell area in km2 (default: 1)")
    lr.add_argument("--out", required=True, help="output folder (lr_posterior.tif, lr_posterior_std.tif, "
                                                 "coefficients.csv, conditions.csv, auc.csv, summary.json)")
    lr.add_argument("--overwrite", action="store_true")

    fz = sub.add_parser("fuzzy", help="fuzzy overlay: memberships of evidence rasters combined (knowledge-driven)")
    fz.add_argument("--layer", nargs=4, action="append", required=True, metavar=("RASTER", "FUNCTION", "A", "B"),
                    help="raster, membership (linear A=value of 0, B=value of 1; small / large A=midpoint "
                         "B=spread; gaussian A=centre B=spread); repeat per layer")
    fz.add_argument("--operator", choices=["and", "or", "product", "sum", "gamma"], default="gamma")
    fz.add_argument("--gamma", type=float, default=0.9, help="gamma of the gamma operator (default: 0.9)")
    fz.add_argument("--out", required=True, help="output GeoTIFF")
    fz.add_argument("--overwrite", action="store_true")

    i = sub.add_parser("info", help="describe an aligned stack")
    i.add_argument("stack")

    st = sub.add_parser("sam-train", help="train the GeoSAM structure extractor (synthetic scenes + Kolari maps)")
    st.add_argument("--out", required=True, help="model folder (must be new or empty unless --overwrite)")
    st.add_argument("--steps", type=int, default=3000)
    st.add_argument("--minutes", type=float, help="wall-clock cap of the training (it anneals to the cap)")
    st.add_argument("--batch", type=int, default=4, help="images per step")
    st.add_argument("--prompts-per-image", type=int, default=4)
    st.add_argument("--lr", type=float, default=1e-3)
    st.add_argument("--refine", type=float, default=0.2, help="fraction of prompts given a corrective second pass")
    st.add_argument("--crop", type=int, default=128, help="train the first part of the run on crops of this size (0: off)")
    st.add_argument("--crop-fraction", type=float, default=0.7, help="share of the run on crops")
    st.add_argument("--crop-batch-factor", type=int, default=2, help="images per step on crops = batch x this")
    st.add_argument("--config", help='GeoSAM architecture as JSON, e.g. \'{"dim": 64, "widths": [16, 32, 64, 96]}\' '
                                     "(fields of engine.structures.modeling.GeoSamConfig; default: its defaults)")
    st.add_argument("--bce-warmup", type=float, default=0.3,
                    help="share of the run with cross-entropy in place of SAM's focal term (escapes the all-background start)")
    st.add_argument("--attention-gain", type=float, default=2.5,
                    help="tied, scaled query/key start of the decoder's cross-attentions (0: SAM's own init)")
    st.add_argument("--synthetic", type=int, default=256, help="synthetic training scenes")
    st.add_argument("--kolari", help="Kolari data folder (default: the demo data when found; 'none' for synthetic only)")
    st.add_argument("--kolari-fraction", type=float, default=0.2)
    st.add_argument("--eval-scenes", type=int, default=16, help="held-out synthetic scenes scored at the end")
    st.add_argument("--seed", type=int, default=0)
    st.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    st.add_argument("--threads", type=int, help="torch CPU threads")
    st.add_argument("--no-onnx", action="store_true", help="do not export ONNX files")
    st.add_argument("--overwrite", action="store_true")

    from .structures import cli as sam_cli

    sam_cli.add_parser(sub)  # structures: the SAM extractor in batch
    return p


def cmd_sam_train(args, feedback):
    from .structures.evaluate import EVAL_SEED0, format_table
    from .structures.modeling import GeoSamConfig
    from .structures.train import train_geosam

    config = GeoSamConfig.from_dict(json.loads(args.config)) if args.config else None

    kolari = args.kolari
    if kolari is None:
        from .demo import find_demo_data

        try:
            kolari = find_demo_data()
        except InputError:
            kolari = None
    elif kolari.lower() == "none":
        kolari = None
    card = train_geosam(args.out, args.steps, seed=args.seed, batch=args.batch, feedback=feedback,
                        minutes=args.minutes, prompts_per_image=args.prompts_per_image, lr=args.lr,
                        refine=args.refine, synthetic_scenes=args.synthetic, kolari=kolari,
                        kolari_fraction=args.kolari_fraction, device=args.device, threads=args.threads,
                        eval_seeds=range(EVAL_SEED0, EVAL_SEED0 + args.eval_scenes), onnx=not args.no_onnx,
                        overwrite=args.overwrite, crop=args.crop or None, crop_fraction=args.crop_fraction,
                        crop_batch_factor=args.crop_batch_factor, config=config, bce_warmup=args.bce_warmup,
                        attention_gain=args.attention_gain)
    t = card["training"]
    print(f"GeoSAM: {os.path.abspath(args.out)} ({t['steps']} steps, {t['seconds'] / 60:.1f} min on {t['device']}, "
          f"final losses {json.dumps(t['final_losses'])})")
    for key, ev in card["evaluation"].items():
        print(format_table(ev, f"held-out {key} mIoU (model, snapped to edges, baseline)"))


def _structures(args, feedback):
    from .structures import cli as sam_cli

    sam_cli.run(args, feedback)


def cmd_align(args, feedback):
    from .data.stack import StackSpec, align_stack

    if args.spec:
        spec = StackSpec.from_json(args.spec)
    else:
        spec = StackSpec([layer for s in SOURCES for layer in getattr(args, s)])
    spec.layers += [layer for s in SOURCES for layer in getattr(args, s)] if args.spec else []
    for k in ("deposits", "aoi"):
        if getattr(args, k):
            setattr(spec, k, os.path.abspath(getattr(args, k)))
    for k in ("crs", "res", "bounds", "search_radius"):
        if getattr(args, k) is not None:
            setattr(spec, k, getattr(args, k))
    spec.clr = spec.clr and not args.no_clr
    spec.tile_size = args.tile_size
    if args.dry_run:
        from .data.preview import preview_layers, preview_lines

        preview = preview_layers(spec, feedback=feedback)
        print(json.dumps(preview.to_dict(), indent=1) if args.json else "\n".join(preview_lines(preview)))
        return
    if not args.out:
        raise InputError("no output folder given", fix="give --out FOLDER (or --dry-run to only preview the layers)")
    manifest = align_stack(spec, args.out, overwrite=args.overwrite, feedback=feedback)
    _print_summary(args.out, manifest, coverage=False)  # the run said it


def cmd_demo(args, feedback):
    from .demo import run_demo

    run_demo(args.data, args.out, overwrite=args.overwrite, feedback=feedback, echo=print, summary=_print_summary,
             cv_table=_cv_table)


def cmd_pretrain(args, feedback):
    from .foundation.model.config import ModelConfig
    from .foundation.pretrain_data import pretrain_foundation

    if args.init_from and (args.recon_prior != "none" or args.token_mode):
        raise InputError("--recon-prior and --token-mode cannot change a model given with --init-from",
                         fix="drop them (the model's own architecture is kept), or start from scratch")
    arch = {"recon_prior": args.recon_prior, **({"token_mode": args.token_mode} if args.token_mode else {})}
    summary = pretrain_foundation(args.stack, args.out, synthetic=args.synthetic, synthetic_size=args.synthetic_size,
                                  tile=args.tile, max_tiles=args.max_tiles, exclude_bounds=args.exclude_bounds,
                                  steps1=args.steps1, steps2=args.steps2, batch_size=args.batch_size, seed=args.seed,
                                  device=args.device, resume=not args.no_resume, onnx=args.onnx, feedback=feedback,
                                  config=None if args.init_from else ModelConfig(**arch),
                                  init_model=args.init_from, lr=args.lr, layer_masking=args.layer_masking)
    print(json.dumps({k: summary[k] for k in ("card", "weights", "losses_png", "final_losses", "device", "seconds")
                      if k in summary}, indent=1))


def cmd_embed(args, feedback):
    from .foundation.embed import embed_stack

    name = embed_stack(args.stack, args.model, args.out, backend=args.backend, tile=args.tile,
                       overwrite=args.overwrite, feedback=feedback, threads=args.threads, scheduler=args.scheduler,
                       workers=args.workers)
    print(f"Embedding: {os.path.abspath(args.out)} (backend {name})")


def cmd_finetune(args, feedback):
    from .prospectivity.workflow import finetune

    r = finetune(args.stack, args.out, model=args.model, backend=args.backend, n_background=args.background,
                 buffer_m=args.buffer, validate=not args.no_validate, folds=args.folds, block_m=args.block,
                 seed=args.seed, overwrite=args.overwrite, feedback=feedback, deposits=args.deposits,
                 compare_embeddings=args.compare_embeddings)
    print(f"Head: {r['head']} ({r['deposits']} deposits)")
    lack = r.get("deposits_lacking_layers")
    if lack:
        print(f"  {lack['deposits']} deposit cell(s) lie where some layers have no data: "
              + ", ".join(f"{k} missing at {v}" for k, v in lack["per_layer"].items()))
    if r["cv"]:
        print(_cv_table(r["cv"]))
        if r.get("embeddings"):
            print(r["embeddings"]["text"])
        print(f"Validation report: {os.path.join(r['head'], 'validation.json')} and validation.png")


def _cv_table(cv):
    """Spatial CV, every valid cell scored out-of-fold; PR-AUC beside the deposit cells' share (chance)."""
    rows = ["  method                 ROC-AUC  PR-AUC (chance)   top 10 % area  fold ROC-AUC (min-max)"]
    for m, v in cv.items():
        folds = v.get("fold_roc_auc") or [float("nan")]
        top = v.get("captured_at_10pct_area", float("nan"))
        rows.append(f"  {m:<22} {v['roc_auc']:7.3f} {v['pr_auc']:7.4f} ({v.get('positive_rate', float('nan')):.5f}) "
                    f"{top:8.0%} captured  {min(folds):.2f}-{max(folds):.2f}")
    return "\n".join(rows)


def cmd_predict(args, feedback):
    from .prospectivity.workflow import predict

    r = predict(args.stack, args.head, args.out, model=args.model, backend=args.backend,
                contributions=not args.no_contributions, tile=args.tile, overwrite=args.overwrite, feedback=feedback,
                scheduler=args.scheduler, workers=args.workers)
    print(f"Prediction: {r['out_dir']} ({', '.join(r['files'].values())}); mean probability {r['mean_probability']:.3f}")


def cmd_targets(args, feedback):
    from .prospectivity.targets import targets_from_prediction

    r = targets_from_prediction(args.prediction, args.out, stack_dir=args.stack, threshold=args.threshold,
                                capture=args.capture, min_area_km2=args.min_area, simplify=args.simplify,
                                overwrite=args.overwrite, feedback=feedback)
    print(f"Targets: {os.path.abspath(args.out)}: {r['n_targets']} polygons, {r['area_km2_total']:.1f} km2 above "
          f"{r['threshold']:.3f}, {r['deposits_captured']} of {r['deposits_total']} known deposits inside")


def cmd_validate(args, feedback):
    from .prospectivity.validate import validate_map

    r = validate_map(args.map, args.deposits, args.out, band=args.band, higher_is_better=not args.lower_is_better,
                     overwrite=args.overwrite, feedback=feedback)
    (m,) = r["methods"].values()
    print(f"Validation: {os.path.abspath(args.out)}: ROC-AUC {m['roc_auc']:.3f}, success-rate AUC "
          f"{m['success_rate_auc']:.3f}, {m['captured_at_10pct_area']:.0%} of {r['meta']['deposits']} deposits in the "
          f"top 10 % of the area ({len(r['meta']['dropped'])} left out)")


def cmd_anomalies(args, feedback):
    from .anomalies.reconstruction import geochem_anomalies

    r = geochem_anomalies(args.stack, args.out, model=args.model, top=args.top, overwrite=args.overwrite,
                          feedback=feedback)
    print(f"Anomalies: {os.path.abspath(args.out)} ({', '.join(r['files'])})")


def cmd_wofe_weights(args, _feedback):
    import numpy as np

    from .core.atomic import check_output_path
    from .classical.wofe import calculate_weights, write_generalised

    check_output_path(args.out, args.overwrite, "weights table")
    if args.generalised:
        check_output_path(args.generalised, args.overwrite, "generalised raster")
    t = calculate_weights(args.raster, args.deposits, method=args.method, unit_cell_km2=args.unit_cell,
                          studentized_threshold=args.studc, missing=args.missing, pool=args.pool)
    t.write_csv(args.out, overwrite=args.overwrite)
    c = t.columns
    print(f"Weights ({t.method}): {os.path.abspath(args.out)}: {len(t)} classes, {t.n_points} deposits in "
          f"{t.total_units:.2f} unit cells of {t.unit_cell_km2:g} km2, prior {t.prior:.6g}")
    if t.method != "categorical" and 2 in set(c["GEN_CLASS"].tolist()):
        last = int(np.flatnonzero(c["GEN_CLASS"] == 2)[-1])
        side = "<=" if t.method == "ascending" else ">="
        print(f"  favourable: class {side} {c['CLASS'][last]} (contrast {c['CONTRAST'][last]:.3f}, studentised "
              f"{c['STUDC'][last]:.2f}): W+ {c['WPLUS'][last]:.4f} +- {c['S_WPLUS'][last]:.4f}, "
              f"W- {c['WMINUS'][last]:.4f} +- {c['S_WMINUS'][last]:.4f}")
    elif t.method == "categorical":
        sig = int(np.count_nonzero(c["STUDC"] >= t.studentized_threshold))
        print(f"  {sig} of {len(t)} classes with studentised contrast >= {t.studentized_threshold:g}")
    for note in t.notes:
        print(f"  warning: {note}")
    if args.generalised:
        write_generalised(args.raster, t, args.generalised, overwrite=args.overwrite)
        print(f"  generalised raster: {os.path.abspath(args.generalised)}")


def cmd_wofe_response(args, feedback):
    from .core.atomic import check_output_path
    from .classical.wofe import calculate_response

    check_output_path(args.out, args.overwrite, "response folder")
    evidence = _evidence_tables(args.evidence)
    res = calculate_response(evidence, args.deposits, out_dir=args.out, missing=args.missing,
                             unit_cell_km2=args.unit_cell, overwrite=args.overwrite, feedback=feedback)
    ci = res.ci
    print(f"Response: {os.path.abspath(args.out)}: {len(evidence)} evidence maps, {len(res.posterior)} unique "
          f"conditions, prior {res.prior:.6g}, posterior {res.posterior.min():.4g} to {res.posterior.max():.4g}, "
          f"AUC {res.auc:.4f}")
    print(f"  conditional independence: {ci['observed']} deposits observed, {ci['predicted']:.1f} predicted "
          f"(ratio {ci['ratio']:.2f}); Agterberg-Cheng z {ci['z']:.2f}")
    for w in res.warnings:
        print(f"  warning: {w}")


def _evidence_tables(pairs):
    from .classical.wofe import read_weights_csv

    return [(r, read_weights_csv(t, name=os.path.splitext(os.path.basename(r))[0])) for r, t in pairs]


def cmd_logistic(args, feedback):
    from .classical.logistic import logistic_regression

    fit = logistic_regression(_evidence_tables(args.evidence), args.deposits, out_dir=args.out,
                              unit_cell_km2=args.unit_cell, overwrite=args.overwrite, feedback=feedback)
    print(f"Logistic regression: {os.path.abspath(args.out)}: {'converged' if fit.converged else 'NOT converged'} "
          f"in {fit.iterations} iterations, AUC {fit.auc:.4f}")
    for t, b, s in zip(fit.terms, fit.coefficients, fit.std_errors):
        print(f"  {t}: {b:.4f} +- {s:.4f}")
    for w in fit.warnings:
        print(f"  warning: {w}")


def cmd_fuzzy(args, _feedback):
    from .core.errors import InputError
    from .classical.fuzzy import fuzzy_overlay

    layers = []
    for path, function, a, b in args.layer:
        try:
            layers.append((path, function, float(a), float(b)))
        except ValueError:
            raise InputError(f"membership parameters '{a}' '{b}' are not numbers", layer=path,
                             fix="give --layer RASTER FUNCTION A B with numbers A and B") from None
    fuzzy_overlay(layers, args.operator, args.out, gamma=args.gamma, overwrite=args.overwrite)
    print(f"Fuzzy overlay ({args.operator}): {os.path.abspath(args.out)}")


def cmd_info(args, _feedback):
    from .data.reader import Stack

    with Stack(args.stack) as st:
        _print_summary(args.stack, st.manifest)


def _print_summary(folder, m, coverage=True):
    g = m["grid"]
    print(f"Stack: {os.path.abspath(folder)}")
    print(f"  grid: {g['crs']}, {g['res']:g} m, {g['width']} x {g['height']} px, bounds {g['bounds']}")
    by_source = {}
    for b in m["bands"]:
        by_source.setdefault(b["source"], []).append(b["name"])
    for s, names in by_source.items():
        print(f"  {s}: {len(names)} band(s): {', '.join(names)}")
    if coverage and m.get("coverage"):
        from .data.stack import coverage_lines

        for line in coverage_lines(m["coverage"]):
            print(f"  {line}")
    if "deposits" in m:
        dep = m["deposits"]
        print(f"  deposits: {dep['used']} of {dep['total']} used ({dep['outside']} outside the area, {dep['on_nodata']} on nodata)")
        for p in dep["points"]:
            if p["status"] != "used":
                print(f"    not used: {p['name']} ({p['status']}) at {p['x']:.0f}, {p['y']:.0f}")
    print(f"  files: {', '.join(os.path.join(os.path.abspath(folder), f) for f in m['files'].values())}")


class Terminated(BaseException):
    """SIGTERM (a scheduler, systemd, torchrun stopping us) raised as an exception, so that every
    open output (engine.core.atomic.atomic_path) is removed on the way out instead of left '.partial'."""


class _SignalFeedback:
    """The first SIGTERM or Ctrl-C cancels the run: the engine stops at its next step and removes its
    temporary outputs (an exception raised at an arbitrary bytecode can break a library's own clean-up,
    e.g. rasterio's GDAL environment, and end in a traceback). A second signal raises at once."""

    def __init__(self, inner):
        self.inner = inner
        self.signals = []

    def handle(self, signum, frame):
        import signal

        self.signals.append(signum)
        if len(self.signals) > 1:
            raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()
        print("Stopping at the next step and removing what this run wrote (again to stop at once).", file=sys.stderr)

    def terminated(self):
        import signal

        return signal.SIGTERM in self.signals

    def setProgress(self, percent):  # noqa: N802
        if self.inner is not None:
            self.inner.setProgress(percent)

    def pushInfo(self, text):  # noqa: N802
        if self.inner is not None:
            self.inner.pushInfo(text)
        else:  # redirected to a file or a pipe: no progress bar, but what the run says is still said
            print(text, file=sys.stderr, flush=True)

    def isCanceled(self):  # noqa: N802
        return bool(self.signals) or (self.inner is not None and self.inner.isCanceled())

    def close(self):
        if self.inner is not None:
            self.inner.close()


def main(argv=None):
    import signal
    import threading

    args = build_parser().parse_args(argv)
    inner = None
    if sys.stderr.isatty() or os.environ.get("MPM_PROGRESS") == "1":
        from .core.progress import TqdmFeedback

        inner = TqdmFeedback(args.command)
    feedback = _SignalFeedback(inner)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, feedback.handle)
        signal.signal(signal.SIGINT, feedback.handle)
    try:
        {"align": cmd_align, "demo": cmd_demo, "pretrain": cmd_pretrain, "embed": cmd_embed, "validate": cmd_validate,
         "finetune": cmd_finetune, "predict": cmd_predict, "targets": cmd_targets, "anomalies": cmd_anomalies,
         "info": cmd_info, "sam-train": cmd_sam_train, "structures": _structures,
         "wofe-weights": cmd_wofe_weights, "wofe-response": cmd_wofe_response,
         "logistic": cmd_logistic, "fuzzy": cmd_fuzzy}[args.command](args, feedback)
    except KeyboardInterrupt:
        print("Cancelled: nothing was written.", file=sys.stderr)
        return 130
    except Terminated:
        print("Terminated: nothing was written.", file=sys.stderr)
        return 143
    except Cancelled as exc:
        if feedback.terminated():
            print("Terminated: nothing was written.", file=sys.stderr)
            return 143
        print(str(exc), file=sys.stderr)
        return 130
    except MPMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a write outside an atomic output (cache, checkpoint): the disk, not a bug
        from .core.atomic import as_write_error

        error = as_write_error(exc)
        if error is None:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        feedback.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
