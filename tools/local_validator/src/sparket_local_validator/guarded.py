"""The engine behind one lock: every thread that touches it goes through here.

`ValidatorEngine` is pure and not thread-safe, while a running local validator reaches it
from the axon's event-loop thread (gate and listener), the pusher's thread (the current
token), the counters server's threads and the caller's own thread (assertions, restart).
One `threading.Lock` around every call keeps each request's gate or listener step atomic,
as the single-process upstream validator is. The engine is swappable for a restart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from sparket_local_validator.decisions import Decision
from sparket_local_validator.engine import ValidatorEngine
from sparket_local_validator.gate import HOTKEY_HEADER, client_ip
from sparket_local_validator.listener import Reply


class GuardedEngine:
    """`admit`/`handle` as the HTTP layer calls them, each under the one lock.

    It also remembers every hotkey and IP the engine has been asked about, because the
    security manager keeps its records private: the counters report walks these keys.
    """

    def __init__(self, engine: ValidatorEngine) -> None:
        self.lock = threading.Lock()
        self._engine = engine
        self._hotkeys: set[str] = set()
        self._ips: set[str] = set()

    @contextmanager
    def use(self) -> Iterator[ValidatorEngine]:
        """The engine, held under the lock for the duration of the block."""
        with self.lock:
            yield self._engine

    def replace(self, engine: ValidatorEngine) -> ValidatorEngine:
        """Swap in a new engine (a validator restart); returns the old one."""
        with self.lock:
            old, self._engine = self._engine, engine
            return old

    def admit(self, path: str, headers: Mapping[str, str], peer: str | None) -> Decision:
        """The security middleware's step, on headers only."""
        hotkey = next((v for k, v in headers.items() if k.lower() == HOTKEY_HEADER), None)
        ip = client_ip(headers, peer)
        with self.lock:
            self._note(hotkey, ip)
            return self._engine.gate.admit(path, headers, peer)

    def handle(
        self, *, hotkey: str | None, ip: str | None, synapse_type: object, payload: object
    ) -> Reply:
        """The listener's step, on the body's claims (`dendrite.hotkey`, `dendrite.ip`)."""
        with self.lock:
            self._note(hotkey, ip)
            return self._engine.listener.handle(
                hotkey=hotkey, ip=ip, synapse_type=synapse_type, payload=payload
            )

    def seen(self) -> tuple[frozenset[str], frozenset[str]]:
        """Every hotkey and IP seen so far (call with the lock held, or accept a race)."""
        return frozenset(self._hotkeys), frozenset(self._ips)

    def _note(self, hotkey: str | None, ip: str | None) -> None:
        if hotkey:
            self._hotkeys.add(hotkey)
        if ip:
            self._ips.add(ip)
