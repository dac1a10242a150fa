"""Fine-tune a head on the user's deposits, validate it, and map prospectivity over a stack.

The chain: frozen fused embeddings (engine.foundation.features, cached) -> positive-unlabelled samples
(engine.prospectivity.samples) -> spatial block cross-validation against random forest and weights of
evidence (engine.prospectivity.validate) -> the final head on all deposits (engine.prospectivity.head) -> windowed maps:
probability, uncertainty (ensemble spread) and per-source contribution.

Contribution of a source = probability with every source - probability with that source left
out of the fusion (the encoders were pretrained to cope with a missing source). Positive: the
source raises the prospectivity here; it is an ablation, so contributions need not sum to p.
"""

import contextlib
import dataclasses
import functools
import json
import os

import numpy as np
import rasterio

from ..core.atomic import atomic_path, check_free_space, check_output_path
from ..core.errors import InputError
from .evidence import lookup
from .artifacts import RASTERS, Prediction
from ..foundation.features import DEFAULT_MODEL, EmbeddingReader, embedding_path
from ..foundation.model.weights import open_model
from ..core.runtime import Runtime
from ..core.progress import Steps
from ..data.reader import Stack
from ..data.stack import bounded_block_cache


def stack_signature(stack):
    """What a head depends on: each band's source, layer type and kind, in order."""
    return [[b["source"], b["layer_type"], b["kind"]] for b in stack.bands]


ABLATION = {"bands": ("head_with_embeddings", "both"), "both": ("head_bands_only", "bands"),
            "emb": ("head_bands_only", "bands")}  # the other head the validation runs beside the default


