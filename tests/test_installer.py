"""mpm_plugin.installer without QGIS: the pinned list, the pip command lines, which Python runs pip, progress,
the plugin-local folder on sys.path, and real pip runs from a folder of hand-made wheels (offline, seconds)."""

import base64
import hashlib
import importlib.metadata
import os
import sys
import threading
import time
import zipfile

import pytest

from helpers import ROOT
from mpm_plugin import installer


# ---- the pinned list ----

def test_requirements_for_users_leave_out_test_tools_and_the_hosts_numpy():
    reqs, options = installer.read_requirements(os.path.join(ROOT, "requirements.txt"), platform="linux")
    names = {r.split("==")[0].split("[")[0] for r in reqs}
    assert {"rasterio", "shapely", "pyogrio", "scipy", "torch", "onnxruntime", "safetensors"} <= names
    assert not names & {"pytest", "pytest-qgis", "numpy"}
    assert "rasterio==1.4.4" in reqs and "attrs>=23.2" in reqs
    assert options == ["--no-binary", "shapely"]  # built against the system's GEOS on Linux
    _, win_options = installer.read_requirements(os.path.join(ROOT, "requirements.txt"), platform="win32")
    assert win_options == []  # no GEOS to build against: the wheel
    lean, _ = installer.read_requirements(os.path.join(ROOT, "requirements.txt"), without=("torch", "dask"))
    assert not [r for r in lean if r.startswith(("torch", "dask"))] and len(lean) == len(reqs) - 2


def test_unknown_requirement_option_is_refused(tmp_path):
    (tmp_path / "r.txt").write_text("--extra-index-url http://x\nrasterio==1.4.4\n")
    with pytest.raises(installer.InstallError, match="not understood"):
        installer.read_requirements(str(tmp_path / "r.txt"))


def test_the_hosts_numpy_is_pinned_and_absent_packages_are_not():
    assert installer.host_pins() == [f"numpy=={importlib.metadata.version('numpy')}"]
    assert installer.host_pins(("numpy", "no-such-package-mpm")) == installer.host_pins()


def test_requirements_travel_in_the_zip(tmp_path):
    sys.path.insert(0, ROOT)
    import build

    with zipfile.ZipFile(build.build_zip(str(tmp_path))) as z:
        assert z.read("mpm_plugin/requirements.txt") == open(os.path.join(ROOT, "requirements.txt"), "rb").read()
    unpacked = tmp_path / "plugins"
    build.build_dir(str(unpacked))
    assert installer.requirements_file(str(unpacked / "mpm_plugin")) == str(unpacked / "mpm_plugin" / "requirements.txt")


def test_folder_per_profile_and_python_version(tmp_path):
    assert installer.target_dir(str(tmp_path), (3, 12)) == str(tmp_path / "python" / "mpm_studio_deps" / "py3.12")


# ---- which interpreter ----

