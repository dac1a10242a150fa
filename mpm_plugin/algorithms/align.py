"""mpm:alignstack: the engine's align_stack as a Processing algorithm."""

import os

from qgis.core import QgsProcessing, QgsProcessingOutputRasterLayer, QgsProcessingParameterMultipleLayers

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

    def add_custom(self, p):
        """The layers: one multiple-layer parameter per source."""
        for key, _source, label, layer_type in SOURCE_PARAMS:
            self.addParameter(QgsProcessingParameterMultipleLayers(key, tr(label), layer_type, optional=True))

    def add_outputs(self):
        self.addOutput(QgsProcessingOutputRasterLayer("STACK", tr("Aligned stack")))
        self.addOutput(QgsProcessingOutputRasterLayer("VALID", tr("Validity mask")))

    def read(self, p, parameters, context, feedback):
        from ..engine.data.layers import LayerSpec

        if p.name == "layers":
            return [LayerSpec(path, source) for key, source, _label, _t in SOURCE_PARAMS
                    for path in self.layer_sources(parameters, key, context, feedback)]
        if p.name == "crs":  # an extent in a known CRS also fixes the target CRS
            crs = self.target_crs(parameters, context)
            return (crs.authid() or crs.toWkt()) if crs.isValid() else None
        if p.name == "bounds":
            if not parameters.get("EXTENT"):
                return None
            rect = self.parameterAsExtent(parameters, "EXTENT", context, self.target_crs(parameters, context))
            return None if rect.isNull() or rect.width() <= 0 else (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(),
                                                                     rect.yMaximum())
        return super().read(p, parameters, context, feedback)

    def target_crs(self, parameters, context):
        crs = self.parameterAsCrs(parameters, "CRS", context)
        if not crs.isValid() and parameters.get("EXTENT"):
            crs = self.parameterAsExtentCrs(parameters, "EXTENT", context)
        return crs

    def run_engine(self, parameters, context, feedback):
        values, manifest = self.run_operation(parameters, context, feedback)
        out = values["out"]
        feedback.pushInfo(tr("Stack: {0} bands, {1} x {2} px").format(
            len(manifest["bands"]), manifest["grid"]["width"], manifest["grid"]["height"]))
        if "deposits" in manifest:
            d = manifest["deposits"]
            feedback.pushInfo(tr("Deposits: {0} of {1} used, {2} outside the area, {3} on nodata").format(
                d["used"], d["total"], d["outside"], d["on_nodata"]))
        results = {"OUTPUT": out, "STACK": os.path.join(out, "stack.tif"), "VALID": os.path.join(out, "valid.tif")}
        self.load_on_completion(context, results, {"STACK": "Aligned stack", "VALID": "Validity mask"})
        return results

    def preview_values(self, parameters, context, feedback):
        """The engine values of `parameters` without the output folder: what preview() takes. Main thread (it
        reads the project's layers); the panel's Preview builds them from the same parameters as its Align."""
        return self.values(parameters, context, feedback, skip=("OUTPUT",))

    def preview(self, values, feedback=None):
        """The Align preview of `values` (engine.data.preview.Preview): the same StackSpec align would build, read
        coarsely; nothing is written. Any thread (10-20 s on Kolari)."""
        return self.operation().run({**values, "dry_run": True}, feedback=feedback)

