"""The data layer on the real Kolari data and on seeded rasters with known answers."""

import glob
import hashlib
import json
import os

import numpy as np
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from helpers import KOLARI_CROP, write_raster, write_vector
from engine.data.layers import LayerSpec
from engine.data.reader import Stack
from engine.data.stack import StackSpec, align_stack


def _sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_kolari_crop_grid_bands_and_deposits(kolari_stack):
    with Stack(kolari_stack) as st:
        g = st.grid
        assert g.crs == "EPSG:3067"
        assert (g.width, g.height) == (100, 100)
        assert g.bounds == KOLARI_CROP
        names = [b["name"] for b in st.bands]
        assert len(names) == 9 + 2 + 22
        assert {"lithology", "fault_distance", "Cu", "Au"} - set(names) == {"Au"}
        with rasterio.open(os.path.join(kolari_stack, "stack.tif")) as ds:
            assert ds.crs.to_epsg() == 3067
            assert ds.descriptions[0] == "geophysics:IOCG_Mag_grysc_DGRF65_anom_100m"
            assert ds.block_shapes[0] == (256, 256) or ds.height < 256
        valid = st.read_valid()
        assert 0.5 < valid.mean() <= 1.0
        dep = st.manifest["deposits"]
        # the crop holds only some of the 13 deposits: the others are reported by name, not dropped
        assert 0 < dep["used"] < dep["total"] == 13
        assert dep["outside"] + dep["on_nodata"] + dep["used"] == 13
        outside = [p for p in dep["points"] if p["status"] == "outside"]
        assert all(p["name"] and p["row"] is None for p in outside)
        assert st.read_deposits().sum() == dep["used"]


def test_normalised_bands_are_centred(kolari_stack):
    with Stack(kolari_stack) as st:
        x = st.read()
        valid = st.read_valid()
        for i, b in enumerate(st.bands):
            if b["kind"] == "categorical":
                vals = x[i][valid]
                assert set(np.unique(vals).astype(int)) <= set(int(k) for k in b["classes"])
                continue
            med = np.nanmedian(x[i][valid])
            assert abs(med) < 0.6, (b["name"], med)
            assert np.nanmax(np.abs(x[i])) <= 10.0


def test_windowed_reads_rebuild_the_full_stack(kolari_stack):
    with Stack(kolari_stack) as st:
        full = st.read()
        rebuilt = np.full_like(full, np.nan)
        for t in st.tiles(tile=37, overlap=5):
            a = st.read(t.read)
            assert a.shape[1:] == (t.read.height, t.read.width)
            rs, cs = t.core_in_read
            rebuilt[:, t.core.row_off:t.core.row_off + t.core.height, t.core.col_off:t.core.col_off + t.core.width] = a[:, rs, cs]
        np.testing.assert_array_equal(np.isnan(full), np.isnan(rebuilt))
        np.testing.assert_allclose(full[~np.isnan(full)], rebuilt[~np.isnan(rebuilt)])


def test_tiling_does_not_change_the_result(kolari, tmp_path):
    from engine.demo import kolari_spec

    outs = []
    for tile in (512, 24):
        spec = kolari_spec(kolari, res=400.0, bounds=KOLARI_CROP, geophysics=("IOCG_Mag_grysc_DGRF65_anom_100m",),
                           elements=["Cu", "Fe", "Co"])
        spec.tile_size = tile
        m = align_stack(spec, str(tmp_path / f"t{tile}"))
        with Stack(str(tmp_path / f"t{tile}")) as st:
            outs.append((st.read(normalised=False), m["bands"]))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    assert [b["stats"] for b in outs[0][1]] == [b["stats"] for b in outs[1][1]]


