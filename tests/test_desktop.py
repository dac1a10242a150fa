"""The real QGIS desktop (under Xvfb) with the built plugin: open the panel, run Align -> Fine-tune + validate ->
Predict on Kolari from its buttons, screenshot the main window.

tests/desktop_session.py starts Xvfb and `qgis --code tests/desktop_startup.py` with a private profile and the
plugin folder laid out by build.py --dir; the startup script drives the panel without blocking Qt's event loop,
writes a status JSON and the screenshot, and quits QGIS. Everything (plugin, profile, embedding cache, outputs,
logs, status.json, screenshot.png, and screen.png when ImageMagick's `import` is installed) stays under the test's
tmp_path. Skipped without Xvfb or the QGIS desktop (failed under CI=1). About 40 s on 2 cores.
"""

import os
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from helpers import ROOT
from desktop_session import missing, run_desktop

pytestmark = [pytest.mark.desktop, pytest.mark.slow]


@pytest.fixture(scope="module")
def desktop():
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _pixels(path):
    from PIL import Image  # matplotlib's own dependency

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(np.int16)


def _ramp_share(rgb):
    """Share of pixels in the prospectivity ramp's colours (yellow #ffffb2 ... red #bd0026), not UI greys/white."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return float(((r > 150) & (r - b > 60) & (g <= r)).mean())


def _failure(run, what):
    return f"{what}\n{run.diagnostics()}"


def test_desktop_panel_predicts_on_kolari(desktop, kolari, tmp_path):
    start = time.time()
    run = run_desktop(tmp_path, kolari, locale="en_US", chain=True, timeout=240)
    s = run.status
    assert s is not None, _failure(run, "QGIS wrote no status")
    assert s["ok"] and s["error"] is None, _failure(run, s["error"])
    assert s["locale"]["plugin"] == "en_US"
    assert s["dock_visible"] and s["dock_title"] == "MPM Studio"
    assert all(len(s["panel_checked"][key]) == 1 for key in ("geophysics", "geology", "geochemistry"))
    assert s["deposits"]["used"] == s["deposits"]["total"] == 13  # the study-area AOI holds every deposit

    layers = {layer["name"]: layer for layer in s["group_layers"]}
    assert {"Prospectivity", "Prospectivity uncertainty", "Contribution of Geology", "Aligned stack",
            "Validity mask"} <= set(layers), _failure(run, f"MPM Studio group: {list(layers)}")
    assert not layers["Aligned stack"]["visible"] and not layers["Validity mask"]["visible"]  # loaded unticked
    tree = s["tree_after_chain"]
    assert tree.index("IOCG deposits") < tree.index("MPM Studio"), tree  # the deposits stay above the results
    prospectivity = layers["Prospectivity"]
    assert prospectivity["source"] == str(tmp_path / "mpm" / "prediction" / "prospectivity.tif")
    assert prospectivity["visible"] and os.path.exists(prospectivity["source"])
    assert s["status_text"].startswith("Prediction written to")
    summary = s["validation_summary"]
    assert s["validation_visible"]
    assert s["plots"]["visible"] and len(s["plots"]["curves"]["roc"]) == 4, s["plots"]  # pyqtgraph beside the map
    assert summary.startswith("ROC-AUC head") and "random forest" in summary and "weights of evidence" in summary
    assert set(s["timings"]) == {"align", "finetune", "predict"}

    assert s["screenshot"] == str(tmp_path / "screenshot.png") and os.path.exists(s["screenshot"])
    rgb = _pixels(s["screenshot"])
    assert rgb.shape[:2] == (1200, 1600)
    assert rgb.std() > 20, "the screenshot is blank"
    assert _ramp_share(rgb) > 0.02, "no prospectivity map on the canvas"  # the top 20 % of the area is coloured
    if s.get("screen"):  # import -window root: what the X server shows
        assert _pixels(s["screen"]).std() > 20
    print(f"desktop: QGIS {s['qgis_version']}, chain timings (s) {s['timings']}, whole run {time.time() - start:.0f} s "
          f"| {summary} | screenshot {s['screenshot']}")


def _translations(*sources):
    root = ET.parse(os.path.join(ROOT, "i18n", "mpm_studio_zh_CN.ts")).getroot()
    found = {m.findtext("source"): m.findtext("translation") for m in root.iter("message")}
    return [found[text] for text in sources]


def test_desktop_panel_speaks_chinese(desktop, kolari, tmp_path):
    """QGIS set to Simplified Chinese (Settings > Options > General: zh-Hans): the built plugin's panel in Chinese."""
    run = run_desktop(tmp_path, kolari, locale="zh-Hans", chain=False, timeout=120)
    s = run.status
    assert s is not None, _failure(run, "QGIS wrote no status")
    assert s["ok"] and s["error"] is None, _failure(run, s["error"])
    assert s["locale"]["plugin"] == "zh-Hans"
    align, finetune, predict, geology = _translations("Align", "Fine-tune + validate", "Predict", "Geology")
    assert (s["buttons"]["mpm_align"], s["buttons"]["mpm_finetune"], s["buttons"]["mpm_predict"]) == (
        align, finetune, predict)
    assert geology in s["source_boxes"] and align != "Align"
    assert _pixels(s["screenshot"]).std() > 20


