# CI-ready on Windows (not run here: this project's machines are Linux): build cocomposer.exe and run it for real.
#
#   powershell -ExecutionPolicy Bypass -File packaging\smoke.ps1
#
# Needs Python 3.10+ on PATH. The packaging tests run the built dist\cocomposer\cocomposer.exe from an empty folder:
# --version, the demo through the bundled model, the panel offscreen, the developer commands refused, and the demo
# with the default MIDI backend (winmm), whose first-run message must name loopMIDI and Windows MIDI Services. The
# JACK test skips (no JACK server).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")

if (-not (Test-Path .venv\Scripts\python.exe)) { python -m venv .venv }
$py = ".venv\Scripts\python.exe"
& $py -m pip install -q --upgrade pip
& $py -m pip install -q -e ".[ui,package,test]"
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

$env:QT_QPA_PLATFORM = "offscreen"
& $py packaging\build.py --archive
if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }

$env:COCOMPOSER_APP = (Resolve-Path dist\cocomposer\cocomposer.exe).Path
& $py -m pytest -q -m packaging tests\test_packaging.py
exit $LASTEXITCODE
