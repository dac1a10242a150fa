"""The weights-of-evidence algorithms as the Toolbox runs them (pytest-qgis): outputs queued to load as layers,
weights tables paired with their rasters by name whatever order the Toolbox lists them in."""

import os

from qgis.core import (QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProcessingOutputLayerDefinition,
                       QgsProcessingUtils, QgsProject)

from test_wofe import DEPOSITS, cloncurry  # noqa: F401 (skips / fails without the shared data)


def _run(alg_id, params):
    alg = QgsApplication.processingRegistry().createAlgorithmById(alg_id)
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    results, ok = alg.run(params, context, feedback)
    assert ok, feedback.textLog()
    return results, context, feedback.textLog()


def test_toolbox_run_loads_table_and_generalised_raster(plugin, cloncurry, tmp_path):  # noqa: F811
    table, gen = str(tmp_path / "d2b.csv"), str(tmp_path / "d2b_gen.tif")
    results, context, _log = _run("mpm:wofeweights", {
        "INPUT": os.path.join(cloncurry, "weights_inputs", "Dist2Breccia.tif"), "DEPOSITS": DEPOSITS,
        "METHOD": "ascending", "OUTPUT": table,
        "GENERALISED": QgsProcessingOutputLayerDefinition(gen, QgsProject.instance())})
    assert (results["OUTPUT"], results["GENERALISED"]) == (table, gen)
    queued = context.layersToLoadOnCompletion()
    assert set(queued) == {table, gen}
    assert queued[table].layerTypeHint == QgsProcessingUtils.LayerHint.Vector and queued[table].name == "Weights table"


def test_response_pairs_tables_by_name_and_loads_its_rasters(plugin, cloncurry, tmp_path):  # noqa: F811
    from engine.classical import wofe

    rasters = [os.path.join(cloncurry, "response_inputs", f"{n}.tif") for n in ("StratNo", "Dist2Breccia")]
    tables = [wofe.calculate_weights(r, DEPOSITS).write_csv(str(tmp_path / os.path.basename(r)[:-4]) + ".csv")
              for r in rasters]
    results, context, log = _run("mpm:woferesponse", {"EVIDENCE": rasters, "TABLES": tables[::-1],
                                                      "DEPOSITS": DEPOSITS, "OUTPUT": str(tmp_path / "response")})
    assert f"Evidence 'StratNo' with weights table {tables[0]}" in log
    assert f"Evidence 'Dist2Breccia' with weights table {tables[1]}" in log
    expected = wofe.calculate_response([(r, wofe.read_weights_csv(t)) for r, t in zip(rasters, tables)], DEPOSITS)
    assert results["PREDICTED"] == expected.ci["predicted"] and results["AUC"] == expected.auc
    queued = context.layersToLoadOnCompletion()
    assert {results[k] for k in ("POSTERIOR", "STD", "CONFIDENCE")} == set(queued)
    assert queued[results["POSTERIOR"]].name == "Posterior probability"


def test_modeler_wires_calculate_weights_into_calculate_response(plugin):
    """In the graphical modeler, each Calculate weights step's generalised raster and weights table can feed
    Calculate response's EVIDENCE and TABLES."""
    from qgis.core import QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm
    from qgis.gui import QgsGui
    from qgis.PyQt.QtWidgets import QComboBox

    model = QgsProcessingModelAlgorithm("wofe", "test")
    for cid, alg in (("weights", "mpm:wofeweights"), ("response", "mpm:woferesponse")):
        child = QgsProcessingModelChildAlgorithm(alg)
        child.setChildId(cid)
        model.addChildAlgorithm(child)
    response = QgsApplication.processingRegistry().algorithmById("mpm:woferesponse")

    def offered(param):
        widget = QgsGui.processingGuiRegistry().createModelerParameterWidget(
            model, "response", response.parameterDefinition(param), QgsProcessingContext())
        return [c.itemText(i) for c in widget.findChildren(QComboBox) for i in range(c.count())]

    assert any("Generalised raster" in t for t in offered("EVIDENCE"))
    assert any("Weights table" in t for t in offered("TABLES"))
