"""The frozen app's entry point: the same `main` as the `cocomposer` console script.

PyInstaller freezes a script, not a console-script entry point; this file is that script and nothing more, so the
built app and a pip install run one and the same command line.
"""

import sys

from cocomposer.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
