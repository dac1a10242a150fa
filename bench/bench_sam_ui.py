"""How long one SAM click on a new map view holds QGIS's UI thread: the synchronous click the map tool
made before (load the model, read + encode the view, decode) against the background encode
(mpm_plugin/view_encoder.py: the click returns, the event loop keeps running, the preview follows).

    .venv/bin/python bench/bench_sam_ui.py [--model models/mpm-geosam-v2 | --vit-b] [--threads 2]

--vit-b times an official SAM ViT-B architecture (random weights, seed 0: the same cost as
sam_vit_b_01ec64.pth, which is not shipped). The view is a 200 x 200 px crop of the Kolari magnetics
on a 600 x 600 px offscreen canvas; each run starts with an empty embedding cache.
"""

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MAG = os.path.join("Geophysics_100m", "IOCG_Mag_grysc_DGRF65_anom_100m.tif")


def crop(kolari, out):
    import rasterio

    with rasterio.open(os.path.join(kolari, MAG)) as src:
        win = rasterio.windows.Window.from_slices((440, 640), (380, 580))
        profile = dict(src.profile, width=200, height=200, transform=src.window_transform(win), tiled=False)
        data = src.read(window=win)
    with rasterio.open(out, "w", **profile) as dst:
        dst.write(data)
    return out


def vit_b(out):
    import torch

    from engine.structures.modeling import build_official

    torch.manual_seed(0)
    torch.save(build_official("vit_b").state_dict(), out)
    return out


def synchronous_click(raster, model, threads, cache_dir, extent, point):
    """What the tool's click did on the UI thread before: build the extractor, set the view, decode and
    draw the fault's geometry (the last two stay on the UI thread: milliseconds to tenths of a second)."""
    from engine.structures.extract import StructureExtractor

    t0 = time.perf_counter()
    ex = StructureExtractor(raster, (1,), model=model, threads=threads, cache_dir=cache_dir)
    t1 = time.perf_counter()
    ex.set_view(extent)
    t2 = time.perf_counter()
    ex.geometry(ex.predict([point]).mask, "fault")
    t3 = time.perf_counter()
    return t3 - t0, t1 - t0, t2 - t1, t3 - t2


def background_click(canvas, layer, model, threads, cache_dir, point):
    """The tool now: (time the click held the UI thread, longest event-loop gap, time to the preview)."""
    from qgis.core import QgsApplication, QgsPointXY
    from qgis.gui import QgsMapMouseEvent
    from qgis.PyQt.QtCore import QEvent, QPoint, Qt

    from mpm_plugin.structure_tool import StructureMapTool

    tool = StructureMapTool(canvas, layer, os.path.join(cache_dir, "s.gpkg"), model=model, threads=threads,
                            cache_dir=cache_dir)
    canvas.setMapTool(tool)
    p = canvas.getCoordinateTransform().transform(QgsPointXY(*point))
    pos = QPoint(int(round(p.x())), int(round(p.y())))
    t0 = time.perf_counter()
    for kind, handler in ((QEvent.Type.MouseButtonPress, tool.canvasPressEvent),
                          (QEvent.Type.MouseButtonRelease, tool.canvasReleaseEvent)):
        buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else Qt.MouseButton.LeftButton
        handler(QgsMapMouseEvent(canvas, kind, pos, Qt.MouseButton.LeftButton, buttons, Qt.KeyboardModifier.NoModifier))
    held = time.perf_counter() - t0
    gap, last = 0.0, time.perf_counter()
    while tool.encoding:
        QgsApplication.processEvents()
        now = time.perf_counter()
        gap, last = max(gap, now - last), now
        time.sleep(0.005)
    QgsApplication.processEvents()
    ready = time.perf_counter() - t0
    ok = tool.prediction is not None and not tool.encoding
    canvas.unsetMapTool(tool)
    return held, gap, ready, ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="GeoSAM folder or SAM checkpoint (default: the shipped GeoSAM)")
    ap.add_argument("--vit-b", action="store_true", help="time an official ViT-B (random weights)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch
    from qgis.core import QgsApplication, QgsCoordinateReferenceSystem, QgsProject, QgsRasterLayer
    from qgis.gui import QgsMapCanvas

    from engine.demo import find_demo_data

    torch.set_num_threads(args.threads)
    app = QgsApplication([], True)
    app.initQgis()
    tmp = tempfile.mkdtemp(prefix="bench_sam_ui_")
    raster = crop(find_demo_data(), os.path.join(tmp, "mag_crop.tif"))
    model = vit_b(os.path.join(tmp, "sam_vit_b_random.pth")) if args.vit_b else args.model
    layer = QgsRasterLayer(raster, "mag crop")
    QgsProject.instance().addMapLayer(layer)
    canvas = QgsMapCanvas()
    canvas.resize(600, 600)
    canvas.show()
    QgsApplication.processEvents()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3067"))
    canvas.setLayers([layer])
    ext = layer.extent()
    canvas.setExtent(ext)
    QgsApplication.processEvents()
    point = (ext.xMinimum() + 0.3 * ext.width(), ext.center().y())
    view = canvas.extent()
    extent = (view.xMinimum(), view.yMinimum(), view.xMaximum(), view.yMaximum())

    total, load, encode, decode = synchronous_click(raster, model, args.threads, os.path.join(tmp, "c1"), extent, point)
    held, gap, ready, ok = background_click(canvas, layer, model, args.threads, os.path.join(tmp, "c2"), point)
    name = "SAM ViT-B (random weights)" if args.vit_b else (model or "shipped GeoSAM")
    print(f"model: {name}; torch {torch.__version__}, {args.threads} threads, {os.cpu_count()} cores")
    print(f"synchronous first click (before): UI thread held {total:6.2f} s "
          f"(model load {load:.2f} s, read + encode {encode:.2f} s, decode + geometry {decode * 1000:.0f} ms)")
    print(f"background encode (now):          UI thread held {held * 1000:6.1f} ms, longest event-loop gap "
          f"{gap * 1000:.0f} ms (the decode + geometry), preview after {ready:.2f} s{'' if ok else ' (NO PREVIEW)'}")
    canvas.setLayers([])
    QgsProject.instance().removeAllMapLayers()
    del canvas
    app.exitQgis()


if __name__ == "__main__":
    main()
