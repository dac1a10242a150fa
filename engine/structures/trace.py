"""Lines as lines: a click on a fault, lineament or contact is traced along the image's own
valley, ridge or edge, both ways until it fades; two or more clicks are joined by the cheapest path.

Why not the mask decoder: faults and contacts are 1-3 px wide and tens of km long; GeoSAM draws them
as short, branching blobs (centre-line F1 0.30 on the held-out Kolari crops). A geologist tracing on
a magnetic grid follows the linear low, high or gradient the structure makes, so the tracer does
that: multi-scale Hessian valley / ridge and gradient-magnitude responses of the view (computed once
per view, `line_maps`), the channel the click sits on picked by its robust SNR there, then

* one include click: a tracker steps 3 px at a time both ways along the line direction, bending at
  most 30 degrees per step towards the strongest response, until the response over the last
  ~15 px falls below a fraction of the click's own (or it reaches nodata, the view's edge, or an
  exclude click, which cuts the line there);
* two or more include clicks: ordered along their main axis and joined by a minimal-cost path
  (skimage.graph.MCP_Geometric) over cost = ROUTE_FLOOR + 1 / (1 + response)^2
  + GUIDE_WEIGHT (d / GUIDE_PX)^2, d the distance to the smooth curve through the clicks (a quadratic
  spline; a straight line for two). Without that last term a nearly uniform cost has many pixel paths
  of the same length, and the one MCP returns is a staircase that leaves the chord by up to a fifth of
  its length (Kolari tuning crops, 3 clicks: 0.730 routed, 0.751 a straight polyline, 0.765 guided).
  Exclude clicks are walls. The line ends at the outer clicks (tracing on beyond them, `extend=True`,
  lost F1 on the Kolari tuning crops: 0.75 -> 0.65).

The result carries a score (the traced line's mean response mapped to 0..1), so a weak trace says so.
The constants below were tuned on Kolari crops of the training region, never the held-out block
(bench/RESULTS.md, "Tracing lines").
"""

import dataclasses

import numpy as np
from scipy import ndimage

from ..core.errors import InputError
from ..data.derivatives import fill_nearest

CHANNELS = ("valley", "ridge", "edge")
SCALES = (1.5, 3.0)          # px: Gaussian scales of the Hessian / gradient (lines 2-8 px wide)
STEP = 3.0                   # px per tracking step
MAX_TURN = np.radians(30.0)  # most a step may bend
TURNS = np.radians(np.linspace(-30.0, 30.0, 13))
FADE_STEPS = 5               # steps (~15 px) the response is averaged over to decide it faded
FADE_FRACTION = 0.35         # ... below this fraction of the click's response
FADE_FLOOR = 1.0             # ... or below this robust z (background level ~0)
EXCLUDE_RADIUS = 8.0         # px: an exclude click this close to the trace cuts it (clicks land a few px off)
DIRECTION_RADIUS = 4         # px: the line's direction at a click is averaged over this neighbourhood
# px: a click may be moved onto the strongest response this close. 0 (kept where it is): on the Kolari
# tuning crops snapping 3 px moved clicks onto parallel fabric ridges (3-click F1 0.56 against 0.73)
SNAP_RADIUS = 0
RETRY_SNAP_RADIUS = 3        # px: ... unless one click traces nothing from where it is
SCORE_Z = 4.0                # mean robust z of a trace that scores 0.5
STRAIGHT = 0.15              # penalty (x the click's response) of a full MAX_TURN bend: lines run straight
ROUTE_FLOOR = 3.0            # cost of a px on a strong line (z >> 0 adds ~0): near-straight paths between clicks
ROUTE_POWER = 2.0
ROUTE_PX = 192               # clicks further apart are routed on a coarser grid (speed)
ROUTE_CORRIDOR = 0.15        # the path between two clicks stays within 8 px + this x their distance of the chord
INERTIA = 0.85               # weight of the previous heading in the next one
GUIDE_WEIGHT = 1.0           # added cost of a px GUIDE_PX off the smooth curve through the clicks
GUIDE_PX = 5.0


