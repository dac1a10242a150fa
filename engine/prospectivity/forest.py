"""Tree members of the head: a random forest on the raw bands, split into sub-forests, kept as plain arrays.

Why trees beside the linear members: with many deposits (Cloncurry's 258) the evidence acts through
thresholds and interactions (close to a breccia *and* in a reactive unit) that a linear head cannot
draw; averaging both families beats either alone on the skill benchmark (bench/SKILL.md). Why
sub-forests: each is one member of the ensemble, so the members' spread stays the uncertainty.
Why arrays: a head is a file users exchange; it is stored as safetensors (no pickle) and the
scikit-learn trees are rebuilt from their node arrays on load, which predicts exactly as before.
"""

import numpy as np

FIELDS = ("left_child", "right_child", "feature", "threshold", "missing_go_to_left")


def fit_forest(x, y, n_trees, members, seed=0, min_samples_leaf=3):
    """List of `members` sub-forests (lists of sklearn Tree) trained on x (n, C) with NaN allowed."""
    from sklearn.ensemble import RandomForestClassifier

    rf = RandomForestClassifier(n_estimators=n_trees, min_samples_leaf=min_samples_leaf, class_weight="balanced",
                                max_features="sqrt", n_jobs=-1, random_state=seed).fit(np.asarray(x, np.float32), y)
    trees = [e.tree_ for e in rf.estimators_]
    return [trees[i::members] for i in range(members)], x.shape[1]


def forest_probs(forest, x):
    """(members, n) probability of each sub-forest."""
    x = np.ascontiguousarray(x, np.float32)
    return np.stack([np.mean([t.predict(x)[:, 1] for t in sub], 0) for sub in forest]).astype(np.float32)


def to_tensors(forest, n_features, prefix="forest."):
    t = {f"{prefix}shape": np.array([len(forest), n_features], np.int64)}
    for i, sub in enumerate(forest):
        for j, tree in enumerate(sub):
            p = f"{prefix}{i}.{j}."
            t[p + "left_child"] = tree.children_left.astype(np.int32)
            t[p + "right_child"] = tree.children_right.astype(np.int32)
            t[p + "feature"] = tree.feature.astype(np.int32)
            t[p + "threshold"] = tree.threshold.astype(np.float64)
            t[p + "missing_go_to_left"] = tree.missing_go_to_left.astype(np.uint8)
            t[p + "p1"] = tree.value[:, 0, 1].astype(np.float64)
            t[p + "max_depth"] = np.array([tree.max_depth], np.int64)
    return t


def from_tensors(t, prefix="forest."):
    """(forest, n_features) rebuilt from to_tensors' arrays, or (None, 0) when the head has no trees."""
    if f"{prefix}shape" not in t:
        return None, 0
    from sklearn.tree._tree import NODE_DTYPE, Tree

    members, n_features = (int(v) for v in t[f"{prefix}shape"])
    forest = []
    for i in range(members):
        sub, j = [], 0
        while f"{prefix}{i}.{j}.p1" in t:
            p = f"{prefix}{i}.{j}."
            n = len(t[p + "p1"])
            nodes = np.zeros(n, dtype=NODE_DTYPE)
            for f in FIELDS:
                nodes[f] = t[p + f]
            p1 = t[p + "p1"].astype(np.float64)
            values = np.ascontiguousarray(np.stack([1.0 - p1, p1], 1)[:, None, :])
            tree = Tree(n_features, np.array([2], dtype=np.intp), 1)
            tree.__setstate__({"max_depth": int(t[p + "max_depth"][0]), "node_count": n, "nodes": nodes,
                               "values": values})
            sub.append(tree)
            j += 1
        forest.append(sub)
    return forest, n_features
