"""MPM Studio engine: data alignment, foundation encoders and prospectivity, without QGIS.

Nothing in this package imports qgis; heavy libraries (torch, onnxruntime) are imported
inside the functions that need them so the plugin can load and report what is missing.
"""

__version__ = "0.1.0"

SOURCES = ("geology", "geochemistry", "geophysics", "remote_sensing")

import warnings as _warnings

# affine 3 (used by rasterio) flags `transform * coords`, which rasterio itself still uses.
_warnings.filterwarnings("ignore", message="Use `@` matmul", category=PendingDeprecationWarning)
