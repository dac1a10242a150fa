"""Errors a user can act on: each names the layer, what is wrong and how to fix it."""


class MPMError(Exception):
    """Base class for every error the engine raises on purpose."""

    def __init__(self, what, layer=None, fix=None):
        self.layer = layer
        self.what = what
        self.fix = fix
        parts = []
        if layer:
            parts.append(f"Layer '{layer}': ")
        parts.append(what.rstrip("."))
        parts.append(".")
        if fix:
            parts.append(f" Fix: {fix.rstrip('.')}.")
        super().__init__("".join(parts))


class InputError(MPMError):
    """An input layer or parameter cannot be used as given."""


class OutputError(MPMError):
    """An output cannot be written where the user asked."""


class Cancelled(MPMError):
    """The user cancelled the run; nothing was written."""

    def __init__(self, what="Run cancelled by the user; no output was written"):
        super().__init__(what)


class MissingDependency(MPMError):
    """An optional library (torch, onnxruntime, ...) is not installed."""


class ClusterError(MPMError):
    """A Dask cluster could not be started or reached, or lost its workers."""