def test_inputs_are_never_modified(kolari, tmp_path):
    from engine.demo import kolari_spec

    spec = kolari_spec(kolari, res=400.0, bounds=KOLARI_CROP)
    paths = [layer.path for layer in spec.layers] + [spec.deposits]
    before = {p: (_sha(p), os.path.getmtime(p)) for p in paths}
    listing = sorted(os.listdir(os.path.dirname(paths[0])))
    align_stack(spec, str(tmp_path / "s"))
    assert before == {p: (_sha(p), os.path.getmtime(p)) for p in paths}
    assert listing == sorted(os.listdir(os.path.dirname(paths[0])))  # no .aux.xml or other side-car appeared


# ---------- seeded rasters with known answers ----------

def _linear_field_utm(tmp_path):
    """A raster in UTM 35N (EPSG:32635) whose value is x_3067 / 1000: exact after reprojection only if warped right."""
    from rasterio.warp import transform

    t = from_origin(600000, 7600000, 250, 250)
    rows, cols = np.mgrid[0:200, 0:200]
    xs, ys = rasterio.transform.xy(t, rows.ravel(), cols.ravel())
    x3067, _ = transform("EPSG:32635", "EPSG:3067", xs, ys)
    data = (np.array(x3067) / 1000.0).reshape(200, 200).astype(np.float32)
    return write_raster(tmp_path / "utm.tif", data, t, crs="EPSG:32635")


def test_reprojection_puts_values_where_they_belong(tmp_path):
    path = _linear_field_utm(tmp_path)
    with rasterio.open(path) as src:
        from rasterio.warp import transform_bounds

        b = transform_bounds(src.crs, "EPSG:3067", *src.bounds)
    inner = (b[0] + 5000, b[1] + 5000, b[2] - 5000, b[3] - 5000)
    spec = StackSpec([LayerSpec(path, "geophysics", name="east")], crs="EPSG:3067", res=500, bounds=inner)
    align_stack(spec, str(tmp_path / "s"))
    with Stack(str(tmp_path / "s")) as st:
        a = st.read(normalised=False)[0]
        t = st.grid.transform
        cols = np.arange(st.grid.width) + 0.5
        expected = (t.c + cols * t.a) / 1000.0
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, np.broadcast_to(expected, a.shape), atol=0.05)


def test_categorical_rasters_keep_class_codes(tmp_path):
    rng = np.random.default_rng(0)
    classes = rng.integers(1, 6, size=(60, 60)).astype(np.uint8)
    path = write_raster(tmp_path / "geo.tif", classes, from_origin(400000, 7500000, 100, 100), nodata=0)
    spec = StackSpec([LayerSpec(path, "geology", name="units")], res=70)
    m = align_stack(spec, str(tmp_path / "s"))
    assert m["bands"][0]["kind"] == "categorical"
    with Stack(str(tmp_path / "s")) as st:
        a = st.read(normalised=False)[0]
    assert set(np.unique(a[np.isfinite(a)])) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_fault_distance_is_exact(tmp_path):
    t = from_origin(400000, 7510000, 100, 100)
    base = write_raster(tmp_path / "b.tif", np.random.default_rng(1).normal(size=(100, 100)).astype(np.float32), t)
    fault = write_vector(tmp_path / "f.gpkg", [shapely.LineString([(405000, 7490000), (405000, 7520000)])])
    spec = StackSpec([LayerSpec(base, "geophysics"), LayerSpec(fault, "geology", name="faults")])
    align_stack(spec, str(tmp_path / "s"))
    with Stack(str(tmp_path / "s")) as st:
        d = st.read(normalised=False)[1]
        x = st.grid.transform.c + (np.arange(st.grid.width) + 0.5) * st.grid.res
    np.testing.assert_allclose(d, np.broadcast_to(np.abs(x - 405000) / 1000, d.shape), atol=1e-4)


