"""The figures a prospectivity map is judged by, from scores at the deposits and over the area.

The head's cross-validation (engine.prospectivity.assess) scores every valid cell out-of-fold (cell_curves);
validate_map judges a finished map over the whole raster; curves takes deposit scores against a
background sample (PR-AUC then depends on the sample size and is reported with its positive
rate). Ties are scored fairly throughout. The figures a prospectivity user reads:
- ROC-AUC and PR-AUC (scikit-learn);
- the success-rate curve: fraction of deposits captured against the fraction of the area
  flagged, and the area under it;
- the prediction-area (P-A) plot: prediction rate and flagged area against the score
  threshold; where the prediction rate equals 100 % minus the area is the usual operating point.
"""

import json
import os

import numpy as np

from ..core.atomic import atomic_path, check_output_path
from ..core.progress import Steps


def area_above(score_pos, sorted_area):
    """(share of the area scoring strictly above each deposit, share tied with it); sorted_area: the
    area's scores in ascending order.

    Why both: a map with many tied scores (classes, a clipped ramp) must not be credited or
    blamed for how a sort happens to order its ties; a tied block is entered in a fair random
    order, so a deposit inside it is captured in proportion to how much of the block is flagged."""
    sa = sorted_area
    sp = np.asarray(score_pos, float)
    lo = np.searchsorted(sa, sp, side="left")
    hi = np.searchsorted(sa, sp, side="right")
    return (len(sa) - hi) / len(sa), (hi - lo) / len(sa)


def captured_at(area, above, tied):
    """Tie-fair share of deposits captured when the top `area` (0-1) of the map is flagged."""
    with np.errstate(invalid="ignore", divide="ignore"):
        part = np.where(tied > 0, (area - above) / np.where(tied > 0, tied, 1), (area > above).astype(float))
    return float(np.mean(np.clip(part, 0.0, 1.0)))


def _area_curves(sp, sa, roc_auc, pr_auc, positive_rate):
    """The success-rate and P-A figures shared by sample-based and all-cell scoring."""
    sa = np.sort(sa)
    above, tied = area_above(sp, sa)
    # one step per deposit, at the middle of its tied block (plots rebuild ROC and PR from these steps)
    area = np.r_[0.0, np.sort(above + tied / 2.0), 1.0]
    captured = np.r_[0.0, np.arange(1, len(sp) + 1) / len(sp), 1.0]
    thr = np.unique(np.quantile(np.r_[sp, sa], np.linspace(0, 1, 201)))
    pred_rate = np.array([(sp >= t).mean() for t in thr])
    area_rate = 1.0 - np.searchsorted(sa, thr, side="left") / len(sa)
    i = int(np.argmin(np.abs(pred_rate - (1.0 - area_rate))))
    return {
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "positive_rate": positive_rate,
        "success_rate_auc": float(np.mean(1.0 - above - tied / 2.0)),  # = ROC-AUC against the area, ties halved
        "success_rate_curve": {"area": area.tolist(), "captured": captured.tolist()},
        "pa_curve": {"threshold": thr.tolist(), "prediction_rate": pred_rate.tolist(), "area": area_rate.tolist()},
        "pa_intersection": {"threshold": float(thr[i]), "prediction_rate": float(pred_rate[i]), "area": float(area_rate[i])},
        "captured_at_10pct_area": captured_at(0.10, above, tied),
    }


def curves(score_pos, score_bg):
    """Success-rate and P-A figures from deposit scores and background scores (tie-fair)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    sp, sb = np.asarray(score_pos, float), np.asarray(score_bg, float)
    y = np.r_[np.ones(len(sp)), np.zeros(len(sb))]
    s = np.r_[sp, sb]
    return _area_curves(sp, sb, float(roc_auc_score(y, s)), float(average_precision_score(y, s)),
                        float(len(sp) / len(s)))


def cell_curves(score, label):
    """The same figures when every cell of the map is scored: deposit cells against the whole area."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    s, y = np.asarray(score, float), np.asarray(label).astype(int)
    r = _area_curves(s[y == 1], s, float(roc_auc_score(y, s)), float(average_precision_score(y, s)), float(y.mean()))
    r["cells"] = int(len(y))
    return r


