"""The panel around the chain: pyqtgraph plots, run settings, results opened again, result layers kept out of the
inputs, the default output folder (pytest-qgis, offscreen)."""

import json
import os
import tempfile
import time

import numpy as np
import pytest
from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsSettings, QgsVectorLayer
from qgis.PyQt.QtGui import QImage

from helpers import ROOT, write_raster

METHOD_KEYS = ("head", "random_forest", "weights_of_evidence")
SHIPPED_LOSSES = os.path.join(ROOT, "models", "mpm-foundation-v2", "losses.csv")


@pytest.fixture
def clean_settings():
    """No mpm_studio/ settings before or after the test (they live in the test profile, .qgis-settings)."""
    QgsSettings().remove("mpm_studio")
    yield QgsSettings()
    QgsSettings().remove("mpm_studio")


def write_validation(folder, seed=0, n_pos=13, n_bg=3000):
    """validation.json as engine.prospectivity.finetune writes it, from engine.prospectivity.validate.curves on seeded scores."""
    from engine.prospectivity.validate import curves

    rng = np.random.default_rng(seed)
    methods = {}
    for i, key in enumerate(METHOD_KEYS):
        r = curves(rng.normal(1.6 - 0.5 * i, 1.0, n_pos), rng.normal(0.0, 1.0, n_bg))
        r.update(fold_roc_auc=[r["roc_auc"]], fold_roc_auc_mean=r["roc_auc"], deposit_scores={})
        methods[key] = r
    os.makedirs(folder, exist_ok=True)
    meta = {"folds": 4, "block_m": 12000.0, "deposits": n_pos, "background": n_bg, "title": "seeded: spatial 4-fold CV"}
    with open(os.path.join(folder, "validation.json"), "w") as f:
        json.dump({"meta": meta, "methods": methods}, f)
    return methods


def step_area(x, y):
    """Area under a step curve drawn as (x[0], y[0]), (x[1], y[1]) ...: the horizontal segments."""
    x, y = np.asarray(x), np.asarray(y)
    return float(np.sum((x[1:] - x[:-1]) * y[:-1]))


# ---- plots ----


def test_plots_widget_draws_a_validation_report_and_exports_png(qgis_app, tmp_path):
    from mpm_plugin import plots

    assert plots.HAVE_PYQTGRAPH, plots.IMPORT_ERROR
    methods = write_validation(str(tmp_path / "head"))
    w = plots.PlotsWidget()
    assert w.load_validation(str(tmp_path / "head"))
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == [
        "Success rate", "ROC", "Precision-recall", "Prediction-area", "Training loss"]
    names = ("MPM head", "random forest", "weights of evidence")
    assert w.curve_labels("success_rate") == [f"{n} (success-AUC {methods[k]['success_rate_auc']:.3f})"
                                              for n, k in zip(names, METHOD_KEYS)] + ["random"]
    assert w.curve_labels("roc") == [f"{n} (ROC-AUC {methods[k]['roc_auc']:.3f})"
                                     for n, k in zip(names, METHOD_KEYS)] + ["chance (ROC-AUC 0.5)"]
    assert w.plots["roc"].getPlotItem().titleLabel.text.endswith("out-of-fold")  # a head's cross-validation
    rate = methods["head"]["positive_rate"]
    assert w.curve_labels("pr") == [f"{n} (PR-AUC {methods[k]['pr_auc']:.3f})" for n, k in zip(names, METHOD_KEYS)] \
        + [f"chance (share of deposits {rate:.3f})"]
    for n, k in zip(names, METHOD_KEYS):
        # the ROC curve's area is the report's ROC-AUC, the rebuilt PR curve's the report's average precision
        x, y = w.curve_data("roc", f"{n} (ROC-AUC {methods[k]['roc_auc']:.3f})")
        assert step_area(x, y) == pytest.approx(methods[k]["roc_auc"], abs=1e-3)
        x, y = w.curve_data("pr", f"{n} (PR-AUC {methods[k]['pr_auc']:.3f})")
        assert step_area(x, y) == pytest.approx(methods[k]["pr_auc"], rel=1e-6)
        x, y = w.curve_data("success_rate", f"{n} (success-AUC {methods[k]['success_rate_auc']:.3f})")
        assert (x[0], y[0], x[-1], y[-1]) == (0, 0, 100, 100) and np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= 0)
    # P-A: one method at a time (thresholds differ in scale), crossing where the report says
    assert [w.pa_method.itemText(i) for i in range(w.pa_method.count())] == list(names)
    for i, k in enumerate(METHOD_KEYS):
        w.pa_method.setCurrentIndex(i)
        cross = methods[k]["pa_intersection"]
        labels = w.curve_labels("pa")
        assert labels[:2] == ["prediction rate (deposits, %)", "area not flagged (100 - area %)"] and len(labels) == 3
        assert labels[2] == "intersection: {0:.0f} % of deposits in {1:.0f} % of the area".format(
            cross["prediction_rate"] * 100, cross["area"] * 100)
        x, y = w.curve_data("pa", labels[0])
        assert list(x) == methods[k]["pa_curve"]["threshold"]
    # pretraining losses of the shipped model: a curve per source and stage
    assert w.load_losses(SHIPPED_LOSSES)
    labels = w.curve_labels("losses")
    assert len(labels) == 8 and "geology (stage 1)" in labels and "geophysics (stage 2)" in labels
    assert w.plots["losses"].getPlotItem().ctrl.logYCheck.isChecked()
    for key, _label in plots.PLOTS:
        path = w.export_png(key, str(tmp_path / f"{key}.png"), width=900)
        image = QImage(path)
        assert os.path.getsize(path) > 5000 and image.width() == 900, key
        colours = {image.pixel(x, y) for x in range(0, 900, 7) for y in range(0, image.height(), 7)}
        assert len(colours) > 10, f"{key}: a blank image"
    # an unreadable report clears the validation tabs and says so
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "validation.json").write_text("{not json")
    assert not w.load_validation(str(tmp_path / "bad"))
    assert w.curve_labels("roc") == [] and w.message.text().startswith("No validation report")
    assert not w.load_losses(str(tmp_path / "missing.csv")) and w.curve_labels("losses") == []