def test_geochemistry_below_detection_clr_and_search_radius():
    from engine.data import geochem

    fields = {"Cu_ppm": np.array([10.0, 0.0, 4.0, 8.0]), "Cu_ppm_T": np.array(["", "", "<", ""], dtype=object),
              "Zn_ppm": np.array([20.0, 30.0, 40.0, 50.0])}
    elements, v = geochem.clean_values(fields, None, "till")
    assert elements == ["Cu", "Zn"]
    assert v[1, 0] == 2.0  # zero -> half the smallest positive value (4)
    assert v[2, 0] == 2.0  # flagged '<' at 4 -> half its limit
    c = geochem.clr(v)
    np.testing.assert_allclose(c.sum(axis=1), 0, atol=1e-12)
    xy = np.array([[0.0, 0.0], [1000.0, 0.0]])
    g = geochem.IDWGridder(xy, np.array([[1.0], [3.0]]), radius=600)
    out = g.read(np.array([[0.0, 500.0, 2000.0]]), np.array([[0.0, 0.0, 0.0]]))
    assert out[0, 0, 0] == pytest.approx(1.0, abs=1e-6)
    assert out[0, 0, 1] == pytest.approx(2.0)
    assert np.isnan(out[0, 0, 2])  # beyond the search radius: no invented data


# ---------- bad input: clear errors, nothing written ----------

def _no_leftovers(tmp_path):
    return not glob.glob(str(tmp_path / ".*partial*")) and not (tmp_path / "out").exists()


@pytest.fixture
def base_raster(tmp_path):
    return write_raster(tmp_path / "mag.tif", np.random.default_rng(2).normal(size=(50, 50)).astype(np.float32),
                        from_origin(400000, 7500000, 100, 100))


def _expect_error(spec, tmp_path, *needles):
    from engine.core.errors import MPMError

    with pytest.raises(MPMError) as e:
        align_stack(spec, str(tmp_path / "out"))
    for n in needles:
        assert n in str(e.value), str(e.value)
    assert "Fix:" in str(e.value)
    assert _no_leftovers(tmp_path)


def test_error_no_overlap(tmp_path, base_raster):
    far = write_raster(tmp_path / "far.tif", np.ones((10, 10), np.float32), from_origin(900000, 6700000, 100, 100))
    _expect_error(StackSpec([LayerSpec(base_raster, "geophysics"), LayerSpec(far, "geophysics")]), tmp_path, "do not overlap", "far")


def test_error_unknown_crs(tmp_path, base_raster):
    nocrs = write_raster(tmp_path / "nocrs.tif", np.ones((10, 10), np.float32), from_origin(400000, 7500000, 100, 100), crs=None)
    _expect_error(StackSpec([LayerSpec(base_raster, "geophysics"), LayerSpec(nocrs, "geophysics")]), tmp_path, "nocrs", "no CRS")
    _expect_error(StackSpec([LayerSpec(base_raster, "geophysics")], crs="EPSG:999999"), tmp_path, "unknown CRS")


def test_error_all_nodata(tmp_path, base_raster):
    empty = write_raster(tmp_path / "empty.tif", np.full((10, 10), -9999, np.float32), from_origin(400000, 7500000, 100, 100), nodata=-9999)
    _expect_error(StackSpec([LayerSpec(base_raster, "geophysics"), LayerSpec(empty, "geophysics")]), tmp_path, "empty", "only nodata")


def test_error_constant_layer(tmp_path, base_raster):
    const = write_raster(tmp_path / "const.tif", np.full((50, 50), 7, np.float32), from_origin(400000, 7500000, 100, 100))
    _expect_error(StackSpec([LayerSpec(base_raster, "geophysics"), LayerSpec(const, "geophysics")]), tmp_path, "const", "constant")


def test_error_empty_vector(tmp_path, base_raster):
    import pyogrio.raw

    path = str(tmp_path / "faults.gpkg")
    pyogrio.raw.write(path, geometry=np.array([], dtype=object), field_data=[], fields=[], geometry_type="LineString", crs="EPSG:3067")
    _expect_error(StackSpec([LayerSpec(base_raster, "geophysics"), LayerSpec(path, "geology")]), tmp_path, "faults", "no features")


