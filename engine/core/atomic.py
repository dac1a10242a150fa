"""Outputs appear whole or not at all: write beside the target, verify, then rename into place.

The rename never replaces what this run did not create: something that appeared at the output
path during the run is left alone and the new result is kept beside it. An output may never be,
or contain, one of the run's inputs. A temporary path carries the host and process id that made
it, so the next run on the same output removes those of a run that was killed.
"""

import contextlib
import ctypes
import errno
import glob
import json
import logging
import os
import re
import shutil
import socket
import tempfile

from .errors import MPMError, OutputError

log = logging.getLogger("engine")

WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS}  # not EIO: a failing input disk too
WRITE_TEXTS = ("write failed", "write error", "no space left", "file too large", "disk quota", "read-only file system")


def check_output_path(path, overwrite=False, what="output", inputs=()):
    """Fail early, before any work, when the output cannot be written."""
    path = os.path.abspath(path)
    check_not_input(path, inputs, what)
    if os.path.lexists(path) and not overwrite:
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


def free_bytes(path):
    """Free space of the disk that holds `path` (or would: its parent folder)."""
    return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free


def check_free_space(path, need, what, fix="choose an output folder on a disk with more space, or free some"):
    """Refuse, before any work, an output larger than the free space of its disk (uncompressed figure:
    deflate saves little on noisy float grids, and the disk must hold it while it is written)."""
    free = free_bytes(path)
    if need > free:
        raise OutputError(f"{what} would take {need / 2**30:,.2f} GB uncompressed, but only {free / 2**30:,.1f} GB "
                          f"are free on the disk of '{path}'", fix=fix)
    return free


def check_not_input(path, inputs, what="output"):
    """Refuse an output that is, or is a folder holding, one of the run's inputs (it would be deleted)."""
    out = os.path.realpath(path)
    for inp in inputs or ():
        inp = getattr(inp, "folder", inp)  # an open model / head card (ModelCard) stands for its folder
        if not isinstance(inp, (str, os.PathLike)) or not inp:
            continue  # None, or a model object given in Python
        real = os.path.realpath(str(inp).split("|")[0])  # QGIS sources: 'file.gpkg|layername=...'
        if real == out or real.startswith(out.rstrip(os.sep) + os.sep):
            how = "is" if real == out else "holds"
            raise OutputError(f"{what} '{path}' {how} the input '{inp}'; writing it would destroy that input",
                              fix="choose an output path outside the run's inputs")


@contextlib.contextmanager
def atomic_path(path, overwrite=False, directory=False, what="output", inputs=(), checked=False, cache=False):
    """Yield a temporary path next to `path`; on success verify it and move it into place, on any error delete it.

    A cancelled or failed run therefore leaves the previous file (or nothing) behind, never a
    half-written one; a failed write (full disk, file-size limit) is an OutputError, never a
    truncated result. checked: the caller's check_output_path found the path free when the run
    started, so whatever is there now appeared during the run: the result is written anyway and
    kept beside it (see _move_into_place) instead of thrown away. cache: the output is a cache entry,
    so one that appeared meanwhile (another process computed the same) is used and this one dropped.
    """
    appeared_ok = checked and not overwrite
    path = check_output_path(path, overwrite or appeared_ok, what, inputs)
    parent, name = os.path.split(path)
    clean_stale_partials(path)
    before = None if appeared_ok else _identity(path)
    prefix = f".{name}.{_owner_tag()}."
    if directory:
        tmp = tempfile.mkdtemp(prefix=prefix, suffix=".partial", dir=parent)
    else:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".partial" + os.path.splitext(name)[1], dir=parent)
        os.close(fd)
        os.unlink(tmp)
    try:
        try:
            yield tmp
        except Exception as exc:
            if not isinstance(exc, MPMError) and _is_write_failure(exc):
                raise _write_error(what, path, exc) from exc
            raise
        verify_output(tmp, what, path)
        _respect_umask(tmp, directory)
        if cache and before is None and os.path.lexists(path):
            _remove(tmp)
        else:
            _move_into_place(tmp, path, before, overwrite, what)
    except BaseException:
        _remove(tmp)
        raise


def _move_into_place(tmp, path, before, overwrite, what):
    """Rename tmp to path; replace only what was there at the start and the caller allowed to replace."""
    if before is not None and overwrite and _identity(path) == before:
        backup = tmp + ".old"
        os.replace(path, backup)
        try:
            if _rename_noreplace(tmp, path):
                return
        finally:
            _remove(backup)
    elif _rename_noreplace(tmp, path):
        return
    kept = _keep_beside(tmp, path)
    raise OutputError(f"'{path}' appeared while this run was writing its {what} (another run or program made it); "
                      f"it was left untouched and this run's result was kept as '{kept}'",
                      fix="compare the two, then delete or rename the one you do not want")


def _keep_beside(tmp, path):
    """Rename tmp to the first free name path_2, path_3, ... (extension kept) and return it."""
    stem, ext = os.path.splitext(path) if os.path.isfile(tmp) else (path, "")
    for i in range(2, 10000):
        candidate = f"{stem}_{i}{ext}"
        if _rename_noreplace(tmp, candidate):
            return candidate
    raise OutputError(f"no free name beside '{path}' for this run's result", fix="clean up the output folder")


