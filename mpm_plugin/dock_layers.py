"""Result layers in the project: loaded into the 'MPM Studio' group, styled from resources/*.qml, marked so
that they are never offered as inputs."""

import math
import os

from qgis.core import (Qgis, QgsColorRampShader, QgsMessageLog, QgsProject, QgsRasterLayer,
                       QgsSingleBandPseudoColorRenderer)

from . import PLUGIN_ROOT
from .i18n import tr

GROUP_NAME = "MPM Studio"
LOG_TAG = "MPM Studio"
RESULT_PROPERTY = "mpm_studio/result"  # custom property of the layers the panel loads (kept in the project file)
STYLE_DIR = os.path.join(PLUGIN_ROOT or os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "resources")
STRETCHED_STYLES = ("uncertainty.qml", "anomaly.qml")  # ramps re-stretched to each layer's own value range


def stretch_to_data(layer, lower=0.02, upper=0.98):
    """Re-space a pseudocolor ramp (as loaded from QML) over the layer's lower-upper cumulative cut; True if done."""
    renderer = layer.renderer()
    if not isinstance(renderer, QgsSingleBandPseudoColorRenderer):
        return False
    lo, hi = layer.dataProvider().cumulativeCut(renderer.band(), lower, upper)
    shader = renderer.shader().rasterShaderFunction() if renderer.shader() else None
    items = shader.colorRampItemList() if isinstance(shader, QgsColorRampShader) else []
    if len(items) < 2 or not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return False
    a, b = items[0].value, items[-1].value
    if not b > a:
        return False
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
    """(layer, style, visible) for (path, name[, QML style in resources/[, visible]]); missing paths skipped."""
    layers = []
    for path, name, *rest in items:
        if path and os.path.exists(path):
            layers.append((QgsRasterLayer(path, name), rest[0] if rest else None, rest[1] if len(rest) > 1 else True))
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
    loaded = {n.layer().source() for n in group.findLayers() if n.layer() is not None}
    for layer, style, visible in reversed(layers):
        if not layer.isValid():
            warn(tr("Could not load {0} as a layer").format(layer.source()))
            continue
        if layer.source() in loaded:
            continue
        layer.setCustomProperty(RESULT_PROPERTY, True)
        if style:
            apply_style(layer, style)
        project.addMapLayer(layer, False)
        node = group.insertLayer(0, layer)
        node.setItemVisibilityChecked(visible)


def apply_style(layer, style):
    """resources/<style> on the layer (ramps in STRETCHED_STYLES re-spaced over the layer's values); True if done."""
    message, ok = layer.loadNamedStyle(os.path.join(STYLE_DIR, style))
    if not ok:
        QgsMessageLog.logMessage(tr("Style {0} not applied: {1}").format(style, message), LOG_TAG,
                                 Qgis.MessageLevel.Warning)
    elif style in STRETCHED_STYLES:
        stretch_to_data(layer)
    return ok
