"""mpm:derivatives: engine.data.derivatives.write_derivatives (tilt, horizontal gradient and vertical derivative of a
magnetic or gravity grid) as a Processing algorithm."""

from .base import EngineAlgorithm


class DerivativesAlgorithm(EngineAlgorithm):
    NAME = "derivatives"
    DISPLAY = "Potential-field derivatives"
    HELP = ("Derivatives of a magnetic or gravity grid that faults, dykes and contacts show up on: the tilt "
            "derivative (radians; it balances weak and strong anomalies, contacts lie on its zero line), the total "
            "horizontal gradient (peaks over steep contacts) and the first vertical derivative. Written as one "
            "GeoTIFF on the grid's own pixels, one band per derivative, nodata kept. The grid must be in a "
            "projected CRS (pixels in metres); reduce magnetics to the pole first where you can. Display a band "
            "and trace faults and contacts on it in the Structures (SAM) panel.")

    def run_engine(self, parameters, context, feedback):
        _values, out = self.run_operation(parameters, context, feedback)
        return {"OUTPUT": out}
