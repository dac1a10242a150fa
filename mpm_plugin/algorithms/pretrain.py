"""mpm:pretrain: label-free pretraining of the foundation encoders (mirrors `python -m engine pretrain`)."""

import json
import os

from qgis.core import (QgsCoordinateReferenceSystem, QgsProcessing, QgsProcessingException, QgsProcessingOutputFile,
                       QgsProcessingParameterBoolean, QgsProcessingParameterExtent, QgsProcessingParameterFile,
                       QgsProcessingParameterFolderDestination, QgsProcessingParameterMultipleLayers,
                       QgsProcessingParameterNumber)

from ..i18n import tr
from .base import EngineAlgorithm

DEVICES = ("auto", "cpu", "cuda")
TOKEN_MODES = ("default", "layer", "patch")


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

    def initAlgorithm(self, config=None):  # noqa: N802
        self.add(QgsProcessingParameterMultipleLayers("STACKS", tr("Aligned stacks (folders, or their stack.tif)"),
                                                      QgsProcessing.TypeFile, optional=True),
                 "Folders written by Align evidence stack, or a file inside each (stack.tif). qgis_process: repeat "
                 "--STACKS=/data/a/stack --STACKS=/data/b/stack (or join with ';'). Empty: synthetic scenes only.")
        self.add(QgsProcessingParameterNumber("SYNTHETIC", tr("Synthetic scenes to add"),
                                              QgsProcessingParameterNumber.Integer, 0, minValue=0))
        self.add(QgsProcessingParameterFile("INIT_MODEL", tr("Start from foundation model (empty: random weights)"),
                                            behavior=QgsProcessingParameterFile.Folder, optional=True),
                 "Adapt a pretrained model (the shipped one, or one you pretrained) to these data instead of "
                 "training from scratch: far fewer steps are needed. Its architecture is kept; sources it lacks "
                 "start fresh, its sources without data here are kept unchanged. A model folder or its "
                 "model_card.json.")
        self.add(QgsProcessingParameterNumber("STEPS1", tr("Stage 1 steps (each source alone)"),
                                              QgsProcessingParameterNumber.Integer, 1000, minValue=0))
        self.add(QgsProcessingParameterNumber("STEPS2", tr("Stage 2 steps (one source from the others)"),
                                              QgsProcessingParameterNumber.Integer, 500, minValue=0))
        self.add(QgsProcessingParameterNumber("BATCH_SIZE", tr("Batch size"), QgsProcessingParameterNumber.Integer, 16,
                                              minValue=1))
        self.add(QgsProcessingParameterNumber("SEED", tr("Random seed"), QgsProcessingParameterNumber.Integer, 0,
                                              minValue=0))
        self.add_enum("DEVICE", "Device", DEVICES, "auto",
                      "Values: auto, cpu, cuda (auto: cuda when a GPU is available, else cpu).")
        self.add(QgsProcessingParameterBoolean("ONNX", tr("Also export the encoders to ONNX (CPU inference)"), False))
        self.add(QgsProcessingParameterBoolean("RESUME", tr("Resume from a checkpoint in the output folder"), True),
                 advanced=True)
        self.add(QgsProcessingParameterNumber("TILE", tr("Stack tile size per scene (pixels)"),
                                              QgsProcessingParameterNumber.Integer, 256, minValue=32), advanced=True)
        self.add(QgsProcessingParameterNumber("MAX_TILES", tr("Tiles per stack (bounds memory)"),
                                              QgsProcessingParameterNumber.Integer, 64, minValue=1), advanced=True)
        self.add(QgsProcessingParameterNumber("SYNTHETIC_SIZE", tr("Synthetic scene size (pixels)"),
                                              QgsProcessingParameterNumber.Integer, 256, minValue=64), advanced=True)
        self.add(QgsProcessingParameterNumber("LAYER_MASKING", tr("Share of stage 1 batches masked per layer (0-1)"),
                                              QgsProcessingParameterNumber.Double, None, optional=True, minValue=0.0,
                                              maxValue=1.0),
                 "0: every batch hides whole patches (all layers of a place). Above 0: that share of the batches "
                 "hides each layer's patches on its own, so the encoder learns to rebuild a layer from the others "
                 "at the same place. Empty: 0.5 as the shipped model was trained (0 for a model with an "
                 "interpolation prior). Sources with one layer always use whole patches.", advanced=True)
        self.add_enum("TOKEN_MODE", "Encoder tokens", TOKEN_MODES, "default",
                      "layer: one token per layer and patch, pooled at the end (keeps each layer's detail; about "
                      "2-4x the compute on sources with 10-20 layers). patch: a patch's layers are pooled into one "
                      "token first (the retired v1 design, cheaper). default: the engine's default, layer tokens as in "
                      "the shipped model. Ignored when adapting "
                      "a model (its architecture is kept).", advanced=True)
        self.add(QgsProcessingParameterExtent("EXCLUDE_EXTENT", tr("Area held out of pretraining (for evaluation)"),
                                              optional=True), "Tiles touching this extent are never seen.", advanced=True)
        self.add(QgsProcessingParameterFolderDestination("OUTPUT", tr("Model folder")),
                 "A new or empty folder, or one holding a checkpoint to resume.")
        self.addOutput(QgsProcessingOutputFile("MODEL_CARD", tr("Model card (model_card.json)")))
        self.addOutput(QgsProcessingOutputFile("LOSSES", tr("Loss curves (PNG)")))

    def run_engine(self, parameters, context, feedback):
        from ..engine.foundation.pretrain_data import pretrain_foundation

        folders = stack_folders(self.parameterAsFileList(parameters, "STACKS", context))
        out = self.output_folder(parameters, "OUTPUT", context, keep_if="checkpoint.pt")
        device = self.enum_string(parameters, "DEVICE", context)
        init_model = self.parameterAsFile(parameters, "INIT_MODEL", context) or None
        token_mode = self.enum_string(parameters, "TOKEN_MODE", context)
        config = None
        if token_mode != "default":
            if init_model:
                feedback.pushWarning(tr("Encoder tokens: ignored, the model to start from keeps its own architecture"))
            else:
                from ..engine.foundation.model.config import ModelConfig

                config = ModelConfig(token_mode=token_mode)
        summary = pretrain_foundation(
            folders, out, synthetic=self.parameterAsInt(parameters, "SYNTHETIC", context),
            synthetic_size=self.parameterAsInt(parameters, "SYNTHETIC_SIZE", context),
            tile=self.parameterAsInt(parameters, "TILE", context), max_tiles=self.parameterAsInt(parameters, "MAX_TILES", context),
            exclude_bounds={f: self._exclude_bounds(parameters, context, f) for f in folders},
            steps1=self.parameterAsInt(parameters, "STEPS1", context), steps2=self.parameterAsInt(parameters, "STEPS2", context),
            batch_size=self.parameterAsInt(parameters, "BATCH_SIZE", context), seed=self.parameterAsInt(parameters, "SEED", context),
            device=None if device == "auto" else device, resume=self.parameterAsBoolean(parameters, "RESUME", context),
            onnx=self.parameterAsBoolean(parameters, "ONNX", context), feedback=feedback,
            init_model=init_model, config=config,
            layer_masking=self._layer_masking(parameters, context))
        if summary.get("onnx"):
            feedback.pushInfo(tr("ONNX files: {0}").format(", ".join(sorted(summary["onnx"].values()))))
        feedback.pushInfo(tr("Final losses: {0}").format(json.dumps(summary["final_losses"])))
        return {"OUTPUT": out, "MODEL_CARD": summary["card"], "LOSSES": summary["losses_png"]}

    def _layer_masking(self, parameters, context):
        """None (the engine's recipe) when left empty: parameterAsDouble would read it as 0."""
        value = parameters.get("LAYER_MASKING")
        if value is None or str(value).strip() == "":
            return None
        return self.parameterAsDouble(parameters, "LAYER_MASKING", context)

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
