"""Outputs appear whole or not at all: write beside the target, then rename into place."""

import contextlib
import os
import shutil
import tempfile

from .errors import OutputError


def check_output_path(path, overwrite=False, what="output"):
    """Fail early, before any work, when the output cannot be written."""
    path = os.path.abspath(path)
    if os.path.exists(path) and not overwrite:
        raise OutputError(
            f"{what} '{path}' already exists",
            fix="choose another path, delete it, or pass overwrite=True (--overwrite on the command line)",
        )
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        raise OutputError(f"the folder '{parent}' for {what} does not exist", fix="create it or choose another path")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"the folder '{parent}' for {what} is not writable", fix="choose a folder you can write to")
    return path


@contextlib.contextmanager
def atomic_path(path, overwrite=False, directory=False, what="output"):
    """Yield a temporary path next to `path`; on success move it into place, on any error delete it.

    A cancelled or failed run therefore leaves the previous file (or nothing) behind, never a
    half-written one.
    """
    path = check_output_path(path, overwrite, what)
    parent, name = os.path.split(path)
    if directory:
        tmp = tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=parent)
    else:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".partial" + os.path.splitext(name)[1], dir=parent)
        os.close(fd)
        os.unlink(tmp)
    try:
        yield tmp
    except BaseException:
        _remove(tmp)
        raise
    if os.path.exists(path):
        backup = tmp + ".old"
        os.replace(path, backup)
        os.replace(tmp, path)
        _remove(backup)
    else:
        os.replace(tmp, path)


def _remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.unlink(path)
    # GDAL side-cars (.aux.xml, .ovr) written next to a temporary file
    for ext in (".aux.xml", ".ovr", "-journal"):
        if os.path.exists(path + ext):
            os.unlink(path + ext)
