"""The HTTP front gate (`SecurityMiddleware`): what happens before bittensor verifies.

It decides from the path and headers alone, in Sparket's order: scanner probe (403 and a
permanent IP ban), then the skip list of utility paths, then `check_request` on the header
hotkey and the middleware IP. The IP comes from `X-Forwarded-For` (first entry), else
`X-Real-IP`, else the TCP peer: v0.0.5 trusts those headers from anyone, and a faithful
test double must too, or a miner behind a proxy would pass here and fail in production.
"""

from __future__ import annotations

from collections.abc import Mapping

from sparket_local_validator.decisions import Allow, Decision, Forbidden
from sparket_local_validator.security import SecurityManager

SCANNER_PATHS = frozenset({"/", "/admin", "/api", "/login", "/wp-admin", "/robots.txt"})
SKIP_PATHS = frozenset({"/health", "/healthz", "/ready", "/metrics", "/favicon.ico"})
HOTKEY_HEADER = "bt_header_dendrite_hotkey"


def client_ip(headers: Mapping[str, str], peer: str | None) -> str | None:
    """The middleware's idea of the client IP (spoofable by design; validator-facts.md)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    forwarded = lowered.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    real_ip = lowered.get("x-real-ip")
    if real_ip:
        return real_ip.strip()
    return peer


def is_scanner(path: str, headers: Mapping[str, str]) -> bool:
    """A probe of a common path without bt headers, or of `/` without a hotkey header."""
    if path not in SCANNER_PATHS:
        return False
    names = {name.lower() for name in headers}
    if not any(name.startswith("bt_header_") for name in names):
        return True
    lowered = {name.lower(): value for name, value in headers.items()}
    return path == "/" and not lowered.get(HOTKEY_HEADER)


def skips_checks(path: str) -> bool:
    return path in SKIP_PATHS or not path.strip() or path.strip() == "/"


class FrontGate:
    """`admit(path, headers, peer)`: Allow, or the 403/429 the middleware would send."""

    def __init__(self, security: SecurityManager) -> None:
        self._security = security

    def admit(self, path: str, headers: Mapping[str, str], peer: str | None) -> Decision:
        ip = client_ip(headers, peer)
        if is_scanner(path, headers):
            if ip and self._security.is_blacklisted(None, ip) is None:
                self._security.add_to_blacklist(ip, "ip", duration=None)
                self._security.counters.scanner_bans += 1
            self._security.counters.forbidden_responses += 1
            return Forbidden("forbidden")
        if skips_checks(path):
            return Allow()
        lowered = {name.lower(): value for name, value in headers.items()}
        return self._security.check_request(lowered.get(HOTKEY_HEADER), ip)
