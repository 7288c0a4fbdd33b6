"""Errors the local set-up raises (servers, control plane, demo); each carries one line a
person can act on."""

from __future__ import annotations


class LocalSetupError(RuntimeError):
    """Base class: the message is the one line printed to the user."""


class MissingDependency(LocalSetupError):
    """A program or package the local setup needs is not installed and cannot be had."""


class StartupFailed(LocalSetupError):
    """A local server did not become ready; the message names it and its log file."""
