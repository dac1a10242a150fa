"""Installs the plugin's pinned Python packages into a plugin-local folder with pip; no Qt, so it is testable.

Nothing goes into QGIS's own Python: pip runs as a subprocess of the Python interpreter QGIS embeds (found by
find_python, since inside QGIS sys.executable may be the qgis binary) and installs with --target into
<profile>/python/mpm_studio_deps/py<major>.<minor>/, a folder per Python version that survives plugin upgrades.
activate() puts that folder first on sys.path at every plugin start.

Two pip runs: a dry run (--report) resolves the pinned set against what QGIS's Python already has, so packages
it holds at a suitable version (numpy, which QGIS and GDAL's bindings are built against, is pinned to the host's
own version) are never installed a second time; then the resolved list is installed with --no-deps into a
staging folder that replaces the old folder only when pip succeeded, so a failed or cancelled install leaves
the previous state whole. Offline: point `wheels` at a folder of wheels (pip --no-index --find-links).

    python -m mpm_plugin.installer --profile DIR [--wheels DIR] [--without torch]   # the same, from a shell
"""

import importlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

DEPS_FOLDER = "mpm_studio_deps"
DEV_ONLY = {"pytest", "pytest-qgis"}  # in requirements.txt for the test suite, never installed for users
HOST_HELD = ("numpy",)  # pinned to the version QGIS's Python already has (its GDAL bindings are built against it)
OPTIONAL = {"torch": "fine-tuning and pretraining (a large download)",
            "dask": "running tiles on a Dask cluster (--scheduler)"}
BUILD_FROM_SOURCE = ("shapely",)  # on Linux only: see requirements.txt (the wheel's GEOS clashes with QGIS's)
PIP_MIN = (22, 2)  # --dry-run --report


class InstallError(Exception):
    """pip failed or cannot run; the message says what to do."""


class Cancelled(InstallError):
    pass


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements_file(plugin_dir=None):
    """The pinned list: requirements.txt inside the built plugin (build.py puts it there) or beside a checkout."""
    here = plugin_dir or os.path.dirname(os.path.abspath(__file__))
    for path in (os.path.join(here, "requirements.txt"), os.path.join(os.path.dirname(here), "requirements.txt")):
        if os.path.exists(path):
            return path
    raise InstallError(f"requirements.txt not found in {here}: reinstall the plugin from its zip")


def read_requirements(path, platform=sys.platform, without=()):
    """(requirement strings, pip options) for users: test tools, host-held packages and the optional groups named
    in `without` left out; '--no-binary shapely' kept on Linux only (elsewhere there is no GEOS to build against)."""
    reqs, options = [], []
    skip = DEV_ONLY | set(HOST_HELD) | {_norm(w) for w in without}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("-"):
                flag, _, value = line.partition(" ")
                if flag == "--no-binary":
                    if platform.startswith("linux"):
                        options += [flag, value.strip()]
                    continue
                raise InstallError(f"{path}: option {line!r} is not understood by the installer")
            name = _norm(re.split(r"[\[=<>!~;\s]", line, 1)[0])
            if name not in skip:
                reqs.append(line)
    return reqs, options


def host_pins(held=HOST_HELD, version=None):
    """Constraints 'name==version' holding what the running (QGIS's) Python already has of `held`."""
    pins = []
    for name in held:
        try:
            v = version(name) if version else importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        pins.append(f"{name}=={v}")
    return pins


def deps_root(profile_dir):
    return os.path.join(profile_dir, "python", DEPS_FOLDER)


def target_dir(profile_dir, version=sys.version_info):
    """The plugin-local folder for this Python version (packages with compiled parts are built per version)."""
    return os.path.join(deps_root(profile_dir), f"py{version[0]}.{version[1]}")


# ---- which Python runs pip ----

_PYTHON_NAME = re.compile(r"^python(\d+(\.\d+)?)?(\.exe)?$", re.IGNORECASE)


def python_candidates(executable=sys.executable, exec_prefix=sys.exec_prefix, version=sys.version_info,
                      platform=sys.platform, which=shutil.which):
    """Paths that may be QGIS's Python interpreter, best first. sys.executable is it when it is named python*
    (Linux: QGIS sets it from the python3 on PATH); in QGIS on Windows it is qgis-bin.exe and the interpreter sits
    in sys.exec_prefix (OSGeo4W and the standalone installer: apps/Python3x/python.exe); in QGIS.app on macOS it
    is the QGIS binary and the interpreter is in Contents/MacOS/bin or the framework's bin folder."""
    mm = f"{version[0]}.{version[1]}"
    out = []
    if executable and _PYTHON_NAME.match(os.path.basename(executable)):
        out.append(executable)
    if platform == "win32":
        out += [os.path.join(exec_prefix, "python.exe"), os.path.join(exec_prefix, "python3.exe"),
                which("python3"), which("python")]
    else:
        exe_dir = os.path.dirname(executable or "")
        out += [os.path.join(exec_prefix, "bin", f"python{mm}"), os.path.join(exec_prefix, "bin", "python3"),
                os.path.join(exe_dir, "bin", f"python{mm}"), os.path.join(exe_dir, "bin", "python3"),
                which(f"python{mm}"), which("python3")]
    seen, result = set(), []
    for path in out:
        if path and path not in seen and os.path.isfile(path):
            seen.add(path)
            result.append(path)
    return result


