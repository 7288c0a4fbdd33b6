"""Test-suite wiring: the devkit's fixtures start real servers on loopback for each session."""

pytest_plugins = ["sparket_devkit.pytest_plugin"]