def finetune(stack_dir, out_dir, model=None, n_background=10000, buffer_m=2000.0, validate=True,
             folds=5, block_m=10000.0, head_config=None, seed=0, overwrite=False, feedback=None,
             max_cells=None, deposits=None, compare_embeddings=False, runtime=None, **settings):
    """Train (and cross-validate) a head; writes head weights, card and validation report to out_dir.

    Validation is spatial block CV scored on every valid cell out-of-fold (engine.prospectivity.assess), for the
    head, random forest and weights of evidence; with compare_embeddings (always for a head that reads
    them) also the same head with / without the foundation embeddings, so the report says whether they
    add skill here. Off by default because the default head does not read them (bench/SKILL.md) and
    embedding a stack is most of a cold fine-tune's time.
    runtime (engine.core.runtime.Runtime, or its fields as keywords: backend=, threads=, cache_dir=):
    how and where the embedding is computed and cached.
    deposits: a point layer of another deposit type to train on instead of the stack's own deposits
    (the stack and its cached embedding are reused: no re-alignment, no re-embedding)."""
    from .assess import MAX_CELLS, cell_folds, cell_table, cross_validate_cells, training_rows
    from ..classical.baselines import RandomForestBaseline, WeightsOfEvidence
    from .head import HeadConfig, HeadMethod, fit_evidence_head, save_head
    from .samples import deposit_pixels
    from .validate import plot_report

    runtime = Runtime.of(runtime, **settings)
    steps = Steps(feedback)
    check_output_path(out_dir, overwrite, "head folder", inputs=(stack_dir, model or DEFAULT_MODEL))
    cfg = head_config or HeadConfig(seed=seed)
    model = open_model(model)  # the card read once, passed down
    with Stack(stack_dir) as st:
        report_dep = None
        if deposits:
            from ..data.labels import deposit_report

            report_dep = deposit_report(deposits, st.grid, os.path.join(stack_dir, st.manifest["files"]["valid"]))
        deposit_pixels(st, report=report_dep)  # enough deposits on valid cells, or a clear error before any work
        dep_points = (report_dep or st.manifest["deposits"])["points"]
        unused = [f"{p['name']} ({p['status']})" for p in dep_points if p["status"] != "used"]
        if unused:
            steps.info(f"Deposits not used (outside the area or on nodata): {', '.join(unused)}")
        ablation = validate and (compare_embeddings or cfg.inputs != "bands")
        need_emb = ablation or cfg.inputs != "bands"
        emb = None
        if need_emb:
            emb = embedding_path(st, model, feedback=steps.child_feedback(0.0, 0.4), runtime=runtime)
            steps.report(0.4, "embedding ready")
        with EmbeddingReader(emb, st.grid) if emb else contextlib.nullcontext() as er:
            table = cell_table(st, er, max_cells=max_cells or MAX_CELLS, seed=seed, deposits=report_dep)
        if table.emb is not None:  # cells whose patch has no embedding cannot be scored by every method
            ok = np.isfinite(table.emb).all(1)
            bad = int((~ok & (table.label == 1)).sum())
            if bad:
                steps.info(f"{bad} deposit cell(s) lie where the embedding has no data; left out")
            table = table.take(np.flatnonzero(ok))
        n_pos = int(table.label.sum())
        lacking = deposits_lacking_layers(st, table)
        if lacking:
            steps.info(f"{lacking['deposits']} of {n_pos} deposit cells lie where some layers have no data (those "
                       "layers read as missing, the others used): "
                       + ", ".join(f"{k} missing at {v}" for k, v in lacking["per_layer"].items()))
        steps.info(f"{n_pos} deposit cells; {len(table.label):,} valid cells scored"
                   + (f" (a uniform sample of {table.n_valid:,})" if table.sampled else ""))
        buffer_px = int(round(buffer_m / st.grid.res))
        names = {(p["row"], p["col"]): p["name"] for p in dep_points if p["status"] == "used"}
        report, meta = None, {}
        if validate:
            fold, k = cell_folds(table, max(1, int(round(block_m / st.grid.res))), folds, seed)
            n_bands = table.bands.shape[1]
            other_key, other_inputs = ABLATION[cfg.inputs]
            which = "both" if table.emb is not None else "bands"
            methods = {"head": (which, lambda sd, cat: HeadMethod(cfg, cat, n_bands))}
            if ablation:
                methods[other_key] = (which, lambda sd, cat: HeadMethod(dataclasses.replace(cfg, inputs=other_inputs),
                                                                         cat, n_bands))
            methods["random_forest"] = ("bands", lambda sd, cat: RandomForestBaseline(sd))
            methods["weights_of_evidence"] = ("bands", lambda sd, cat: WeightsOfEvidence(cat))
            report, oof = cross_validate_cells(table, fold, k, methods, n_background=n_background,
                                               buffer_px=buffer_px, seed=seed, feedback=steps.child_feedback(0.4, 0.9))
            pos = np.flatnonzero(table.label == 1)
            for m, r in report.items():
                r["deposit_scores"] = {names.get((int(table.rows[i]), int(table.cols[i])), str(i)): float(oof[m][i])
                                       for i in pos}
            meta = {"folds": k, "block_m": block_m, "deposits": n_pos, "cells": len(table.label),
                    "valid_cells": table.n_valid, "scored": ("every valid cell" if not table.sampled else
                                                             f"a uniform sample of {len(table.label)} valid cells"),
                    "background_per_fold": n_background, "buffer_m": buffer_m, "seed": seed,
                    "head_inputs": cfg.inputs,
                    "title": f"{os.path.basename(os.path.abspath(stack_dir))}: spatial {k}-fold CV, "
                             f"{n_pos} deposits, blocks {block_m / 1000:g} km, all cells scored"}
            meta["embeddings"] = embeddings_verdict(report, cfg.inputs) if ablation else NOT_COMPARED
            steps.info(meta["embeddings"]["text"])
        tr = training_rows(table, np.ones(len(table.label), bool), n_background, buffer_px, np.random.default_rng(seed))
        y = table.label[tr].astype(int)
        head = fit_evidence_head(table.bands[tr], None if table.emb is None else table.emb[tr], y, cfg,
                                 table.categorical)
        steps.report(0.95, "head trained on all deposits")
        card = {"encoder": {"name": model.name, "sha256": model.sha256},
                "stack_signature": stack_signature(st),
                "stack_bands": stack_bands(st),
                "class_tables": {str(j): b["classes"] for j, b in enumerate(st.bands) if b.get("classes")},
                "sources": st.sources,
                "stack": os.path.abspath(stack_dir),
                "deposits_file": os.path.abspath(deposits) if deposits else (st.manifest["deposits"] or {}).get("path"),
                "deposits": [names.get((int(r), int(c)), "") for r, c in zip(table.rows[tr][y == 1], table.cols[tr][y == 1])],
                "background": int((y == 0).sum()), "buffer_m": buffer_m, "inputs": cfg.inputs,
                "cv": None if report is None else {m: {k_: r[k_] for k_ in ("roc_auc", "pr_auc", "positive_rate",
                                                                          "success_rate_auc", "captured_at_10pct_area",
                                                                          "fold_roc_auc", "fold_roc_auc_mean",
                                                                          "pa_intersection")}
                                                   for m, r in report.items()},
                "embeddings": meta.get("embeddings"), "deposits_lacking_layers": lacking}
    with atomic_path(out_dir, overwrite=overwrite, directory=True, what="head folder", checked=True) as tmp:
        save_head(head, tmp, card)
        if report is not None:
            with open(os.path.join(tmp, "validation.json"), "w") as f:
                json.dump({"meta": meta, "methods": report}, f, indent=1)
            plot_report(report, os.path.join(tmp, "validation.png"), title=meta["title"])
    steps.report(1.0, f"Head written to {out_dir}")
    return {"head": os.path.abspath(out_dir), "cv": card["cv"], "deposits": len(card["deposits"]),
            "embeddings": card["embeddings"], "deposits_lacking_layers": lacking}