@dataclasses.dataclass
class LineMaps:
    """Per-view responses: z (3, H, W) robust z-scores of valley, ridge, edge; valid (H, W); and, to
    give the line's direction where asked (`angle`), the derivatives per scale and the scale each
    pixel's response came from."""

    z: np.ndarray
    valid: np.ndarray
    derivs: list = None     # per scale: (hrr, hrc, hcc, gr, gc) float32 (H, W)
    scale: np.ndarray = None  # (3, H, W) uint8 index into derivs

    @property
    def shape(self):
        return self.valid.shape

    def angle(self, k, window):
        """Line direction of channel k over `window` (slices): a with (drow, dcol) = (sin a, cos a)."""
        out = np.zeros(self.z[k][window].shape, np.float32)
        for i, (hrr, hrc, hcc, gr, gc) in enumerate(self.derivs):
            a1 = np.pi / 2 - 0.5 * np.arctan2(2 * hrc[window], hrr[window] - hcc[window])  # l1 eigenvector
            along = (a1 + np.pi / 2,                          # valley: runs across the l1 eigenvector
                     a1,                                      # ridge: across the l2 one, normal to l1's
                     np.arctan2(gc[window], -gr[window]))[k]  # edge: normal to the gradient
            sel = self.scale[k][window] == i
            out[sel] = along[sel]
        return out


@dataclasses.dataclass
class Trace:
    """A traced line: path (N, 2) float (row, col) pixel centres, score 0..1, channel, mask (H, W)."""

    path: np.ndarray
    score: float
    channel: str
    mask: np.ndarray


def _gray(image, valid):
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] not in (1, 2, 3):
        raise InputError(f"the image must be (H, W) or (b, H, W), got shape {np.asarray(image).shape}",
                         fix="pass the stretched 0..255 view, bands first")
    gray = arr.mean(axis=0)
    ok = np.isfinite(gray) if valid is None else (np.asarray(valid, bool) & np.isfinite(gray))
    if not ok.any():
        raise InputError("the view holds no valid pixel (all nodata)", fix="pan the map onto the raster")
    # nodata takes the nearest valid value, so its border makes no edge or valley of its own
    return fill_nearest(gray, ok), ok


def _robust_z(r, ok):
    v = r[ok][::7]  # every 7th valid pixel: the same median and MAD, a fraction of the time
    med = float(np.median(v))
    mad = 1.4826 * float(np.median(np.abs(v - med)))
    return ((r - med) / max(mad, 1e-9)).astype(np.float32)


def line_maps(image, valid=None):
    """LineMaps of a stretched view (0..255, (H, W) or (b, H, W)); nodata = ~valid or NaN.

    Hessian eigenvalues (scale-normalised, sigma^2) give valleys (large positive curvature across)
    and ridges (large negative); the gradient magnitude (sigma) gives edges, i.e. contacts and
    offsets. Each is the maximum over SCALES, as a robust z-score over the view's valid pixels, so the
    three compare. The line direction is the Hessian eigenvector of the small eigenvalue, or the
    normal to the gradient.
    """
    gray, ok = _gray(image, valid)
    gray = gray.astype(np.float32)
    H, W = gray.shape
    best = np.full((3, H, W), -np.inf, np.float32)
    scale = np.zeros((3, H, W), np.uint8)
    derivs = []
    for i, s in enumerate(SCALES):
        g = ndimage.gaussian_filter(gray, s)
        gr, gc = np.gradient(g)
        hrr, hrc = np.gradient(gr)
        hcc = np.gradient(gc, axis=1)
        hrr, hrc, hcc = hrr * (s * s), hrc * (s * s), hcc * (s * s)
        half = np.sqrt(((hrr - hcc) / 2) ** 2 + hrc ** 2)
        mean = (hrr + hcc) / 2
        l1, l2 = mean + half, mean - half  # l1 >= l2
        resp = (np.maximum(l1, 0) - 0.5 * np.maximum(l2, 0),   # valley, not a pit
                np.maximum(-l2, 0) - 0.5 * np.maximum(-l1, 0),  # ridge, not a peak
                np.hypot(gr, gc) * s)
        for k in range(3):
            better = resp[k] > best[k]
            best[k][better] = resp[k][better]
            scale[k][better] = i
        derivs.append((hrr, hrc, hcc, gr, gc))
    z = np.stack([_robust_z(best[k], ok) for k in range(3)])
    z[:, ~ok] = -5.0
    return LineMaps(z, ok, derivs, scale)