def test_error_unsupported_geometry(tmp_path, base_raster):
    pts = write_vector(tmp_path / "pts.gpkg", [shapely.Point(402000, 7498000), shapely.Point(403000, 7497000)])
    _expect_error(StackSpec([LayerSpec(base_raster, "geophysics"), LayerSpec(pts, "geology", kind="distance")]),
                  tmp_path, "pts", "point geometries")
    _expect_error(StackSpec([LayerSpec(base_raster, "geophysics"), LayerSpec(pts, "geophysics")]), tmp_path, "only geochemistry")


def test_error_deposits_all_outside(tmp_path, base_raster):
    dep = write_vector(tmp_path / "dep.gpkg", [shapely.Point(100000, 6800000)], {"Name": np.array(["far away"], dtype=object)})
    _expect_error(StackSpec([LayerSpec(base_raster, "geophysics")], deposits=dep), tmp_path, "deposits", "outside the target area")


def test_error_output_exists_or_not_writable(tmp_path, base_raster):
    from engine.core.errors import OutputError

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("user data")
    with pytest.raises(OutputError, match="already exists"):
        align_stack(StackSpec([LayerSpec(base_raster, "geophysics")]), str(tmp_path / "out"))
    assert (tmp_path / "out" / "keep.txt").read_text() == "user data"
    with pytest.raises(OutputError, match="does not exist"):
        align_stack(StackSpec([LayerSpec(base_raster, "geophysics")]), str(tmp_path / "nope" / "out"))
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(str(ro), os.W_OK):
            pytest.skip("running as a user who can write anywhere (root); permission check cannot be exercised")
        with pytest.raises(OutputError, match="not writable"):
            align_stack(StackSpec([LayerSpec(base_raster, "geophysics")]), str(ro / "out"))
    finally:
        ro.chmod(0o700)


def test_cancel_leaves_nothing(tmp_path, base_raster):
    from engine.core.errors import Cancelled
    from engine.core.progress import Feedback

    class CancelAfterFirst(Feedback):
        calls = 0

        def isCanceled(self):  # noqa: N802
            self.calls += 1
            return self.calls > 2

    spec = StackSpec([LayerSpec(base_raster, "geophysics")], tile_size=8)
    with pytest.raises(Cancelled):
        align_stack(spec, str(tmp_path / "out"), feedback=CancelAfterFirst())
    assert _no_leftovers(tmp_path)


def test_overwrite_replaces_whole(tmp_path, base_raster):
    spec = StackSpec([LayerSpec(base_raster, "geophysics")])
    align_stack(spec, str(tmp_path / "out"))
    (tmp_path / "out" / "stale.txt").write_text("old")
    align_stack(spec, str(tmp_path / "out"), overwrite=True)
    assert not (tmp_path / "out" / "stale.txt").exists()
    assert json.load(open(tmp_path / "out" / "stack.json"))["format"] == "mpm-stack/1"


def test_shapefile_names_keep_their_code_page_when_gdal_does_not_recode(kolari):
    """Inside QGIS, SHAPE_ENCODING is "" (QGIS decodes itself); the .cpg must still be honoured."""
    import pyogrio

    from engine.data.vectors import read_vector

    pyogrio.set_gdal_config_options({"SHAPE_ENCODING": ""})
    try:
        d = read_vector(os.path.join(kolari, "Deposits_Occurrences", "IOCG_Deps_Prosp_Occs.shp"), "deposits")
    finally:
        pyogrio.set_gdal_config_options({"SHAPE_ENCODING": None})
    assert "Lauttaselkä" in list(d.fields["Name"]) and "Rytijänkkä" in list(d.fields["Name"])


