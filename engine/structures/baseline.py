"""The classical click tools a geologist would otherwise use, as the baseline SAM is scored against.

Why a baseline at all: the shipped SAM's mIoU means little alone; it has to beat what the same
clicks give with standard image processing. So this is the fair version of those tools (seeded
watershed for bodies, a two-polarity multi-scale ridge filter with hysteresis for lines, noise
smoothing and ridge scales set from the image's own noise, thresholds set from the clicked
feature's own contrast), not a strawman.
"""

import numpy as np

from ..core.errors import InputError
from .geometry import GEOMETRY_OF, FEATURE_TYPES

_TOUCH = 3  # px: a line component is "the clicked one" when it passes this close to an include click
_SCALES = (1.0, 2.0, 3.0)  # px: Sato ridge-filter scales, for lines 2 to 6 px wide
_FINE_SNR = 15.0  # robust SNR of the clicked line below which the 1 px scale is dropped


def _gray_bands(image):
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] not in (1, 3):
        raise InputError(f"the image must be (H, W) or (3, H, W), got shape {np.asarray(image).shape}",
                         fix="pass the stretched 0..255 array given to SAM, bands first")
    finite = np.isfinite(arr)
    if not finite.all():  # nodata: the mean, so it makes no edge or ridge of its own
        arr = np.where(finite, arr, arr[finite].mean() if finite.any() else 0.0)
    return arr


def _clicks(points, labels, shape):
    h, w = shape
    pts = np.asarray(points if points is not None else np.zeros((0, 2)), dtype=np.float64).reshape(-1, 2)
    lab = np.asarray(labels if labels is not None else np.zeros(0), dtype=np.int64).reshape(-1)
    if len(lab) != len(pts):
        raise InputError(f"{len(pts)} click points but {len(lab)} labels",
                         fix="give one label (1 include, 0 exclude) per point")
    cols = np.floor(pts[:, 0]).astype(int)
    rows = np.floor(pts[:, 1]).astype(int)
    outside = (cols < 0) | (cols >= w) | (rows < 0) | (rows >= h)
    if outside.any():
        raise InputError(f"{int(outside.sum())} click(s) fall outside the {w} x {h} image",
                         fix="give points as x, y pixel coordinates (col, row) inside the image")
    inc = lab == 1
    return (rows[inc], cols[inc]), (rows[~inc], cols[~inc])


def _box_slices(box, shape):
    h, w = shape
    if box is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in np.asarray(box, dtype=np.float64).reshape(4))
    x0, x1 = sorted((x0, x1))
    y0, y1 = sorted((y0, y1))
    c0, c1 = max(0, int(np.floor(x0))), min(w, int(np.ceil(x1)) + 1)
    r0, r1 = max(0, int(np.floor(y0))), min(h, int(np.ceil(y1)) + 1)
    if c1 <= c0 or r1 <= r0:
        raise InputError("the box does not overlap the image", fix="give the box as x0, y0, x1, y1 in pixels")
    return slice(r0, r1), slice(c0, c1)


def _noise_sigma(band):
    """Noise level, robustly: median absolute response of Immerkaer's Laplacian-difference kernel.

    The kernel cancels smooth signal and edges mostly, and the median ignores what it leaves;
    its L2 norm is 6, and 0.6745 turns a median absolute value into a Gaussian sigma.
    """
    from scipy import ndimage

    kernel = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])
    resp = ndimage.convolve(np.asarray(band, dtype=np.float64), kernel, mode="reflect")[1:-1, 1:-1]
    return float(np.median(np.abs(resp)) / (0.6745 * 6.0)) if resp.size else 0.0


def _smoothing(bands):
    """Gaussian sigma for the pre-smoothing: light (1 px) on clean images, more as noise rises.

    Why adaptive: a fixed light blur leaves a noisy grid's gradient full of false edges the
    watershed snags on; a fixed heavy one blurs clean edges. Capped at 3 px.
    """
    noise = max(_noise_sigma(b) for b in bands)
    spread = max(float(np.percentile(bands, 99) - np.percentile(bands, 1)), 1e-6)
    return float(np.clip(1.0 + 20.0 * noise / spread, 1.0, 3.0))


