"""`python -m engine structures`: the SAM structure extractor in batch, from a points layer of prompts.

Kept out of engine/cli.py so the command lives with the extractor; engine/cli.py hooks it in with
`add_parser(sub)` in build_parser and `"structures": run` in main's table of commands.
"""

import os

from .geometry import FEATURE_TYPES
from .predictor import NAMES as BACKENDS

COMMAND = "structures"


def add_parser(subparsers):
    """Add the `structures` sub-command to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        COMMAND, help="trace structures (faults, contacts, intrusions ...) with SAM at prompt points (GeoPackage)",
        description="One feature per group of prompt points: a centre line for faults, lineaments and contacts "
                    "(layer structure_lines), a polygon for intrusions and alteration (layer structure_polygons), "
                    "in the raster's CRS.")
    p.add_argument("raster", help="raster to trace on (a magnetic or gravity grid, a DEM, an image)")
    p.add_argument("--prompts", required=True, help="points layer of prompts (GeoPackage, Shapefile, GeoJSON)")
    p.add_argument("--out", required=True, help="output GeoPackage (must not exist unless --overwrite)")
    p.add_argument("--bands", type=int, nargs="+", default=[1], metavar="B", help="1 to 3 raster bands (default: 1)")
    p.add_argument("--type", default="fault", choices=FEATURE_TYPES,
                   help="feature type of every group unless --type-field (default: fault)")
    p.add_argument("--group-field",
                   help="points sharing a value of this field make one feature (default: one per point)")
    p.add_argument("--label-field", help="1 = include, 0 = exclude point (default: all include)")
    p.add_argument("--type-field", help="feature type per group, overriding --type")
    p.add_argument("--model", help="GeoSAM model folder or official SAM checkpoint (default: the shipped GeoSAM)")
    p.add_argument("--backend", default="auto", choices=BACKENDS)
    p.add_argument("--threads", type=int, help="CPU threads (default: the library's)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="simplification tolerance in map units (default: one pixel of the view for lines, "
                        "none for bodies)")
    p.add_argument("--min-size", type=float, default=0.0,
                   help="drop parts shorter (lines) or smaller (polygons) than this, in map units")
    p.add_argument("--context", type=int, default=256,
                   help="view size around each group in raster pixels (default: 256)")
    p.add_argument("--no-snap", action="store_true",
                   help="keep the model's own masks for intrusions and alteration (default: snapped to the "
                        "image's edges, which traces the GTK Kolari bodies far better)")
    p.add_argument("--overwrite", action="store_true")
    return p


def run(args, feedback=None):
    """Handler of the sub-command: the engine call, then one line per layer written."""
    from .extract import extract_from_points

    r = extract_from_points(args.raster, args.prompts, args.out, bands=args.bands, feature_type=args.type,
                            group_field=args.group_field, label_field=args.label_field, type_field=args.type_field,
                            model=args.model, backend=args.backend, tolerance=args.tolerance, min_size=args.min_size,
                            context_px=args.context, overwrite=args.overwrite, feedback=feedback,
                            threads=args.threads, snap=not args.no_snap)
    layers = ", ".join(f"{name}: {n}" for name, n in r["layers"].items())
    print(f"Structures: {os.path.abspath(r['path'])} ({layers})")
    if r["skipped_groups"]:
        print(f"  groups without a result: {', '.join(r['skipped_groups'])}")
    return r
