"""Weights of evidence, logistic regression and fuzzy overlay (engine.classical.wofe, engine.classical.logistic, engine.classical.fuzzy) as
Processing algorithms: the classical methods a geologist checks the head against, in the Toolbox and the modeler.

mpm:wofeweights writes one evidence layer's weights table (GA's CSV) and its generalised raster;
mpm:woferesponse and mpm:logistic take several (raster, weights table) pairs (matched by file name, else order);
mpm:fuzzy takes rasters with one membership row each. Conditional-independence figures and warnings go
to the log and to numeric outputs, so a model (or a script) can act on them.
"""

import os

from qgis.core import (QgsProcessing, QgsProcessingException, QgsProcessingOutputBoolean, QgsProcessingOutputFile,
                       QgsProcessingOutputNumber, QgsProcessingOutputRasterLayer, QgsProcessingOutputString,
                       QgsProcessingParameterMatrix, QgsProcessingParameterMultipleLayers, QgsProcessingUtils)

from ..engine.operations import MEMBERSHIPS

from ..i18n import tr
from .base import EngineAlgorithm

RESPONSE_RASTERS = (("POSTERIOR", "posterior", "Posterior probability"),
                    ("STD", "std", "Posterior standard deviation"),
                    ("CONFIDENCE", "confidence", "Confidence (posterior / std)"))
LOGISTIC_RASTERS = (("POSTERIOR", "posterior", "Logistic regression posterior"),
                    ("STD", "std", "Logistic regression standard deviation"))


def _stem(path, suffix):
    stem = os.path.splitext(os.path.basename(path))[0]
    return stem[:-len(suffix)] if stem.endswith(suffix) else stem


def pair_by_name(layers, tables):
    """The tables in the layers' order: matched by file name when every raster has exactly one table of its name
    (Dist2Breccia.tif / Dist2Breccia.csv, or X_generalised.tif / X_weights.csv as the panel writes them), else
    as given (the Toolbox may list the layers in project order, not in the order the tables were added)."""
    stems = [_stem(t, "_weights") for t in tables]
    matched = []
    for layer in layers:
        hits = [t for t, s in zip(tables, stems) if s == _stem(layer.source(), "_generalised")]
        if len(hits) != 1:
            return tables
        matched.append(hits[0])
    return matched if len(set(matched)) == len(tables) else tables


class WofeAlgorithm(EngineAlgorithm):
    """Parameters the weights-of-evidence tools share (deposits, unit cell, missing class, evidence pairs)."""

    GROUP = ("wofe", "Weights of evidence")

    def add_custom(self, p):
        """EVIDENCE: the rasters and their weights tables, two parameters (the CLI: --evidence RASTER TABLE)."""
        self.add(QgsProcessingParameterMultipleLayers("EVIDENCE", tr("Evidence rasters (usually generalised)"),
                                                      QgsProcessing.TypeRaster),
                 "The generalised rasters written by Calculate weights (or the original rasters), all on one grid.")
        self.add(QgsProcessingParameterMultipleLayers("TABLES", tr("Weights tables (CSV, one per raster)"),
                                                      QgsProcessing.TypeFile),
                 "One weights table per evidence raster (qgis_process: repeat --TABLES=...): paired by file name "
                 "when each raster has one table of its name (Dist2Breccia.tif and Dist2Breccia.csv, or "
                 "X_generalised.tif and X_weights.csv), else in the order given. Each raster's classes are looked up "
                 "in its table (CLASS -> WEIGHT, W_STD).")

    def read(self, p, parameters, context, feedback):
        if p.name == "evidence":
            return self.evidence_pairs(parameters, context, feedback)
        return super().read(p, parameters, context, feedback)

    def evidence_pairs(self, parameters, context, feedback):
        """[(raster path, WeightsTable)] from EVIDENCE and TABLES (see pair_by_name); the pairing is logged."""
        from ..engine.classical.wofe import read_weights_csv

        layers = self.parameterAsLayerList(parameters, "EVIDENCE", context)
        tables = [t for t in self.parameterAsFileList(parameters, "TABLES", context) if t]
        if not layers:
            raise QgsProcessingException(tr("EVIDENCE: no evidence raster given; give at least one"))
        if len(tables) != len(layers):
            raise QgsProcessingException(tr(
                "{0} evidence rasters but {1} weights tables: give one table per raster, in the same order "
                "(TABLES)").format(len(layers), len(tables)))
        pairs = []
        for layer, table in zip(layers, pair_by_name(layers, tables)):
            path = self._file_source(layer, context, feedback)
            feedback.pushInfo(tr("Evidence '{0}' with weights table {1}").format(layer.name(), table))
            pairs.append((path, read_weights_csv(table, name=layer.name())))
        return pairs

    @staticmethod
    def folder_results(out, files, rasters):
        """Results of a folder-writing tool: the folder and its rasters (files: the engine's {kind: path})."""
        results = {"OUTPUT": out}
        results.update({key: files[kind] for key, kind, _label in rasters})
        return results

    def report_warnings(self, warnings, feedback):
        for text in warnings:
            feedback.pushWarning(tr("Warning: {0}").format(text))


