"""A local Sparket-compatible validator: the pure engine behind a real bittensor Axon.

`LocalValidator` wires the parts together for tests and demos:

* `ValidatorAxon` (axon_server.py): gate middleware, bittensor's verify, the listener;
* `ConnectionInfoPusher` (pusher.py): CONNECTION_INFO rounds with the current token;
* `CountersServer` (counters_http.py): `GET /counters` on its own loopback port;
* the chain through two callables (`registered_hotkeys`, `push_targets`; see
  mock_chain.py for a MockSubtensor adapter), re-read by `sync_metagraph()`;
* odds and outcome ingest over a `Catalog`, kept across restarts like the validator's
  database, and the game-data snapshot built from the same catalog.

Threads: the Axon serves from uvicorn's thread, the pusher from its own thread and event
loop, the counters server from stdlib threads; every engine call takes one lock
(guarded.py). `start()`, `stop()` and `restart()` are plain blocking calls that return
within a second or two, so a sync test and an asyncio test use the object the same way.
Time is the wall clock (`SystemClock`): this is the over-the-wire double; the engine
itself is tested on a fake clock.
"""

from __future__ import annotations

import collections
import concurrent.futures
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import bittensor as bt

from sparket_local_services.ports import free_port
from sparket_local_services.waits import wait_for
from sparket_local_validator.axon_server import AxonWallet, ValidatorAxon
from sparket_local_validator.clock import SystemClock
from sparket_local_validator.config import DEFAULT_TOKEN_ROTATION_SEC, RateLimits, SecurityConfig
from sparket_local_validator.counters_http import CountersServer
from sparket_local_validator.engine import ValidatorEngine
from sparket_local_validator.games import game_data_snapshot
from sparket_local_validator.guarded import GuardedEngine
from sparket_local_validator.ingest import (
    Catalog,
    Event,
    OddsIngest,
    OddsRow,
    OutcomeIngest,
    OutcomeRow,
)
from sparket_local_validator.listener import Reply
from sparket_local_validator.pusher import DEFAULT_INTERVAL_SEC, ConnectionInfoPusher, PushRound
from sparket_local_validator.records import RecordView
from sparket_local_validator.tokens import secret_from_setting

START_TIMEOUT_SEC = 20.0


