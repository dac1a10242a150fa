"""The bundled demo: GTK's open Kolari IOCG data (../shared/data/kolari_iocg), never copied here."""

import os

from .core.errors import InputError
from .data.layers import LayerSpec
from .data.stack import StackSpec

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


def run_demo(data=None, out="demo_output", overwrite=False, feedback=None, echo=print, summary=None, cv_table=None):
    """The whole chain on Kolari: align, fine-tune + validate, predict, targets, geochemical anomalies.

    Each step's output is reused when it is already there (pass overwrite=True to recompute all),
    so a second run of the set-up command only checks.
    """
    import json

    from .anomalies.reconstruction import geochem_anomalies
    from .prospectivity.workflow import finetune, predict
    from .data.reader import Stack
    from .data.stack import align_stack
    from .prospectivity.artifacts import HEAD_CARD, PREDICTION_SUMMARY, Prediction
    from .prospectivity.targets import targets_from_prediction

    out = os.path.abspath(out)
    os.makedirs(out, exist_ok=True)
    p = {k: os.path.join(out, k) for k in ("stack", "head", "prediction", "anomalies")}
    p["targets"] = os.path.join(out, "targets.gpkg")

    def todo(key, marker):
        if overwrite or not os.path.exists(os.path.join(p[key], marker) if marker else p[key]):
            return True
        echo(f"Reusing {key} made earlier: {p[key]} (--overwrite or delete it to recompute)")
        return False

    if todo("stack", "stack.json"):
        align_stack(kolari_spec(data), p["stack"], overwrite=overwrite, feedback=feedback)
    with Stack(p["stack"]) as st:
        manifest = st.manifest
    if summary:
        summary(p["stack"], manifest)
    if todo("head", HEAD_CARD):
        finetune(p["stack"], p["head"], overwrite=overwrite, feedback=feedback)
    with open(os.path.join(p["head"], HEAD_CARD)) as f:
        card = json.load(f)
    cv = card.get("cv")
    if cv and cv_table:
        echo("Spatial cross-validation (every valid cell scored out-of-fold, same folds for every method):")
        echo(cv_table(cv))
        if card.get("embeddings"):
            echo(card["embeddings"]["text"])
    if todo("prediction", PREDICTION_SUMMARY):
        predict(p["stack"], p["head"], p["prediction"], overwrite=overwrite, feedback=feedback)
    if todo("targets", None):
        r = targets_from_prediction(p["prediction"], p["targets"], stack_dir=p["stack"], capture=0.8,
                                    overwrite=overwrite, feedback=feedback)
        echo(f"Targets: {r['n_targets']} polygons, {r['area_km2_total']:.0f} km2, capturing {r['deposits_captured']} of "
             f"{r['deposits_total']} known deposits")
    if todo("anomalies", "anomalies.json"):
        geochem_anomalies(p["stack"], p["anomalies"], overwrite=overwrite, feedback=feedback)
    echo("Demo outputs:")
    echo(f"  validation report: {os.path.join(p['head'], 'validation.png')} (+ validation.json)")
    echo(f"  prospectivity:     {Prediction(p['prediction']).path('prospectivity')} (+ uncertainty.tif, contributions.tif)")
    echo(f"  targets:           {p['targets']}")
    echo(f"  anomalies:         {p['anomalies']} (residual.tif, anomaly_score.tif, mahalanobis.tif, top_anomalies.csv)")
    return p
