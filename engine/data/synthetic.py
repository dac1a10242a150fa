"""Seeded synthetic geology scenes with known truth.

Real prospectivity data come with a handful of labelled deposits at best, so the encoders are
pretrained on scenes whose geology we control: every physical response is derived from one
lithology/structure model, which gives the cross-source correlations a foundation model has to
learn, and the truth maps (faults, intrusions, deposits) let probes and the structure
segmenter be scored without any real labels.

Geometry is defined in pixels: the same seed gives the same map pattern at any `pixel_size`,
which only sets the units of distance channels (km). Pure numpy/scipy, no file I/O.

Continuous channels are robust z-scores (see `robust_normalise`); the one-hot
"lithology_unit" channels stay {0, 1}, because z-scoring a rare unit would blow it up to +10.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft
from scipy import ndimage

from .scene import Scene, SourceArray

__all__ = [
    "generate_scene",
    "generate_scenes",
    "robust_normalise",
    "GEOLOGY_LITHOLOGY_LAYER",
    "GEOLOGY_FAULT_DISTANCE_LAYER",
    "GEOPHYSICS_LAYERS",
    "GEOCHEMISTRY_LAYERS",
    "REMOTE_SENSING_LAYERS",
]

GEOLOGY_LITHOLOGY_LAYER = "lithology_unit"
GEOLOGY_FAULT_DISTANCE_LAYER = "fault_distance"
GEOPHYSICS_LAYERS = (
    "magnetic", "gravity", "em_inphase", "em_quadrature", "resistivity",
    "gamma_k", "gamma_th", "gamma_u", "gamma_total",
)
GEOCHEMISTRY_LAYERS = ("Cu", "Co", "Au", "Fe", "Ni", "Zn", "K", "Th", "U", "La", "Mn", "Ba")
REMOTE_SENSING_LAYERS = ("band_red", "band_nir", "band_swir1", "band_swir2", "dem")

# Crustal-average soil backgrounds (ppm), so log-ratios between elements look like real data.
_BACKGROUND_PPM = np.array([30, 15, 0.003, 40000, 30, 60, 20000, 8, 2, 30, 700, 400], float)
# How strongly each element follows mafic (+) versus felsic (-) rock composition (log units).
_MAFIC_AFFINITY = np.array([0.9, 1.1, 0.2, 0.8, 1.4, 0.5, -1.0, -1.2, -1.0, -0.8, 0.6, -0.6])
_EL = {name: i for i, name in enumerate(GEOCHEMISTRY_LAYERS)}

_REF_SIZE = 256  # default counts are tuned for 256 x 256: bodies scale with area, lines with side


# --------------------------------------------------------------------------- public API


def robust_normalise(x, log=False):
    """Median/IQR z-score clipped to +-10, so outliers (deposits!) cannot swamp a channel.

    Skewed positive quantities (concentrations, resistivity) are logged first because their
    IQR would otherwise be set by the background alone. NaN stays NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    valid = np.isfinite(x)
    if log:
        pos = x[valid & (x > 0)]
        pos = pos[:: max(1, pos.size // 20000)]
        floor = np.percentile(pos, 0.1) * 0.5 if pos.size else 1e-12
        x = np.log(np.maximum(x, floor))
    v = x[valid]
    if v.size == 0:
        return x.astype(np.float32)
    if v.size > 40000:  # quartiles of a regular subsample are accurate to well under 1 %
        v = v[:: v.size // 20000]
    q25, med, q75 = np.percentile(v, [25, 50, 75])
    scale = (q75 - q25) / 1.349
    if not scale > 1e-12 * max(1.0, abs(med)):
        scale = float(v.std())  # near-constant channel: IQR degenerates
        if not scale > 1e-12 * max(1.0, abs(med)):
            scale = 1.0
    return np.clip((x - med) / scale, -10.0, 10.0).astype(np.float32)


def generate_scene(seed: int, size=256, pixel_size: float = 100.0, n_intrusions=None,
                   n_faults=None, n_dykes=None, nodata_border: bool = False) -> Scene:
    """One synthetic area: four normalised sources plus the truth maps that produced them.

    Counts left as None are drawn from the seed. `nodata_border` blanks a random edge strip on
    some sources, as clipped survey extents do.
    """
    H, W = (size, size) if np.isscalar(size) else (int(size[0]), int(size[1]))
    if H < 8 or W < 8:
        raise ValueError(f"scene size {(H, W)} too small; need at least 8 x 8 pixels")
    # Independent streams per stage: changing e.g. n_faults does not reshuffle the folds.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(8)]
    rs_strat, rs_fault, rs_intr, rs_dyke, rs_dep, rs_phys, rs_chem, rs_misc = streams
    s = float(np.sqrt(H * W))
    area = H * W / _REF_SIZE**2
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)

    # ---- host stratigraphy (fold surface) and faults that throw it
    z, n_host = _fold_surface(rs_strat, yy, xx, H, W, s)
    if n_faults is None:
        n_faults = max(1, _stochastic_round(rs_fault, rs_fault.integers(2, 5) * np.sqrt(area)))
    faults = _faults(rs_fault, yy, xx, H, W, s, n_faults, z)
    for f in faults:
        z = z + f["throw"] * (f["d"] > 0)
    host = _quantise(rs_strat, z, n_host)
    fault_mask = np.zeros((H, W), bool)
    fault_instances = np.zeros((H, W), np.int32)  # 0 none, i + 1 = fault i; later faults win at crossings
    for i, f in enumerate(faults):
        on = np.abs(f["d"]) <= f["width"] / 2
        fault_mask |= on
        fault_instances[on] = i + 1
    d_fault = _distance_to(fault_mask, s)
    near = sum((np.abs(f["d"]) < 6).astype(np.int8) for f in faults) if faults else np.zeros((H, W), np.int8)
    intersection = near >= 2

    # ---- intrusions (after faulting, often fault-sited) with contact aureoles
    if n_intrusions is None:
        n_intrusions = _stochastic_round(rs_intr, rs_intr.integers(1, 4) * area)
    granite, mafic_intr = _intrusions(rs_intr, yy, xx, H, W, s, n_intrusions, fault_mask)
    intrusion = granite | mafic_intr
    d_out = _distance_to(intrusion, s)
    d_in = _distance_to(~intrusion, s) if intrusion.any() else np.zeros((H, W))
    d_contact = np.where(intrusion, d_in, d_out)
    aur_noise = _grf(rs_intr, (H, W), s / 25)[0]
    aureole = (~intrusion) & (d_out <= rs_intr.uniform(3, 7) * (1 + 0.3 * aur_noise))
    granite_aureole = aureole & (_distance_to(granite, s) <= d_out + 0.5) if granite.any() else np.zeros((H, W), bool)

    # ---- late dykes cut everything
    if n_dykes is None:
        n_dykes = _stochastic_round(rs_dyke, rs_dyke.integers(1, 5) * np.sqrt(area))
    dyke = _dykes(rs_dyke, yy, xx, H, W, s, n_dykes)

    # ---- lithology codes: host units, then granite, mafic intrusion, dyke (those present)
    lith = host.astype(np.int32)
    code_kind = ["host"] * n_host
    for mask, kind in ((granite, "granite"), (mafic_intr, "mafic"), (dyke, "dyke")):
        if mask.any():
            lith[mask] = len(code_kind)
            code_kind.append(kind)
    props = _rock_properties(rs_phys, code_kind)
    mafic = mafic_intr | dyke

    # ---- mineralisation where faults meet intrusion contacts
    reactive = int(rs_dep.integers(0, n_host))
    prospectivity = _prospectivity(d_fault, d_contact, intrusion.any(), intersection, host == reactive)
    n_dep = max(1, _stochastic_round(rs_dep, rs_dep.integers(3, 9) * area))
    points = _place_deposits(rs_dep, prospectivity, n_dep, min_sep=max(4.0, s / 32))
    deposits = np.zeros((H, W), bool)
    if len(points):
        deposits[points[:, 0], points[:, 1]] = True
    hydro, dep_core, dep_dist = _deposit_zones(rs_dep, yy, xx, points, H, W, s)
    alteration = aureole | hydro
    mafic_style = _deposit_styles(points, lith, props, mafic_intr)

    # ---- observations
    misc = _shared_fields(rs_misc, (H, W), s)
    dem = _dem(misc, lith, props, d_fault)
    geophys = _geophysics(rs_phys, lith, props, hydro, granite_aureole, fault_mask, dep_core, misc, s)
    rs_bands = _remote_sensing(rs_misc, lith, props, hydro, dep_dist, misc, dem, pixel_size)
    chem, chem_valid = _geochemistry(rs_chem, lith, props, mafic_style, points, yy, xx, H, W, s, area)

    fault_km = (d_fault * pixel_size / 1000.0).astype(np.float32)
    geo_layers = [GEOLOGY_LITHOLOGY_LAYER] * len(code_kind) + [GEOLOGY_FAULT_DISTANCE_LAYER]
    geo_data = np.concatenate([
        (lith[None] == np.arange(len(code_kind))[:, None, None]).astype(np.float32),
        robust_normalise(fault_km)[None],
    ])
    gp_data = np.stack([robust_normalise(geophys[k], log=k in ("resistivity", "em_inphase", "em_quadrature"))
                        for k in GEOPHYSICS_LAYERS])
    chem = np.where(chem_valid[None], chem, np.nan)
    gc_data = np.stack([robust_normalise(c, log=True) for c in chem])
    rs_data = np.stack([robust_normalise(rs_bands[k]) for k in REMOTE_SENSING_LAYERS])
    data = {"geology": geo_data, "geophysics": gp_data, "geochemistry": gc_data, "remote_sensing": rs_data}
    if nodata_border:
        for name in data:
            if rs_misc.random() < 0.5:
                data[name] = _blank_border(rs_misc, data[name], s)
    sources = {
        "geology": SourceArray(data["geology"], geo_layers),
        "geophysics": SourceArray(data["geophysics"], list(GEOPHYSICS_LAYERS)),
        "geochemistry": SourceArray(data["geochemistry"], list(GEOCHEMISTRY_LAYERS)),
        "remote_sensing": SourceArray(data["remote_sensing"], list(REMOTE_SENSING_LAYERS)),
    }
    labels = {
        "lithology": lith,
        "fault": fault_mask,
        "fault_instances": fault_instances,
        "dyke": dyke,
        "intrusion": intrusion,
        "alteration": alteration,
        "deposits": deposits,
        "deposit_points": points.astype(np.int64).reshape(-1, 2),
        "granite": granite,
        "mafic": mafic,
        "fault_distance_km": fault_km,
        "prospectivity": prospectivity.astype(np.float32),
    }
    return Scene(sources=sources, labels=labels)


def generate_scenes(n: int, seed: int, size=256, **kwargs) -> list:
    """`n` scenes whose seeds derive from `seed`, so a whole training set is reproducible."""
    seeds = np.random.SeedSequence(int(seed)).generate_state(max(int(n), 0), dtype=np.uint64)
    return [generate_scene(int(sd), size=size, **kwargs) for sd in seeds]


def _stochastic_round(rng, x):
    """Scale feature counts to the grid without small scenes always rounding down to zero."""
    return int(np.floor(x + rng.random()))


# --------------------------------------------------------------------------- fields & filters


def _grf(rng, shape, scale, n=1):
    """Smooth Gaussian random fields (zero mean, unit std) at any correlation length, cheaply.

    Fields with long correlation lengths are synthesised on a coarse grid and interpolated up:
    they hold no short-wavelength energy, so nothing is lost and large scales cost no more.
    """
    H, W = shape
    q = max(1.0, scale / 3.0)
    hc, wc = int(np.ceil(H / q)) + 2, int(np.ceil(W / q)) + 2
    sc = scale / q
    pad = int(1.5 * sc) + 1
    hp, wp = sp_fft.next_fast_len(hc + 2 * pad, real=True), sp_fft.next_fast_len(wc + 2 * pad, real=True)
    noise = rng.standard_normal((n, hp, wp), dtype=np.float32)
    fy = np.fft.fftfreq(hp)[:, None]
    fx = np.fft.rfftfreq(wp)[None, :]
    transfer = np.exp(-2 * np.pi**2 * sc**2 * (fy**2 + fx**2)).astype(np.float32)
    coarse = sp_fft.irfft2(sp_fft.rfft2(noise) * transfer, s=(hp, wp))[:, pad:pad + hc, pad:pad + wc]
    if q > 1.0:
        coarse = np.einsum("hi,nij,wj->nhw", _interp_matrix(H, hc, q), coarse, _interp_matrix(W, wc, q),
                           optimize=True)
    out = coarse[:, :H, :W].astype(np.float64)
    out -= out.mean(axis=(1, 2), keepdims=True)
    out /= out.std(axis=(1, 2), keepdims=True) + 1e-12
    return out


def _interp_matrix(n_out, n_in, step):
    """Linear-interpolation weights from a coarse axis (spacing `step`) to the pixel axis."""
    pos = np.arange(n_out) / step
    i0 = np.minimum(pos.astype(int), n_in - 2)
    frac = pos - i0
    m = np.zeros((n_out, n_in), np.float32)
    m[np.arange(n_out), i0] = 1 - frac
    m[np.arange(n_out), i0 + 1] = frac
    return m


def _fft_apply(stack, make_transfer, pad):
    """Multiply the spectrum of reflect-padded channels by a transfer function; edges do not wrap."""
    stack = np.asarray(stack, np.float32)
    squeeze = stack.ndim == 2
    if squeeze:
        stack = stack[None]
    _, H, W = stack.shape
    p = int(pad)
    hp = sp_fft.next_fast_len(H + 2 * p, real=True)
    wp = sp_fft.next_fast_len(W + 2 * p, real=True)
    py, px = min(hp - H, 2 * H - 2), min(wp - W, 2 * W - 2)  # reflect padding needs < size
    padded = np.pad(stack, ((0, 0), (py // 2, py - py // 2), (px // 2, px - px // 2)), mode="reflect")
    out = sp_fft.irfft2(sp_fft.rfft2(padded, s=(hp, wp)) * make_transfer(hp, wp), s=(hp, wp))
    out = out[:, py // 2:py // 2 + H, px // 2:px // 2 + W].astype(np.float64)
    return out[0] if squeeze else out


def _upward_continue(img, height_px):
    """Potential-field upward continuation: exp(-2 pi |k| h) attenuates short wavelengths."""
    def transfer(hp, wp):
        k = np.hypot(np.fft.fftfreq(hp)[:, None], np.fft.rfftfreq(wp)[None, :])
        return np.exp(-2 * np.pi * k * height_px).astype(np.float32)

    return _fft_apply(img, transfer, pad=min(max(img.shape) // 2, 6 * height_px + 8))


def _kernel_convolve(stack, kernel, pad):
    """Convolve with a kernel given as a function of pixel offsets (dy, dx)."""
    def transfer(hp, wp):
        dy = ((np.arange(hp) + hp // 2) % hp - hp // 2)[:, None].astype(float)
        dx = ((np.arange(wp) + wp // 2) % wp - wp // 2)[None, :].astype(float)
        k = kernel(dy, dx)
        return sp_fft.rfft2((k / k.sum()).astype(np.float32))

    return _fft_apply(stack, transfer, pad)


def _distance_to(mask, s):
    """Euclidean pixel distance to the nearest True pixel (large constant when there is none)."""
    if not mask.any():
        return np.full(mask.shape, 4.0 * s)
    return ndimage.distance_transform_edt(~mask)


# --------------------------------------------------------------------------- geology


def _fold_surface(rng, yy, xx, H, W, s):
    """Stratigraphic height: a tilted sequence folded twice (interference) plus irregularity."""
    n_units = int(rng.integers(4, 9))
    th = rng.uniform(0, np.pi)
    cy, cx = H / 2, W / 2
    u = (xx - cx) * np.cos(th) + (yy - cy) * np.sin(th)
    v = -(xx - cx) * np.sin(th) + (yy - cy) * np.cos(th)
    lam = rng.uniform(0.3, 0.9) * s
    k = 2 * np.pi / lam
    tightness = rng.uniform(0.4, 2.2)  # amplitude*k > 1 overturns the limbs and repeats units
    amp = tightness / k
    plunge = 1 + 0.5 * np.tanh(rng.uniform(-2, 2) * v / s)
    phase = rng.uniform(0, 2 * np.pi) + rng.uniform(-3, 3) * (v / s) ** 2  # curved axial traces
    z = u + amp * plunge * np.sin(k * u + phase)
    th2 = th + rng.uniform(np.pi / 3, 2 * np.pi / 3)
    u2 = (xx - cx) * np.cos(th2) + (yy - cy) * np.sin(th2)
    lam2 = rng.uniform(0.4, 1.2) * s
    z += rng.uniform(0.05, 0.35) * lam2 / (2 * np.pi) * np.sin(2 * np.pi * u2 / lam2 + rng.uniform(0, 2 * np.pi))
    z += rng.uniform(0.02, 0.06) * s * _grf(rng, (H, W), s / 14)[0]
    return z, n_units


def _quantise(rng, z, n_units):
    """Cut the fold surface into units with random thicknesses; every unit appears in the map."""
    frac = rng.dirichlet(np.full(n_units, 3.0))
    frac = 0.7 * frac + 0.3 / n_units
    breaks = np.quantile(z, np.cumsum(frac)[:-1])
    order = rng.permutation(n_units)  # unit ids carry no stratigraphic order
    return order[np.digitize(z, breaks)]


def _faults(rng, yy, xx, H, W, s, n, z):
    """Gently curved faults crossing the scene; each throws the stratigraphy on one side."""
    lo, hi = np.percentile(z, [2, 98])
    faults = []
    for _ in range(n):
        p0y, p0x = rng.uniform(0.15, 0.85) * H, rng.uniform(0.15, 0.85) * W
        th = rng.uniform(0, np.pi)
        ny, nx = np.cos(th), -np.sin(th)
        t = (xx - p0x) * np.cos(th) + (yy - p0y) * np.sin(th)
        c = rng.uniform(-1, 1) * 0.5 / s
        d = ((xx - p0x) * nx + (yy - p0y) * ny + c * t**2) / np.sqrt(1 + (2 * c * t) ** 2)
        throw = rng.choice([-1, 1]) * rng.uniform(0.35, 1.0) * (hi - lo) / 6
        faults.append({"d": d, "width": rng.uniform(2.0, 4.0), "throw": throw})
    return faults


def _intrusions(rng, yy, xx, H, W, s, n, fault_mask):
    """Blobby ellipses, granite or mafic; most are sited on a fault, as magmas use them as conduits."""
    granite = np.zeros((H, W), bool)
    mafic = np.zeros((H, W), bool)
    if n <= 0:
        return granite, mafic
    rough = _grf(rng, (H, W), s / 30, n=n)
    fault_idx = np.flatnonzero(fault_mask)
    for i in range(n):
        if fault_idx.size and rng.random() < 0.6:
            cy, cx = np.unravel_index(fault_idx[rng.integers(fault_idx.size)], (H, W))
        else:
            cy, cx = rng.uniform(0.1, 0.9) * H, rng.uniform(0.1, 0.9) * W
        a = rng.uniform(0.05, 0.13) * s
        b = a * rng.uniform(0.5, 1.0)
        th = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(th) + (yy - cy) * np.sin(th)
        v = -(xx - cx) * np.sin(th) + (yy - cy) * np.cos(th)
        body = (u / a) ** 2 + (v / b) ** 2 + 0.35 * rough[i] < 1
        if rng.random() < 0.6:
            granite |= body
        else:
            mafic |= body
    mafic &= ~granite
    return granite, mafic


def _dykes(rng, yy, xx, H, W, s, n):
    """A dyke swarm: thin, near-parallel, finite segments."""
    dyke = np.zeros((H, W), bool)
    base = rng.uniform(0, np.pi)
    for _ in range(n):
        th = base + rng.normal(0, 0.12)
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
        t = (xx - cx) * np.cos(th) + (yy - cy) * np.sin(th)
        d = -(xx - cx) * np.sin(th) + (yy - cy) * np.cos(th)
        dyke |= (np.abs(d) <= rng.uniform(0.6, 1.3)) & (np.abs(t) <= rng.uniform(0.25, 0.75) * s)
    return dyke


def _rock_properties(rng, code_kind):
    """Per-lithology physical and chemical properties, all driven by one 'maficness' so sources agree."""
    n = len(code_kind)
    fixed = {"granite": -0.3, "mafic": 1.3, "dyke": 1.2}
    m = np.array([fixed.get(kind, np.nan) for kind in code_kind])
    m[np.isnan(m)] = rng.uniform(0, 1, int(np.isnan(m).sum()))
    p = {"kind": code_kind, "m": m}
    p["chi"] = 10 ** (-4.6 + 2.3 * m + rng.normal(0, 0.25, n))  # SI susceptibility
    p["density"] = 2.62 + 0.33 * np.clip(m, 0, None) + rng.normal(0, 0.03, n)
    p["log_rho"] = rng.uniform(1.6, 3.4, n)
    graphitic = rng.random(n) < 0.15
    p["log_rho"][graphitic] = rng.uniform(0.3, 1.0, graphitic.sum())
    felsic = np.clip(1 - m, 0, 1.3)
    p["K"] = (0.3 + 2.8 * felsic) * np.exp(rng.normal(0, 0.15, n))  # %
    p["Th"] = (1.0 + 14 * felsic) * np.exp(rng.normal(0, 0.15, n))  # ppm
    p["U"] = (0.4 + 3.5 * felsic) * np.exp(rng.normal(0, 0.15, n))  # ppm
    p["albedo"] = np.clip(0.33 - 0.14 * m + rng.normal(0, 0.03, n), 0.06, 0.6)
    p["iron"] = rng.uniform(0, 1, n)
    p["clay"] = rng.uniform(0, 1, n)
    p["resistance"] = rng.uniform(0, 1, n)  # to erosion: sets topographic relief
    p["chem"] = (_MAFIC_AFFINITY[:, None] * (m[None] - 0.5) * 1.3
                 + rng.normal(0, 0.25, (len(GEOCHEMISTRY_LAYERS), n)))
    for i, kind in enumerate(code_kind):
        if kind == "granite":
            p["chi"][i], p["log_rho"][i], p["albedo"][i] = 2e-5, 3.8, 0.42
            p["K"][i], p["Th"][i], p["U"][i] = 4.6, 28.0, 7.0
            p["resistance"][i] = rng.uniform(0.5, 1.0)
        elif kind == "mafic":
            p["chi"][i], p["log_rho"][i] = 10 ** rng.uniform(-1.6, -1.2), 3.0
            p["density"][i] = 3.0
        elif kind == "dyke":
            p["chi"][i], p["log_rho"][i], p["density"][i] = 10 ** rng.uniform(-1.6, -1.2), 3.2, 2.95
            p["resistance"][i] = 0.95
    return p


# --------------------------------------------------------------------------- mineralisation


def _prospectivity(d_fault, d_contact, has_intrusion, intersection, reactive_host):
    """Latent favourability: structural traps near intrusive heat/fluid sources, in a reactive host."""
    f = np.exp(-d_fault / 5.0)
    c = np.exp(-d_contact / 6.0) if has_intrusion else np.zeros_like(d_fault)
    score = f * (0.25 + 2.0 * c) + 0.8 * c + 1.2 * intersection * f
    score *= 1.0 + 0.5 * reactive_host
    return score / max(score.max(), 1e-12)


def _place_deposits(rng, prospectivity, n, min_sep):
    """Sample points in proportion to favourability, plus a small chance anywhere, kept apart."""
    w = prospectivity.ravel().astype(np.float64) ** 3
    p = 0.92 * w / max(w.sum(), 1e-300) + 0.08 / w.size  # ~8 % barren-looking 'surprise' deposits
    cand = rng.choice(p.size, size=30 * n, p=p)
    H, W = prospectivity.shape
    rows, cols = np.divmod(cand, W)
    chosen = []
    for r, c in zip(rows, cols):
        if all((r - a) ** 2 + (c - b) ** 2 >= min_sep**2 for a, b in chosen):
            chosen.append((r, c))
            if len(chosen) == n:
                break
    return np.array(chosen, dtype=np.int64).reshape(-1, 2)


def _deposit_zones(rng, yy, xx, points, H, W, s):
    """Hydrothermal alteration envelopes and the sulphide core of each deposit."""
    hydro = np.zeros((H, W), bool)
    core = np.zeros((H, W))
    dist = np.full((H, W), 4.0 * s)
    rough = _grf(rng, (H, W), s / 40)[0]
    for r, c in points:
        d = np.hypot(yy - r, xx - c)
        dist = np.minimum(dist, d)
        hydro |= d <= rng.uniform(4, 10) * (1 + 0.3 * rough)
        core = np.maximum(core, np.exp(-0.5 * (d / rng.uniform(1.5, 3.0)) ** 2))
    return hydro, core, dist


def _deposit_styles(points, lith, props, mafic_intr):
    """Magmatic Ni-Cu-Co where the host is mafic, otherwise hydrothermal Cu-Au(-Zn)."""
    if not len(points):
        return np.zeros(0, bool)
    m_at = props["m"][lith[points[:, 0], points[:, 1]]]
    near_mafic = np.zeros(len(points), bool)
    if mafic_intr.any():
        near_mafic = ndimage.distance_transform_edt(~mafic_intr)[points[:, 0], points[:, 1]] <= 6
    return (m_at > 0.9) | near_mafic


# --------------------------------------------------------------------------- observations


def _shared_fields(rng, shape, s):
    """Random fields reused across sources (regional trends, cover, texture)."""
    big, mid, small = _grf(rng, shape, s / 4, n=3), _grf(rng, shape, s / 14, n=3), _grf(rng, shape, s / 60, n=3)
    return {"big": big, "mid": mid, "small": small}


def _dem(misc, lith, props, d_fault):
    """Resistant units stand up, fault zones erode into valleys (metres)."""
    relief = ndimage.gaussian_filter(props["resistance"][lith], 2.5)
    return (300 + 120 * misc["big"][0] + 25 * misc["mid"][0] + 60 * relief
            - 25 * np.exp(-d_fault / 3.0) + 2 * misc["small"][0])


def _geophysics(rng, lith, props, hydro, granite_aureole, fault_mask, core, misc, s):
    """Physical responses in survey units; each is a smoothed view of the same rock model."""
    H, W = lith.shape
    out = {}
    # Magnetics: magnetite destroyed by alteration and oxidised along faults; mafic-style
    # deposits carry pyrrhotite/magnetite.
    chi = props["chi"][lith] * np.exp(0.3 * misc["small"][1])
    chi = np.where(hydro, chi * 0.3, chi)
    chi = np.where(fault_mask, chi * 0.5, chi)
    chi = chi + 0.004 * core
    tmi = 50000.0 * chi
    out["magnetic"] = (_upward_continue(tmi, 2.0) + 40 * misc["big"][1]
                       + rng.normal(0, 0.5, (H, W)))
    # Gravity (mGal): long-wavelength view of the density contrast plus a regional gradient.
    rho = props["density"][lith] + 0.4 * core
    gy, gx = rng.normal(0, 2.0 / s, 2)
    yy, xx = np.mgrid[0:H, 0:W]
    out["gravity"] = (_upward_continue(60.0 * (rho - 2.67), 5.0) + 3 * misc["big"][2]
                      + gy * yy + gx * xx + rng.normal(0, 0.03, (H, W)))
    # Resistivity / EM: conductive faults, altered zones and sulphide cores; system footprint smooths.
    log_rho = (props["log_rho"][lith] - 0.5 * fault_mask - 0.6 * hydro - 1.8 * core
               + 0.12 * misc["small"][2] - 0.25 * misc["mid"][1])
    log_rho = ndimage.gaussian_filter(log_rho, 1.5)
    rho_app = 10 ** log_rho * np.exp(rng.normal(0, 0.05, (H, W)))
    theta = 100.0 / rho_app  # induction number relative to a 100 ohm-m half-space
    out["resistivity"] = rho_app
    out["em_inphase"] = 1000 * theta**2 / (1 + theta**2) * np.exp(rng.normal(0, 0.05, (H, W))) + 0.5
    out["em_quadrature"] = 1000 * theta / (1 + theta**2) * np.exp(rng.normal(0, 0.05, (H, W))) + 0.5
    # Radiometrics: potassic alteration, granite-derived aureoles; wet cover attenuates.
    K = props["K"][lith] * np.where(hydro, 1.6, 1.0) * np.where(granite_aureole, 1.3, 1.0)
    Th = props["Th"][lith] * np.where(hydro, 0.9, 1.0)
    U = props["U"][lith] * np.where(granite_aureole, 1.2, 1.0)
    cover = np.clip(1 - 0.25 * (misc["mid"][2] > 0.8) - 0.05 * misc["mid"][2], 0.5, 1.1)
    K, Th, U = (ndimage.gaussian_filter(a, 1.5) * cover for a in (K, Th, U))
    K = K + rng.normal(0, 1, (H, W)) * 0.08 * np.sqrt(K)
    Th = Th + rng.normal(0, 1, (H, W)) * 0.4 * np.sqrt(Th)
    U = U + rng.normal(0, 1, (H, W)) * 0.35 * np.sqrt(U)
    out["gamma_k"], out["gamma_th"], out["gamma_u"] = K, Th, U
    out["gamma_total"] = 13.078 * K + 5.675 * U + 2.494 * Th + rng.normal(0, 1.0, (H, W))  # nGy/h
    return out


def _remote_sensing(rng, lith, props, hydro, dep_dist, misc, dem, pixel_size):
    """Reflectance: rock spectra (clay SWIR absorption, ferric gossans) under vegetation and hillshade."""
    H, W = lith.shape
    alb = props["albedo"][lith]
    iron = props["iron"][lith]
    clay = props["clay"][lith]
    rock = np.stack([alb * (0.8 + 0.3 * iron), alb, alb * 1.15, alb * 1.05 * (1 - 0.15 * clay)])
    rock[3] *= np.where(hydro, 0.78, 1.0)
    rock[0] *= 1 + 0.35 * np.exp(-dep_dist / 4.0)
    veg_spec = np.array([0.04, 0.45, 0.22, 0.10])[:, None, None]
    wet = np.clip((dem.mean() - dem) / (dem.std() + 1e-9), -2, 2)
    fv = np.clip(0.4 + 0.2 * misc["mid"][0] + 0.1 * wet, 0.0, 0.9)
    refl = (1 - fv) * rock + fv * veg_spec
    gy, gx = np.gradient(dem, pixel_size)
    az, alt = np.deg2rad(315), np.deg2rad(45)
    slope = np.arctan(np.hypot(gx, gy))
    aspect = np.arctan2(-gx, gy)
    shade = np.clip(np.sin(alt) * np.cos(slope) + np.cos(alt) * np.sin(slope) * np.cos(az - aspect), 0, 1)
    refl = refl * (0.6 + 0.4 * shade) + rng.normal(0, 0.004, (4, H, W))
    return {"band_red": refl[0], "band_nir": refl[1], "band_swir1": refl[2], "band_swir2": refl[3], "dem": dem}


def _geochemistry(rng, lith, props, mafic_style, points, yy, xx, H, W, s, area):
    """Soil concentrations: bedrock signal transported down-ice, with gaps where nobody sampled."""
    n_el = len(GEOCHEMISTRY_LAYERS)
    log_c = np.log(_BACKGROUND_PPM)[:, None, None] + props["chem"][:, lith]
    log_c = log_c + 0.3 * _grf(rng, (H, W), s / 25, n=n_el)
    # Primary halo in the alteration envelope, ore grades in the sulphide core.
    halo = np.zeros((n_el, H, W))
    cu_au = np.zeros(n_el)
    ni_cu = np.zeros(n_el)
    for el, g in {"Cu": 4.0, "Au": 5.0, "Zn": 3.0, "Fe": 0.8, "Mn": 1.0, "Ba": 1.5, "K": 0.5}.items():
        cu_au[_EL[el]] = g
    for el, g in {"Ni": 4.0, "Cu": 3.5, "Co": 3.5, "Fe": 1.0, "Au": 1.5}.items():
        ni_cu[_EL[el]] = g
    for (r, c), mafic in zip(points, mafic_style):
        gain = ni_cu if mafic else cu_au
        d = np.hypot(yy - r, xx - c)
        halo += gain[:, None, None] * (np.exp(-0.5 * (d / 2.5) ** 2) + 0.25 * (d < 8))
    log_c += halo
    conc = np.exp(log_c)
    # Surficial transport: a down-ice dispersion train when glaciated, else hydromorphic spreading.
    if rng.random() < 0.6:
        th = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(0.03, 0.08) * s
        width = rng.uniform(1.5, 3.5)

        def kernel(dy, dx):
            along = dx * np.cos(th) + dy * np.sin(th)
            across = -dx * np.sin(th) + dy * np.cos(th)
            k = np.exp(-np.maximum(along, 0) / length - 0.5 * (np.minimum(along, 0) / 1.5) ** 2)
            return k * np.exp(-0.5 * (across / width) ** 2)

        pad = int(min(4 * length, max(H, W) // 2)) + 4
    else:
        sig = rng.uniform(1.5, 3.5)

        def kernel(dy, dx):
            return np.exp(-0.5 * (dy**2 + dx**2) / sig**2)

        pad = int(4 * sig) + 4
    mix = rng.uniform(0.5, 0.8)
    conc = (1 - mix) * ndimage.gaussian_filter(conc, (0, 1.0, 1.0)) + mix * _kernel_convolve(conc, kernel, pad)
    conc = np.maximum(conc, 1e-6 * _BACKGROUND_PPM[:, None, None])
    noise_sd = np.full(n_el, 0.1)
    noise_sd[_EL["Au"]] = 0.4  # nugget effect
    conc *= np.exp(noise_sd[:, None, None] * rng.standard_normal((n_el, H, W)))
    # Coverage: pixels too far from any sample site cannot be interpolated.
    n_sites = max(20, int(rng.integers(250, 700) * area))
    n_clustered = int(0.3 * n_sites)
    sy = rng.uniform(0, H, n_sites - n_clustered)
    sx = rng.uniform(0, W, n_sites - n_clustered)
    centres = rng.uniform(0, 1, (4, 2)) * [H, W]
    pick = centres[rng.integers(0, 4, n_clustered)]
    sy = np.concatenate([sy, pick[:, 0] + rng.normal(0, 0.08 * s, n_clustered)])
    sx = np.concatenate([sx, pick[:, 1] + rng.normal(0, 0.08 * s, n_clustered)])
    ok = (sy >= 0) & (sy < H) & (sx >= 0) & (sx < W)
    sites = np.zeros((H, W), bool)
    sites[sy[ok].astype(int), sx[ok].astype(int)] = True
    d_site = _distance_to(sites, s)
    nan_frac = rng.uniform(0.13, 0.27)
    radius = np.quantile(d_site, 1 - nan_frac)
    valid = d_site <= radius
    return conc, valid


def _blank_border(rng, data, s):
    """NaN strip along one edge, as where a survey polygon stops short of the scene."""
    data = data.copy()
    w = max(1, int(rng.uniform(0.02, 0.1) * s))
    side = int(rng.integers(4))
    if side == 0:
        data[:, :w] = np.nan
    elif side == 1:
        data[:, -w:] = np.nan
    elif side == 2:
        data[:, :, :w] = np.nan
    else:
        data[:, :, -w:] = np.nan
    return data
