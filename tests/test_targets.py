"""Target polygons on seeded prospectivity maps with known answers: areas, statistics, ranking,
capture thresholds, side rasters, errors and the GeoPackage as read back."""

import os

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from scipy import ndimage

from helpers import write_raster
from engine.core.errors import Cancelled, InputError, OutputError
from engine.core.progress import Feedback
from engine.prospectivity.targets import FIELDS, make_targets, threshold_for_capture
from engine.data.vectors import pyogrio

RES, H, W = 100.0, 200, 200
X0, Y0 = 400000.0, 7520000.0
T = from_origin(X0, Y0, RES, RES)
A = dict(r=50, c=50, h=0.9, s=6.0)  # small and high: ranks first by mean probability
B = dict(r=60, c=140, h=0.75, s=12.0)  # larger and lower
SPECK = (150, 30)


def _gauss(rr, cc, b):
    return b["h"] * np.exp(-((rr - b["r"]) ** 2 + (cc - b["c"]) ** 2) / (2 * b["s"] ** 2))


def _prob(ring=False):
    rng = np.random.default_rng(42)
    rr, cc = np.mgrid[0:H, 0:W].astype(float)
    p = 0.05 + 0.01 * rng.random((H, W)) + _gauss(rr, cc, A) + _gauss(rr, cc, B)
    p[SPECK] = 0.95
    if ring:  # an annulus centred (150, 140), radius 15 px: its centre is far below any threshold
        r = np.hypot(rr - 150, cc - 140)
        p += 0.8 * np.exp(-((r - 15) ** 2) / (2 * 3.0**2))
    p[:3] = np.nan  # nodata border
    return np.clip(p, 0, 1).astype(np.float32)


def _centre(r, c):
    return X0 + (c + 0.5) * RES, Y0 - (r + 0.5) * RES


def _component(p, b, t):
    """Pixels of the blob above t, found around its centre (blobs are far apart)."""
    m = np.zeros(p.shape, bool)
    win = (slice(b["r"] - 40, b["r"] + 40), slice(b["c"] - 40, b["c"] + 40))
    m[win] = p[win] >= t
    return m


@pytest.fixture
def prob(tmp_path):
    p = _prob()
    return write_raster(tmp_path / "prob.tif", p, T, nodata=np.nan), p


def _read_gpkg(path):
    meta, _, wkb, data = pyogrio.raw.read(str(path), layer="targets")
    return meta, shapely.from_wkb(wkb), dict(zip(meta["fields"], data))


def test_blobs_areas_stats_ranking_and_gpkg(prob, tmp_path):
    path, p = prob
    out = tmp_path / "targets.gpkg"
    s = make_targets(path, out, threshold=0.5)
    assert s["n_targets"] == 2 and s["threshold"] == 0.5  # speck (1 px = 0.01 km2) dropped by min area
    meta, geoms, f = _read_gpkg(out)
    assert meta["crs"] == "EPSG:3067" and list(meta["fields"]) == FIELDS and meta["geometry_type"] == "MultiPolygon"
    assert list(f["rank"]) == [1, 2]
    import sqlite3

    with sqlite3.connect(out) as db:  # GeoPackage 1.2: QGIS 3.22 warns about 1.4's user_version
        assert db.execute("pragma user_version").fetchone()[0] == 10200
    for i, b in enumerate([A, B]):  # A ranks first: higher mean probability although smaller
        m = _component(p, b, 0.5)
        assert f["area_km2"][i] == pytest.approx(m.sum() * 0.01)
        assert geoms[i].area / 1e6 == pytest.approx(m.sum() * 0.01)  # polygon = its pixels exactly
        r = b["s"] * np.sqrt(2 * np.log(b["h"] / 0.45))  # analytic disk (background ~0.05 added)
        assert abs(m.sum() - np.pi * r**2) < 2 * np.pi * r  # within one pixel along the rim
        assert f["mean_prob"][i] == pytest.approx(p[m].mean(), rel=1e-5)
        assert f["max_prob"][i] == pytest.approx(p[m].max(), rel=1e-6)
        assert geoms[i].contains(shapely.Point(_centre(b["r"], b["c"])))
    assert f["area_km2"][0] < f["area_km2"][1] and f["mean_prob"][0] > f["mean_prob"][1]
    assert np.isnan(f["mean_uncert"]).all() and list(f["dominant_source"]) == ["", ""]
    assert list(f["deposits_inside"]) == [0, 0] and np.all(f["threshold"] == 0.5)
    assert s["area_km2_total"] == pytest.approx(f["area_km2"].sum())
    assert [t["rank"] for t in s["top"]] == [1, 2] and set(s["top"][0]) == set(FIELDS)
    # min area 0 keeps the speck too
    s0 = make_targets(path, tmp_path / "all.gpkg", threshold=0.5, min_area_km2=0)
    assert s0["n_targets"] == 3 and s0["top"][0]["max_prob"] == pytest.approx(0.95)


