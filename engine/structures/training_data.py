"""Training and evaluation samples for GeoSAM: (image, one structure's mask, its type, a prompt).

A sample is what a geologist does with the tool: a view of 1-3 bands stretched to 0-255
(`image.stretch_bands`, the same stretch the predictor applies), one structure in it (a fault, a
dyke, an intrusion, an alteration zone, a contact) and the clicks or box that ask for it.

Two sources of truth:

* synthetic scenes (`engine.data.synthetic.generate_scene`): every fault, dyke, intrusion body,
  alteration zone and lithology contact is known exactly; the bands are chosen among those that
  show the structure (faults do not show in radiometrics, dykes not in EM ...);
* the Kolari data (GTK, 100 m grids): the 1:1M fault lines rasterised one by one, plutonic
  lithology polygons as intrusions and the boundaries between lithology polygons as contacts,
  under 256 x 256 crops of the magnetics (alone or with an EM / radiometric grid). The south-east
  quadrant (`KOLARI_HELD_OUT`) is never cropped for training: it is the real-data test block.

Memory is bounded: per synthetic scene only the stretched bands (uint8) and bit-packed instance
masks are kept (~0.7 MB), Kolari is read once (a few MB). Everything is seeded.
"""

import dataclasses
import os

import numpy as np
from scipy import ndimage

from ..core.errors import InputError
from ..data.derivatives import derivatives, fill_nearest
from .image import stretch_bands

FEATURE_TYPES = ("fault", "lineament", "contact", "intrusion", "alteration")
LINE_TYPES = frozenset({"fault", "lineament", "contact"})
SIZE = 256

# The synthetic layers a user would look at for structures, and which structures each shows.
SYNTHETIC_LAYERS = {
    "magnetic": ("geophysics", "magnetic"), "gravity": ("geophysics", "gravity"),
    "em_inphase": ("geophysics", "em_inphase"), "resistivity": ("geophysics", "resistivity"),
    "gamma_k": ("geophysics", "gamma_k"), "gamma_th": ("geophysics", "gamma_th"),
    "gamma_total": ("geophysics", "gamma_total"), "dem": ("remote_sensing", "dem"),
}
SHOWS = {
    "fault": {"magnetic", "magnetic_tilt", "em_inphase", "resistivity", "dem"},
    "lineament": {"magnetic", "magnetic_tilt", "gravity", "gravity_tilt", "dem"},
    "intrusion": set(SYNTHETIC_LAYERS) | {"magnetic_tilt", "gravity_tilt"},
    "alteration": {"magnetic", "em_inphase", "resistivity", "gamma_k"},
    "contact": {"magnetic", "magnetic_tilt", "gravity", "gravity_tilt", "gamma_k", "gamma_th", "gamma_total", "dem"},
}
# potential-field grids also seen as their tilt derivative (engine/data/derivatives.py), which geologists trace on
TILTED = ("magnetic", "gravity")
# (bands, weight): magnetics first, it is what the tool is mostly clicked on
SYNTHETIC_BAND_SETS = (
    (("magnetic",), 4.0), (("magnetic", "em_inphase"), 1.0), (("magnetic", "gravity"), 1.0),
    (("magnetic", "resistivity", "dem"), 1.0), (("magnetic", "gamma_k", "dem"), 1.0), (("gravity",), 0.7),
    (("resistivity",), 0.7), (("dem",), 0.5), (("gamma_k", "gamma_th", "gamma_total"), 0.7), (("em_inphase", "gamma_k"), 0.5),
    (("magnetic_tilt",), 1.5), (("gravity_tilt",), 0.5),
)
KOLARI_LAYERS = {
    "magnetic": "IOCG_Mag_grysc_DGRF65_anom_100m", "em_inphase": "IOCG_AEM_Inph_100m",
    "resistivity": "IOCG_App_res_100m", "gamma_k": "IOCG_Gm_Rd_K_100m", "gamma_total": "IOCG_Gm_Rd_Total_Count_100m",
}
KOLARI_BAND_SETS = ((("magnetic",), 4.0), (("magnetic", "em_inphase"), 1.0), (("magnetic", "gamma_total"), 1.0),
                    (("magnetic", "resistivity", "gamma_k"), 1.0), (("magnetic_tilt",), 1.5),
                    (("magnetic_horizontal_gradient",), 0.5))
