"""Click-to-mask on a map view: the image encoder runs once per view, the prompt decoder per click.

Geo-SAM's split: `set_image` stretches the view's bands (image.py), resizes it to the model's
img_size and encodes it (skipped when the embedding cache has the view); `predict` turns include /
exclude clicks, a box and the previous mask into a mask at the view's own size in milliseconds.

Backends are named as for the foundation encoders (engine/foundation/model/backend.py): "auto" takes
torch-cuda when a GPU is usable, else ONNX Runtime on the CPU for the decoder (and for GeoSAM's
encoder when its folder ships onnx/encoder.onnx), else torch on the CPU. The torch backends run the
very module that is exported to ONNX (onnx_export.decoder_module), so both give the same masks and
the same choice between SAM's candidate masks.

Coordinates are continuous pixel positions in the view given to set_image: x = column, y = row,
pixel (r, c) spans [c, c + 1) x [r, r + 1), its centre at (c + 0.5, r + 0.5) (see image.py).
"""

import dataclasses
import os

import numpy as np

from ..core.errors import InputError, MissingDependency
from ..core.runtime import BACKENDS
from ..core.shipped import GEOSAM_MODEL
from .cache import EmbeddingCache
from .image import input_size, prepare, stretch_bands, to_model_xy

NAMES = BACKENDS  # the one list (engine.operations)
DEFAULT_SAM_MODEL = GEOSAM_MODEL
CHECKPOINT_EXTS = (".pth", ".pt", ".safetensors")
GET_MODEL = ("train the shipped model with `python -m engine sam-train` (it writes models/mpm-geosam-v2), "
             "or choose an official SAM checkpoint you downloaded (sam_vit_b_01ec64.pth, sam_vit_l_0b3195.pth "
             "or sam_vit_h_4b8939.pth)")


@dataclasses.dataclass
class Prediction:
    """One mask for the view: mask = logits > 0 (SAM's threshold), at the view's (H, W)."""

    mask: np.ndarray            # bool (H, W)
    score: float                # the decoder's predicted IoU
    low_res_logits: np.ndarray  # float32 (1, 1, 4e, 4e): pass as mask_input to refine with the next click
    logits: np.ndarray          # float32 (H, W)
    snapped: bool = False       # mask grown / trimmed to the image's edges (extract.predict(snap=True))
    path: np.ndarray = None     # (N, 2) row, col of a traced line (trace.py; extract.predict for line types)
    method: str = "decoder"     # "decoder" (SAM's mask), "trace:<channel>" (a line traced on the view) or
    #                             "box" (a body framed by a box, box.py; extract.predict(snap=True))


def _has(mod):
    try:
        __import__(mod)
        return True
    except ImportError:
        return False


def _cuda():
    if not _has("torch"):
        return False
    import torch

    return torch.cuda.is_available()


def _sha256(path):
    from ..foundation.model.weights import sha256_file

    return sha256_file(path)


def _resolve(model):
    """("geosam", card path) or ("official", checkpoint path), or an InputError that says what to do."""
    if model is None:
        from .weights import CARD_NAME

        if not os.path.isfile(os.path.join(DEFAULT_SAM_MODEL, CARD_NAME)):
            raise InputError("no SAM model is configured and the shipped GeoSAM model "
                             f"'{os.path.relpath(DEFAULT_SAM_MODEL, os.path.dirname(os.path.dirname(DEFAULT_SAM_MODEL)))}' "
                             "is not installed", fix=GET_MODEL)
        model = DEFAULT_SAM_MODEL
    path = os.fspath(model)
    if not path.strip():
        raise InputError("no SAM model is configured", fix=GET_MODEL)
    if not os.path.exists(path):
        raise InputError(f"SAM model '{path}' not found",
                         fix="choose a GeoSAM model folder (holding model_card.json) or an official SAM checkpoint "
                             "file (.pth / .safetensors); or " + GET_MODEL)
    if os.path.isdir(path) or path.endswith(".json"):
        return "geosam", path
    from .weights import CARD_NAME, WEIGHTS_NAME

    if os.path.basename(path) == WEIGHTS_NAME and os.path.isfile(os.path.join(os.path.dirname(path), CARD_NAME)):
        return "geosam", os.path.dirname(path)  # the weights file of a GeoSAM folder
    if path.lower().endswith(CHECKPOINT_EXTS):
        return "official", path
    raise InputError(f"'{path}' is neither a GeoSAM model folder nor a SAM checkpoint",
                     fix="choose a folder holding model_card.json, or a .pth / .safetensors SAM checkpoint")