class WofeWeightsAlgorithm(WofeAlgorithm):
    NAME = "wofeweights"
    DISPLAY = "Calculate weights"
    HELP = ("Weights of evidence of one evidence raster of integer classes against known deposit points, as ArcSDM "
            "and Geoscience Australia compute them (checked number by number against GA's Cloncurry reference). "
            "Method categorical: each class on its own (lithology, stratigraphy); ascending: cumulative from the "
            "lowest class, for evidence favourable when low (distance to a structure); descending: cumulative from "
            "the highest class (density, intensity). The weights table (CSV) has GA's columns: CLASS, areas, "
            "NO_POINTS, W+, W- and their standard deviations, CONTRAST, S_CONTRAST, studentised contrast STUDC, "
            "GEN_CLASS, WEIGHT and W_STD. Generalisation: a cumulative table becomes binary (GEN_CLASS 2 up to the "
            "class of maximum contrast among those whose studentised contrast reaches the threshold, 1 beyond); a "
            "categorical table keeps each class with its W+ (or, with pooling, the classes below the threshold "
            "become class 99). The generalised raster is the evidence reclassified to GEN_CLASS: give it with the "
            "table to Calculate response. A raster with fractional values must be reclassified into integer "
            "classes first.")

    def add_outputs(self):
        self.addOutput(QgsProcessingOutputNumber("CLASSES", tr("Classes")))
        self.addOutput(QgsProcessingOutputNumber("DEPOSITS_USED", tr("Deposits in the study area")))
        self.addOutput(QgsProcessingOutputNumber("PRIOR", tr("Prior probability per unit cell")))
        self.addOutput(QgsProcessingOutputNumber("SIGNIFICANT", tr("Classes reaching the studentised contrast")))

    def run_engine(self, parameters, context, feedback):
        import numpy as np

        layer = self.parameterAsRasterLayer(parameters, "INPUT", context)
        values, t = self.run_operation(parameters, context, feedback, name=layer.name() if layer else None)
        table_path, gen_path, method = values["out"], values["generalised"], values["method"]
        threshold = values["studentized_threshold"]
        c = t.columns
        significant = int(np.count_nonzero(c["STUDC"] >= threshold))
        feedback.pushInfo(tr("Weights ({0}) of '{1}': {2} classes, {3} deposits in {4:.2f} unit cells, prior "
                             "{5:.6g}; {6} classes with studentised contrast >= {7:g}").format(
            method, layer.name(), len(t), t.n_points, t.total_units, t.prior, significant, threshold))
        if method != "categorical" and 2 in set(c["GEN_CLASS"].tolist()):
            last = int(np.flatnonzero(c["GEN_CLASS"] == 2)[-1])
            feedback.pushInfo(tr("Favourable: class {0} {1} (contrast {2:.3f}, studentised {3:.2f}): W+ {4:.4f}, "
                                 "W- {5:.4f}").format("<=" if method == "ascending" else ">=", c["CLASS"][last],
                                                      c["CONTRAST"][last], c["STUDC"][last], c["WPLUS"][last],
                                                      c["WMINUS"][last]))
        self.report_warnings(t.notes, feedback)
        results = {"OUTPUT": table_path, "CLASSES": len(t), "DEPOSITS_USED": t.n_points, "PRIOR": t.prior,
                   "SIGNIFICANT": significant}
        if gen_path:
            results["GENERALISED"] = gen_path
        self.load_on_completion(context, {"OUTPUT": table_path}, {"OUTPUT": "Weights table"},
                                QgsProcessingUtils.LayerHint.Vector)
        feedback.setProgress(100)
        return results


