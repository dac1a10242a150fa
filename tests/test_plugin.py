"""The plugin in QGIS (pytest-qgis iface), as a Processing provider, and with heavy libraries absent."""

import json
import os
import subprocess
import sys
import time

import pytest
from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsVectorLayer

from helpers import ROOT


def test_gui_has_action_dock_and_provider(plugin):
    assert plugin.action.objectName() == "mpmStudioAction"
    assert plugin.action.isCheckable() and not plugin.action.icon().isNull()
    assert plugin.dock is not None and plugin.dock.isHidden()
    plugin.action.setChecked(True)
    assert not plugin.dock.isHidden()
    provider = QgsApplication.processingRegistry().providerById("mpm")
    assert provider is not None and provider.name() == "MPM Studio"
    alg = QgsApplication.processingRegistry().algorithmById("mpm:alignstack")
    assert alg is not None and "GEOPHYSICS" in [p.name() for p in alg.parameterDefinitions()]


ALGORITHMS = {
    "alignstack": ("data", ["GEOLOGY", "GEOCHEMISTRY", "GEOPHYSICS", "REMOTE_SENSING", "DEPOSITS", "AOI", "RESOLUTION",
                            "OUTPUT"], ["OUTPUT", "STACK", "VALID"]),
    "finetune": ("prospectivity", ["STACK", "MODEL", "BACKEND", "BACKGROUND", "BUFFER", "VALIDATE", "FOLDS", "BLOCK",
                                   "SEED", "OUTPUT"],
                 ["OUTPUT", "VALIDATION_REPORT", "ROC_AUC_HEAD", "ROC_AUC_RF", "ROC_AUC_WOFE"]),
    "predict": ("prospectivity", ["STACK", "HEAD", "MODEL", "BACKEND", "CONTRIBUTIONS", "OUTPUT"],
                ["OUTPUT", "PROSPECTIVITY", "UNCERTAINTY", "CONTRIBUTIONS"]),
    "targets": ("prospectivity", ["PREDICTION", "MODE", "VALUE", "STACK", "MIN_AREA", "SIMPLIFY", "OUTPUT"], ["OUTPUT"]),
    "anomalies": ("geochemistry", ["STACK", "MODEL", "TOP", "OUTPUT"],
                  ["OUTPUT", "ANOMALY_SCORE", "MAHALANOBIS", "RESIDUALS", "TOP_TABLE"]),
    "embed": ("foundation", ["STACK", "MODEL", "BACKEND", "TILE", "THREADS", "OUTPUT"], ["OUTPUT"]),
    "pretrain": ("foundation", ["STACKS", "INIT_MODEL", "SYNTHETIC", "STEPS1", "STEPS2", "BATCH_SIZE", "SEED", "DEVICE", "ONNX",
                                "OUTPUT"], ["OUTPUT", "MODEL_CARD", "LOSSES"]),
    "structures": ("structures", ["INPUT", "BANDS", "PROMPTS", "TYPE", "GROUP_FIELD", "LABEL_FIELD", "TYPE_FIELD",
                                  "TOLERANCE", "CONTEXT", "MODEL", "BACKEND", "OUTPUT"], ["OUTPUT"]),
    "validate": ("prospectivity", ["MAP", "BAND", "DEPOSITS", "LOWER_IS_BETTER", "OUTPUT"],
                 ["OUTPUT", "VALIDATION_REPORT", "ROC_AUC", "SUCCESS_RATE_AUC"]),
    "wofeweights": ("wofe", ["INPUT", "BAND", "DEPOSITS", "METHOD", "UNIT_CELL", "STUDC", "MISSING", "POOL", "OUTPUT",
                             "GENERALISED"], ["OUTPUT", "GENERALISED", "CLASSES", "PRIOR", "SIGNIFICANT"]),
    "woferesponse": ("wofe", ["EVIDENCE", "TABLES", "DEPOSITS", "UNIT_CELL", "MISSING", "OUTPUT"],
                     ["OUTPUT", "POSTERIOR", "STD", "CONFIDENCE", "AUC", "CI_RATIO", "CI_Z", "CI_VIOLATED", "WARNINGS"]),
    "logistic": ("wofe", ["EVIDENCE", "TABLES", "DEPOSITS", "UNIT_CELL", "OUTPUT"],
                 ["OUTPUT", "POSTERIOR", "STD", "COEFFICIENTS", "AUC", "PREDICTED", "CONVERGED"]),
    "fuzzy": ("wofe", ["LAYERS", "MEMBERSHIPS", "OPERATOR", "GAMMA", "OUTPUT"], ["OUTPUT"]),
    "derivatives": ("data", ["GRID", "BAND", "DERIVATIVE", "OUTPUT"], ["OUTPUT"]),
}


