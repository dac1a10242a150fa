"""Where embeddings are computed: torch on a GPU, ONNX Runtime on a CPU, torch on a CPU.

"auto" prefers CUDA when present (far faster), else ONNX Runtime (faster than eager torch on
small CPUs, and needs no torch at all once the .onnx files exist), else torch on the CPU.
Backends are cached per model and settings, so ONNX sessions are created once and reused.
"""

import contextlib
import os
import tempfile

import numpy as np

from ...core.errors import InputError, MissingDependency, MPMError
from ...core.runtime import BACKENDS
from ...core.progress import Steps
from .config import ModelConfig
from .weights import ModelCard, open_model
from ...data.vocab import VOCAB, layer_ids, source_id

NAMES = BACKENDS  # the one list (engine.operations)
_CACHE = {}


def _entry_arrays(entry):
    if isinstance(entry, (tuple, list)):
        x, ids = entry[0], entry[1]
        valid = entry[2] if len(entry) > 2 else None
    else:
        x, ids, valid = entry["x"], entry["ids"], entry.get("valid")
    x = np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=np.float32)
    ids = np.asarray(ids.detach().cpu().numpy() if hasattr(ids, "detach") else ids, dtype=np.int64).reshape(-1)
    if x.ndim != 4 or x.shape[1] != ids.shape[0]:
        raise InputError(
            f"window array of shape {x.shape} does not match {ids.shape[0]} layer ids",
            fix="pass x as (batch, layers, height, width) with one layer id per layer",
        )
    v = np.isfinite(x)
    if valid is not None:
        valid = valid.detach().cpu().numpy() if hasattr(valid, "detach") else valid
        v &= np.asarray(valid) > 0
    return np.where(v, x, 0.0).astype(np.float32), v.astype(np.float32), ids


class _Base:
    name = "?"

    def __init__(self, config, sources, vocab):
        self.config = config
        self.sources = list(sources)
        self.vocab = tuple(vocab)

    def layer_ids(self, names, source):
        """Ids in this model's vocabulary, plus names that fell back to 'unknown_<source>'."""
        return layer_ids(names, source, self.vocab)

    def _check_sources(self, batch):
        foreign = [s for s in batch if s not in self.sources]
        if foreign:
            raise InputError(
                f"this model has no encoder for source(s) {', '.join(foreign)}",
                fix=f"use sources the model was pretrained on ({', '.join(self.sources)})",
            )
        if not batch:
            raise InputError("the batch holds no source", fix="pass at least one source's layers")

    def embed(self, batch, return_present=False):
        """batch {source: {"x": (B, C, H, W) NaN = invalid, "ids": (C,)}} -> fused (B, N, D) numpy."""
        raise NotImplementedError

    def describe(self):
        return self.name


class TorchBackend(_Base):
    def __init__(self, model, device="cpu", threads=None):
        import torch

        super().__init__(model.config, model.sources, getattr(model, "vocab", VOCAB))
        if threads:
            torch.set_num_threads(int(threads))  # process-wide: torch has no per-model setting
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.name = "torch-cuda" if self.device.type == "cuda" else "torch-cpu"
        self.threads = torch.get_num_threads()

    def embed(self, batch, return_present=False):
        import torch

        self._check_sources(batch)
        with torch.inference_mode():
            fused, present = self.model.embed(batch, return_present=True)
        fused = fused.float().cpu().numpy()
        return (fused, present.cpu().numpy()) if return_present else fused

    def describe(self):
        import torch

        if self.device.type == "cuda":
            return f"torch-cuda ({torch.cuda.get_device_name(self.device)}, torch {torch.__version__})"
        return f"torch-cpu (torch {torch.__version__}, {self.threads} threads)"


@contextlib.contextmanager
def _unreadable_onnx(path):
    """A damaged ONNX file (even one whose sha256 its card lists) is named, not a protobuf traceback."""
    try:
        yield
    except (MPMError, ImportError):
        raise
    except Exception as exc:  # noqa: BLE001 (onnx / onnxruntime raise their own types)
        raise InputError(f"the ONNX file '{path}' cannot be read ({str(exc).strip()[:160]})",
                         fix="copy the model folder again, or delete its onnx/ folder and the model card's "
                             "'onnx' entry so that the files are exported afresh (needs torch), or use a torch backend") from exc