def test_plots_read_at_a_glance(qgis_app, tmp_path):
    """Issue 21, item 15: legends beside the curves, never over them; the PR plot's chance line, its y range
    fitted to the curves and one sentence; loss ticks that do not overprint; the fold-to-fold spread."""
    from qgis.PyQt.QtWidgets import QApplication

    from mpm_plugin import plots

    methods = write_validation(str(tmp_path / "head"))
    report = json.loads((tmp_path / "head" / "validation.json").read_text())
    folds = {"head": [0.66, 0.97, 0.8], "random_forest": [0.7, 0.74], "weights_of_evidence": [0.6]}
    for k, f in folds.items():
        report["methods"][k]["fold_roc_auc"] = f
    (tmp_path / "head" / "validation.json").write_text(json.dumps(report))
    w = plots.PlotsWidget()
    w.resize(900, 380)
    w.show()
    assert w.load_validation(str(tmp_path / "head")) and w.load_losses(SHIPPED_LOSSES)
    for i, (key, _label) in enumerate(plots.PLOTS):
        w.tabs.setCurrentIndex(i)
        QApplication.processEvents()
        item = w.plots[key].getPlotItem()
        assert item.legend.items, key
        assert not item.legend.sceneBoundingRect().intersects(item.vb.sceneBoundingRect()), key
    roc = w.curve_labels("roc")
    assert roc[0] == f"MPM head (ROC-AUC {methods['head']['roc_auc']:.3f}, folds 0.66-0.97)"
    assert roc[1].endswith(", folds 0.70-0.74)") and "folds" not in roc[2]  # one fold: no spread
    rate = methods["head"]["positive_rate"]
    assert w.curve_labels("pr")[-1] == f"chance (share of deposits {rate:.3f})"
    assert f"{rate:.2%}" in w.pr_note.text() and w.pr_note.text().count(".") == 1 + f"{rate:.2%}".count(".")
    del report["methods"]["random_forest"]  # the rest stay below precision 0.5: the y axis follows them
    (tmp_path / "head" / "validation.json").write_text(json.dumps(report))
    assert w.load_validation(str(tmp_path / "head"))
    top = max(max(w.curve_data("pr", n)[1]) for n in w.curve_labels("pr"))
    assert top < 0.5 and w.plots["pr"].getPlotItem().vb.viewRange()[1][1] < top * 1.2
    axis = w.plots["losses"].getPlotItem().getAxis("left")
    values = np.log10([0.07, 0.08, 0.09, 0.1, 0.2, 0.3, 0.5, 1.0, 3.0])
    assert [bool(t) for t in axis.logTickStrings(values, 1.0, None)] == [False, False, False, True, True, False,
                                                                          True, True, False]
    w.hide()


