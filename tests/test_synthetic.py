"""The synthetic generator is the only ground truth pretraining and probes get, so its signals
must be present, reproducible and shaped exactly like the real stack."""


import numpy as np
import pytest
from scipy import ndimage

from engine.data.scene import Scene
from engine.data.synthetic import (
    GEOCHEMISTRY_LAYERS,
    GEOPHYSICS_LAYERS,
    REMOTE_SENSING_LAYERS,
    generate_scene,
    generate_scenes,
    robust_normalise,
)

SEEDS = range(8)


@pytest.fixture(scope="module")
def scenes():
    return [generate_scene(s, size=128) for s in SEEDS]


@pytest.fixture(scope="module")
def rich_scenes():
    """Scenes with several intrusions, so both intrusion types turn up across seeds."""
    return [generate_scene(100 + s, size=160, n_intrusions=4) for s in range(10)]


def _all_arrays(scene):
    return {f"{k}/{i}": v.data[i] for k, v in scene.sources.items() for i in range(v.data.shape[0])} | {
        f"label/{k}": np.asarray(v) for k, v in scene.labels.items()
    }


def test_same_seed_same_scene_and_different_seeds_differ():
    a, b, c = generate_scene(7, size=96), generate_scene(7, size=96), generate_scene(8, size=96)
    aa, bb = _all_arrays(a), _all_arrays(b)
    assert aa.keys() == bb.keys()
    for k in aa:
        np.testing.assert_array_equal(aa[k], bb[k], err_msg=k)
    assert not np.array_equal(a.labels["lithology"], c.labels["lithology"])
    assert not np.allclose(a.sources["geophysics"].data, c.sources["geophysics"].data)


def test_generate_scenes_is_reproducible_and_varied():
    first = generate_scenes(3, seed=5, size=64)
    again = generate_scenes(3, seed=5, size=64)
    assert len(first) == 3 and all(isinstance(s, Scene) for s in first)
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x.sources["geophysics"].data, y.sources["geophysics"].data)
    assert not np.array_equal(first[0].labels["lithology"], first[1].labels["lithology"])
    assert generate_scenes(0, seed=5, size=64) == []


def test_shapes_dtypes_and_layer_names(scenes):
    for sc in scenes:
        assert sc.shape == (128, 128)
        assert set(sc.sources) == {"geology", "geophysics", "geochemistry", "remote_sensing"}
        for src in sc.sources.values():
            assert src.data.dtype == np.float32 and src.data.shape[1:] == (128, 128)
        assert sc.sources["geophysics"].layers == list(GEOPHYSICS_LAYERS)
        assert sc.sources["geochemistry"].layers == list(GEOCHEMISTRY_LAYERS)
        assert sc.sources["remote_sensing"].layers == list(REMOTE_SENSING_LAYERS)
        geo = sc.sources["geology"]
        n_codes = int(sc.labels["lithology"].max()) + 1
        assert geo.layers == ["lithology_unit"] * n_codes + ["fault_distance"]
        # Indicators are one-hot and reproduce the lithology label.
        ind = geo.data[:-1]
        assert set(np.unique(ind)) <= {0.0, 1.0}
        np.testing.assert_array_equal(ind.sum(0), 1.0)
        np.testing.assert_array_equal(ind.argmax(0), sc.labels["lithology"])
        assert 4 <= n_codes <= 11


def test_labels(scenes):
    for sc in scenes:
        L = sc.labels
        assert np.issubdtype(L["lithology"].dtype, np.integer)
        for k in ("fault", "dyke", "intrusion", "alteration", "deposits"):
            assert L[k].dtype == bool and L[k].shape == (128, 128), k
        pts = L["deposit_points"]
        assert pts.ndim == 2 and pts.shape[1] == 2 and len(pts) >= 1
        assert np.issubdtype(pts.dtype, np.integer)
        assert L["deposits"].sum() == len(pts) and L["deposits"][pts[:, 0], pts[:, 1]].all()
        assert L["fault"].any()
        # Host stratigraphy has 4-8 units, each actually mapped.
        host_codes = np.unique(L["lithology"][~(L["intrusion"] | L["dyke"])])
        assert 4 <= len(host_codes) <= 8