# ------------------------------------------------------------------------------------ tracking

def _sample(img, rows, cols, outside=-5.0):
    """Bilinear samples of img at float (rows, cols); `outside` beyond the grid. Plain numpy: the
    tracker samples ~40 points per step, where map_coordinates' call overhead would dominate."""
    rows, cols = np.asarray(rows, float), np.asarray(cols, float)
    H, W = img.shape
    inside = (rows >= 0) & (rows <= H - 1) & (cols >= 0) & (cols <= W - 1)
    r, c = np.clip(rows, 0, H - 1), np.clip(cols, 0, W - 1)
    r0, c0 = np.minimum(r.astype(int), H - 2 if H > 1 else 0), np.minimum(c.astype(int), W - 2 if W > 1 else 0)
    fr, fc = r - r0, c - c0
    r1, c1 = np.minimum(r0 + 1, H - 1), np.minimum(c0 + 1, W - 1)
    v = (img[r0, c0] * (1 - fr) * (1 - fc) + img[r0, c1] * (1 - fr) * fc
         + img[r1, c0] * fr * (1 - fc) + img[r1, c1] * fr * fc)
    return np.where(inside, v, outside)


def _snap(maps, k, r, c, radius=SNAP_RADIUS):
    """The strongest pixel of channel k within `radius` of (r, c)."""
    H, W = maps.shape
    r0, r1 = max(0, r - radius), min(H, r + radius + 1)
    c0, c1 = max(0, c - radius), min(W, c + radius + 1)
    win = maps.z[k, r0:r1, c0:c1]
    i = int(np.argmax(win))
    return r0 + i // win.shape[1], c0 + i % win.shape[1]


def _channel_at(maps, clicks, radius=SNAP_RADIUS):
    """The channel (valley, ridge, edge) strongest at the include clicks (best within `radius`)."""
    vals = []
    for k in range(len(maps.z)):
        vals.append(np.mean([maps.z[k][_snap(maps, k, r, c, radius)] for r, c in clicks]))
    return int(np.argmax(vals))


def _direction_at(maps, k, r, c, radius=None):
    """Mean line direction around (r, c) (doubled-angle average, weighted by response): a unit (dr, dc)."""
    H, W = maps.shape
    radius = DIRECTION_RADIUS if radius is None else radius
    sl = (slice(max(0, r - radius), min(H, r + radius + 1)), slice(max(0, c - radius), min(W, c + radius + 1)))
    w = np.maximum(maps.z[k][sl], 0) + 1e-6
    a = maps.angle(k, sl)
    m = np.arctan2((w * np.sin(2 * a)).sum(), (w * np.cos(2 * a)).sum()) / 2
    return np.array([np.sin(m), np.cos(m)])