def edge_map(bands):
    """The gradient the body watershed floods: per band, smoothed (adaptive sigma) then Sobel, the
    maximum over bands (colour images have edges in one band only). A view's edge map does not
    change with the clicks, so the tool computes it once per view (snap.py)."""
    from scipy import ndimage
    from skimage.filters import sobel

    sigma = _smoothing(bands)
    distinct = [b for i, b in enumerate(bands) if not any(np.array_equal(b, o) for o in bands[:i])]
    grad = np.zeros(bands.shape[1:])
    for b in distinct:  # a 1-band view is stretched to 3 equal bands: one gradient, not three
        grad = np.maximum(grad, sobel(ndimage.gaussian_filter(b, sigma)))
    return grad


def _bodies(bands, include, exclude, box, seed_mask=None, grad=None):
    """Region 1 of the marker watershed; `seed_mask` (bool, H x W) adds include markers (snap.py);
    `grad` = `edge_map(bands)` when the caller has it already."""
    from scipy import ndimage
    from skimage.segmentation import watershed

    h, w = bands.shape[1:]
    if grad is None:
        grad = edge_map(bands)
    markers = np.zeros((h, w), dtype=np.int32)
    background = np.zeros((h, w), dtype=bool)
    crop = (slice(0, h), slice(0, w))
    if box is not None:
        inside = np.zeros((h, w), dtype=bool)
        inside[box] = True
        # a 2-px margin: SAM boxes are drawn tight, and the edge must fall inside the free zone
        background = ~ndimage.binary_dilation(inside, iterations=2)
        # everything beyond the margin is background already: flood only the box and a ring of it
        crop = tuple(slice(max(0, s.start - 3), min(n, s.stop + 3)) for s, n in zip(box, (h, w)))
    if not background.any():
        background[0, :] = background[-1, :] = background[:, 0] = background[:, -1] = True
    markers[background] = 2
    seeds = np.zeros((h, w), dtype=bool)
    if len(include[0]):
        seeds[include] = True
    else:  # a box alone: its centre is the include seed
        rs, cs = box
        seeds[(rs.start + rs.stop - 1) // 2, (cs.start + cs.stop - 1) // 2] = True
    seeds = ndimage.binary_dilation(seeds, iterations=1)
    if seed_mask is not None:
        seeds |= np.asarray(seed_mask, bool) & ~background  # never outside the box, nor on the border
    stop = np.zeros((h, w), dtype=bool)
    if len(exclude[0]):
        stop[exclude] = True
        stop = ndimage.binary_dilation(stop, iterations=1)
    markers[seeds & ~stop] = 1
    markers[stop] = 2
    if not (markers == 1).any():
        return np.zeros((h, w), dtype=bool)
    out = markers == 1  # an include click outside the box stays its own 3 x 3 px, as in a full flood
    out[crop] = watershed(grad[crop], markers[crop]) == 1
    return out


def _at_clicks(resp, include):
    """The response at each include click: the best within 1 px (a click is rarely dead on)."""
    return np.array([resp[max(0, r - 1):r + 2, max(0, c - 1):c + 2].max() for r, c in zip(*include)])


def _robust_snr(value, window):
    med = float(np.median(window))
    mad = 1.4826 * float(np.median(np.abs(window - med)))
    return (value - med) / max(mad, 1e-9)


def _lines(bands, include, exclude, box):
    from scipy import ndimage
    from skimage.filters import apply_hysteresis_threshold, sato

    gray = bands.mean(axis=0)
    h, w = gray.shape
    if not len(include[0]):
        raise InputError("tracing a line needs at least one include click on it",
                         fix="click on the fault or lineament itself (label 1)")
    inside = None
    if box is not None:
        inside = np.zeros((h, w), dtype=bool)
        inside[box] = True
        win = box
    else:  # a window around the clicks: the threshold is set where the user looked
        pad = max(32, int(0.1 * max(h, w)))
        win = (slice(max(0, int(include[0].min()) - pad), int(include[0].max()) + pad + 1),
               slice(max(0, int(include[1].min()) - pad), int(include[1].max()) + pad + 1))
    best = None
    for dark in (True, False):  # a fault is a magnetic low or a high; the clicks say which
        per_scale = {s: sato(gray, sigmas=[s], black_ridges=dark, mode="reflect") for s in _SCALES}
        fine = np.max([per_scale[s] for s in _SCALES], axis=0)
        strength = float(_at_clicks(fine, include).mean())
        if best is None or strength > best[0]:
            best = (strength, per_scale, fine)
    _, per_scale, resp = best
    # scale 1 px follows thin lines best but amplifies noise: drop it when the clicked line
    # does not stand well clear of the window's response
    if _robust_snr(float(_at_clicks(resp, include).mean()), resp[win]) < _FINE_SNR:
        resp = np.max([per_scale[s] for s in _SCALES[1:]], axis=0)
    if inside is not None:
        resp = np.where(inside, resp, 0.0)
    window = resp[win]
    strength = float(_at_clicks(resp, include).mean())
    background = float(np.median(window))
    if window.size < 4 or strength <= background:
        return np.zeros((h, w), dtype=bool)
    high = 0.5 * (background + strength)
    low = 0.5 * (background + high)
    cand = apply_hysteresis_threshold(resp, low, high)
    lab, n = ndimage.label(cand, structure=np.ones((3, 3)))
    if n == 0:
        return np.zeros((h, w), dtype=bool)
    near = np.zeros((h, w), dtype=bool)
    near[include] = True
    near = ndimage.binary_dilation(near, structure=np.ones((3, 3)), iterations=_TOUCH)
    keep = np.zeros(n + 1, dtype=bool)
    keep[np.unique(lab[near])] = True
    if len(exclude[0]):
        keep[np.unique(lab[exclude])] = False
    keep[0] = False
    return keep[lab]


def click_baseline(image, points, labels, box=None, feature_type="intrusion"):
    """Boolean (H, W) mask from the same clicks SAM gets, by classical image processing.

    image: (3, H, W) or (H, W) float, stretched to 0..255 as the SAM input. points: (N, 2) x, y
    pixel coordinates (col, row); labels: 1 include, 0 exclude. box: optional x0, y0, x1, y1 pixels.

    Bodies (intrusion, alteration): marker-controlled watershed on the Sobel gradient (maximum
    over bands) of a Gaussian-smoothed image, sigma 1 px rising to 3 px with the estimated noise.
    Markers: include clicks (3 x 3 px) are region 1; exclude clicks and the image border, or
    everything more than 2 px outside the box, are region 2; a box alone seeds its centre. The
    result is region 1. Assumes the body is bounded by the strongest edge between the include
    clicks and the background markers, and, without a box, that it does not touch the image border.

    Lines (fault, lineament, contact): Sato ridge filter on the band mean at 1, 2 and 3 px, both
    polarities, keeping the one stronger at the include clicks; the 1 px scale is dropped when the
    clicked line's robust SNR in the window is under 15 (it mostly follows noise then). Hysteresis
    threshold in the box, or in a window of max(32 px, 10 % of the image) around the clicks:
    high = midway between the window's median response and the response at the clicks, low =
    midway between the median and high. (Otsu was tried: the response histogram is dominated by
    background, and at moderate noise Otsu's cut lets the line leak into the noise.) Kept: the
    components passing within 3 px of an include click and containing no exclude click. Assumes
    the line is a ridge or valley about 2 to 6 px wide and that the clicks lie on it; a contact seen
    only as a step in value (not a ridge) is beyond it, part of what SAM is measured against.
    """
    if feature_type not in GEOMETRY_OF:
        raise InputError(f"unknown feature type '{feature_type}'",
                         fix="use one of: " + ", ".join(FEATURE_TYPES))
    bands = _gray_bands(image)
    shape = bands.shape[1:]
    include, exclude = _clicks(points, labels, shape)
    box = _box_slices(box, shape)
    if GEOMETRY_OF[feature_type] == "polygon":
        if not len(include[0]) and box is None:
            raise InputError("a body needs at least one include click or a box",
                             fix="click inside the intrusion or alteration zone (label 1), or draw a box")
        return _bodies(bands, include, exclude, box)
    return _lines(bands, include, exclude, box)