def test_provider_lists_every_algorithm_with_parameters_and_help(plugin):
    reg = QgsApplication.processingRegistry()
    assert sorted(a.name() for a in reg.providerById("mpm").algorithms()) == sorted(ALGORITHMS)
    for name, (group, params, outputs) in ALGORITHMS.items():
        alg = reg.algorithmById(f"mpm:{name}")
        assert alg is not None, name
        assert alg.groupId() == group and alg.group() and alg.displayName()
        assert len(alg.shortHelpString()) > 100, name
        have = [p.name() for p in alg.parameterDefinitions()]
        assert all(p in have for p in params), (name, set(params) - set(have))
        assert all(p.description() for p in alg.parameterDefinitions())
        assert all(o in [d.name() for d in alg.outputDefinitions()] for o in outputs), name
        copy = alg.createInstance()
        copy.initAlgorithm({})
        assert copy.name() == name and [p.name() for p in copy.parameterDefinitions()] == have
        fresh = reg.createAlgorithmById(f"mpm:{name}")
        assert fresh is not None and fresh.id() == f"mpm:{name}"
    backend = reg.algorithmById("mpm:predict").parameterDefinition("BACKEND")
    assert backend.usesStaticStrings() and backend.options() == ["auto", "torch-cuda", "torch-cpu", "onnx-cpu"]
    assert reg.algorithmById("mpm:targets").parameterDefinition("MODE").options() == ["capture", "threshold"]
    method = reg.algorithmById("mpm:wofeweights").parameterDefinition("METHOD")
    assert method.usesStaticStrings() and method.options() == ["categorical", "ascending", "descending"]


def test_modeler_wires_output_folders_into_next_steps(plugin):
    """In the graphical modeler, a step's output folder is offered as the next step's STACK / HEAD / STACKS."""
    from qgis.core import QgsProcessingContext, QgsProcessingModelAlgorithm, QgsProcessingModelChildAlgorithm
    from qgis.gui import QgsGui
    from qgis.PyQt.QtWidgets import QComboBox

    model = QgsProcessingModelAlgorithm("chain", "test")
    for cid, alg in (("align", "mpm:alignstack"), ("tune", "mpm:finetune"), ("pre", "mpm:pretrain")):
        child = QgsProcessingModelChildAlgorithm(alg)
        child.setChildId(cid)
        model.addChildAlgorithm(child)
    context = QgsProcessingContext()

    def offered(child_id, param):
        definition = QgsApplication.processingRegistry().algorithmById(model.childAlgorithm(child_id).algorithmId()) \
            .parameterDefinition(param)
        widget = QgsGui.processingGuiRegistry().createModelerParameterWidget(model, child_id, definition, context)
        return [c.itemText(i) for c in widget.findChildren(QComboBox) for i in range(c.count())]

    assert any("Output stack folder" in t for t in offered("tune", "STACK"))
    assert any("Aligned stack" in t for t in offered("pre", "STACKS"))  # several align steps can feed pretraining


def test_pretrain_takes_stack_folders_or_files_in_them(plugin, kolari_stack, tmp_path):
    from qgis.core import QgsProcessingException

    from mpm_plugin.algorithms.pretrain import stack_folders

    tif = os.path.join(kolari_stack, "stack.tif")
    assert stack_folders([kolari_stack, tif, f"{tif};{kolari_stack}"]) == [kolari_stack]
    with pytest.raises(QgsProcessingException, match="not an aligned stack folder"):
        stack_folders([str(tmp_path)])