LABELS = {"head": "MPM head", "head_with_embeddings": "head + embeddings", "head_bands_only": "head, bands only",
          "random_forest": "random forest", "weights_of_evidence": "weights of evidence"}


def plot_report(results, path, title=""):
    from ..core.mpl import pyplot

    plt = pyplot()

    fig, ax = plt.subplots(1, 3, figsize=(15, 4.6))
    for m, r in results.items():
        c = r["success_rate_curve"]
        ax[0].plot(np.array(c["area"]) * 100, np.array(c["captured"]) * 100, drawstyle="steps-post",
                   label=f"{LABELS.get(m, m)} (AUC {r['success_rate_auc']:.3f}, ROC {r['roc_auc']:.3f})")
    ax[0].plot([0, 100], [0, 100], "k:", lw=0.8, label="random")
    ax[0].set(xlabel="area flagged (%)", ylabel="deposits captured (%)", title="Success-rate (= ROC vs background), out-of-fold")
    ax[0].legend(fontsize=8, loc="lower right")
    for m, r in results.items():
        ax[1].bar(LABELS.get(m, m), r["pr_auc"])
    ax[1].axhline(next(iter(results.values()))["positive_rate"], color="k", ls=":", lw=0.8, label="chance")
    ax[1].set(ylabel="PR-AUC", title="Precision-recall AUC")
    ax[1].legend(fontsize=8)
    r = results.get("head") or next(iter(results.values()))
    pa = r["pa_curve"]
    ax[2].plot(pa["threshold"], np.array(pa["prediction_rate"]) * 100, label="prediction rate (deposits %)")
    ax2 = ax[2].twinx()
    ax2.plot(pa["threshold"], np.array(pa["area"]) * 100, color="tab:red", label="area (%)")
    ax2.invert_yaxis()
    ax2.set_ylabel("area flagged (%)", color="tab:red")
    pi = r["pa_intersection"]
    ax[2].axvline(pi["threshold"], color="k", ls="--", lw=0.8)
    ax[2].set(xlabel="score threshold", ylabel="deposits captured (%)",
              title=f"P-A plot ({LABELS.get('head')}): {pi['prediction_rate'] * 100:.0f}% in {pi['area'] * 100:.0f}% area")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


MAX_BACKGROUND = 2_000_000  # pixels kept for the curves; beyond it a fixed-seed uniform sample (bounded memory)