def _session(ort, path, opts, providers):
    with _unreadable_onnx(path):
        return ort.InferenceSession(path, opts, providers=providers)


class OnnxBackend(_Base):
    name = "onnx-cpu"

    def __init__(self, paths, threads=None):
        try:
            import onnxruntime as ort
        except ImportError:
            raise MissingDependency("the onnx-cpu backend needs onnxruntime",
                                    fix="install onnxruntime, or choose the torch-cpu backend") from None
        import json

        from .onnx_export import read_metadata

        with _unreadable_onnx(paths["fusion"]):
            meta = read_metadata(paths["fusion"])
        config = ModelConfig.from_dict(meta["config"] if isinstance(meta["config"], dict) else json.loads(meta["config"]))
        super().__init__(config, meta["sources"], meta["layer_vocabulary"])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(threads or 0)  # 0 = onnxruntime's default (all cores)
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One session per source runs back to back: idle pools spinning for work would steal the
        # cores from the next session (measured 2x slower on 2 cores with spinning on).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.threads = threads or os.cpu_count()
        self.ort_version = ort.__version__
        prov = ["CPUExecutionProvider"]
        missing = [s for s in self.sources if s not in paths]
        if missing:
            raise InputError(f"ONNX files for source(s) {', '.join(missing)} are missing",
                             fix="re-export the model (engine.foundation.model.onnx_export.export_onnx)")
        self.sessions = {s: _session(ort, paths[s], opts, prov) for s in self.sources}
        self.fusion = _session(ort, paths["fusion"], opts, prov)
        self.paths = dict(paths)

    def embed(self, batch, return_present=False):
        self._check_sources(batch)
        names = [s for s in self.sources if s in batch]
        toks, pres = [], []
        for s in names:
            x, v, ids = _entry_arrays(batch[s])
            t, p = self.sessions[s].run(None, {"x": x, "valid": v, "layer_ids": ids})
            toks.append(t)
            pres.append(p)
        tokens = np.stack(toks, 1)
        present = np.stack(pres, 1)
        sids = np.array([source_id(s) for s in names], np.int64)
        fused = self.fusion.run(None, {"tokens": tokens, "present": present, "source_ids": sids})[0]
        return (fused, present.max(1) > 0) if return_present else fused

    def describe(self):
        return f"onnx-cpu (onnxruntime {self.ort_version}, {self.threads} threads)"


def _has_torch():
    try:
        import torch  # noqa: F401

        return True
    except ImportError:
        return False


def _cuda_available():
    if not _has_torch():
        return False
    import torch

    return torch.cuda.is_available()


def _has_ort():
    try:
        import onnxruntime  # noqa: F401

        return True
    except ImportError:
        return False


def _onnx_paths(handle, model, onnx_dir, steps):
    """Verified ONNX files listed in the card (handle: the open ModelCard, or None for a model object),
    else a fresh export (needs torch)."""
    from .weights import sha256_file

    card = handle.card if handle is not None else None
    if card is not None and card.get("onnx"):
        folder = os.path.dirname(card["_path"])
        paths, ok = {}, True
        for k, e in card["onnx"].items():
            p = os.path.join(folder, e["file"])
            if not os.path.isfile(p) or sha256_file(p) != e.get("sha256"):
                ok = False
                break
            paths[k] = p
        if ok:
            return paths
        steps.info("ONNX files listed in the model card are missing or changed; exporting them again")
    if not _has_torch():
        raise MissingDependency("no usable ONNX files for this model and no torch to export them",
                                fix="copy the model folder including its onnx/ files, or install torch")
    from .onnx_export import export_onnx
    from .weights import load_model

    if model is None:
        model = load_model(handle)
    if onnx_dir is not None:
        return export_onnx(model, onnx_dir)
    return _cached_export(model, card, steps)