def test_folder_destination_rules(plugin, tmp_path):
    """An empty pre-created output folder is removed for the engine; a non-empty one is refused, never deleted."""
    from qgis.core import QgsProcessingContext, QgsProcessingException

    alg = QgsApplication.processingRegistry().createAlgorithmById("mpm:predict")
    context = QgsProcessingContext()
    empty, full = tmp_path / "empty", tmp_path / "full"
    empty.mkdir()
    full.mkdir()
    (full / "keep.txt").write_text("x")
    assert alg.output_folder({"OUTPUT": str(empty)}, "OUTPUT", context) == str(empty)
    assert not empty.exists()
    with pytest.raises(QgsProcessingException, match="not empty"):
        alg.output_folder({"OUTPUT": str(full)}, "OUTPUT", context)
    assert (full / "keep.txt").exists()
    assert alg.output_folder({"OUTPUT": str(full)}, "OUTPUT", context, keep_if="keep.txt") == str(full)
    new = tmp_path / "a" / "b"
    assert alg.output_folder({"OUTPUT": str(new)}, "OUTPUT", context) == str(new) and new.parent.is_dir()


def test_batch_and_processing_run_reach_the_engine(plugin, tmp_path):
    """The batch dialog and processing.run() call alg.run(parameters, context, feedback): that must be
    QgsProcessingAlgorithm.run (not shadowed), and the result file must be queued to load as a layer."""
    import numpy as np
    import processing
    from qgis.core import (QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback,
                           QgsProcessingOutputLayerDefinition)
    from rasterio.transform import from_origin

    from helpers import write_raster

    pred = tmp_path / "prediction"
    pred.mkdir()
    yy, xx = np.mgrid[0:60, 0:60]
    prob = np.exp(-((yy - 20) ** 2 + (xx - 40) ** 2) / 50.0).astype(np.float32)
    write_raster(pred / "prospectivity.tif", prob, from_origin(400000, 7500000, 100, 100), nodata=np.nan)
    alg = QgsApplication.processingRegistry().createAlgorithmById("mpm:targets")
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    out = str(tmp_path / "targets.gpkg")
    params = {"PREDICTION": str(pred), "MODE": "threshold", "VALUE": 0.5, "MIN_AREA": 0.1,
              "OUTPUT": QgsProcessingOutputLayerDefinition(out, QgsProject.instance())}
    results, ok = alg.run(params, context, QgsProcessingFeedback())
    assert ok and results["OUTPUT"] == out
    assert out in context.layersToLoadOnCompletion()
    layer = QgsVectorLayer(out, "targets", "ogr")
    assert layer.isValid() and layer.featureCount() == 1 and layer.crs().authid() == "EPSG:3067"
    del layer  # a layer alive at interpreter exit segfaults QGIS's teardown (pytest-qgis #67)
    context.setLayersToLoadOnCompletion({})
    again = processing.run("mpm:targets", dict(params, OUTPUT=str(tmp_path / "t2.gpkg")))
    assert again["OUTPUT"] == str(tmp_path / "t2.gpkg")
    with pytest.raises(QgsProcessingException, match="needs the STACK folder"):
        processing.run("mpm:targets", dict(params, OUTPUT=str(tmp_path / "t3.gpkg"), MODE="capture"))


def test_unload_removes_provider(qgis_iface, qgis_processing):
    import mpm_plugin

    p = mpm_plugin.classFactory(qgis_iface)
    p.initGui()
    p.unload()
    assert QgsApplication.processingRegistry().providerById("mpm") is None


def _wait(dock, seconds=120):
    """Process Qt events until the dock's background task has reported back; its (ok, results)."""
    end = time.time() + seconds
    while dock.last_result is None and time.time() < end:
        QgsApplication.processEvents()
        time.sleep(0.02)
    assert dock.last_result is not None, "the align task did not finish in time"
    return dock.last_result


