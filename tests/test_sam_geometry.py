"""Mask -> vector post-processing and the classical click baseline, on known answers."""

import numpy as np
import pytest
from affine import Affine
from scipy import ndimage
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon

from engine.core.errors import InputError
from engine.structures.baseline import click_baseline
from engine.structures.geometry import (FEATURE_TYPES, GEOMETRY_OF, mask_to_centrelines, mask_to_geometry,
                                 mask_to_polygons)

PIX = 100.0
LEFT, TOP = 360000.0, 7520000.0
T = Affine(PIX, 0.0, LEFT, 0.0, -PIX, TOP)  # EPSG:3067-like, north-up, 100 m pixels


def grid(h=128, w=128):
    r, c = np.mgrid[:h, :w]
    return r + 0.5, c + 0.5  # pixel-centre coordinates


def segment(shape, p0, p1, half):
    """Pixels whose centre lies within `half` px of the segment p0-p1 (x, y pixel coords)."""
    r, c = grid(*shape)
    a, b = np.asarray(p0, float), np.asarray(p1, float)
    d = b - a
    t = np.clip(((c - a[0]) * d[0] + (r - a[1]) * d[1]) / (d @ d), 0.0, 1.0)
    return np.hypot(c - (a[0] + t * d[0]), r - (a[1] + t * d[1])) <= half


def to_map(pts):
    return [T * (x, y) for x, y in pts]


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


# ----------------------------------------------------------------------------------------- polygons

def test_disk_with_hole_polygon():
    r, c = grid()
    d = np.hypot(r - 64.0, c - 60.0)
    mask = (d < 30) & (d >= 10)
    polys = mask_to_polygons(mask, T)
    assert len(polys) == 1
    poly = polys[0]
    assert poly.is_valid and len(poly.interiors) == 1
    assert abs(poly.area - mask.sum() * PIX ** 2) <= 0.02 * mask.sum() * PIX ** 2
    rows, cols = np.nonzero(mask)
    expect = (LEFT + cols.min() * PIX, TOP - (rows.max() + 1) * PIX,
              LEFT + (cols.max() + 1) * PIX, TOP - rows.min() * PIX)
    assert poly.bounds == pytest.approx(expect)
    assert Polygon(poly.interiors[0]).area == pytest.approx(
        (ndimage.binary_fill_holes(mask) & ~mask).sum() * PIX ** 2)


def test_polygon_tolerance_simplifies_and_stays_valid():
    r, c = grid()
    d = np.hypot(r - 64.0, c - 60.0)
    mask = (d < 40) & (d >= 12)
    exact = mask_to_polygons(mask, T)[0]
    simple = mask_to_polygons(mask, T, tolerance=1.5 * PIX)[0]
    assert len(simple.exterior.coords) < 0.5 * len(exact.exterior.coords)
    assert simple.is_valid and len(simple.interiors) == 1
    assert simple.area == pytest.approx(exact.area, rel=0.03)


def test_polygon_min_area_drops_small_blob_largest_first():
    r, c = grid()
    mask = np.hypot(r - 40.0, c - 40.0) < 20
    mask |= np.hypot(r - 100.0, c - 100.0) < 10
    mask[5:7, 120:122] = True  # 4 px
    polys = mask_to_polygons(mask, T)
    assert len(polys) == 3 and polys[0].area > polys[1].area > polys[2].area
    kept = mask_to_polygons(mask, T, min_area=10 * PIX ** 2)
    assert len(kept) == 2 and kept[1].area == pytest.approx(polys[1].area)


# ------------------------------------------------------------------------------------- centre lines

def test_diagonal_line_centreline():
    a, b = (10.5, 15.5), (110.5, 105.5)
    mask = segment((128, 128), a, b, 1.5)
    lines = mask_to_centrelines(mask, T)
    assert len(lines) == 1
    true = LineString(to_map([a, b]))
    assert lines[0].hausdorff_distance(true) < 1.5 * PIX
    assert lines[0].length == pytest.approx(true.length, rel=0.05)


def test_horizontal_line_maps_row_to_y():
    mask = np.zeros((64, 128), bool)
    row = 30
    mask[row - 1:row + 2, 10:110] = True
    line = mask_to_centrelines(mask, T)[0]
    ys = np.array(line.coords)[:, 1]
    assert ys == pytest.approx(TOP - (row + 0.5) * PIX, abs=1e-6)
    xs = np.array(line.coords)[:, 0]
    assert xs.min() >= LEFT + 10 * PIX and xs.max() <= LEFT + 110 * PIX
    assert xs.max() - xs.min() > 95 * PIX


