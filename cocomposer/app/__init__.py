"""The command line and what it runs: `cocomposer run`, `ui`, `demo`, `continue`, `calibrate`."""
