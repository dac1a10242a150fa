<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- MPM Studio: layers with data per cell (prediction/coverage.tif, 0 = nodata), dark red where few layers had data
     fading to white where all had. The panel spreads the ramp from 1 to the stack's number of layers on load. -->
<qgis version="3.22.16-Białowieża" styleCategories="Symbology">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" nodataColor="" classificationMin="1" classificationMax="10">
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
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" minimumValue="1" maximumValue="10" labelPrecision="0">
          <colorramp type="gradient" name="[source]">
            <Option type="Map">
              <Option type="QString" name="color1" value="178,24,43,255"/>
              <Option type="QString" name="color2" value="247,247,247,255"/>
              <Option type="QString" name="discrete" value="0"/>
              <Option type="QString" name="rampType" value="gradient"/>
              <Option type="QString" name="stops" value="0.5;239,138,98,255:0.8;253,219,199,255"/>
            </Option>
          </colorramp>
          <item value="1" label="1" color="#b2182b" alpha="255"/>
          <item value="5.5" label="5.5" color="#ef8a62" alpha="255"/>
          <item value="8.2" label="8.2" color="#fddbc7" alpha="255"/>
          <item value="10" label="10" color="#f7f7f7" alpha="255"/>
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