def test_dock_aligns_kolari_crop_and_loads_results(plugin, kolari, tmp_path):
    mag = QgsRasterLayer(os.path.join(kolari, "Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif"), "mag")
    faults = QgsVectorLayer(os.path.join(kolari, "Geological_Data", "IOCG_CLB_Structures_1M.shp"), "faults", "ogr")
    till = QgsVectorLayer(os.path.join(kolari, "Geochemical_Data", "Vector_files", "IOCG_CLB_Till_Geochem_reg_511p.shp"), "till", "ogr")
    deps = QgsVectorLayer(os.path.join(kolari, "Deposits_Occurrences", "IOCG_Deps_Prosp_Occs.shp"), "deposits", "ogr")
    area = QgsVectorLayer(os.path.join(kolari, "Geological_Data", "EIS_IOCG_target_area.shp"), "area", "ogr")
    assert all(lyr.isValid() for lyr in (mag, faults, till, deps, area))
    QgsProject.instance().addMapLayers([mag, faults, till, deps, area])
    dock = plugin.dock
    dock.select_layers("geophysics", [mag.id()])
    dock.select_layers("geology", [faults.id()])
    dock.select_layers("geochemistry", [till.id()])
    assert dock.selected_ids("geochemistry") == [till.id()]
    assert till.id() not in [dock.lists["geophysics"].item(i).data(256) for i in range(dock.lists["geophysics"].count())]
    dock.deposits.setLayer(deps)
    dock.aoi.setLayer(area)
    dock.resolution.setValue(500)
    dock.output.setFilePath(str(tmp_path))
    assert dock.run_align() is not None
    ok, results = _wait(dock)
    assert ok and results["STACK"].endswith("stack.tif")
    stack = tmp_path / "stack" / "stack.tif"
    assert stack.exists()
    group = QgsProject.instance().layerTreeRoot().findGroup("MPM Studio")
    assert group is not None
    names = [n.layer().name() for n in group.findLayers()]
    assert "Aligned stack" in names and "Validity mask" in names
    loaded = [n.layer() for n in group.findLayers() if n.layer().name() == "Aligned stack"][0]
    assert loaded.crs().authid() == "EPSG:3067"
    assert loaded.bandCount() == 1 + 1 + 22
    assert dock.progress.value() == 100


def test_result_styles_load_with_their_renderers(qgis_app, tmp_path):
    """The QML files in resources/ are valid QGIS 3.22 styles: pseudocolor rasters with a legend, labelled targets."""
    import numpy as np
    from qgis.core import QgsSingleBandPseudoColorRenderer
    from rasterio.transform import from_origin

    from helpers import write_raster
    from mpm_plugin.dock import STYLE_DIR, fresh_path, stretch_to_data

    values = np.linspace(0.0, 0.4, 400, dtype=np.float32).reshape(20, 20)
    tif = write_raster(tmp_path / "p.tif", values, from_origin(400000, 7500000, 100, 100), nodata=np.nan)
    for style in ("prospectivity.qml", "uncertainty.qml", "anomaly.qml", "contribution.qml"):
        layer = QgsRasterLayer(tif, style)
        message, ok = layer.loadNamedStyle(os.path.join(STYLE_DIR, style))
        assert ok, (style, message)
        renderer = layer.renderer()
        assert isinstance(renderer, QgsSingleBandPseudoColorRenderer), style
        items = renderer.shader().rasterShaderFunction().colorRampItemList()
        assert len(items) == 5 and len(renderer.legendSymbologyItems()) == 5, style
        if style == "prospectivity.qml":  # area classes, transparent below the top 20 % (tests/test_panel_maps.py)
            assert items[0].color.alpha() == 0 and items[-1].color.name() == "#bd0026"
            assert [i.label for i in items][1:] == [f"top {n} % of the area" for n in (20, 10, 5, 1)]
        else:  # re-stretched to the layer's own values
            assert stretch_to_data(layer)
            lo, hi = renderer.classificationMin(), renderer.classificationMax()
            assert 0.0 < lo < 0.05 and 0.35 < hi < 0.4
            assert renderer.shader().rasterShaderFunction().colorRampItemList()[-1].value == pytest.approx(hi)
        del renderer, layer
    targets = QgsVectorLayer("Polygon?crs=EPSG:3067&field=rank:integer", "targets", "memory")
    message, ok = targets.loadNamedStyle(os.path.join(STYLE_DIR, "targets.qml"))
    assert ok, message
    symbol = targets.renderer().symbol()
    assert symbol.type() == symbol.Fill and symbol.color().alpha() < 128  # outline over a see-through fill
    assert targets.labelsEnabled() and targets.labeling().settings().fieldName == "rank"
    del symbol, targets
    (tmp_path / "head").mkdir()
    (tmp_path / "t.gpkg").write_text("")
    assert fresh_path(str(tmp_path), "head") == str(tmp_path / "head_2")
    assert fresh_path(str(tmp_path), "t.gpkg") == str(tmp_path / "t_2.gpkg")
    assert fresh_path(str(tmp_path), "stack") == str(tmp_path / "stack")