def test_the_validation_summary_shows_once_with_the_fold_spread(plugin, kolari_stack, tmp_path):
    head = _head_folder(tmp_path / "head", kolari_stack)
    card = json.loads((tmp_path / "head" / "head_card.json").read_text())
    card["cv"]["head"]["fold_roc_auc"] = [0.66, 0.97]
    (tmp_path / "head" / "head_card.json").write_text(json.dumps(card))
    dock = plugin.dock
    dock._finetuned({"OUTPUT": head})
    summary = dock.validation_summary.text()
    assert summary.startswith(f"ROC-AUC head {card['cv']['head']['roc_auc']:.2f} (folds 0.66-0.97) | random forest")
    assert dock.status.text() == f"Head written to {head}"  # the summary is not repeated there


def _head_folder(folder, stack_dir, with_png=False):
    """A real head folder (engine.prospectivity.head on seeded features) with its card and validation report."""
    from engine.prospectivity.head import HeadConfig, fit_head, save_head

    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 8)).astype(np.float32)
    y = (np.arange(60) < 10).astype(np.int8)
    x[y == 1] += 1.0
    head = fit_head(x, y, HeadConfig(members=2, max_epochs=30))
    with open(os.path.join(ROOT, "models", "mpm-foundation-v2", "model_card.json")) as f:
        sha = json.load(f)["sha256"]
    with open(os.path.join(stack_dir, "stack.json")) as f:
        bands = json.load(f)["bands"]
    methods = write_validation(str(folder), seed=2)
    save_head(head, str(folder), {
        "encoder": {"name": "mpm-foundation-v2", "sha256": sha},
        "stack_signature": [[b["source"], b["layer_type"], b["kind"]] for b in bands],
        "stack": os.path.abspath(stack_dir), "deposits": ["a", "b"], "background": 50,
        "cv": {k: {m: r[m] for m in ("roc_auc", "pr_auc", "success_rate_auc")} for k, r in methods.items()}})
    if with_png:
        image = QImage(60, 40, QImage.Format_RGB32)
        image.fill(0x336699)
        image.save(os.path.join(str(folder), "validation.png"))
    return str(folder)


def _prediction_folder(folder, stack_dir, head_dir):
    import rasterio

    os.makedirs(folder)
    with rasterio.open(os.path.join(stack_dir, "valid.tif")) as ds:
        transform, shape = ds.transform, (ds.height, ds.width)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    p = np.exp(-((yy - 40) ** 2 + (xx - 60) ** 2) / 300.0).astype(np.float32)
    write_raster(os.path.join(folder, "prospectivity.tif"), p, transform, nodata=np.nan)
    write_raster(os.path.join(folder, "uncertainty.tif"), p * 0.1, transform, nodata=np.nan)
    coverage = np.where(xx < 20, 11, 13).astype(np.uint8)  # as predict writes it: 0 = nodata, 13 layers in all
    coverage[:3] = 0
    write_raster(os.path.join(folder, "coverage.tif"), coverage, transform, nodata=0)
    with rasterio.open(os.path.join(folder, "coverage.tif"), "r+") as ds:
        ds.set_band_description(1, "layers with data (of 13)")
    with open(os.path.join(folder, "predict.json"), "w") as f:
        json.dump({"head": os.path.join(head_dir, "head_card.json"), "sources": [], "files": {}}, f)
    return str(folder)


def _group_names():
    group = QgsProject.instance().layerTreeRoot().findGroup("MPM Studio")
    return [n.layer().name() for n in group.findLayers()] if group else []


def test_fallback_to_the_png_without_pyqtgraph(plugin, kolari_stack, tmp_path, monkeypatch):
    from mpm_plugin import plots

    head = _head_folder(tmp_path / "head", kolari_stack, with_png=True)
    monkeypatch.setattr(plots, "HAVE_PYQTGRAPH", False)
    monkeypatch.setattr(plots, "IMPORT_ERROR", "No module named 'pyqtgraph'")
    dock = plugin.dock
    assert dock.show_validation(head).startswith("ROC-AUC head")
    assert dock.plots is None and dock.plots_dock is None
    assert not dock.validation_plot.pixmap().isNull() and not dock.validation_plot.isHidden()
    assert not dock.plots_message.isHidden() and "pyqtgraph" in dock.plots_message.text()
    assert not dock.show_plots_button.isEnabled() and dock.open_plot_button.isEnabled()
    monkeypatch.setattr(plots, "HAVE_PYQTGRAPH", True)  # with it: the curves beside the map, no picture
    dock.show_validation(head)
    assert dock.plots is not None and not dock.plots_dock.isHidden()
    assert len(dock.plots.curve_labels("roc")) == 4
    assert dock.validation_plot.isHidden() and dock.plots_message.isHidden() and dock.show_plots_button.isEnabled()
    # the head was fine-tuned on the shipped encoder: its pretraining losses in the loss tab
    assert len(dock.plots.curve_labels("losses")) == 8


