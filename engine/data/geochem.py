"""Geochemical samples to grids: below-detection handling, optional centred log-ratio, IDW.

Compositional data are closed (parts of a whole), so ratios, not raw ppm, carry the signal;
CLR opens them before gridding (Aitchison). Values at or below detection are replaced by half
the detection limit, the usual convention when only a flag is reported.

Assay columns come numeric or as text, as laboratories deliver them: '<0.5' is below detection
with limit 0.5, '>1000' is above the upper limit (taken as 1000), 'n.d.' / 'bdl' below detection,
blanks, 'NA', NULL and the codes -99 / -999 / -9999 / -99999 are missing (the sample is left out,
never read as a concentration), other negative numbers are below detection at |value| (the
convention of survey databases that store '<x' as -x). What was read as which is counted per
element (the stack manifest's layer entry).
"""

import re

import numpy as np
from scipy.spatial import cKDTree

from ..core.errors import InputError

_ELEMENTS = set(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr "
    "Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W Re Os Ir "
    "Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U".split()
)
_ELEMENT_FIELD = re.compile(r"^([A-Z][a-z]?)(?:_|$)")
_FLAG_SUFFIX = ("_T", "_FLAG", "_Q", "_QUAL")


MISSING_CODES = (-99.0, -999.0, -9999.0, -99999.0)
_MISSING_TEXT = {"", "na", "n/a", "n.a.", "nan", "null", "none", "-", "--", "nr", "n.r.", "ns", "n.s.", "is", "i.s."}
_BELOW_TEXT = {"n.d.", "nd", "bdl", "b.d.l.", "bd", "<dl", "<lod", "<ld", "ld", "tr", "trace"}


def parse_assays(values):
    """A numeric or text assay column -> (value, limit of below-detection, status) per sample.

    status: 0 measured, 1 below detection (value = its limit, NaN when unknown), 2 missing,
    3 above the upper limit (value = that limit), 4 text that is no assay (value NaN)."""
    n = len(values)
    v = np.full(n, np.nan)
    status = np.zeros(n, np.int8)
    if np.asarray(values).dtype.kind in "fiu":
        v = np.asarray(values, dtype=np.float64).copy()
        status[~np.isfinite(v) | np.isin(v, MISSING_CODES)] = 2
        neg = (status == 0) & (v <= 0)
        status[neg] = 1
        v[neg] = np.where(v[neg] < 0, -v[neg], np.nan)
        return v, status
    for i, item in enumerate(values):
        s = "" if item is None else str(item).strip().lower()
        if s in _MISSING_TEXT:
            status[i] = 2
        elif s in _BELOW_TEXT:
            status[i] = 1
        else:
            code = {"<": 1, ">": 3}.get(s[:1], 0)
            try:
                v[i] = float(s[1:] if code else s)
            except ValueError:
                status[i] = 4
                continue
            if not np.isfinite(v[i]) or (code == 0 and v[i] in MISSING_CODES):
                status[i], v[i] = 2, np.nan
            elif code or v[i] > 0:
                status[i] = code
            else:
                status[i], v[i] = 1, (-v[i] if v[i] < 0 else np.nan)
    return v, status


def _is_assay_text(values):
    """A text column is an assay column when most of its filled values read as assays."""
    _, status = parse_assays(values)
    filled = status != 2
    return filled.any() and (status[filled] != 4).mean() >= 0.8


def element_fields(fields):
    """{element: value field} for fields named like an element ('Cu_ppm_511', 'Cu') that hold assays:
    numbers, or text such as '12.5' / '<0.5' (flag fields such as Cu_T are not values)."""
    found = {}
    for name, values in fields.items():
        m = _ELEMENT_FIELD.match(name)
        if not m or m.group(1) not in _ELEMENTS or m.group(1) in found:
            continue
        if values.dtype.kind in "fiu" or (values.dtype.kind in "OUS" and not name.upper().endswith(_FLAG_SUFFIX)
                                          and _is_assay_text(values)):
            found[m.group(1)] = name
    return found


def _flag_field(fields, element):
    for name, values in fields.items():
        if name.startswith(element + "_") and name.upper().endswith(_FLAG_SUFFIX) and values.dtype.kind in "OUS":
            return name
    return None


def clean_values(fields, elements, layer_name, report=None):
    """(n_samples, n_elements) positive concentrations; below-detection set to half the limit, NaN
    where the value is missing (callers leave those samples out).

    A value flagged '<', reported as '<x', 'n.d.' or <= 0 is below detection: its limit is x or |value|
    when known, else the smallest positive value of that element. report (a dict) gets, per element,
    how many values were read as measured / below detection / missing / above the upper limit.
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
        v, status = parse_assays(fields[name])
        if (status == 4).any():
            bad = sorted({str(x) for x in np.asarray(fields[name])[status == 4]})
            raise InputError(f"field {name} ({e}) has {int((status == 4).sum())} value(s) that are not assays: "
                             f"{', '.join(repr(b) for b in bad[:5])}", layer=layer_name,
                             fix="correct them to numbers or '<limit' (blanks and NA are read as missing), "
                                 f"or leave {e} out of the elements")
        flag = _flag_field(fields, e)
        if flag is not None:
            status[(np.char.strip(fields[flag].astype(str)) == "<") & (status == 0)] = 1
        below = status == 1
        positive = v[np.isfinite(v) & (v > 0) & (status != 2)]
        if positive.size == 0:
            raise InputError(f"element {e} has no positive values", layer=layer_name, fix=f"remove {e} from the elements")
        limit = np.where(np.isfinite(v) & (v > 0), v, positive.min())
        v[below] = limit[below] / 2.0
        v[status == 2] = np.nan
        if report is not None:
            report[e] = {"field": name, "measured": int((status == 0).sum()), "below_detection": int(below.sum()),
                         "missing": int((status == 2).sum()), "above_upper_limit": int((status == 3).sum())}
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