@pytest.mark.slow
def test_dock_runs_the_whole_chain_on_kolari(plugin, kolari, tmp_path):
    """Align on the whole Kolari study area at 400 m, then Fine-tune + validate, Predict, Targets and Anomalies
    from the panel's buttons; the styled results come back in the 'MPM Studio' group."""
    from qgis.core import QgsSingleBandPseudoColorRenderer

    k = kolari
    layers = {"mag": QgsRasterLayer(os.path.join(k, "Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif"), "mag"),
              "faults": QgsVectorLayer(os.path.join(k, "Geological_Data", "IOCG_CLB_Structures_1M.shp"), "faults", "ogr"),
              "till": QgsVectorLayer(os.path.join(k, "Geochemical_Data", "Vector_files",
                                                  "IOCG_CLB_Till_Geochem_reg_511p.shp"), "till", "ogr"),
              "deposits": QgsVectorLayer(os.path.join(k, "Deposits_Occurrences", "IOCG_Deps_Prosp_Occs.shp"),
                                         "deposits", "ogr"),
              "area": QgsVectorLayer(os.path.join(k, "Geological_Data", "EIS_IOCG_target_area.shp"), "area", "ogr")}
    assert all(lyr.isValid() for lyr in layers.values())
    QgsProject.instance().addMapLayers(list(layers.values()))
    dock = plugin.dock
    chain = (dock.finetune_button, dock.predict_button, dock.targets_button, dock.anomalies_button)
    assert not any(b.isEnabled() for b in chain)  # nothing aligned yet
    dock.select_layers("geophysics", [layers["mag"].id()])
    dock.select_layers("geology", [layers["faults"].id()])
    dock.select_layers("geochemistry", [layers["till"].id()])
    dock.deposits.setLayer(layers["deposits"])
    dock.aoi.setLayer(layers["area"])
    dock.resolution.setValue(400)
    dock.output.setFilePath(str(tmp_path))
    (tmp_path / "head").mkdir()  # taken: fine-tuning writes head_2
    (tmp_path / "head" / "keep.txt").write_text("not ours")
    dock.overrides["mpm:finetune"] = {"BACKGROUND": 4000, "FOLDS": 4, "BLOCK": 12000}
    timings = {}

    def click(button, name):
        assert button.isEnabled(), name
        start = time.time()
        button.click()
        assert dock.task is not None and not dock.align_button.isEnabled() and dock.cancel_button.isEnabled(), name
        ok, results = _wait(dock, 180)
        timings[name] = time.time() - start
        assert ok, f"{name}: {dock.status.text()}"
        assert dock.task is None and not dock.cancel_button.isEnabled() and dock.progress.value() == 100
        return results

    shipped = dock.models.current_model()
    assert os.path.basename(shipped) == "mpm-foundation-v2" and not dock.models.pretrain_button.isEnabled()
    click(dock.align_button, "align")
    assert dock.stack_dir == str(tmp_path / "stack")
    assert dock.finetune_button.isEnabled() and dock.anomalies_button.isEnabled()
    assert not dock.predict_button.isEnabled() and not dock.targets_button.isEnabled()

    # Pretrain on my data: the shipped model adapted to this stack (a few steps), selected for the chain
    dock.models.steps1.setValue(6)
    dock.models.steps2.setValue(4)
    dock.overrides["mpm:pretrain"] = {"BATCH_SIZE": 4}
    click(dock.models.pretrain_button, "pretrain")
    adapted = dock.models.current_model()
    assert adapted == str(tmp_path / "model") and os.path.exists(os.path.join(adapted, "weights.safetensors"))
    assert "Weights verified" in dock.models.card.toPlainText()
    assert "started from mpm-foundation-v2" in dock.models.card.toPlainText()
    assert dock.plots.losses_path == os.path.join(adapted, "losses.csv")
    assert dock.finetune_parameters()["MODEL"] == adapted

    assert dock.finetune_parameters()["COMPARE_EMBEDDINGS"] is False  # the default head does not read them
    dock.compare_embeddings.setChecked(True)
    results = click(dock.finetune_button, "finetune")
    assert dock.head_dir == str(tmp_path / "head_2") == results["OUTPUT"]
    assert (tmp_path / "head" / "keep.txt").exists()
    assert not dock.validation_box.isHidden()
    summary = dock.validation_summary.text()
    assert summary.startswith("ROC-AUC") and "random forest" in summary and "weights of evidence" in summary
    assert f"{results['ROC_AUC_HEAD']:.2f}" in summary
    assert "Embeddings add" in summary  # the ablation, said to the user
    # the validation curves beside the map (pyqtgraph): four methods and the chance line per plot
    assert not dock.plots_dock.isHidden() and dock.plots.report_path == str(tmp_path / "head_2" / "validation.json")
    assert all(len(dock.plots.curve_labels(k)) == 5 for k in ("success_rate", "roc", "pr"))
    assert f"(ROC-AUC {results['ROC_AUC_HEAD']:.3f}, folds " in dock.plots.curve_labels("roc")[0]  # and the fold spread
    assert dock.predict_button.isEnabled() and not dock.targets_button.isEnabled()

    dock.models.combo.setCurrentIndex(dock.models.combo.findData(shipped))  # the head keeps its own model
    assert dock.predict_parameters()["MODEL"] == adapted
    click(dock.predict_button, "predict")
    assert dock.prediction_dir == str(tmp_path / "prediction")
    with open(tmp_path / "prediction" / "predict.json") as f:
        assert json.load(f)["encoder"]["sha256"] == json.load(open(os.path.join(adapted, "model_card.json")))["sha256"]
    dock.capture.setValue(80)
    click(dock.targets_button, "targets")
    assert dock.targets_path == str(tmp_path / "targets.gpkg")
    click(dock.anomalies_button, "anomalies")
    assert dock.anomalies_dir == str(tmp_path / "anomalies")

    group = QgsProject.instance().layerTreeRoot().findGroup("MPM Studio")
    nodes = {n.layer().name(): n for n in group.findLayers()}
    assert {"Aligned stack", "Validity mask", "Prospectivity", "Prospectivity uncertainty", "Contribution of Geology",
            "Targets", "Geochemical anomaly score", "Robust Mahalanobis distance", "Top anomalies"} <= set(nodes)
    for name, first_colour in (("Prospectivity", "#ffffff"), ("Prospectivity uncertainty", "#f7fbff"),
                               ("Geochemical anomaly score", "#000004"), ("Contribution of Geology", "#f7fcf5")):
        renderer = nodes[name].layer().renderer()
        assert isinstance(renderer, QgsSingleBandPseudoColorRenderer), name
        assert renderer.shader().rasterShaderFunction().colorRampItemList()[0].color.name() == first_colour, name
    assert 0.0 < nodes["Prospectivity"].layer().renderer().classificationMin() < 1.0  # the top 20 % cut
    assert nodes["Prospectivity"].itemVisibilityChecked() and not nodes["Prospectivity uncertainty"].itemVisibilityChecked()
    assert not nodes["Layers with data"].itemVisibilityChecked()  # predict's coverage.tif, there to inspect
    targets = nodes["Targets"].layer()
    assert targets.featureCount() > 0 and targets.labelsEnabled()
    assert targets.labeling().settings().fieldName == "rank"
    assert [n.layer().name() for n in group.findLayers()][:3] == ["Top anomalies", "Geochemical anomaly score",
                                                                  "Robust Mahalanobis distance"]
    print("dock chain timings (s):", {k: round(v, 1) for k, v in timings.items()}, "|", summary)

    dock.anomalies_button.click()  # again (into anomalies_2), cancelled at once: a clear status, nothing written
    dock.cancel_button.click()
    ok, _ = _wait(dock)
    assert not ok and "cancel" in dock.status.text().lower() and not (tmp_path / "anomalies_2").exists()
    assert dock.anomalies_button.isEnabled() and not dock.cancel_button.isEnabled()
    del targets, nodes, group, renderer