def test_count_overrides():
    sc = generate_scene(3, size=96, n_intrusions=0, n_faults=0, n_dykes=0)
    assert not sc.labels["intrusion"].any() and not sc.labels["fault"].any() and not sc.labels["dyke"].any()
    assert np.isfinite(sc.sources["geology"].data).all()
    assert len(sc.labels["deposit_points"]) >= 1
    sc = generate_scene(3, size=(96, 80), n_intrusions=2, n_faults=3, n_dykes=2)
    assert sc.shape == (96, 80) and sc.labels["intrusion"].any() and sc.labels["dyke"].any()


def test_geochemistry_gaps_and_other_sources_finite(scenes):
    for sc in scenes:
        nan = np.isnan(sc.sources["geochemistry"].data)
        assert 0.10 <= nan.mean() <= 0.30
        assert (nan == nan[0]).all(), "all elements share the sampling footprint"
        for name in ("geology", "geophysics", "remote_sensing"):
            assert np.isfinite(sc.sources[name].data).all(), name


def test_nodata_border_is_a_strip():
    blanked = 0
    for seed in range(6):
        sc = generate_scene(seed, size=64, nodata_border=True)
        for name in ("geophysics", "remote_sensing", "geology"):
            nan = np.isnan(sc.sources[name].data[0])
            if nan.any():
                blanked += 1
                edge_rows = nan.all(1)
                edge_cols = nan.all(0)
                assert edge_rows[[0, -1]].any() or edge_cols[[0, -1]].any()
                assert nan.mean() < 0.2
    assert blanked > 0


def test_channels_are_robustly_normalised(scenes):
    for sc in scenes:
        for name, src in sc.sources.items():
            chans = src.data if name != "geology" else src.data[-1:]
            for layer, ch in zip(src.layers if name != "geology" else ["fault_distance"], chans):
                v = ch[np.isfinite(ch)]
                assert abs(np.median(v)) < 0.05, (name, layer)
                assert np.abs(v).max() <= 10.0
                iqr = np.subtract(*np.percentile(v, [75, 25]))
                assert 0.5 < iqr / 1.349 < 2.0, (name, layer)


def test_robust_normalise_logs_and_keeps_nan():
    x = np.exp(np.random.default_rng(0).normal(3, 1, (50, 50)))
    x[0, 0] = np.nan
    z = robust_normalise(x, log=True)
    assert z.dtype == np.float32 and np.isnan(z[0, 0])
    v = z[np.isfinite(z)]
    assert abs(np.median(v)) < 1e-6 and abs(np.subtract(*np.percentile(v, [75, 25])) - 1.349) < 0.01
    assert np.all(np.isfinite(robust_normalise(np.ones((4, 4)))))  # constant channel: no division by 0


def _layer(sc, source, name):
    src = sc.sources[source]
    return src.data[src.layers.index(name)]


def test_granite_is_radiometric_high_and_mafic_is_magnetic_high(rich_scenes):
    k_gap, mag_gap, grav_gap = [], [], []
    for sc in rich_scenes:
        L = sc.labels
        outside = ~L["intrusion"] & ~L["dyke"] & ~L["alteration"]
        if L["granite"].sum() > 50:
            k = _layer(sc, "geophysics", "gamma_k")
            k_gap.append(k[L["granite"]].mean() - k[outside].mean())
        mafic_intr = L["mafic"] & L["intrusion"]
        if mafic_intr.sum() > 50:
            m = _layer(sc, "geophysics", "magnetic")
            mag_gap.append(m[mafic_intr].mean() - m[outside].mean())
            g = _layer(sc, "geophysics", "gravity")
            grav_gap.append(g[mafic_intr].mean() - g[outside].mean())
    assert len(k_gap) >= 3 and len(mag_gap) >= 3
    for gaps in (k_gap, mag_gap):
        assert min(gaps) > 0.2 and np.mean(gaps) > 1.5, gaps
    assert np.mean(grav_gap) > 0.2, grav_gap


def test_dykes_are_magnetic(scenes):
    gaps = []
    for sc in scenes:
        d = sc.labels["dyke"]
        if d.sum() > 20:
            m = _layer(sc, "geophysics", "magnetic")
            gaps.append(m[d].mean() - m[~d & ~sc.labels["intrusion"]].mean())
    assert len(gaps) >= 3 and np.mean(gaps) > 1.0


