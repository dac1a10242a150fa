#!/usr/bin/env python3
"""The skill benchmark: does the default head beat random forest and weights of evidence on
regions and folds it has not seen? (bench/SKILL.md explains the protocol and keeps the figures.)

Regions: Kolari (../shared/data/kolari_iocg), Cloncurry (../shared/data/cloncurry_iocg: its three
full-resolution evidence maps + GA's 2 km fault buffer) and seeded synthetic regions whose deposits
come from a hidden mineral-system model (with irrelevant noise layers added). Each is aligned by
the product's own align, embedded by the shipped foundation model, then cross-validated over
square blocks at three sizes, every valid cell scored out-of-fold (engine.prospectivity.assess), 3 seeds.

    python bench/bench_skill.py                      # everything, one table (~30 min on 2 cores)
    python bench/bench_skill.py --regions kolari --seeds 0 --methods default,rf,wofe
    python bench/bench_skill.py --transfer           # + leave-one-region-out Kolari <-> Cloncurry
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SHARED = os.path.join(ROOT, "..", "shared", "data")

BLOCKS_KM = {"kolari": (5, 10, 25), "cloncurry": (10, 25, 50), "synthetic": (3, 6, 12), "synthetic-proxies": (3, 6, 12)}


# --------------------------------------------------------------------------- regions
def kolari_region(work, res):
    from engine.demo import kolari_spec

    return kolari_spec(res=res)


def cloncurry_region(work, res):
    from engine.data.layers import LayerSpec
    from engine.data.stack import StackSpec

    d = os.path.join(SHARED, "cloncurry_iocg")
    if not os.path.isdir(d):
        raise SystemExit(f"Cloncurry data not found at {os.path.normpath(d)}: place the shared data beside the project")
    w, r = os.path.join(d, "weights_inputs"), os.path.join(d, "response_inputs")
    layers = [
        LayerSpec(os.path.join(w, "StratNo.tif"), "geology", kind="categorical", name="stratigraphy",
                  layer_type="lithology_unit"),
        LayerSpec(os.path.join(w, "Dist2Breccia.tif"), "geology", kind="continuous", name="breccia_distance",
                  layer_type="unknown_geology"),
        LayerSpec(os.path.join(w, "FaultDensity.tif"), "geology", kind="continuous", name="fault_density",
                  layer_type="unknown_geology"),
        LayerSpec(os.path.join(r, "Dist2Fault.tif"), "geology", kind="categorical", name="fault_buffer_2km",
                  layer_type="unknown_geology"),
    ]
    return StackSpec(layers, res=res, deposits=os.path.join(w, "IOCG_Deposits.shp"))


# Layers of the generator that carry no footprint of the deposits themselves (alteration, sulphide
# cores, dispersion halos): only the mineral system's ingredients (host rock, faults, intrusions).
PROXIES = ("gravity", "gamma_th", "gamma_u", "dem")


def synthetic_region(work, res, seed=11, size=640, noise_layers=3, proxies_only=False):
    """A seeded synthetic area written as the GeoTIFFs and points a user would hand in.

    proxies_only: only layers without the deposits' own footprint, plus more noise: the deposits must
    be predicted from where the mineral system's ingredients meet, as in greenfields exploration."""
    import rasterio
    from rasterio.transform import from_origin

    from engine.data.layers import LayerSpec
    from engine.data.stack import StackSpec
    from engine.data.synthetic import generate_scene

    h, w = (size, size) if np.isscalar(size) else size
    sc = generate_scene(seed, size=(h, w), pixel_size=res)
    folder = os.path.join(work, f"synthetic_{seed}_{h}x{w}{'_proxies' if proxies_only else ''}")
    os.makedirs(folder, exist_ok=True)
    tr = from_origin(500000.0, 7000000.0, res, res)
    prof = dict(driver="GTiff", width=w, height=h, count=1, crs="EPSG:3067", transform=tr, nodata=np.nan,
                dtype="float32")
    layers = []

    def write(name, arr, source, kind, layer_type, dtype="float32", nodata=np.nan):
        p = os.path.join(folder, f"{name}.tif")
        with rasterio.open(p, "w", **{**prof, "dtype": dtype, "nodata": nodata}) as dst:
            dst.write(arr.astype(dtype)[None])
        layers.append(LayerSpec(p, source, kind=kind, name=name, layer_type=layer_type))

    for src in ("geophysics", "geochemistry", "remote_sensing"):
        sa = sc.sources[src]
        for i, t in enumerate(sa.layers):
            if not proxies_only or t in PROXIES:
                write(f"{src}_{t}", sa.data[i], src, "continuous", t)
    write("lithology", sc.labels["lithology"], "geology", "categorical", "lithology_unit", "int32", -1)
    write("fault_distance", sc.labels["fault_distance_km"], "geology", "continuous", "fault_distance")
    rng = np.random.default_rng(seed + 1)
    from engine.data.synthetic import _grf

    for j in range(noise_layers):  # irrelevant layers: smooth random fields with no link to the deposits
        write(f"noise_{j}", _grf(rng, (h, w), max(h, w) / 20)[0], "geophysics", "continuous", "unknown_geophysics")
    pts = sc.labels["deposit_points"]
    x, y = tr * (pts[:, 1] + 0.5, pts[:, 0] + 0.5)
    gpkg = os.path.join(folder, "deposits.gpkg")
    import shapely

    from engine.data.vectors import pyogrio

    pyogrio.raw.write(gpkg, geometry=shapely.to_wkb(shapely.points(np.column_stack([x, y]))),
                      field_data=[np.array([f"d{i}" for i in range(len(x))], dtype=object)], fields=["name"],
                      geometry_type="Point", crs="EPSG:3067", driver="GPKG")
    return StackSpec(layers, res=res, deposits=gpkg)


