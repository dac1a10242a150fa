"""mpm:finetune: the engine's prospectivity.finetune (head on frozen embeddings + spatial CV) as a Processing algorithm."""

import os

from qgis.core import (QgsProcessingOutputFile, QgsProcessingOutputNumber, QgsProcessingParameterBoolean,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber)

from ..i18n import tr
from .base import EngineAlgorithm

# output name -> method key in the engine's cross-validation report
AUC_OUTPUTS = (("ROC_AUC_HEAD", "head", "ROC-AUC of the foundation head (spatial CV)"),
               ("ROC_AUC_RF", "random_forest", "ROC-AUC of the random forest baseline (spatial CV)"),
               ("ROC_AUC_WOFE", "weights_of_evidence", "ROC-AUC of the weights-of-evidence baseline (spatial CV)"))


class FinetuneAlgorithm(EngineAlgorithm):
    NAME = "finetune"
    DISPLAY = "Fine-tune prospectivity head"
    GROUP = ("prospectivity", "Prospectivity")
    HELP = ("Trains a small prospectivity head on the frozen foundation embedding of an aligned stack, using the "
            "stack's known deposits as positives and random background pixels (away from the deposits) as "
            "unlabelled samples. With validation on, the deposits are split into spatial blocks and the head is "
            "cross-validated against a random forest and weights of evidence on the same folds; the ROC-AUC of "
            "each method is returned and the full report is written as validation.json and validation.png in the "
            "head folder. The embedding is cached (MPM_CACHE_DIR), so predict reuses it. The stack must have been "
            "aligned with deposits. Output: a head folder for Predict prospectivity.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_folder("STACK", "Aligned stack folder (with deposits)",
                        "A folder written by Align evidence stack with known deposits (stack.json, deposits.tif).")
        self.add_model()
        self.add_backend()
        self.add_threads()
        self.add(QgsProcessingParameterNumber(
            "BACKGROUND", tr("Background (unlabelled) pixels sampled"), QgsProcessingParameterNumber.Integer, 20000,
            minValue=100), "Random pixels used as unlabelled samples; more is slower and steadier.")
        self.add(QgsProcessingParameterNumber(
            "BUFFER", tr("Buffer around deposits kept out of the background (m)"), QgsProcessingParameterNumber.Double,
            2000.0, minValue=0.0))
        self.add(QgsProcessingParameterBoolean("VALIDATE", tr("Spatial cross-validation against baselines"), True),
                 "Off: train the head only (faster), no validation report.")
        self.add(QgsProcessingParameterNumber(
            "FOLDS", tr("Cross-validation folds"), QgsProcessingParameterNumber.Integer, 5, minValue=2, maxValue=50),
            advanced=True)
        self.add(QgsProcessingParameterNumber(
            "BLOCK", tr("Spatial block size (m)"), QgsProcessingParameterNumber.Double, 10000.0, minValue=1.0),
            "Deposits and background are grouped in square blocks of this size; whole blocks go to one fold, so "
            "validation is not flattered by spatial autocorrelation.", advanced=True)
        self.add(QgsProcessingParameterNumber("SEED", tr("Random seed"), QgsProcessingParameterNumber.Integer, 0,
                                              minValue=0), advanced=True)
        self.add(QgsProcessingParameterFolderDestination("OUTPUT", tr("Head folder")),
                 "A new folder (it must not exist, or be empty).")
        self.addOutput(QgsProcessingOutputFile("VALIDATION_REPORT", tr("Validation report (JSON)")))
        for key, _method, label in AUC_OUTPUTS:
            self.addOutput(QgsProcessingOutputNumber(key, tr(label)))

    def run_engine(self, parameters, context, feedback):
        from engine.prospectivity import finetune

        stack = self.input_folder(parameters, "STACK", context, "stack.json", "an aligned stack folder")
        out = self.output_folder(parameters, "OUTPUT", context)
        model, backend = self.model_path(parameters, context), self.enum_string(parameters, "BACKEND", context)
        threads = self.threads(parameters, context)
        with self.torch_threads(threads):
            r = finetune(stack, out, model=model, backend=backend,
                         n_background=self.parameterAsInt(parameters, "BACKGROUND", context),
                         buffer_m=self.parameterAsDouble(parameters, "BUFFER", context),
                         validate=self.parameterAsBoolean(parameters, "VALIDATE", context),
                         folds=self.parameterAsInt(parameters, "FOLDS", context),
                         block_m=self.parameterAsDouble(parameters, "BLOCK", context),
                         seed=self.parameterAsInt(parameters, "SEED", context), overwrite=False,
                         feedback=feedback, threads=threads)
        results = {"OUTPUT": r["head"]}
        feedback.pushInfo(tr("Head trained on {0} deposits: {1}").format(r["deposits"], r["head"]))
        if r["cv"]:
            results["VALIDATION_REPORT"] = os.path.join(r["head"], "validation.json")
            for key, method, label in AUC_OUTPUTS:
                if method in r["cv"]:
                    results[key] = r["cv"][method]["roc_auc"]
                    feedback.pushInfo("{0}: {1:.3f}".format(tr(label), results[key]))
        return results