def test_dock_reports_engine_error(plugin, tmp_path):
    import numpy as np
    from rasterio.transform import from_origin

    from helpers import write_raster

    a = write_raster(tmp_path / "a.tif", np.random.default_rng(0).normal(size=(20, 20)).astype(np.float32), from_origin(400000, 7500000, 100, 100))
    b = write_raster(tmp_path / "b.tif", np.random.default_rng(1).normal(size=(20, 20)).astype(np.float32), from_origin(900000, 6600000, 100, 100))
    la, lb = QgsRasterLayer(a, "a"), QgsRasterLayer(b, "far_away")
    QgsProject.instance().addMapLayers([la, lb])
    plugin.dock.select_layers("geophysics", [la.id(), lb.id()])
    plugin.dock.output.setFilePath(str(tmp_path / "o"))
    (tmp_path / "o").mkdir()
    assert plugin.dock.run_align() is not None
    ok, _ = _wait(plugin.dock)
    assert not ok
    assert "do not overlap" in plugin.dock.status.text()
    assert not (tmp_path / "o" / "stack" / "stack.json").exists()


def test_plugin_loads_without_torch_or_onnxruntime():
    """Heavy libraries are lazy: with torch and onnxruntime unimportable the plugin still imports and says so."""
    code = r"""
import sys, importlib.abc, importlib.util
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('torch', 'onnxruntime'):
            raise ImportError('blocked for test: ' + name)
        return None
sys.meta_path.insert(0, Block())
importlib.util.find_spec = (lambda orig: lambda name, *a: None if name.split('.')[0] in ('torch', 'onnxruntime') else orig(name, *a))(importlib.util.find_spec)
sys.path.insert(0, sys.argv[1])
import mpm_plugin, mpm_plugin.plugin, mpm_plugin.provider, mpm_plugin.dock, mpm_plugin.models_panel, mpm_plugin.algorithms.align, mpm_plugin.deps as d
assert len(mpm_plugin.provider.algorithm_classes()) == 14
import engine.data.stack, engine.data.reader, engine.cli, engine.prospectivity.validate, engine.foundation.model.weights
assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules
print(d.report())
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code, ROOT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "install torch or onnxruntime" in out.stdout


def test_opening_the_model_box_imports_no_gis_wheel():
    """The panel opens before mpm_plugin.deps.preload runs: had the model box imported rasterio (through
    engine.foundation.features), QGIS's PROJ would later read the wheel's newer proj.db and abort (desktop CI saw it)."""
    code = r"""
