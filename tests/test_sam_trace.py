"""Lines as lines (engine/structures/trace.py): one click traces a line both ways until it fades, an exclude
click cuts it, two clicks give the path between them, a weak result scores low; then the same on
the real Kolari magnetics through the extractor the map tool uses (a named NE-trending shear zone)."""

import os

import numpy as np
import pytest
import shapely
from scipy import ndimage

from engine.core.errors import InputError
from engine.structures import trace as T
from engine.structures.image import stretch_bands

SIZE = 200
A, B = np.array([30.0, 40.0]), np.array([170.0, 150.0])  # (row, col) ends of the seeded fault


def _distance_to_segment(pts, a=A, b=B):
    """Distance (px) of (row, col) points to the segment a-b, and their position along it (0..1)."""
    d = b - a
    t = np.clip(((pts - a) @ d) / (d @ d), 0, 1)
    return np.hypot(*(pts - (a + t[:, None] * d)).T), t


def seeded_fault(seed=0, depth=60.0, noise=6.0):
    """A magnetic-like view: a smooth random field, a straight linear low 2 px wide from A to B, noise."""
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.normal(size=(SIZE, SIZE)), 12) * 400
    rr, cc = np.mgrid[:SIZE, :SIZE].astype(float)
    dist, t = _distance_to_segment(np.stack([rr.ravel(), cc.ravel()], 1))
    inside = (t > 0) & (t < 1)
    low = depth * np.exp(-0.5 * (dist / 1.5) ** 2) * inside
    img = field - low.reshape(SIZE, SIZE) + rng.normal(scale=noise, size=(SIZE, SIZE))
    return stretch_bands(img[None])


def xy(rc):
    """(row, col) pixel -> the x, y click at its centre."""
    return [rc[1] + 0.5, rc[0] + 0.5]


@pytest.fixture(scope="module")
def maps():
    return T.line_maps(seeded_fault())


def test_one_click_traces_the_line_both_ways_until_it_ends(maps):
    mid = (A + B) / 2
    tr = T.trace_line(maps, [xy(mid)])
    dist, t = _distance_to_segment(tr.path)
    assert tr.channel == "valley"
    assert np.percentile(dist, 95) < 2.5                       # along the fault, not across it
    assert t.min() < 0.1 and t.max() > 0.9                     # both ways, nearly to both ends ...
    ends = tr.path[[0, -1]]
    assert _distance_to_segment(ends)[0].max() < 3 and np.hypot(*(ends[1] - ends[0])) < 1.15 * np.hypot(*(B - A))
    assert tr.score > 0.7                                      # ... and stops where it fades
    assert tr.mask.shape == (SIZE, SIZE) and tr.mask[tuple(np.rint(mid).astype(int))]


def test_an_exclude_click_cuts_the_line_there(maps):
    mid = (A + B) / 2
    full = T.trace_line(maps, [xy(mid)])
    cut_at = A + 0.75 * (B - A)
    tr = T.trace_line(maps, [xy(mid)], exclude=[xy(cut_at)])
    _, t_full = _distance_to_segment(full.path)
    _, t = _distance_to_segment(tr.path)
    assert t.max() < 0.75 and t.max() > 0.65    # stops just before the exclude click
    assert t.min() < 0.1                        # the other way is untouched
    assert len(tr.path) < len(full.path)


def test_a_box_keeps_the_trace_inside_it(maps):
    mid = (A + B) / 2
    lo, hi = A + 0.3 * (B - A), A + 0.8 * (B - A)
    tr = T.trace_line(maps, [xy(mid)], box=(lo[1] - 5, lo[0] - 5, hi[1] + 5, hi[0] + 5))  # x0, y0, x1, y1
    _, t = _distance_to_segment(tr.path)
    assert 0.25 < t.min() < 0.35 and 0.75 < t.max() < 0.85


def test_two_clicks_give_the_path_between_them(maps):
    p, q = A + 0.2 * (B - A), A + 0.6 * (B - A)
    tr = T.trace_line(maps, [xy(q), xy(p)])
    dist, t = _distance_to_segment(tr.path)
    assert np.percentile(dist, 95) < 2.0
    assert t.min() == pytest.approx(0.2, abs=0.03) and t.max() == pytest.approx(0.6, abs=0.03)
    # three clicks in any order: one path through all of them, ordered along the line
    tr3 = T.trace_line(maps, [xy(q), xy(p), xy(A + 0.9 * (B - A))])
    _, t3 = _distance_to_segment(tr3.path)
    assert np.all(np.diff(t3) > -0.02) and t3.max() == pytest.approx(0.9, abs=0.03)