def _track(maps, k, start, direction, ref, exclude, max_steps=None, avoid=None):
    """Points (row, col) from `start` (excluded) stepping along `direction` until the line fades.

    ref: the response the fading is measured against (the click's). Stops at nodata, the view's
    edge, within EXCLUDE_RADIUS of an exclude click, or when returning onto `avoid` (the other half).
    """
    H, W = maps.shape
    z = maps.z[k]
    stop = max(FADE_FLOOR, FADE_FRACTION * ref)
    p = np.asarray(start, float)
    d = np.asarray(direction, float)
    pts, vals = [], []
    max_steps = max_steps or int(2 * (H + W) / STEP)
    sub = np.array([1.0 / 3, 2.0 / 3, 1.0])[:, None]
    turns = np.asarray(TURNS, float)
    for _ in range(max_steps):
        angs = np.arctan2(d[0], d[1]) + turns
        dirs = np.stack([np.sin(angs), np.cos(angs)], axis=1)            # (T, 2)
        seg = p[None, None, :] + STEP * sub[None] * dirs[:, None, :]     # (T, 3, 2)
        samples = _sample(z, seg[..., 0].ravel(), seg[..., 1].ravel()).reshape(len(TURNS), 3)
        vals_t = samples.mean(1) - STRAIGHT * np.abs(ref) * (TURNS / MAX_TURN) ** 2  # prefer going straight on
        j = int(np.argmax(vals_t))
        q = seg[j, -1]
        if not (0 <= q[0] <= H - 1 and 0 <= q[1] <= W - 1):
            break
        if not maps.valid[int(round(q[0])), int(round(q[1]))]:
            break
        if len(exclude) and np.min(np.hypot(*(exclude - q).T)) <= EXCLUDE_RADIUS:
            break
        if avoid is not None and len(avoid) > 3 and np.min(np.hypot(*(avoid - q).T)) < STEP * 0.9:
            break
        v = float(samples[j, -1])
        pts.append(q)
        vals.append(v)
        if len(vals) >= FADE_STEPS and np.mean(vals[-FADE_STEPS:]) < stop:
            break
        nd = dirs[j]
        d = INERTIA * d + (1 - INERTIA) * nd
        d /= np.hypot(*d)
        p = q
    # the tail below the stop level is where the line had faded already
    n = len(vals)
    while n and vals[n - 1] < stop:
        n -= 1
    return np.asarray(pts[:n], float).reshape(-1, 2)


