"""Training and validation samples: deposit pixels, an unlabelled background, spatial folds.

Known deposits are few (often 10-60) and everything else is unlabelled, not barren: this is
positive-unlabelled learning. The background is a seeded random sample of valid pixels; pixels
within `buffer` of a deposit are kept out of it (they may well be mineralised, GFM4MPM style).
Folds are spatial blocks, never random pixels: neighbouring pixels are near-copies of each
other, and a random split would score a model on its own training data.
"""

from dataclasses import dataclass

import numpy as np

from ..core.errors import InputError

MIN_DEPOSITS = 5


@dataclass
class Samples:
    rows: np.ndarray
    cols: np.ndarray
    label: np.ndarray  # 1 = known deposit, 0 = unlabelled background
    names: list  # deposit names for the positives ("" for background)

    @property
    def n_pos(self):
        return int(self.label.sum())

    @property
    def n_background(self):
        return int(len(self.label) - self.label.sum())

    def take(self, idx):
        return Samples(self.rows[idx], self.cols[idx], self.label[idx], [self.names[i] for i in idx])


def deposit_pixels(stack, min_deposits=MIN_DEPOSITS, report=None):
    """Rows, cols, names of the deposits the stack could use; errors say how many are needed.

    report: engine.data.labels.deposit_report of other deposits placed on the stack (default: the stack's own)."""
    dep = report or stack.manifest.get("deposits")
    if not dep:
        raise InputError("the stack has no known deposits", layer="deposits",
                         fix="pass a deposits point layer to finetune (--deposits), or re-run align with one")
    used = [p for p in dep["points"] if p["status"] == "used"]
    if len(used) < min_deposits:
        skipped = [f"{p['name']} ({p['status']})" for p in dep["points"] if p["status"] != "used"]
        more = f"; not usable: {', '.join(skipped)}" if skipped else ""
        raise InputError(f"only {len(used)} deposit(s) fall on valid pixels, at least {min_deposits} are needed to "
                         f"train and validate a head{more}", layer="deposits",
                         fix="add known occurrences of the same deposit type, or enlarge the area of interest")
    return (np.array([p["row"] for p in used]), np.array([p["col"] for p in used]), [p["name"] for p in used])


def background(stack, n, seed=0, exclude=None, buffer_px=0, tile=512):
    """Up to n valid pixels drawn uniformly (fixed seed), tile by tile so memory is bounded.

    exclude: (rows, cols) of pixels to keep `buffer_px` away from (the deposits).
    """
    rng = np.random.default_rng(seed)
    tiles = list(stack.tiles(tile))
    counts = np.array([stack.read_valid(t.core).sum() for t in tiles])
    if counts.sum() == 0:
        raise InputError("the stack has no valid pixel", fix="re-run align with layers that cover the area")
    want = rng.multinomial(min(n, int(counts.sum())), counts / counts.sum())
    ex = None if exclude is None else np.column_stack(exclude)
    rows, cols = [], []
    for t, k in zip(tiles, want):
        if not k:
            continue
        v = stack.read_valid(t.core)
        r, c = np.nonzero(v)
        pick = rng.choice(len(r), size=min(k, len(r)), replace=False)
        r, c = r[pick] + t.core.row_off, c[pick] + t.core.col_off
        if ex is not None and len(ex):
            d = (r[:, None] - ex[None, :, 0]) ** 2 + (c[:, None] - ex[None, :, 1]) ** 2
            keep = d.min(1) > buffer_px ** 2
            r, c = r[keep], c[keep]
        rows.append(r)
        cols.append(c)
    return np.concatenate(rows), np.concatenate(cols)


def build_samples(stack, n_background=20000, buffer_m=2000.0, seed=0, min_deposits=MIN_DEPOSITS):
    """Deposits (label 1) + unlabelled background (label 0) pixels of an aligned stack."""
    pr, pc, names = deposit_pixels(stack, min_deposits)
    buffer_px = int(np.ceil(buffer_m / stack.grid.res))
    br, bc = background(stack, n_background, seed=seed, exclude=(pr, pc), buffer_px=buffer_px)
    return Samples(np.concatenate([pr, br]), np.concatenate([pc, bc]),
                   np.concatenate([np.ones(len(pr), np.int8), np.zeros(len(br), np.int8)]),
                   list(names) + [""] * len(br))


def spatial_folds(samples, k=5, block_px=50, seed=0):
    """Fold index per sample: square blocks of block_px, whole blocks to a fold.

    Blocks holding deposits are dealt round-robin (after a seeded shuffle) so every fold tests
    on some deposits; the other blocks are assigned at random.
    """
    by = samples.rows // block_px
    bx = samples.cols // block_px
    block = by * 1_000_003 + bx
    rng = np.random.default_rng(seed)
    pos_blocks = np.unique(block[samples.label == 1])
    k = int(min(k, len(pos_blocks)))
    if k < 2:
        raise InputError(f"all deposits fall in {len(pos_blocks)} spatial block(s) of {block_px} px; cross-validation "
                         "needs deposits in at least 2 blocks", layer="deposits",
                         fix="use smaller blocks (block size) or more deposits spread over the area")
    fold_of = {}
    for i, b in enumerate(rng.permutation(pos_blocks)):
        fold_of[int(b)] = i % k
    others = np.setdiff1d(np.unique(block), pos_blocks)
    for b, f in zip(others, rng.integers(0, k, size=len(others))):
        fold_of[int(b)] = int(f)
    return np.array([fold_of[int(b)] for b in block]), k