STRETCH_GAMMA = (0.6, 1.6)  # training views get a random gamma in this range half the time (stretch augmentation)
COARSE_FRACTION = 0.25  # Kolari training crops also read zoomed out (resolution augmentation): this share more
COARSE_ZOOM = 1.5       # ... of windows COARSE_ZOOM x the size, shrunk to it (150 m pixels)
# south-east quadrant of the 100 m grids (xmin, ymin, xmax, ymax, EPSG:3067): ~25 % of the area and of
# the mapped fault length; no training crop touches it
KOLARI_HELD_OUT = (380000.0, 7458025.0, 414025.0, 7499075.0)
# bands of the evaluation views per structure type (synthetic): what a user would open to look for it
EVAL_BANDS = {"fault": ("magnetic",), "lineament": ("magnetic",), "intrusion": ("magnetic",),
              "alteration": ("magnetic", "em_inphase"), "contact": ("gamma_k", "gamma_th", "gamma_total")}
MIN_PIXELS = {"fault": 24, "lineament": 20, "contact": 30, "intrusion": 60, "alteration": 40}
# how often each type is drawn in training (before it is available in the scene)
TYPE_WEIGHTS = {"fault": 3.0, "lineament": 1.5, "contact": 1.0, "intrusion": 2.0, "alteration": 1.0}


@dataclasses.dataclass
class Prompt:
    """Clicks in continuous pixel coordinates of the image (x = col, y = row, pixel centre +0.5)."""

    points: np.ndarray   # (N, 2) float32, N >= 0
    labels: np.ndarray   # (N,) int: 1 include, 0 exclude
    box: np.ndarray = None   # (4,) x0, y0, x1, y1 or None

    @property
    def n_include(self):
        return int((self.labels == 1).sum())

    @property
    def single_click(self):
        """One include point and nothing else: ambiguous, SAM answers with 3 masks."""
        return self.box is None and len(self.labels) == 1 and self.labels[0] == 1


@dataclasses.dataclass
class Sample:
    image: np.ndarray      # (3, H, W) float32 0..255
    mask: np.ndarray       # (H, W) bool
    feature_type: str
    source: str = ""
    bands: tuple = ()
    prompt: Prompt = None
    valid: np.ndarray = None   # (H, W) bool where the view has data (None: all); the line tracer stops at nodata


# --------------------------------------------------------------------------- prompts


def _pixels(mask):
    r, c = np.nonzero(mask)
    return np.stack([c + 0.5, r + 0.5], axis=1).astype(np.float32)  # x, y of pixel centres


def _spread(rng, xy, k, weights=None):
    """k points of `xy`: the first at random (by weight), the next ones farthest from those chosen."""
    p = None if weights is None else weights / weights.sum()
    chosen = [int(rng.choice(len(xy), p=p))]
    d = np.hypot(*(xy - xy[chosen[0]]).T)
    for _ in range(1, k):
        # farthest-point with a random factor, so 3 clicks are spread but not always the two ends
        score = d * rng.uniform(0.6, 1.0, len(d))
        nxt = int(np.argmax(score))
        chosen.append(nxt)
        d = np.minimum(d, np.hypot(*(xy - xy[nxt]).T))
    return xy[chosen]