def test_geology_rasters_are_classes_only_when_they_look_like_classes(tmp_path):
    """A distance or density grid under geology is a measurement, a grid of a few integer codes a class map."""
    from rasterio.transform import from_origin

    from helpers import write_raster
    from engine.data.layers import LayerSpec
    from engine.data.sources import open_layer

    rng = np.random.default_rng(0)
    t = from_origin(500000, 7000000, 100, 100)
    yy, xx = np.mgrid[0:60, 0:60]
    cases = {
        "units": (((yy // 20) * 3 + xx // 20) % 7 + 1).astype(np.int32),  # 7 rock codes
        "contacts_m": (np.hypot(yy - 30, xx - 30) * 100).astype(np.int32),  # 480-ish integer distances
        "density": rng.uniform(0, 0.93, (60, 60)).astype(np.float32),  # fractional
        "codes_as_float": (xx // 15 + 1).astype(np.float32),  # 4 classes stored as float
        "fault_dist": (xx * 2).astype(np.int32),  # few values, but the name says distance
    }
    kinds = {}
    for name, a in cases.items():
        p = write_raster(tmp_path / f"{name}.tif", a[None], t, nodata=-1)
        kinds[name] = open_layer(LayerSpec(p, "geology", name=name)).spec.kind
    assert kinds == {"units": "categorical", "contacts_m": "continuous", "density": "continuous",
                     "codes_as_float": "categorical", "fault_dist": "continuous"}
    # other sources never default to classes, and an explicit kind always wins
    assert open_layer(LayerSpec(str(tmp_path / "units.tif"), "geophysics", name="u")).spec.kind == "continuous"
    assert open_layer(LayerSpec(str(tmp_path / "density.tif"), "geology", name="d", kind="categorical")).spec.kind == "categorical"


def test_the_lithology_field_is_the_rock_name_not_the_first_text_field():
    """Kolari's 1:1M map: EON_ (2 values) comes first, ROCK_NAME_ (23 rock types) is the lithology."""
    from engine.data.vectors import _pick_class_field

    fields = {"OBJECTID": np.arange(30), "EON_": np.array(["Archean", "Proterozoic"] * 15, dtype=object),
              "PROVINCE_": np.array(["a", "b", "c"] * 10, dtype=object),
              "ROCK_NAME_": np.array([f"rock {i % 12}" for i in range(30)], dtype=object),
              "LABEL": np.array([f"polygon {i}" for i in range(30)], dtype=object)}  # one per feature: an id
    assert _pick_class_field(fields, "lith") == "ROCK_NAME_"
    del fields["ROCK_NAME_"]
    assert _pick_class_field(fields, "lith") == "PROVINCE_"  # no rock field: the richest one, never the id


# ---------- the valid area: enough evidence, not every layer (issue 21, item 5) ----------

def test_a_layer_that_stops_short_leaves_its_cells_valid_and_is_reported(tmp_path):
    """Three layers, one covering only the western half: the whole area stays valid (2 of 3 layers
    have data everywhere), the short layer is NaN (missing) in the east, and stack.json says how much
    each layer covers. Before, the valid area was the intersection: half the area was dropped."""
    rng = np.random.default_rng(5)
    t = from_origin(400000, 7505000, 100, 100)
    full_a = write_raster(tmp_path / "mag.tif", rng.normal(size=(50, 50)).astype(np.float32), t)
    full_b = write_raster(tmp_path / "grav.tif", rng.normal(size=(50, 50)).astype(np.float32), t)
    half = rng.normal(size=(50, 50)).astype(np.float32)
    half[:, 25:] = -9999
    short = write_raster(tmp_path / "k.tif", half, t, nodata=-9999)
    spec = StackSpec([LayerSpec(full_a, "geophysics"), LayerSpec(full_b, "geophysics"), LayerSpec(short, "geophysics")])
    m = align_stack(spec, str(tmp_path / "s"))
    cov = m["coverage"]
    assert cov["min_layers"] == 2 and cov["layers"] == 3 and cov["area_cells"] == 2500
    assert cov["valid_cells"] == 2500 and cov["all_layers_cells"] == 1250
    assert cov["per_layer"] == {"mag": 1.0, "grav": 1.0, "k": 0.5}
    assert [b["layer"] for b in m["bands"]] == ["mag", "grav", "k"]
    with Stack(str(tmp_path / "s")) as st:
        assert st.read_valid().all()
        a = st.read(normalised=False)
        assert np.isnan(a[2][:, 25:]).all() and np.isfinite(a[2][:, :25]).all()
        pres = st.read_presence()
        assert pres.shape == (3, 50, 50) and pres[:2].all() and not pres[2][:, 25:].any()
    # a cell with only one of the three layers is not valid: too little evidence
    lone = np.full((50, 50), -9999, np.float32)
    lone[:10] = rng.normal(size=(10, 50))
    spec = StackSpec([LayerSpec(short, "geophysics"), LayerSpec(write_raster(tmp_path / "u.tif", lone, t, nodata=-9999),
                                                                "geophysics"),
                      LayerSpec(full_a, "geophysics")])
    m = align_stack(spec, str(tmp_path / "s2"))
    with Stack(str(tmp_path / "s2")) as st:
        v = st.read_valid()
    assert v[:, :25].all() and v[:10].all() and not v[10:, 25:].any()
    assert m["coverage"]["valid_cells"] == int(v.sum())


def test_kolari_cells_beyond_the_lithology_stay_in_the_area(kolari_400):
    """The 1:1M lithology stops short of the Kolari study area: its cells are valid now, reported per layer."""
    with Stack(kolari_400) as st:
        cov = st.manifest["coverage"]
        valid = st.read_valid()
        pres = st.read_presence()
        names = [n for n, _ in st.layers]
    lith = names.index("lithology")
    assert 0.85 < cov["per_layer"]["lithology"] < 0.97 and cov["per_layer"]["fault_distance"] == 1.0
    assert cov["valid_cells"] == int(valid.sum()) > cov["all_layers_cells"]
    without_lith = valid & ~pres[lith]
    assert without_lith.sum() > 0.05 * valid.sum()  # the cells the intersection used to drop
    assert (pres[:, valid].sum(0) >= cov["min_layers"]).all()


# ---------- inputs on one grid stay on it (issue 21, item 8) ----------

def test_inputs_that_share_a_grid_are_not_shifted(tmp_path):
    """Rasters on one 100 m lattice whose corner is not a multiple of 100 m: the stack keeps their grid and
    their values (no resampling); a raster on another lattice brings back edges on multiples of the pixel."""
    rng = np.random.default_rng(8)
    a = rng.normal(size=(40, 60)).astype(np.float32)
    b = rng.normal(size=(30, 50)).astype(np.float32)
    pa = write_raster(tmp_path / "a.tif", a, from_origin(400030.0, 7500070.0, 100, 100))
    pb = write_raster(tmp_path / "b.tif", b, from_origin(400530.0, 7499570.0, 100, 100))  # 5 px right, 5 px down
    m = align_stack(StackSpec([LayerSpec(pa, "geophysics"), LayerSpec(pb, "geophysics")]), str(tmp_path / "s"))
    assert m["grid"]["bounds"] == [400530.0, 7496570.0, 405530.0, 7499570.0]
    with Stack(str(tmp_path / "s")) as st:
        x = st.read(normalised=False)
    np.testing.assert_array_equal(x[0], a[5:35, 5:55])
    np.testing.assert_array_equal(x[1], b)
    pc = write_raster(tmp_path / "c.tif", a, from_origin(400010.0, 7500070.0, 100, 100))  # another lattice
    m = align_stack(StackSpec([LayerSpec(pa, "geophysics"), LayerSpec(pc, "geophysics")]), str(tmp_path / "s2"))
    assert all(v % 100 == 0 for v in m["grid"]["bounds"])


# ---------- the Align preview (issue 21, item 3) ----------

def test_preview_says_what_align_would_make_of_each_layer_and_warns(tmp_path):
    """Seeded inputs with the mistakes a new user makes: a float grid and a 300-value grid forced to categorical,
    polygons classed by a 2-value field beside a richer one, an element the model does not know, a layer
    that stops short. The preview names each, writes nothing and leaves the spec as it was."""
    import json as _json

    from engine.data.preview import preview_layers, preview_lines

    rng = np.random.default_rng(3)
    t = from_origin(400000, 7505000, 100, 100)
    mag = write_raster(tmp_path / "mag.tif", rng.normal(size=(50, 50)).astype(np.float32), t, nodata=-9999.0)
    dens = write_raster(tmp_path / "density.tif", rng.random((50, 50)).astype(np.float32), t)
    many = write_raster(tmp_path / "codes.tif", rng.integers(1, 301, (50, 50)).astype(np.int32), t)
    half = rng.normal(size=(50, 50)).astype(np.float32)
    half[:, 30:] = -9999
    short = write_raster(tmp_path / "survey7.tif", half, t, nodata=-9999)
    polys = [shapely.box(400000 + i * 1000, 7500000, 401000 + i * 1000, 7505000) for i in range(5)]
    lith = write_vector(tmp_path / "lith.gpkg", polys, {"EON": np.array(["Archean", "Proterozoic"] * 2 + ["Archean"], dtype=object),
                                                        "ROCK": np.array(["granite", "gabbro", "schist", "quartzite", "tuff"],
                                                                         dtype=object)})
    pts = [shapely.Point(400050 + 500 * i, 7500050 + 450 * j) for i in range(10) for j in range(11)]
    till = write_vector(tmp_path / "till.gpkg", pts, {"Cu_ppm": rng.lognormal(3, 1, 110), "Pd_ppb": rng.lognormal(1, 1, 110)})
    spec = StackSpec([LayerSpec(mag, "geophysics", layer_type="magnetic"), LayerSpec(short, "geophysics"),
                      LayerSpec(dens, "geology", kind="categorical"), LayerSpec(many, "geology", kind="categorical"),
                      LayerSpec(lith, "geology", field="EON", name="lithology"), LayerSpec(till, "geochemistry")])
    before = _json.dumps(spec.to_dict(), sort_keys=True)
    p = preview_layers(spec)
    assert _json.dumps(spec.to_dict(), sort_keys=True) == before and not list(tmp_path.glob("*partial*"))
    rows = {r.name: r for r in p.rows}
    assert [r.name for r in p.rows] == ["mag", "survey7", "density", "codes", "lithology", "till"]
    m = rows["mag"]
    assert (m.kind, m.kind_reason, m.layer_type, m.layer_type_known) == ("continuous", "a geophysics raster", "magnetic", True)
    assert m.nodata == -9999.0 and m.native_res == pytest.approx(100.0) and m.coverage == 1.0 and not m.warnings
    assert rows["survey7"].coverage == pytest.approx(0.6, abs=0.03) and "covers 60% of the area" in rows["survey7"].warnings[-1]
    assert not rows["survey7"].layer_type_known and "has no learned type" in rows["survey7"].warnings[0]
    assert any("fractional values" in w for w in rows["density"].warnings)
    assert rows["codes"].class_count == 300 and any("300 classes" in w for w in rows["codes"].warnings)
    li = rows["lithology"]
    assert (li.kind, li.kind_reason, li.class_field, li.class_count) == ("categorical", "from the geometry type", "EON", 2)
    assert li.class_fields == {"EON": 2, "ROCK": 5} and li.native_res is None and li.nodata is None
    assert any("give field=ROCK" in w for w in li.warnings)
    tl = rows["till"]
    assert tl.kind == "points" and tl.bands == ["Cu", "Pd"] and tl.samples == {"used": 110, "total": 110}
    assert any("no learned type" in w and "Pd" in w and "Cu" not in w.split(":")[-1] for w in tl.warnings)
    assert p.n_layers == 6 and p.min_layers == 3 and p.valid_share == 1.0 and p.all_layers_share < 0.7
    text = "\n".join(preview_lines(p))
    assert "geology/lithology: categorical" in text and "classes from 'EON'" in text and "warning: classes from 'EON'" in text
    d = p.to_dict()
    assert _json.loads(_json.dumps(d))["rows"][4]["class_fields"] == {"EON": 2, "ROCK": 5}
