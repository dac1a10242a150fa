#!/usr/bin/env bash
# README command 1: install everything on Debian 12, then run the main job on the demo data.
# Idempotent: a second run only checks and reuses what is there.
#   --no-demo   install only (what .ci/run uses)
set -euo pipefail
cd "$(dirname "$0")/.."

# xvfb: tests/test_desktop.py and docs/make_screenshots.py run the QGIS desktop; fonts-wqy-microhei: Chinese glyphs
APT_PACKAGES="qgis python3-qgis qgis-providers python3-venv python3-dev gcc libgeos-dev xvfb qttools5-dev-tools fonts-wqy-microhei"
missing=""
for p in $APT_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "Installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $APT_PACKAGES
fi

# The venv must come from Debian's interpreter: it is the one QGIS's Python bindings are built for.
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import qgis.core" 2>/dev/null; then
  rm -rf .venv
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
# Debian's pyproj looks for PROJ's data under sys.prefix (the venv): point it at Debian's PROJ data, else every
# import of it warns "Valid PROJ data directory not found"
if [ -f /usr/share/proj/proj.db ] && [ ! -e .venv/share/proj ]; then
  mkdir -p .venv/share && ln -s /usr/share/proj .venv/share/proj
fi
stamp=$(cat requirements.txt constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat .venv/.requirements-stamp 2>/dev/null)" != "$stamp" ]; then
  echo "Installing Python packages into .venv (pinned, numpy held at Debian's)"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
  echo "$stamp" > .venv/.requirements-stamp
fi
# PyQt6 beside the venv, never on its path: only scripts/qt6_check.py reads it (the plugin's Qt names in Qt6)
if [ ! -d .venv/qt6/PyQt6 ]; then
  .venv/bin/pip install -q --disable-pip-version-check --target .venv/qt6 PyQt6==6.4.2 \
    || echo "PyQt6 not installed: the Qt6 names check (tests/test_qt6_safe.py) will be skipped" >&2
fi
.venv/bin/python -c "import qgis.core, rasterio, shapely, pyogrio, torch, onnxruntime, numpy; assert numpy.__version__ == '1.24.2', numpy.__version__"
echo "Environment ready: $(pwd)/.venv"

if [ "${1:-}" != "--no-demo" ]; then
  .venv/bin/python -m engine demo --out demo_output
fi
