"""mpm:alignstack: the engine's align_stack as a Processing algorithm."""

import os

from qgis.core import (QgsProcessing, QgsProcessingParameterBoolean, QgsProcessingParameterCrs,
                       QgsProcessingParameterExtent, QgsProcessingParameterFeatureSource,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber, QgsProcessingParameterString, QgsProcessingOutputRasterLayer)

from ..i18n import tr
from .base import EngineAlgorithm

SOURCE_PARAMS = (
    ("GEOLOGY", "geology", "Geology layers (lithology polygons, fault lines, geology rasters)", QgsProcessing.TypeMapLayer),
    ("GEOCHEMISTRY", "geochemistry", "Geochemistry sample points", QgsProcessing.TypeVectorPoint),
    ("GEOPHYSICS", "geophysics", "Geophysics grids", QgsProcessing.TypeRaster),
    ("REMOTE_SENSING", "remote_sensing", "Remote sensing rasters", QgsProcessing.TypeRaster),
)


class AlignStackAlgorithm(EngineAlgorithm):
    NAME = "alignstack"
    DISPLAY = "Align evidence stack"
    HELP = ("Aligns the layers of every data source onto one grid: rasters are reprojected (continuous: bilinear, "
            "categorical: nearest), lithology polygons rasterised by class, faults turned into distance (km), "
            "geochemical samples gridded per element by inverse-distance weighting after below-detection handling "
            "and a centred log-ratio. Writes a stack folder (stack.tif, valid.tif, deposits.tif, stack.json) that "
            "every other MPM Studio tool reads. Inputs are never modified.")

    def initAlgorithm(self, config=None):  # noqa: N802
        for key, _source, label, layer_type in SOURCE_PARAMS:
            self.addParameter(QgsProcessingParameterMultipleLayers(key, tr(label), layer_type, optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            "DEPOSITS", tr("Known deposits (points)"), [QgsProcessing.TypeVectorPoint], optional=True))
        self.addParameter(QgsProcessingParameterFeatureSource(
            "AOI", tr("Area of interest (polygons)"), [QgsProcessing.TypeVectorPolygon], optional=True))
        self.addParameter(QgsProcessingParameterString(
            "LITHOLOGY_FIELD", tr("Lithology class field (empty: first text field)"), optional=True))
        self.addParameter(QgsProcessingParameterString(
            "ELEMENTS", tr("Elements to grid, comma separated (empty: all element fields)"), optional=True))
        self.addParameter(QgsProcessingParameterBoolean("CLR", tr("Centred log-ratio transform of geochemistry"), True))
        self.addParameter(QgsProcessingParameterNumber(
            "SEARCH_RADIUS", tr("Geochemistry search radius in metres (0: 3 x median sample spacing)"),
            QgsProcessingParameterNumber.Double, 0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterCrs("CRS", tr("Target CRS (empty: the first raster's)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            "RESOLUTION", tr("Target pixel size (0: most common raster pixel size)"),
            QgsProcessingParameterNumber.Double, 0.0, minValue=0.0))
        self.addParameter(QgsProcessingParameterExtent("EXTENT", tr("Target extent (empty: AOI or raster overlap)"), optional=True))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT", tr("Output stack folder")))
        self.addOutput(QgsProcessingOutputRasterLayer("STACK", tr("Aligned stack")))
        self.addOutput(QgsProcessingOutputRasterLayer("VALID", tr("Validity mask")))

    def run_engine(self, parameters, context, feedback):
        from ..engine.data.layers import LayerSpec
        from ..engine.data.stack import StackSpec, align_stack

        layers = []
        field = self.parameterAsString(parameters, "LITHOLOGY_FIELD", context) or None
        elements = [e.strip() for e in self.parameterAsString(parameters, "ELEMENTS", context).split(",") if e.strip()]
        for key, source, _label, _t in SOURCE_PARAMS:
            for path in self.layer_sources(parameters, key, context, feedback):
                extra = {}
                if source == "geology" and field:
                    extra["field"] = field
                if source == "geochemistry" and elements:
                    extra["elements"] = elements
                layers.append(LayerSpec(path, source, **extra))
        crs = self.parameterAsCrs(parameters, "CRS", context)
        bounds = None
        if parameters.get("EXTENT"):
            if not crs.isValid():  # an extent in a known CRS also fixes the target CRS
                crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
            rect = self.parameterAsExtent(parameters, "EXTENT", context, crs)
            if not rect.isNull() and rect.width() > 0:
                bounds = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
        crs_text = (crs.authid() or crs.toWkt()) if crs.isValid() else None
        spec = StackSpec(
            layers, crs=crs_text, res=self.parameterAsDouble(parameters, "RESOLUTION", context) or None, bounds=bounds,
            aoi=self.vector_source(parameters, "AOI", context, feedback),
            deposits=self.vector_source(parameters, "DEPOSITS", context, feedback),
            clr=self.parameterAsBoolean(parameters, "CLR", context),
            search_radius=self.parameterAsDouble(parameters, "SEARCH_RADIUS", context) or None)
        out = self.output_folder(parameters, "OUTPUT", context)
        manifest = align_stack(spec, out, overwrite=False, feedback=feedback)
        feedback.pushInfo(tr("Stack: {0} bands, {1} x {2} px").format(
            len(manifest["bands"]), manifest["grid"]["width"], manifest["grid"]["height"]))
        if "deposits" in manifest:
            d = manifest["deposits"]
            feedback.pushInfo(tr("Deposits: {0} of {1} used, {2} outside the area, {3} on nodata").format(
                d["used"], d["total"], d["outside"], d["on_nodata"]))
        results = {"OUTPUT": out, "STACK": os.path.join(out, "stack.tif"), "VALID": os.path.join(out, "valid.tif")}
        self.load_on_completion(context, results, {"STACK": "Aligned stack", "VALID": "Validity mask"})
        return results
