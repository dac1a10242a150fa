"""A predicted mask becomes a vector feature in the raster's CRS.

Faults, lineaments and contacts are lines on a map, so their masks become centre lines (skeleton,
spurs pruned, branches chained through crossings); intrusions and alteration zones are bodies, so
their masks become polygons with their holes. Both are QGIS-free (numpy, rasterio, shapely, skimage).
"""

import math

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon, shape

from ..core.errors import InputError

FEATURE_TYPES = ("fault", "lineament", "contact", "intrusion", "alteration")
GEOMETRY_OF = {"fault": "line", "lineament": "line", "contact": "line",
               "intrusion": "polygon", "alteration": "polygon"}

# 8-neighbour offsets (drow, dcol); the first four are the 4-neighbours.
_ORTHO = ((-1, 0), (1, 0), (0, -1), (0, 1))
_DIAG = ((-1, -1), (-1, 1), (1, -1), (1, 1))
_SPLIT = 1.0 / math.tan(math.radians(15.0))  # bridge length / width of a 30-degree crossing


def _check_mask(mask):
    arr = np.asarray(mask)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise InputError(f"the mask must be a 2-D array (rows, cols), got shape {arr.shape}",
                         fix="pass one mask at a time")
    return arr.astype(bool)


def _check_transform(transform):
    if not all(hasattr(transform, k) for k in "abcdef"):
        raise InputError("the transform must be an affine.Affine (the raster's pixel-to-map transform)",
                         fix="pass the rasterio dataset's .transform")
    return transform


def _to_map(transform, cols, rows):
    """Pixel-centre (or pixel-edge) coordinates to map x, y; vectorised Affine."""
    t = transform
    x = t.a * cols + t.b * rows + t.c
    y = t.d * cols + t.e * rows + t.f
    return x, y


def _pixel_size(transform):
    return math.sqrt(abs(transform.a * transform.e - transform.b * transform.d))


# ------------------------------------------------------------------------------------- polygons

def _polygon_parts(geom):
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    if hasattr(geom, "geoms"):  # GeometryCollection from make_valid: keep the areal parts
        return [p for g in geom.geoms for p in _polygon_parts(g)]
    return []


def mask_to_polygons(mask, transform, tolerance=0.0, min_area=0.0):
    """Polygons tracing the mask's pixel edges exactly (holes kept), largest first.

    Why pixel edges: the mask is what the model predicted; its area is the pixels' area, so the
    polygon reports the same figure the user sees on the grid. `tolerance` (map units) simplifies
    with topology preserved, and anything the simplifier breaks is repaired, so every output is
    valid. Parts under `min_area` (map units squared) are dropped: isolated specks are noise.
    """
    from rasterio import features

    arr = _check_mask(mask)
    transform = _check_transform(transform)
    if not arr.any():
        return []
    parts = []
    # 4-connectivity: a diagonal pixel touch would make a self-touching (invalid) ring.
    for geom, value in features.shapes(arr.astype(np.uint8), mask=arr, connectivity=4,
                                       transform=transform):
        if value != 1:
            continue
        poly = shape(geom)
        if tolerance and tolerance > 0:
            poly = poly.simplify(float(tolerance), preserve_topology=True)
        if not poly.is_valid:
            poly = shapely.make_valid(poly)
        parts.extend(p for p in _polygon_parts(poly) if p.area > 0)
    parts = [p for p in parts if p.area >= float(min_area)]
    parts.sort(key=lambda p: p.area, reverse=True)
    return parts


# ---------------------------------------------------------------------------------- centre lines