def sample_prompt(mask, feature_type, rng, mode=None):
    """A prompt for `mask`. mode: None (random mix for training), 'click1', 'click3', 'box'.

    Include points lie on the mask (bodies: towards the inside; lines: spread along the line);
    an exclude point, when drawn, lies outside it within ~12 px; a box is the mask's bounding box
    jittered by up to 10 % of its size.
    """
    mask = np.asarray(mask, bool)
    H, W = mask.shape
    line = feature_type in LINE_TYPES
    xy = _pixels(mask)
    if len(xy) == 0:
        raise ValueError("empty mask")
    weights = None
    if not line:
        dt = ndimage.distance_transform_edt(mask)[mask]
        weights = dt.astype(np.float64) ** 1.5 + 1e-3
    box = None
    n_exc = 0
    if mode == "click1":
        n_inc = 1
    elif mode == "click3":
        n_inc = 3
    elif mode == "box":
        n_inc, box = 0, True
    elif mode is None:
        u = rng.random()
        if u < 0.25:
            n_inc, box = int(rng.integers(0, 2)), True
        else:
            n_inc = int(rng.choice([1, 2, 3], p=[0.5, 0.25, 0.25]))
            n_exc = int(rng.random() < 0.25)
    else:
        raise ValueError(f"unknown prompt mode {mode}")
    pts, lab = [], []
    if n_inc:
        pts.append(_spread(rng, xy, min(n_inc, len(xy)), weights))
        lab += [1] * len(pts[-1])
    if n_exc:
        ring = ndimage.binary_dilation(mask, iterations=12) & ~mask
        if ring.any():
            rxy = _pixels(ring)
            pts.append(rxy[rng.integers(len(rxy))][None])
            lab.append(0)
    if box:
        x0, y0 = xy.min(0) - 0.5
        x1, y1 = xy.max(0) + 0.5
        w, h = x1 - x0, y1 - y0
        j = rng.uniform(-0.1, 0.1, 4) * np.array([w, h, w, h]) if mode is None else np.zeros(4)
        box = np.array([np.clip(x0 + j[0], 0, W), np.clip(y0 + j[1], 0, H),
                        np.clip(x1 + j[2], 0, W), np.clip(y1 + j[3], 0, H)], np.float32)
        if box[2] - box[0] < 2:
            box[[0, 2]] = np.clip([box[0] - 1, box[2] + 1], 0, W)
        if box[3] - box[1] < 2:
            box[[1, 3]] = np.clip([box[1] - 1, box[3] + 1], 0, H)
    points = np.concatenate(pts).astype(np.float32) if pts else np.zeros((0, 2), np.float32)
    return Prompt(points, np.asarray(lab, np.int64), box)


# --------------------------------------------------------------------------- synthetic instances


def _components(mask, min_px, connectivity=2):
    lab, n = ndimage.label(mask, structure=ndimage.generate_binary_structure(2, connectivity))
    if n == 0:
        return []
    sizes = np.bincount(lab.ravel())
    return [lab == i for i in range(1, n + 1) if sizes[i] >= min_px]


def _contacts(lith, exclude, rng, max_n=4):
    """Boundaries between two lithology units: pixels of either unit touching the other (~2 px)."""
    out = []
    pairs = {}
    for dy, dx in ((0, 1), (1, 0)):
        a = lith[: lith.shape[0] - dy, : lith.shape[1] - dx]
        b = lith[dy:, dx:]
        diff = a != b
        for u, v in zip(a[diff], b[diff]):
            pairs[(min(u, v), max(u, v))] = pairs.get((min(u, v), max(u, v)), 0) + 1
    cand = [p for p, n in pairs.items() if n >= MIN_PIXELS["contact"]]
    rng.shuffle(cand)
    for u, v in cand:
        mu, mv = lith == u, lith == v
        edge = (mu & ndimage.binary_dilation(mv)) | (mv & ndimage.binary_dilation(mu))
        edge &= ~exclude
        comps = _components(edge, MIN_PIXELS["contact"])
        if comps:
            out.append(max(comps, key=lambda m: m.sum()))
        if len(out) >= max_n:
            break
    return out