def test_strips_give_the_same_answer(prob, tmp_path, monkeypatch):
    """Statistics accumulated over many strips (7 rows each here) equal one pass over the map."""
    import engine.prospectivity.targets as targets

    path, p = prob
    whole = make_targets(path, tmp_path / "a.gpkg", threshold=0.5, deposits=[_centre(50, 50)])
    monkeypatch.setattr(targets, "_STRIP_PIXELS", 7 * W)
    strips = make_targets(path, tmp_path / "b.gpkg", threshold=0.5, deposits=[_centre(50, 50)])
    for a, b in zip(whole["top"], strips["top"]):
        assert a.pop("dominant_source") == b.pop("dominant_source")
        assert a == pytest.approx(b, rel=1e-9, nan_ok=True)
    assert _read_gpkg(tmp_path / "a.gpkg")[1].tolist() == _read_gpkg(tmp_path / "b.gpkg")[1].tolist()


def test_ring_keeps_its_hole_and_simplify(tmp_path):
    p = _prob(ring=True)
    path = write_raster(tmp_path / "prob.tif", p, T, nodata=np.nan)
    s = make_targets(path, tmp_path / "t.gpkg", threshold=0.5)
    assert s["n_targets"] == 3
    _, geoms, f = _read_gpkg(tmp_path / "t.gpkg")
    ring = [g.geoms[0] for g in geoms if g.contains(shapely.Point(_centre(150, 125)))]
    assert len(ring) == 1 and len(ring[0].interiors) == 1 and ring[0].geom_type == "Polygon"
    assert not ring[0].contains(shapely.Point(_centre(150, 140)))  # the centre is in the hole
    hole_px = shapely.Polygon(ring[0].interiors[0]).area / RES**2
    m = p >= 0.5
    assert hole_px == (ndimage.binary_fill_holes(m) & ~m).sum()  # the only hole on the map
    make_targets(path, tmp_path / "s.gpkg", threshold=0.5, simplify=150)
    _, simple, _ = _read_gpkg(tmp_path / "s.gpkg")
    assert shapely.get_num_coordinates(simple).sum() < shapely.get_num_coordinates(geoms).sum()
    assert shapely.is_valid(simple).all()


def test_diagonal_pixels_join_one_target(tmp_path):
    p = np.zeros((20, 20), np.float32)
    p[2:8, 2:8] = p[8:14, 8:14] = 0.9  # touch at one corner only
    path = write_raster(tmp_path / "prob.tif", p, T)
    s = make_targets(path, tmp_path / "t.gpkg", threshold=0.5, min_area_km2=0)
    assert s["n_targets"] == 1 and s["top"][0]["area_km2"] == pytest.approx(0.72)
    _, geoms, _ = _read_gpkg(tmp_path / "t.gpkg")
    assert shapely.is_valid(geoms).all() and geoms[0].area == pytest.approx(0.72e6) and len(geoms[0].geoms) == 2


def test_capture_threshold_and_deposits_inside(prob, tmp_path):
    path, p = prob
    px = [(A["r"], A["c"]), (A["r"] + 4, A["c"] + 2), (B["r"] + 9, B["c"]), (120, 100)]
    vals = sorted((float(p[r, c]) for r, c in px), reverse=True)
    assert vals[1] > 0.7 and vals[2] < 0.65  # the second deposit sets the cut
    deposits = [_centre(r, c) for r, c in px] + [(X0 - 5000.0, Y0)]  # one off the map: ignored
    assert threshold_for_capture(path, deposits, 0.5) == vals[1]
    assert threshold_for_capture(path, deposits, 1.0) == vals[3]
    s = make_targets(path, tmp_path / "t.gpkg", capture=0.5, deposits=deposits, min_area_km2=0.1)
    assert s["threshold"] == vals[1] and sum(v >= s["threshold"] for v in vals) == 2
    assert s["deposits_captured"] == 2 and s["deposits_total"] == 5
    _, geoms, f = _read_gpkg(tmp_path / "t.gpkg")
    assert s["n_targets"] == 2 and list(f["deposits_inside"]) == [2, 0]  # A holds both; B's top is small
    assert geoms[0].contains(shapely.Point(deposits[1]))


def test_uncertainty_and_dominant_source(prob, tmp_path):
    path, p = prob
    cc = np.mgrid[0:H, 0:W][1].astype(np.float32)
    unc = write_raster(tmp_path / "unc.tif", 0.1 + 0.001 * cc, T)
    left = (cc < 100).astype(np.float32)
    con = write_raster(tmp_path / "con.tif", np.stack([left, 0.4 + 0 * cc, 1 - left]), T)
    with rasterio.open(con, "r+") as dst:
        for i, name in enumerate(["geology", "geochemistry", "geophysics"], 1):
            dst.set_band_description(i, name)
    make_targets(path, tmp_path / "t.gpkg", threshold=0.5, uncertainty_path=unc, contributions_path=con)
    _, _, f = _read_gpkg(tmp_path / "t.gpkg")
    assert list(f["dominant_source"]) == ["geology", "geophysics"]  # A on the left, B on the right
    for i, b in enumerate([A, B]):
        m = _component(p, b, 0.5)
        assert f["mean_uncert"][i] == pytest.approx((0.1 + 0.001 * cc[m]).mean(), rel=1e-5)