def deposits_lacking_layers(st, table):
    """{deposits: cells, per_layer: {layer: cells}} of the deposit cells of a CellTable where some layer
    of the stack has no data (engine.data.stack.MIN_LAYER_SHARE keeps such cells), or None when all have all."""
    dep = np.flatnonzero(table.label == 1)
    miss = np.zeros(len(dep), bool)
    per_layer = {}
    for name, idx in st.layers:
        m = ~np.isfinite(table.bands[np.ix_(dep, idx)]).all(1)
        miss |= m
        if m.any():
            per_layer[name] = int(m.sum())
    return {"deposits": int(miss.sum()), "per_layer": per_layer} if miss.any() else None


NOT_COMPARED = {"compared": False,
                "text": "The head reads the evidence layers, not the foundation model's embeddings (on the skill "
                        "benchmark, bench/SKILL.md, they added no skill); they were not compared on this stack: "
                        "fine-tune with --compare-embeddings to measure them here."}


def embeddings_verdict(report, inputs):
    """Did the foundation model's embeddings add skill on this stack (all-cell CV)? A dict with the
    figures and one sentence, or None when the report has no such pair of heads."""
    with_key, without_key = (("head", "head_bands_only") if inputs != "bands" else ("head_with_embeddings", "head"))
    if with_key not in report or without_key not in report:
        return None
    w, wo = report[with_key], report[without_key]
    v = {"roc_with": w["roc_auc"], "roc_without": wo["roc_auc"], "top10_with": w["captured_at_10pct_area"],
         "top10_without": wo["captured_at_10pct_area"]}
    v["adds_skill"] = bool(v["roc_with"] - v["roc_without"] > 0.005 and v["top10_with"] >= v["top10_without"])
    v["compared"] = True
    v["text"] = (f"The foundation model's embeddings add {'skill' if v['adds_skill'] else 'no skill'} on this stack: "
                 f"ROC-AUC {v['roc_with']:.3f} with the embeddings vs {v['roc_without']:.3f} on the bands alone; "
                 f"the top 10 % of the area captures {v['top10_with']:.0%} vs {v['top10_without']:.0%} of the deposits.")
    return v


