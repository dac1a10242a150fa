"""Start the real QGIS desktop under Xvfb with the built plugin and let tests/desktop_startup.py drive the panel.

Used by tests/test_desktop.py and docs/make_screenshots.py:

    from desktop_session import run_desktop
    run = run_desktop(work_dir, kolari_dir, locale="en_US")   # or "zh-Hans"; chain=False only opens the panel
    run.status      # the JSON the startup script wrote (None when QGIS never got that far)
    run.screenshot  # PNG of the main window
    run.diagnostics()  # startup-script log + QGIS's output tail, for failure messages

Everything lives under work_dir: the plugin folder laid out by build.py --dir (with the compiled
translations), a private QGIS profile (QGIS_CUSTOM_CONFIG_PATH) with the plugin enabled and the
interface language set, the embedding cache (MPM_CACHE_DIR), the chain's outputs, logs and images.
Xvfb picks a free display itself (-displayfd). QGIS's Python finds the venv because the running
interpreter's bin folder comes first on PATH (run this with .venv/bin/python).
"""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STARTUP = os.path.join(HERE, "desktop_startup.py")
QGIS = "/usr/bin/qgis" if os.path.exists("/usr/bin/qgis") else shutil.which("qgis")
XVFB = shutil.which("Xvfb")
FINETUNE_OVERRIDES = {"BACKGROUND": 4000, "FOLDS": 4, "BLOCK": 12000}


def missing():
    """Why the desktop cannot be started here (None when it can)."""
    if not QGIS:
        return "the QGIS desktop (qgis) is not installed: run scripts/setup.sh"
    if not XVFB:
        return "Xvfb is not installed: apt-get install xvfb (scripts/setup.sh does)"
    return None


def _tail(path, chars=4000):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-chars:]
    except OSError:
        return ""


class DesktopRun:
    def __init__(self, work, status, returncode, seconds, paths):
        self.work, self.status, self.returncode, self.seconds = work, status, returncode, seconds
        self.screenshot, self.screen, self.log, self.output = paths

    def diagnostics(self, chars=4000):
        return (f"QGIS exit code {self.returncode} after {self.seconds:.0f} s\n"
                f"--- startup script log ({self.log}) ---\n{_tail(self.log, chars)}\n"
                f"--- QGIS stdout/stderr tail ({self.output}) ---\n{_tail(self.output, chars)}")


