"""mpm:structures: the SAM structure extractor in batch, from a points layer of prompts."""

import os

from qgis.core import (QgsProcessing, QgsProcessingContext, QgsProcessingException, QgsProcessingOutputNumber,
                       QgsProcessingOutputString, QgsProcessingParameterBand, QgsProcessingParameterBoolean,
                       QgsProcessingParameterField,
                       QgsProcessingParameterFile, QgsProcessingParameterNumber, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterVectorDestination, QgsProcessingParameterVectorLayer, QgsProcessingUtils)

from ..i18n import tr
from .base import EngineAlgorithm

FEATURE_TYPES = ("fault", "lineament", "contact", "intrusion", "alteration")


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

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add(QgsProcessingParameterRasterLayer("INPUT", tr("Raster to trace structures on")))
        self.add(QgsProcessingParameterBand("BANDS", tr("Bands (1 to 3)"), defaultValue=[1], parentLayerParameterName="INPUT",
                                            allowMultiple=True),
                 "One band for a grid (magnetics, gravity, DEM), up to three for an image.")
        self.add(QgsProcessingParameterVectorLayer("PROMPTS", tr("Prompt points"), [QgsProcessing.TypeVectorPoint]))
        self.add_enum("TYPE", "Feature type", FEATURE_TYPES, "fault",
                      "Values: fault, lineament, contact, intrusion, alteration. Used for every group unless a type "
                      "field is given.")
        self.add(QgsProcessingParameterField("GROUP_FIELD", tr("Group field (points of one feature)"),
                                             parentLayerParameterName="PROMPTS", optional=True))
        self.add(QgsProcessingParameterField("LABEL_FIELD", tr("Label field (1 include, 0 exclude)"),
                                             parentLayerParameterName="PROMPTS", optional=True))
        self.add(QgsProcessingParameterField("TYPE_FIELD", tr("Type field (overrides the feature type)"),
                                             parentLayerParameterName="PROMPTS", optional=True))
        self.add(QgsProcessingParameterNumber("TOLERANCE", tr("Simplification tolerance (map units, 0: none)"),
                                              QgsProcessingParameterNumber.Double, 0.0, minValue=0.0))
        self.add(QgsProcessingParameterBoolean("SNAP", tr("Snap intrusions and alteration to the image's edges"), True),
                 "The model finds the body, a watershed on the image's gradient seeded with the model's mask draws "
                 "its boundary (on the held-out Kolari grids this traces the intrusions far better). Off: the "
                 "model's own mask.")
        self.add(QgsProcessingParameterNumber("CONTEXT", tr("View size around each group (raster pixels)"),
                                              QgsProcessingParameterNumber.Integer, 256, minValue=32), advanced=True)
        self.add(QgsProcessingParameterFile("MODEL", tr("SAM model (empty: the shipped GeoSAM)"), optional=True),
                 "A GeoSAM model folder or its model_card.json, or an official SAM checkpoint (sam_vit_b/l/h .pth, "
                 ".safetensors) loaded without running code.", advanced=True)
        self.add_backend()
        self.add_threads()
        self.add(QgsProcessingParameterVectorDestination("OUTPUT", tr("Structures"), QgsProcessing.TypeVectorAnyGeometry),
                 "A GeoPackage (.gpkg): layer structure_lines and / or structure_polygons.")
        self.addOutput(QgsProcessingOutputString("LAYERS", tr("Layers written")))
        self.addOutput(QgsProcessingOutputNumber("FEATURES", tr("Structures written")))

    def checkParameterValues(self, parameters, context):  # noqa: N802
        """MODEL may be a GeoSAM model folder: a file parameter refuses folders, so its card is checked instead."""
        model = parameters.get("MODEL")
        if isinstance(model, str) and os.path.isdir(model):
            parameters = dict(parameters, MODEL=os.path.join(model, "model_card.json"))
        return super().checkParameterValues(parameters, context)

    def run_engine(self, parameters, context, feedback):
        from ..engine.structures.extract import extract_from_points

        raster = self.parameterAsRasterLayer(parameters, "INPUT", context)
        if raster is None:
            raise QgsProcessingException(tr("Could not load the raster given for INPUT"))
        src = self._file_source(raster, context, feedback)
        bands = [int(b) for b in self.parameterAsInts(parameters, "BANDS", context)] or [1]
        prompts = self.vector_source(parameters, "PROMPTS", context, feedback)
        out = self.output_file(parameters, "OUTPUT", context, ".gpkg")
        threads = self.threads(parameters, context)
        with self.torch_threads(threads):  # the predictor sets torch's process-wide count: put it back after
            r = extract_from_points(
                src, prompts, out, bands=bands, feature_type=self.enum_string(parameters, "TYPE", context),
                group_field=self.parameterAsString(parameters, "GROUP_FIELD", context) or None,
                label_field=self.parameterAsString(parameters, "LABEL_FIELD", context) or None,
                type_field=self.parameterAsString(parameters, "TYPE_FIELD", context) or None,
                model=self.model_path(parameters, context), backend=self.enum_string(parameters, "BACKEND", context),
                tolerance=self.parameterAsDouble(parameters, "TOLERANCE", context),
                context_px=self.parameterAsInt(parameters, "CONTEXT", context), overwrite=True, feedback=feedback,
                threads=threads, snap=self.parameterAsBool(parameters, "SNAP", context))
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