def class_remap(card, st, order=None):
    """{head band: (codes here, codes the head knows)} for categorical bands whose classes are numbered
    differently here (another lithology file, another area): classes are matched by name, and a class
    the head never saw becomes missing (weight 0) instead of silently borrowing another rock's weight.
    order: the stack band of each head band (match_bands); default the same order."""
    out = {}
    order = range(len(st.bands)) if order is None else order
    for j, i in enumerate(order):
        known, here = card.get("class_tables", {}).get(str(j)), st.bands[i].get("classes")
        if not known or not here or known == here:
            continue
        code_of = {name: float(code) for code, name in known.items()}
        pairs = sorted((float(c), code_of.get(name, np.nan)) for c, name in here.items())
        out[j] = (np.array([a for a, _ in pairs]), np.array([k for _, k in pairs]))
    return out


def stack_bands(st):
    """Each band's source, layer, name, layer type and kind: what a head's bands are matched by."""
    layer_of = {i: name for name, idx in st.layers for i in idx}
    return [{"source": b["source"], "layer": layer_of[i], "name": b["name"], "layer_type": b["layer_type"],
             "kind": b["kind"]} for i, b in enumerate(st.bands)]


def match_bands(card, st):
    """(order, missing, extra): the stack band of each band the head was trained on, matched by source,
    layer and band name (so the same layers in another order fit: the CLI orders sources geology,
    geochemistry, geophysics, the API keeps the caller's order); a band whose name changed (a renamed
    file) by its layer type and kind when exactly one band is left that fits. Heads from before names
    were kept match by layer type and kind, in order. missing: the head's bands not found; extra: the
    stack's bands the head does not read."""
    have = stack_bands(st)
    named = "stack_bands" in card
    want = card["stack_bands"] if named else [{"source": s, "layer": None, "name": None, "layer_type": t, "kind": k}
                                              for s, t, k in card["stack_signature"]]
    order, used = [None] * len(want), set()
    for j, w in enumerate(want if named else []):
        key = (w["source"], w["layer"], w["name"], w["kind"])
        i = next((i for i, h in enumerate(have) if i not in used and (h["source"], h["layer"], h["name"], h["kind"]) == key),
                 None)
        if i is not None:
            order[j] = i
            used.add(i)

    def by_type(x):
        return x["source"], x["layer_type"], x["kind"]

    for j, w in enumerate(want):
        if order[j] is not None:
            continue
        left = [i for i, h in enumerate(have) if i not in used and by_type(h) == by_type(w)]
        rivals = [k for k, v in enumerate(want) if order[k] is None and by_type(v) == by_type(w)]
        if left and (not named or (len(left) == 1 and len(rivals) == 1)):
            order[j] = left[0]
            used.add(left[0])
    missing = [w for j, w in enumerate(want) if order[j] is None]
    extra = [h for i, h in enumerate(have) if i not in used]
    return order, missing, extra


def describe_bands(bands, most=8):
    """'geology/lithology (lithology_unit), geochemistry/till: Cu, Co and 20 more': one item per layer."""
    layers = {}
    for b in bands:
        layers.setdefault((b["source"], b.get("layer") or b.get("name") or b["layer_type"]), []).append(b)
    items = []
    for (source, layer), bs in layers.items():
        if len(bs) == 1 and bs[0].get("name") in (None, layer):
            items.append(f"{source}/{layer} ({bs[0]['layer_type']}, {bs[0]['kind']})")
        else:
            names = [b.get("name") or b["layer_type"] for b in bs]
            items.append(f"{source}/{layer}: {', '.join(names[:4])}" + (f" and {len(names) - 4} more" if len(names) > 4 else ""))
    return "; ".join(items[:most]) + (f"; and {len(items) - most} more layers" if len(items) > most else "")


