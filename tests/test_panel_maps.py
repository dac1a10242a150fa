"""Result maps that read at a glance (issue 21, item 13; pytest-qgis, offscreen): prospectivity by area classes
from the map's own quantiles, contributions one layer per source, the strongest anomalies as points, target
labels only where they fit."""

import os

import numpy as np
from qgis.core import QgsColorRampShader, QgsProject, QgsVectorLayer
from rasterio.transform import from_origin

from helpers import write_raster


def _group_layers():
    group = QgsProject.instance().layerTreeRoot().findGroup("MPM Studio")
    return {n.layer().name(): (n.layer(), n.itemVisibilityChecked()) for n in group.findLayers()}


def _prediction(folder, seed=0):
    """A prediction folder on seeded data: a skewed map (median far below the top), two contribution bands."""
    import rasterio

    os.makedirs(folder)
    rng = np.random.default_rng(seed)
    t = from_origin(400000, 7510000, 100, 100)
    p = rng.beta(2, 5, (120, 150)).astype(np.float32)
    p[:10] = np.nan  # nodata is no area
    write_raster(os.path.join(folder, "prospectivity.tif"), p, t, nodata=np.nan)
    write_raster(os.path.join(folder, "uncertainty.tif"), p * 0.1, t, nodata=np.nan)
    c = np.stack([p * 0.5, p * 0.2 - 0.05]).astype(np.float32)
    path = write_raster(os.path.join(folder, "contributions.tif"), c, t, nodata=np.nan)
    with rasterio.open(path, "r+") as ds:
        ds.set_band_description(1, "geophysics")
        ds.set_band_description(2, "geochemistry")
    return p


def test_prospectivity_is_styled_by_area_classes(plugin, tmp_path):
    p = _prediction(str(tmp_path / "prediction"))
    plugin.dock.set_prediction(str(tmp_path / "prediction"))
    layers = _group_layers()
    layer, visible = layers["Prospectivity"]
    shader = layer.renderer().shader().rasterShaderFunction()
    assert visible and shader.colorRampType() == QgsColorRampShader.Type.Discrete
    items = shader.colorRampItemList()
    assert [i.label for i in items] == ["rest of the area", "top 20 % of the area", "top 10 % of the area",
                                        "top 5 % of the area", "top 1 % of the area"]
    valid = p[np.isfinite(p)]
    for item, share in zip(items, (0.20, 0.10, 0.05, 0.01)):
        assert item.value == np.float32(np.quantile(valid.astype(np.float64), 1 - share)) or \
            abs(item.value - np.quantile(valid, 1 - share)) < 1e-6
        assert abs((valid > item.value).mean() - share) < 0.002  # the class holds its share of the valid area
    assert items[0].color.alpha() == 0 and all(i.color.alpha() == 255 for i in items[1:])
    # shading: below the top 20 % transparent, the top 1 % dark red
    ok, *rgba = shader.shade(float(np.quantile(valid, 0.5)))
    assert ok and rgba[3] == 0
    ok, *rgba = shader.shade(float(valid.max()))
    assert ok and (rgba[0], rgba[3]) == (189, 255)
    # the legend lists the classes
    legend = [text for text, _colour in layer.legendSymbologyItems()]
    assert "top 5 % of the area" in legend


def test_contributions_load_one_layer_per_source(plugin, tmp_path):
    p = _prediction(str(tmp_path / "prediction"))
    plugin.dock.set_prediction(str(tmp_path / "prediction"))
    layers = _group_layers()
    assert "Source contributions" not in layers
    for band, source in ((1, "Geophysics"), (2, "Geochemistry")):
        layer, visible = layers[f"Contribution of {source}"]
        renderer = layer.renderer()
        assert not visible and renderer.band() == band and renderer.type() == "singlebandpseudocolor"
        values = (p * (0.5 if band == 1 else 0.2) - (0 if band == 1 else 0.05))[np.isfinite(p)]
        assert renderer.classificationMin() < renderer.classificationMax() <= float(values.max()) + 1e-6
        assert renderer.classificationMin() >= float(values.min()) - 1e-6


def test_top_anomalies_load_as_points_and_target_labels_fit(plugin, tmp_path):
    folder = tmp_path / "anomalies"
    folder.mkdir()
    t = from_origin(400000, 7510000, 100, 100)
    write_raster(folder / "anomaly_score.tif", np.random.default_rng(0).random((50, 50)).astype(np.float32), t)
    (folder / "top_anomalies.csv").write_text("rank,x,y,score,mahalanobis,element_1,residual_1\n"
                                              "1,401050.0,7507050.0,2.5,4.1,Cu,1.2\n2,403050.0,7506050.0,2.1,,Co,0.9\n")
    plugin.dock.set_anomalies(str(folder))
    layers = _group_layers()
    points, visible = layers["Top anomalies"]
    assert visible and points.isValid() and points.featureCount() == 2
    assert points.crs().authid() == "EPSG:3067"
    xy = sorted((f.geometry().asPoint().x(), f.geometry().asPoint().y()) for f in points.getFeatures())
    assert xy == [(401050.0, 7507050.0), (403050.0, 7506050.0)]
    assert points.labelsEnabled() and points.labeling().settings().fieldName == "rank"
    targets = QgsVectorLayer("Polygon?crs=EPSG:3067&field=rank:integer", "Targets", "memory")
    plugin.dock.add_layers([(targets, "targets.qml", True)])
    settings = targets.labeling().settings()
    assert settings.fitInPolygonOnly and not settings.displayAll
