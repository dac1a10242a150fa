<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- MPM Studio: one source's contribution to the prospectivity (how much the map drops without that source),
     white to green, continuous legend; one layer per band of contributions.tif. The panel sets the band and
     re-stretches the values to the layer's 2-98 % range when it loads the layer. -->
<qgis version="3.22.16-Białowieża" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" nodataColor="" classificationMin="0" classificationMax="0.2">
      <rasterTransparency/>
      <minMaxOrigin>
        <limits>CumulativeCut</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <rastershader>
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" minimumValue="0" maximumValue="0.2" labelPrecision="3">
          <colorramp type="gradient" name="[source]">
            <Option type="Map">
              <Option type="QString" name="color1" value="247,252,245,255"/>
              <Option type="QString" name="color2" value="0,68,27,255"/>
              <Option type="QString" name="discrete" value="0"/>
              <Option type="QString" name="rampType" value="gradient"/>
              <Option type="QString" name="stops" value="0.25;199,233,192,255:0.5;116,196,118,255:0.75;35,139,69,255"/>
            </Option>
          </colorramp>
          <item value="0" label="0.000" color="#f7fcf5" alpha="255"/>
          <item value="0.05" label="0.050" color="#c7e9c0" alpha="255"/>
          <item value="0.1" label="0.100" color="#74c476" alpha="255"/>
          <item value="0.15" label="0.150" color="#238b45" alpha="255"/>
          <item value="0.2" label="0.200" color="#00441b" alpha="255"/>
          <rampLegendSettings useContinuousLegend="1" orientation="2" direction="0" prefix="" suffix="" minimumLabel="" maximumLabel=""/>
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
