#!/usr/bin/env python3
"""Build the installable QGIS plugin: dist/mpm_plugin.zip holding one folder `mpm_plugin/`.

The folder gets metadata.txt, the QGIS-side code, the engine, shipped models, resources and the
compiled translations, so it unpacks straight into a QGIS profile's python/plugins folder.

    python build.py            # zip into dist/
    python build.py --dir DIR  # also (or only) lay the plugin folder out in DIR, for QGIS_PLUGINPATH
"""

import argparse
import os
import shutil
import subprocess
import sys
import zipfile

ROOT = os.path.dirname(os.path.abspath(__file__))
PLUGIN = "mpm_plugin"
PACKAGES = ("engine", "models", "resources", "i18n")
SKIP = ("__pycache__", ".pyc", ".ts", ".partial")


def compile_translations():
    """i18n/*.ts -> .qm with Qt's lrelease; a missing lrelease keeps any .qm already there."""
    i18n = os.path.join(ROOT, "i18n")
    ts_files = [f for f in os.listdir(i18n) if f.endswith(".ts")] if os.path.isdir(i18n) else []
    lrelease = shutil.which("lrelease") or next((p for p in ("/usr/lib/qt5/bin/lrelease", "/usr/lib/x86_64-linux-gnu/qt5/bin/lrelease") if os.path.exists(p)), None)
    for ts in ts_files:
        if lrelease:
            subprocess.run([lrelease, "-silent", os.path.join(i18n, ts)], check=True)
        elif not os.path.exists(os.path.join(i18n, ts[:-3] + ".qm")):
            print(f"warning: no lrelease to compile {ts} (apt-get install qttools5-dev-tools)", file=sys.stderr)


def files():
    """(absolute source path, path inside the zip) for everything the plugin needs."""
    yield os.path.join(ROOT, "metadata.txt"), f"{PLUGIN}/metadata.txt"
    for top, prefix in [(PLUGIN, PLUGIN)] + [(p, f"{PLUGIN}/{p}") for p in PACKAGES]:
        base = os.path.join(ROOT, top)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
            for f in sorted(filenames):
                if f.endswith(SKIP):
                    continue
                src = os.path.join(dirpath, f)
                yield src, prefix + "/" + os.path.relpath(src, base)


def build_zip(dest_dir):
    os.makedirs(dest_dir, exist_ok=True)
    zpath = os.path.join(dest_dir, f"{PLUGIN}.zip")
    tmp = zpath + ".partial"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for src, arc in files():
            z.write(src, arc)
    os.replace(tmp, zpath)
    return zpath


def build_dir(dest_dir):
    target = os.path.join(dest_dir, PLUGIN)
    shutil.rmtree(target, ignore_errors=True)
    for src, arc in files():
        out = os.path.join(dest_dir, arc)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.copy2(src, out)
    return target


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "dist"), help="folder for the zip")
    ap.add_argument("--dir", help="also lay out the unpacked plugin folder here")
    ap.add_argument("--no-zip", action="store_true")
    args = ap.parse_args(argv)
    compile_translations()
    if not args.no_zip:
        print(build_zip(args.out))
    if args.dir:
        print(build_dir(args.dir))


if __name__ == "__main__":
    main()