LINEAMENT = "Ylläs shear zone"  # NE-trending, "interpreted from magnetic map" in GTK's 1:1M structures


def _azimuth(coords):
    d = np.asarray(coords[-1]) - np.asarray(coords[0])
    return np.degrees(np.arctan2(d[0], d[1])) % 180


def test_desktop_click_on_a_magnetic_lineament_saves_a_line_along_it(desktop, kolari, tmp_path):
    """Structures (SAM) in the desktop: a left click on the Ylläs shear zone in the Kolari magnetics (zoomed to
    25.6 km around it), S; then the same click and a right click 3/4 along the previewed line, S. The saved
    lines run along the mapped trend (< 20 degrees, > 3 km) and the exclude click shortens the second."""
    import shapely

    from engine.data.vectors import read_vector

    faults = read_vector(os.path.join(kolari, "Geological_Data", "IOCG_CLB_Structures_1M.shp"), "faults",
                         dst_crs="EPSG:3067", expect="line")
    line = max((g for g, n in zip(faults.geometries, faults.fields["NAME"]) if n == LINEAMENT), key=lambda g: g.length)
    at = 0.65 * line.length
    click = line.interpolate(at)
    trend = _azimuth(shapely.get_coordinates(shapely.LineString([line.interpolate(at - 2500),
                                                                 line.interpolate(at + 2500)])))
    run = run_desktop(tmp_path, kolari, locale="en_US", chain=False, timeout=150,
                      structures={"click": [click.x, click.y], "half": 12800.0, "cut": 0.75, "type": "fault"})
    s = run.status
    assert s is not None, _failure(run, "QGIS wrote no status")
    assert s["ok"] and s["error"] is None, _failure(run, s["error"])
    st = s["structures"]
    assert st["output"] == str(tmp_path / "mpm" / "structures.gpkg")
    first, cut = st["saved"]
    assert (first["type"], first["n_include"], first["n_exclude"]) == ("fault", 1, 0)
    assert (cut["n_include"], cut["n_exclude"]) == (1, 1)
    a, b = shapely.from_wkt(first["wkt"]), shapely.from_wkt(cut["wkt"])
    assert abs((_azimuth(shapely.get_coordinates(a)) - trend + 90) % 180 - 90) < 20
    assert a.length > 3000 and a.distance(click) < 150
    assert b.length < 0.85 * a.length and b.distance(shapely.Point(st["cut"])) > 200
    print(f"desktop structures: trend {trend:.0f} deg, saved {a.length / 1000:.1f} km (score {first['score']:.2f}), "
          f"cut to {b.length / 1000:.1f} km; status line: {st['messages'][-1] if st['messages'] else ''}")
