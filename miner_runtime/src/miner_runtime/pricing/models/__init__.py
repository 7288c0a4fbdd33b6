"""Statistical models: pure functions and plain data, no I/O (ratings, distributions,
calibration, market blending). Everything here is unit-tested without a network or a store."""