# ---- settings ----


def test_settings_round_trip_and_reach_the_run_parameters(plugin, clean_settings, tmp_path):
    from qgis.core import QgsProcessingContext
    from qgis.PyQt.QtWidgets import QDialogButtonBox

    from mpm_plugin.settings import RunSettings, SettingsDialog

    assert RunSettings.load() == RunSettings("auto", 0, 256, "")  # nothing stored: the defaults
    RunSettings("onnx-cpu", 3, 128, str(tmp_path / "cache")).save()
    assert clean_settings.value("mpm_studio/backend") == "onnx-cpu"
    assert int(clean_settings.value("mpm_studio/threads")) == 3
    assert RunSettings.load() == RunSettings("onnx-cpu", 3, 128, str(tmp_path / "cache"))
    dialog = SettingsDialog()
    assert (dialog.backend.currentText(), dialog.threads.value(), dialog.tile.value(),
            dialog.cache_dir.filePath()) == ("onnx-cpu", 3, 128, str(tmp_path / "cache"))
    dialog.backend.setCurrentIndex(dialog.backend.findData("torch-cpu"))
    dialog.threads.setValue(2)
    dialog.tile.setValue(512)
    dialog.accept()
    assert RunSettings.load() == RunSettings("torch-cpu", 2, 512, str(tmp_path / "cache"))
    from qgis.PyQt.QtWidgets import QFormLayout

    from engine.core.runtime import BACKENDS, RUNTIME

    # the dialog reads the run settings' declarations: the same choices, ranges, labels and help as Processing's
    form = SettingsDialog()
    layout = form.findChild(QFormLayout)
    assert [form.backend.itemData(i) for i in range(form.backend.count())] == list(BACKENDS)
    assert (form.tile.minimum(), form.tile.maximum()) == (RUNTIME["tile"].min, RUNTIME["tile"].max)
    for name in ("backend", "threads", "tile", "cache_dir"):
        widget = getattr(form, name)
        assert widget.toolTip() == RUNTIME[name].help
        assert layout.labelForField(widget).text() == RUNTIME[name].label
    form.reject()
    restore = SettingsDialog()
    restore.findChild(QDialogButtonBox).button(QDialogButtonBox.RestoreDefaults).click()
    assert restore.values() == RunSettings()
    restore.reject()
    assert RunSettings.load().backend == "torch-cpu"  # cancel stores nothing

    dock = plugin.dock
    dock.stack_dir, dock.head_dir, dock.prediction_dir = str(tmp_path / "s"), str(tmp_path / "h"), str(tmp_path / "p")
    dock.output.setFilePath(str(tmp_path / "out"))
    reg = QgsApplication.processingRegistry()
    context = QgsProcessingContext()
    predict = dock.parameters_for("mpm:predict", dock.predict_parameters())
    assert (predict["BACKEND"], predict["THREADS"], predict["TILE"]) == ("torch-cpu", 2, 512)
    alg = reg.algorithmById("mpm:predict")  # values the algorithm reads as given
    assert alg.parameterAsEnumString(predict, "BACKEND", context) == "torch-cpu"
    assert alg.parameterAsInt(predict, "THREADS", context) == 2 and alg.parameterAsInt(predict, "TILE", context) == 512
    finetune = dock.parameters_for("mpm:finetune", dock.finetune_parameters())
    assert (finetune["BACKEND"], finetune["THREADS"]) == ("torch-cpu", 2) and "TILE" not in finetune
    anomalies = dock.parameters_for("mpm:anomalies", dock.anomalies_parameters())
    assert (anomalies["THREADS"], anomalies["TILE"]) == (2, 512) and "BACKEND" not in anomalies
    targets = dock.parameters_for("mpm:targets", dock.targets_parameters())
    assert not {"BACKEND", "THREADS", "TILE"} & set(targets)
    # no slivers: the panel leaves the smallest area to the declared default (1 km2), the CLI's too
    assert "MIN_AREA" not in targets
    assert QgsApplication.processingRegistry().algorithmById("mpm:targets").parameterDefinition(
        "MIN_AREA").defaultValue() == 1.0
    dock.overrides["mpm:predict"] = {"BACKEND": "auto"}  # explicit overrides win
    assert dock.parameters_for("mpm:predict", dock.predict_parameters())["BACKEND"] == "auto"
    # what QgsSettings holds is checked: nonsense falls back to the defaults
    clean_settings.setValue("mpm_studio/backend", "quantum")
    clean_settings.setValue("mpm_studio/tile", "big")
    clean_settings.setValue("mpm_studio/threads", -4)
    assert RunSettings.load() == RunSettings("auto", 0, 256, str(tmp_path / "cache"))