def scene_instances(scene, rng):
    """[(mask, feature_type)] of one synthetic scene (contacts: a few, drawn with `rng`)."""
    L = scene.labels
    inst = []
    fi = L["fault_instances"]
    for i in range(1, int(fi.max()) + 1):
        m = fi == i
        if m.sum() >= MIN_PIXELS["fault"]:
            inst.append((m, "fault"))
    for m in _components(L["dyke"], MIN_PIXELS["lineament"]):
        inst.append((m, "lineament"))
    for key in ("granite", "mafic"):
        body = L[key] & ~L["dyke"] if key == "mafic" else L[key]
        for m in _components(body, MIN_PIXELS["intrusion"], connectivity=1):
            inst.append((m, "intrusion"))
    for m in _components(L["alteration"], MIN_PIXELS["alteration"]):
        inst.append((m, "alteration"))
    dyke_codes = L["dyke"]
    for m in _contacts(L["lithology"], dyke_codes | L["fault"], rng):
        inst.append((m, "contact"))
    return inst


def _stretch1(band, valid=None):
    """One band stretched to uint8 (what stretch_bands gives each band of a combination)."""
    return np.rint(stretch_bands(band[None], valid)[0]).astype(np.uint8)


def _stretch_or_blank(band):
    """_stretch1, or a blank layer where the band holds nothing to stretch (a constant synthetic layer)."""
    try:
        return _stretch1(band)
    except InputError:
        return np.zeros(band.shape, np.uint8)


def combine(layers, names):
    """(3, H, W) float32 0..255 from per-band stretched uint8 layers, by stretch_bands' rule."""
    arrs = [layers[n].astype(np.float32) for n in names]
    if len(arrs) == 1:
        arrs = arrs * 3
    elif len(arrs) == 2:
        arrs.append(0.5 * (arrs[0] + arrs[1]))
    return np.stack(arrs)


@dataclasses.dataclass
class _Entry:
    layers: dict            # name -> uint8 (H, W) stretched
    masks: list             # packed bits
    types: list
    shape: tuple
    band_sets: tuple
    source: str

    def mask(self, i):
        H, W = self.shape
        return np.unpackbits(self.masks[i], count=H * W).reshape(H, W).astype(bool)


def synthetic_entry(seed, size=SIZE, nodata_border=False):
    from ..data.synthetic import generate_scene

    sc = generate_scene(int(seed), size=size, nodata_border=nodata_border)
    rng = np.random.default_rng([int(seed), 7])
    layers = {}
    for name, (src, layer) in SYNTHETIC_LAYERS.items():
        sa = sc.sources[src]
        band = sa.data[sa.layers.index(layer)]
        layers[name] = _stretch_or_blank(band)
        if name in TILTED:
            layers[f"{name}_tilt"] = _stretch_or_blank(derivatives(band, 1.0, 1.0)["tilt"])
    inst = scene_instances(sc, rng)
    return _Entry(layers, [np.packbits(m.ravel()) for m, _ in inst], [t for _, t in inst], sc.shape,
                  SYNTHETIC_BAND_SETS, f"synthetic:{int(seed)}")


class SampleBank:
    """Draws training samples (image, mask, type, random prompt) from stored scenes and crops."""

    def __init__(self, entries, kolari_fraction=0.0, kolari=None):
        self.entries = [e for e in entries if e.types]
        self.kolari = kolari
        self.kolari_fraction = kolari_fraction if kolari is not None else 0.0
        if not self.entries and self.kolari is None:
            raise InputError("no training structures", fix="use more synthetic scenes")

    def __len__(self):
        return len(self.entries)

    def draw(self, rng):
        if self.kolari is not None and (not self.entries or rng.random() < self.kolari_fraction):
            s = self.kolari.draw(rng)
        else:
            s = _draw_entry(self.entries[int(rng.integers(len(self.entries)))], rng, SHOWS)
        restretch(s, rng)
        s.prompt = sample_prompt(s.mask, s.feature_type, rng)
        return s


def restretch(s, rng):
    """Half the time, another stretch of the same data (a random gamma): users display grids many ways."""
    if rng.random() < 0.5:
        s.image = (255.0 * (s.image / 255.0) ** rng.uniform(*STRETCH_GAMMA)).astype(np.float32)
    return s