def validate_map(raster, deposits, out_dir, band=1, higher_is_better=True, name=None, overwrite=False,
                 feedback=None, tile=1024, seed=0, max_background=MAX_BACKGROUND):
    """Validate any prospectivity map (ours or another tool's) against known deposit points.

    Why: the head's cross-validation scores samples; a geologist also needs to judge a finished map,
    or compare maps, with the same curves. Every valid pixel is "the area" (streamed by windows;
    more than max_background are uniformly sub-sampled with a fixed seed); each deposit is scored at
    its pixel. Writes validation.json (same format as a head's, so the plots panel reads it) and
    validation.png into out_dir; returns the report dict.
    """
    import rasterio
    from rasterio.windows import Window

    from ..core.errors import InputError
    from ..data.labels import deposit_cells
    from ..data.sources import check_complete

    steps = Steps(feedback)
    check_output_path(out_dir, overwrite, "validation folder", inputs=(raster, deposits))
    label = name or os.path.splitext(os.path.basename(str(raster)))[0]
    try:
        src = rasterio.open(raster)
    except Exception as exc:  # noqa: BLE001 (rasterio raises several types)
        raise InputError(f"cannot be opened as a raster ({exc})", layer=str(raster),
                         fix="give the prospectivity GeoTIFF (e.g. prediction/prospectivity.tif)") from None
    with src:
        check_complete(src, str(raster))  # a truncated map is named, not a 'Read failed' traceback
        if not 1 <= band <= src.count:
            raise InputError(f"has {src.count} band(s); band {band} was asked for", layer=str(raster),
                             fix=f"choose a band from 1 to {src.count}")
        if src.crs is None:
            raise InputError("has no CRS", layer=str(raster), fix="assign the raster's CRS in QGIS or with gdal_edit.py -a_srs")
        xy, names, rows, cols, inside = deposit_cells(deposits, src.crs.to_string(), src.transform, src.shape)
        nodata = src.nodatavals[band - 1]

        def valid(a):
            ok = np.isfinite(a)
            return ok & (a != nodata) if nodata is not None and np.isfinite(nodata) else ok

        score_pos, kept, dropped = [], [], []
        for i in range(len(xy)):
            nm = names[i]
            if not inside[i]:
                dropped.append((nm, "outside the map"))
                continue
            v = src.read(band, window=Window(int(cols[i]), int(rows[i]), 1, 1)).astype(float)[0, 0]
            if not valid(np.array([v]))[0]:
                dropped.append((nm, "on a nodata pixel"))
                continue
            score_pos.append(v)
            kept.append(nm)
        if not score_pos:
            raise InputError(f"none of the {len(xy)} deposits falls on a valid pixel of the map", layer=str(deposits),
                             fix="check that the deposits and the map cover the same area (CRS, extent)")
        total = src.width * src.height
        keep_p = min(1.0, max_background / total)
        rng = np.random.default_rng(seed)
        bg, n_valid = [], 0
        windows = [Window(c, r, min(tile, src.width - c), min(tile, src.height - r))
                   for r in range(0, src.height, tile) for c in range(0, src.width, tile)]
        for k, w in enumerate(windows):
            a = src.read(band, window=w).astype(float)
            v = a[valid(a)]
            n_valid += v.size
            bg.append(v if keep_p >= 1 else v[rng.random(v.size) < keep_p])
            steps.report((k + 1) / len(windows), None)
    bg = np.concatenate(bg) if bg else np.zeros(0)
    if bg.size == 0:
        raise InputError("has no valid pixels", layer=str(raster), fix="check its nodata value")
    sign = 1.0 if higher_is_better else -1.0
    r = curves(sign * np.asarray(score_pos), sign * bg)
    r["deposit_scores"] = dict(zip(kept, map(float, score_pos)))
    meta = {"map": os.path.abspath(str(raster)), "band": band, "deposits_file": os.path.abspath(str(deposits)),
            "deposits": len(kept), "dropped": [{"name": n, "why": why} for n, why in dropped],
            "background": int(bg.size), "valid_pixels": int(n_valid),
            "background_is": "every valid pixel" if keep_p >= 1 else f"a uniform sample of {bg.size} of {n_valid} valid pixels",
            "higher_is_better": bool(higher_is_better), "title": f"{label} against {len(kept)} deposits (whole map)"}
    with atomic_path(out_dir, overwrite=overwrite, directory=True, what="validation folder", checked=True) as tmp:
        with open(os.path.join(tmp, "validation.json"), "w") as f:
            json.dump({"meta": meta, "methods": {label: r}}, f, indent=1)
        plot_report({label: r}, os.path.join(tmp, "validation.png"), title=meta["title"])
    for nm, why in dropped:
        steps.info(f"deposit {nm} left out: {why}")
    steps.info(f"{label}: ROC-AUC {r['roc_auc']:.3f}, success-rate AUC {r['success_rate_auc']:.3f}, "
               f"{r['captured_at_10pct_area']:.0%} of {len(kept)} deposits in the top 10 % of the area")
    return {"meta": meta, "methods": {label: r}, "out_dir": out_dir}