def head_fits(card, st):
    """(fits, missing, extra): whether predict takes the head `card` on stack `st` (a Stack, or a StackBands from
    stack.json alone): its bands found by name in any order (match_bands), and no extra layer for a head reading
    embeddings (the embedding mixes every layer in). What _check_head_fits refuses, as a yes / no."""
    _order, missing, extra = match_bands(card, st)
    return not missing and not (extra and card_reads_embedding(card)), missing, extra


def card_reads_embedding(card):
    """Whether the head of `card` reads the foundation embeddings (Head.reads_embedding; old cards: embeddings only)."""
    return ((card.get("config") or {}).get("inputs") or card.get("inputs") or "emb") != "bands"


def _check_head_fits(card, st, sha, reads_embedding=True, feedback=None):
    """The stack band of each head band (match_bands); sha: the foundation model's, or None for a head that does
    not read embeddings. A head on the bands ignores extra layers (it never reads them); one reading embeddings
    cannot (the embedding mixes every layer in)."""
    if sha is not None and card["encoder"]["sha256"] != sha:
        raise InputError(f"this head was trained on encoder '{card['encoder']['name']}' "
                         f"(sha256 {card['encoder']['sha256'][:12]}), not on the model given (sha256 {sha[:12]})",
                         fix="pass the foundation model the head was fine-tuned with (--model)")
    order, missing, extra = match_bands(card, st)
    if missing or (extra and reads_embedding):
        what = []
        if missing:
            what.append(f"the stack lacks {len(missing)} of the head's {len(order)} bands: {describe_bands(missing)}")
        if extra:
            what.append(f"it has {len(extra)} band(s) the head was not trained on: {describe_bands(extra)}")
        raise InputError("this head does not fit the stack: " + "; ".join(what),
                         fix="fine-tune a head on this stack (python -m engine finetune STACK --out HEAD, or Fine-tune "
                             "in the panel), or align this area with the layers the head was trained on (same names)")
    if extra:
        Steps(feedback).info(f"Layers the head was not trained on are not used: {describe_bands(extra)}")
    return order


def predict(stack_dir, head_dir, out_dir, model=None, contributions=True, overwrite=False, feedback=None, runtime=None,
            **settings):
    """prospectivity.tif, uncertainty.tif, contributions.tif (one band per source) into out_dir.

    runtime (engine.core.runtime.Runtime, or its fields as keywords: backend=, threads=, tile=,
    cache_dir=, scheduler=, workers=): `tile` bounds every pass, the embeddings' and the head's;
    scheduler None = every tile in this process; "local" = a local Dask cluster of `workers`
    processes; "tcp://host:port" = a running Dask cluster (or a distributed.Client). On a cluster
    the workers compute the embeddings' tiles and apply the head tile by tile; this process
    alone writes the rasters, by window (engine.core.distributed).
    """
    from .head import load_head

    runtime = Runtime.of(runtime, **settings)
    check_output_path(out_dir, overwrite, "prediction folder", inputs=(stack_dir, head_dir, model or DEFAULT_MODEL))
    head, card = load_head(head_dir)  # its card read once (open_head), the weights verified once
    model = open_model(model)
    with Stack(stack_dir) as st:
        head.band_order = _check_head_fits(card, st, model.sha256 if head.reads_embedding else None,
                                           head.reads_embedding, feedback)
        head.class_remap = class_remap(card, st, head.band_order)
        run = _PredictRun(st, head, card, model, contributions)
        if runtime.scheduler is not None:
            from ..core.distributed import cluster_client, is_client

            if not is_client(runtime.scheduler):  # one cluster for every embedding and the head: workers keep their sessions
                with cluster_client(runtime.scheduler, runtime.workers) as client:
                    return run(out_dir, overwrite, feedback, dataclasses.replace(runtime, scheduler=client))
        return run(out_dir, overwrite, feedback, runtime)