def _identity(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns


_RENAME_NOREPLACE = 1
_AT_FDCWD = -100


def _rename_noreplace(src, dst):
    """Rename src to dst unless dst exists (atomically where the kernel allows); False when dst exists."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        renameat2 = None
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE) == 0:
            return True
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            return False
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):  # not supported here: fall back below
            raise OSError(err, os.strerror(err), dst)
    if os.path.lexists(dst):
        return False
    os.rename(src, dst)
    return True


# what follows '.NAME.' in a temporary output: [host@pid.] + tempfile's 8 random characters + .partial
_PARTIAL = re.compile(r"^(?:(?P<host>[A-Za-z0-9_]+)@(?P<pid>\d+)\.)?[a-z0-9_]{8}\.partial")


def _owner_tag():
    """host@pid of this process, so a later run can tell a killed run's temporary output from a live one."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname()) or "host"
    return f"{host}@{os.getpid()}"


def clean_stale_partials(path):
    """Remove the temporary outputs for `path` left by a killed run on this host; report the others."""
    parent, name = os.path.split(os.path.abspath(path))
    head = f".{name}."
    own_host = _owner_tag().split("@")[0]
    removed, others = [], []
    for p in glob.glob(os.path.join(glob.escape(parent), glob.escape(head) + "*.partial*")):
        m = _PARTIAL.match(os.path.basename(p)[len(head):])
        if m is None:
            continue  # another output's temporary file whose name starts alike (stack -> stack.tif)
        host, pid = m.group("host"), m.group("pid")
        if host == own_host and pid and not _alive(int(pid)):
            _remove(p)
            removed.append(p)
        else:
            others.append(p)
    if removed:
        log.warning("Removed %d temporary output(s) of an interrupted run on '%s': %s", len(removed), path,
                    ", ".join(os.path.basename(p) for p in removed))
    if others:
        log.warning("'%s' holds temporary output(s) of another run on '%s' (still running, or killed on another "
                    "machine or by an older version): %s. Delete them once no run is writing there.", parent, path,
                    ", ".join(os.path.basename(p) for p in others))
    return removed, others


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def verify_output(tmp, what, path):
    """Read every written file back (every raster block, JSON, GeoPackage) before it may replace anything."""
    files = [tmp] if not os.path.isdir(tmp) else sorted(
        os.path.join(r, f) for r, _, fs in os.walk(tmp) for f in fs)
    for f in files:
        try:
            _verify_file(f)
        except Exception as exc:  # noqa: BLE001 (any failure to read back means an incomplete output)
            name = os.path.basename(path) if f == tmp else os.path.relpath(f, tmp)
            reason = _first_line(exc).replace(tmp, path)
            raise _write_error(what, path, exc, f"{name} does not read back ({reason})") from exc


def _verify_file(f):
    ext = os.path.splitext(f)[1].lower()
    if ext in (".tif", ".tiff"):
        import rasterio

        with rasterio.Env(GDAL_PAM_ENABLED="NO"), rasterio.open(f) as ds:
            for _, window in ds.block_windows(1):
                ds.read(window=window)
    elif ext == ".json":
        with open(f) as fh:
            json.load(fh)
    elif ext == ".gpkg":
        import sqlite3

        con = sqlite3.connect(f"file:{f}?mode=ro", uri=True)
        try:
            result = con.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            con.close()
        if result != "ok":
            raise OSError(f"GeoPackage check: {result}")


def _is_write_failure(exc):
    """An OSError of a full disk, a file-size limit or a read-only disk, or a GDAL write error."""
    seen = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in WRITE_ERRNOS:
            return True
        if any(t in str(seen).lower() for t in WRITE_TEXTS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def as_write_error(exc):
    """A full disk or file-size limit met outside an atomic output (a cache, a training checkpoint) as an
    OutputError naming the file and the free space; None for any other exception."""
    if isinstance(exc, MPMError) or not _is_write_failure(exc):
        return None
    seen, name = exc, None
    while seen is not None and name is None:
        name = getattr(seen, "filename", None) if isinstance(seen, OSError) else None
        seen = seen.__cause__ or seen.__context__
    return _write_error("a file", os.path.abspath(name) if name else os.getcwd(), exc, atomic=False)


def _write_error(what, path, exc, detail=None, atomic=True):
    import resource

    parent = os.path.dirname(path)
    limits = []
    try:
        free = shutil.disk_usage(parent).free
        limits.append(f"{free / 2**30:.1f} GB are free on that disk")
    except OSError:
        pass
    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if soft != resource.RLIM_INFINITY:
        limits.append(f"files are limited to {soft / 2**20:g} MB (ulimit -f)")
    return OutputError(f"{what} '{path}' could not be written: {detail or _first_line(exc)}"
                       + (f"; {', '.join(limits)}" if limits else ""),
                       fix="free disk space (or choose a folder on a disk with more space), lift any file-size "
                           "limit, then run again" + ("; nothing was left at the output path" if atomic else ""))


def _first_line(exc):
    text = str(exc).strip().splitlines()
    cause = exc.__cause__
    if cause is not None and "previous exception" in (text[0] if text else ""):
        return _first_line(cause)
    return text[0] if text else type(exc).__name__


def _respect_umask(tmp, directory):
    """mkdtemp makes a private 0700 folder: give the final folder the mode the user's umask asks for."""
    if directory:
        os.chmod(tmp, 0o777 & ~_umask())


def _umask():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)
    # GDAL side-cars (.aux.xml, .ovr) written next to a temporary file
    for ext in (".aux.xml", ".ovr", "-journal"):
        if os.path.exists(path + ext):
            os.unlink(path + ext)
