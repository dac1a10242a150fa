"""Where the shipped models live, importable without rasterio, pyogrio or torch.

The QGIS panel reads these paths when it opens, before mpm_plugin.deps.preload has pointed the
GIS wheels at QGIS's own GDAL/PROJ data: importing rasterio there (engine.features does) would
leave the wheels' newer proj.db in place, and QGIS's PROJ aborts on it.
"""

import os

MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
FOUNDATION_MODEL = os.path.join(MODELS_DIR, "mpm-foundation-v2")
GEOSAM_MODEL = os.path.join(MODELS_DIR, "mpm-geosam-v1")