class LocalValidator:
    """One validator process on loopback; `restart()` simulates a process restart."""

    def __init__(
        self,
        keypair: Any,
        *,
        port: int,
        registered_hotkeys: Callable[[], Iterable[str]],
        push_targets: Callable[[], Iterable[Any]] = tuple,
        catalog: Catalog | None = None,
        host: str = "127.0.0.1",
        external_ip: str = "127.0.0.1",
        counters_port: int | None = None,
        push_interval_seconds: float = DEFAULT_INTERVAL_SEC,
        first_push_delay_seconds: float = 0.0,
        push_secret: str | bytes | None = None,
        token_rotation_seconds: int = DEFAULT_TOKEN_ROTATION_SEC,
        rate_limits: RateLimits | None = None,
        security_config: SecurityConfig | None = None,
        cache_response_headers: bool = True,
        coldkeypub: Any | None = None,
    ) -> None:
        """`keypair` is the validator's hotkey (a `bittensor_wallet.Keypair`); `port` is the
        axon's, on `host`; `external_ip` is what CONNECTION_INFO and `axon_info()` give out.
        `counters_port=None` picks a free one. `cache_response_headers=False` gives the
        stock (slow) reply path, for the benchmark.

        `first_push_delay_seconds` holds the first CONNECTION_INFO after each start or
        restart back that long while the axon already serves: upstream's first loop
        iteration follows start-up work, and in that window the miners' old token is
        `token_invalid`. `push_secret` fixes the token secret, as upstream's
        `SPARKET_VALIDATOR_PUSH_SECRET` does (a string counts by its UTF-8 bytes); the same
        secret is then used after a restart, so tokens survive it, as they would upstream.
        """
        self.keypair = keypair
        self.host = host
        self.port = port
        self.external_ip = external_ip
        self.catalog = catalog if catalog is not None else Catalog()
        self._wallet = AxonWallet(keypair, coldkeypub)
        self._registered_hotkeys = registered_hotkeys
        self._push_targets = push_targets
        self._push_interval = push_interval_seconds
        self._first_push_delay = first_push_delay_seconds
        self._push_secret = None if push_secret is None else secret_from_setting(push_secret)
        self._token_rotation = token_rotation_seconds
        self._rate_limits = rate_limits
        self._security_config = security_config
        self._cache_headers = cache_response_headers
        self._clock = SystemClock()
        self._registered: frozenset[str] = frozenset()
        self._odds = OddsIngest(self._clock, self.catalog, is_known_miner=self._is_known_miner)
        self._outcomes = OutcomeIngest(self._clock, self.catalog)
        self._guarded = GuardedEngine(self._new_engine())
        self._counters = CountersServer(
            self.counters, host=host, port=counters_port if counters_port else free_port(host)
        )
        self._axon: ValidatorAxon | None = None
        self._pusher: ConnectionInfoPusher | None = None
        self.restarts = 0
        # Counters of the engines before the last restart, so totals survive restarts.
        self._retired: collections.Counter[str] = collections.Counter()

    # Lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Sync the metagraph, serve the axon and the counters, start pushing."""
        self._counters.start()
        started = False
        try:
            self._start_process()
            started = True
        finally:
            if not started:
                self.stop()

    def stop(self) -> None:
        self._stop_process()
        self._counters.stop()

    def restart(self) -> None:
        """A validator process restart, on the same port.

        New engine, as a new upstream process has (`SecurityManager.__init__` in
        `sparket/validator/security/manager.py`, `ValidatorComms` in `comms.py`): a new
        token secret (every token handed out is now `token_invalid`, unless `push_secret`
        fixes it), empty rate-limit windows, and no hotkey or IP record at all: failures,
        violations, cooldowns, backoff levels and `failing_hotkeys` are gone. What the
        validator's database keeps survives: the bans (reloaded as upstream's
        `load_blacklist_from_db` does at start-up, expired ones dropped) and the stored
        odds and outcomes. The axon (with its nonce memory) and the pusher are new too; the
        first push goes out after `first_push_delay_seconds` with the new token.
        """
        if self._axon is None:
            raise RuntimeError("restart() needs a running validator")
        self._stop_process()
        with self._guarded.use() as old:
            bans = old.security.blacklist_entries()
            self._retired.update(old.counters.snapshot())
        fresh = self._new_engine()
        fresh.security.load_blacklist(bans)
        self._guarded.replace(fresh)
        self.restarts += 1
        self._start_process()

    def __enter__(self) -> LocalValidator:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _start_process(self) -> None:
        self.sync_metagraph()
        axon = ValidatorAxon(
            self._guarded,
            wallet=self._wallet,
            host=self.host,
            port=self.port,
            external_ip=self.external_ip,
            cache_response_headers=self._cache_headers,
        )
        axon.start()
        self._axon = axon
        wait_for(lambda: axon.serving, timeout=START_TIMEOUT_SEC, what="the validator axon")
        self._pusher = ConnectionInfoPusher(
            keypair=self.keypair,
            host=self.external_ip,
            port=self.port,
            token=self.current_token,
            targets=self._push_targets,
            interval_seconds=self._push_interval,
            first_delay_seconds=self._first_push_delay,
        )
        self._pusher.start()

    def _stop_process(self) -> None:
        if self._pusher is not None:
            self._pusher.stop()
            self._pusher = None
        if self._axon is not None:
            self._axon.stop()
            self._axon = None

    def _new_engine(self) -> ValidatorEngine:
        return ValidatorEngine(
            self._clock,
            registered=self._registered,
            # An empty secret means none, as an empty environment variable does upstream.
            secret=self._push_secret or secrets.token_bytes(32),
            token_rotation_seconds=self._token_rotation,
            rate_limits=self._rate_limits,
            security_config=self._security_config,
            game_data=self._game_data,
            odds_sink=self._odds,
            outcome_sink=self._outcomes,
        )

    # The chain -----------------------------------------------------------------------------

    def sync_metagraph(self) -> None:
        """Re-read the registered hotkeys, as each upstream metagraph sync does: a hotkey
        registered since the last sync is 403 `not_registered` until this runs."""
        hotkeys = frozenset(hk for hk in self._registered_hotkeys() if hk)
        with self._guarded.use() as engine:
            engine.security.set_registered(hotkeys)
            self._registered = hotkeys

    def _is_known_miner(self, hotkey: str) -> bool:
        """The `miner` table lookup: upstream builds it from the same metagraph."""
        return hotkey in self._registered

    # Pushing -------------------------------------------------------------------------------

    def current_token(self) -> str:
        with self._guarded.use() as engine:
            return engine.tokens.current()

    def push_now(self) -> concurrent.futures.Future[PushRound]:
        """A CONNECTION_INFO round starting now; `.result(timeout)` or `asyncio.wrap_future`."""
        if self._pusher is None:
            raise RuntimeError("the validator is not running")
        return self._pusher.push_now()

    @property
    def push_rounds(self) -> list[PushRound]:
        """Rounds finished by the current process (a restart starts a new list)."""
        return list(self._pusher.rounds) if self._pusher is not None else []

    @property
    def skipped_push_rounds(self) -> int:
        """Rounds not started because the previous one was still running."""
        return self._pusher.skipped_rounds if self._pusher is not None else 0

    # What tests and demos look at ----------------------------------------------------------

    def axon_info(self) -> Any:
        """The `bittensor.AxonInfo` a Dendrite targets (loopback host, real port)."""
        return bt.AxonInfo(
            version=1,
            ip=self.host,
            port=self.port,
            ip_type=4,
            hotkey=self.keypair.ss58_address,
            coldkey=self._wallet.coldkeypub.ss58_address,
        )

    @property
    def hotkey(self) -> str:
        return str(self.keypair.ss58_address)

    @property
    def counters_url(self) -> str:
        return self._counters.url

    @contextmanager
    def locked(self) -> Iterator[ValidatorEngine]:
        """The current engine under the engine lock, for assertions on its state."""
        with self._guarded.use() as engine:
            yield engine

    def add_event(self, event: Event) -> None:
        """Add an event to the catalog while serving (ingest and game data read it)."""
        with self._guarded.use():
            self.catalog.add(event)

    @property
    def odds_rows(self) -> list[OddsRow]:
        with self._guarded.use():
            return list(self._odds.rows)

    @property
    def outcome_rows(self) -> list[OutcomeRow]:
        with self._guarded.use():
            return list(self._outcomes.rows)

    @property
    def outcome_rejections(self) -> list[str]:
        """Why outcome pushes were not stored (upstream only logs these)."""
        with self._guarded.use():
            return list(self._outcomes.rejections)

    def counters(self) -> dict[str, object]:
        """What `GET /counters` serves: the engine's counters (since the last restart, as
        the validator's own), their `lifetime` totals across restarts, each hotkey's and
        IP's record, every IP a request came from, the bans and how many odds and outcome
        rows are stored."""
        with self._guarded.use() as engine:
            now = self._clock.now()
            hotkeys, ips = self._guarded.seen()
            current = engine.counters.snapshot()
            report: dict[str, object] = dict(current)
            report["lifetime"] = {
                name: self._retired[name] + value for name, value in current.items()
            }
            report["hotkeys"] = {
                hk: _record(view, now)
                for hk in sorted(hotkeys)
                if (view := engine.security.hotkey_record(hk)) is not None
            }
            report["ips"] = {
                ip: _record(view, now)
                for ip in sorted(ips)
                if (view := engine.security.ip_record(ip)) is not None
            }
            report["ips_seen"] = sorted(ips)  # every request's source, penalised or not
            report["bans"] = [
                {"identifier": ban.identifier, "kind": ban.kind, "expires_at": ban.expires_at}
                for ban in engine.security.blacklist_entries()
            ]
            report["odds_rows"] = len(self._odds.rows)
            report["odds_rows_by_hotkey"] = dict(
                collections.Counter(row.hotkey for row in self._odds.rows)
            )
            report["outcome_rows"] = len(self._outcomes.rows)
            report["restarts"] = self.restarts
            return report

    def _game_data(self) -> Reply:
        """Called by the listener, so already under the engine lock."""
        return game_data_snapshot(self.catalog, self._clock.now())


def _record(view: RecordView, now: float) -> dict[str, object]:
    remaining = max(0.0, view.cooldown_until - now)
    return {
        "failures": view.failures,
        "violations": view.violations,
        "cooldown_count": view.cooldown_count,
        "cooldown_remaining_seconds": round(remaining, 3),
        "failing_hotkeys": len(view.failing_hotkeys),
    }
