"""Fine-tune a head on the user's deposits, validate it, and map prospectivity over a stack.

The chain: frozen fused embeddings (engine.features, cached) -> positive-unlabelled samples
(engine.samples) -> spatial block cross-validation against random forest and weights of
evidence (engine.validate) -> the final head on all deposits (engine.head) -> windowed maps:
probability, uncertainty (ensemble spread) and per-source contribution.

Contribution of a source = probability with every source - probability with that source left
out of the fusion (the encoders were pretrained to cope with a missing source). Positive: the
source raises the prospectivity here; it is an ablation, so contributions need not sum to p.
"""

import functools
import json
import os

import numpy as np
import rasterio

from .atomic import atomic_path, check_free_space, check_output_path
from .errors import InputError
from .features import DEFAULT_MODEL, EmbeddingReader, embedding_path, model_identity
from .progress import Steps
from .reader import Stack
from .stack import bounded_block_cache


def stack_signature(stack):
    """What a head depends on: each band's source, layer type and kind, in order."""
    return [[b["source"], b["layer_type"], b["kind"]] for b in stack.bands]


def finetune(stack_dir, out_dir, model=None, backend="auto", n_background=20000, buffer_m=2000.0, validate=True,
             folds=5, block_m=10000.0, head_config=None, seed=0, overwrite=False, feedback=None, threads=None):
    """Train (and cross-validate) a head; writes head weights, card and validation report to out_dir.

    threads: CPU threads of the encoders while embedding (None: the library's default)."""
    from .baselines import band_values, categorical_mask
    from .head import HeadConfig, fit_head, save_head
    from .samples import build_samples, spatial_folds
    from .validate import cross_validate, plot_report

    steps = Steps(feedback)
    check_output_path(out_dir, overwrite, "head folder", inputs=(stack_dir, model or DEFAULT_MODEL))
    cfg = head_config or HeadConfig(seed=seed)
    card_path, sha, model_name = model_identity(model)
    with Stack(stack_dir) as st:
        samples = build_samples(st, n_background=n_background, buffer_m=buffer_m, seed=seed)
        steps.info(f"{samples.n_pos} deposits, {samples.n_background} background pixels")
        unused = [f"{p['name']} ({p['status']})" for p in st.manifest["deposits"]["points"] if p["status"] != "used"]
        if unused:
            steps.info(f"Deposits not used (outside the area or on nodata): {', '.join(unused)}")
        emb = embedding_path(stack_dir, card_path, backend=backend, feedback=steps.child_feedback(0.0, 0.6),
                             threads=threads)
        steps.report(0.6, "embedding ready")
        with EmbeddingReader(emb, st.grid) as er:
            x = er.at_pixels(samples.rows, samples.cols)
        ok = np.isfinite(x).all(1)
        bad = [samples.names[i] for i in np.flatnonzero(~ok & (samples.label == 1))]
        if bad:
            raise InputError(f"deposit(s) {', '.join(bad)} lie where the embedding has no data", layer="deposits",
                             fix="check those points lie inside the layers' coverage, or remove them")
        samples, x = samples.take(np.flatnonzero(ok)), x[ok]
        report, meta = None, {}
        if validate:
            fold, k = spatial_folds(samples, folds, max(1, int(round(block_m / st.grid.res))), seed)
            bx = band_values(st, samples.rows, samples.cols)
            report, _ = cross_validate(samples, fold, k, x, bx, categorical_mask(st), cfg,
                                       feedback=steps.child_feedback(0.6, 0.9), seed=seed)
            meta = {"folds": k, "block_m": block_m, "deposits": samples.n_pos,
                    "background": samples.n_background, "buffer_m": buffer_m, "seed": seed,
                    "title": f"{os.path.basename(os.path.abspath(stack_dir))}: spatial {k}-fold CV, "
                             f"{samples.n_pos} deposits, blocks {block_m / 1000:g} km"}
        head = fit_head(x, samples.label, cfg)
        steps.report(0.95, "head trained on all deposits")
        card = {"encoder": {"name": model_name, "sha256": sha},
                "stack_signature": stack_signature(st),
                "sources": st.sources,
                "stack": os.path.abspath(stack_dir),
                "deposits": [n for n, y in zip(samples.names, samples.label) if y == 1],
                "background": samples.n_background, "buffer_m": buffer_m,
                "cv": None if report is None else {m: {k_: r[k_] for k_ in ("roc_auc", "pr_auc", "success_rate_auc",
                                                                          "fold_roc_auc_mean", "pa_intersection")}
                                                   for m, r in report.items()}}
    with atomic_path(out_dir, overwrite=overwrite, directory=True, what="head folder", checked=True) as tmp:
        save_head(head, tmp, card)
        if report is not None:
            with open(os.path.join(tmp, "validation.json"), "w") as f:
                json.dump({"meta": meta, "methods": report}, f, indent=1)
            plot_report(report, os.path.join(tmp, "validation.png"), title=meta["title"])
    steps.report(1.0, f"Head written to {out_dir}")
    return {"head": os.path.abspath(out_dir), "cv": card["cv"], "deposits": len(card["deposits"])}


