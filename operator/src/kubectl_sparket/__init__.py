"""`kubectl sparket`: fleet work over SparketMiners (status, import, pause, resume, restart,
report), as a kubectl plugin (a `kubectl-sparket` program on PATH)."""