def test_short_spur_is_pruned():
    mask = segment((128, 128), (10, 64.5), (118, 64.5), 1.5)  # rows 63-65
    mask[66:68, 60] = True  # a 2-px spur below the line
    lines = mask_to_centrelines(mask, T)
    assert len(lines) == 1
    assert lines[0].length == pytest.approx(108 * PIX, rel=0.05)
    assert np.ptp(np.array(lines[0].coords)[:, 1]) < 1.0 * PIX  # no kink towards the spur


def test_line_crossed_by_stub_stays_one_main_line():
    mask = segment((128, 128), (10, 64.5), (118, 64.5), 1.5)
    mask |= segment((128, 128), (60.5, 56), (60.5, 73), 1.5)  # short perpendicular stub
    lines = mask_to_centrelines(mask, T)
    main = lines[0]
    assert main.length == pytest.approx(108 * PIX, rel=0.05)
    assert all(l.length < 0.25 * main.length for l in lines[1:])
    assert np.ptp(np.array(main.coords)[:, 1]) < 2.0 * PIX


@pytest.mark.parametrize("angle", [90, 60])
def test_x_crossing_gives_two_full_lines(angle):
    half = np.deg2rad(angle / 2)
    centre = np.array([64.5, 64.5])
    d1 = 50 * np.array([np.cos(half), np.sin(half)])
    d2 = 50 * np.array([np.cos(half), -np.sin(half)])
    mask = segment((128, 128), centre - d1, centre + d1, 1.5)
    mask |= segment((128, 128), centre - d2, centre + d2, 1.5)
    lines = mask_to_centrelines(mask, T)
    assert len(lines) == 2
    for line, d in zip(lines, (d1, d2)):
        assert line.length == pytest.approx(100 * PIX, rel=0.07)
    trues = [LineString(to_map([centre - d, centre + d])) for d in (d1, d2)]
    for line in lines:  # each output follows one of the two true lines, end to end
        assert min(line.hausdorff_distance(t) for t in trues) < 3 * PIX


def test_ring_gives_one_closed_line():
    r, c = grid()
    d = np.hypot(r - 64.0, c - 64.0)
    mask = (d < 40) & (d > 34)
    lines = mask_to_centrelines(mask, T)
    assert len(lines) == 1 and lines[0].is_closed
    assert lines[0].length == pytest.approx(2 * np.pi * 37 * PIX, rel=0.05)


def test_pinhole_does_not_split_a_line():
    mask = segment((128, 128), (10, 64.5), (118, 64.5), 4)
    mask[63:66, 50:53] = False  # a 3 x 3 pinhole in an 8-px-wide fault
    lines = mask_to_centrelines(mask, T)
    assert len(lines) == 1 and not lines[0].is_closed


def test_centreline_tolerance_and_min_length():
    r, c = grid()
    d = np.hypot(r - 64.0, c - 64.0)
    mask = (d < 40) & (d > 34)
    mask |= segment((128, 128), (2, 2), (12, 2), 1.5)
    lines = mask_to_centrelines(mask, T)
    assert len(lines) == 2
    simple = mask_to_centrelines(mask, T, tolerance=0.5 * PIX, min_length=20 * PIX)
    assert len(simple) == 1 and simple[0].is_closed and simple[0].is_valid
    assert len(simple[0].coords) < 0.5 * len(lines[0].coords)


def test_empty_mask():
    empty = np.zeros((32, 32), bool)
    assert mask_to_polygons(empty, T) == []
    assert mask_to_centrelines(empty, T) == []
    assert mask_to_geometry(empty, T, "fault") is None
    assert mask_to_geometry(empty, T, "intrusion") is None


def test_mask_to_geometry_dispatch_and_unknown_type():
    assert set(GEOMETRY_OF) == set(FEATURE_TYPES)
    one = segment((64, 64), (5, 20.5), (60, 20.5), 1.5)
    two = one | segment((64, 64), (5, 50.5), (60, 50.5), 1.5)
    for kind in ("fault", "lineament", "contact"):
        assert isinstance(mask_to_geometry(one, T, kind), LineString)
    assert isinstance(mask_to_geometry(two, T, "fault"), MultiLineString)
    assert isinstance(mask_to_geometry(one, T, "alteration"), Polygon)
    multi = mask_to_geometry(two, T, "intrusion")
    assert isinstance(multi, MultiPolygon) and len(multi.geoms) == 2
    assert isinstance(mask_to_geometry(two, T, "intrusion", min_size=1e9), type(None))
    with pytest.raises(InputError) as err:
        mask_to_geometry(one, T, "dyke")
    assert all(k in str(err.value) for k in FEATURE_TYPES)


# ----------------------------------------------------------------------------------------- baseline