@pytest.mark.parametrize("bend", [0.0, 25.0])
def test_clicks_on_a_featureless_view_give_the_smooth_curve_through_them_not_a_staircase(bend):
    """Where the image says nothing (a flat view: all pixel paths cost the same), the line between
    clicks is the straight line (two clicks) or the smooth arc (three), not one of the many equally
    cheap 8-connected staircases, which leave a 25-degree chord by a fifth of its length."""
    flat = T.line_maps(np.full((SIZE, SIZE), 100.0))
    a, c = np.array([100.0, 10.0]), np.array([100.0 + 0.4 * 180, 190.0])  # chord at ~22 degrees
    mid = (a + c) / 2 + bend * np.array([-0.37, 0.93])  # bent off the chord (normal to it) by `bend` px
    clicks = [a, c] if bend == 0 else [a, mid, c]
    tr = T.trace_line(flat, [xy(p) for p in clicks])
    # the curve through the clicks: chord, or the parabola-like arc through the three points
    t = np.linspace(0, 1, 400)[:, None]
    ref = a + t * (c - a) + (4 * t * (1 - t)) * (mid - (a + c) / 2)
    off = np.min(np.hypot(*(tr.path[:, None, :] - ref[None]).transpose(2, 0, 1)), axis=1)
    assert off.max() < 3.5, off.max()  # without the pull to the curve: 40 px (two clicks), 17 px (three)
    assert np.hypot(*(tr.path[0] - a)) < 1.5 and np.hypot(*(tr.path[-1] - c)) < 1.5


def test_a_click_on_noise_scores_low():
    rng = np.random.default_rng(3)
    noise = stretch_bands(rng.normal(size=(1, SIZE, SIZE)))
    tr = T.trace_line(T.line_maps(noise), [[100.5, 100.5]])
    strong = T.trace_line(T.line_maps(seeded_fault()), [xy((A + B) / 2)])
    assert tr.score < 0.3 < strong.score


def test_the_trace_stops_at_nodata_and_refuses_no_click():
    img = seeded_fault()
    valid = np.ones((SIZE, SIZE), bool)
    valid[:, :95] = False   # the survey ends at column 95
    m = T.line_maps(img, valid)
    tr = T.trace_line(m, [xy(A + 0.7 * (B - A))])
    assert tr.path[:, 1].min() >= 94 and tr.path[:, 1].min() < 100
    with pytest.raises(InputError, match="include click"):
        T.trace_line(m, [], exclude=[[10, 10]])


# ---------------------------------------------------------------- the real Kolari magnetics

MAG = os.path.join("Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif")
FAULTS = os.path.join("Geological_Data", "IOCG_CLB_Structures_1M.shp")
LINEAMENT = "Ylläs shear zone"  # NE-trending, "interpreted from magnetic map" in GTK's 1:1M structures


def _azimuth(line):
    c = shapely.get_coordinates(line)
    d = c[-1] - c[0]
    return np.degrees(np.arctan2(d[0], d[1])) % 180


def _angle(a, b):
    return abs((a - b + 90) % 180 - 90)


def test_a_click_on_a_kolari_lineament_follows_it_and_an_exclude_click_shortens_it(kolari):
    from engine.structures.cache import EmbeddingCache
    from engine.structures.extract import StructureExtractor
    from engine.data.vectors import read_vector

    faults = read_vector(os.path.join(kolari, FAULTS), "faults", dst_crs="EPSG:3067", expect="line")
    line = max((g for g, n in zip(faults.geometries, faults.fields["NAME"]) if n == LINEAMENT),
               key=lambda g: g.length)
    at = 0.65 * line.length
    click = line.interpolate(at)
    trend = _azimuth(shapely.LineString([line.interpolate(at - 2500), line.interpolate(at + 2500)]))
    assert 30 < trend < 70  # NE
    ex = StructureExtractor(os.path.join(kolari, MAG), (1,), cache=EmbeddingCache(disk_bytes=0), threads=1)
    # 256 px at 100 m; the line responses come with the view, so the clicks only trace
    ex.set_view((click.x - 12800, click.y - 12800, click.x + 12800, click.y + 12800), lines=True)
    maps = ex._line_maps()
    pred = ex.predict([(click.x, click.y)], feature_type="fault")
    assert ex._line_maps() is maps
    geom = ex.feature_geometry(pred, "fault")
    assert pred.method.startswith("trace:") and geom.geom_type == "LineString"
    assert _angle(_azimuth(geom), trend) < 20
    assert geom.length > 3000
    assert geom.distance(click) < 150  # through the click (smoothing and simplifying move it < 1.5 px)
    # smooth and simplified to about a pixel: no 100 m staircase of grid cells
    seg = np.hypot(*np.diff(shapely.get_coordinates(geom), axis=0).T)
    assert seg.mean() > 150
    # an exclude click on the trace, a quarter of its length from one end, cuts it there
    cut = geom.interpolate(0.75 * geom.length)
    shorter = ex.feature_geometry(ex.predict([(click.x, click.y)], [(cut.x, cut.y)], feature_type="fault"), "fault")
    assert shorter.length < 0.85 * geom.length
    assert shorter.distance(cut) > 200
