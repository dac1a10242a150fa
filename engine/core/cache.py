"""Where the engine keeps what it can recompute (embeddings, ONNX exports, SAM views): one root folder.

Light on purpose (no rasterio, no torch): the model backends, the SAM predictor and the QGIS
settings all need the folder without pulling in the GIS stack.
"""

import os

CACHE_ENV = "MPM_CACHE_DIR"


def cache_dir():
    """MPM_CACHE_DIR, else ~/.cache/mpm-studio (everything in it can be deleted at any time)."""
    d = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "mpm-studio")
    os.makedirs(d, exist_ok=True)
    return d