REGIONS = {"kolari": (kolari_region, 200.0), "cloncurry": (cloncurry_region, 200.0),
           "synthetic": (synthetic_region, 100.0),
           "synthetic-proxies": (lambda work, res: synthetic_region(work, res, noise_layers=6, proxies_only=True), 100.0)}


# --------------------------------------------------------------------------- methods
class DecileWofE:
    """Multi-class weights of evidence (engine.prospectivity.evidence.decile_wofe, the head's WofE member), kept as a bar:
    ArcSDM's binary generalisation (engine.classical.baselines.WeightsOfEvidence) throws away the classes between."""

    def __init__(self, cat):
        from engine.prospectivity.evidence import decile_wofe

        self.enc = decile_wofe(cat)

    def fit(self, x, y):
        self.enc.fit(x, y)
        return self

    def predict(self, x):
        return self.enc.weight_sum(x)


class GBT:
    def __init__(self, seed, cat):
        from sklearn.ensemble import HistGradientBoostingClassifier

        self.m = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=20,
                                                l2_regularization=1.0, class_weight="balanced", random_state=seed)

    def fit(self, x, y):
        self.m.fit(x, y)
        return self

    def predict(self, x):
        return self.m.predict_proba(x)[:, 1]


class RankMean:
    """Mean of each part's empirical CDF over the training background: scale-free, no labels used."""

    def __init__(self, parts):
        self.parts = parts  # (column selector, model)

    def fit(self, x, y):
        self.ref = []
        for cols, m in self.parts:
            m.fit(x[:, cols], y)
            self.ref.append(np.sort(m.predict(x[y == 0][:, cols])))
        return self

    def predict(self, x):
        return np.mean([np.searchsorted(r, m.predict(x[:, cols]), side="right") / len(r)
                        for (cols, m), r in zip(self.parts, self.ref)], 0)


