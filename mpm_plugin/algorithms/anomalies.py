"""mpm:anomalies: the engine's anomaly.geochem_anomalies as a Processing algorithm."""

import os

from qgis.core import QgsProcessingOutputFile, QgsProcessingOutputRasterLayer

from ..i18n import tr
from .base import EngineAlgorithm

RASTERS = (("ANOMALY_SCORE", "anomaly_score.tif", "Geochemical anomaly score"),
           ("MAHALANOBIS", "mahalanobis.tif", "Robust Mahalanobis distance"),
           ("RESIDUALS", "residual.tif", "Geochemical residuals per element"))


class AnomaliesAlgorithm(EngineAlgorithm):
    NAME = "anomalies"
    DISPLAY = "Geochemical anomalies"
    GROUP = ("geochemistry", "Geochemistry")
    HELP = ("Finds geochemical anomalies as what the pretrained geochemistry encoder cannot explain from the "
            "surroundings: each pixel's element values are predicted with its own neighbourhood hidden, and the "
            "residual (observed - expected, per element) is the anomaly. Writes into the output folder: "
            "residual.tif (one band per element), anomaly_score.tif (root-mean-square residual), mahalanobis.tif "
            "(the classical robust Mahalanobis distance, for comparison), top_anomalies.csv (the highest scores at "
            "least 1 km apart, with x, y and the three elements with the largest residuals) and anomalies.json. "
            "The stack must hold geochemistry layers. Runs on PyTorch (CPU is fine).")

    def add_outputs(self):
        for key, _file, label in RASTERS:
            self.addOutput(QgsProcessingOutputRasterLayer(key, tr(label)))
        self.addOutput(QgsProcessingOutputFile("TOP_TABLE", tr("Top anomalies (CSV)")))

    def run_engine(self, parameters, context, feedback):
        values, r = self.run_operation(parameters, context, feedback)
        out = values["out_dir"]
        feedback.pushInfo(tr("{0} anomalies over {1} elements; Spearman correlation with Mahalanobis {2:.3f}").format(
            r["top"], len(r["elements"]), r["spearman_score_vs_mahalanobis"]))
        results = {"OUTPUT": out, "TOP_TABLE": os.path.join(out, "top_anomalies.csv")}
        results.update({key: os.path.join(out, name) for key, name, _label in RASTERS})
        self.load_on_completion(context, results, {k: label for k, _f, label in RASTERS})
        return results
