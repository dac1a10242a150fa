"""mpm:validate: engine.prospectivity.validate.validate_map (any prospectivity map against known deposits) as a Processing algorithm."""

import os

from qgis.core import QgsProcessingOutputFile, QgsProcessingOutputNumber

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

    def add_outputs(self):
        self.addOutput(QgsProcessingOutputFile("VALIDATION_REPORT", tr("Validation report (JSON)")))
        self.addOutput(QgsProcessingOutputNumber("ROC_AUC", tr("ROC-AUC over the whole map")))
        self.addOutput(QgsProcessingOutputNumber("SUCCESS_RATE_AUC", tr("Success-rate AUC")))

    def run_engine(self, parameters, context, feedback):
        layer = self.parameterAsRasterLayer(parameters, "MAP", context)
        values, r = self.run_operation(parameters, context, feedback, name=layer.name() if layer else None)
        out = values["out"]
        (m,) = r["methods"].values()
        feedback.pushInfo(tr("ROC-AUC {0:.3f}, success-rate AUC {1:.3f}; {2} deposits used, {3} left out").format(
            m["roc_auc"], m["success_rate_auc"], r["meta"]["deposits"], len(r["meta"]["dropped"])))
        return {"OUTPUT": out, "VALIDATION_REPORT": os.path.join(out, "validation.json"), "ROC_AUC": m["roc_auc"],
                "SUCCESS_RATE_AUC": m["success_rate_auc"]}