def test_baseline_watershed_recovers_noisy_disk():
    rng = np.random.default_rng(0)
    r, c = grid()
    disk = np.hypot(r - 60.0, c - 70.0) < 25
    img = np.clip(np.where(disk, 170.0, 80.0) + rng.normal(0, 25, disk.shape), 0, 255)
    mask = click_baseline(np.stack([img] * 3), [[70, 60]], [1], feature_type="intrusion")
    assert mask.dtype == bool and mask.shape == disk.shape
    assert iou(mask, disk) > 0.85
    boxed = click_baseline(img, np.zeros((0, 2)), np.zeros(0), box=(40, 30, 100, 90))
    assert iou(boxed, disk) > 0.85


def test_baseline_exclude_click_removes_a_lobe():
    rng = np.random.default_rng(1)
    r, c = grid()
    a = np.hypot(r - 64.0, c - 38.0) < 20
    b = np.hypot(r - 64.0, c - 90.0) < 20
    body = a | b | ((np.abs(r - 64.0) < 4) & (c > 38) & (c < 90))
    img = np.where(body, 170.0, 80.0) + rng.normal(0, 15, body.shape)
    both = click_baseline(img, [[38, 64]], [1], feature_type="alteration")
    assert both[64, 90] and iou(both, body) > 0.85
    one = click_baseline(img, [[38, 64], [90, 64]], [1, 0], feature_type="alteration")
    assert not one[64, 90] and one[64, 38]
    assert iou(one, a) > 0.8 and (one & b).sum() < 0.2 * b.sum()


@pytest.mark.parametrize("dark", [True, False])
def test_baseline_ridge_recovers_noisy_line(dark):
    rng = np.random.default_rng(2)
    line = segment((128, 128), (10, 20), (118, 100), 0.99)  # about 2 px wide
    lo, hi = (60.0, 140.0) if dark else (140.0, 60.0)
    img = np.where(line, lo, hi) + rng.normal(0, 20, line.shape)
    mask = click_baseline(img, [[64.5, 60.5]], [1], feature_type="fault")
    assert iou(mask, ndimage.binary_dilation(line)) > 0.5
    # an exclude click on the line removes it
    gone = click_baseline(img, [[64.5, 60.5], [91.5, 80.5]], [1, 0], feature_type="lineament")
    assert gone.sum() < 0.2 * mask.sum()