class WofeResponseAlgorithm(WofeAlgorithm):
    NAME = "woferesponse"
    DISPLAY = "Calculate response"
    HELP = ("Posterior probability of a deposit per unit cell from several evidence maps and their weights tables "
            "(GA / ArcSDM Calculate Response): posterior logit = prior logit + the sum of each pixel's class WEIGHT; "
            "its standard deviation from the weights' variances (and the missing-data variance), and the confidence "
            "(posterior / standard deviation). Give the generalised rasters from Calculate weights with their tables, "
            "in the same order, on one grid. Checks conditional independence: the ratio of observed to predicted "
            "deposits (warning below 0.85) and Agterberg & Cheng's test (warning when its probability exceeds 0.95); "
            "a warning means correlated evidence inflates the posterior: drop or merge such maps. Writes "
            "posterior.tif, posterior_std.tif, confidence.tif, conditions.csv (each unique condition), auc.csv "
            "(threshold table and AUC) and summary.json into a new folder.")

    def add_outputs(self):
        for key, _kind, label in RESPONSE_RASTERS:
            self.addOutput(QgsProcessingOutputRasterLayer(key, tr(label)))
        self.addOutput(QgsProcessingOutputFile("CONDITIONS", tr("Unique conditions (CSV)")))
        self.addOutput(QgsProcessingOutputFile("AUC_TABLE", tr("Threshold table and AUC (CSV)")))
        self.addOutput(QgsProcessingOutputFile("SUMMARY", tr("Summary (JSON)")))
        self.addOutput(QgsProcessingOutputNumber("PRIOR", tr("Prior probability per unit cell")))
        self.addOutput(QgsProcessingOutputNumber("AUC", tr("AUC of the posterior")))
        self.addOutput(QgsProcessingOutputNumber("OBSERVED", tr("Deposits observed")))
        self.addOutput(QgsProcessingOutputNumber("PREDICTED", tr("Deposits predicted (sum of posterior x area)")))
        self.addOutput(QgsProcessingOutputNumber("CI_RATIO", tr("Observed / predicted deposits")))
        self.addOutput(QgsProcessingOutputNumber("CI_Z", tr("Agterberg-Cheng z")))
        self.addOutput(QgsProcessingOutputNumber("CI_PROBABILITY", tr("Agterberg-Cheng probability of dependence")))
        self.addOutput(QgsProcessingOutputBoolean("CI_VIOLATED", tr("Conditional independence violated")))
        self.addOutput(QgsProcessingOutputString("WARNINGS", tr("Warnings")))

    def run_engine(self, parameters, context, feedback):
        from ..engine.classical.wofe import RESPONSE_FILES

        values, res = self.run_operation(parameters, context, feedback)
        evidence, out = values["evidence"], values["out"]
        ci = res.ci
        feedback.pushInfo(tr("Response of {0} evidence maps: {1} unique conditions, prior {2:.6g}, posterior {3:.4g} "
                             "to {4:.4g}, AUC {5:.4f}").format(len(evidence), len(res.posterior), res.prior,
                                                              res.posterior.min(), res.posterior.max(), res.auc))
        feedback.pushInfo(tr("Conditional independence: {0} deposits observed, {1:.1f} predicted (ratio {2:.2f}); "
                             "Agterberg-Cheng z {3:.2f}, probability {4:.3f}").format(
            ci["observed"], ci["predicted"], ci["ratio"], ci["z"], ci["probability_not_independent"]))
        self.report_warnings(res.warnings, feedback)
        results = self.folder_results(out, res.files, RESPONSE_RASTERS)
        self.load_on_completion(context, results, {key: label for key, _kind, label in RESPONSE_RASTERS})
        results.update(CONDITIONS=os.path.join(out, RESPONSE_FILES["conditions"]),
                       AUC_TABLE=os.path.join(out, RESPONSE_FILES["auc"]),
                       SUMMARY=os.path.join(out, RESPONSE_FILES["summary"]), PRIOR=res.prior, AUC=res.auc,
                       OBSERVED=ci["observed"], PREDICTED=ci["predicted"], CI_RATIO=ci["ratio"], CI_Z=ci["z"],
                       CI_PROBABILITY=ci["probability_not_independent"], CI_VIOLATED=bool(res.warnings),
                       WARNINGS="\n".join(res.warnings))
        return results


class LogisticAlgorithm(WofeAlgorithm):
    NAME = "logistic"
    DISPLAY = "Logistic regression"
    HELP = ("Logistic regression on the same evidence as weights of evidence (ArcSDM's Logistic Regression): each "
            "map's generalised classes (GEN_CLASS of its weights table) become indicator variables (the largest "
            "class is the reference) and the model is fitted on the unique conditions (deposits out of the area in "
            "unit cells). Unlike weights of evidence it does not count correlated evidence twice: the predicted "
            "deposits equal the observed ones. Give the evidence rasters with their weights tables, in the same "
            "order. Writes lr_posterior.tif, lr_posterior_std.tif, coefficients.csv (each coefficient with its "
            "standard error), conditions.csv, auc.csv and summary.json into a new folder.")

    def add_outputs(self):
        for key, _kind, label in LOGISTIC_RASTERS:
            self.addOutput(QgsProcessingOutputRasterLayer(key, tr(label)))
        self.addOutput(QgsProcessingOutputFile("COEFFICIENTS", tr("Coefficients (CSV)")))
        self.addOutput(QgsProcessingOutputNumber("AUC", tr("AUC of the posterior")))
        self.addOutput(QgsProcessingOutputNumber("PREDICTED", tr("Deposits predicted (sum of posterior x area)")))
        self.addOutput(QgsProcessingOutputBoolean("CONVERGED", tr("The fit converged")))

    def run_engine(self, parameters, context, feedback):
        import numpy as np

        from ..engine.classical.logistic import LR_FILES

        values, fit = self.run_operation(parameters, context, feedback)
        out = values["out"]
        predicted = float(np.sum(fit.posterior * fit.area_units))
        feedback.pushInfo(tr("Logistic regression: {0} in {1} iterations, AUC {2:.4f}, {3:.1f} deposits predicted "
                             "for {4} observed").format(tr("converged") if fit.converged else tr("NOT converged"),
                                                        fit.iterations, fit.auc, predicted, fit.n_points))
        for term, b, s in zip(fit.terms, fit.coefficients, fit.std_errors):
            feedback.pushInfo(f"  {term}: {b:.4f} +- {s:.4f}")
        self.report_warnings(fit.warnings, feedback)
        results = self.folder_results(out, fit.files, LOGISTIC_RASTERS)
        self.load_on_completion(context, results, {key: label for key, _kind, label in LOGISTIC_RASTERS})
        results.update(COEFFICIENTS=os.path.join(out, LR_FILES["coefficients"]), AUC=fit.auc, PREDICTED=predicted,
                       CONVERGED=bool(fit.converged))
        return results