def _route(maps, k, a, b, exclude, guide=None):
    """Minimal-cost pixel path (row, col) from a to b on channel k, in a corridor along the chord,
    drawn towards `guide` ((N, 2) row, col polyline: the smooth curve through the clicks; None = the chord).

    Clicks far apart are routed on a grid coarsened to keep ~ROUTE_PX cells along the chord (each
    cell its block's strongest response), so a click stays quick in a 1024 px view.
    """
    from skimage.graph import MCP_Geometric
    from skimage.measure import block_reduce

    H, W = maps.shape
    span = float(np.hypot(a[0] - b[0], a[1] - b[1]))
    f = max(1, int(np.ceil(span / ROUTE_PX)))
    pad = int(8 + ROUTE_CORRIDOR * span)
    r0, r1 = max(0, min(a[0], b[0]) - pad), min(H, max(a[0], b[0]) + pad + 1)
    c0, c1 = max(0, min(a[1], b[1]) - pad), min(W, max(a[1], b[1]) + pad + 1)
    z = maps.z[k, r0:r1, c0:c1]
    valid = maps.valid[r0:r1, c0:c1]
    if f > 1:
        z = block_reduce(z, (f, f), np.max, cval=-5.0)
        valid = block_reduce(valid, (f, f), np.any, cval=False)
    cost = 1.0 / (1.0 + np.maximum(z, 0.0)) ** ROUTE_POWER + ROUTE_FLOOR
    cost[~valid] = 50.0
    A = ((a[0] - r0) // f, (a[1] - c0) // f)
    B = ((b[0] - r0) // f, (b[1] - c0) // f)
    # a corridor along the straight line between the clicks: the path may bend, not wander off
    rr, cc = np.ogrid[:cost.shape[0], :cost.shape[1]]
    u = np.array([B[0] - A[0], B[1] - A[1]], float)
    u /= max(np.hypot(*u), 1e-9)
    off_chord = np.abs((rr - A[0]) * u[1] - (cc - A[1]) * u[0])
    if guide is None:
        off_guide = off_chord * f
    else:  # distance (full-resolution px) to the guide curve drawn on this window's grid
        g = (np.asarray(guide, float) - [r0, c0]) / f
        g = g[(g[:, 0] > -1) & (g[:, 0] < cost.shape[0]) & (g[:, 1] > -1) & (g[:, 1] < cost.shape[1])]
        on = _rasterise(g, cost.shape, width=0) if len(g) else np.zeros(cost.shape, bool)
        off_guide = ndimage.distance_transform_edt(~on) * f if on.any() else off_chord * f
    cost += GUIDE_WEIGHT * (off_guide / GUIDE_PX) ** 2
    cost[off_chord > pad / f + 1] = np.inf
    for er, ec in exclude:
        er, ec = (int(er) - r0) // f, (int(ec) - c0) // f
        if 0 <= er < cost.shape[0] and 0 <= ec < cost.shape[1]:
            w = max(1, 2 // f)
            cost[max(0, er - w):er + w + 1, max(0, ec - w):ec + w + 1] = np.inf
    for p in (A, B):  # the clicks themselves are always passable
        if not np.isfinite(cost[p]):
            cost[p] = 1.0
    m = MCP_Geometric(cost, fully_connected=True)
    costs, _ = m.find_costs([A], [B])
    if not np.isfinite(costs[B]):  # walled off by exclude clicks: the straight line
        return _straight(a, b)
    path = np.asarray(m.traceback(B), float) * f + (f - 1) / 2.0 + [r0, c0]
    path[0], path[-1] = a, b
    return path


def _straight(a, b):
    n = int(max(abs(b[0] - a[0]), abs(b[1] - a[1]))) + 1
    return np.stack([np.linspace(a[0], b[0], n), np.linspace(a[1], b[1], n)], axis=1)


def _guide(points):
    """The smooth curve (row, col, ~1 px apart) through ordered points: a quadratic spline over the
    chord length (a straight line through two), what a geologist's line through those clicks looks like."""
    from scipy.interpolate import make_interp_spline

    p = np.asarray(points, float)
    t = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
    keep = np.concatenate([[True], np.diff(t) > 0])
    p, t = p[keep], t[keep]
    if len(p) < 3:
        return _straight(p[0], p[-1]) if len(p) == 2 else p
    return make_interp_spline(t, p, k=2)(np.linspace(0.0, t[-1], int(t[-1]) + 2))


def _order(clicks):
    """Include clicks ordered along their main axis (a line traced through 3 clicks in any order)."""
    c = np.asarray(clicks, float)
    if len(c) < 3:
        return c
    u = np.linalg.svd(c - c.mean(0), full_matrices=False)[2][0]
    return c[np.argsort((c - c.mean(0)) @ u)]


def _end_direction(path, end, reach=10):
    """Unit vector leaving the path at its end (0 = first point, 1 = last), over `reach` px."""
    seg = path if end == 1 else path[::-1]
    cum = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(seg[::-1], axis=0).T))])
    j = int(np.searchsorted(cum, reach))
    far = seg[::-1][min(j, len(seg) - 1)]
    v = seg[-1] - far
    n = np.hypot(*v)
    return v / n if n > 0 else None


def score_of(mean_z):
    """0..1 from the trace's mean robust z: 0.5 at SCORE_Z, near 0 on noise (z ~ 0-1)."""
    return float(1.0 / (1.0 + np.exp(-(mean_z - SCORE_Z) / 1.2)))


