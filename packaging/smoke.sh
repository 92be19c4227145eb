#!/usr/bin/env bash
# CI-ready: build the standalone app and run it for real (Linux and macOS; Windows: smoke.ps1).
#
#   packaging/smoke.sh            # .venv with the ui, package and test extras, build dist/cocomposer, run the tests
#
# The packaging tests (tests/packaging/test_packaging.py, marker `packaging`) start the built app from an empty folder with no
# virtualenv in its environment: --version, the demo through the bundled model, the panel offscreen, the demo through
# a private JACK server (skipped where JACK cannot start, except on CI with COCOMPOSER_REQUIRE_JACK=1), and the
# developer commands refused. On macOS the .app is checked too.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e '.[ui,package,test]'

if [ "${CI:-}" = "true" ] && [ "$(uname)" = "Linux" ]; then
    export COCOMPOSER_REQUIRE_JACK=1
fi
export QT_QPA_PLATFORM=offscreen

started=$(date +%s)
python packaging/build.py
echo "build: $(( $(date +%s) - started )) s"

APP="$(pwd)/dist/cocomposer/cocomposer"
if [ "$(uname)" = "Darwin" ]; then
    test -x dist/cocomposer.app/Contents/MacOS/cocomposer
    dist/cocomposer.app/Contents/MacOS/cocomposer --version
fi
COCOMPOSER_APP="$APP" python -m pytest -q -m packaging tests/packaging/test_packaging.py
