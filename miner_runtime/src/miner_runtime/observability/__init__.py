"""The control API (health, status, metrics) on its own port, never the axon's."""
