"""The runtime's own small error tree; each message is one line a person can act on."""

from __future__ import annotations


class MinerRuntimeError(Exception):
    """Base class for errors the runtime raises on purpose."""


class ConfigError(MinerRuntimeError):
    """Invalid settings: the process stops with this one line, naming the setting."""
