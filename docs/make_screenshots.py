#!/usr/bin/env python3
"""Regenerate the README's screenshots: docs/screenshots/panel_en.png and panel_zh_CN.png.

    .venv/bin/python docs/make_screenshots.py              # both
    .venv/bin/python docs/make_screenshots.py zh_CN --keep # one, keeping QGIS's folder (logs, outputs)

Each picture is one run of the real QGIS desktop under Xvfb, as in tests/test_desktop.py (tests/desktop_session.py,
tests/desktop_startup.py): the plugin laid out by build.py --dir, a private profile with the interface language
set (en_US; zh-Hans for Chinese, which QGIS and the plugin both follow), the MPM Studio panel opened from its
toolbar button, the Kolari magnetics, faults, till geochemistry, deposits and study area ticked in it, then
Align (400 m), Fine-tune + validate and Predict from its buttons (the panel loads the aligned stack and validity
mask unticked, below the deposits); the study-area outline is moved above the results and the panel scrolled to its
chain (then validation, Foundation model and Structures) before the main window (1600 x 1200) is grabbed. The PNG
is reduced to
256 colours (about 120 KB).

Needs Xvfb and the QGIS desktop (scripts/setup.sh), the Kolari data (../shared/data/kolari_iocg or MPM_DEMO_DATA),
and for the Chinese picture a font with Chinese glyphs (Debian: apt-get install fonts-wqy-microhei), else Qt
draws empty boxes. About a minute per picture on 2 cores.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
VENV_PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
OUT = os.path.join(DOCS, "screenshots")
LOCALES = {"en": "en_US", "zh_CN": "zh-Hans"}  # file suffix -> QGIS's locale/userLocale
MAX_BYTES = 400_000


def has_chinese_font():
    try:
        out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(out.strip())


def shrink(src, dest):
    """src PNG -> dest PNG with 256 colours (text stays sharp; the map's ramp has few colours anyway)."""
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        tmp = dest + ".partial.png"
        im.save(tmp, optimize=True)
    os.replace(tmp, dest)
    return os.path.getsize(dest)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="*", metavar="{" + ",".join(sorted(LOCALES)) + "}",
                    help="pictures to make (default: all)")
    ap.add_argument("--out", default=OUT, help="folder for the PNGs (default: docs/screenshots)")
    ap.add_argument("--keep", action="store_true", help="keep QGIS's working folders (printed) for inspection")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per QGIS run")
    args = ap.parse_args(argv)
    unknown = sorted(set(args.which) - set(LOCALES))
    if unknown:
        ap.error(f"unknown picture(s) {unknown}: choose from {sorted(LOCALES)}")

    if os.path.exists(VENV_PYTHON) and os.path.realpath(sys.prefix) != os.path.realpath(os.path.join(ROOT, ".venv")):
        os.execv(VENV_PYTHON, [VENV_PYTHON, os.path.abspath(__file__)] + (argv if argv is not None else sys.argv[1:]))
    sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]
    from desktop_session import missing, run_desktop
    from engine.demo import find_demo_data

    problem = missing()
    if problem:
        sys.exit(problem)
    which = args.which or sorted(LOCALES)
    if "zh_CN" in which and not has_chinese_font():
        sys.exit("no font with Chinese glyphs (fc-list :lang=zh is empty): apt-get install fonts-wqy-microhei")
    kolari = find_demo_data()
    os.makedirs(args.out, exist_ok=True)
    failed = False
    for suffix in which:
        work = tempfile.mkdtemp(prefix=f"mpm_screenshot_{suffix}_")
        run = run_desktop(work, kolari, locale=LOCALES[suffix], chain=True, timeout=args.timeout)
        status = run.status or {}
        if not status.get("ok") or not status.get("screenshot"):
            print(f"{suffix}: failed: {status.get('error') or 'no status'}\n{run.diagnostics()}", file=sys.stderr)
            failed = True
            print(f"{suffix}: QGIS's folder kept: {work}", file=sys.stderr)
            continue
        dest = os.path.join(args.out, f"panel_{suffix}.png")
        size = shrink(status["screenshot"], dest)
        print(f"{dest}: {size // 1000} KB | {status.get('validation_summary', '')} | timings (s) {status['timings']}")
        if size > MAX_BYTES:
            print(f"{dest} is over {MAX_BYTES // 1000} KB", file=sys.stderr)
            failed = True
        if args.keep:
            print(f"{suffix}: QGIS's folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
