"""Geochemical samples to grids: below-detection handling, optional centred log-ratio, IDW.

Compositional data are closed (parts of a whole), so ratios, not raw ppm, carry the signal;
CLR opens them before gridding (Aitchison). Values at or below detection are replaced by half
the detection limit, the usual convention when only a flag is reported.
"""

import re

import numpy as np
from scipy.spatial import cKDTree

from .errors import InputError

_ELEMENTS = set(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr "
    "Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir "
    "Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U".split()
)
_ELEMENT_FIELD = re.compile(r"^([A-Z][a-z]?)(?:_|$)")
_FLAG_SUFFIX = ("_T", "_FLAG", "_Q", "_QUAL")


def element_fields(fields):
    """{element: value field} for numeric fields named like an element ('Cu_ppm_511', 'Cu')."""
    found = {}
    for name, values in fields.items():
        m = _ELEMENT_FIELD.match(name)
        if m and m.group(1) in _ELEMENTS and values.dtype.kind in "fiu" and m.group(1) not in found:
            found[m.group(1)] = name
    return found


def _flag_field(fields, element):
    for name, values in fields.items():
        if name.startswith(element + "_") and name.upper().endswith(_FLAG_SUFFIX) and values.dtype.kind in "OUS":
            return name
    return None


def clean_values(fields, elements, layer_name):
    """(n_samples, n_elements) positive concentrations; below-detection set to half the limit.

    A value flagged '<' or <= 0 is below detection: its limit is the reported value when positive,
    else the smallest positive value of that element.
    """
    available = element_fields(fields)
    if elements is None:
        elements = sorted(available)
    missing = [e for e in elements if e not in available and e not in fields]
    if missing:
        raise InputError(f"has no field for element(s) {', '.join(missing)}", layer=layer_name,
                         fix=f"choose from: {', '.join(sorted(available)) or 'none found (fields must be named like Cu or Cu_ppm)'}")
    if not elements:
        raise InputError("has no element fields", layer=layer_name,
                         fix="name numeric fields by element symbol (Cu, Cu_ppm, ...) or list them with elements=[...]")
    columns = []
    for e in elements:
        name = available.get(e, e)
        v = np.asarray(fields[name], dtype=np.float64).copy()
        flag = _flag_field(fields, e)
        below = ~np.isfinite(v) | (v <= 0)
        if flag is not None:
            below |= np.char.strip(fields[flag].astype(str)) == "<"
        positive = v[np.isfinite(v) & (v > 0)]
        if positive.size == 0:
            raise InputError(f"element {e} has no positive values", layer=layer_name, fix=f"remove {e} from the elements")
        limit = np.where(np.isfinite(v) & (v > 0), v, positive.min())
        v[below] = limit[below] / 2.0
        columns.append(v)
    return list(elements), np.column_stack(columns)


def clr(values):
    """Centred log-ratio per sample over the chosen elements."""
    logs = np.log(values)
    return logs - logs.mean(axis=1, keepdims=True)


def default_search_radius(xy):
    """Three times the median nearest-neighbour spacing: a sample influences its neighbourhood, not the map."""
    if len(xy) < 2:
        raise InputError("needs at least 2 samples to grid", fix="add samples or remove the geochemistry layer")
    d, _ = cKDTree(xy).query(xy, k=2)
    return float(3.0 * np.median(d[:, 1]))


class IDWGridder:
    """Inverse-distance weighting of sample values onto pixel centres, window by window.

    Pixels with no sample within the search radius stay NaN: the map does not invent data there.
    """

    def __init__(self, xy, values, radius, power=2.0, k=12):
        self.tree = cKDTree(xy)
        self.values = values  # (n, m)
        self.radius = float(radius)
        self.power = power
        self.k = min(k, len(xy))

    def read(self, xs, ys):
        q = np.column_stack([xs.ravel(), ys.ravel()])
        dist, idx = self.tree.query(q, k=self.k, distance_upper_bound=self.radius)
        if self.k == 1:
            dist, idx = dist[:, None], idx[:, None]
        found = np.isfinite(dist)
        w = np.where(found, 1.0 / np.maximum(dist, 1e-6) ** self.power, 0.0)
        idx = np.where(found, idx, 0)
        wsum = w.sum(axis=1)
        out = np.einsum("pk,pkm->pm", w, self.values[idx]) / np.where(wsum > 0, wsum, 1.0)[:, None]
        out[wsum == 0] = np.nan
        return out.T.reshape((self.values.shape[1],) + xs.shape).astype(np.float32)