def _pick_band_set(rng, band_sets):
    w = np.array([b[1] for b in band_sets], float)
    return band_sets[int(rng.choice(len(band_sets), p=w / w.sum()))][0]


def _draw_entry(e, rng, shows):
    for _ in range(20):
        names = _pick_band_set(rng, e.band_sets)
        ok = [i for i, t in enumerate(e.types) if shows is None or shows[t] & set(names)]
        if ok:
            break
    w = np.array([TYPE_WEIGHTS[e.types[i]] for i in ok]) / np.array([e.types.count(e.types[i]) for i in ok])
    i = ok[int(rng.choice(len(ok), p=w / w.sum()))]
    return Sample(combine(e.layers, names), e.mask(i), e.types[i], e.source, tuple(names))


def synthetic_bank(seeds, size=SIZE, feedback=None):
    """A SampleBank over synthetic scenes (a quarter with a nodata edge strip, as clipped surveys)."""
    entries = []
    for k, s in enumerate(seeds):
        if feedback is not None:
            feedback(k / max(len(seeds), 1))
        entries.append(synthetic_entry(s, size, nodata_border=(int(s) % 4 == 0)))
    return entries


def synthetic_eval_samples(seeds, modes=("click1", "click3", "box"), per_scene=6, size=SIZE, seed=0):
    """Fixed evaluation samples: per scene up to `per_scene` structures, each with every prompt mode.

    Returns [Sample] with `prompt` set and `source` = 'synthetic:SEED'; bands per type as a user
    would open them (EVAL_BANDS).
    """
    out = []
    for s in seeds:
        e = synthetic_entry(s, size)
        rng = np.random.default_rng([int(seed), int(s), 11])
        idx = rng.permutation(len(e.types))
        # one of each type first, then the rest
        order = list(idx)
        seen, pick = set(), []
        for i in order:
            if e.types[i] not in seen:
                pick.append(i)
                seen.add(e.types[i])
        pick += [i for i in order if i not in pick]
        for i in pick[:per_scene]:
            t = e.types[i]
            names = EVAL_BANDS[t]
            img, m = combine(e.layers, names), e.mask(i)
            for mode in modes:
                out.append(Sample(img, m, t, e.source, names, sample_prompt(m, t, rng, mode)))
    return out


# --------------------------------------------------------------------------- Kolari