def test_cache_folder_is_passed_to_the_run_not_set_in_the_environment(plugin, clean_settings, tmp_path, monkeypatch):
    """The Settings' cache folder reaches the run as the algorithm's CACHE_DIR parameter and from there the
    engine's Runtime; os.environ is never changed (a background task must not change the process's
    environment under QGIS and other plugins)."""
    import engine.prospectivity
    from mpm_plugin.settings import RunSettings

    before = dict(os.environ)
    cache = str(tmp_path / "my cache")
    RunSettings(cache_dir=cache).save()
    dock = plugin.dock
    dock.stack_dir, dock.head_dir = str(tmp_path / "stack"), str(tmp_path / "head")
    os.makedirs(dock.stack_dir), os.makedirs(dock.head_dir)
    open(os.path.join(dock.stack_dir, "stack.json"), "w").write("{}")
    open(os.path.join(dock.head_dir, "head_card.json"), "w").write("{}")
    dock.output.setFilePath(str(tmp_path / "out"))
    params = dock.parameters_for("mpm:predict", dock.predict_parameters())
    assert params["CACHE_DIR"] == cache
    seen = []

    def fake_predict(runtime=None, out_dir=None, **kw):
        seen.append((runtime.cache_dir, os.environ.get("MPM_CACHE_DIR")))
        os.makedirs(out_dir)
        return {"out_dir": out_dir, "mean_probability": 0.1, "max_probability": 0.9, "valid_pixels": 1}

    monkeypatch.setattr(engine.prospectivity, "predict", fake_predict)
    task = dock.run_algorithm("mpm:predict", params, lambda r: None, "Predict", "...")
    assert task is not None and dict(os.environ) == before
    end = time.time() + 60
    while dock.last_result is None and time.time() < end:
        QgsApplication.processEvents()
        time.sleep(0.02)
    assert dock.last_result[0], dock._feedback.textLog()
    assert seen == [(cache, before.get("MPM_CACHE_DIR"))] and dict(os.environ) == before


def test_threads_setting_reaches_the_engine_embeddings(qgis_processing, monkeypatch, tmp_path):
    """THREADS of mpm:predict / mpm:finetune goes down to every embedding the engine computes."""
    import engine.prospectivity
    from mpm_plugin.algorithms.predict import PredictAlgorithm

    calls = []

    def fake_predict(runtime=None, out_dir=None, **kw):
        calls.append(runtime.threads)
        return {"out_dir": out_dir, "mean_probability": 0.1, "max_probability": 0.9, "valid_pixels": 1}

    monkeypatch.setattr(engine.prospectivity, "predict", fake_predict)
    stack, head = tmp_path / "stack", tmp_path / "head"
    stack.mkdir(), head.mkdir()
    (stack / "stack.json").write_text("{}")
    (head / "head_card.json").write_text("{}")
    from qgis.core import QgsProcessingContext, QgsProcessingFeedback

    alg = PredictAlgorithm()
    alg.initAlgorithm()
    for threads in (0, 3):
        params = {"STACK": str(stack), "HEAD": str(head), "THREADS": threads, "OUTPUT": str(tmp_path / f"p{threads}")}
        alg.run_engine(params, QgsProcessingContext(), QgsProcessingFeedback())
    assert calls == [None, 3]
    torch = pytest.importorskip("torch")
    from engine.operations import Runtime

    before = torch.get_num_threads()
    with Runtime(threads=1).torch_threads():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_engine_predict_and_finetune_pass_threads_to_the_embedding(monkeypatch, kolari_stack, tmp_path):
    import engine.prospectivity.workflow as P

    seen = []
    real = P.embedding_path

    def spy(*a, runtime=None, **kw):
        seen.append(runtime.threads)
        return real(*a, runtime=runtime, **kw)

    monkeypatch.setattr(P, "embedding_path", spy)
    from engine.prospectivity.head import HeadConfig

    # a head that reads the embeddings (the default reads the bands and, without validation, embeds nothing)
    P.finetune(kolari_stack, str(tmp_path / "head"), validate=False, n_background=500, threads=1,
               head_config=HeadConfig(inputs="both"))
    P.predict(kolari_stack, str(tmp_path / "head"), str(tmp_path / "pred"), contributions=False, threads=1)
    assert seen == [1, 1]


# ---- results opened again ----


