"""Where the shipped models live, importable without rasterio, pyogrio or torch.

The QGIS panel reads these paths when it opens, before mpm_plugin.deps.preload has pointed the
GIS wheels at QGIS's own GDAL/PROJ data: importing rasterio there (engine.foundation.features does) would
leave the wheels' newer proj.db in place, and QGIS's PROJ aborts on it.
"""

import os

# engine/core/shipped.py -> the folder holding engine/ (the checkout, or the installed plugin folder)
ENGINE_PARENT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS_DIR = os.path.join(ENGINE_PARENT, "models")
FOUNDATION_MODEL = os.path.join(MODELS_DIR, "mpm-foundation-v2")
GEOSAM_MODEL = os.path.join(MODELS_DIR, "mpm-geosam-v2")
