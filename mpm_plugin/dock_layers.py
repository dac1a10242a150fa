"""Result layers in the project: loaded into the 'MPM Studio' group, styled from resources/*.qml, marked so
that they are never offered as inputs.

Prospectivity is styled by area classes (the top 1 / 5 / 10 / 20 % of the valid area, from the map's own
quantiles, transparent below: a 0-1 ramp painted a map with median 0.31 warm everywhere); continuous ramps
(uncertainty, anomalies, contributions) are re-stretched to each layer's own 2-98 % range; the layers with data per
cell (coverage) run from 1 to the stack's number of layers."""

import math
import os
import re

import numpy as np
from qgis.core import (Qgis, QgsColorRampShader, QgsMessageLog, QgsProject, QgsRasterLayer,
                       QgsSingleBandPseudoColorRenderer)

from . import PLUGIN_ROOT
from .i18n import tr

GROUP_NAME = "MPM Studio"
LOG_TAG = "MPM Studio"
RESULT_PROPERTY = "mpm_studio/result"  # custom property of the layers the panel loads (kept in the project file)
STYLE_DIR = os.path.join(PLUGIN_ROOT or os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources")
STRETCHED_STYLES = ("uncertainty.qml", "anomaly.qml", "contribution.qml")  # ramps re-stretched to each layer
AREA_CLASS_STYLES = ("prospectivity.qml",)  # discrete classes set to the map's area quantiles
COUNT_STYLES = ("coverage.qml",)  # ramps spread from 1 to the stack's number of layers (layers with data per cell)
AREA_SHARES = (0.20, 0.10, 0.05, 0.01)  # the classes' shares of the valid area, largest first
SAMPLE_CELLS = 4_000_000  # quantiles from at most this many cells (a decimated read of a larger map)


def area_thresholds(path, shares=AREA_SHARES, band=1):
    """Values above which each share of the raster's valid cells lies (ascending for descending shares)."""
    from osgeo import gdal

    ds = gdal.Open(path)
    b = ds.GetRasterBand(band)
    step = max(1, math.ceil(math.sqrt(ds.RasterXSize * ds.RasterYSize / SAMPLE_CELLS)))
    a = b.ReadAsArray(buf_xsize=math.ceil(ds.RasterXSize / step), buf_ysize=math.ceil(ds.RasterYSize / step))
    a = a.astype(np.float64)
    nodata = b.GetNoDataValue()
    if nodata is not None and not math.isnan(nodata):
        a[a == nodata] = np.nan
    values = a[np.isfinite(a)]
    if values.size == 0:
        return None
    return [float(np.quantile(values, 1.0 - share)) for share in shares]


def style_area_classes(layer, shares=AREA_SHARES):
    """Set the discrete classes loaded from prospectivity.qml to the layer's own area quantiles: a cell is in the
    'top 5 %' class when at most 5 % of the valid area scores higher. True if done."""
    renderer = layer.renderer()
    if not isinstance(renderer, QgsSingleBandPseudoColorRenderer):
        return False
    shader = renderer.shader().rasterShaderFunction() if renderer.shader() else None
    items = shader.colorRampItemList() if isinstance(shader, QgsColorRampShader) else []
    cuts = area_thresholds(layer.source(), shares, renderer.band())
    if cuts is None or len(items) != len(shares) + 1:
        return False
    for i in range(1, len(cuts)):  # ties (a flat map): keep the classes in order
        cuts[i] = max(cuts[i], float(np.nextafter(cuts[i - 1], np.inf)))
    values = cuts + [math.inf]
    labels = [tr("rest of the area")] + [tr("top {0:g} % of the area").format(share * 100) for share in shares]
    shader.setColorRampItemList([QgsColorRampShader.ColorRampItem(v, item.color, label)
                                 for v, item, label in zip(values, items, labels)])
    shader.setColorRampType(QgsColorRampShader.Type.Discrete)
    shader.setMinimumValue(cuts[0])
    shader.setMaximumValue(cuts[-1])
    renderer.setClassificationMin(cuts[0])
    renderer.setClassificationMax(cuts[-1])
    return True


def band_names(path):
    """The band descriptions of a raster (contributions.tif: one source per band), 'band N' where empty."""
    from osgeo import gdal

    ds = gdal.Open(path)
    if ds is None:
        return []
    return [ds.GetRasterBand(i).GetDescription() or f"band {i}" for i in range(1, ds.RasterCount + 1)]


def stretch_to_data(layer, lower=0.02, upper=0.98):
    """Re-space a pseudocolor ramp (as loaded from QML) over the layer's lower-upper cumulative cut; True if done."""
    renderer = layer.renderer()
    if not isinstance(renderer, QgsSingleBandPseudoColorRenderer):
        return False
    return spread_ramp(layer, *layer.dataProvider().cumulativeCut(renderer.band(), lower, upper))


def layer_count_range(layer):
    """(1, layers in the stack) of a prediction's coverage.tif, from its band description 'layers with data (of N)'
    (engine.prospectivity.workflow.predict); else the layer's own min-max."""
    found = re.search(r"\(of (\d+)\)", (band_names(layer.source()) or [""])[0])
    if found:
        return 1.0, float(found.group(1))
    return layer.dataProvider().cumulativeCut(1, 0.0, 1.0)


def spread_ramp(layer, lo, hi, digits=None):
    """Re-space a pseudocolor ramp (as loaded from QML) from lo to hi, labels with `digits` decimals (default: from
    the range); True if done."""
    renderer = layer.renderer()
    if not isinstance(renderer, QgsSingleBandPseudoColorRenderer):
        return False
    shader = renderer.shader().rasterShaderFunction() if renderer.shader() else None
    items = shader.colorRampItemList() if isinstance(shader, QgsColorRampShader) else []
    if len(items) < 2 or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return False
    a, b = items[0].value, items[-1].value
    if not b > a:
        return False
    if digits is None:
        digits = max(0, 2 - int(math.floor(math.log10(hi - lo))))
    new = []
    for item in items:
        value = lo + (item.value - a) / (b - a) * (hi - lo)
        new.append(QgsColorRampShader.ColorRampItem(value, item.color, f"{value:.{digits}f}"))
    shader.setColorRampItemList(new)
    shader.setMinimumValue(lo)
    shader.setMaximumValue(hi)
    renderer.setClassificationMin(lo)
    renderer.setClassificationMax(hi)
    return True


def result_layer_ids(project=None):
    """Ids of the layers MPM Studio made (marked when loaded, or in the 'MPM Studio' group)."""
    project = project or QgsProject.instance()
    ids = {lid for lid, lyr in project.mapLayers().items() if lyr.customProperty(RESULT_PROPERTY)}
    group = project.layerTreeRoot().findGroup(GROUP_NAME)
    if group is not None:
        ids.update(group.findLayerIds())
    return ids


def raster_layers(items):
    """(layer, style, visible, band) for (path, name[, QML style in resources/[, visible[, band]]]); missing paths
    skipped."""
    layers = []
    for path, name, *rest in items:
        if path and os.path.exists(path):
            rest = list(rest) + [None, True, 1][len(rest):]
            layers.append((QgsRasterLayer(path, name), *rest[:3]))
    return layers


def results_group(keep_above=None, project=None):
    """The 'MPM Studio' group; made just below the top-level item holding `keep_above` (the known deposits:
    they stay on top of the results, and visible), else at the top."""
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.findGroup(GROUP_NAME)
    if group is not None:
        return group
    index = 0
    node = root.findLayer(keep_above.id()) if keep_above is not None else None
    if node is not None:
        node.setItemVisibilityChecked(True)
        top = node
        while top.parent() is not None and top.parent() is not root:
            top = top.parent()
        top.setItemVisibilityChecked(True)
        index = root.children().index(top) + 1 if top in root.children() else 0
    return root.insertGroup(index, GROUP_NAME)


def add_to_group(layers, warn, keep_above=None):
    """(layer, QML style or None, visible) into the 'MPM Studio' group, in order, above what is there in it.

    The group sits below `keep_above` (results_group). Each layer is marked as a result (never offered as an
    input); a file already loaded in the group is not loaded twice (results opened again). warn(text) reports
    a layer that could not be loaded."""
    project = QgsProject.instance()
    group = results_group(keep_above, project)
    loaded = {(n.layer().source(), n.layer().name()) for n in group.findLayers() if n.layer() is not None}
    for layer, style, visible, *band in reversed(layers):
        if not layer.isValid():
            warn(tr("Could not load {0} as a layer").format(layer.source()))
            continue
        if (layer.source(), layer.name()) in loaded:
            continue
        layer.setCustomProperty(RESULT_PROPERTY, True)
        if style:
            apply_style(layer, style, band[0] if band else 1)
        project.addMapLayer(layer, False)
        node = group.insertLayer(0, layer)
        node.setItemVisibilityChecked(visible)


def apply_style(layer, style, band=1):
    """resources/<style> on the layer, drawing `band` (ramps in STRETCHED_STYLES re-spaced over the layer's values,
    AREA_CLASS_STYLES set to its area quantiles); True if done."""
    message, ok = layer.loadNamedStyle(os.path.join(STYLE_DIR, style))
    if not ok:
        QgsMessageLog.logMessage(tr("Style {0} not applied: {1}").format(style, message), LOG_TAG,
                                 Qgis.MessageLevel.Warning)
        return ok
    if band != 1 and isinstance(layer.renderer(), QgsSingleBandPseudoColorRenderer):
        layer.renderer().setBand(band)
    if style in STRETCHED_STYLES:
        stretch_to_data(layer)
    elif style in AREA_CLASS_STYLES:
        style_area_classes(layer)
    elif style in COUNT_STYLES:
        spread_ramp(layer, *layer_count_range(layer), digits=0)
    return ok
