"""mpm:predict: the engine's prospectivity.predict (probability, uncertainty, contributions) as a Processing algorithm."""

import os

from qgis.core import (QgsProcessingOutputRasterLayer, QgsProcessingParameterBoolean,
                       QgsProcessingParameterFolderDestination)

from ..i18n import tr
from .base import EngineAlgorithm

RASTERS = (("PROSPECTIVITY", "prospectivity.tif", "Prospectivity"),
           ("UNCERTAINTY", "uncertainty.tif", "Prospectivity uncertainty"),
           ("CONTRIBUTIONS", "contributions.tif", "Source contributions"))


class PredictAlgorithm(EngineAlgorithm):
    NAME = "predict"
    DISPLAY = "Predict prospectivity"
    GROUP = ("prospectivity", "Prospectivity")
    HELP = ("Maps prospectivity over an aligned stack with a head from Fine-tune prospectivity head. Writes into "
            "the output folder: prospectivity.tif (probability 0-1), uncertainty.tif (spread of the head's "
            "ensemble) and, with contributions on, contributions.tif: one band per data source, the drop in "
            "probability when that source is left out (positive: the source raises prospectivity there). The "
            "stack must hold the same kinds of layers, in the same order, as the stack the head was trained on; "
            "it may cover a new area. The three rasters are loaded into the project.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_folder("STACK", "Aligned stack folder",
                        "A folder written by Align evidence stack with the same layer kinds as the head's training stack.")
        self.add_folder("HEAD", "Head folder (from Fine-tune prospectivity head)")
        self.add_model()
        self.add_backend()
        self.add_threads()
        self.add_tile()
        self.add(QgsProcessingParameterBoolean("CONTRIBUTIONS", tr("Per-source contribution maps"), True),
                 "Costs one more embedding pass per source (cached afterwards).")
        self.add(QgsProcessingParameterFolderDestination("OUTPUT", tr("Prediction folder")),
                 "A new folder (it must not exist, or be empty).")
        for key, _file, label in RASTERS:
            self.addOutput(QgsProcessingOutputRasterLayer(key, tr(label)))

    def run_engine(self, parameters, context, feedback):
        from ..engine.prospectivity import predict

        stack = self.input_folder(parameters, "STACK", context, "stack.json", "an aligned stack folder")
        head = self.input_folder(parameters, "HEAD", context, "head_card.json", "a head folder")
        out = self.output_folder(parameters, "OUTPUT", context)
        model, backend = self.model_path(parameters, context), self.enum_string(parameters, "BACKEND", context)
        contributions = self.parameterAsBoolean(parameters, "CONTRIBUTIONS", context)
        threads = self.threads(parameters, context)
        with self.torch_threads(threads):
            r = predict(stack, head, out, model=model, backend=backend, contributions=contributions,
                        tile=self.parameterAsInt(parameters, "TILE", context), overwrite=False,
                        feedback=feedback, threads=threads)
        feedback.pushInfo(tr("Mean probability {0:.3f}, maximum {1:.3f} over {2} valid pixels").format(
            r["mean_probability"], r["max_probability"], r["valid_pixels"]))
        results = {"OUTPUT": r["out_dir"]}
        for key, name, _label in RASTERS:
            if os.path.exists(os.path.join(r["out_dir"], name)):
                results[key] = os.path.join(r["out_dir"], name)
        self.load_on_completion(context, results, {k: label for k, _f, label in RASTERS})
        return results