class KolariData:
    """The Kolari 100 m grids on the magnetics grid plus rasterised structures, held-out block aware."""

    def __init__(self, data_dir, layers=KOLARI_LAYERS, held_out=KOLARI_HELD_OUT):
        import rasterio
        from rasterio.warp import Resampling, reproject

        self.data_dir = data_dir
        g = os.path.join(data_dir, "Geophysics_100m")
        with rasterio.open(os.path.join(g, layers["magnetic"] + ".tif")) as ref:
            self.transform, self.crs, self.shape = ref.transform, ref.crs, ref.shape
        self.bands, self.valid = {}, {}
        for name, fname in layers.items():
            with rasterio.open(os.path.join(g, fname + ".tif")) as src:
                a = src.read(1).astype(np.float64)
                ok = np.isfinite(a) & (a > -1e30) & (a != -999999.0)
                if src.nodata is not None:
                    ok &= a != src.nodata
                a = np.where(ok, a, np.nan)
                if src.transform != self.transform or src.shape != self.shape:
                    dst = np.full(self.shape, np.nan)
                    reproject(a, dst, src_transform=src.transform, src_crs=src.crs, dst_transform=self.transform,
                              dst_crs=self.crs, resampling=Resampling.bilinear, src_nodata=np.nan, dst_nodata=np.nan)
                    a = dst
            self.bands[name] = a.astype(np.float32)
        mag = self.bands["magnetic"]
        d = derivatives(mag, abs(self.transform.a), abs(self.transform.e), np.isfinite(mag))
        for k in ("tilt", "horizontal_gradient"):
            self.bands[f"magnetic_{k}"] = d[k]
        self.valid_all = np.all([np.isfinite(b) for b in self.bands.values()], axis=0)
        self.held_out = tuple(held_out)
        self.held_rows, self.held_cols = self._block_pixels(held_out)
        self.instances = self._rasterise()

    def _block_pixels(self, b):
        inv = ~self.transform
        c0, r0 = inv * (b[0], b[3])
        c1, r1 = inv * (b[2], b[1])
        return (max(int(np.floor(r0)), 0), min(int(np.ceil(r1)), self.shape[0])), \
               (max(int(np.floor(c0)), 0), min(int(np.ceil(c1)), self.shape[1]))

    def in_held_out(self, r0, c0, size=SIZE):
        """Does the window (rows r0..r0+size, cols c0..c0+size) touch the held-out block?"""
        (hr0, hr1), (hc0, hc1) = self.held_rows, self.held_cols
        return r0 < hr1 and r0 + size > hr0 and c0 < hc1 and c0 + size > hc0

    def _rasterise(self):
        """[(flat pixel indices, type)] for every fault, plutonic polygon and lithology contact."""
        import shapely
        from rasterio.features import rasterize

        from ..data.vectors import read_vector

        geo = os.path.join(self.data_dir, "Geological_Data")
        out = []

        def burn(geom):
            m = rasterize([(geom, 1)], out_shape=self.shape, transform=self.transform, all_touched=True,
                          dtype="uint8")
            return np.flatnonzero(m).astype(np.int32)

        faults = read_vector(os.path.join(geo, "IOCG_CLB_Structures_1M.shp"), "faults", self.crs, expect="line")
        for g in faults.geometries:
            out.append((burn(g), "fault"))
        lith = read_vector(os.path.join(geo, "IOCG_CLB_Lith_Asstn_1M.shp"), "lithology", self.crs, expect="polygon")
        cls = lith.fields.get("ROCK_CLA_1", np.array([""] * len(lith.geometries)))
        for g, c in zip(lith.geometries, cls):
            if "Plutonic" in str(c):
                out.append((burn(g), "intrusion"))
        geoms = list(lith.geometries)
        tree = shapely.STRtree(geoms)
        for i, j in zip(*tree.query(geoms, predicate="touches")):
            if i < j:
                line = shapely.intersection(geoms[i].boundary, geoms[j].boundary)
                if line.length > 3000:
                    out.append((burn(line), "contact"))
        return out

    def windows(self, split, n, rng, size=SIZE):
        """n crop origins (r0, c0): 'train' = outside the held-out block, 'heldout' = inside it."""
        H, W = self.shape
        out, tries = [], 0
        while len(out) < n and tries < 200 * n:
            tries += 1
            if split == "heldout":
                (hr0, hr1), (hc0, hc1) = self.held_rows, self.held_cols
                r0 = int(rng.integers(hr0, max(hr0 + 1, min(hr1, H) - size + 1)))
                c0 = int(rng.integers(hc0, max(hc0 + 1, min(hc1, W) - size + 1)))
                if r0 + size > hr1 or c0 + size > hc1:
                    continue
            else:
                r0, c0 = int(rng.integers(0, H - size + 1)), int(rng.integers(0, W - size + 1))
                if self.in_held_out(r0, c0, size):
                    continue
            if self.valid_all[r0:r0 + size, c0:c0 + size].mean() < 0.6:
                continue
            out.append((r0, c0))
        return out

    def crop_samples(self, r0, c0, size=SIZE, names=("magnetic",)):
        """[(image, mask, type)] for one window: the instances with enough valid pixels in it."""
        win = (slice(r0, r0 + size), slice(c0, c0 + size))
        valid = self.valid_all[win]
        img = stretch_bands(np.stack([self.bands[n][win] for n in names]), valid)
        res = []
        H, W = self.shape
        for idx, t in self.instances:
            rr, cc = np.divmod(idx, W)
            k = (rr >= r0) & (rr < r0 + size) & (cc >= c0) & (cc < c0 + size)
            if k.sum() < MIN_PIXELS[t]:
                continue
            m = np.zeros((size, size), bool)
            m[rr[k] - r0, cc[k] - c0] = True
            m &= valid
            if m.sum() >= MIN_PIXELS[t] and m.mean() < 0.6:
                res.append((img, m, t))
        return res