def _rasterise(path, shape, width=1):
    """Boolean (H, W): the polyline through `path` (row, col), dilated to `width` px either side
    (drawn in its bounding box only: a view is up to 1024 px a side, a click must stay quick)."""
    from skimage.draw import line

    m = np.zeros(shape, bool)
    p = np.rint(path).astype(int)
    p[:, 0] = np.clip(p[:, 0], 0, shape[0] - 1)
    p[:, 1] = np.clip(p[:, 1], 0, shape[1] - 1)
    r0, c0 = np.maximum(p.min(0) - width - 1, 0)
    r1, c1 = p.max(0) + width + 2
    sub = m[r0:r1, c0:c1]
    q = p - [r0, c0]
    sub[q[0, 0], q[0, 1]] = True
    for (a0, b0), (a1, b1) in zip(q[:-1], q[1:]):
        rr, cc = line(a0, b0, a1, b1)
        sub[rr, cc] = True
    if width:
        sub[...] = ndimage.binary_dilation(sub, iterations=width)
    return m


def trace_line(maps, include, exclude=(), extend=False, box=None):
    """Trace from include clicks (N, 2) x, y pixel coordinates (col, row; pixel centres +0.5);
    exclude clicks cut it; a box (x0, y0, x1, y1 pixels) keeps it inside. Returns a Trace (path in
    row, col)."""
    inc = np.asarray(include, float).reshape(-1, 2)
    exc = np.asarray(exclude, float).reshape(-1, 2)
    if not len(inc):
        raise InputError("tracing a line needs at least one include click on it",
                         fix="click on the fault, lineament or contact itself")
    H, W = maps.shape
    if box is not None:  # outside the box counts as nodata: the tracker stops at its edge
        x0, y0, x1, y1 = np.asarray(box, float).reshape(4)
        inside = np.zeros((H, W), bool)
        inside[max(0, int(np.floor(min(y0, y1)))):int(np.ceil(max(y0, y1))),
               max(0, int(np.floor(min(x0, x1)))):int(np.ceil(max(x0, x1)))] = True
        maps = LineMaps(maps.z, maps.valid & inside, maps.derivs, maps.scale)
    rc = np.stack([np.clip(np.floor(inc[:, 1]), 0, H - 1), np.clip(np.floor(inc[:, 0]), 0, W - 1)], 1).astype(int)
    exc_rc = np.stack([exc[:, 1] - 0.5, exc[:, 0] - 0.5], 1) if len(exc) else np.zeros((0, 2))
    if len(rc) == 1:
        for radius in (SNAP_RADIUS, RETRY_SNAP_RADIUS):  # a click beside the line: look around it once
            k = _channel_at(maps, [tuple(rc[0])], radius)
            r, c = _snap(maps, k, *rc[0], radius)
            ref = float(maps.z[k][r, c])
            d = _direction_at(maps, k, r, c)
            fwd = _track(maps, k, (r, c), d, ref, exc_rc)
            bwd = _track(maps, k, (r, c), -d, ref, exc_rc, avoid=fwd)
            path = np.concatenate([bwd[::-1], [[r, c]], fwd])
            if len(path) >= 3:
                break
    else:
        k = _channel_at(maps, [tuple(p) for p in rc])
        snapped = [_snap(maps, k, r, c) for r, c in rc]
        ref = float(np.mean([maps.z[k][p] for p in snapped]))
        order = _order(snapped)
        guide = _guide(order)
        parts = []
        for a, b in zip(order[:-1], order[1:]):
            seg = _route(maps, k, tuple(int(v) for v in a), tuple(int(v) for v in b), exc_rc, guide)
            parts.append(seg if not parts else seg[1:])
        path = np.concatenate(parts)
        if extend:
            for end in (0, 1):
                d = _end_direction(path, end)
                if d is None:
                    continue
                start = path[-1] if end == 1 else path[0]
                more = _track(maps, k, start, d, ref, exc_rc, avoid=path)
                if len(more):
                    path = np.concatenate([path, more]) if end == 1 else np.concatenate([more[::-1], path])
    vals = _sample(maps.z[k], path[:, 0], path[:, 1])
    return Trace(path, score_of(float(np.mean(vals))), CHANNELS[k] if k < len(CHANNELS) else str(k), _rasterise(path, (H, W)))