def build_plugin(dest):
    """The plugin folder as build.py --dir lays it out (translations compiled); returns the plugins folder."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    import build

    build.build_dir(dest)
    return dest


def write_profile(config_dir, locale):
    """A fresh QGIS profile 'default' under config_dir with the plugin enabled and the interface language set."""
    folder = os.path.join(config_dir, "profiles", "default", "QGIS")
    os.makedirs(folder, exist_ok=True)
    ini = os.path.join(folder, "QGIS3.ini")
    with open(ini, "w", encoding="utf-8") as f:
        f.write("[PythonPlugins]\nmpm_plugin=true\n\n"
                f"[locale]\noverrideFlag=true\nuserLocale={locale}\n\n"
                "[app]\nplugin_installer\\checkOnStart=false\nplugin_installer\\allowExperimental=false\n\n"
                "[qgis]\ncheckVersion=false\n\n"
                "[core]\nNewsFeed\\httpsfeedqgisorg\\disabled=true\n")
    return ini


def _start_xvfb(size, log_path):
    """Xvfb on a display it finds free itself; returns (process, ':N')."""
    read_fd, write_fd = os.pipe()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([XVFB, "-displayfd", str(write_fd), "-screen", "0", f"{size[0]}x{size[1]}x24",
                                 "-nolisten", "tcp", "-noreset"], pass_fds=(write_fd,), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    os.close(write_fd)
    text, deadline = b"", time.time() + 30
    try:  # Xvfb writes the number, then "\n" in a second write: read up to the newline, else it dies of EPIPE
        while not text.endswith(b"\n") and time.time() < deadline:
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.time()))
            chunk = os.read(read_fd, 64) if ready else b""
            if not chunk:
                break
            text += chunk
    finally:
        os.close(read_fd)
    number = text.decode().strip()
    if not number.isdigit():
        _stop(proc)
        raise RuntimeError(f"Xvfb did not start: {_tail(log_path)}")
    return proc, f":{number}"


def _stop(proc, grace=10):
    """End a process this module started (its own session: the group is only its children)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_desktop(work, kolari, locale="en_US", chain=True, timeout=240, size=(1600, 1200), resolution=400.0,
                dock_width=440, scroll_dock="chain", exit_grace=20, structures=None):
    """Run QGIS desktop once with the startup script; returns a DesktopRun (status None when none was written)."""
    work = os.path.abspath(str(work))
    os.makedirs(work, exist_ok=True)
    plugins = build_plugin(os.path.join(work, "plugins"))
    config_dir = os.path.join(work, "qgis_config")
    write_profile(config_dir, locale)
    runtime = os.path.join(work, "xdg")
    os.makedirs(runtime, mode=0o700, exist_ok=True)
    os.chmod(runtime, 0o700)
    paths = {name: os.path.join(work, name) for name in (
        "status.json", "screenshot.png", "screen.png", "startup.log", "qgis_output.log", "xvfb.log")}
    chain_dir = os.path.join(work, "mpm")
    os.makedirs(chain_dir, exist_ok=True)
    for name in ("status.json", "screenshot.png", "screen.png", "startup.log"):
        if os.path.exists(paths[name]):
            os.remove(paths[name])
    cfg = {"kolari": kolari, "work": chain_dir, "status": paths["status.json"], "screenshot": paths["screenshot.png"],
           "screen": paths["screen.png"], "log": paths["startup.log"], "timeout_s": timeout - exit_grace,
           "chain": chain, "resolution": resolution, "finetune_overrides": FINETUNE_OVERRIDES, "size": list(size),
           "dock_width": dock_width, "scroll_dock": scroll_dock, "structures": structures}
    cfg_path = os.path.join(work, "desktop_config.json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=1)

    xvfb, display = _start_xvfb(size, paths["xvfb.log"])
    env = dict(os.environ, DISPLAY=display, QGIS_PLUGINPATH=plugins, QGIS_CUSTOM_CONFIG_PATH=config_dir,
               MPM_CACHE_DIR=os.path.join(work, "cache"), MPM_DESKTOP_CONFIG=cfg_path, XDG_RUNTIME_DIR=runtime,
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
               LANG="C.UTF-8", LC_ALL="C.UTF-8")
    for name in ("QT_QPA_PLATFORM", "PYTHONPATH", "WAYLAND_DISPLAY", "LANGUAGE"):
        env.pop(name, None)  # a real X display; the plugin must find its engine inside its own folder
    start = time.time()
    status_seen = None
    try:
        with open(paths["qgis_output.log"], "w") as out:
            proc = subprocess.Popen([QGIS, "--nologo", "--noversioncheck", "--code", STARTUP], env=env, cwd=work,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while time.time() - start < timeout:
                if proc.poll() is not None:
                    break
                if status_seen is None and os.path.exists(paths["status.json"]):
                    status_seen = time.time()
                if status_seen is not None and time.time() - status_seen > exit_grace:
                    break  # the status is there but QGIS does not quit: stop it below
                time.sleep(0.5)
        finally:
            _stop(proc)
    finally:
        _stop(xvfb, grace=5)
    status = None
    if os.path.exists(paths["status.json"]):
        with open(paths["status.json"], encoding="utf-8") as f:
            status = json.load(f)
    return DesktopRun(work, status, proc.returncode, time.time() - start,
                      (paths["screenshot.png"], paths["screen.png"], paths["startup.log"], paths["qgis_output.log"]))
