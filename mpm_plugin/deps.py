"""Which Python libraries are present, checked without importing them (the plugin must load anyway); preload()."""

import ctypes
import importlib
import importlib.util
import os

REQUIRED = {"rasterio": "raster reading and alignment", "shapely": "vector geometry", "pyogrio": "vector reading",
            "scipy": "geochemistry gridding"}
MODELS = {"torch": "training and GPU inference", "onnxruntime": "CPU inference"}
# needed by some steps (fine-tune, validation, the model weights, SAM): the installer is offered for them too
FEATURES = {"sklearn": "random forest and validation", "safetensors": "model weights",
            "skimage": "structures (SAM)"}


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
    also = missing(FEATURES) if parts else []
    if also:
        parts.append("also missing: " + ", ".join(f"{m} ({FEATURES[m]})" for m in also))
    if parts:
        parts.append("install them with Plugins > MPM Studio > Install Python packages...")
    return "; ".join(parts)


_host_data = []  # [(GDAL data folder, PROJ search paths)] of QGIS's own GDAL, captured once before the imports


def preload():
    """Import the GIS libraries in the calling thread (the main one, from prepareAlgorithm), keeping QGIS's GDAL whole.

    Inside the qgis / qgis_process executables QGIS's libgdal is in the global symbol scope, so the pyogrio and
    rasterio wheels run on it (their __gdal_version__ reads QGIS's) while their imports point it at the wheels' own
    data: pyogrio sets GDAL_DATA and the PROJ search path to its newer proj.db, which QGIS's older PROJ aborts on
    (assertion in createMethodMapNameEPSGCode), and in a fresh task thread, once rasterio has set GDAL_DATA to its
    folder (no header.dxf), `import pyogrio` fails ("Could not correctly detect GDAL data files installed by pyogrio
    wheel"; GDAL's file finder is per thread). So: put QGIS's own data folders in the environment (GDAL_DATA /
    PROJ_DATA, which rasterio reads when it first starts its GDAL environment), import both here, then give QGIS's
    GDAL its folders back. In a plain Python process (tests, CLI) the wheels carry their own GDAL: nothing changes.
    Failed imports are left for processAlgorithm to report.
    """
    if not _host_data:
        _host_data.append(_shared_gdal_data())
    gdal_data, proj_paths = _host_data[0] or (None, None)
    proj_db = [p for p in proj_paths or () if os.path.exists(os.path.join(p, "proj.db"))]
    if gdal_data:
        os.environ.setdefault("GDAL_DATA", gdal_data)
    if proj_db:
        os.environ.setdefault("PROJ_DATA", proj_db[0])  # also spares Debian's pyproj (pyogrio imports it) a warning
    for name in ("pyogrio", "rasterio"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (processAlgorithm reports missing or broken packages)
            pass
    if gdal_data or proj_paths:
        from osgeo import gdal, osr

        if gdal_data:
            gdal.SetConfigOption("GDAL_DATA", gdal_data)
        if proj_paths:
            osr.SetPROJSearchPaths(proj_paths)


def _shared_gdal_data():
    """(GDAL data folder, PROJ search paths) of the process's own GDAL when the wheels would share it, else None."""
    try:
        ctypes.CDLL(None).GDALVersionInfo  # noqa: B018 (defined only when libgdal is in the global scope)
        from osgeo import gdal, osr
    except (AttributeError, OSError, ImportError):
        return None
    header = gdal.FindFile("gdal", "header.dxf")
    return (gdal.GetConfigOption("GDAL_DATA") or (os.path.dirname(header) if header else None),
            list(osr.GetPROJSearchPaths() or []))
