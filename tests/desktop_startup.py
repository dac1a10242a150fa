"""Runs inside the real QGIS desktop (`qgis --code tests/desktop_startup.py`): drives the MPM Studio panel.

Started by tests/desktop_session.py, which passes its settings as a JSON file named in the
MPM_DESKTOP_CONFIG environment variable (kolari: data folder; work: output folder of the chain;
status, screenshot, screen, log: files to write; timeout_s; chain: run Align -> Fine-tune -> Predict or
only open the panel; resolution; finetune_overrides; size: main window width, height; dock_width).

What it does, one step per tick of a QTimer (the Qt event loop never blocks, so the Processing tasks,
the map canvas and the panel keep working): wait for the main window and the plugin, open the panel
through the plugin's toolbar action, load the Kolari layers (magnetics, faults, till geochemistry,
deposits, study area), tick them in the panel, press Align, Fine-tune + validate and Predict as a user
would (each waits for its background task), zoom to the prospectivity layer, wait for the canvas to
draw, save a screenshot of the main window (and of the X screen with `import -window root` when
ImageMagick is there), write the status JSON and quit QGIS. Any exception, or the time running out,
ends the run the same way with `error` set in the status. Everything it does and every QGIS message
log entry go to the log file.
"""

import json
import os
import shutil
import subprocess
import time
import traceback


