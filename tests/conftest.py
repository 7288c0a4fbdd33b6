"""Test-suite wiring: the testkit's fixtures start real servers on loopback for each session."""

pytest_plugins = ["sparket_testkit.pytest_plugin"]