def test_opening_results_folders_sets_the_chain_and_loads_layers(plugin, kolari_stack, tmp_path):
    from qgis.core import QgsSingleBandPseudoColorRenderer

    out = tmp_path / "out"
    out.mkdir()
    head = _head_folder(out / "head", kolari_stack)
    prediction = _prediction_folder(str(out / "prediction"), kolari_stack, head)
    dock = plugin.dock
    chain = {"finetune": dock.finetune_button, "predict": dock.predict_button, "targets": dock.targets_button,
             "anomalies": dock.anomalies_button}

    def enabled():
        return {k for k, b in chain.items() if b.isEnabled()}

    assert enabled() == set()
    assert dock.open_results(kolari_stack) == [("stack", kolari_stack)]
    assert dock.stack_dir == kolari_stack and dock.head_dir is None
    assert enabled() == {"finetune", "anomalies"}  # the crop holds deposits and geochemistry
    assert {"Aligned stack", "Validity mask"} <= set(_group_names())
    assert dock.output.filePath() == os.path.dirname(kolari_stack)

    dock.stack_dir = None  # a fresh panel (after a restart): a head brings the stack it was trained on
    assert dock.open_results(head) == [("stack", kolari_stack), ("head", head)]
    assert dock.head_dir == head and dock.stack_dir == kolari_stack
    assert enabled() == {"finetune", "predict", "anomalies"}
    assert not dock.validation_box.isHidden() and dock.validation_summary.text().startswith("ROC-AUC head")
    assert len(dock.plots.curve_labels("success_rate")) == 4
    assert _group_names().count("Aligned stack") == 1  # not loaded twice

    assert dock.open_results(prediction)[-1] == ("prediction", prediction)
    assert enabled() == {"finetune", "predict", "targets", "anomalies"}
    group = QgsProject.instance().layerTreeRoot().findGroup("MPM Studio")
    nodes = {n.layer().name(): n for n in group.findLayers()}
    renderer = nodes["Prospectivity"].layer().renderer()
    assert isinstance(renderer, QgsSingleBandPseudoColorRenderer)  # area classes: tests/test_panel_maps.py
    assert renderer.shader().rasterShaderFunction().colorRampItemList()[-1].label == "top 1 % of the area"
    assert nodes["Prospectivity"].itemVisibilityChecked()
    assert not nodes["Prospectivity uncertainty"].itemVisibilityChecked()
    # layers with data per cell: loaded unticked, its ramp from 1 to the stack's 13 layers
    assert not nodes["Layers with data"].itemVisibilityChecked()
    coverage = nodes["Layers with data"].layer().renderer()
    assert isinstance(coverage, QgsSingleBandPseudoColorRenderer)
    items = coverage.shader().rasterShaderFunction().colorRampItemList()
    assert (items[0].value, items[-1].value, items[0].label, items[-1].label) == (1.0, 13.0, "1", "13")
    assert items[0].color.red() > 150 and items[0].color.green() < 60  # few layers: red; all: near white
    assert min(items[-1].color.red(), items[-1].color.green(), items[-1].color.blue()) > 230
    del renderer, nodes, group, coverage

    # the whole output folder, in a panel that knows nothing: the newest of each, in chain order
    dock.stack_dir = dock.head_dir = dock.prediction_dir = None
    dock.update_buttons()
    assert [k for k, _p in dock.open_results(str(out))] == ["stack", "head", "prediction"]
    assert (dock.stack_dir, dock.head_dir, dock.prediction_dir) == (kolari_stack, head, prediction)
    assert dock.output.filePath() == str(out) and "Opened stack, head, prediction" in dock.status.text()
    assert _group_names().count("Prospectivity") == 1
    # a folder with no results changes nothing
    (tmp_path / "empty").mkdir()
    assert dock.open_results(str(tmp_path / "empty")) == []
    assert dock.prediction_dir == prediction and enabled() == {"finetune", "predict", "targets", "anomalies"}
    # a model folder: its pretraining losses in the plots
    assert dock.open_results(os.path.dirname(SHIPPED_LOSSES)) == [("model", os.path.dirname(SHIPPED_LOSSES))]
    assert dock.plots.current_key() == "losses" and len(dock.plots.curve_labels("losses")) == 8