def _run():
    import qgis.utils
    from qgis.core import (Qgis, QgsApplication, QgsMarkerSymbol, QgsProject, QgsRasterLayer, QgsSettings,
                           QgsVectorLayer)
    from qgis.PyQt.QtCore import Qt, QTimer
    from qgis.PyQt.QtWidgets import QDockWidget

    with open(os.environ["MPM_DESKTOP_CONFIG"]) as f:
        cfg = json.load(f)

    def log(text):
        with open(cfg["log"], "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%H:%M:%S')} {text}\n")

    def on_message(message, tag, level):
        log(f"[message log: {tag or 'general'} / {int(level)}] {message}")

    QgsApplication.messageLog().messageReceived.connect(on_message)

    class Driver:
        def __init__(self):
            self.t0 = time.time()
            self.step = "start"
            self.timings = {}
            self.status = {"ok": False, "error": None, "qgis_version": Qgis.version(), "steps_done": []}
            self.dock = None
            self.wait = lambda: True
            self.gen = self.steps()
            self.finished = False
            self.timer = QTimer()
            self.timer.setInterval(250)
            self.timer.timeout.connect(self.tick)
            self.timer.start()

        # ---- the steps (a generator: each yield hands back a predicate to wait on) ----

        def begin(self, name):
            if self.step != "start":
                self.status["steps_done"].append(self.step)
            self.step = name
            log(f"step: {name}")

        def steps(self):
            self.begin("wait for the main window")
            yield lambda: qgis.utils.iface is not None and qgis.utils.iface.mainWindow().isVisible()
            iface = qgis.utils.iface
            mw = iface.mainWindow()
            if "mpm_plugin" not in qgis.utils.plugins:
                raise RuntimeError(f"mpm_plugin is not loaded; available: {sorted(qgis.utils.available_plugins)}, "
                                   f"active: {sorted(qgis.utils.active_plugins)}, paths: {qgis.utils.plugin_paths}")
            plugin = qgis.utils.plugins["mpm_plugin"]
            from mpm_plugin.dock import GROUP_NAME
            width, height = cfg.get("size", (1600, 1000))
            mw.setGeometry(0, 0, width, height)
            browser = mw.findChild(QDockWidget, "Browser")
            if browser is not None:  # the Layers panel gets the whole left side
                browser.hide()

            self.begin("open the panel")
            plugin.action.trigger()  # the toolbar button, as a user would
            yield lambda: plugin.dock.isVisible()
            dock = self.dock = plugin.dock
            mw.resizeDocks([dock], [cfg.get("dock_width", 440)], Qt.Horizontal)
            dock.setMinimumWidth(cfg.get("dock_width", 440))

            self.begin("load the Kolari layers")
            k = cfg["kolari"]
            layers = {
                "mag": QgsRasterLayer(os.path.join(k, "Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif"),
                                      "magnetics"),
                "faults": QgsVectorLayer(os.path.join(k, "Geological_Data", "IOCG_CLB_Structures_1M.shp"), "faults",
                                         "ogr"),
                "till": QgsVectorLayer(os.path.join(k, "Geochemical_Data", "Vector_files",
                                                    "IOCG_CLB_Till_Geochem_reg_511p.shp"), "till geochemistry", "ogr"),
                "deposits": QgsVectorLayer(os.path.join(k, "Deposits_Occurrences", "IOCG_Deps_Prosp_Occs.shp"),
                                           "IOCG deposits", "ogr"),
                "area": QgsVectorLayer(os.path.join(k, "Geological_Data", "EIS_IOCG_target_area.shp"), "study area",
                                       "ogr"),
            }
            bad = [name for name, lyr in layers.items() if not lyr.isValid()]
            if bad:
                raise RuntimeError(f"layers not valid: {bad}")
            layers["deposits"].renderer().setSymbol(QgsMarkerSymbol.createSimple(
                {"name": "star", "color": "#2b83ba", "outline_color": "white", "size": "4.5"}))
            layers["area"].renderer().symbol().symbolLayer(0).setBrushStyle(Qt.NoBrush)
            project = QgsProject.instance()
            # QGIS puts the first of a batch on top: points and lines above the magnetic grid
            project.addMapLayers([layers[key] for key in ("deposits", "area", "till", "faults", "mag")])
            dock.select_layers("geophysics", [layers["mag"].id()])
            dock.select_layers("geology", [layers["faults"].id()])
            dock.select_layers("geochemistry", [layers["till"].id()])
            dock.deposits.setLayer(layers["deposits"])
            dock.aoi.setLayer(layers["area"])
            dock.resolution.setValue(cfg.get("resolution", 400.0))
            dock.output.setFilePath(cfg["work"])
            if cfg.get("finetune_overrides"):
                dock.overrides["mpm:finetune"] = dict(cfg["finetune_overrides"])
            self.status["panel_checked"] = {key: dock.selected_ids(key) for key in dock.lists}

            if cfg.get("chain", True):
                for name, button in (("align", dock.align_button), ("finetune", dock.finetune_button),
                                     ("predict", dock.predict_button)):
                    self.begin(name)
                    if not button.isEnabled():
                        raise RuntimeError(f"{name}: the button is disabled; panel status: {dock.status.text()}")
                    start = time.time()
                    button.click()
                    if dock.task is None:
                        raise RuntimeError(f"{name} started no task; panel status: {dock.status.text()}")
                    yield lambda: dock.task is None
                    self.timings[name] = round(time.time() - start, 1)
                    ok, _results = dock.last_result or (False, {})
                    if not ok:
                        raise RuntimeError(f"{name} failed; panel status: {dock.status.text()}")
                    log(f"{name} done in {self.timings[name]} s: {dock.status.text()}")

                # the panel put the results below the deposits and loaded the aligned stack and the mask unticked;
                # for the picture, as a user would: the study-area outline above the results too
                root = project.layerTreeRoot()
                self.status["tree_after_chain"] = [n.name() for n in root.children()]
                node = root.findLayer(layers["area"].id())
                root.insertChildNode(0, node.clone())
                node.parent().removeChildNode(node)
                group = root.findGroup(GROUP_NAME)
                if group is not None:
                    group.setExpanded(False)  # the view shows it collapsed while the node says expanded: toggle
                    group.setExpanded(True)
                    for node in group.findLayers():
                        node.setExpanded(node.itemVisibilityChecked())  # legends of the shown layers only
            if cfg.get("structures"):
                yield from self.trace_structure(iface, dock, layers["mag"], cfg["structures"])

            mag_node = project.layerTreeRoot().findLayer(layers["mag"].id())
            if mag_node is not None:
                mag_node.setExpanded(False)

            self.begin("draw the map")
            canvas = iface.mapCanvas()
            prospectivity = [lyr for lyr in project.mapLayers().values()
                             if lyr.source().endswith(os.sep + "prospectivity.tif")]
            target = prospectivity[0] if prospectivity else layers["area"]
            drawn = []
            canvas.mapCanvasRefreshed.connect(lambda: drawn.append(time.time()))
            canvas.setExtent(canvas.mapSettings().layerExtentToOutputExtent(target, target.extent()))
            canvas.refresh()
            shown = time.time()
            yield lambda: bool(drawn) and not canvas.isDrawing() and time.time() - shown > 1.5
            self.status["canvas_extent"] = [canvas.extent().xMinimum(), canvas.extent().yMinimum(),
                                            canvas.extent().xMaximum(), canvas.extent().yMaximum()]
            if cfg.get("scroll_dock") in ("bottom", "chain"):
                bar = dock.widget().verticalScrollBar()
                if cfg["scroll_dock"] == "bottom":
                    bar.setValue(bar.maximum())
                else:  # the chain's buttons, status, validation and the foundation model in view
                    box = dock.finetune_button.parentWidget()
                    bar.setValue(min(bar.maximum(), max(0, box.geometry().top() - 6)))
                scrolled = time.time()
                yield lambda: time.time() - scrolled > 0.5

            self.begin("screenshot")
            self.screenshot()
            self.status["ok"] = True

        def trace_structure(self, iface, dock, mag, job):
            """Structures (SAM) as a geologist uses it: zoom on job['click'] (job['half'] m around it), start the
            tool from the panel on the magnetics, left-click there, S; then the same click plus a right click at
            job['cut'] along the previewed line, S. The saved lines go to the status ('structures')."""
            from qgis.core import QgsPointXY, QgsRectangle
            from qgis.gui import QgsMapMouseEvent
            from qgis.PyQt.QtCore import QEvent, QPoint
            from qgis.PyQt.QtGui import QKeyEvent

            canvas = iface.mapCanvas()
            self.begin("structures: zoom on the lineament")
            x, y, half = job["click"][0], job["click"][1], job["half"]
            QgsProject.instance().setCrs(mag.crs())  # map = raster coordinates: the click is given in them
            want = QgsRectangle(x - half, y - half, x + half, y + half)
            drawn = []
            canvas.mapCanvasRefreshed.connect(lambda: drawn.append(time.time()))
            shown = time.time()

            def zoomed():  # QGIS may zoom to the first layers it loaded after our zoom: zoom again until it holds
                e = canvas.extent()
                if abs(e.center().x() - x) > 500 or abs(e.center().y() - y) > 500 or \
                        min(e.width(), e.height()) > 2.5 * half:
                    log(f"canvas extent {e.toString()} ({canvas.width()} x {canvas.height()} px, "
                        f"{canvas.mapSettings().destinationCrs().authid()}): zoom again")
                    canvas.setExtent(want)
                    canvas.refresh()
                    return False
                return bool(drawn) and not canvas.isDrawing() and time.time() - shown > 1.0

            yield zoomed
            self.status["structures_canvas"] = [canvas.extent().xMinimum(), canvas.extent().yMinimum(),
                                                canvas.extent().xMaximum(), canvas.extent().yMaximum()]
            box = dock.structures
            box.raster.setLayer(mag)
            box.feature_type.setCurrentIndex(box.feature_type.findData(job.get("type", "fault")))
            box.button.setChecked(True)
            tool = box.tool
            if tool is None or canvas.mapTool() is not tool:
                raise RuntimeError(f"the structure tool did not start: {box.status.text()}")

            def press(px, py, button):
                pt = canvas.getCoordinateTransform().transform(QgsPointXY(px, py))
                pos = QPoint(int(round(pt.x())), int(round(pt.y())))
                for kind, buttons in ((QEvent.MouseButtonPress, button), (QEvent.MouseButtonRelease, Qt.NoButton)):
                    ev = QgsMapMouseEvent(canvas, kind, pos, button, buttons, Qt.NoModifier)
                    (tool.canvasPressEvent if kind == QEvent.MouseButtonPress else tool.canvasReleaseEvent)(ev)

            def save():
                canvas.keyPressEvent(QKeyEvent(QEvent.KeyPress, Qt.Key_S, Qt.NoModifier))

            saved = []
            tool.saved.connect(lambda layer: saved.append(time.time()))
            self.status["structures"] = {"messages": []}
            tool.changed.connect(lambda text: self.status["structures"]["messages"].append(text))
            self.begin("structures: click on the lineament")
            press(x, y, Qt.LeftButton)
            # the view is encoded in a background task (mpm_plugin.view_encoder): the line follows when it is ready
            yield lambda: not tool.encoding and (tool.geometry is not None or bool(
                tool.history and tool.prediction is None and self.status["structures"]["messages"]))
            if tool.geometry is None:
                raise RuntimeError(f"no line at the click: {box.status.text()}")
            line = tool.geometry
            cut = line.interpolate(job.get("cut", 0.75) * line.length)
            view = tool.extractor.view
            self.status["structures"]["view"] = {"bounds": list(view.bounds), "shape": list(view.shape)}
            self.status["structures"]["preview_score"] = float(tool.prediction.score)
            save()
            yield lambda: bool(saved)
            self.begin("structures: click again, right-click to cut it")
            press(x, y, Qt.LeftButton)
            yield lambda: not tool.encoding and tool.geometry is not None
            press(cut.x, cut.y, Qt.RightButton)
            yield lambda: tool.geometry is not None and len(tool.state[1]) == 1
            save()
            yield lambda: len(saved) == 2
            from qgis.core import QgsVectorLayer

            out = QgsVectorLayer(f"{tool.output_path}|layername=structure_lines", "saved", "ogr")
            self.status["structures"].update({
                "output": tool.output_path, "cut": [cut.x, cut.y],
                "saved": [{"wkt": f.geometry().asWkt(), "type": f["type"], "score": f["score"],
                           "n_include": f["n_include"], "n_exclude": f["n_exclude"]} for f in out.getFeatures()]})
            del out
            box.button.setChecked(False)

        # ---- records ----

        def screenshot(self):
            iface = qgis.utils.iface
            if iface is None:
                return
            QgsApplication.processEvents()
            ok = iface.mainWindow().grab().save(cfg["screenshot"], "PNG")
            self.status["screenshot"] = cfg["screenshot"] if ok else None
            log(f"main window grabbed into {cfg['screenshot']}: {ok}")
            tool = shutil.which("import")
            self.status["screen"] = None
            if tool and cfg.get("screen"):  # ImageMagick's import: what the X server shows
                try:
                    r = subprocess.run([tool, "-window", "root", cfg["screen"]], capture_output=True, text=True,
                                       timeout=60)
                    png = False
                    if r.returncode == 0 and os.path.exists(cfg["screen"]):
                        with open(cfg["screen"], "rb") as f:
                            png = f.read(8) == b"\x89PNG\r\n\x1a\n"  # not a stand-in's output
                    if png:
                        self.status["screen"] = cfg["screen"]
                    else:
                        log(f"import -window root failed ({r.returncode}): {r.stderr[-500:]}")
                except (OSError, subprocess.SubprocessError) as exc:
                    log(f"import -window root failed: {exc}")

        def describe(self):
            from mpm_plugin.dock import GROUP_NAME
            from mpm_plugin.i18n import qgis_locale

            s = self.status
            settings = QgsSettings()
            s["locale"] = {"overrideFlag": settings.value("locale/overrideFlag", False, type=bool),
                           "userLocale": settings.value("locale/userLocale", "", type=str),
                           "plugin": qgis_locale()}
            s["timings"] = self.timings
            s["elapsed_s"] = round(time.time() - self.t0, 1)
            s["step"] = self.step
            dock = self.dock
            if dock is not None:
                s["dock_visible"] = dock.isVisible()
                s["dock_title"] = dock.windowTitle()
                s["status_text"] = dock.status.text()
                s["validation_visible"] = not dock.validation_box.isHidden()
                s["validation_summary"] = dock.validation_summary.text()
                s["validation_plot"] = bool(dock.validation_plot.pixmap() and not dock.validation_plot.pixmap().isNull())
                s["plots"] = {"visible": bool(dock.plots_dock and dock.plots_dock.isVisible()),
                              "curves": {k: dock.plots.curve_labels(k) for k in ("success_rate", "roc", "pr", "pa",
                                                                                  "losses")} if dock.plots else {}}
                s["buttons"] = {b.objectName(): b.text() for b in (
                    dock.align_button, dock.cancel_button, dock.finetune_button, dock.predict_button,
                    dock.targets_button, dock.anomalies_button)}
                s["source_boxes"] = [box.title() for box in dock.findChildren(
                    type(dock.validation_box)) if box.objectName().startswith("mpm_box_")]
                s["folders"] = {"stack": dock.stack_dir, "head": dock.head_dir, "prediction": dock.prediction_dir}
                manifest = dock.stack_manifest() or {}
                s["deposits"] = manifest.get("deposits")
            root = QgsProject.instance().layerTreeRoot()
            group = root.findGroup(GROUP_NAME)
            s["group_layers"] = [{"name": n.layer().name(), "source": n.layer().source(),
                                  "visible": n.itemVisibilityChecked()} for n in group.findLayers()] if group else []
            s["tree"] = [n.name() for n in root.children()]

        def tick(self):
            if self.finished:
                return
            try:
                if time.time() - self.t0 > cfg.get("timeout_s", 240):
                    raise TimeoutError(f"gave up after {cfg.get('timeout_s', 240)} s at step '{self.step}'")
                if not self.wait():
                    return
                self.wait = next(self.gen)
            except StopIteration:
                self.finish()
            except Exception:  # noqa: BLE001 (recorded in the status and the log, then QGIS quits)
                self.status["error"] = f"step '{self.step}': {traceback.format_exc()}"
                log(self.status["error"])
                self.finish()

        def finish(self):
            self.finished = True
            self.timer.stop()
            try:
                if self.status["error"] and "screenshot" not in self.status:
                    self.screenshot()  # what the window showed when it went wrong
            except Exception:  # noqa: BLE001
                log(f"screenshot after the error failed: {traceback.format_exc()}")
            try:
                self.describe()
            except Exception:  # noqa: BLE001
                self.status["describe_error"] = traceback.format_exc()
                log(self.status["describe_error"])
            tmp = cfg["status"] + ".partial"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.status, f, indent=1, ensure_ascii=False)
            os.replace(tmp, cfg["status"])
            log(f"status written to {cfg['status']}")
            QTimer.singleShot(300, lambda: self.quit())

        def quit(self):
            """Clear the project, then leave the event loop. Not Project > Exit: with results under /tmp (the test's
            folders) QGIS asks whether to drop "temporary layers" first; and QgsApplication.exit with layers still
            loaded crashes 3.22's teardown (QgisApp::setMapStyleDockLayer)."""
            log("quitting QGIS")
            QgsApplication.taskManager().cancelAll()
            QgsProject.instance().clear()
            QgsApplication.exit(0 if self.status["ok"] else 1)

    qgis.utils._mpm_desktop_driver = Driver()  # kept alive for the whole run (a module lives as long as QGIS)


try:
    _run()
except Exception:  # noqa: BLE001 (QGIS would show a dialog and wait: record it and quit instead)
    _cfg = os.environ.get("MPM_DESKTOP_CONFIG")
    if _cfg:
        with open(json.load(open(_cfg))["log"], "a", encoding="utf-8") as _f:
            _f.write("startup script failed:\n" + traceback.format_exc())
    from qgis.core import QgsApplication as _App

    _App.exit(3)