class _Skeleton:
    """The 8-neighbour pixel graph of a skeleton, with staircase shortcuts removed.

    Why remove them: where a skeleton steps diagonally through an L of three pixels, every pixel
    touches the other two, which would read as a junction. A diagonal edge is dropped when the two
    pixels are also joined through a shared 4-neighbour, so a thin path has degree 2 throughout.
    """

    def __init__(self, pixels):
        self.pixels = set(pixels)
        self.adj = {p: set() for p in self.pixels}
        px = self.pixels
        for (r, c) in px:
            for dr, dc in _ORTHO:
                q = (r + dr, c + dc)
                if q in px:
                    self.adj[(r, c)].add(q)
            for dr, dc in _DIAG:
                q = (r + dr, c + dc)
                if q in px and (r + dr, c) not in px and (r, c + dc) not in px:
                    self.adj[(r, c)].add(q)

    def junction_clusters(self):
        """Adjacent junction pixels (degree >= 3) grouped: one crossing, one node."""
        junction = {p for p, n in self.adj.items() if len(n) >= 3}
        label = {}
        clusters = []
        for p in junction:
            if p in label:
                continue
            k = len(clusters)
            stack, members = [p], []
            label[p] = k
            while stack:
                q = stack.pop()
                members.append(q)
                for n in self.adj[q]:
                    if n in junction and n not in label:
                        label[n] = k
                        stack.append(n)
            clusters.append(members)
        return label, clusters

    def branches(self, jlabel):
        """Pixel paths between terminals (end pixels, junction pixels), and pure loops.

        Returns (branches, loops): a branch is a list of pixels from one terminal to another,
        both included; a loop is a list of pixels of a junction-free cycle.
        """
        adj = self.adj

        def terminal(p):
            return len(adj[p]) != 2

        seen_edges = set()
        branches = []
        for t in self.pixels:
            if not terminal(t):
                continue
            for n in adj[t]:
                if frozenset((t, n)) in seen_edges:
                    continue
                if t in jlabel and n in jlabel and jlabel[t] == jlabel[n]:
                    continue  # inside one junction cluster
                path = [t, n]
                seen_edges.add(frozenset((t, n)))
                prev, cur = t, n
                while not terminal(cur):
                    a, b = adj[cur]
                    nxt = b if a == prev else a
                    seen_edges.add(frozenset((cur, nxt)))
                    path.append(nxt)
                    prev, cur = cur, nxt
                branches.append(path)
        on_branch = {p for b in branches for p in b}
        loops = []
        for p in self.pixels:
            if p in on_branch or terminal(p):
                continue
            loop = [p]
            on_branch.add(p)
            prev, cur = p, next(iter(adj[p]))
            while cur != p:
                loop.append(cur)
                on_branch.add(cur)
                a, b = adj[cur]
                prev, cur = cur, (b if a == prev else a)
            loops.append(loop)
        return branches, loops


def _path_length(path):
    a = np.asarray(path, dtype=float)
    if len(a) < 2:
        return 0.0
    return float(np.hypot(*np.diff(a, axis=0).T).sum())


def _prune(pixels, radius, min_branch):
    """Remove side branches that stick out of the body by fewer than `min_branch` pixels.

    Why measured beyond the body: the skeleton of a ragged edge grows spurs about as long as the
    body is wide, so a spur's length minus the inscribed radius at its junction (`radius`, centre
    to pixel edge) is about how far it really protrudes. At a junction with a longer arm every
    spur goes; where
    all arms are spurs the two longest stay, so a lone segment or a short Y is never pruned away.
    """
    pixels = set(pixels)
    while True:
        sk = _Skeleton(pixels)
        jlabel, clusters = sk.junction_clusters()
        if not clusters:
            return pixels
        branches, _ = sk.branches(jlabel)
        degree = [0] * len(clusters)
        spurs = [[] for _ in clusters]
        for b in branches:
            ends = [jlabel.get(b[0]), jlabel.get(b[-1])]
            for e in ends:
                if e is not None:
                    degree[e] += 1
            if (ends[0] is None) == (ends[1] is None):
                continue  # end-to-end (a lone segment) or junction-to-junction
            j_end = b[0] if ends[0] is not None else b[-1]
            length = _path_length(b)
            protrusion = length - float(radius[j_end])
            if protrusion < min_branch:
                k = ends[0] if ends[0] is not None else ends[1]
                spurs[k].append((length, b, j_end))
        removed = False
        for k, cand in enumerate(spurs):
            cand.sort(key=lambda s: s[0])
            # with a real arm left, every spur goes (the forked end of a thick line); with spurs
            # only, the two longest stay (a short Y becomes one line, not nothing)
            n_drop = len(cand) if degree[k] > len(cand) else max(0, degree[k] - 2)
            for length, b, j_end in cand[:n_drop]:
                for p in b:
                    if p != j_end and p not in jlabel:
                        pixels.discard(p)
                        removed = True
        if not removed:
            return pixels


