"""What a head folder and a prediction folder hold, named here only, and the Prediction handle.

fine-tune writes the head's files (engine.prospectivity.head, whose open_head gives the head's ModelCard),
predict writes the prediction's; targets and the plugin (the Processing outputs, the panel) ask for paths
here instead of spelling the file names. Light on purpose (no numpy, no rasterio): the panel imports it
to find results.
"""

import json
import os

HEAD_CARD = "head_card.json"  # also what makes a folder a head
HEAD_WEIGHTS = "head.safetensors"

PREDICTION_SUMMARY = "predict.json"
RASTERS = {"prospectivity": "prospectivity.tif", "uncertainty": "uncertainty.tif",
           "contributions": "contributions.tif", "coverage": "coverage.tif"}
PREDICTION_MARKER = RASTERS["prospectivity"]  # what makes a folder a prediction


class Prediction:
    """A folder written by engine.prospectivity.predict (or being written: the same names in its temporary folder)."""

    def __init__(self, folder):
        self.folder = os.fspath(folder)
        self._summary = None

    def __repr__(self):
        return f"Prediction({self.folder!r})"

    def path(self, role):
        """The raster of `role` (a key of RASTERS), whether or not it is there."""
        return os.path.join(self.folder, RASTERS[role])

    def existing(self, *roles):
        """{role: path} of the rasters of `roles` (default: all) that are there (contributions is optional)."""
        return {r: self.path(r) for r in roles or RASTERS if os.path.exists(self.path(r))}

    @property
    def summary_path(self):
        return os.path.join(self.folder, PREDICTION_SUMMARY)

    @property
    def summary(self):
        """predict.json, read once; {} when it is missing or unreadable (a prediction of an older engine)."""
        if self._summary is None:
            try:
                with open(self.summary_path) as f:
                    self._summary = json.load(f)
            except (OSError, ValueError):
                self._summary = {}
            if not isinstance(self._summary, dict):
                self._summary = {}
        return self._summary

    @property
    def head(self):
        """The folder of the head that made this prediction (from predict.json), or None."""
        card = self.summary.get("head")
        return os.path.dirname(card) if card else None