def test_errors_leave_nothing(prob, tmp_path):
    path, p = prob
    out = tmp_path / "t.gpkg"
    for kw in [{}, dict(threshold=0.5, capture=0.5), dict(threshold=1.5), dict(threshold=0.0), dict(capture=0.0),
               dict(capture=1.2, deposits=[_centre(50, 50)]), dict(capture=0.5), dict(threshold=0.99)]:
        with pytest.raises(InputError) as e:
            make_targets(path, out, **kw)
        assert "Fix:" in str(e.value)
    other = write_raster(tmp_path / "unc.tif", p[:, :-1], T)
    with pytest.raises(InputError, match="grid") as e:
        make_targets(path, out, threshold=0.5, uncertainty_path=other)
    assert e.value.layer == other
    shifted = write_raster(tmp_path / "con.tif", p, from_origin(X0 + 50, Y0, RES, RES))
    with pytest.raises(InputError, match="grid"):
        make_targets(path, out, threshold=0.5, contributions_path=shifted)
    with pytest.raises(InputError, match="projected CRS"):
        make_targets(write_raster(tmp_path / "geo.tif", p, from_origin(24, 68, 0.01, 0.01), crs="EPSG:4326"), out,
                     threshold=0.5)
    assert not out.exists()

    class CancelLate(Feedback):  # cancels once the output is being written
        last = 0

        def setProgress(self, percent):  # noqa: N802
            self.last = percent

        def isCanceled(self):  # noqa: N802
            return self.last >= 85

    before = set(os.listdir(tmp_path))
    with pytest.raises(Cancelled):
        make_targets(path, out, threshold=0.5, feedback=CancelLate())
    assert set(os.listdir(tmp_path)) == before  # no output, no partial file

    make_targets(path, out, threshold=0.5)
    with pytest.raises(OutputError):
        make_targets(path, out, threshold=0.6)
    assert make_targets(path, out, threshold=0.6, overwrite=True)["threshold"] == 0.6
    assert _read_gpkg(out)[2]["threshold"][0] == 0.6


def test_large_regions_split_at_their_local_maxima(tmp_path):
    """Three peaks on one ridge above the cut (one region of ~60 km2): split into one target per peak, each
    holding its own deposit; with split_km2=None it stays one polygon holding all three."""
    rr, cc = np.mgrid[0:H, 0:W].astype(float)
    peaks = [(100, 50), (100, 100), (100, 150)]
    p = 0.05 + 0.3 * np.exp(-((rr - 100) ** 2) / (2 * 8.0**2)) * ((cc > 35) & (cc < 165))
    for r, c in peaks:
        p += 0.6 * np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * 9.0**2))
    path = write_raster(tmp_path / "ridge.tif", np.clip(p, 0, 1).astype(np.float32), T)
    deposits = [_centre(r, c) for r, c in peaks]
    whole = make_targets(path, tmp_path / "one.gpkg", threshold=0.3, deposits=deposits, split_km2=None)
    assert whole["n_targets"] == 1 and whole["top"][0]["deposits_inside"] == 3 and whole["top"][0]["area_km2"] > 25
    split = make_targets(path, tmp_path / "split.gpkg", threshold=0.3, deposits=deposits, split_km2=25)
    _, geoms, f = _read_gpkg(tmp_path / "split.gpkg")
    assert split["n_targets"] == 3 and sorted(f["deposits_inside"]) == [1, 1, 1]
    assert f["area_km2"].sum() == pytest.approx(whole["area_km2_total"])  # the same pixels, cut up
    assert shapely.union_all(geoms).area == pytest.approx(whole["area_km2_total"] * 1e6)
    assert all(a >= 25 / 5 for a in f["area_km2"])  # no crumbs from the split
    for (r, c) in peaks:
        assert sum(g.contains(shapely.Point(_centre(r, c))) for g in geoms) == 1
    with pytest.raises(InputError, match="split_km2"):
        make_targets(path, tmp_path / "bad.gpkg", threshold=0.3, split_km2=0)


def test_capture_from_a_folder_that_is_not_a_stack_says_so_and_writes_nothing(prob, tmp_path):
    """The known deposits come from the stack's manifest, read and checked as every stack reader does."""
    from engine.prospectivity.targets import targets_from_prediction

    path, _ = prob
    pred = tmp_path / "prediction"
    pred.mkdir()
    os.replace(path, pred / "prospectivity.tif")
    out = tmp_path / "t.gpkg"
    nostack = tmp_path / "not_a_stack"
    nostack.mkdir()
    with pytest.raises(InputError, match="not an aligned stack") as e:
        targets_from_prediction(str(pred), str(out), stack_dir=str(nostack), capture=0.5)
    assert "run align first" in str(e.value)
    (nostack / "stack.json").write_text("{cut off")
    with pytest.raises(InputError, match="damaged"):
        targets_from_prediction(str(pred), str(out), stack_dir=str(nostack), capture=0.5)
    assert not out.exists()