def _shrink(a, size):
    """(n, n) -> (size, size) by linear interpolation; NaN (nodata) stays NaN where the nearest input is NaN."""
    a = np.asarray(a, np.float64)
    bad = ~np.isfinite(a)
    f = size / a.shape[0]
    if bad.any():
        out = ndimage.zoom(fill_nearest(a, ~bad), f, order=1)[:size, :size]
        out[ndimage.zoom(bad.astype(np.uint8), f, order=0)[:size, :size] > 0] = np.nan
        return out
    return ndimage.zoom(a, f, order=1)[:size, :size]


class KolariBank:
    """Training draws from fixed Kolari crops outside the held-out block."""

    def __init__(self, data, n_windows=48, seed=0, size=SIZE):
        rng = np.random.default_rng([int(seed), 3067])
        self.data, self.size = data, size
        self.windows = data.windows("train", n_windows, rng, size)
        self.entries = []
        for r0, c0 in self.windows:
            win = (slice(r0, r0 + size), slice(c0, c0 + size))
            valid = data.valid_all[win]
            layers = {n: _stretch1(data.bands[n][win], valid) for n in data.bands}
            inst = data.crop_samples(r0, c0, size)
            if inst:
                self.entries.append(_Entry(layers, [np.packbits(m.ravel()) for _, m, _ in inst],
                                           [t for _, _, t in inst], (size, size), KOLARI_BAND_SETS,
                                           f"kolari:{r0},{c0}"))
        # the same grids at 150 m: a 1.5 x size window shrunk to size (a view zoomed out), never in the held-out block
        big = self.coarse_size = int(round(COARSE_ZOOM * size))
        self.coarse_windows = data.windows("train", int(round(COARSE_FRACTION * n_windows)), rng, big)
        for r0, c0 in self.coarse_windows:
            win = (slice(r0, r0 + big), slice(c0, c0 + big))
            valid = _shrink(data.valid_all[win].astype(np.float32), size) > 0.5
            layers = {n: _stretch1(_shrink(data.bands[n][win], size), valid) for n in data.bands}
            inst = [(_shrink(m.astype(np.float32), size) > 0.25, t) for _, m, t in data.crop_samples(r0, c0, big)]
            inst = [(m & valid, t) for m, t in inst if (m & valid).sum() >= MIN_PIXELS[t]]
            if inst:
                self.entries.append(_Entry(layers, [np.packbits(m.ravel()) for m, _ in inst], [t for _, t in inst],
                                           (size, size), KOLARI_BAND_SETS, f"kolari150:{r0},{c0}"))

    def draw(self, rng):
        return _draw_entry(self.entries[int(rng.integers(len(self.entries)))], rng, None)


def kolari_eval_samples(data, n_windows=6, modes=("click1", "click3", "box"), per_window=8, seed=0, size=SIZE):
    """Samples from crops inside the held-out block only (magnetics), every prompt mode per structure."""
    rng = np.random.default_rng([int(seed), 1000])
    out, seen = [], set()
    for r0, c0 in data.windows("heldout", n_windows, rng, size):
        crop = data.crop_samples(r0, c0, size)
        order = rng.permutation(len(crop))[:per_window]
        for j in order:
            img, m, t = crop[j]
            key = (t, m.sum(), int(np.flatnonzero(m)[0]) + r0 * 100000 + c0)
            if key in seen:
                continue
            seen.add(key)
            valid = data.valid_all[r0:r0 + size, c0:c0 + size]
            for mode in modes:
                out.append(Sample(img, m, t, f"kolari:{r0},{c0}", ("magnetic",), sample_prompt(m, t, rng, mode),
                                  valid))
    return out
