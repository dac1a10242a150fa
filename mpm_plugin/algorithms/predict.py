"""mpm:predict: the engine's prospectivity.predict (probability, uncertainty, contributions) as a Processing algorithm."""

from qgis.core import QgsProcessingOutputRasterLayer

from ..engine.prospectivity.artifacts import Prediction
from ..i18n import tr
from .base import EngineAlgorithm

# output key, the raster's role in the prediction folder (engine.prospectivity.artifacts names the file), label
RASTERS = (("PROSPECTIVITY", "prospectivity", "Prospectivity"),
           ("UNCERTAINTY", "uncertainty", "Prospectivity uncertainty"),
           ("CONTRIBUTIONS", "contributions", "Source contributions"),
           ("COVERAGE", "coverage", "Layers with data"))


class PredictAlgorithm(EngineAlgorithm):
    NAME = "predict"
    DISPLAY = "Predict prospectivity"
    GROUP = ("prospectivity", "Prospectivity")
    HELP = ("Maps prospectivity over an aligned stack with a head from Fine-tune prospectivity head. Writes into "
            "the output folder: prospectivity.tif (probability 0-1), uncertainty.tif (spread of the head's "
            "ensemble) and, with contributions on, contributions.tif: one band per data source, the drop in "
            "probability when that source is left out (positive: the source raises prospectivity there), and "
            "coverage.tif: how many of the stack's layers have data in each cell (cells where some layers are "
            "missing are predicted from the others). The stack must hold the layers the head was trained on, "
            "matched by name in any order; it may cover a new area. The rasters are loaded into the project.")

    def add_outputs(self):
        for key, _role, label in RASTERS:
            self.addOutput(QgsProcessingOutputRasterLayer(key, tr(label)))

    def run_engine(self, parameters, context, feedback):
        _values, r = self.run_operation(parameters, context, feedback)
        feedback.pushInfo(tr("Mean probability {0:.3f}, maximum {1:.3f} over {2} valid pixels").format(
            r["mean_probability"], r["max_probability"], r["valid_pixels"]))
        results = {"OUTPUT": r["out_dir"]}
        there = Prediction(r["out_dir"]).existing()
        results.update({key: there[role] for key, role, _label in RASTERS if role in there})
        self.load_on_completion(context, results, {k: label for k, _role, label in RASTERS})
        return results
