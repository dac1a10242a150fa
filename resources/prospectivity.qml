<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- MPM Studio: prospectivity by area classes, as geologists read these maps: the top 1 / 5 / 10 / 20 % of the
     valid area, red to yellow, transparent below. The item values here are placeholders: the panel sets each to
     the map's own quantile (dock_layers.style_area_classes) when it loads the layer; colours and labels stay. -->
<qgis version="3.22.16-Białowieża" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" nodataColor="" classificationMin="0.8" classificationMax="1">
      <rasterTransparency/>
      <minMaxOrigin>
        <limits>None</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Exact</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <rastershader>
        <colorrampshader colorRampType="DISCRETE" classificationMode="1" clip="0" minimumValue="0.8" maximumValue="1" labelPrecision="3">
          <colorramp type="gradient" name="[source]">
            <Option type="Map">
              <Option type="QString" name="color1" value="255,255,178,255"/>
              <Option type="QString" name="color2" value="189,0,38,255"/>
              <Option type="QString" name="discrete" value="0"/>
              <Option type="QString" name="rampType" value="gradient"/>
              <Option type="QString" name="stops" value="0.33;254,204,92,255:0.66;240,59,32,255"/>
            </Option>
          </colorramp>
          <item value="0.8" label="rest of the area" color="#ffffff" alpha="0"/>
          <item value="0.9" label="top 20 % of the area" color="#fecc5c" alpha="255"/>
          <item value="0.95" label="top 10 % of the area" color="#fd8d3c" alpha="255"/>
          <item value="0.99" label="top 5 % of the area" color="#f03b20" alpha="255"/>
          <item value="inf" label="top 1 % of the area" color="#bd0026" alpha="255"/>
          <rampLegendSettings useContinuousLegend="0" orientation="2" direction="0" prefix="" suffix="" minimumLabel="" maximumLabel=""/>
        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" invertColors="0" colorizeOn="0" colorizeRed="255" colorizeGreen="128" colorizeBlue="128" colorizeStrength="100"/>
    <rasterresampler maxOversampling="2"/>
    <resamplingStage>resamplingFilter</resamplingStage>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
