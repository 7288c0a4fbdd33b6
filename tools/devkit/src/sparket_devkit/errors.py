"""Errors the devkit raises; each carries one line a person can act on."""

from __future__ import annotations


class DevkitError(RuntimeError):
    """Base class: the message is the one line printed to the user."""


class MissingDependency(DevkitError):
    """A program or package the local setup needs is not installed and cannot be had."""


class StartupFailed(DevkitError):
    """A local server did not become ready; the message names it and its log file."""