import sys
sys.path.insert(0, sys.argv[1])
from qgis.core import QgsApplication
app = QgsApplication([], True)
app.initQgis()
from mpm_plugin.models_panel import ModelBox
box = ModelBox(None)
assert box.current_model().endswith("mpm-foundation-v2"), box.current_model()
loaded = [m for m in ("rasterio", "pyogrio", "pyproj") if m in sys.modules]
assert not loaded, f"opening the model box imported {loaded} before mpm_plugin.deps.preload"
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code, ROOT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr


def test_aligned_kolari_stack_opens_in_qgis_with_crs_and_extent(kolari_stack):
    with open(os.path.join(kolari_stack, "stack.json")) as f:
        import json

        grid = json.load(f)["grid"]
    for name in ("stack.tif", "valid.tif", "deposits.tif"):
        layer = QgsRasterLayer(os.path.join(kolari_stack, name), name)
        assert layer.isValid(), name
        assert layer.crs().authid() == "EPSG:3067"
        e = layer.extent()
        assert (e.xMinimum(), e.yMinimum(), e.xMaximum(), e.yMaximum()) == pytest.approx(tuple(grid["bounds"]))
        assert (layer.width(), layer.height()) == (grid["width"], grid["height"])
    stack = QgsRasterLayer(os.path.join(kolari_stack, "stack.tif"), "stack")
    assert stack.bandName(1).endswith("IOCG_Mag_grysc_DGRF65_anom_100m")


def test_metadata_says_what_the_plugin_does_today():
    import configparser

    meta = configparser.ConfigParser(interpolation=None)
    meta.read(os.path.join(ROOT, "metadata.txt"), encoding="utf-8")
    about = meta["general"]["about"]
    for word in ("encoders", "prospectivity head", "weights of evidence", "Anomalies", "Targets", "SAM"):
        assert word in about, word
    assert "coming versions" not in about
    assert not [k for k, v in meta["general"].items() if "example.org" in v]
