"""Fuzzy overlay: memberships as ArcGIS defines them, Bonham-Carter's operators, and a windowed map
on the real Cloncurry evidence that ranks GA's deposits above the average pixel."""

import os

import numpy as np
import pytest
import rasterio

from engine.classical import fuzzy
from engine.core.errors import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "cloncurry_iocg")


def test_memberships_hit_their_defining_points():
    x = np.array([0.0, 50.0, 100.0, 200.0, np.nan])
    lin = fuzzy.membership(x, "linear", 0, 100)
    assert lin[:4].tolist() == [0.0, 0.5, 1.0, 1.0] and np.isnan(lin[4])
    assert fuzzy.membership(x, "linear", 100, 0)[:4].tolist() == [1.0, 0.5, 0.0, 0.0]  # low is favourable
    small, large = fuzzy.membership(x, "small", 50, 5), fuzzy.membership(x, "large", 50, 5)
    assert small[1] == 0.5 == large[1] and small[0] == 1.0 and large[0] == 0.0
    assert np.all(np.diff(small[:4]) < 0) and np.all(np.diff(large[:4]) > 0)
    g = fuzzy.membership(x, "gaussian", 100, 0.001)
    assert g[2] == 1.0 and g[1] == pytest.approx(np.exp(-2.5)) and g[1] == pytest.approx(g[3] ** 0.25)
    with pytest.raises(InputError, match="unknown membership"):
        fuzzy.membership(x, "cubic", 1, 2)
    with pytest.raises(InputError, match="positive spread"):
        fuzzy.membership(x, "small", 50, -1)


def test_operators_order_and_gamma_limits():
    rng = np.random.default_rng(0)
    m = [rng.random(1000) for _ in range(3)]
    c = {op: fuzzy.combine(m, op) for op in ("and", "or", "product", "sum")}
    assert np.all(c["product"] <= c["and"]) and np.all(c["and"] <= c["or"]) and np.all(c["or"] <= c["sum"])
    np.testing.assert_allclose(fuzzy.combine(m, "gamma", 0.0), c["product"])
    np.testing.assert_allclose(fuzzy.combine(m, "gamma", 1.0), c["sum"])
    g = fuzzy.combine(m, "gamma", 0.9)
    assert np.all(g >= c["product"] - 1e-12) and np.all(g <= c["sum"] + 1e-12)
    with pytest.raises(InputError, match="gamma 2"):
        fuzzy.combine(m, "gamma", 2)
    with pytest.raises(InputError, match="unknown fuzzy operator"):
        fuzzy.combine(m, "xor")


def test_overlay_on_cloncurry_is_windowed_and_ranks_deposits(tmp_path):
    if not os.path.exists(DATA):
        pytest.skip(f"GA's Cloncurry data not found at {DATA}")
    from engine.data.labels import deposit_cells

    d2b = os.path.join(DATA, "weights_inputs", "Dist2Breccia.tif")
    fd = os.path.join(DATA, "weights_inputs", "FaultDensity.tif")
    layers = [(d2b, "small", 5000, 3), (fd, "linear", 1, 10)]
    out = fuzzy.fuzzy_overlay(layers, "gamma", str(tmp_path / "fz.tif"), gamma=0.8, tile=500)
    with rasterio.open(out) as o, rasterio.open(d2b) as a, rasterio.open(fd) as b:
        got = o.read(1)
        whole = fuzzy.combine([fuzzy.membership(a.read(1), "small", 5000, 3),
                               fuzzy.membership(b.read(1), "linear", 1, 10)], "gamma", 0.8)
        _, _, rows, cols, inside = deposit_cells(os.path.join(DATA, "weights_inputs", "IOCG_Deposits.shp"),
                                                 o.crs, o.transform, o.shape)
    np.testing.assert_allclose(got, whole.astype(np.float32))
    at_deposits = got[rows[inside], cols[inside]]
    # the geologist's rule (near breccia, dense faults) ranks GA's 258 deposits well above chance (0.5 +- 0.02)
    sample = got.ravel()[::97][None, :]
    auc = np.mean(at_deposits[:, None] > sample) + 0.5 * np.mean(at_deposits[:, None] == sample)
    assert auc > 0.6
    small = str(tmp_path / "small.tif")  # a crop of the same raster: another grid
    with rasterio.open(d2b) as a:
        prof = dict(a.profile, width=100, height=100)
        with rasterio.open(small, "w", **prof) as d:
            d.write(a.read(1, window=rasterio.windows.Window(0, 0, 100, 100)), 1)
    with pytest.raises(InputError, match="not on the grid"):
        fuzzy.fuzzy_overlay([(d2b, "small", 5000, 3), (small, "linear", 0, 1)], "and", str(tmp_path / "bad.tif"))
    assert not os.path.exists(tmp_path / "bad.tif")


def test_cli_fuzzy(tmp_path):
    if not os.path.exists(DATA):
        pytest.skip(f"GA's Cloncurry data not found at {DATA}")
    from helpers import run_engine

    d2b = os.path.join(DATA, "weights_inputs", "Dist2Breccia.tif")
    r = run_engine("fuzzy", "--layer", d2b, "small", 5000, 3, "--operator", "or", "--out", tmp_path / "f.tif")
    assert r.returncode == 0, r.stderr
    with rasterio.open(tmp_path / "f.tif") as f, rasterio.open(d2b) as a:
        np.testing.assert_allclose(f.read(1), fuzzy.membership(a.read(1), "small", 5000, 3).astype(np.float32))
    r = run_engine("fuzzy", "--layer", d2b, "small", "near", 3, "--out", tmp_path / "g.tif")
    assert r.returncode == 2 and "not numbers" in r.stderr and not os.path.exists(tmp_path / "g.tif")
