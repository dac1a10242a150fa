"""Potential-field derivatives (engine/data/derivatives.py, `python -m engine derivatives`): the tilt derivative
is zero on a contact and the horizontal gradient peaks there, the vertical derivative of a harmonic field is
|k| times it, tiles with a halo give the whole grid's answer on the real Kolari magnetics, nodata stays nodata,
and bad input stops with the fix and writes nothing."""

import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from scipy import ndimage

from helpers import run_engine, write_raster

from engine.core.errors import InputError
from engine.data.derivatives import KINDS, derivatives, write_derivatives
from engine.operations import DERIVATIVE_KINDS

PIXEL = 100.0


def test_the_declared_kinds_are_the_engines():
    assert DERIVATIVE_KINDS == KINDS


def test_tilt_is_zero_on_a_contact_where_the_horizontal_gradient_peaks():
    """A smoothed N-S step (a vertical contact between two densities, as gravity sees it): tilt changes sign
    across it, and both maps put the contact at the step's column, not at the grid's edges."""
    H, W, col = 120, 200, 83
    z = np.tile(np.where(np.arange(W) < col, 0.0, 10.0), (H, 1))
    z = ndimage.gaussian_filter1d(z, 4.0, axis=1, mode="nearest")
    d = derivatives(z, PIXEL, PIXEL)
    row = H // 2
    thg, tilt = d["horizontal_gradient"][row], d["tilt"][row]
    assert abs(int(np.argmax(thg)) - col) <= 1
    crossings = np.flatnonzero(np.diff(np.sign(tilt[20:-20])) != 0) + 20
    assert len(crossings) and np.min(np.abs(crossings - col)) <= 1
    assert tilt[col - 10] * tilt[col + 10] < 0
    assert np.all(np.abs(tilt) <= np.pi / 2 + 1e-6)


def test_vertical_derivative_of_a_harmonic_field_is_k_times_it():
    H, W = 128, 256
    k = 2 * np.pi / (32 * PIXEL)  # 32 px wavelength, a whole number of periods across the grid
    x = np.arange(W) * PIXEL
    z = np.tile(np.cos(k * x), (H, 1))
    vdr = derivatives(z, PIXEL, PIXEL)["vertical_derivative"]
    inner = (slice(32, -32), slice(64, -64))
    assert np.allclose(vdr[inner], k * z[inner], atol=0.03 * k)


def test_nodata_stays_nodata_and_the_input_is_untouched(tmp_path):
    rng = np.random.default_rng(3)
    z = ndimage.gaussian_filter(rng.normal(size=(90, 110)), 5) * 500
    z[:12, :30] = -99999.0
    src = write_raster(tmp_path / "mag.tif", z.astype(np.float32), from_origin(400000, 7500000, PIXEL, PIXEL),
                       nodata=-99999.0)
    before = open(src, "rb").read()
    out = write_derivatives(src, str(tmp_path / "d.tif"), tile=64, halo=32)
    assert open(src, "rb").read() == before
    with rasterio.open(out) as ds:
        assert ds.descriptions == KINDS and ds.crs.to_epsg() == 3067 and ds.transform == rasterio.open(src).transform
        a = ds.read()
    assert np.isnan(a[:, :12, :30]).all() and np.isfinite(a[:, 12:, :]).all() and np.isfinite(a[:, :, 30:]).all()
    # nodata filled from its neighbours makes no edge: the gradient next to the hole is like the rest
    assert np.nanmax(a[1, 12:16, :34]) < 3 * np.nanpercentile(a[1], 99)


def test_tiles_with_a_halo_give_the_whole_grids_answer_on_the_kolari_magnetics(kolari, tmp_path):
    grid = os.path.join(kolari, "Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif")
    whole = write_derivatives(grid, str(tmp_path / "whole.tif"), tile=4096)
    tiled = write_derivatives(grid, str(tmp_path / "tiled.tif"), tile=256, halo=128)
    with rasterio.open(whole) as a_ds, rasterio.open(tiled) as b_ds, rasterio.open(grid) as src:
        a, b, ok = a_ds.read(), b_ds.read(), src.read_masks(1) > 0
    assert (np.isfinite(a[0]) == ok).all() and (np.isfinite(b[0]) == ok).all()
    scale = np.nanpercentile(np.abs(a), 95, axis=(1, 2))
    err = np.abs(a - b)[:, ok] / scale[:, None]
    assert err[1].max() < 1e-6                      # horizontal gradient: local, identical
    assert err[2].max() < 0.01                      # vertical derivative: the halo holds the kernel
    assert np.percentile(err[0], 99) < 0.05         # tilt: unstable only where both derivatives vanish
    assert np.nanmax(np.abs(a[0])) <= np.pi / 2 + 1e-6


def test_cli_writes_one_band_and_refuses_what_it_cannot_do(tmp_path):
    z = ndimage.gaussian_filter(np.random.default_rng(1).normal(size=(60, 70)), 4) * 100
    src = write_raster(tmp_path / "g.tif", z.astype(np.float32), from_origin(400000, 7500000, PIXEL, PIXEL))
    r = run_engine("derivatives", src, "--out", str(tmp_path / "tilt.tif"), "--derivative", "tilt")
    assert r.returncode == 0, r.stderr
    with rasterio.open(tmp_path / "tilt.tif") as ds:
        assert ds.count == 1 and ds.descriptions == ("tilt",)
    # an existing output is kept without --overwrite
    r = run_engine("derivatives", src, "--out", str(tmp_path / "tilt.tif"))
    assert r.returncode != 0 and "overwrite" in (r.stderr + r.stdout).lower()
    # geographic pixels are not metres: refused with the fix, nothing written
    geo = write_raster(tmp_path / "geo.tif", z.astype(np.float32), from_origin(24.0, 68.0, 0.001, 0.001),
                       crs="EPSG:4326")
    with pytest.raises(InputError, match="projected CRS") as e:
        write_derivatives(geo, str(tmp_path / "geo_d.tif"))
    assert "reproject" in str(e.value)
    assert not os.path.exists(tmp_path / "geo_d.tif")
    with pytest.raises(InputError, match="no band 2"):
        write_derivatives(src, str(tmp_path / "b2.tif"), band=2)