def _cached_export(model, card, steps):
    """ONNX files of `model` in the embedding cache (engine.core.runtime.cache_dir), exported once per model.

    Never into the model folder: a shipped or shared model (maybe with a damaged file) stays as it
    was, and a read-only one needs no stray temporary folder."""
    import hashlib
    import json
    import shutil

    from ...core.runtime import cache_dir
    from .onnx_export import OPSET, export_onnx
    from .weights import sha256_file

    key = (card or {}).get("sha256") or getattr(model, "card", {}).get("sha256")
    if not key:  # a model object without a card: its tensors are its identity
        h = hashlib.sha256()
        for name, t in sorted(model.state_dict().items()):
            h.update(name.encode())
            h.update(t.detach().cpu().numpy().tobytes())
        key = h.hexdigest()
    root = os.path.join(cache_dir(), "onnx")
    folder = os.path.join(root, f"{key[:24]}-opset{OPSET}")
    index = os.path.join(folder, "files.json")
    if os.path.exists(index):
        with open(index) as f:
            files = json.load(f)
        paths = {k: os.path.join(folder, e["file"]) for k, e in files.items()}
        if all(os.path.isfile(p) and sha256_file(p) == files[k]["sha256"] for k, p in paths.items()):
            return paths
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(folder)}.", suffix=".partial", dir=root)
    try:
        made = export_onnx(model, tmp)
        with open(os.path.join(tmp, "files.json"), "w") as f:
            json.dump({k: {"file": os.path.basename(p), "sha256": sha256_file(p)} for k, p in made.items()}, f)
        shutil.rmtree(folder, ignore_errors=True)  # a damaged earlier export
        try:
            os.rename(tmp, folder)
        except OSError:  # another process exported it meanwhile: theirs is as good
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    steps.info(f"ONNX files exported to the cache: {folder}")
    return {k: os.path.join(folder, os.path.basename(p)) for k, p in made.items()}


def select_backend(model, name="auto", threads=None, feedback=None, onnx_dir=None, cache=True):
    """Backend for `model` (a model card path / folder, an open ModelCard, or a FoundationModel).

    name: "auto" | "torch-cuda" | "torch-cpu" | "onnx-cpu". threads: intra-op threads for the
    CPU backends (None = library default). Reports the choice through feedback.pushInfo.
    """
    steps = Steps(feedback)
    if name not in NAMES:
        raise InputError(f"unknown backend '{name}'", fix=f"use one of {', '.join(NAMES)}")
    card, obj, handle = None, None, None
    if isinstance(model, (str, os.PathLike, ModelCard)):
        handle = open_model(model)
        card = handle.card
        key = (card["_path"], card.get("sha256"), name, threads, onnx_dir)
    else:
        obj = model
        key = (id(model), name, threads, onnx_dir)
    if cache and key in _CACHE and (obj is None or _CACHE[key][0] is obj):
        backend = _CACHE[key][1]
        steps.info(f"Embedding backend: {backend.describe()} (reused)")
        return backend

    chosen = name
    if name == "auto":
        if _cuda_available():
            chosen = "torch-cuda"
        elif _has_ort():
            chosen = "onnx-cpu"
        elif _has_torch():
            chosen = "torch-cpu"
        else:
            raise MissingDependency("computing embeddings needs onnxruntime or torch",
                                    fix="install onnxruntime (CPU) or torch into QGIS's Python")
    if chosen == "torch-cuda" and not _cuda_available():
        raise MissingDependency("backend 'torch-cuda' asked for, but no CUDA GPU is usable by torch",
                                fix="choose 'auto', 'onnx-cpu' or 'torch-cpu', or install a CUDA build of torch")
    if chosen in ("torch-cuda", "torch-cpu"):
        if not _has_torch():
            raise MissingDependency(f"backend '{chosen}' needs PyTorch", fix="install torch or choose 'onnx-cpu'")
        if obj is None:
            from .weights import load_model

            obj = load_model(handle)
        backend = TorchBackend(obj, "cuda" if chosen == "torch-cuda" else "cpu", threads)
    else:
        if not _has_ort():
            raise MissingDependency("backend 'onnx-cpu' needs onnxruntime", fix="install onnxruntime or choose 'torch-cpu'")
        paths = _onnx_paths(handle, obj, onnx_dir, steps)
        backend = OnnxBackend(paths, threads)
    reason = " (auto)" if name == "auto" else ""
    steps.info(f"Embedding backend: {backend.describe()}{reason}")
    if cache:
        _CACHE[key] = (obj, backend)
    return backend


def clear_cache():
    _CACHE.clear()