def _session(path, threads):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads or 0)
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # clicks come one at a time between UI events: idle threads spinning would only steal the cores
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


class StructurePredictor:
    """SAM on map views. model: a GeoSAM folder / card or its open_geosam handle (default: the shipped models/mpm-geosam-v2)
    or an official SAM checkpoint (.pth / .safetensors, vit_b / l / h read off the weights).
    backend: "auto" | "torch-cuda" | "torch-cpu" | "onnx-cpu". threads: CPU threads (None = library
    default). cache: an EmbeddingCache (None = the default memory + disk cache, False = none).
    cache_dir: the cache root (None = engine.core.runtime.cache_dir(), i.e. MPM_CACHE_DIR or
    ~/.cache/mpm-studio): the default cache's embeddings go under its sam/embeddings, and a decoder
    exported for a model without one under sam/<sha256>, so the panel's cache folder holds both."""

    def __init__(self, model=None, backend="auto", threads=None, cache=None, cache_dir=None):
        if backend not in NAMES:
            raise InputError(f"unknown backend '{backend}'", fix=f"use one of {', '.join(NAMES)}")
        from .weights import ModelCard, open_geosam

        self.source, self.path = ("geosam", model.folder) if isinstance(model, ModelCard) else _resolve(model)
        self.threads = threads
        self.cache_dir = os.fspath(cache_dir) if cache_dir else None
        if cache is None:
            cache = EmbeddingCache(disk_dir=os.path.join(self.cache_dir, "sam", "embeddings") if self.cache_dir else None)
        self.cache = cache or None
        self.encoder_calls = 0
        self.notes = []
        self._sam = None
        self._sha = None
        self._emb = self._emb_t = self._orig_hw = None
        self._enc_sess = self._dec_sess = self._multi_sess = self._enc_path = None
        self._enc_mod = self._dec_mod = self._multi_mod = None
        self.card = self.model_card = None
        if self.source == "official":
            from .modeling import load_official

            self._sam = load_official(self.path)
            self.name = os.path.basename(self.path)
        else:  # the card read once; the handle is what loads the weights later
            self.model_card = open_geosam(model if isinstance(model, ModelCard) else self.path)
            self.card = self.model_card.card
            self.name = self.model_card.name
            self._sha = self.model_card.sha256
        self.backend = self._choose(backend)
        self._setup()

    # -- model facts ---------------------------------------------------------------------------
    @property
    def kind(self):
        return self._sam.kind if self._sam is not None else "geosam"

    @property
    def model_sha(self):
        """sha256 of the weights (GeoSAM: from its card; official: of the checkpoint, computed once)."""
        if self._sha is None:
            self._sha = _sha256(self.path)
        return self._sha

    def _torch_model(self):
        if self._sam is None:
            if not _has("torch"):
                raise MissingDependency("this step needs PyTorch (the model folder has no usable ONNX file for it)",
                                        fix="install torch, or copy the model folder with its onnx/ files "
                                            "(engine.structures.onnx_export.export_model_folder writes them)")
            from .weights import load_geosam

            self._sam = load_geosam(self.model_card)
        return self._sam

    # -- backend -------------------------------------------------------------------------------
    def _choose(self, name):
        if name == "auto":
            if _cuda():
                return "torch-cuda"
            if _has("onnxruntime"):
                return "onnx-cpu"
            if _has("torch"):
                return "torch-cpu"
            raise MissingDependency("the structure extractor needs onnxruntime or torch",
                                    fix="install onnxruntime (CPU) or torch into QGIS's Python")
        if name == "torch-cuda" and not _cuda():
            raise MissingDependency("backend 'torch-cuda' asked for, but no CUDA GPU is usable by torch",
                                    fix="choose 'auto', 'onnx-cpu' or 'torch-cpu', or install a CUDA build of torch")
        if name.startswith("torch") and not _has("torch"):
            raise MissingDependency(f"backend '{name}' needs PyTorch", fix="install torch, or choose 'onnx-cpu'")
        if name == "onnx-cpu" and not _has("onnxruntime"):
            raise MissingDependency("backend 'onnx-cpu' needs onnxruntime", fix="install onnxruntime, or choose 'torch-cpu'")
        return name

    def _card_onnx(self, name):
        """Path of the card's ONNX file `name` when it is there and matches its recorded sha256."""
        entry = (self.card or {}).get("onnx", {}).get(name)
        if not entry:
            return None
        p = os.path.join(self.model_card.folder, entry["file"])
        if not os.path.isfile(p):
            self.notes.append(f"{entry['file']} named by the model card is missing")
            return None
        if _sha256(p) != entry.get("sha256"):
            self.notes.append(f"{entry['file']} does not match the sha256 in the model card; not used")
            return None
        return p

    def _decoder_session(self, multimask=False):
        """ONNX decoder: the model folder's verified file, else one exported once into the cache."""
        from .onnx_export import DECODER_FILE, DECODER_MULTI_FILE, export_decoder

        name, fname = ("decoder_multimask", DECODER_MULTI_FILE) if multimask else ("decoder", DECODER_FILE)
        p = self._card_onnx(name)
        if p is not None:
            return _session(p, self.threads)
        from ..core.runtime import cache_dir

        p = os.path.join(self.cache_dir or cache_dir(), "sam", self.model_sha, fname)
        if os.path.isfile(p):
            try:
                return _session(p, self.threads)
            except Exception:  # a damaged cache file: export it again
                self.notes.append(f"cached {fname} was unreadable; exported again")
        sam = self._torch_model()
        from .onnx_export import base_metadata

        meta = base_metadata(sam, self.model_sha)
        meta["name"] = self.name
        export_decoder(sam, p, meta, return_single_mask=not multimask)
        return _session(p, self.threads)

    def _setup(self):
        import importlib

        if self.backend == "onnx-cpu":
            ort = importlib.import_module("onnxruntime")
            self._ort_text = f"onnx-cpu (onnxruntime {ort.__version__}, {self.threads or os.cpu_count()} threads)"
            enc = self._card_onnx("encoder") if self.source == "geosam" else None
            if enc is not None:
                self._enc_sess, self._enc_path = _session(enc, self.threads), enc
            self._dec_sess = self._decoder_session()
        if self._enc_sess is None or self.backend != "onnx-cpu":
            self._setup_torch()
        self._read_facts()

    def _setup_torch(self):
        sam = self._torch_model()
        import torch

        from .onnx_export import decoder_module, encoder_module

        if self.threads and self.backend != "torch-cuda":
            torch.set_num_threads(int(self.threads))  # process-wide: torch has no per-model setting
        self.device = torch.device("cuda" if self.backend == "torch-cuda" else "cpu")
        sam.to(self.device)
        self._enc_mod = encoder_module(sam).to(self.device)
        if self._dec_sess is None:
            self._dec_mod = decoder_module(sam, True).to(self.device)

    def _read_facts(self):
        if self._sam is not None:
            sam = self._sam
            self.img_size = int(sam.image_encoder.img_size)
            pe = sam.prompt_encoder
            self.embedding_shape = (1, int(pe.embed_dim)) + tuple(int(v) for v in pe.image_embedding_size)
            self.pixel_mean = [float(v) for v in sam.pixel_mean.flatten().cpu()]
            self.mask_threshold = float(sam.mask_threshold)
        else:  # ONNX only: the files describe themselves
            from .onnx_export import read_metadata

            meta = read_metadata(self._enc_path)
            self.img_size = int(meta["img_size"])
            self.embedding_shape = tuple(meta["embedding_shape"])
            self.pixel_mean = list(meta["pixel_mean"])
            self.mask_threshold = float(meta["mask_threshold"])

    def _torch_text(self):
        import torch

        if self.backend == "torch-cuda":
            return f"torch-cuda ({torch.cuda.get_device_name(self.device)}, torch {torch.__version__})"
        return f"torch-cpu (torch {torch.__version__}, {torch.get_num_threads()} threads)"

    @property
    def encoder_backend(self):
        return "onnx-cpu" if self._enc_sess is not None else ("torch-cuda" if self.backend == "torch-cuda" else "torch-cpu")

    @property
    def decoder_backend(self):
        return "onnx-cpu" if self._dec_sess is not None else self.backend

    def describe(self):
        """One line: which model, and what runs the encoder and the decoder."""
        enc = self._ort_text if self._enc_sess is not None else self._torch_text()
        dec = self._ort_text if self._dec_sess is not None else self._torch_text()
        where = f"encoder {enc}, decoder {dec}" if enc != dec else f"{enc}"
        return f"SAM {self.kind} '{self.name}' (img_size {self.img_size}): {where}"

    # -- image ---------------------------------------------------------------------------------
    def key_for(self, **parts):
        """Embedding-cache key for a view of this model: pass the raster (cache.file_parts), bands,
        window / extent and output size."""
        return EmbeddingCache.key_for(model_sha=self.model_sha, kind=self.kind, img_size=self.img_size, **parts)

    def _encode(self, x):
        self.encoder_calls += 1
        if self._enc_sess is not None:
            return self._enc_sess.run(None, {"image": x})[0].astype(np.float32)
        import torch

        with torch.inference_mode():
            return self._enc_mod(torch.from_numpy(x).to(self.device)).float().cpu().numpy()

    def set_image(self, bands, valid=None, key=None):
        """Stretch + encode a (b, H, W) view (b 1..3, NaN or ~valid = nodata); a cache hit by key
        skips the encoder. Returns the embedding."""
        emb, hw = self.embed(bands, valid, key)
        self.set_embedding(emb, hw)
        return emb

    def embed(self, bands, valid=None, key=None):
        """(embedding, (H, W)) of a view without making it current, so a worker thread can encode the
        next view while the clicks still decode on this one (the map tool's background encode)."""
        img3 = stretch_bands(bands, valid)
        emb = self.cache.get(key) if (key and self.cache is not None) else None
        if emb is not None and tuple(emb.shape) != tuple(self.embedding_shape):
            emb = None
        if emb is None:
            x, _ = prepare(img3, self.img_size, pad_value=self.pixel_mean)
            emb = self._encode(x)
            if key and self.cache is not None:
                self.cache.put(key, emb)
        return emb, img3.shape[1:]

    def set_embedding(self, embedding, orig_hw):
        """Use an embedding computed before (e.g. taken from the cache) for a view of orig_hw pixels."""
        emb = np.ascontiguousarray(embedding, dtype=np.float32)
        if tuple(emb.shape) != tuple(self.embedding_shape):
            raise InputError(f"embedding of shape {emb.shape} does not fit this model ({self.embedding_shape})",
                             fix="encode the view with this model (set_image)")
        self._emb, self._orig_hw = emb, (int(orig_hw[0]), int(orig_hw[1]))
        self._emb_t = None
        if self._dec_mod is not None:
            import torch

            self._emb_t = torch.from_numpy(emb).to(self.device)

    @property
    def embedding(self):
        """float32 (1, C, e, e) of the current view, or None."""
        return self._emb

    @property
    def orig_hw(self):
        return self._orig_hw

    @property
    def input_hw(self):
        return input_size(self._orig_hw, self.img_size) if self._orig_hw else None

    # -- prompts -------------------------------------------------------------------------------
    def _inputs(self, points, labels, box, mask_input):
        if self._emb is None:
            raise InputError("no view is set", fix="call set_image with the view's bands before clicking")
        H, W = self._orig_hw
        lo = 4 * int(self.embedding_shape[2])
        coords, labs = np.zeros((0, 2), np.float32), np.zeros(0, np.float32)
        if points is not None and len(points):
            pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
            if labels is None:
                raise InputError("clicks given without labels", fix="give one label per click: 1 include, 0 exclude")
            lab = np.asarray(labels).reshape(-1)
            if lab.shape[0] != pts.shape[0]:
                raise InputError(f"{pts.shape[0]} clicks but {lab.shape[0]} labels", fix="give one label per click")
            if not np.isin(lab, (0, 1)).all():
                raise InputError(f"click labels must be 1 (include) or 0 (exclude), got {sorted(set(lab.tolist()))}",
                                 fix="use 1 for include and 0 for exclude clicks")
            out = ~np.isfinite(pts).all(1) | (pts[:, 0] < 0) | (pts[:, 0] > W) | (pts[:, 1] < 0) | (pts[:, 1] > H)
            if out.any():
                raise InputError(f"click {pts[out][0].tolist()} lies outside the view ({W} x {H} pixels)",
                                 fix="click inside the view, in pixel coordinates x = column, y = row")
            coords, labs = to_model_xy(pts, (H, W), self.img_size), lab.astype(np.float32)
        if box is not None:
            b = np.asarray(box, dtype=np.float64).reshape(-1)
            if b.shape[0] != 4 or not np.isfinite(b).all():
                raise InputError(f"box must be 4 numbers x0, y0, x1, y1, got {b.tolist()}", fix="drag a box in the view")
            x0, x1 = np.clip(sorted(b[[0, 2]]), 0, W)
            y0, y1 = np.clip(sorted(b[[1, 3]]), 0, H)
            if x1 <= x0 or y1 <= y0:
                raise InputError("the box is empty or outside the view", fix="drag a box over the structure")
            corners = to_model_xy(np.array([[x0, y0], [x1, y1]]), (H, W), self.img_size)
            coords = np.concatenate([coords, corners])
            labs = np.concatenate([labs, np.array([2, 3], np.float32)])
        elif len(labs) == 0:
            raise InputError("no prompt given", fix="click on the structure (include) or drag a box around it")
        else:  # SAM's ONNX convention: without a box, one padding point
            coords = np.concatenate([coords, np.zeros((1, 2), np.float32)])
            labs = np.concatenate([labs, np.array([-1], np.float32)])
        if mask_input is None:
            mask, has = np.zeros((1, 1, lo, lo), np.float32), np.zeros(1, np.float32)
        else:
            mask = np.asarray(mask_input, dtype=np.float32)
            if mask.size != lo * lo:
                raise InputError(f"mask_input of shape {mask.shape} does not fit ({lo} x {lo} low-resolution logits)",
                                 fix="pass the low_res_logits of a previous prediction on the same view")
            mask, has = mask.reshape(1, 1, lo, lo), np.ones(1, np.float32)
        return {"image_embeddings": self._emb, "point_coords": coords[None].astype(np.float32),
                "point_labels": labs[None].astype(np.float32), "mask_input": np.ascontiguousarray(mask),
                "has_mask_input": has, "orig_im_size": np.array([H, W], np.float32)}

    def _decode(self, feed, multimask):
        if self._dec_sess is not None:
            sess = self._dec_sess
            if multimask:
                if self._multi_sess is None:
                    self._multi_sess = self._decoder_session(multimask=True)
                sess = self._multi_sess
            return sess.run(None, feed)
        import torch

        from .onnx_export import decoder_module

        mod = self._dec_mod
        if multimask:
            if self._multi_mod is None:
                self._multi_mod = decoder_module(self._sam, False).to(self.device)
            mod = self._multi_mod
        args = [self._emb_t] + [torch.from_numpy(feed[k]).to(self.device) for k in
                                ("point_coords", "point_labels", "mask_input", "has_mask_input", "orig_im_size")]
        with torch.inference_mode():
            return [t.float().cpu().numpy() for t in mod(*args)]

    def predict(self, points=None, labels=None, box=None, mask_input=None, multimask=False):
        """Mask for the clicks (N, 2) x, y pixels with labels 1 include / 0 exclude and / or a box
        (x0, y0, x1, y1); mask_input = a previous Prediction's low_res_logits, so the next click
        refines that mask. One Prediction, or with multimask=True SAM's 3 candidates, best first."""
        feed = self._inputs(points, labels, box, mask_input)
        masks, scores, low = self._decode(feed, multimask)
        order = [0] if not multimask else [int(i) + 1 for i in np.argsort(-scores[0, 1:], kind="stable")]
        preds = []
        for i in order:
            logits = np.ascontiguousarray(masks[0, i], dtype=np.float32)
            preds.append(Prediction(mask=logits > self.mask_threshold, score=float(scores[0, i]),
                                    low_res_logits=np.ascontiguousarray(low[:, i:i + 1], dtype=np.float32),
                                    logits=logits))
        return preds if multimask else preds[0]
