"""Real processes on loopback for tests, the demo and benchmarks (see pyproject.toml)."""