def _touch(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").close()
    return str(path)


def test_python_candidates_on_windows_skip_the_qgis_binary(tmp_path):
    qgis = _touch(tmp_path / "OSGeo4W" / "bin" / "qgis-bin.exe")
    py = _touch(tmp_path / "OSGeo4W" / "apps" / "Python312" / "python.exe")
    found = installer.python_candidates(qgis, str(tmp_path / "OSGeo4W" / "apps" / "Python312"), (3, 12), "win32",
                                        which=lambda name: None)
    assert found == [py]


def test_python_candidates_on_macos_look_beside_the_app_binary(tmp_path):
    app = tmp_path / "QGIS.app" / "Contents" / "MacOS"
    qgis = _touch(app / "QGIS")
    py = _touch(app / "bin" / "python3.9")
    found = installer.python_candidates(qgis, str(tmp_path / "Frameworks"), (3, 9), "darwin", which=lambda name: None)
    assert found == [py]


def test_python_candidates_take_a_python_executable_first(tmp_path):
    exe = _touch(tmp_path / "bin" / "python3")
    also = _touch(tmp_path / "prefix" / "bin" / "python3.11")
    assert installer.python_candidates(exe, str(tmp_path / "prefix"), (3, 11), "linux", which=lambda n: exe) == [exe, also]


def test_find_python_checks_version_prefix_and_pip():
    infos = {"a": (3, 10, "/usr", "23.0"), "b": (3, 11, "/other", "23.0"), "c": (3, 11, "/usr", "23.0"), "d": None}
    assert installer.find_python(list(infos), (3, 11), "/usr", infos.get) == ("c", "23.0")  # same install first
    assert installer.find_python(["a", "b"], (3, 11), "/usr", infos.get) == ("b", "23.0")   # else same version
    with pytest.raises(installer.InstallError, match="No Python 3.11"):
        installer.find_python(["a", "d"], (3, 11), "/usr", infos.get)
    with pytest.raises(installer.InstallError, match="has no pip"):
        installer.find_python(["x"], (3, 11), "/usr", {"x": (3, 11, "/usr", None)}.get)
    with pytest.raises(installer.InstallError, match="too old"):
        installer.find_python(["x"], (3, 11), "/usr", {"x": (3, 11, "/usr", "21.3.1")}.get)


def test_find_python_finds_this_interpreter():
    path, pip_version = installer.find_python()
    info = installer.probe(path)
    assert tuple(info[:2]) == sys.version_info[:2] and info[3] == pip_version


# ---- command lines, progress, failures ----

def test_command_lines(tmp_path):
    src = installer.source_options(str(tmp_path))
    assert src == ["--no-index", "--find-links", str(tmp_path)]
    assert installer.source_options() == [] and installer.source_options(index_url="https://i") == ["--index-url", "https://i"]
    resolve = installer.resolve_command("py", "r.txt", "c.txt", "rep.json", ["--no-binary", "shapely"], src)
    assert resolve[:4] == ["py", "-m", "pip", "install"] and "--dry-run" in resolve
    assert resolve[resolve.index("--report") + 1] == "rep.json" and resolve[resolve.index("-c") + 1] == "c.txt"
    install = installer.install_command("py", ["rasterio==1.4.4"], "stage", [], src)
    assert "--no-deps" in install and install[install.index("--target") + 1] == "stage"
    assert install[-1] == "rasterio==1.4.4" and "--find-links" in install


PIP_LOG = """\
Looking in links: /wheels
Processing /wheels/rasterio-1.4.4-cp311-cp311-manylinux_2_28_x86_64.whl
Collecting shapely==2.1.2
  Downloading shapely-2.1.2.tar.gz (315 kB)
Building wheels for collected packages: shapely
  Building wheel for shapely (pyproject.toml): started
Collecting torch==2.13.0
  Using cached torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl (180 MB)
Installing collected packages: torch, shapely, rasterio
Successfully installed rasterio-1.4.4 shapely-2.1.2 torch-2.13.0
"""


def test_progress_from_pips_output():
    p = installer.Progress()
    assert p.feed("Collecting rasterio==1.4.4")[1] == "Resolving: rasterio"
    p.start_install(3)
    steps = [s for s in map(p.feed, PIP_LOG.splitlines()) if s]
    percents = [s[0] for s in steps]
    assert percents == sorted(percents) and percents[-1] == 100
    assert any("Building wheel for shapely" in s[1] for s in steps)
    assert [s[0] for s in steps if s[1].startswith(("Collecting", "Processing"))] == [35, 60, 85]


def test_failures_are_explained():
    assert "libgeos-dev" in installer.explain_failure("error: geos_c.h: No such file or directory (geos)")
    assert "folder of wheels" in installer.explain_failure("ERROR: No matching distribution found for torch==2.13.0")
    assert installer.explain_failure("ERROR: something else") == ""


# ---- the folder on sys.path ----

def test_activate_puts_the_folder_first_and_swaps_in_a_pending_install(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))
    folder = str(tmp_path / "py3.11")
    assert not installer.activate(folder) and folder not in sys.path
    os.makedirs(folder + ".next")
    (tmp_path / "py3.11.next" / "mpm_toy_pending.py").write_text("VALUE = 7\n")
    assert installer.activate(folder) and sys.path[0] == folder
    assert not os.path.exists(folder + ".next") and os.path.exists(os.path.join(folder, "mpm_toy_pending.py"))
    assert installer.activate(folder) and sys.path.count(folder) == 1
    import mpm_toy_pending

    assert mpm_toy_pending.VALUE == 7
    del sys.modules["mpm_toy_pending"]


def test_already_loaded_names_the_imported_packages_a_folder_holds(tmp_path):
    os.makedirs(tmp_path / "json")  # the stdlib's json is loaded: a copy here needs a restart
    (tmp_path / "json" / "__init__.py").write_text("")
    os.makedirs(tmp_path / "importlib")  # a namespace portion: never a copy of a loaded package
    os.makedirs(tmp_path / "mpm_not_loaded")
    (tmp_path / "mpm_not_loaded" / "__init__.py").write_text("")
    (tmp_path / "pytest.py").write_text("")
    os.makedirs(tmp_path / "attrs-26.1.0.dist-info")
    assert installer.already_loaded(str(tmp_path)) == ["json", "pytest"]


# ---- real pip runs, offline, from hand-made wheels ----

