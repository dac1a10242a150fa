#!/usr/bin/env python3
"""Why the head's members are linear: spatial CV on the Kolari stack at 200 m (5 folds, 10 km
blocks, 4,000 background pixels), the same samples and folds for every variant.

    python bench/bench_head.py [--res 200]
"""

import argparse
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--res", type=float, default=200.0)
    args = ap.parse_args()
    from sklearn.ensemble import RandomForestClassifier

    from engine.classical.baselines import band_values
    from engine.demo import kolari_spec
    from engine.foundation.features import EmbeddingReader, embedding_path
    from engine.prospectivity.head import HeadConfig, fit_head
    from engine.data.reader import Stack
    from engine.prospectivity.samples import build_samples, spatial_folds
    from engine.data.stack import align_stack
    from engine.prospectivity.validate import curves

    work = tempfile.mkdtemp(prefix="mpm_bench_head_")
    os.environ.setdefault("MPM_CACHE_DIR", os.path.join(work, "cache"))
    stack = os.path.join(work, "stack")
    align_stack(kolari_spec(res=args.res), stack)
    with Stack(stack) as st:
        s = build_samples(st, 4000, 2000.0, 0)
        with EmbeddingReader(embedding_path(stack), st.grid) as er:
            x = er.at_pixels(s.rows, s.cols)
        ok = np.isfinite(x).all(1)
        s, x = s.take(np.flatnonzero(ok)), x[ok]
        bands = band_values(st, s.rows, s.cols)
        fold, k = spatial_folds(s, 5, int(round(10000 / st.grid.res)), 0)
    y = s.label.astype(int)

    def rf():
        return RandomForestClassifier(300, min_samples_leaf=2, class_weight="balanced", n_jobs=-1, random_state=0)

    variants = {
        "head, linear members (default)": (x, lambda: HeadConfig()),
        "head, 32-unit MLP members": (x, lambda: HeadConfig(hidden=32, dropout=0.2, weight_decay=1e-3)),
        "random forest on the embeddings": (x, rf),
        "random forest on the bands": (bands, rf),
    }
    print(f"Kolari at {args.res:g} m: {s.n_pos} deposits, {len(y) - s.n_pos} background, spatial {k}-fold CV")
    for name, (feat, make) in variants.items():
        oof = np.zeros(len(y))
        for f in range(k):
            te = fold == f
            m = make()
            if isinstance(m, HeadConfig):
                oof[te] = fit_head(feat[~te], y[~te], m).predict(feat[te])[0]
            else:
                oof[te] = m.fit(feat[~te], y[~te]).predict_proba(feat[te])[:, 1]
        print(f"  {name:<34} ROC-AUC {curves(oof[y == 1], oof[y == 0])['roc_auc']:.3f}")


if __name__ == "__main__":
    main()