@dataclasses.dataclass
class _PredictRun:
    """One prediction: the open stack, the head and its card, the model (an open ModelCard), and what to compute."""

    st: Stack
    head: object
    card: dict
    model: object
    contributions: bool

    def __call__(self, out_dir, overwrite, feedback, runtime):
        st, head, card, model, scheduler = self.st, self.head, self.card, self.model, runtime.scheduler
        stack_dir = st.folder
        steps = Steps(feedback)
        with bounded_block_cache():  # block cache bounded
            used = (sorted({st.bands[i]["source"] for i in head.band_order}) if head.band_order is not None
                    else st.sources)
            sources = used if self.contributions and len(used) > 1 else []
            check_free_space(out_dir, st.grid.width * st.grid.height * (4 * (2 + len(sources)) + 1),
                             "the prediction rasters")
            # A head on the bands ablates a source by blanking its bands (one more head pass, no embedding);
            # an embedding-only head needs one embedding per left-out source.
            ablate = [] if head.reads_bands else sources
            n_emb = int(head.reads_embedding) + len(ablate)
            paths = {}
            if head.reads_embedding:
                paths[None] = embedding_path(st, model, feedback=steps.child_feedback(0, 0.5 / n_emb),
                                             runtime=runtime)
            for i, s in enumerate(ablate):
                paths[s] = embedding_path(st, model, exclude=(s,), runtime=runtime,
                                          feedback=steps.child_feedback(0.5 * (i + 1) / n_emb, 0.5 * (i + 2) / n_emb))
            g = st.grid
            prof = dict(driver="GTiff", width=g.width, height=g.height, dtype="float32", crs=g.rio_crs,
                        transform=g.transform, nodata=np.nan, tiled=True, blockxsize=256, blockysize=256,
                        compress="deflate", predictor=3)
            readers = {k: EmbeddingReader(p, g) for k, p in paths.items()} if scheduler is None else {}
            tiles = list(st.tiles(runtime.tile))
            try:
                with atomic_path(out_dir, overwrite=overwrite, directory=True, what="prediction folder",
                                 checked=True) as tmp:
                    out = Prediction(tmp)
                    outs = {"prospectivity": rasterio.open(out.path("prospectivity"), "w", count=1, **prof),
                            "uncertainty": rasterio.open(out.path("uncertainty"), "w", count=1, **prof),
                            "coverage": rasterio.open(out.path("coverage"), "w", count=1,
                                                      **{**prof, "dtype": "uint8", "nodata": 0, "predictor": 1})}
                    if sources:
                        outs["contributions"] = rasterio.open(out.path("contributions"), "w",
                                                              count=len(sources), **prof)
                    try:
                        if scheduler is None:
                            stats = _predict_tiles(st, head, readers, sources, outs, tiles, steps.sub(0.5, 1.0))
                        else:
                            stats = _predict_tiles_distributed(stack_dir, head, paths, sources, outs, tiles, scheduler,
                                                               runtime.workers, steps.sub(0.5, 1.0))
                        outs["prospectivity"].set_band_description(1, "prospectivity probability")
                        outs["uncertainty"].set_band_description(1, "ensemble standard deviation")
                        outs["coverage"].set_band_description(1, f"layers with data (of {len(st.layers)})")
                        for i, s in enumerate(sources):
                            outs["contributions"].set_band_description(i + 1, s)
                    finally:
                        for ds in outs.values():
                            ds.close()
                    summary = {"head": card["_path"], "encoder": card["encoder"], "sources": sources, **stats,
                               "files": {k: RASTERS[k] for k in outs}}
                    with open(out.summary_path, "w") as f:
                        json.dump(summary, f, indent=1)
            finally:
                for r in readers.values():
                    r.close()
        steps.info(f"Prospectivity written to {out_dir}")
        if summary.get("pixels_missing_layers"):
            steps.info(f"{summary['pixels_missing_layers'] / max(1, summary['valid_pixels']):.1%} of the predicted "
                       "cells lack some layer and are predicted from the others (coverage.tif: layers with data per "
                       "cell): " + ", ".join(f"{k} missing on {v:,}" for k, v in summary["missing_per_layer"].items()))
        summary["out_dir"] = os.path.abspath(out_dir)
        return summary


