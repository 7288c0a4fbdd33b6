"""The test suite's pytest plugin, kubectl helpers and shared test harnesses."""