def test_a_head_fits_a_stack_holding_its_layers_in_any_order(plugin, kolari_stack, tmp_path):
    """The panel matches a head to a stack as predict does (engine match_bands, by layer and band name), not by
    comparing band signatures in order (issue 21, item 7): the same layers in another order keep the current stack;
    a stack lacking a layer does not fit, and a head reading embeddings refuses extra layers."""
    import shutil

    from engine.data.reader import Stack
    from engine.prospectivity.workflow import stack_bands
    from mpm_plugin.dock_results import head_fits, stack_for

    head = _head_folder(tmp_path / "out" / "head", kolari_stack)
    card_path = os.path.join(head, "head_card.json")
    with open(card_path) as f:
        card = json.load(f)
    with Stack(kolari_stack) as st:
        card["stack_bands"] = stack_bands(st)  # as finetune writes it
    assert card["config"]["inputs"] == "bands"
    card["config"]["inputs"] = "both"  # a head reading the embeddings too
    with open(card_path, "w") as f:
        json.dump(card, f)

    def variant(name, edit):
        folder = str(tmp_path / name)
        shutil.copytree(kolari_stack, folder)
        with open(os.path.join(folder, "stack.json")) as f:
            manifest = json.load(f)
        manifest["bands"] = edit(manifest["bands"])
        with open(os.path.join(folder, "stack.json"), "w") as f:
            json.dump(manifest, f)
        return folder

    reordered = variant("reordered", lambda bands: bands[::-1])  # the CLI's source order against the API's
    sources = [b["source"] for b in card["stack_bands"]]
    assert len(set(sources)) > 1 and sources != sources[::-1]
    order = [[b["source"], b["layer_type"], b["kind"]] for b in card["stack_bands"]]
    assert order[::-1] != order  # the in-order signature comparison said no here
    fewer = variant("fewer", lambda bands: [b for b in bands if b["source"] != "geophysics"])
    more = variant("more", lambda bands: bands + [dict(bands[0], name="extra_grid", layer="extra_grid")])
    assert head_fits(kolari_stack, card) and head_fits(reordered, card)
    assert not head_fits(fewer, card) and not head_fits(more, card)
    assert head_fits(more, dict(card, config=dict(card["config"], inputs="bands")))  # ignores a layer it never reads

    dock = plugin.dock
    dock.open_results(reordered)
    assert dock.open_results(head) == [("head", head)]  # the current stack fits: kept
    assert dock.stack_dir == reordered and dock.head_dir == head
    dock.open_results(fewer)
    assert dock.open_results(head) == [("stack", kolari_stack), ("head", head)]  # the stack it was trained on
    os.rename(kolari_stack, kolari_stack + "_moved")  # the card's stack gone: a sibling it fits is taken
    try:
        shutil.copytree(reordered, os.path.join(os.path.dirname(head), "stack"))
        assert stack_for(head, card) == os.path.join(os.path.dirname(head), "stack")
    finally:
        os.rename(kolari_stack + "_moved", kolari_stack)


def test_result_layers_are_not_offered_as_inputs(plugin, tmp_path):
    from rasterio.transform import from_origin

    from mpm_plugin.dock import RESULT_PROPERTY

    t = from_origin(400000, 7500000, 100, 100)
    values = np.random.default_rng(0).normal(size=(20, 20)).astype(np.float32)
    mag = QgsRasterLayer(write_raster(tmp_path / "mag.tif", values, t), "mag")
    area = QgsVectorLayer("Polygon?crs=EPSG:3067", "area", "memory")
    QgsProject.instance().addMapLayers([mag, area])
    dock = plugin.dock

    def offered(key):
        lst = dock.lists[key]
        return [lst.item(i).text() for i in range(lst.count())]

    def aoi_choices():
        return [dock.aoi.itemText(i) for i in range(dock.aoi.count()) if dock.aoi.itemText(i)]

    assert offered("geophysics") == ["mag"] and aoi_choices() == ["area"]
    dock.add_results([(write_raster(tmp_path / "prospectivity.tif", values, t), "Prospectivity")])
    targets = QgsVectorLayer("Polygon?crs=EPSG:3067&field=rank:integer", "Targets", "memory")
    dock.add_layers([(targets, "targets.qml", True)])
    assert "Prospectivity" in _group_names() and "Targets" in _group_names()
    # a float raster is no geology, and "area" is the area of interest (preselected by name)
    assert offered("geophysics") == ["mag"] and offered("geology") == [] and dock.aoi.currentLayer() is area
    assert aoi_choices() == ["area"]
    # a result from a saved project (marked) outside the group, and a layer dragged into the group
    old = QgsRasterLayer(write_raster(tmp_path / "old.tif", values, t), "old result")
    old.setCustomProperty(RESULT_PROPERTY, True)
    QgsProject.instance().addMapLayer(old)
    assert "old result" not in offered("geophysics")
    root = QgsProject.instance().layerTreeRoot()
    node = root.findLayer(mag.id())
    root.findGroup("MPM Studio").addChildNode(node.clone())
    root.removeChildNode(node)
    assert offered("geophysics") == []
    del node, root


