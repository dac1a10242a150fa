"""mpm:embed: the engine's embed.embed_stack (fused foundation embedding GeoTIFF) as a Processing algorithm."""

from qgis.core import QgsProcessingParameterRasterDestination

from ..i18n import tr
from .base import EngineAlgorithm


class EmbedAlgorithm(EngineAlgorithm):
    NAME = "embed"
    DISPLAY = "Foundation embedding"
    GROUP = ("foundation", "Foundation model")
    HELP = ("Runs the pretrained per-source encoders and their fusion over a whole aligned stack, tile by tile "
            "with a halo (seamless, memory bounded by the tile), and writes the fused embedding as a multi-band "
            "GeoTIFF at patch resolution (one value per patch of pixels, one band per embedding dimension, nodata "
            "where no source has data). Useful for clustering, similarity search or your own models; the "
            "prospectivity tools compute and cache it themselves.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add_folder("STACK", "Aligned stack folder")
        self.add_model()
        self.add_backend()
        self.add_tile()
        self.add_threads()
        self.add(QgsProcessingParameterRasterDestination("OUTPUT", tr("Embedding")), "A GeoTIFF (.tif).")

    def run_engine(self, parameters, context, feedback):
        from ..engine.foundation.embed import embed_stack
        from ..engine.foundation.features import DEFAULT_MODEL

        stack = self.input_folder(parameters, "STACK", context, "stack.json", "an aligned stack folder")
        out = self.output_file(parameters, "OUTPUT", context, ".tif")
        name = embed_stack(stack, self.model_path(parameters, context, DEFAULT_MODEL), out,
                           backend=self.enum_string(parameters, "BACKEND", context),
                           tile=self.parameterAsInt(parameters, "TILE", context), overwrite=True, feedback=feedback,
                           threads=self.threads(parameters, context))
        feedback.pushInfo(tr("Embedding written with backend {0}").format(name))
        return {"OUTPUT": out}