def methods_table(n_bands=None):
    """name -> (features, make(seed, categorical)); 'default' is what the product runs."""
    from engine.classical.baselines import RandomForestBaseline, WeightsOfEvidence

    nb = slice(0, n_bands)
    ne = slice(n_bands, None)

    def rf(seed, cat):
        return RandomForestBaseline(seed)

    def wofe(seed, cat):
        return WeightsOfEvidence(cat)

    def ens(*names):
        def make(seed, cat):
            parts = []
            for n in names:
                if n == "rf":
                    parts.append((nb, RandomForestBaseline(seed)))
                elif n == "wofe":
                    parts.append((nb, WeightsOfEvidence(cat[:n_bands])))
                elif n == "gbt":
                    parts.append((slice(None), GBT(seed, cat)))
                elif n == "rf-both":
                    parts.append((slice(None), RandomForestBaseline(seed)))
            return RankMean(parts)
        return make

    from engine.prospectivity.head import HeadConfig, HeadMethod

    def head(**kw):
        return lambda seed, cat: HeadMethod(HeadConfig(seed=seed, **kw), cat, n_bands)

    return {
        "default": ("both", head()),
        "v0-head": ("both", head(inputs="emb", bins=0, forest=0)),  # linear members on the embeddings alone
        "head-bands": ("both", head(inputs="bands")),
        "head-both": ("both", head(inputs="both")),
        "default-nowofe": ("both", head(wofe_weight=0.0)),
        "default-wofe20": ("both", head(wofe_weight=0.2)),
        "default-wofe33": ("both", head(wofe_weight=1 / 3)),
        "head-emb": ("both", head(inputs="emb")),
        "head-bands-bins5": ("both", head(inputs="bands", bins=5)),
        "head-both-bins5": ("both", head(inputs="both", bins=5)),
        "lin-bands": ("both", head(inputs="bands", bins=0, forest=0)),
        "lin-both": ("both", head(inputs="both", bins=0, forest=0)),
        "lin-bands-auto": ("both", head(inputs="bands", forest=0)),
        "lin-both-auto": ("both", head(inputs="both", forest=0)),
        "head-bands-bins10": ("both", head(inputs="bands", bins=10)),
        "head-both-bins10": ("both", head(inputs="both", bins=10)),
        "blend-headboth-rf": ("both", lambda seed, cat: RankMean([(slice(None), HeadMethod(HeadConfig(seed=seed, inputs="both"), cat, n_bands)),
                                                                  (nb, RandomForestBaseline(seed))])),
        "blend-headbands-rf": ("both", lambda seed, cat: RankMean([(slice(None), HeadMethod(HeadConfig(seed=seed, inputs="bands"), cat, n_bands)),
                                                                   (nb, RandomForestBaseline(seed))])),
        "blend-headbands-rf-wofe": ("both", lambda seed, cat: RankMean([(slice(None), HeadMethod(HeadConfig(seed=seed, inputs="bands"), cat, n_bands)),
                                                                        (nb, RandomForestBaseline(seed)), (nb, WeightsOfEvidence(cat[:n_bands]))])),
        "rf": ("bands", rf),
        "wofe": ("bands", wofe),
        "wofe-deciles": ("bands", lambda seed, cat: DecileWofE(cat)),
        "rf-emb": ("emb", rf),
        "rf-both": ("both", rf),
        "gbt-bands": ("bands", lambda seed, cat: GBT(seed, cat)),
        "gbt-both": ("both", lambda seed, cat: GBT(seed, cat)),
        "ens-rf-wofe": ("both", ens("rf", "wofe")),
        "ens-gbt-wofe": ("both", ens("gbt", "wofe")),
        "ens-rfboth-wofe": ("both", ens("rf-both", "wofe")),
    }


# --------------------------------------------------------------------------- run
def prepare(region, work, res=None):
    from engine.foundation.features import EmbeddingReader, embedding_path
    from engine.data.reader import Stack
    from engine.prospectivity.assess import cell_table
    from engine.data.stack import align_stack

    make, default_res = REGIONS[region]
    res = res or default_res
    stack = os.path.join(work, f"stack_{region}")
    t0 = time.time()
    if not os.path.exists(stack):
        align_stack(make(work, res), stack)
    t1 = time.time()
    emb = embedding_path(stack)
    t2 = time.time()
    with Stack(stack) as st, EmbeddingReader(emb, st.grid) as er:
        table = cell_table(st, er)
        grid_res = st.grid.res
    print(f"# {region}: {grid_res:g} m, {table.bands.shape[1]} bands, {table.emb.shape[1]}-d embedding, "
          f"{int(table.label.sum())} deposit cells, {len(table.label):,} cells scored of {table.n_valid:,} valid "
          f"(align {t1 - t0:.0f} s, embed {t2 - t1:.0f} s)", flush=True)
    return table, grid_res