def probe(python, env=None):
    """(major, minor, sys.prefix, pip version or None) of an interpreter, or None when it does not run."""
    code = ("import sys\ntry:\n import pip; v = pip.__version__\nexcept Exception:\n v = None\n"
            "print(repr((sys.version_info[0], sys.version_info[1], sys.prefix, v)))")
    try:
        r = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, timeout=60, env=env,
                           **_no_window())
    except (OSError, subprocess.SubprocessError):
        return None
    if r.returncode != 0:
        return None
    try:
        import ast

        return ast.literal_eval(r.stdout.strip().splitlines()[-1])
    except (ValueError, SyntaxError, IndexError):
        return None


def find_python(candidates=None, version=sys.version_info, prefix=sys.prefix, run_probe=probe):
    """(interpreter, pip version) of the first candidate that is this Python (same major.minor, same prefix
    preferred), so that pip resolves wheels for the ABI QGIS runs. Raises InstallError with what to do."""
    candidates = python_candidates() if candidates is None else candidates
    matches = []
    for path in candidates:
        info = run_probe(path)
        if info and tuple(info[:2]) == tuple(version[:2]):
            matches.append((os.path.normcase(os.path.realpath(info[2])) != os.path.normcase(os.path.realpath(prefix)),
                            len(matches), path, info[3]))
    if not matches:
        raise InstallError(f"No Python {version[0]}.{version[1]} interpreter found beside QGIS (looked at: "
                           f"{', '.join(candidates) or 'nothing'}); install the packages by hand, see the README")
    _, _, path, pip_version = min(matches)
    if pip_version is None:
        raise InstallError(f"{path} has no pip: install pip for QGIS's Python (OSGeo4W Setup: python3-pip; "
                           f"Debian: apt install python3-pip), or install the packages by hand (README)")
    if tuple(int(p) for p in re.findall(r"\d+", pip_version)[:2]) < PIP_MIN:
        raise InstallError(f"pip {pip_version} of {path} is too old (needs {PIP_MIN[0]}.{PIP_MIN[1]} or later): "
                           f"update it with `{path} -m pip install --upgrade pip`")
    return path, pip_version


# ---- the pip command lines ----

def source_options(wheels=None, index_url=None):
    """Where pip finds packages: a folder of wheels only (offline), else the index pip is configured with."""
    if wheels:
        return ["--no-index", "--find-links", os.path.abspath(wheels)]
    return ["--index-url", index_url] if index_url else []


def resolve_command(python, requirements, constraints, report, options=(), sources=()):
    """Dry run: what of the pinned set QGIS's Python lacks (installed packages that satisfy a pin are kept)."""
    return [python, "-m", "pip", "install", "--dry-run", "--disable-pip-version-check", "--no-input",
            "--progress-bar", "off", "--report", report, "-r", requirements, "-c", constraints,
            *options, *sources]


def install_command(python, packages, staging, options=(), sources=()):
    """Install exactly the resolved `packages` (name==version) into `staging`, nothing else."""
    return [python, "-m", "pip", "install", "--no-deps", "--target", staging, "--disable-pip-version-check",
            "--no-input", "--progress-bar", "off", "--no-warn-script-location", *options, *sources, *packages]


def read_report(path):
    """name==version of every package the dry run would install, in its order."""
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    return [f"{item['metadata']['name']}=={item['metadata']['version']}" for item in report.get("install", [])]


# ---- progress from pip's output ----

