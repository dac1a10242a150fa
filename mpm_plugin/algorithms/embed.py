"""mpm:embed: the engine's embed.embed_stack (fused foundation embedding GeoTIFF) as a Processing algorithm."""

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

    def run_engine(self, parameters, context, feedback):
        values, name = self.run_operation(parameters, context, feedback)
        feedback.pushInfo(tr("Embedding written with backend {0}").format(name))
        return {"OUTPUT": values["out_path"]}
