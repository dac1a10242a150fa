#!/usr/bin/env bash
# README command 2: the whole test suite, headless (pytest + pytest-qgis, QGIS offscreen).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "No .venv: run 'bash scripts/setup.sh' first." >&2; exit 1; }
export PATH="$(pwd)/.venv/bin:$PATH"  # QGIS's embedded Python takes the first python3 on PATH
export QT_QPA_PLATFORM=offscreen
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null || true
[ -d .venv/qt6/PyQt6 ] && export MPM_PYQT6_PATH="${MPM_PYQT6_PATH:-$(pwd)/.venv/qt6}"  # the Qt6 names check
exec .venv/bin/python -m pytest -ra "$@"