def _check_head_fits(card, st, sha):
    if card["encoder"]["sha256"] != sha:
        raise InputError(f"this head was trained on encoder '{card['encoder']['name']}' "
                         f"(sha256 {card['encoder']['sha256'][:12]}), not on the model given (sha256 {sha[:12]})",
                         fix="pass the foundation model the head was fine-tuned with (--model)")
    want, have = card["stack_signature"], stack_signature(st)
    if want != have:
        fmt = lambda sig: ", ".join(f"{s}/{t}" for s, t, _ in sig)  # noqa: E731
        raise InputError(f"the stack's layers ({fmt(have)}) differ from those the head was trained on ({fmt(want)})",
                         fix="align the new area with the same source layers, in the same order, as the training stack")


def predict(stack_dir, head_dir, out_dir, model=None, backend="auto", contributions=True, tile=256, overwrite=False,
            feedback=None, scheduler=None, workers=2, threads=None):
    """prospectivity.tif, uncertainty.tif, contributions.tif (one band per source) into out_dir.

    scheduler: None = every tile in this process; "local" = a local Dask cluster of `workers`
    processes; "tcp://host:port" = a running Dask cluster (or a distributed.Client). On a cluster
    the workers compute the embeddings' tiles and apply the head tile by tile; this process
    alone writes the rasters, by window (engine.distributed).
    """
    from .head import load_head

    check_output_path(out_dir, overwrite, "prediction folder", inputs=(stack_dir, head_dir, model or DEFAULT_MODEL))
    head, card = load_head(head_dir)
    card_path, sha, _ = model_identity(model)
    with Stack(stack_dir) as st:
        _check_head_fits(card, st, sha)
    args = (stack_dir, head, card, card_path, out_dir, backend, contributions, tile, overwrite, feedback, threads)
    if scheduler is not None:
        from .distributed import cluster_client, is_client

        if not is_client(scheduler):  # one cluster for every embedding and the head: workers keep their sessions
            with cluster_client(scheduler, workers) as client:
                return _predict(*args, client, workers)
    return _predict(*args, scheduler, workers)


def _predict(stack_dir, head, card, card_path, out_dir, backend, contributions, tile, overwrite, feedback, threads,
             scheduler, workers):
    steps = Steps(feedback)
    with bounded_block_cache(), Stack(stack_dir) as st:  # block cache bounded
        sources = st.sources if contributions and len(st.sources) > 1 else []
        check_free_space(out_dir, st.grid.width * st.grid.height * 4 * (2 + len(sources)), "the prediction rasters")
        n_emb = 1 + len(sources)
        paths = {None: embedding_path(stack_dir, card_path, backend=backend, feedback=steps.child_feedback(0, 0.5 / n_emb),
                                      threads=threads, scheduler=scheduler, workers=workers)}
        for i, s in enumerate(sources):
            paths[s] = embedding_path(stack_dir, card_path, exclude=(s,), backend=backend,
                                      feedback=steps.child_feedback(0.5 * (i + 1) / n_emb, 0.5 * (i + 2) / n_emb),
                                      threads=threads, scheduler=scheduler, workers=workers)
        g = st.grid
        prof = dict(driver="GTiff", width=g.width, height=g.height, dtype="float32", crs=g.rio_crs, transform=g.transform,
                    nodata=np.nan, tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=3)
        readers = {k: EmbeddingReader(p, g) for k, p in paths.items()} if scheduler is None else {}
        tiles = list(st.tiles(tile))
        try:
            with atomic_path(out_dir, overwrite=overwrite, directory=True, what="prediction folder", checked=True) as tmp:
                outs = {"prospectivity": rasterio.open(os.path.join(tmp, "prospectivity.tif"), "w", count=1, **prof),
                        "uncertainty": rasterio.open(os.path.join(tmp, "uncertainty.tif"), "w", count=1, **prof)}
                if sources:
                    outs["contributions"] = rasterio.open(os.path.join(tmp, "contributions.tif"), "w",
                                                          count=len(sources), **prof)
                try:
                    if scheduler is None:
                        stats = _predict_tiles(st, head, readers, sources, outs, tiles, steps.sub(0.5, 1.0))
                    else:
                        stats = _predict_tiles_distributed(stack_dir, head, paths, sources, outs, tiles, scheduler,
                                                           workers, steps.sub(0.5, 1.0))
                    outs["prospectivity"].set_band_description(1, "prospectivity probability")
                    outs["uncertainty"].set_band_description(1, "ensemble standard deviation")
                    for i, s in enumerate(sources):
                        outs["contributions"].set_band_description(i + 1, s)
                finally:
                    for ds in outs.values():
                        ds.close()
                summary = {"head": card["_path"], "encoder": card["encoder"], "sources": sources, **stats,
                           "files": {k: f"{k}.tif" for k in outs}}
                with open(os.path.join(tmp, "predict.json"), "w") as f:
                    json.dump(summary, f, indent=1)
        finally:
            for r in readers.values():
                r.close()
    steps.info(f"Prospectivity written to {out_dir}")
    summary["out_dir"] = os.path.abspath(out_dir)
    return summary


