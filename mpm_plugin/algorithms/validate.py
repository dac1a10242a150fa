"""mpm:validate: engine.prospectivity.validate.validate_map (any prospectivity map against known deposits) as a Processing algorithm."""

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingOutputFile, QgsProcessingOutputNumber,
                       QgsProcessingParameterBand, QgsProcessingParameterBoolean,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterRasterLayer,
                       QgsProcessingParameterVectorLayer)

from ..i18n import tr
from .base import EngineAlgorithm


class ValidateAlgorithm(EngineAlgorithm):
    NAME = "validate"
    DISPLAY = "Validate a prospectivity map"
    GROUP = ("prospectivity", "Prospectivity")
    HELP = ("Judges a finished prospectivity map (from Predict prospectivity, or from any other method) against "
            "known deposit points over the whole map: the success-rate curve (deposits captured against area "
            "flagged) and its AUC, ROC-AUC and PR-AUC (every valid pixel is the background), the prediction-area "
            "plot and the share of deposits in the top 10 % of the area. Deposits outside the map or on nodata are "
            "left out and listed. Writes validation.json and validation.png into the output folder (open it with "
            "the panel's Open results... to see the curves). Use it to compare maps made with different data or "
            "methods on the same deposits; for the head's own out-of-fold figures use Fine-tune prospectivity head.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add(QgsProcessingParameterRasterLayer("MAP", tr("Prospectivity map")))
        self.add(QgsProcessingParameterBand("BAND", tr("Band"), 1, "MAP"))
        self.add(QgsProcessingParameterVectorLayer("DEPOSITS", tr("Known deposits (points)"),
                                                   [QgsProcessing.TypeVectorPoint]),
                 "Any CRS; reprojected to the map's.")
        self.add(QgsProcessingParameterBoolean("LOWER_IS_BETTER", tr("Low values are prospective"), False),
                 advanced=True)
        self.add(QgsProcessingParameterFolderDestination("OUTPUT", tr("Validation folder")),
                 "A new folder (it must not exist, or be empty).")
        self.addOutput(QgsProcessingOutputFile("VALIDATION_REPORT", tr("Validation report (JSON)")))
        self.addOutput(QgsProcessingOutputNumber("ROC_AUC", tr("ROC-AUC over the whole map")))
        self.addOutput(QgsProcessingOutputNumber("SUCCESS_RATE_AUC", tr("Success-rate AUC")))

    def run_engine(self, parameters, context, feedback):
        import os

        from ..engine.prospectivity.validate import validate_map

        layer = self.parameterAsRasterLayer(parameters, "MAP", context)
        if layer is None:
            raise QgsProcessingException(tr("Could not load the layer given for {0}").format("MAP"))
        raster = self._file_source(layer, context, feedback)
        deposits = self.vector_source(parameters, "DEPOSITS", context, feedback)
        out = self.output_folder(parameters, "OUTPUT", context)
        r = validate_map(raster, deposits, out, band=self.parameterAsInt(parameters, "BAND", context) or 1,
                         higher_is_better=not self.parameterAsBoolean(parameters, "LOWER_IS_BETTER", context),
                         name=layer.name(), feedback=feedback)
        (m,) = r["methods"].values()
        feedback.pushInfo(tr("ROC-AUC {0:.3f}, success-rate AUC {1:.3f}; {2} deposits used, {3} left out").format(
            m["roc_auc"], m["success_rate_auc"], r["meta"]["deposits"], len(r["meta"]["dropped"])))
        return {"OUTPUT": out, "VALIDATION_REPORT": os.path.join(out, "validation.json"), "ROC_AUC": m["roc_auc"],
                "SUCCESS_RATE_AUC": m["success_rate_auc"]}
