"""mpm:structures: the SAM structure extractor in batch, from a points layer of prompts."""

import os

from qgis.core import QgsProcessingContext, QgsProcessingOutputNumber, QgsProcessingOutputString, QgsProcessingUtils

from ..i18n import tr
from .base import EngineAlgorithm


class StructuresAlgorithm(EngineAlgorithm):
    NAME = "structures"
    DISPLAY = "Extract structures (SAM) from prompt points"
    GROUP = ("structures", "Structures")
    HELP = ("Runs the Segment-Anything structure extractor on a raster (a magnetic or gravity grid, a DEM, an image) "
            "for every group of prompt points and writes one feature per group to a GeoPackage: a centre line for "
            "faults, lineaments and contacts (layer 'structure_lines'), a polygon for intrusions and alteration "
            "(layer 'structure_polygons'), in the raster's CRS. Points of "
            "one group share a value of the group field (empty: every point is its own group); the label field "
            "holds 1 for include and 0 for exclude points (empty: all include); the type field, when given, sets "
            "the feature type per group, else TYPE applies to all. Each group is segmented in a view centred on "
            "its points, at least CONTEXT raster pixels across. MODEL: empty for the shipped GeoSAM, or an "
            "official SAM checkpoint (sam_vit_b/l/h .pth) you downloaded. Attributes: type, score (the model's "
            "predicted IoU), include/exclude point counts, group, raster, bands, model, creation time.")

    def add_outputs(self):
        self.addOutput(QgsProcessingOutputString("LAYERS", tr("Layers written")))
        self.addOutput(QgsProcessingOutputNumber("FEATURES", tr("Structures written")))

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """MODEL may be a GeoSAM model folder: a file parameter refuses folders, so its card is checked instead."""
        model = parameters.get("MODEL")
        if isinstance(model, str) and os.path.isdir(model):
            parameters = dict(parameters, MODEL=os.path.join(model, "model_card.json"))
        return super().checkParameterValues(parameters, context)

    def run_engine(self, parameters, context, feedback):
        values, r = self.run_operation(parameters, context, feedback)
        out = values["out_path"]
        feedback.pushInfo(tr("{0} structures written; groups without a result: {1}").format(
            r["features"], ", ".join(r["skipped_groups"]) or tr("none")))
        layers = list(r["layers"])
        # Processing loads OUTPUT (the file: its first layer); with lines and polygons, the second layer too
        project = context.project()
        if len(layers) > 1 and project is not None and context.willLoadLayerOnCompletion(out):
            uri = f"{out}|layername={layers[1]}"
            context.addLayerToLoadOnCompletion(uri, QgsProcessingContext.LayerDetails(
                layers[1], project, "OUTPUT", QgsProcessingUtils.LayerHint.Vector))
        return {"OUTPUT": out, "LAYERS": ",".join(layers), "FEATURES": r["features"]}