def predict_tile(st, head, readers, sources, w):
    """(p, u, c) of pixel window w: probability and uncertainty (h, w), contributions (len(sources), h, w) or None.

    readers: EmbeddingReader per left-out source (None = all sources); NaN outside the valid mask.
    """
    valid = st.read_valid(w)
    members = _member_maps(head, readers[None], w)
    p, u = members.mean(0), members.std(0)
    h, ww = p.shape
    p[~valid], u[~valid] = np.nan, np.nan
    c = np.empty((len(sources), h, ww), np.float32) if sources else None
    for i, s in enumerate(sources):
        ps = _member_maps(head, readers[s], w).mean(0)
        c[i] = p - np.where(np.isfinite(ps), ps, 0.0)  # without the source nothing is seen: all of p is its doing
        c[i][~valid] = np.nan
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
    p, u, c = result
    outs["prospectivity"].write(p, 1, window=w)
    outs["uncertainty"].write(u, 1, window=w)
    if c is not None:
        outs["contributions"].write(c, window=w)


class _Stats:
    """Valid pixels, mean and max probability, summed in tile order whatever order the tiles finish in."""

    def __init__(self, n):
        self.parts = [(0, 0.0, 0.0)] * n

    def add(self, k, p):
        ok = np.isfinite(p)
        self.parts[k] = (int(ok.sum()), float(p[ok].sum()), float(p[ok].max()) if ok.any() else 0.0)

    def summary(self):
        n_valid, psum, pmax = 0, 0.0, 0.0
        for n, s, m in self.parts:
            n_valid, psum, pmax = n_valid + n, psum + s, max(pmax, m)
        return {"valid_pixels": n_valid, "mean_probability": psum / max(1, n_valid), "max_probability": pmax}


def _predict_tiles(st, head, readers, sources, outs, tiles, steps):
    stats = _Stats(len(tiles))
    for k, t in enumerate(tiles):
        result = predict_tile(st, head, readers, sources, t.core)
        _write_prediction(outs, t.core, result)
        stats.add(k, result[0])
        steps.report((k + 1) / len(tiles))
    return stats.summary()


def _predict_tiles_distributed(stack_dir, head, paths, sources, outs, tiles, scheduler, workers, steps):
    """The tiles on Dask workers (the head's few weights travel with each task); this process writes."""
    import contextlib

    from .distributed import describe, map_tiles

    steps.info(f"Applying the head to {len(tiles)} tiles on {describe(scheduler, workers)}")
    order = {id(t): k for k, t in enumerate(tiles)}
    stats = _Stats(len(tiles))
    task = functools.partial(_predict_tile_task, os.path.abspath(stack_dir),
                             {k: os.path.abspath(p) for k, p in paths.items()}, head, list(sources))
    fb = steps.child_feedback(0.0, 1.0)
    with contextlib.closing(map_tiles(task, tiles, scheduler, workers, feedback=fb)) as results:
        for t, result in results:
            _write_prediction(outs, t.core, result)
            stats.add(order[id(t)], result[0])
    return stats.summary()


def _predict_tile_task(stack_dir, paths, head, sources, t):
    """On a Dask worker: predict_tile of tile t; the stack and the embeddings stay open per worker thread."""
    from .distributed import cached_stack, worker_cached

    st = cached_stack(stack_dir)
    readers = {k: worker_cached(("embedding", p), functools.partial(EmbeddingReader, p, st.grid), files=(p,))
               for k, p in paths.items()}
    return predict_tile(st, head, readers, sources, t.core)