def predict_tile(st, head, readers, sources, w):
    """(p, u, c, n, missing) of pixel window w: probability and uncertainty (h, w), contributions
    (len(sources), h, w) or None, the number of layers with data (h, w; 0 outside the valid mask) and per
    layer of the stack the valid cells it has no data on (a cell short of a layer is predicted from the others).

    readers: EmbeddingReader per left-out source (None = all sources); NaN outside the valid mask.
    """
    valid = st.read_valid(w)
    bands = st.read(w)
    present = st.read_presence(data=bands) & valid
    n = present.sum(0).astype(np.uint8)
    missing = (valid[None] & ~present).reshape(len(present), -1).sum(1)
    if head.reads_bands:
        return (*_evidence_tile(st, head, readers.get(None), sources, w, valid, bands), n, missing)
    members = _member_maps(head, readers[None], w)
    p, u = members.mean(0), members.std(0)
    h, ww = p.shape
    p[~valid], u[~valid] = np.nan, np.nan
    c = np.empty((len(sources), h, ww), np.float32) if sources else None
    for i, s in enumerate(sources):
        ps = _member_maps(head, readers[s], w).mean(0)
        c[i] = p - np.where(np.isfinite(ps), ps, 0.0)  # without the source nothing is seen: all of p is its doing
        c[i][~valid] = np.nan
    return p, u, c, n, missing


def _evidence_tile(st, head, reader, sources, w, valid, bands):
    """predict_tile for a head on the bands: the valid pixels' features, the members, and per source
    the probability with that source's bands blanked (read as missing: mean value, class weight 0)."""
    c_, h, ww = bands.shape
    idx = np.flatnonzero(valid.ravel())
    order = np.arange(c_) if head.band_order is None else np.asarray(head.band_order)
    b = bands.reshape(c_, -1)[:, idx].T[:, order]
    for j, (here, known) in head.class_remap.items():
        b[:, j] = lookup(b[:, j], here, known, missing=np.nan)
    e = None
    if head.reads_embedding:
        f = reader.pixel_features(w)
        e = f.reshape(f.shape[0], -1)[:, idx].T

    def probs(bb):
        return head.member_probs_from(bb, e)

    def to_map(v):
        out = np.full(h * ww, np.nan, np.float32)
        out[idx] = v
        return out.reshape(h, ww)

    m = probs(b) if len(idx) else np.zeros((len(head.members), 0), np.float32)
    p, u = to_map(head.weighted_mean(m)), to_map(m.std(0))
    c = np.empty((len(sources), h, ww), np.float32) if sources else None
    for i, s in enumerate(sources):
        cols = [j for j, i in enumerate(order) if st.bands[i]["source"] == s]
        bb = b.copy()
        bb[:, cols] = np.nan
        c[i] = p - to_map(head.weighted_mean(probs(bb)) if len(idx) else np.zeros(0, np.float32))
    return p, u, c


def _linear_members(head):
    """(weights (D, M), bias (M,)) of a head whose members are all linear, on raw features (the
    head's standardisation folded in); None for MLP members."""
    if any("W2" in m for m in head.members):
        return None
    mean, std = head.mean.astype(np.float64), head.std.astype(np.float64)
    w = np.stack([m["W1"][:, 0].astype(np.float64) for m in head.members], 1)  # (D, M)
    b = np.array([float(m["b1"][0]) for m in head.members])
    return (w / std[:, None]).astype(np.float32), (b - (mean / std) @ w).astype(np.float32)