def test_default_output_folder_is_beside_the_project_or_in_home(plugin, tmp_path):
    from mpm_plugin.dock import default_output_folder

    project = QgsProject.instance()
    dock = plugin.dock
    folder = dock.output.filePath()
    assert not os.path.abspath(folder).startswith(os.path.abspath(tempfile.gettempdir()) + os.sep)
    assert folder.startswith(os.path.join(os.path.expanduser("~"), "MPM Studio") + os.sep)
    try:
        project.setFileName(str(tmp_path / "work" / "kolari.qgz"))
        os.makedirs(tmp_path / "work")
        assert project.write()  # saved: the panel's default follows the project
        assert default_output_folder() == str(tmp_path / "work" / "MPM Studio")
        assert dock.output.filePath() == str(tmp_path / "work" / "MPM Studio")
        dock.output.setFilePath(str(tmp_path / "mine"))  # a folder the user chose stays
        project.setFileName(str(tmp_path / "other" / "k.qgz"))
        os.makedirs(tmp_path / "other")
        assert project.write()
        assert dock.output.filePath() == str(tmp_path / "mine")
    finally:
        project.clear()
    assert default_output_folder() == folder


# ---- foundation model section ----


def test_model_section_shows_verified_cards_and_refuses_a_corrupt_model(plugin, clean_settings, tmp_path):
    import shutil

    from mpm_plugin.models_panel import MODELS_DIR

    dock = plugin.dock
    box = dock.models
    shipped = os.path.join(MODELS_DIR, "mpm-foundation-v2")
    assert box.current_model() == shipped
    assert box.combo.findData(os.path.join(MODELS_DIR, "mpm-foundation-v1")) >= 0  # kept: heads fine-tuned on it still predict
    assert box.combo.findData(os.path.join(MODELS_DIR, "mpm-geosam-v2")) == -1  # not a foundation model
    text = box.card.toPlainText()
    with open(os.path.join(shipped, "model_card.json")) as f:
        card = json.load(f)
    assert f"Weights verified: sha256 {card['sha256'][:12]}" in text and "Channel-agnostic ViT" in text
    # a copy with damaged weights is listed (and remembered) but its card says why it cannot be used
    bad = tmp_path / "elsewhere" / "my-model"
    shutil.copytree(shipped, bad)
    with open(bad / "weights.safetensors", "r+b") as f:
        f.seek(1000)
        f.write(b"\0\1\2\3")
    assert box.add_model(str(bad))
    assert box.current_model() == str(bad)
    assert "cannot be used" in box.card.toPlainText() and "does not match its card" in box.card.toPlainText()
    assert str(bad) in clean_settings.value("mpm_studio/models")
    assert not box.add_model(str(tmp_path))  # no model_card.json: refused, nothing listed
    assert box.combo.findData(str(tmp_path)) == -1
    # a model pretrained into the output folder is listed; a head is matched to its model by sha256
    dock.output.setFilePath(str(tmp_path / "out"))
    shutil.copytree(shipped, tmp_path / "out" / "model")
    box.refresh()
    assert box.combo.findData(str(tmp_path / "out" / "model")) >= 0 and box.current_model() == str(bad)
    (tmp_path / "head").mkdir()
    (tmp_path / "head" / "head_card.json").write_text(json.dumps({"encoder": {"sha256": card["sha256"]}}))
    assert box.model_for_head(str(tmp_path / "head")) in (shipped, str(tmp_path / "out" / "model"))
    (tmp_path / "head" / "head_card.json").write_text(json.dumps({"encoder": {"sha256": "0" * 64}}))
    assert box.model_for_head(str(tmp_path / "head")) == str(bad)  # unknown: the chosen one (the engine says why)
    assert not box.pretrain_button.isEnabled()  # no stack yet


def test_finetune_trains_on_another_deposit_type_picked_after_align(plugin, kolari_stack, tmp_path):
    """Known deposits changed in the panel after Align: Fine-tune passes them (same stack, no re-alignment)."""
    import shapely
    from qgis.core import QgsProject, QgsVectorLayer

    from helpers import write_vector

    dock = plugin.dock
    dock.stack_dir = kolari_stack
    aligned = json.load(open(os.path.join(kolari_stack, "stack.json")))["deposits"]["path"]
    same = QgsVectorLayer(aligned, "aligned deposits", "ogr")
    path = write_vector(tmp_path / "gold.gpkg", [shapely.Point(370000, 7500000), shapely.Point(375000, 7495000)])
    other = QgsVectorLayer(path, "gold", "ogr")
    QgsProject.instance().addMapLayers([same, other])
    dock.deposits.setLayer(same)
    assert "DEPOSITS" not in dock.finetune_parameters()  # the stack's own deposits: nothing to pass
    dock.deposits.setLayer(other)
    assert dock.finetune_parameters()["DEPOSITS"] == other.id()
