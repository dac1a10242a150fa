"""Which Python libraries are present, checked without importing them (the plugin must load anyway)."""

import importlib.util

REQUIRED = {"rasterio": "raster reading and alignment", "shapely": "vector geometry", "pyogrio": "vector reading",
            "scipy": "geochemistry gridding"}
MODELS = {"torch": "training and GPU inference", "onnxruntime": "CPU inference"}


def missing(modules):
    return [name for name in modules if importlib.util.find_spec(name) is None]


def report():
    """A sentence for the message bar / log, or '' when everything needed is installed."""
    req = missing(REQUIRED)
    mod = missing(MODELS)
    parts = []
    if req:
        parts.append("MPM Studio cannot align data: missing Python package(s) "
                     + ", ".join(f"{m} ({REQUIRED[m]})" for m in req))
    if len(mod) == len(MODELS):
        parts.append("model features are disabled: install torch or onnxruntime")
    if parts:
        parts.append("install them with the project's scripts/setup.sh, or pip install into QGIS's Python")
    return "; ".join(parts)
