"""mpm:targets: the engine's targets.make_targets (ranked target polygons) as a Processing algorithm."""

from qgis.core import QgsProcessing, QgsProcessingException, QgsProcessingParameterNumber, QgsProcessingParameterVectorDestination

from ..i18n import tr
from .base import EngineAlgorithm

MODES = ("capture", "threshold")


class TargetsAlgorithm(EngineAlgorithm):
    NAME = "targets"
    DISPLAY = "Exploration targets"
    GROUP = ("prospectivity", "Prospectivity")
    HELP = ("Turns a prospectivity map into ranked target polygons (GeoPackage, layer 'targets'). Mode 'capture': "
            "the probability cut is chosen so the targets hold the given fraction of the known deposits (VALUE 0.8 "
            "= 80 %; needs the stack folder, whose deposits are used). Mode 'threshold': VALUE is the probability "
            "cut itself (0-1). Areas smaller than the minimum area are dropped. Each target carries its rank (by "
            "mean probability), area in km2, mean and maximum probability, mean uncertainty and dominant data "
            "source (when the prediction folder has uncertainty.tif and contributions.tif), and the number of "
            "known deposits inside.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_folder("PREDICTION", "Prediction folder (from Predict prospectivity)",
                        "Holds prospectivity.tif; uncertainty.tif and contributions.tif are used when present.")
        self.add_enum("MODE", "How to cut the map", MODES, "capture",
                      "Values: capture, threshold. capture: VALUE is the fraction of known deposits the targets must "
                      "hold; threshold: VALUE is the probability cut.")
        self.add(QgsProcessingParameterNumber("VALUE", tr("Fraction of deposits captured, or probability threshold"),
                                              QgsProcessingParameterNumber.Double, 0.8, minValue=0.0, maxValue=1.0))
        self.add_folder("STACK", "Aligned stack folder (its deposits are counted; needed for mode 'capture')",
                        "The stack the prediction was made on; its known deposits (stack.json) decide the cut in mode "
                        "capture and are counted per target.", optional=True)
        self.add(QgsProcessingParameterNumber("MIN_AREA", tr("Smallest target (km2)"), QgsProcessingParameterNumber.Double,
                                              0.5, minValue=0.0))
        self.add(QgsProcessingParameterNumber("SIMPLIFY", tr("Simplification tolerance (map units, 0: none)"),
                                              QgsProcessingParameterNumber.Double, 0.0, minValue=0.0), advanced=True)
        self.add(QgsProcessingParameterVectorDestination("OUTPUT", tr("Targets"), QgsProcessing.TypeVectorPolygon),
                 "A GeoPackage (.gpkg).")

    def run_engine(self, parameters, context, feedback):
        from ..engine.prospectivity.targets import targets_from_prediction

        pred = self.input_folder(parameters, "PREDICTION", context, "prospectivity.tif", "a prediction folder")
        stack = self.input_folder(parameters, "STACK", context, "stack.json", "an aligned stack folder")
        mode = self.enum_string(parameters, "MODE", context)
        value = self.parameterAsDouble(parameters, "VALUE", context)
        if mode == "capture" and not stack:
            raise QgsProcessingException(tr("Mode 'capture' needs the STACK folder (its known deposits decide the "
                                            "cut); give it, or use mode 'threshold'"))
        out = self.output_file(parameters, "OUTPUT", context, ".gpkg")
        simplify = self.parameterAsDouble(parameters, "SIMPLIFY", context)
        r = targets_from_prediction(pred, out, stack_dir=stack, threshold=value if mode == "threshold" else None,
                                    capture=value if mode == "capture" else None,
                                    min_area_km2=self.parameterAsDouble(parameters, "MIN_AREA", context),
                                    simplify=simplify or None, overwrite=True, feedback=feedback)
        feedback.pushInfo(tr("{0} targets, {1:.1f} km2 above probability {2:.3f}; {3} of {4} known deposits inside").format(
            r["n_targets"], r["area_km2_total"], r["threshold"], r["deposits_captured"], r["deposits_total"]))
        return {"OUTPUT": out}
