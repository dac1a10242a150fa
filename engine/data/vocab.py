"""Layer-type vocabulary: the names the channel-agnostic encoders know.

Ids are positions in VOCAB, so the list is append-only: a saved model keeps the vocabulary it
was trained with (in its card) and new names added later resolve to that model's fallback.
A name the vocabulary lacks maps to "unknown_<source>" instead of failing, and the caller
gets a flag so it can tell the user that the layer is used without a learned type.
"""

from .. import SOURCES

_GEOPHYSICS = [
    "magnetic", "gravity", "em_inphase", "em_quadrature", "resistivity", "em_ratio",
    "gamma_k", "gamma_th", "gamma_u", "gamma_total", "aem_50m",
]
_GEOLOGY = ["lithology_unit", "fault_distance"]
_REMOTE = ["dem", "band_red", "band_nir", "band_swir1", "band_swir2"]
_TILL = [
    "Al", "Ba", "Ca", "Co", "Cr", "Cu", "Fe", "K", "La", "Li", "Mg", "Mn", "Ni", "P", "Sc",
    "Sr", "Th", "Ti", "V", "Y", "Zn", "Zr",
]
_GEOCHEM = _TILL + ["Au", "U"]

# Append only: ids are list positions and are baked into trained weights.
VOCAB = tuple(
    _GEOPHYSICS + _GEOLOGY + _REMOTE + _GEOCHEM + [f"unknown_{s}" for s in SOURCES]
)

# The source a known name usually belongs to (documentation and defaults only; any name may
# be used under any source).
HOME_SOURCE = {
    **{n: "geophysics" for n in _GEOPHYSICS},
    **{n: "geology" for n in _GEOLOGY},
    **{n: "remote_sensing" for n in _REMOTE},
    **{n: "geochemistry" for n in _GEOCHEM},
}

# Common spellings users' files carry; lower-case keys.
ALIASES = {
    "mag": "magnetic", "tmi": "magnetic", "rtp": "magnetic", "magnetics": "magnetic",
    "grav": "gravity", "bouguer": "gravity", "gravity_bouguer": "gravity",
    "inphase": "em_inphase", "quadrature": "em_quadrature", "res": "resistivity",
    "gamma_tc": "gamma_total", "total_count": "gamma_total",
    "lithology": "lithology_unit", "geology": "lithology_unit",
    "faults": "fault_distance", "fault_dist": "fault_distance",
    "elevation": "dem", "dtm": "dem", "red": "band_red", "nir": "band_nir",
    "swir1": "band_swir1", "swir2": "band_swir2",
}

# Radiometric K/Th/U under geophysics are gamma channels, under geochemistry the elements.
SOURCE_ALIASES = {
    "geophysics": {"k": "gamma_k", "th": "gamma_th", "u": "gamma_u", "tc": "gamma_total"},
}

_UNIT_SUFFIXES = ("_ppm", "_ppb", "_pct", "_wt", "_percent", "_pc")


def fallback_name(source):
    return f"unknown_{source}"


def _lookup_table(vocab):
    table = {}
    for i, name in enumerate(vocab):
        table.setdefault(name.lower(), i)
    return table


_DEFAULT_TABLE = _lookup_table(VOCAB)


def resolve(name, source, vocab=None):
    """Return (id, known). Unknown names get the source's fallback id and known=False.

    Case-insensitive; common aliases and unit suffixes ("Cu_ppm") are accepted. `vocab` is the
    vocabulary a loaded model was trained with (defaults to this module's VOCAB).
    """
    vocab = VOCAB if vocab is None else tuple(vocab)
    table = _DEFAULT_TABLE if vocab == VOCAB else _lookup_table(vocab)
    key = str(name).strip().lower()
    candidates = [key]
    for suf in _UNIT_SUFFIXES:
        if key.endswith(suf):
            candidates.append(key[: -len(suf)])
    src_alias = SOURCE_ALIASES.get(source, {})
    for cand in list(candidates):
        if cand in src_alias:
            candidates.insert(0, src_alias[cand].lower())
        if cand in ALIASES:
            candidates.append(ALIASES[cand].lower())
    for cand in candidates:
        if cand in table and not cand.startswith("unknown_"):
            return table[cand], True
    fb = fallback_name(source)
    if fb.lower() in table:
        return table[fb.lower()], False
    # A source the vocabulary has never seen: use any fallback rather than crash.
    for i, n in enumerate(vocab):
        if n.startswith("unknown_"):
            return i, False
    raise ValueError("vocabulary has no fallback entries")


def layer_id(name, source, vocab=None):
    """Id of a layer name; unknown names map to "unknown_<source>" (see resolve for the flag)."""
    return resolve(name, source, vocab)[0]


def layer_ids(names, source, vocab=None):
    """Ids for a list of names plus the names that fell back to the unknown entry."""
    ids, unknown = [], []
    for n in names:
        i, known = resolve(n, source, vocab)
        ids.append(i)
        if not known:
            unknown.append(n)
    return ids, unknown


def source_id(source):
    """Index of a data source; the source embedding table is sized by SOURCES."""
    try:
        return SOURCES.index(source)
    except ValueError:
        from ..core.errors import InputError

        raise InputError(
            f"unknown data source '{source}'",
            fix=f"use one of {', '.join(SOURCES)}",
        ) from None