def _member_maps(head, reader, w):
    """(M, h, w) probability of every member over pixel window w; NaN where there are no features.

    Linear members are applied at patch resolution before upsampling (EmbeddingReader.
    pixel_projection: M maps upsampled instead of D); others on the upsampled features."""
    lin = _linear_members(head)  # a few hundred numbers: cheaper to fold per tile than to cache
    if lin is None:
        f = reader.pixel_features(w)
        d, h, ww = f.shape
        return head.member_probs(f.reshape(d, -1).T).reshape(-1, h, ww)
    logit = reader.pixel_projection(w, *lin)
    with np.errstate(invalid="ignore", over="ignore"):
        return (1.0 / (1.0 + np.exp(-np.clip(logit, -40, 40)))).astype(np.float32)


def _write_prediction(outs, w, result):
    p, u, c, n, _ = result
    outs["prospectivity"].write(p, 1, window=w)
    outs["uncertainty"].write(u, 1, window=w)
    outs["coverage"].write(n, 1, window=w)
    if c is not None:
        outs["contributions"].write(c, window=w)


class _Stats:
    """Valid pixels, mean and max probability, summed in tile order whatever order the tiles finish in."""

    def __init__(self, n, layers=()):
        self.parts = [(0, 0.0, 0.0)] * n
        self.layers = list(layers)
        self.missing = np.zeros(len(self.layers), np.int64)
        self.short = 0

    def add(self, k, result):
        p, n = result[0], result[3]
        ok = np.isfinite(p)
        self.parts[k] = (int(ok.sum()), float(p[ok].sum()), float(p[ok].max()) if ok.any() else 0.0)
        self.missing += np.asarray(result[4], np.int64)
        self.short += int(((n > 0) & (n < len(self.layers))).sum())

    def summary(self):
        n_valid, psum, pmax = 0, 0.0, 0.0
        for n, s, m in self.parts:
            n_valid, psum, pmax = n_valid + n, psum + s, max(pmax, m)
        return {"valid_pixels": n_valid, "mean_probability": psum / max(1, n_valid), "max_probability": pmax,
                "pixels_missing_layers": self.short,
                "missing_per_layer": {name: int(m) for name, m in zip(self.layers, self.missing) if m}}


def _predict_tiles(st, head, readers, sources, outs, tiles, steps):
    stats = _Stats(len(tiles), [name for name, _ in st.layers])
    for k, t in enumerate(tiles):
        result = predict_tile(st, head, readers, sources, t.core)
        _write_prediction(outs, t.core, result)
        stats.add(k, result)
        steps.report((k + 1) / len(tiles))
    return stats.summary()


def _predict_tiles_distributed(stack_dir, head, paths, sources, outs, tiles, scheduler, workers, steps):
    """The tiles on Dask workers (the head's few weights travel with each task); this process writes."""
    import contextlib

    from ..core.distributed import describe, map_tiles

    steps.info(f"Applying the head to {len(tiles)} tiles on {describe(scheduler, workers)}")
    order = {id(t): k for k, t in enumerate(tiles)}
    with Stack(stack_dir) as st:
        stats = _Stats(len(tiles), [name for name, _ in st.layers])
    task = functools.partial(_predict_tile_task, os.path.abspath(stack_dir),
                             {k: os.path.abspath(p) for k, p in paths.items()}, head, list(sources))
    fb = steps.child_feedback(0.0, 1.0)
    with contextlib.closing(map_tiles(task, tiles, scheduler, workers, feedback=fb)) as results:
        for t, result in results:
            _write_prediction(outs, t.core, result)
            stats.add(order[id(t)], result)
    return stats.summary()


def _predict_tile_task(stack_dir, paths, head, sources, t):
    """On a Dask worker: predict_tile of tile t; the stack and the embeddings stay open per worker thread."""
    from ..core.distributed import worker_cached
    from ..data.reader import cached_stack

    st = cached_stack(stack_dir)
    readers = {k: worker_cached(("embedding", p), functools.partial(EmbeddingReader, p, st.grid), files=(p,))
               for k, p in paths.items()}
    return predict_tile(st, head, readers, sources, t.core)