def _chaikin(pts, iterations, closed):
    """Chaikin corner cutting: the pixel staircase becomes a smooth curve; open ends stay put."""
    pts = np.asarray(pts, dtype=float)
    for _ in range(int(iterations)):
        if closed:
            if len(pts) < 3:
                break
            nxt = np.roll(pts, -1, axis=0)
            q = 0.75 * pts + 0.25 * nxt
            r = 0.25 * pts + 0.75 * nxt
            pts = np.empty((2 * len(q), 2))
            pts[0::2], pts[1::2] = q, r
        else:
            if len(pts) < 3:
                break
            a, b = pts[:-1], pts[1:]
            q = 0.75 * a + 0.25 * b
            r = 0.25 * a + 0.75 * b
            mid = np.empty((2 * len(q), 2))
            mid[0::2], mid[1::2] = q, r
            pts = np.vstack([pts[:1], mid[1:-1], pts[-1:]])
    return pts


def _direction(node_xy, path, reach=8):
    """Unit vector leaving a node along a branch, averaged over `reach` pixels (skeletons wiggle)."""
    a = np.asarray(path[:reach + 1], dtype=float)
    v = a[-1] - node_xy
    if np.hypot(*v) < 1e-9:
        v = a[-1] - a[0]
    n = np.hypot(*v)
    return v / n if n > 0 else v


