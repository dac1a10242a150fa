"""What the user hands in: one entry per layer, with its source and how to turn it into a grid.

Kinds:
  continuous  raster resampled bilinearly (geophysics, remote sensing)
  categorical raster resampled by nearest neighbour, or polygons rasterised by a class field
  distance    lines (faults, contacts) turned into distance-to-structure in km
  points      geochemical samples gridded per element (IDW within a search radius)
"""

import os
import re
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field

from .. import SOURCES
from ..core.errors import InputError

KINDS = ("continuous", "categorical", "distance", "points")

# File-name keywords -> layer type names of engine.data.vocab; first match wins.
_TYPE_HINTS = (
    (r"mag", "magnetic"), (r"grav|bouguer", "gravity"), (r"inph|in_phase|inphase", "em_inphase"),
    (r"quad", "em_quadrature"), (r"app_?res|resist", "resistivity"), (r"em_?ratio", "em_ratio"),
    (r"aem", "aem_50m"), (r"total_?count|_tc\b", "gamma_total"), (r"(rd|gamma|gm)\w*_k\b|_k_", "gamma_k"),
    (r"th_eq|_th\b|(rd|gm)\w*th", "gamma_th"), (r"u_eq|(rd|gm)\w*_u\b", "gamma_u"), (r"dem|elev|topo", "dem"),
    (r"lith|geol|rock", "lithology_unit"), (r"fault|struct|linea|shear", "fault_distance"),
)


@dataclass
class LayerSpec:
    path: str
    source: str
    kind: str = None  # detected from the file when None
    name: str = None  # shown to the user and used as band name; file stem by default
    layer_type: str = None  # model vocabulary name; guessed from the name when None
    band: int = 1
    field: str = None  # polygons: class field
    elements: list = None  # points: element fields (None = all element-like numeric fields)
    nodata: float = None  # override a missing or wrong nodata value
    log: bool = None  # log-transform before normalising; None = decide from the data (skewed, positive)
    crs: str = None  # CRS of a file that stores none (a CSV of samples with X/Y columns), e.g. EPSG:3067
    extra: dict = dc_field(default_factory=dict)

    def __post_init__(self):
        if self.source not in SOURCES:
            raise InputError(f"unknown source '{self.source}'", layer=self.path, fix=f"use one of {', '.join(SOURCES)}")
        if self.kind is not None and self.kind not in KINDS:
            raise InputError(f"unknown kind '{self.kind}'", layer=self.path, fix=f"use one of {', '.join(KINDS)}")
        if self.name is None:
            self.name = os.path.splitext(os.path.basename(self.path.split("|")[0]))[0]
        if self.layer_type is not None:
            check_layer_type(self.layer_type, self.source, self.name)

    def to_dict(self):
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, [])}

    @classmethod
    def from_dict(cls, d):
        """A layer of a spec file; an unknown key is refused with the valid ones (a typo is not ignored)."""
        bad = sorted(set(d) - set(cls.__dataclass_fields__))
        if bad:
            raise InputError(f"unknown layer option(s) {', '.join(bad)}", layer=d.get("name") or d.get("path"),
                             fix=f"use path, source and: {', '.join(OPTIONS)}")
        return cls(**d)


# What each per-layer option means: the CLI's `PATH::key=value`, a spec file's layer entries, the panel.
OPTIONS = {
    "kind": "how the layer becomes a grid: " + ", ".join(KINDS) + " (default: detected from the file)",
    "layer_type": "what the layer measures, a name of the model's vocabulary (below); default: guessed from the name",
    "name": "band name in the stack and the reports (default: the file name)",
    "nodata": "value meaning 'no data' when the file stores none or a wrong one",
    "band": "band of a multi-band raster (default 1)",
    "field": "polygons: the text field holding the classes, e.g. ROCK_NAME_ (default: the most informative one)",
    "elements": "samples: comma-separated element fields, e.g. Cu,Co,Fe (default: every element-like number field)",
    "log": "true / false: log-transform before normalising (default: decided from the data)",
    "crs": "CRS of a file that stores none (a CSV of samples with X/Y columns), e.g. EPSG:3067",
}


def vocabulary():
    """{source: [layer type names]} the foundation model knows, each under its usual source, plus the
    per-source fallback (unknown_<source>) for a layer the model has no learned type for."""
    from .. import SOURCES
    from .vocab import HOME_SOURCE, VOCAB

    out = {s: [n for n in VOCAB if HOME_SOURCE.get(n) == s] for s in SOURCES}
    for s in SOURCES:
        out[s].append(f"unknown_{s}")
    return out


def check_layer_type(layer_type, source, layer_name):
    """Refuse a layer type the vocabulary does not know (common spellings such as 'mag' or 'Cu_ppm' are
    accepted); a typo would otherwise be used silently as 'no learned type'."""
    from .vocab import VOCAB, resolve

    if str(layer_type) in VOCAB or resolve(layer_type, source)[1]:
        return
    listing = "; ".join(f"{s}: {', '.join(names)}" for s, names in vocabulary().items())
    raise InputError(f"unknown layer_type '{layer_type}'", layer=layer_name,
                     fix=f"use a name of the model's vocabulary ({listing}); unknown_<source> when none fits")


def options_help():
    """The per-layer options and the layer-type vocabulary, as the CLI's `align --help` prints them."""
    lines = ["per-layer options: PATH::key=value::key=value (e.g. lith.shp::field=ROCK_NAME_::layer_type=lithology_unit)"]
    lines += [f"  {k:<11} {v}" for k, v in OPTIONS.items()]
    lines.append("layer types the foundation model knows (layer_type=...), by their usual source:")
    lines += [f"  {s}: {', '.join(names)}" for s, names in vocabulary().items()]
    return "\n".join(lines)


def guess_layer_type(name, source, kind):
    """Model vocabulary name for a layer; unknown names fall back to the source's generic type."""
    if kind == "distance":
        return "fault_distance"
    if kind == "categorical" and source == "geology":
        return "lithology_unit"
    low = name.lower()
    for pattern, layer_type in _TYPE_HINTS:
        if re.search(pattern, low):
            return layer_type
    return f"unknown_{source}"


def is_raster(path):
    """Cheap test on the file: rasters open with rasterio, vectors with pyogrio."""
    import rasterio

    if not os.path.exists(path.split("|")[0]):
        raise InputError("file not found", layer=path, fix="check the path; layers must be files on disk")
    try:
        with rasterio.open(path):
            return True
    except Exception:
        return False