class Progress:
    """Turns pip's output lines into (percent, short message): 0-10 % resolving, 10-85 % fetching and building
    the n packages, 85-100 % installing."""

    def __init__(self):
        self.phase, self.total, self.seen, self.percent = "resolve", 0, set(), 0

    def start_install(self, total):
        self.phase, self.total, self.seen, self.percent = "install", max(1, total), set(), 10

    def feed(self, line):
        line = line.strip()
        m = re.match(r"^(Collecting|Processing|Downloading|Using cached|Obtaining)\s+(\S+)", line)
        if m:
            name = _norm(re.split(r"[=<>\[;]|-\d", os.path.basename(m.group(2).rstrip("/")), 1)[0])
            if self.phase == "resolve":
                self.seen.add(name)
                self.percent = min(9, 1 + len(self.seen) // 8)
                return self.percent, f"Resolving: {name}"
            if m.group(1) in ("Collecting", "Processing"):
                self.seen.add(name)
            self.percent = 10 + int(75 * min(len(self.seen), self.total) / self.total)
            return self.percent, f"{m.group(1)} {name}"
        if line.startswith("Building wheel for"):
            return self.percent, line
        if line.startswith("Installing collected packages"):
            self.percent = 85
            return self.percent, "Installing"
        if line.startswith("Successfully installed"):
            self.percent = 100 if self.phase == "install" else self.percent
            return self.percent, "Installed"
        if line.startswith(("ERROR", "error:")):
            return self.percent, line
        return None


def explain_failure(output, platform=sys.platform):
    """One actionable sentence for the usual failures, from the tail of pip's output (else '')."""
    text = output.lower()
    if "geos" in text and ("geos_c.h" in text or "geos-config" in text or "geos_config" in text):
        return ("shapely is built from source against the system's GEOS (its wheel clashes with QGIS's GEOS): "
                "install libgeos-dev, python3-dev and gcc (Debian/Ubuntu: apt install libgeos-dev python3-dev gcc) "
                "and try again")
    if "no matching distribution" in text or "could not find a version" in text:
        return ("a pinned package was not found: with a folder of wheels, it must hold every package for this "
                "Python and system (see the README: pip download); online, check the internet connection")
    if "connection" in text and ("retry" in text or "failed to establish" in text or "timed out" in text):
        return "no connection to the package index: connect to the internet, or install from a folder of wheels"
    if "no space left" in text:
        return "the disk is full: free space in the QGIS profile folder and try again"
    return ""


# ---- the folder on sys.path ----

def activate(folder):
    """Put `folder` (if it exists) first on sys.path, swapping in an install that could not replace a folder in use
    (Windows keeps loaded DLLs locked) first; returns True when the folder is on sys.path."""
    pending = folder + ".next"
    if os.path.isdir(pending):
        try:
            _swap(pending, folder)
        except OSError:
            pass
    if not os.path.isdir(folder):
        return False
    if folder not in sys.path:
        sys.path.insert(0, folder)
    importlib.invalidate_caches()
    return True


def already_loaded(folder):
    """Top-level modules the folder holds that this process has imported already (from anywhere): it keeps the
    imported ones until QGIS restarts. Namespace portions (mpl_toolkits) are no copy of anything."""
    if not os.path.isdir(folder):
        return []
    names = set()
    for entry in os.listdir(folder):
        base, ext = os.path.splitext(entry)
        path = os.path.join(folder, entry)
        if os.path.isdir(path) and "." not in entry and not entry.startswith("_"):
            if os.path.exists(os.path.join(path, "__init__.py")):
                names.add(entry)
        elif ext in (".py", ".pyd", ".so") and not base.startswith("_"):
            names.add(base.split(".")[0])
    return sorted(name for name in names if name in sys.modules)


def _swap(staging, folder):
    """Replace `folder` by `staging`; the old one is removed once the new one is in place."""
    old = None
    if os.path.exists(folder):
        old = tempfile.mkdtemp(prefix=os.path.basename(folder) + ".old-", dir=os.path.dirname(folder))
        os.rmdir(old)
        os.replace(folder, old)
    try:
        os.replace(staging, folder)
    except OSError:
        if old:
            os.replace(old, folder)
        raise
    if old:
        shutil.rmtree(old, ignore_errors=True)


# ---- running it ----

def _link_or_copy(src, dst):
    """Hard link (instant, no space) where the file system allows it: the folders sit side by side."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _no_window():
    return {"creationflags": subprocess.CREATE_NO_WINDOW} if sys.platform == "win32" else {}


class Installer:
    """One install: run() blocks (call it from a worker thread), cancel() from any thread.

    on_line(str) gets every pip output line, on_progress(percent, message) the parsed progress."""

    def __init__(self, profile_dir, wheels=None, without=(), python=None, requirements=None, index_url=None,
                 on_line=None, on_progress=None):
        self.folder = target_dir(profile_dir)
        self.wheels, self.without, self.python, self.index_url = wheels, tuple(without), python, index_url
        self.requirements = requirements or requirements_file()
        self.on_line = on_line or (lambda line: None)
        self.on_progress = on_progress or (lambda percent, message: None)
        self.progress = Progress()
        self.restart_for = []  # what run() installed that was imported before: QGIS must restart to use it
        self._cancel = threading.Event()
        self._proc = None
        self._lock = threading.Lock()

    def cancel(self):
        self._cancel.set()
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                self._proc.terminate()

    @property
    def cancelled(self):
        return self._cancel.is_set()

    def run(self):
        """Resolve, install into staging, swap in; returns the packages installed (name==version, [] when QGIS's
        Python already had everything). Raises Cancelled or InstallError; either leaves the folder as it was."""
        if self.wheels and not os.path.isdir(self.wheels):
            raise InstallError(f"The folder of wheels {self.wheels} does not exist: choose the folder that holds "
                               "the downloaded .whl files")
        python = self.python or find_python()[0]
        reqs, options = read_requirements(self.requirements, without=self.without)
        sources = source_options(self.wheels, self.index_url)
        root = os.path.dirname(self.folder)
        os.makedirs(root, exist_ok=True)
        work = tempfile.mkdtemp(prefix=os.path.basename(self.folder) + ".partial-", dir=root)
        try:
            req_file, con_file = os.path.join(work, "requirements.txt"), os.path.join(work, "constraints.txt")
            with open(req_file, "w", encoding="utf-8") as f:
                f.write("\n".join(reqs) + "\n")
            with open(con_file, "w", encoding="utf-8") as f:
                f.write("\n".join(host_pins()) + "\n")
            report = os.path.join(work, "report.json")
            self.on_progress(0, "Resolving the pinned packages")
            self._pip(resolve_command(python, req_file, con_file, report, options, sources))
            packages = read_report(report)
            if not packages:
                self.on_progress(100, "Everything needed is installed already")
                return []
            self.progress.start_install(len(packages))
            staging = os.path.join(work, "site")
            names = {_norm(p.split("==")[0]) for p in packages}
            opts = [o for i in range(0, len(options), 2) if _norm(options[i + 1]) in names for o in options[i:i + 2]]
            self._pip(install_command(python, packages, staging, opts, sources))
            if self.cancelled:
                raise Cancelled("Cancelled: nothing was installed")
            self.restart_for = already_loaded(staging)
            self._keep_existing(staging, names)
            try:
                _swap(staging, self.folder)
            except OSError:  # a loaded DLL in the old folder (Windows): swapped in at the next start
                pending = self.folder + ".next"
                shutil.rmtree(pending, ignore_errors=True)
                os.replace(staging, pending)
            self.on_progress(100, "Installed")
            return packages
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _keep_existing(self, staging, names):
        """A dry run counts what the folder already holds as installed (it is on PYTHONPATH), so the new folder
        starts as a copy of the old one with the re-resolved packages replaced."""
        if not os.path.isdir(self.folder):
            return
        fresh = set(os.listdir(staging))
        for entry in os.listdir(self.folder):
            if entry in fresh:
                continue
            dist = re.match(r"^(.+?)-[^-]+\.dist-info$", entry)
            if dist and _norm(dist.group(1)) in names:
                continue  # the replaced version's metadata
            src, dst = os.path.join(self.folder, entry), os.path.join(staging, entry)
            if os.path.isdir(src):
                shutil.copytree(src, dst, copy_function=_link_or_copy)
            else:
                _link_or_copy(src, dst)

    def _pip(self, cmd):
        if self.cancelled:
            raise Cancelled("Cancelled: nothing was installed")
        env = dict(os.environ, PYTHONUNBUFFERED="1", PIP_NO_INPUT="1")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (self.folder, env.get("PYTHONPATH")) if p)
        self.on_line("$ " + " ".join(cmd))
        tail = []
        with self._lock:
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                          encoding="utf-8", errors="replace", bufsize=1, env=env, **_no_window())
        proc = self._proc
        for line in proc.stdout:
            line = line.rstrip()
            if not line:
                continue
            tail = (tail + [line])[-60:]
            self.on_line(line)
            step = self.progress.feed(line)
            if step:
                self.on_progress(*step)
        proc.wait()
        if self.cancelled:
            raise Cancelled("Cancelled: nothing was installed")
        if proc.returncode != 0:
            hint = explain_failure("\n".join(tail))
            last = tail[-1] if tail else ""
            raise InstallError(f"pip failed (exit {proc.returncode}): {hint or last}".rstrip(": "))


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", required=True, help="the QGIS profile folder (…/QGIS3/profiles/default)")
    ap.add_argument("--wheels", help="install offline from this folder of wheels")
    ap.add_argument("--without", nargs="*", default=[], choices=sorted(OPTIONAL), help="optional groups to leave out")
    args = ap.parse_args(argv)
    inst = Installer(args.profile, wheels=args.wheels, without=args.without, python=sys.executable,
                     on_line=print)
    try:
        done = inst.run()
    except InstallError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{len(done)} package(s) installed into {inst.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