def test_baseline_with_a_box_floods_only_the_box_and_matches_a_full_flood():
    """The box crop is an optimisation, not a change: the same mask as flooding the whole image."""
    from scipy import ndimage
    from skimage.segmentation import watershed

    from engine.structures.baseline import _bodies, _box_slices, _clicks, _gray_bands, edge_map

    img, body, d = zoned_body()
    bands = _gray_bands(img)
    for pts, lab, box in (([[64.5, 64.5]], [1], (30, 30, 98, 98)), ([[64.5, 64.5], [5.5, 5.5]], [1, 1], (40, 40, 90, 90)),
                          (None, None, (20, 25, 100, 110))):
        inc, exc = _clicks(pts, lab, body.shape)
        sl = _box_slices(box, body.shape)
        cropped = _bodies(bands, inc, exc, sl)
        inside = np.zeros(body.shape, bool)
        inside[sl] = True
        markers = np.where(ndimage.binary_dilation(inside, iterations=2), 0, 2).astype(np.int32)
        seeds = np.zeros(body.shape, bool)
        if len(inc[0]):
            seeds[inc] = True
        else:
            seeds[(sl[0].start + sl[0].stop - 1) // 2, (sl[1].start + sl[1].stop - 1) // 2] = True
        markers[ndimage.binary_dilation(seeds)] = 1
        full = watershed(edge_map(bands), markers) == 1
        np.testing.assert_array_equal(cropped, full)
        assert cropped.any()


def test_baseline_input_errors():
    img = np.zeros((32, 32))
    with pytest.raises(InputError):
        click_baseline(img, [[40, 5]], [1])  # outside
    with pytest.raises(InputError):
        click_baseline(img, [[4, 5]], [1, 0])  # label count
    with pytest.raises(InputError):
        click_baseline(img, [[4, 5]], [1], feature_type="dyke")
    with pytest.raises(InputError):
        click_baseline(img, np.zeros((0, 2)), np.zeros(0), feature_type="intrusion")


# ----------------------------------------------------------------------------------------- snapping


def zoned_body():
    """A zoned intrusion: bright core (r 10 px) inside a body (r 30 px); the core's edge is the stronger one."""
    rng = np.random.default_rng(3)
    r, c = grid()
    d = np.hypot(r - 64.0, c - 64.0)
    body, core = d < 30, d < 10
    img = np.clip(np.where(core, 230.0, np.where(body, 125.0, 80.0)) + rng.normal(0, 6, body.shape), 0, 255)
    return img, body, d


def test_snap_carries_the_body_past_an_inner_edge_the_watershed_stops_at():
    from engine.structures.snap import snap_to_edges

    img, body, d = zoned_body()
    click = [[64.5, 64.5]]
    plain = click_baseline(img, click, [1], feature_type="intrusion")
    assert iou(plain, body) < 0.3  # the watershed alone stops at the core
    model_mask = d < 22  # what the model draws: the right body, too small
    snapped = snap_to_edges(np.stack([img] * 3), model_mask, click, [1])
    assert iou(model_mask, body) < 0.6 and iou(snapped, body) > 0.9
    # an empty model mask gives the plain watershed back
    np.testing.assert_array_equal(snap_to_edges(img, np.zeros_like(body), click, [1]), plain)
    # a cached edge map gives the same answer as one computed afresh
    from engine.structures.snap import view_edges

    np.testing.assert_array_equal(snap_to_edges(img, model_mask, click, [1], edges=view_edges(img)), snapped)


def test_snap_keeps_to_the_box_and_the_exclude_clicks():
    from engine.structures.snap import snap_to_edges

    img, body, d = zoned_body()
    spill = d < 50  # a model mask overshooting the body
    boxed = snap_to_edges(img, spill, None, None, box=(40, 40, 88, 88))
    assert not boxed[:, :37].any() and not boxed[:, 92:].any()  # nothing beyond the box's 2 px margin
    ex = snap_to_edges(img, d < 22, [[64.5, 64.5], [64.5, 84.5]], [1, 0])
    assert not ex[84, 64] and ex[64, 64]


def test_snap_input_errors_and_which_types_snap():
    from engine.structures.snap import snap_to_edges, snaps

    img, body, _ = zoned_body()
    with pytest.raises(InputError, match="does not match"):
        snap_to_edges(img, body[:-1], [[64, 64]], [1])
    with pytest.raises(InputError, match="include clicks or the box"):
        snap_to_edges(img, body, None, None)
    with pytest.raises(InputError, match="edge map"):
        snap_to_edges(img, body, [[64, 64]], [1], edges=np.zeros((8, 8)))
    assert [t for t in FEATURE_TYPES if snaps(t)] == ["intrusion", "alteration"]


# ------------------------------------------------------------------------------- bodies asked with a box


def boxed_body(seed=0):
    """A zoned elliptical body (rotated 30 deg, 68 x 40 px) with a bright core and a bright band of magnetic
    fabric crossing it; returns image, body, the body's bounding box and a 'model mask' that is the right
    body far too small (as GeoSAM draws the Kolari intrusions)."""
    rng = np.random.default_rng(seed)
    r, c = grid()
    th = np.deg2rad(30)
    u = (c - 60) * np.cos(th) + (r - 66) * np.sin(th)
    v = -(c - 60) * np.sin(th) + (r - 66) * np.cos(th)
    body = (u / 34) ** 2 + (v / 20) ** 2 <= 1
    core = (u / 12) ** 2 + (v / 7) ** 2 <= 1
    fabric = np.abs((c - 64) * np.cos(np.deg2rad(120)) + (r - 64) * np.sin(np.deg2rad(120)) - 14) < 4
    img = np.where(core, 220.0, np.where(body, 140.0, 100.0)) + np.where(fabric, 60.0, 0.0)
    img = np.clip(img + rng.normal(0, 8, body.shape), 0, 255)
    rr, cc = np.nonzero(body)
    box = (cc.min(), rr.min(), cc.max() + 1, rr.max() + 1)
    return img, body, box, (u / 8) ** 2 + (v / 5) ** 2 <= 1


@pytest.mark.parametrize("seed", [0, 1])
def test_box_body_recovers_a_seeded_body_the_snap_does_not(seed):
    from engine.structures.box import box_body
    from engine.structures.snap import snap_to_edges

    img, body, box, model_mask = boxed_body(seed)
    old = snap_to_edges(np.stack([img] * 3), model_mask, None, None, box)  # the default before box.py
    new = box_body(np.stack([img] * 3), box)
    assert iou(old, body) < 0.5  # the watershed stops at the core's edge and the fabric band
    assert iou(new, body) > 0.8


def test_box_body_keeps_out_of_nodata_and_exclude_clicks_and_runs_on_past_the_border():
    from engine.structures.box import box_body

    img, body, box, _ = boxed_body()
    valid = np.ones(body.shape, bool)
    valid[:, :40] = False
    out = box_body(img, box, valid=valid)
    assert out.any() and not (out & ~valid).any()
    assert not out[:, int(box[2]) + 3:].any() and not out[int(box[3]) + 3:].any()  # the box + 2 px at most
    ex = box_body(img, box, [[60.5, 66.5], [80.5, 77.5]], [1, 0])
    assert ex[66, 60] and not ex[77, 80]
    # a body cut by the view's left border (its box then runs on past that side) is still recovered
    cut = box_body(img[:, 40:], (0, box[1], box[2] - 40, box[3]))
    assert iou(cut, body[:, 40:]) > 0.8
    with pytest.raises(InputError, match="box"):
        box_body(img, None)
