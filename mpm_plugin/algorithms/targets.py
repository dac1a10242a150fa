"""mpm:targets: the engine's targets.make_targets (ranked target polygons) as a Processing algorithm."""

from ..i18n import tr
from .base import EngineAlgorithm


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

    def run_engine(self, parameters, context, feedback):
        values, r = self.run_operation(parameters, context, feedback)
        feedback.pushInfo(tr("{0} targets, {1:.1f} km2 above probability {2:.3f}; {3} of {4} known deposits inside").format(
            r["n_targets"], r["area_km2_total"], r["threshold"], r["deposits_captured"], r["deposits_total"]))
        return {"OUTPUT": values["out"]}
