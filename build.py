#!/usr/bin/env python3
"""Build the installable QGIS plugin: dist/mpm_plugin.zip holding one folder `mpm_plugin/`.

The folder gets metadata.txt, requirements.txt (the pins its package installer installs), the QGIS-side
code, the engine, shipped models, resources and the compiled translations, so it unpacks straight into a
QGIS profile's python/plugins folder.

    python build.py            # zip into dist/
    python build.py --dir DIR  # also (or only) lay the plugin folder out in DIR, for QGIS_PLUGINPATH

Translations: i18n/mpm_studio_<locale>.ts (Qt Linguist, kept in git; `python i18n/update_ts.py`
adds new tr() strings) are compiled at every build into mpm_plugin/i18n/mpm_studio_<locale>.qm inside
the zip / --dir folder, with Qt's lrelease (Debian: qttools5-dev-tools) or, without it, the
byte-identical writer below. The .qm files are build outputs: never written into the checkout, not
in git (.gitignore: i18n/*.qm). A checkout imported as is (tests) runs untranslated, in English.
"""

import argparse
import os
import shutil
import struct
import subprocess
import tempfile
import xml.etree.ElementTree as ET
import zipfile

ROOT = os.path.dirname(os.path.abspath(__file__))
PLUGIN = "mpm_plugin"
PACKAGES = ("engine", "models", "resources")  # i18n/: only the compiled .qm files go in (compile_translations)
I18N = os.path.join(ROOT, "i18n")
SKIP = ("__pycache__", ".pyc", ".ts", ".partial")
LRELEASE_PATHS = ("/usr/lib/qt5/bin/lrelease", "/usr/lib/x86_64-linux-gnu/qt5/bin/lrelease")


def find_lrelease():
    """Qt 5's lrelease (PATH, then Debian's qt5 folders), or None."""
    return shutil.which("lrelease") or next((p for p in LRELEASE_PATHS if os.path.exists(p)), None)


# ---- .ts -> .qm without Qt's tools: the QM format as Qt 5's lrelease writes it (SaveEverything mode) ----

QM_MAGIC = bytes([0x3C, 0xB8, 0x64, 0x18, 0xCA, 0xEF, 0x9C, 0x95, 0xCD, 0x21, 0x1C, 0xBF, 0x60, 0xA1, 0xBD, 0xDD])
QM_LANGUAGE, QM_HASHES, QM_MESSAGES = 0xA7, 0x42, 0x69
TAG_END, TAG_TRANSLATION, TAG_SOURCE, TAG_CONTEXT, TAG_COMMENT = 1, 3, 6, 7, 8


def _elf_hash(data):
    """Qt's elfHash over the UTF-8 bytes of source text + comment (what QTranslator looks up)."""
    h = 0
    for byte in data:
        h = ((h << 4) + byte) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h or 1


def write_qm(ts_path, qm_path):
    """Compile one .ts like `lrelease ts -qm qm` (same bytes for plain messages); returns the number of messages.

    Unfinished entries with a translation are included (lrelease's default), empty, vanished and
    obsolete ones are not. Plural (numerus) messages are not supported: install lrelease for those.
    """
    root = ET.parse(ts_path).getroot()
    messages = []
    for ctx in root.iter("context"):
        context = (ctx.findtext("name") or "").encode("utf-8")
        for msg in ctx.findall("message"):
            if msg.get("numerus") == "yes":
                raise RuntimeError(f"{ts_path}: plural messages need Qt's lrelease: "
                                   "apt-get install qttools5-dev-tools")
            translation = msg.find("translation")
            if translation is None or translation.get("type") in ("vanished", "obsolete") or not translation.text:
                continue
            comment = (msg.findtext("comment") or "").encode("utf-8")
            messages.append((context, (msg.findtext("source") or "").encode("utf-8"), comment, translation.text))
    messages.sort(key=lambda m: m[:3])
    body, hashes = bytearray(), []

    def field(tag, data):
        body.extend(struct.pack(">BI", tag, len(data)) + data)

    for context, source, comment, text in messages:
        hashes.append((_elf_hash(source + comment), len(body)))
        field(TAG_TRANSLATION, text.encode("utf-16-be"))
        field(TAG_COMMENT, comment)
        field(TAG_SOURCE, source)
        field(TAG_CONTEXT, context)
        body.append(TAG_END)
    out = bytearray(QM_MAGIC)
    language = (root.get("language") or "").encode("utf-8")
    if language:
        out += struct.pack(">BI", QM_LANGUAGE, len(language)) + language
    table = b"".join(struct.pack(">II", h, offset) for h, offset in sorted(hashes))
    out += struct.pack(">BI", QM_HASHES, len(table)) + table
    out += struct.pack(">BI", QM_MESSAGES, len(body)) + bytes(body)
    tmp = qm_path + ".partial"
    with open(tmp, "wb") as f:
        f.write(out)
    os.replace(tmp, qm_path)
    return len(messages)


def compile_translations(dest_dir, ts_dir=I18N, lrelease="auto"):
    """Every ts_dir/*.ts -> dest_dir/<same name>.qm; returns the .qm paths.

    lrelease: "auto" (Qt's lrelease when installed, else write_qm), a path to lrelease, or None (write_qm).
    """
    ts_files = sorted(f for f in os.listdir(ts_dir) if f.endswith(".ts")) if os.path.isdir(ts_dir) else []
    tool = find_lrelease() if lrelease == "auto" else lrelease
    os.makedirs(dest_dir, exist_ok=True)
    out = []
    for ts in ts_files:
        src, qm = os.path.join(ts_dir, ts), os.path.join(dest_dir, ts[:-3] + ".qm")
        if tool:
            subprocess.run([tool, "-silent", src, "-qm", qm], check=True)
            if not os.path.exists(qm):
                raise RuntimeError(f"{tool} wrote no {qm}")
        else:
            write_qm(src, qm)
        out.append(qm)
    return out


def files(qm_files=()):
    """(absolute source path, path inside the zip) for everything the plugin needs; qm_files go to i18n/."""
    yield os.path.join(ROOT, "metadata.txt"), f"{PLUGIN}/metadata.txt"
    yield os.path.join(ROOT, "requirements.txt"), f"{PLUGIN}/requirements.txt"  # the pins mpm_plugin.installer installs
    for qm in qm_files:
        yield qm, f"{PLUGIN}/i18n/{os.path.basename(qm)}"
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
    with tempfile.TemporaryDirectory() as qm_dir:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for src, arc in files(compile_translations(qm_dir)):
                z.write(src, arc)
    os.replace(tmp, zpath)
    return zpath


def build_dir(dest_dir):
    target = os.path.join(dest_dir, PLUGIN)
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory() as qm_dir:
        for src, arc in files(compile_translations(qm_dir)):
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
    if not args.no_zip:
        print(build_zip(args.out))
    if args.dir:
        print(build_dir(args.dir))


if __name__ == "__main__":
    main()
