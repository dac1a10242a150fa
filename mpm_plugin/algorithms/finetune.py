"""mpm:finetune: the engine's prospectivity.finetune (head on frozen embeddings + spatial CV) as a Processing algorithm."""

import os

from qgis.core import (QgsProcessing, QgsProcessingOutputFile, QgsProcessingOutputNumber, QgsProcessingParameterBoolean,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterNumber,
                       QgsProcessingParameterVectorLayer)

from ..i18n import tr
from .base import EngineAlgorithm


def embeddings_sentence(emb):
    """The validation's word on the foundation embeddings, translated (the panel says the same)."""
    if not emb:
        return ""
    if not emb.get("compared", True):
        return tr("The head reads the evidence layers; the foundation embeddings were not compared on this stack "
                  "(tick Compare with the foundation embeddings to measure them).")
    text = (tr("Embeddings add skill here: ROC-AUC {0:.3f} with them, {1:.3f} without.") if emb["adds_skill"]
            else tr("Embeddings add no skill here: ROC-AUC {0:.3f} with them, {1:.3f} without."))
    return text.format(emb["roc_with"], emb["roc_without"])

# output name -> method key in the engine's cross-validation report
AUC_OUTPUTS = (("ROC_AUC_HEAD", "head", "ROC-AUC of the foundation head (spatial CV)"),
               ("ROC_AUC_RF", "random_forest", "ROC-AUC of the random forest baseline (spatial CV)"),
               ("ROC_AUC_WOFE", "weights_of_evidence", "ROC-AUC of the weights-of-evidence baseline (spatial CV)"))


class FinetuneAlgorithm(EngineAlgorithm):
    NAME = "finetune"
    DISPLAY = "Fine-tune prospectivity head"
    GROUP = ("prospectivity", "Prospectivity")
    HELP = ("Trains the prospectivity head of an aligned stack: linear members on the evidence layers (rock units "
            "and other classes as their weights of evidence) and random-forest members, averaged, with the stack's "
            "known deposits as positives and random background cells (away from the deposits) as unlabelled "
            "samples. With validation on, the area is split into square spatial blocks, each method is trained on "
            "the other blocks and scores every valid cell of the held-out ones: the head, a random forest and "
            "weights of evidence, and with Compare with the foundation embeddings ticked also the head with the "
            "foundation model's embeddings added (the log says whether they add skill on your data). ROC-AUC, PR-AUC beside chance and the share of deposits in the top "
            "10 % of the area are written to validation.json and validation.png in the head folder; the ROC-AUCs "
            "are returned. The embedding is cached (MPM_CACHE_DIR). The stack must have been aligned with "
            "deposits. Output: a head folder for Predict prospectivity.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_folder("STACK", "Aligned stack folder (with deposits)",
                        "A folder written by Align evidence stack with known deposits (stack.json, deposits.tif).")
        self.add(QgsProcessingParameterVectorLayer("DEPOSITS", tr("Deposits to train on (points, optional)"),
                                                   [QgsProcessing.TypeVectorPoint], optional=True),
                 "Another deposit type on the same stack: the stack and its cached embedding are reused. Empty: the "
                 "deposits given to Align.")
        self.add_model()
        self.add_backend()
        self.add_threads()
        self.add(QgsProcessingParameterNumber(
            "BACKGROUND", tr("Background (unlabelled) pixels sampled"), QgsProcessingParameterNumber.Integer, 10000,
            minValue=100), "Random cells used as unlabelled samples in each training fold; more is slower and steadier.")
        self.add(QgsProcessingParameterNumber(
            "BUFFER", tr("Buffer around deposits kept out of the background (m)"), QgsProcessingParameterNumber.Double,
            2000.0, minValue=0.0))
        self.add(QgsProcessingParameterBoolean("VALIDATE", tr("Spatial cross-validation against baselines"), True),
                 "Off: train the head only (faster), no validation report.")
        self.add(QgsProcessingParameterBoolean("COMPARE_EMBEDDINGS", tr("Compare with the foundation embeddings"),
                                               False),
                 "Also cross-validate the head with the foundation model's embeddings added, so the report says "
                 "whether they add skill on this stack. Embeds the stack once (cached): most of a first run's time.")
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
        from ..engine.prospectivity import finetune

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
                         feedback=feedback, threads=threads,
                         deposits=self.vector_source(parameters, "DEPOSITS", context, feedback),
                         compare_embeddings=self.parameterAsBoolean(parameters, "COMPARE_EMBEDDINGS", context))
        results = {"OUTPUT": r["head"]}
        feedback.pushInfo(tr("Head trained on {0} deposits: {1}").format(r["deposits"], r["head"]))
        if r["cv"]:
            results["VALIDATION_REPORT"] = os.path.join(r["head"], "validation.json")
            feedback.pushInfo(embeddings_sentence(r.get("embeddings")))
            for key, method, label in AUC_OUTPUTS:
                if method in r["cv"]:
                    results[key] = r["cv"][method]["roc_auc"]
                    feedback.pushInfo("{0}: {1:.3f}".format(tr(label), results[key]))
        return results
