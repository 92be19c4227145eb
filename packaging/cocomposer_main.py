"""The frozen app's entry point: the same command as the `cocomposer` console script (`run_as_program`).

PyInstaller freezes a script, not a console-script entry point; this file is that script and nothing more, so the
built app and a pip install run one and the same command line.
"""

from cocomposer.app.cli import run_as_program

if __name__ == "__main__":
    run_as_program()
