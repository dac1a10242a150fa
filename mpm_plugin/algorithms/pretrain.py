"""mpm:pretrain: label-free pretraining of the foundation encoders (mirrors `python -m engine pretrain`)."""

import json
import os

from qgis.core import QgsCoordinateReferenceSystem, QgsProcessingException, QgsProcessingOutputFile

from ..i18n import tr
from .base import EngineAlgorithm


def stack_folders(entries):
    """STACKS entries -> aligned stack folders, in order, without repeats.

    An entry is a stack folder or any file inside one (e.g. the 'Aligned stack' raster output of
    mpm:alignstack, which the modeler can connect); one entry may also hold several, separated by ';'.
    """
    folders = []
    for entry in entries:
        for path in (p.strip() for p in str(entry).split(";")):
            if not path:
                continue
            folder = path if os.path.isdir(path) else os.path.dirname(path)
            if not os.path.exists(os.path.join(folder, "stack.json")):
                raise QgsProcessingException(tr("STACKS: '{0}' is not an aligned stack folder, nor a file in one "
                                                "(no stack.json)").format(path))
            if folder not in folders:
                folders.append(folder)
    return folders


class PretrainAlgorithm(EngineAlgorithm):
    NAME = "pretrain"
    DISPLAY = "Pretrain foundation encoders"
    GROUP = ("foundation", "Foundation model")
    HELP = ("Pretrains the per-source foundation encoders without labels (deposits are never read): stage 1 "
            "reconstructs hidden patches of each source from the rest of that source, stage 2 reconstructs one "
            "source from the others through the fusion. Learns from tiles of your aligned stacks and/or seeded "
            "synthetic scenes. Stacks: one or more aligned stack folders, or any file inside one (such as the "
            "stack.tif an Align evidence stack step outputs: in the modeler, connect the 'Aligned stack' outputs "
            "of as many align steps as you like). The output folder gets weights.safetensors, "
            "model_card.json, MODEL_CARD.md, loss curves and a checkpoint; re-running into the same folder resumes "
            "from the checkpoint. To adapt an existing model to your area (much faster than from scratch), give it as "
            "the model to start from. Use the folder as MODEL in the other MPM Studio tools. Needs PyTorch; a GPU "
            "is used when there is one.")

    KEEP_IF = "checkpoint.pt"

    def add_outputs(self):
        self.addOutput(QgsProcessingOutputFile("MODEL_CARD", tr("Model card (model_card.json)")))
        self.addOutput(QgsProcessingOutputFile("LOSSES", tr("Loss curves (PNG)")))

    def read(self, p, parameters, context, feedback):
        if p.name == "stacks":
            return stack_folders(self.parameterAsFileList(parameters, "STACKS", context))
        if p.name == "exclude_bounds":  # in each stack's own CRS
            folders = stack_folders(self.parameterAsFileList(parameters, "STACKS", context))
            return {f: self._exclude_bounds(parameters, context, f) for f in folders}
        return super().read(p, parameters, context, feedback)

    def run_engine(self, parameters, context, feedback):
        values, summary = self.run_operation(parameters, context, feedback)
        if summary.get("onnx"):
            feedback.pushInfo(tr("ONNX files: {0}").format(", ".join(sorted(summary["onnx"].values()))))
        feedback.pushInfo(tr("Final losses: {0}").format(json.dumps(summary["final_losses"])))
        return {"OUTPUT": values["out"], "MODEL_CARD": summary["card"], "LOSSES": summary["losses_png"]}

    def _exclude_bounds(self, parameters, context, folder):
        """The held-out extent in the stack's CRS, as (xmin, ymin, xmax, ymax), or None."""
        if not parameters.get("EXCLUDE_EXTENT"):
            return None
        with open(os.path.join(folder, "stack.json")) as f:
            crs_text = json.load(f)["grid"]["crs"]
        crs = QgsCoordinateReferenceSystem(crs_text)
        rect = self.parameterAsExtent(parameters, "EXCLUDE_EXTENT", context, crs)
        if rect.isNull() or rect.width() <= 0:
            return None
        return [rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()]