def make_wheel(folder, name, version, body="", requires=()):
    """A minimal pure-Python wheel (PEP 427) with module `name` holding VERSION."""
    dist = f"{name}-{version}.dist-info"
    files = {f"{name}.py": f"VERSION = {version!r}\n{body}",
             f"{dist}/METADATA": "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}".format(
                 name, version, "".join(f"Requires-Dist: {r}\n" for r in requires)),
             f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{dist}/RECORD,,")
    path = os.path.join(folder, f"{name}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(path, "w") as z:
        for p, text in files.items():
            z.writestr(p, text)
        z.writestr(f"{dist}/RECORD", "\n".join(record) + "\n")
    return path


def _listing(folder):
    return sorted(e for e in os.listdir(folder) if e != "__pycache__")  # pip compiles what it installs


@pytest.fixture
def offline(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(str(wheels), "mpm_toy_a", "1.0", requires=["mpm_toy_b>=1"])
    make_wheel(str(wheels), "mpm_toy_b", "1.0")
    make_wheel(str(wheels), "mpm_toy_a", "2.0", requires=["mpm_toy_b>=1"])
    (tmp_path / "req1.txt").write_text("# pins\nmpm_toy_a==1.0\npytest==9.2.0\n")
    (tmp_path / "req2.txt").write_text("mpm_toy_a==2.0\n")
    return tmp_path


def test_install_from_a_folder_of_wheels_then_upgrade(offline, monkeypatch):
    lines, progress = [], []
    profile = str(offline / "profile")
    inst = installer.Installer(profile, wheels=str(offline / "wheels"), requirements=str(offline / "req1.txt"),
                               python=sys.executable, on_line=lines.append, on_progress=lambda *a: progress.append(a))
    done = inst.run()
    assert sorted(done) == ["mpm_toy_a==1.0", "mpm_toy_b==1.0"]  # the dependency resolved, pytest (dev) left out
    folder = installer.target_dir(profile)
    assert _listing(folder) == ["mpm_toy_a-1.0.dist-info", "mpm_toy_a.py", "mpm_toy_b-1.0.dist-info",
                                "mpm_toy_b.py"]
    assert os.listdir(os.path.dirname(folder)) == [os.path.basename(folder)]  # no staging left
    assert any("--no-index" in line for line in lines) and progress[-1][0] == 100
    # everything there already: the dry run finds nothing to do
    again = installer.Installer(profile, wheels=str(offline / "wheels"), requirements=str(offline / "req1.txt"),
                                python=sys.executable)
    assert again.run() == [] and inst.restart_for == [] and again.restart_for == []
    monkeypatch.setattr(sys, "path", list(sys.path))
    installer.activate(folder)
    import mpm_toy_a  # noqa: F401 (in use when the upgrade comes: QGIS keeps 1.0 until it restarts)

    # new pins (a plugin upgrade): only what changed is installed; the rest is kept, the old metadata goes
    up = installer.Installer(profile, wheels=str(offline / "wheels"), requirements=str(offline / "req2.txt"),
                             python=sys.executable)
    done = up.run()
    del sys.modules["mpm_toy_a"]
    assert done == ["mpm_toy_a==2.0"] and up.restart_for == ["mpm_toy_a"]
    assert _listing(folder) == ["mpm_toy_a-2.0.dist-info", "mpm_toy_a.py", "mpm_toy_b-1.0.dist-info",
                                "mpm_toy_b.py"]
    assert "VERSION = '2.0'" in open(os.path.join(folder, "mpm_toy_a.py")).read()


def test_a_failed_install_leaves_the_folder_as_it_was(offline):
    profile = str(offline / "profile")
    installer.Installer(profile, wheels=str(offline / "wheels"), requirements=str(offline / "req1.txt"),
                        python=sys.executable).run()
    folder = installer.target_dir(profile)
    before = _listing(folder)
    (offline / "req3.txt").write_text("mpm_toy_a==3.0\n")
    bad = installer.Installer(profile, wheels=str(offline / "wheels"), requirements=str(offline / "req3.txt"),
                              python=sys.executable)
    with pytest.raises(installer.InstallError, match="pinned package was not found"):
        bad.run()
    assert _listing(folder) == before
    assert os.listdir(os.path.dirname(folder)) == [os.path.basename(folder)]
    with pytest.raises(installer.InstallError, match="does not exist"):
        installer.Installer(profile, wheels=str(offline / "nowhere"), requirements=str(offline / "req1.txt")).run()


def test_cancel_stops_pip_and_installs_nothing(offline):
    inst = installer.Installer(str(offline / "profile"), requirements=str(offline / "req1.txt"), python=sys.executable)
    threading.Timer(1.0, inst.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(installer.Cancelled):
        inst._pip([sys.executable, "-c", "import time\nfor i in range(600):\n print(i, flush=True); time.sleep(0.1)"])
    assert time.monotonic() - t0 < 10
    with pytest.raises(installer.Cancelled):
        inst.run()  # a cancelled installer never starts pip again
    assert not os.path.exists(inst.folder)
