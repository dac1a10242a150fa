"""From raster bands to what a SAM image encoder takes, and click coordinates to its frame.

SAM was trained on 8-bit RGB photos; a map view is 1-3 float bands with nodata. A per-band 2-98 %
stretch gives every band the full 0-255 range whatever its units, so one model serves magnetics,
radiometrics and imagery alike (the stretch is written in every model card, see weights.INPUT_SCALING).

Geometry follows SAM's ResizeLongestSide (longest side -> img_size, pad bottom/right) without
torchvision, which does not install beside our torch.

Coordinates: points and boxes are continuous pixel coordinates of the image given to
`stretch_bands` / `set_image`: x = column, y = row, (0, 0) the top-left corner of the top-left
pixel, so the centre of pixel (row r, col c) is (c + 0.5, r + 0.5), which is what
`~transform * (X, Y)` of a map click gives. SAM itself adds 0.5 to the integer pixel index it is
given; `to_model_xy` takes that off, so nothing is shifted by half a pixel.
"""

import numpy as np

from ..core.errors import InputError

LOW_PCT, HIGH_PCT = 2.0, 98.0


def stretch_bands(bands, valid=None, names=None):
    """(b, H, W) or (H, W) floats, b in 1..3 -> float32 (3, H, W) in 0..255; invalid pixels 0.

    Invalid = not finite, or False in `valid` ((H, W) shared by the bands, or (b, H, W)).
    One band is repeated to 3; two get their mean as the third (SAM's encoder wants 3 channels,
    and a mean keeps both bands' contrast rather than a blank channel).
    """
    x = np.asarray(bands, dtype=np.float32)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise InputError(f"the view has shape {x.shape}, not (bands, height, width)",
                         fix="pass 1 to 3 bands as an array (bands, rows, cols)")
    nb = x.shape[0]
    names = list(names) if names is not None else [f"band {i + 1}" for i in range(nb)]
    if nb == 0 or nb > 3:
        raise InputError(f"the structure extractor takes 1 to 3 bands, got {nb}",
                         fix="choose 1 to 3 bands (e.g. one geophysics grid, or an RGB image)")
    if min(x.shape[1:]) < 1:
        raise InputError(f"the view is empty ({x.shape[1]} x {x.shape[2]} pixels)", fix="zoom to an area with data")
    ok = np.isfinite(x)
    if valid is not None:
        v = np.asarray(valid).astype(bool)
        if v.shape not in (x.shape, x.shape[1:]):
            raise InputError(f"valid mask of shape {v.shape} does not match the bands {x.shape}",
                             fix="pass a (rows, cols) or (bands, rows, cols) mask")
        ok &= np.broadcast_to(v, x.shape)
    if not ok.any():
        raise InputError("the view holds no valid pixel (all nodata)",
                         fix="pan / zoom to where the layer has data, or check its nodata value")
    out = np.zeros((3,) + x.shape[1:], np.float32)
    for i in range(nb):
        vals = x[i][ok[i]]
        if vals.size == 0:
            raise InputError(f"{names[i]} has no valid pixel in this view", layer=names[i],
                             fix="choose another band, or pan to where it has data")
        lo, hi = np.percentile(vals, [LOW_PCT, HIGH_PCT])
        if not hi > lo:  # mostly flat (e.g. a masked grid of zeros): fall back to the full range
            lo, hi = float(vals.min()), float(vals.max())
        if not hi > lo:
            raise InputError(f"{names[i]} is constant ({lo:g}) in this view: there is nothing to segment",
                             layer=names[i], fix="choose a band that varies here, or a larger view")
        s = (x[i] - lo) * (255.0 / (hi - lo))
        out[i] = np.where(ok[i], np.clip(s, 0.0, 255.0), 0.0)
    if nb == 1:
        out[1] = out[2] = out[0]
    elif nb == 2:
        out[2] = 0.5 * (out[0] + out[1])
    return out


def input_size(orig_hw, img_size):
    """(h, w) after resizing the longest side to img_size (SAM's ResizeLongestSide.get_preprocess_shape)."""
    h, w = int(orig_hw[0]), int(orig_hw[1])
    scale = img_size * 1.0 / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def _resize(img, hw):
    """Bilinear, antialiased when shrinking (what SAM's apply_image_torch does); torch if present."""
    if tuple(img.shape[-2:]) == tuple(hw):
        return img.astype(np.float32, copy=False)
    down = hw[0] < img.shape[-2] or hw[1] < img.shape[-1]
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        from skimage.transform import resize

        return resize(img, (img.shape[0],) + tuple(hw), order=1, anti_aliasing=down,
                      preserve_range=True).astype(np.float32)
    t = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))[None]
    with torch.no_grad():
        r = F.interpolate(t, size=tuple(hw), mode="bilinear", align_corners=False, antialias=down)
    return r[0].numpy()


def prepare(img3, img_size, pad_value=0.0):
    """(3, H, W) 0..255 -> (padded float32 (1, 3, S, S), input_hw).

    Longest side resized to img_size, padded at the bottom / right with `pad_value` (per channel
    allowed). Pass the model's pixel_mean: after the encoder's normalisation the padding is then
    0, exactly as SAM's own preprocess (normalise, then pad with zeros) makes it.
    """
    img3 = np.asarray(img3, dtype=np.float32)
    if img3.ndim != 3 or img3.shape[0] != 3:
        raise InputError(f"prepare expects a (3, H, W) image, got {img3.shape}", fix="run stretch_bands first")
    hw = input_size(img3.shape[1:], img_size)
    r = _resize(img3, hw)
    out = np.empty((1, 3, img_size, img_size), np.float32)
    out[0] = np.asarray(pad_value, np.float32).reshape(-1, 1, 1)
    out[0, :, : hw[0], : hw[1]] = r
    return out, hw


def _scale(orig_hw, img_size):
    h, w = input_size(orig_hw, img_size)
    return np.array([w / float(orig_hw[1]), h / float(orig_hw[0])])


def to_model_xy(xy, orig_hw, img_size):
    """Continuous pixel (x=col, y=row) of the original image -> SAM's coordinates at img_size.

    SAM adds 0.5 to what it is given (it expects pixel indices), hence the -0.5.
    """
    xy = np.asarray(xy, dtype=np.float64)
    return (xy * _scale(orig_hw, img_size) - 0.5).astype(np.float32)


def from_model_xy(xy, orig_hw, img_size):
    """Inverse of to_model_xy."""
    xy = np.asarray(xy, dtype=np.float64)
    return (xy + 0.5) / _scale(orig_hw, img_size)