def test_fault_distance_zero_on_faults_and_growing_away(scenes):
    for sc in scenes:
        f = sc.labels["fault"]
        km = sc.labels["fault_distance_km"]
        assert (km[f] == 0).all() and (km[~f] > 0).all()
        expected = ndimage.distance_transform_edt(~f) * 100.0 / 1000.0
        np.testing.assert_allclose(km, expected, atol=1e-5)
        ch = _layer(sc, "geology", "fault_distance")
        assert np.allclose(ch[f], ch.min())
        # The normalised channel is a monotone transform of distance.
        order = np.argsort(km.ravel(), kind="stable")
        assert (np.diff(ch.ravel()[order]) >= -1e-5).all()
    small = generate_scene(0, size=128, pixel_size=50.0)
    np.testing.assert_allclose(small.labels["fault_distance_km"], scenes[0].labels["fault_distance_km"] / 2, atol=1e-6)


def test_faults_offset_stratigraphy():
    """Lithology changes across a fault far more often than over the same step on one side."""
    across, within = [], []
    k = 7
    for seed in range(8):
        sc = generate_scene(seed, size=128, n_faults=1, n_intrusions=0, n_dykes=0)
        lith, f = sc.labels["lithology"], sc.labels["fault"]
        side, n = ndimage.label(~f)
        near = sc.labels["fault_distance_km"] * 10 <= 2 * k  # compare like with like: both near the fault
        for a, b in (((slice(None), slice(0, -k)), (slice(None), slice(k, None))),
                     ((slice(0, -k), slice(None)), (slice(k, None), slice(None)))):
            ok = (side[a] > 0) & (side[b] > 0) & near[a] & near[b]
            straddle = ok & (side[a] != side[b])
            same = ok & (side[a] == side[b])
            differs = lith[a] != lith[b]
            if straddle.sum() > 20 and same.sum() > 20:
                across.append(differs[straddle].mean())
                within.append(differs[same].mean())
    assert len(across) >= 8
    assert np.mean(across) > 1.5 * np.mean(within) and np.mean(across) > 0.2, (np.mean(across), np.mean(within))


def test_deposits_sit_near_faults_and_contacts(rich_scenes):
    rng = np.random.default_rng(0)
    at_dep, at_rand = [], []
    for sc in rich_scenes:
        L = sc.labels
        d_fault = ndimage.distance_transform_edt(~L["fault"])
        intr = L["intrusion"]
        contact = intr ^ ndimage.binary_erosion(intr) if intr.any() else np.zeros_like(intr)
        d_contact = ndimage.distance_transform_edt(~contact) if contact.any() else np.full(intr.shape, 1e3)
        d = np.minimum(d_fault, d_contact)
        pts = L["deposit_points"]
        at_dep.extend(d[pts[:, 0], pts[:, 1]])
        rr = rng.integers(0, d.shape[0], 200)
        cc = rng.integers(0, d.shape[1], 200)
        at_rand.extend(d[rr, cc])
    # Medians: a few deliberate 'surprise' deposits sit anywhere and would dominate a mean.
    at_dep, at_rand = np.array(at_dep), np.array(at_rand)
    assert np.median(at_dep) < 0.3 * np.median(at_rand), (np.median(at_dep), np.median(at_rand))
    assert (at_dep <= 3).mean() > 2 * (at_rand <= 3).mean()
    # The latent favourability agrees with where deposits were put.
    pr = [sc.labels["prospectivity"][tuple(sc.labels["deposit_points"].T)].mean() for sc in rich_scenes]
    bg = [sc.labels["prospectivity"].mean() for sc in rich_scenes]
    assert np.mean(pr) > 3 * np.mean(bg)


def test_copper_is_higher_near_deposits(scenes):
    near_v, far_v = [], []
    for sc in scenes:
        dep = ndimage.distance_transform_edt(~sc.labels["deposits"])
        cu = _layer(sc, "geochemistry", "Cu")
        ok = np.isfinite(cu)
        near = ok & (dep <= 4)
        far = ok & (dep > 25)
        if near.sum() and far.sum():
            near_v.append(cu[near].mean())
            far_v.append(cu[far].mean())
    assert len(near_v) >= 5
    assert np.mean(near_v) > np.mean(far_v) + 1.5, (np.mean(near_v), np.mean(far_v))
