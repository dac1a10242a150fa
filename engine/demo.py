"""The bundled demo: GTK's open Kolari IOCG data (../shared/data/kolari_iocg), never copied here."""

import os

from .errors import InputError
from .layers import LayerSpec
from .stack import StackSpec

ENV_VAR = "MPM_DEMO_DATA"
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_PATHS = (os.path.join(_REPO, "..", "shared", "data", "kolari_iocg"),)

GEOPHYSICS = ("IOCG_Mag_grysc_DGRF65_anom_100m", "IOCG_AEM_Inph_100m", "IOCG_AEM_Quad_100m", "IOCG_App_res_100m",
              "IOCG_EM_ratio_100m", "IOCG_Gm_Rd_K_100m", "IOCG_Gm_Rd_Th_eq_100m", "IOCG_Gm_Rd_U_eq_100m",
              "IOCG_Gm_Rd_Total_Count_100m")
LAYER_TYPES = {"IOCG_Mag_grysc_DGRF65_anom_100m": "magnetic", "IOCG_AEM_Inph_100m": "em_inphase",
               "IOCG_AEM_Quad_100m": "em_quadrature", "IOCG_App_res_100m": "resistivity", "IOCG_EM_ratio_100m": "em_ratio",
               "IOCG_Gm_Rd_K_100m": "gamma_k", "IOCG_Gm_Rd_Th_eq_100m": "gamma_th", "IOCG_Gm_Rd_U_eq_100m": "gamma_u",
               "IOCG_Gm_Rd_Total_Count_100m": "gamma_total"}


def find_demo_data(path=None):
    """The Kolari folder, or an error that says where it was looked for."""
    candidates = [path] if path else ([os.environ[ENV_VAR]] if os.environ.get(ENV_VAR) else []) + list(DEFAULT_PATHS)
    for c in candidates:
        if c and os.path.isdir(os.path.join(c, "Geophysics_100m")):
            return os.path.normpath(c)
    raise InputError(f"Kolari demo data not found (looked in: {', '.join(os.path.normpath(c) for c in candidates if c)})",
                     fix=f"place the shared data at ../shared/data/kolari_iocg beside the project, or set {ENV_VAR}")


def kolari_spec(data=None, res=100.0, bounds=None, geophysics=GEOPHYSICS, elements=None):
    """Stack spec of the demo: 9 geophysics grids, lithology + faults, 22-element till CLR, IOCG deposits."""
    d = find_demo_data(data)
    layers = [LayerSpec(os.path.join(d, "Geophysics_100m", f"{g}.tif"), "geophysics", name=g, layer_type=LAYER_TYPES[g])
              for g in geophysics]
    layers += [
        LayerSpec(os.path.join(d, "Geological_Data", "IOCG_CLB_Lith_Asstn_1M.shp"), "geology", kind="categorical",
                  name="lithology", field="ROCK_NAME_", layer_type="lithology_unit"),
        LayerSpec(os.path.join(d, "Geological_Data", "IOCG_CLB_Structures_1M.shp"), "geology", kind="distance",
                  name="fault_distance", layer_type="fault_distance"),
        LayerSpec(os.path.join(d, "Geochemical_Data", "Vector_files", "IOCG_CLB_Till_Geochem_reg_511p.shp"),
                  "geochemistry", kind="points", name="till", elements=elements),
    ]
    return StackSpec(layers, res=res, bounds=bounds,
                     aoi=None if bounds else os.path.join(d, "Geological_Data", "EIS_IOCG_target_area.shp"),
                     deposits=os.path.join(d, "Deposits_Occurrences", "IOCG_Deps_Prosp_Occs.shp"))