class FuzzyAlgorithm(WofeAlgorithm):
    NAME = "fuzzy"
    DISPLAY = "Fuzzy overlay"
    HELP = ("Knowledge-driven prospectivity for areas with too few deposits to weigh evidence: each raster becomes a "
            "fuzzy membership (0 to 1, how favourable each value is) and the memberships are combined. One row of "
            "memberships per raster, in the same order: function, A, B. linear: membership 0 at A, 1 at B (A > B "
            "when low values are favourable); small / large: midpoint A, spread B (ArcGIS Fuzzy Small / Large); "
            "gaussian: centre A, spread B. Operators: and (minimum), or (maximum), product, sum (1 - product of "
            "1 - m), gamma (sum^gamma x product^(1 - gamma)). qgis_process: --MEMBERSHIPS=linear,5000,0,large,3,5 "
            "(rows one after the other). The rasters must be on one grid; nodata stays nodata.")

    def add_custom(self, p):
        """LAYERS: the rasters and a matrix of their memberships (the CLI: --layer RASTER FUNCTION A B)."""
        self.add(QgsProcessingParameterMultipleLayers("LAYERS", tr("Evidence rasters"), QgsProcessing.TypeRaster),
                 "On one grid (Align evidence stack, or Raster > Align Rasters).")
        self.add(QgsProcessingParameterMatrix("MEMBERSHIPS", tr("Membership per raster (function, A, B)"), 1, False,
                                              [tr("Function"), "A", "B"]),
                 "One row per raster, same order. Functions: linear, small, large, gaussian.")

    def read(self, p, parameters, context, feedback):
        if p.name == "layers":
            layers = self.parameterAsLayerList(parameters, "LAYERS", context)
            if not layers:
                raise QgsProcessingException(tr("LAYERS: no raster given; give at least one"))
            rows = self.memberships(parameters, context, layers)
            return [(self._file_source(lyr, context, feedback), *row) for lyr, row in zip(layers, rows)]
        return super().read(p, parameters, context, feedback)

    def memberships(self, parameters, context, layers):
        """[(function, a, b)] per raster from the MEMBERSHIPS matrix, checked row by row."""
        flat = [str(v).strip() for v in self.parameterAsMatrix(parameters, "MEMBERSHIPS", context)]
        if len(flat) != 3 * len(layers):
            raise QgsProcessingException(tr(
                "MEMBERSHIPS has {0} values for {1} rasters: give 3 per raster (function, A, B), in the rasters' "
                "order").format(len(flat), len(layers)))
        rows = []
        for i, layer in enumerate(layers):
            function, a, b = flat[3 * i:3 * i + 3]
            if function.lower() not in MEMBERSHIPS:
                raise QgsProcessingException(tr("MEMBERSHIPS row {0} ('{1}'): unknown function '{2}'; use linear, "
                                                "small, large or gaussian").format(i + 1, layer.name(), function))
            try:
                rows.append((function.lower(), float(a), float(b)))
            except ValueError:
                raise QgsProcessingException(tr("MEMBERSHIPS row {0} ('{1}'): A and B must be numbers (got '{2}', "
                                                "'{3}')").format(i + 1, layer.name(), a, b)) from None
        return rows

    def run_engine(self, parameters, context, feedback):
        values, out = self.run_operation(parameters, context, feedback)
        feedback.pushInfo(tr("Fuzzy overlay ({0}) of {1} rasters written to {2}").format(
            values["operator"], len(values["layers"]), out))
        return {"OUTPUT": out}