def _chain(branches, jlabel, clusters, radius, min_branch):
    """Join branches through junctions by the straightest continuation.

    Why: a fault crossed by a short spur, or two faults crossing, should come out as whole lines,
    not as four pieces meeting at a point. The skeleton splits a crossing at angle t into two
    junctions joined by a bridge about width / tan(t / 2) long; junctions joined by a bridge under
    width / tan(15 deg) (crossings of 30 degrees or more) are one node first. At each node, arm
    pairs are matched greedily from the straightest (deflection under 90 degrees); unmatched arms
    end there, and a node with only two arms always joins them (a ring closing on itself).
    Returns a list of (pixel list, closed flag).
    """
    # union-find over junction clusters, merging those joined by a short bridge
    parent = list(range(len(clusters)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    kept = []
    for b in branches:
        a, z = jlabel.get(b[0]), jlabel.get(b[-1])
        if a is not None and z is not None and a != z:
            bridge = max(min_branch, (float(radius[b[0]]) + float(radius[b[-1]])) * _SPLIT)
            if _path_length(b) < bridge and find(a) != find(z):
                parent[find(a)] = find(z)
                continue
        kept.append(b)
    # arms at each node: (branch index, which end 0|1)
    arms = {}
    for i, b in enumerate(kept):
        for end, p in ((0, b[0]), (1, b[-1])):
            if p in jlabel:
                arms.setdefault(find(jlabel[p]), []).append((i, end))
    node_pixels = {}
    for k, members in enumerate(clusters):
        node_pixels.setdefault(find(k), []).extend(members)
    link = {}  # (branch, end) -> (branch, end)
    for node, node_arms in arms.items():
        centre = np.mean(np.asarray(node_pixels[node], dtype=float), axis=0)
        dirs = []
        for i, end in node_arms:
            path = kept[i] if end == 0 else kept[i][::-1]
            dirs.append(_direction(centre, path))
        if len(node_arms) == 2:  # not a real choice (a ring closing, or a bend after pruning)
            link[node_arms[0]], link[node_arms[1]] = node_arms[1], node_arms[0]
            continue
        pairs = []
        for u in range(len(node_arms)):
            for v in range(u + 1, len(node_arms)):
                straight = -float(np.dot(dirs[u], dirs[v]))  # 1 = dead straight on
                pairs.append((straight, u, v))
        pairs.sort(reverse=True)
        used = set()
        for straight, u, v in pairs:
            if straight <= 0.0 or u in used or v in used:
                continue
            used.update((u, v))
            link[node_arms[u]] = node_arms[v]
            link[node_arms[v]] = node_arms[u]

    lines = []
    visited = set()

    def walk(i, start_end):
        """Follow branch i entering at start_end; return the pixel chain and whether it closed."""
        chain = []
        first = (i, start_end)
        cur, end = i, start_end
        while True:
            visited.add(cur)
            path = kept[cur] if end == 0 else kept[cur][::-1]
            if chain and chain[-1] == path[0]:
                path = path[1:]
            chain.extend(path)
            out = (cur, 1 - end)
            nxt = link.get(out)
            if nxt is None:
                return chain, False
            if nxt == first:
                return chain, True
            cur, end = nxt
            if cur in visited:
                return chain, False

    for i in range(len(kept)):  # open chains start at a free end
        if i in visited:
            continue
        for end in (0, 1):
            if (i, end) not in link:
                chain, closed = walk(i, end)
                lines.append((chain, closed))
                break
    for i in range(len(kept)):  # what is left is made of closed chains
        if i not in visited:
            chain, closed = walk(i, 0)
            lines.append((chain, closed))
    return lines


def _fill_pinholes(mask, radius, min_branch):
    """Fill holes smaller than a square of the body's width.

    Why: a pinhole in a predicted fault is noise, but the skeleton would loop around it and cut
    the fault into pieces; a ring's real hole is far larger than the ring is wide, so it stays.
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    holes = ndimage.binary_fill_holes(mask) & ~mask
    if not holes.any():
        return mask
    on_axis = radius[skeletonize(mask)]
    width = 2.0 * float(np.median(on_axis)) if on_axis.size else 1.0
    limit = max(min_branch ** 2, width ** 2)
    lab, n = ndimage.label(holes)
    area = np.bincount(lab.ravel(), minlength=n + 1)
    small = area < limit
    small[0] = False
    return mask | small[lab]


def mask_to_centrelines(mask, transform, min_branch=3.0, smooth=2, tolerance=0.0, min_length=0.0):
    """Centre lines of a line-like mask (fault, lineament, contact), longest first.

    Why this chain of steps: the skeleton is the mask's medial axis, but a ragged mask gives it
    spurs and a crossing splits it into pieces. Spurs sticking out fewer than `min_branch` pixels
    beyond the body are pruned; the rest is split at junctions and re-chained by the straightest
    continuation, so a fault crossed by a short stub stays one line and two crossing faults stay
    two. Pinholes (smaller than the body's width squared) are filled first; the skeleton is Lee's
    (symmetric ends, no corner hooks). Chaikin corner cutting (`smooth` passes, ends fixed) removes
    the pixel staircase; coordinates are pixel centres in map units; `tolerance` (map units)
    simplifies; lines shorter than `min_length` (map units) are dropped. A ring comes out as one
    closed LineString.
    """
    from scipy import ndimage
    from skimage.morphology import skeletonize

    arr = _check_mask(mask)
    transform = _check_transform(transform)
    if not arr.any():
        return []
    # a one-pixel empty frame: the grid's edge is the body's edge, for the radius and the skeleton
    padded = np.pad(arr, 1)
    # inscribed radius from each pixel centre to the body's pixel edge
    radius = ndimage.distance_transform_edt(padded) - 0.5
    padded = _fill_pinholes(padded, radius, float(min_branch))
    radius = (ndimage.distance_transform_edt(padded) - 0.5)[1:-1, 1:-1]
    rows, cols = np.nonzero(skeletonize(padded, method="lee")[1:-1, 1:-1])
    pixels = _prune(zip(rows.tolist(), cols.tolist()), radius, float(min_branch))

    sk = _Skeleton(pixels)
    jlabel, clusters = sk.junction_clusters()
    branches, loops = sk.branches(jlabel)
    chains = _chain(branches, jlabel, clusters, radius, float(min_branch))
    chains += [(loop, True) for loop in loops]

    out = []
    for chain, closed in chains:
        if closed and len(chain) > 1 and chain[0] == chain[-1]:
            chain = chain[:-1]
        if len(chain) < 2 or (closed and len(chain) < 3):
            continue
        pts = _chaikin(np.asarray(chain, dtype=float), smooth, closed)  # (row, col)
        x, y = _to_map(transform, pts[:, 1] + 0.5, pts[:, 0] + 0.5)
        xy = np.column_stack([x, y])
        if closed:
            xy = np.vstack([xy, xy[:1]])
        line = LineString(xy)
        if tolerance and tolerance > 0:
            simple = line.simplify(float(tolerance), preserve_topology=True)
            if isinstance(simple, LineString) and not simple.is_empty and \
                    len(simple.coords) >= (4 if closed else 2):
                line = simple
        if line.length <= 0 or line.length < float(min_length):
            continue
        out.append(line)
    out.sort(key=lambda g: g.length, reverse=True)
    return out


def pixel_size(transform):
    """The side of one pixel of `transform` in map units (the default simplification of a traced line)."""
    return _pixel_size(_check_transform(transform))


def path_to_line(path, transform, tolerance=0.0, min_length=0.0, smooth=2):
    """A traced line (trace.py: (N, 2) row, col pixel centres) as a smooth LineString in map units,
    or None when shorter than `min_length`.

    Why not through the mask: the trace is already the line, in order and without branches; it is
    corner-cut (Chaikin, `smooth` rounds, ends kept) and simplified by `tolerance` (map units).
    """
    transform = _check_transform(transform)
    pts = np.asarray(path, dtype=float).reshape(-1, 2)
    if len(pts) < 2:
        return None
    keep = np.concatenate([[True], np.hypot(*np.diff(pts, axis=0).T) > 1e-9])
    pts = _chaikin(pts[keep], smooth, closed=False)
    if len(pts) < 2:
        return None
    x, y = _to_map(transform, pts[:, 1] + 0.5, pts[:, 0] + 0.5)
    line = LineString(np.column_stack([x, y]))
    if tolerance and tolerance > 0:
        simple = line.simplify(float(tolerance), preserve_topology=False)
        if isinstance(simple, LineString) and len(simple.coords) >= 2 and simple.length > 0:
            line = simple
    if line.length <= 0 or line.length < float(min_length):
        return None
    return line


# ----------------------------------------------------------------------------------- dispatcher

def mask_to_geometry(mask, transform, feature_type, tolerance=0.0, min_size=0.0):
    """One shapely geometry for one predicted feature, or None when the mask is empty.

    Why one geometry: a click produces one feature (one row in the layer); several parts are kept
    together as a Multi* geometry. `min_size` is a length for line types and an area for bodies,
    in map units.
    """
    if feature_type not in GEOMETRY_OF:
        raise InputError(f"unknown feature type '{feature_type}'",
                         fix="use one of: " + ", ".join(FEATURE_TYPES))
    if GEOMETRY_OF[feature_type] == "line":
        parts = mask_to_centrelines(mask, transform, tolerance=tolerance, min_length=min_size)
        multi = MultiLineString
    else:
        parts = mask_to_polygons(mask, transform, tolerance=tolerance, min_area=min_size)
        multi = MultiPolygon
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return multi(parts)
