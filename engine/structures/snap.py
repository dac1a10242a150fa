"""Snap a body mask to the image's edges: GeoSAM finds the body, the watershed finds its boundary.

Why: on the Kolari grids GeoSAM recognises an intrusion from one click but draws it too small,
while the classical watershed follows the strongest edge well but leaks or stops short when it
has only the clicks to start from. Seeding the watershed with the model's mask (eroded 1 px, so
a mask that overshoots an edge does not carry it across) joins the two. Chosen on validation
crops outside both held-out sets (bench/RESULTS.md, "Snapping bodies to edges"); background
markers stay those of the baseline (image border or outside the box, exclude clicks), because
limiting the growth to near the model's mask undid the gain on the real bodies.
Only for bodies: a line's mask is a few pixels wide and has no region to fill.
"""

import numpy as np

from ..core.errors import InputError
from .baseline import _bodies, _box_slices, _clicks, _gray_bands, edge_map
from .geometry import GEOMETRY_OF

SEED_EROSION = 1  # px taken off the model's mask before it seeds the watershed


def snaps(feature_type):
    """True for the types whose masks are snapped (bodies: intrusion, alteration)."""
    return GEOMETRY_OF.get(feature_type) == "polygon"


def view_edges(image):
    """The edge map of a stretched view ((H, W) or (3, H, W)): compute it once per view and pass it
    to every `snap_to_edges` call on that view (it is most of a snap's time)."""
    return edge_map(_gray_bands(image))


def snap_to_edges(image, mask, points=None, labels=None, box=None, edges=None):
    """Boolean (H, W): the body `mask` grown or trimmed to the edges of `image` (the stretched
    0..255 view given to the model; (H, W) or (3, H, W)), honouring the same clicks and box.

    An empty `mask` gives the plain watershed from the clicks (`baseline.click_baseline`); exclude
    clicks stay outside, and so does everything more than 2 px outside the box. `edges`: this
    image's `view_edges`, when cached.
    """
    from scipy import ndimage

    bands = _gray_bands(image)
    shape = bands.shape[1:]
    mask = np.asarray(mask, bool)
    if edges is not None and np.shape(edges) != shape:
        raise InputError(f"edge map of shape {np.shape(edges)} does not match the {shape[1]} x {shape[0]} image",
                         fix="compute view_edges() on the same view")
    if mask.shape != shape:
        raise InputError(f"mask of shape {mask.shape} does not match the {shape[1]} x {shape[0]} image",
                         fix="pass the prediction's mask for the same view")
    include, exclude = _clicks(points, labels, shape)
    box_sl = _box_slices(box, shape)
    if not len(include[0]) and box_sl is None:
        raise InputError("snapping a body needs the include clicks or the box it was asked with",
                         fix="pass the same points, labels and box as given to the model")
    seeds = ndimage.binary_erosion(mask, iterations=SEED_EROSION) if SEED_EROSION else mask
    return _bodies(bands, include, exclude, box_sl, seed_mask=seeds, grad=edges)