def run_region(region, table, grid_res, methods, seeds, n_background):
    from engine.prospectivity.assess import cell_folds, cross_validate_cells

    rows = []
    for km in BLOCKS_KM[region]:
        block_px = max(1, int(round(km * 1000 / grid_res)))
        for seed in seeds:
            folds, k = cell_folds(table, block_px, 5, seed)
            t0 = time.time()
            res, _ = cross_validate_cells(table, folds, k, methods, n_background=n_background,
                                          buffer_px=int(round(2000 / grid_res)), seed=seed)
            for m, r in res.items():
                rows.append({"region": region, "block_km": km, "seed": seed, "method": m, "roc_auc": r["roc_auc"],
                             "pr_auc": r["pr_auc"], "prevalence": r["positive_rate"],
                             "top10": r["captured_at_10pct_area"], "success_auc": r["success_rate_auc"]})
            print(f"  {region} {km} km seed {seed}: {time.time() - t0:.0f} s  " +
                  "  ".join(f"{m} {res[m]['roc_auc']:.3f}/{res[m]['captured_at_10pct_area']:.2f}" for m in res), flush=True)
    return rows


def summarise(rows, methods):
    """One line per region x block size x method: mean (spread over seeds) of each metric."""
    out = []
    keys = sorted({(r["region"], r["block_km"]) for r in rows}, key=lambda t: (list(REGIONS).index(t[0].split(":")[0])
                                                                              if t[0].split(":")[0] in REGIONS else 9, t[1]))
    print("\n| region | block km | method | ROC-AUC | PR-AUC (prevalence) | top 10 % captures | success AUC |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for reg, km in keys:
        for m in methods:
            rs = [r for r in rows if r["region"] == reg and r["block_km"] == km and r["method"] == m]
            if not rs:
                continue

            def ms(key):
                v = np.array([r[key] for r in rs])
                return v.mean(), (v.max() - v.min()) / 2

            line = {"region": reg, "block_km": km, "method": m, "seeds": len(rs)}
            for key in ("roc_auc", "pr_auc", "top10", "success_auc"):
                line[key], line[key + "_spread"] = ms(key)
            line["prevalence"] = rs[0]["prevalence"]
            out.append(line)
            print(f"| {reg} | {km} | {m} | {line['roc_auc']:.3f} ±{line['roc_auc_spread']:.3f} | "
                  f"{line['pr_auc']:.4f} ±{line['pr_auc_spread']:.4f} ({line['prevalence']:.5f}) | "
                  f"{line['top10'] * 100:.0f} % ±{line['top10_spread'] * 100:.0f} | {line['success_auc']:.3f} |")
    return out


CLASSICAL = ("rf", "wofe", "wofe-deciles")
# the default, the classical methods, and the ablation: the default head on bands + embeddings, on embeddings alone
DEFAULT_METHODS = ("default", "rf", "wofe", "wofe-deciles", "head-both", "head-emb")


def verdict(summary, default="default"):
    """The issue's acceptance, cell by cell: default vs the best classical method (RF and both WofE)."""
    print("\n| region | block km | ROC: default vs best classical | top 10 %: default vs best | PR: default vs RF |")
    print("|---|---:|---|---|---|")
    wins = {"roc": [], "top10": [], "pr_diff": []}
    for reg, km in sorted({(s["region"], s["block_km"]) for s in summary}):
        by = {s["method"]: s for s in summary if s["region"] == reg and s["block_km"] == km}
        classical = [m for m in CLASSICAL if m in by]
        if default not in by or "rf" not in by or not classical:
            continue
        d = by[default]
        cells = []
        for key in ("roc_auc", "top10"):
            best = max(by[m][key] for m in classical)
            ok = d[key] >= best or best - d[key] <= d[key + "_spread"]
            wins["roc" if key == "roc_auc" else "top10"].append(d[key] - best)
            cells.append(f"{d[key]:.3f} vs {best:.3f} {'ok' if ok else 'BELOW'}")
        wins["pr_diff"].append(d["pr_auc"] - by["rf"]["pr_auc"])
        print(f"| {reg} | {km} | {cells[0]} | {cells[1]} | {d['pr_auc']:.4f} vs {by['rf']['pr_auc']:.4f} |")
    for k, v in wins.items():
        if v:
            print(f"mean difference default - best ({k}): {np.mean(v):+.4f}")


def transfer(tables, n_background, seeds):
    """Leave-one-region-out: train on one region's deposits, score every cell of the other.

    Kolari and Cloncurry share no layer by name or type beyond 'a lithology map' (named rock units
    vs stratigraphic numbers), so the bands cannot travel; the embeddings are region-agnostic by
    design, so the head on the embeddings alone is what is tried."""
    from engine.prospectivity.head import HeadConfig, HeadMethod
    from engine.prospectivity.validate import cell_curves

    rows = []
    for a in tables:
        for b in tables:
            if a == b:
                continue
            ta, tb = tables[a], tables[b]
            for seed in seeds:
                rng = np.random.default_rng(seed)
                pos = np.flatnonzero(ta.label == 1)
                neg = rng.choice(np.flatnonzero(ta.label == 0), size=min(n_background, int((ta.label == 0).sum())),
                                 replace=False)
                tr = np.concatenate([pos, neg])
                model = HeadMethod(HeadConfig(seed=seed, inputs="emb", forest=0), [], 0)
                model.fit(ta.emb[tr], ta.label[tr].astype(int))
                r = cell_curves(model.predict(tb.emb), tb.label)
                rows.append({"train": a, "test": b, "seed": seed, "roc_auc": r["roc_auc"], "pr_auc": r["pr_auc"],
                             "top10": r["captured_at_10pct_area"]})
                print(f"  transfer {a} -> {b}, head on embeddings, seed {seed}: ROC-AUC {r['roc_auc']:.3f}, "
                      f"top 10 % captures {r['captured_at_10pct_area']:.0%}", flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", default="kolari,cloncurry,synthetic,synthetic-proxies")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                    help="comma list of method names, or 'all' for every candidate tried (bench/SKILL.md)")
    ap.add_argument("--background", type=int, default=5000, help="background cells drawn per training fold")
    ap.add_argument("--transfer", action="store_true", help="also leave-one-region-out Kolari <-> Cloncurry")
    ap.add_argument("--work", default=None, help="keep stacks and embeddings here (default: a temporary folder)")
    ap.add_argument("--json", default=None, help="write the per-run rows and the summary here")
    ap.add_argument("--update", default=None,
                    help="a --json file of an earlier run: its rows are kept except those of the methods rerun now")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="mpm_bench_skill_")
    os.makedirs(work, exist_ok=True)
    os.environ.setdefault("MPM_CACHE_DIR", os.path.join(work, "cache"))
    seeds = [int(s) for s in args.seeds.split(",")]
    t0 = time.time()
    rows, tables = [], {}
    for region in args.regions.split(","):
        table, res = prepare(region, work)
        tables[region] = table
        methods = methods_table(table.bands.shape[1])
        if args.methods != "all":
            methods = {m: methods[m] for m in args.methods.split(",")}
        rows += run_region(region, table, res, methods, seeds, args.background)
    order = list(methods)
    if args.update:
        with open(args.update) as f:
            old = json.load(f)["rows"]
        rerun = {(r["region"], r["method"]) for r in rows}
        rows = [r for r in old if (r["region"], r["method"]) not in rerun] + rows
        order = list(dict.fromkeys([r["method"] for r in old] + order))
    summary = summarise(rows, order)
    verdict(summary)
    trows = transfer({k: v for k, v in tables.items() if k in ("kolari", "cloncurry")}, args.background,
                     seeds) if args.transfer else []
    print(f"\ntotal {time.time() - t0:.0f} s; work folder {work}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "summary": summary, "transfer": trows}, f, indent=1)


if __name__ == "__main__":
    main()
