"""mpm:finetune: the engine's prospectivity.finetune (head on frozen embeddings + spatial CV) as a Processing algorithm."""

import os

from qgis.core import QgsProcessingOutputFile, QgsProcessingOutputNumber

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

    def add_outputs(self):
        self.addOutput(QgsProcessingOutputFile("VALIDATION_REPORT", tr("Validation report (JSON)")))
        for key, _method, label in AUC_OUTPUTS:
            self.addOutput(QgsProcessingOutputNumber(key, tr(label)))

    def run_engine(self, parameters, context, feedback):
        _values, r = self.run_operation(parameters, context, feedback)
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
