"""Command line: `python -m engine <command>`; errors print the engine's actionable text and exit 2.

The operations' sub-commands (align, finetune, predict ...) are generated from their declarations in
engine/operations.py (add_operation, run_operation): a flag is added there, not here. Here stay the
commands that are no operation (demo, info, sam-train), the layer syntax PATH::k=v, the parameters
each front end shows its own way (kind CUSTOM: _add_custom) and what each command prints (REPORTS).
"""

import argparse
import importlib
import json
import os
import sys

from . import SOURCES, __version__
from .core.errors import Cancelled, InputError, MPMError


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


def _typed(param, convert):
    """An argparse type: the text converted, then checked by the declaration (range, choices, check)."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a {'whole ' if convert is int else ''}number") from None
        try:
            return param.validate(value)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _add_param(parser, param):
    """One declared parameter (engine.operations.Param) as an argparse argument."""
    from . import operations as O

    text = (param.help or param.label).replace("%", "%%")
    kw = {"help": text} if text else {}
    if param.metavar:
        kw["metavar"] = param.metavar
    if param.kind == O.BOOL:
        kw.pop("metavar", None)
        parser.add_argument(param.cli_flag, dest=param.name, action="store_false" if param.default else "store_true",
                            **kw)
        return
    if param.kind in (O.NUMBER, O.INT):
        kw["type"] = _typed(param, float if param.kind == O.NUMBER else int)
    elif param.kind == O.CHOICE:
        kw["choices"] = param.choices
    elif param.kind == O.EXTENT:
        kw.update(nargs=4, type=float, metavar=param.metavar or ("XMIN", "YMIN", "XMAX", "YMAX"))
    elif param.kind in (O.LAYERS, O.FILES):
        kw["nargs"] = "*" if param.optional else "+"
    elif param.kind == O.BANDS:
        kw.update(nargs="+", type=int)
    default = list(param.default) if isinstance(param.default, tuple) else param.default
    if param.positional:
        parser.add_argument(param.name, **kw)
        return
    required = param.default is None and not param.optional
    parser.add_argument(param.cli_flag, dest=param.name, required=required, **({} if required else {"default": default}),
                        **kw)


def _add_custom(parser, op, param):
    """The parameters each front end shows its own way (align's layers per source, WofE's evidence pairs)."""
    if op.name == "align":
        for s in SOURCES:
            parser.add_argument(f"--{s.replace('_', '-')}", nargs="+", default=[], type=_layer_arg(s),
                                metavar="PATH[::k=v]", help=f"{s} layers")
    elif param.name == "evidence":
        parser.add_argument("--evidence", nargs=2, action="append", required=True, metavar=param.metavar,
                            help=param.help)
    elif param.name == "layers":  # fuzzy
        parser.add_argument("--layer", dest="layers", nargs=4, action="append", required=True, metavar=param.metavar,
                            help=param.help)


def _custom_values(op, args):
    if op.name == "align":
        return {"layers": [layer for s in SOURCES for layer in getattr(args, s)]}
    return {}


def add_operation(sub, op):
    """The sub-command of a declared operation (engine.operations): every CLI parameter, its runtime
    settings and --overwrite; the handler is run_operation."""
    from . import operations as O

    epilog = {}
    if op.epilog:
        module, func = op.epilog.split(":")
        epilog = dict(epilog=getattr(importlib.import_module(f".{module}", __package__), func)(),
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p = sub.add_parser(op.name, help=op.help, **epilog)
    for param in op.all_params():
        if not param.cli:
            continue
        if param.kind == O.CUSTOM:
            _add_custom(p, op, param)
        else:
            _add_param(p, param)
    if op.overwrite:
        p.add_argument("--overwrite", action="store_true")
    p.set_defaults(operation=op)
    return p


def run_operation(args, feedback):
    """A declared operation from its parsed arguments: the values, the runtime, the engine call, the report."""
    op = args.operation
    values = {p.name: getattr(args, p.name) for p in op.all_params() if p.cli and hasattr(args, p.name)}
    values.update(_custom_values(op, args))
    result = op.run(values, op.runtime_from(values), feedback, overwrite=getattr(args, "overwrite", False))
    REPORTS[op.name](result, values)
    return result


def build_parser():
    from .operations import OPERATIONS

    p = argparse.ArgumentParser(prog="python -m engine", description="MPM Studio engine (no QGIS needed).")
    p.add_argument("--version", action="version", version=f"MPM Studio engine {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    for op in OPERATIONS.values():
        add_operation(sub, op)

    d = sub.add_parser("demo", help="run the main job on the Kolari demo data")
    d.add_argument("--data", help="Kolari data folder (default: ../shared/data/kolari_iocg or $MPM_DEMO_DATA)")
    d.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    d.add_argument("--overwrite", action="store_true")

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


def cmd_demo(args, feedback):
    from .demo import run_demo

    run_demo(args.data, args.out, overwrite=args.overwrite, feedback=feedback, echo=print, summary=_print_summary,
             cv_table=_cv_table)


# ---- what each operation prints: report(result, values) ----


def report_align(result, v):
    if v.get("dry_run"):
        from .data.preview import preview_lines

        print(json.dumps(result.to_dict(), indent=1) if v.get("json") else "\n".join(preview_lines(result)))
        return
    _print_summary(v["out"], result, coverage=False)  # the run said it


def report_pretrain(summary, _v):
    print(json.dumps({k: summary[k] for k in ("card", "weights", "losses_png", "final_losses", "device", "seconds")
                      if k in summary}, indent=1))


def report_embed(name, v):
    print(f"Embedding: {os.path.abspath(v['out_path'])} (backend {name})")


def report_finetune(r, _v):
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


def report_predict(r, _v):
    print(f"Prediction: {r['out_dir']} ({', '.join(r['files'].values())}); mean probability {r['mean_probability']:.3f}")


def report_targets(r, v):
    print(f"Targets: {os.path.abspath(v['out'])}: {r['n_targets']} polygons, {r['area_km2_total']:.1f} km2 above "
          f"{r['threshold']:.3f}, {r['deposits_captured']} of {r['deposits_total']} known deposits inside")


def report_validate(r, v):
    (m,) = r["methods"].values()
    print(f"Validation: {os.path.abspath(v['out'])}: ROC-AUC {m['roc_auc']:.3f}, success-rate AUC "
          f"{m['success_rate_auc']:.3f}, {m['captured_at_10pct_area']:.0%} of {r['meta']['deposits']} deposits in the "
          f"top 10 % of the area ({len(r['meta']['dropped'])} left out)")


def report_anomalies(r, v):
    print(f"Anomalies: {os.path.abspath(v['out_dir'])} ({', '.join(r['files'])})")


def report_structures(r, _v):
    layers = ", ".join(f"{name}: {n}" for name, n in r["layers"].items())
    print(f"Structures: {os.path.abspath(r['path'])} ({layers})")
    if r["skipped_groups"]:
        print(f"  groups without a result: {', '.join(r['skipped_groups'])}")


def report_wofe_weights(t, v):
    import numpy as np

    c = t.columns
    print(f"Weights ({t.method}): {os.path.abspath(v['out'])}: {len(t)} classes, {t.n_points} deposits in "
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
    if v.get("generalised"):
        print(f"  generalised raster: {os.path.abspath(v['generalised'])}")


def report_wofe_response(res, v):
    ci = res.ci
    print(f"Response: {os.path.abspath(v['out'])}: {len(v['evidence'])} evidence maps, {len(res.posterior)} unique "
          f"conditions, prior {res.prior:.6g}, posterior {res.posterior.min():.4g} to {res.posterior.max():.4g}, "
          f"AUC {res.auc:.4f}")
    print(f"  conditional independence: {ci['observed']} deposits observed, {ci['predicted']:.1f} predicted "
          f"(ratio {ci['ratio']:.2f}); Agterberg-Cheng z {ci['z']:.2f}")
    for w in res.warnings:
        print(f"  warning: {w}")


def report_logistic(fit, v):
    print(f"Logistic regression: {os.path.abspath(v['out'])}: {'converged' if fit.converged else 'NOT converged'} "
          f"in {fit.iterations} iterations, AUC {fit.auc:.4f}")
    for t, b, s in zip(fit.terms, fit.coefficients, fit.std_errors):
        print(f"  {t}: {b:.4f} +- {s:.4f}")
    for w in fit.warnings:
        print(f"  warning: {w}")


def report_fuzzy(_out, v):
    print(f"Fuzzy overlay ({v['operator']}): {os.path.abspath(v['out'])}")


def report_derivatives(_out, v):
    kinds = "tilt, horizontal_gradient, vertical_derivative" if v.get("derivative", "all") == "all" else v["derivative"]
    print(f"Derivatives ({kinds}, one band each): {os.path.abspath(v['out'])}")


REPORTS = {"align": report_align, "pretrain": report_pretrain, "embed": report_embed, "finetune": report_finetune,
           "predict": report_predict, "targets": report_targets, "validate": report_validate,
           "anomalies": report_anomalies, "structures": report_structures, "wofe-weights": report_wofe_weights,
           "wofe-response": report_wofe_response, "logistic": report_logistic, "fuzzy": report_fuzzy,
           "derivatives": report_derivatives}


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
        handler = {"demo": cmd_demo, "info": cmd_info, "sam-train": cmd_sam_train}.get(args.command, run_operation)
        handler(args, feedback)
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
