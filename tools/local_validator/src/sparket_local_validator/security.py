"""The validator's `SecurityManager`: blacklist, registration, cooldowns and fail2ban.

Rules (docs/validator-facts.md), all per validator and all in memory except the blacklist:

* `record_failure` (called by the listener) files a failure under the body hotkey and the
  body IP. Ten cooldown failures in a rolling 60 s (re)trigger a hotkey cooldown on *every*
  qualifying failure, doubling from 30 s to a 3600 s cap, so one burst escalates. An IP
  not already cooling down enters a cooldown (60 s doubling to 3600 s) after 50 failures in
  300 s or once 5 distinct hotkeys have ever failed from it.
* `check_request` (called by the front gate on the header hotkey and middleware IP)
  answers blacklist -> registration -> cooldown (hotkey, then IP). A 429 is a violation
  charged to both the hotkey and the IP; 20 violations in a rolling hour ban the hotkey,
  or else the IP, for 24 h. A 403 is never a violation.
* At most every 300 s, `check_request` drops failures and violations older than 24 h and
  forgets records left empty and not cooling down, which is the only way the backoff
  level ever decays.

Violations are recorded synchronously here; Sparket records them from a fire-and-forget
task that runs right after the 429 is sent, which the test clients cannot tell apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sparket_local_validator.clock import Clock
from sparket_local_validator.config import SecurityConfig
from sparket_local_validator.counters import Counters
from sparket_local_validator.decisions import Allow, Cooldown, Decision, Forbidden
from sparket_local_validator.failures import COOLDOWN_FAILURES, FailureType
from sparket_local_validator.records import FailureRecord, IpRecord, RecordView

IdentifierKind = Literal["hotkey", "ip"]


@dataclass(frozen=True)
class BlacklistEntry:
    """One ban, as the `security_blacklist` table stores it (None = permanent)."""

    identifier: str
    kind: IdentifierKind
    expires_at: float | None


class SecurityManager:
    """Sparket's default-configured security manager, driven by an injected clock."""

    def __init__(
        self,
        clock: Clock,
        *,
        config: SecurityConfig | None = None,
        counters: Counters | None = None,
        registered: Iterable[str] = (),
    ) -> None:
        self._clock = clock
        self.config = config or SecurityConfig()
        self.counters = counters or Counters()
        self._registered: set[str] = {hk for hk in registered if hk}
        self._hotkeys: dict[str, FailureRecord] = {}
        self._ips: dict[str, IpRecord] = {}
        self._banned_hotkeys: dict[str, float | None] = {}
        self._banned_ips: dict[str, float | None] = {}
        self._last_cleanup = clock.now()

    # Registration -----------------------------------------------------------------

    def set_registered(self, hotkeys: Iterable[str]) -> None:
        """Replace the metagraph copy, as each metagraph sync does."""
        self._registered = {hk for hk in hotkeys if hk}

    def is_registered(self, hotkey: str) -> bool:
        return hotkey in self._registered

    # Blacklist ----------------------------------------------------------------------

    def add_to_blacklist(
        self, identifier: str, kind: IdentifierKind, *, duration: float | None
    ) -> None:
        """Ban for `duration` seconds from now, or permanently when it is None."""
        expires_at = None if duration is None else self._clock.now() + duration
        table = self._banned_hotkeys if kind == "hotkey" else self._banned_ips
        table[identifier] = expires_at

    def load_blacklist(self, entries: Iterable[BlacklistEntry]) -> None:
        """Start-up reload: only permanent bans and bans that have not expired."""
        now = self._clock.now()
        for entry in entries:
            if entry.expires_at is None or entry.expires_at > now:
                table = self._banned_hotkeys if entry.kind == "hotkey" else self._banned_ips
                table[entry.identifier] = entry.expires_at

    def blacklist_entries(self) -> list[BlacklistEntry]:
        """What a restart would find persisted (expired rows included, as in the table)."""
        hotkeys = [BlacklistEntry(k, "hotkey", v) for k, v in self._banned_hotkeys.items()]
        ips = [BlacklistEntry(k, "ip", v) for k, v in self._banned_ips.items()]
        return hotkeys + ips

    def is_blacklisted(self, hotkey: str | None, ip: str | None) -> Forbidden | None:
        """The hotkey ban wins over the IP ban; expired bans are dropped on sight."""
        now = self._clock.now()
        if self._still_banned(self._banned_hotkeys, hotkey, now):
            return Forbidden("hotkey_blacklisted")
        if self._still_banned(self._banned_ips, ip, now):
            return Forbidden("ip_blacklisted")
        return None

    @staticmethod
    def _still_banned(table: dict[str, float | None], key: str | None, now: float) -> bool:
        if not key or key not in table:
            return False
        expires_at = table[key]
        if expires_at is None or expires_at > now:
            return True
        del table[key]
        return False

    # The middleware's check ------------------------------------------------------

    def check_request(self, hotkey: str | None, ip: str | None) -> Decision:
        """Blacklist, then registration, then cooldown; a 429 also counts a violation.

        An absent hotkey header skips the registration check, as in Sparket (bittensor's
        own header parsing rejects such a request afterwards).
        """
        self._maybe_cleanup()
        banned = self.is_blacklisted(hotkey, ip)
        if banned is not None:
            self.counters.forbidden_responses += 1
            return banned
        if hotkey and not self.is_registered(hotkey):
            self.counters.forbidden_responses += 1
            return Forbidden("not_registered")
        cooldown = self._cooldown(hotkey, ip)
        if cooldown is None:
            return Allow()
        self.counters.cooldown_responses += 1
        self.record_violation(hotkey, ip)
        return cooldown

    def _cooldown(self, hotkey: str | None, ip: str | None) -> Cooldown | None:
        now = self._clock.now()
        hotkey_record = self._hotkeys.get(hotkey) if hotkey else None
        if hotkey_record is not None and hotkey_record.in_cooldown(now):
            return Cooldown("hotkey_cooldown", hotkey_record.cooldown_until - now)
        ip_record = self._ips.get(ip) if ip else None
        if ip_record is not None and ip_record.in_cooldown(now):
            return Cooldown("ip_cooldown", ip_record.cooldown_until - now)
        return None

    # Fail2ban ----------------------------------------------------------------------

    def record_violation(self, hotkey: str | None, ip: str | None) -> BlacklistEntry | None:
        """Charge a 429 to the hotkey and the IP; ban the hotkey first, else the IP."""
        cfg = self.config
        now = self._clock.now()
        self.counters.violations += 1
        hotkey_count = ip_count = 0
        if hotkey:
            record = self._hotkeys.setdefault(hotkey, FailureRecord())
            record.add_violation(now)
            hotkey_count = record.count_violations(now, cfg.fail2ban_violation_window_sec)
        if ip:
            ip_record = self._ips.setdefault(ip, IpRecord())
            ip_record.add_violation(now)
            ip_count = ip_record.count_violations(now, cfg.fail2ban_violation_window_sec)
        if hotkey and hotkey_count >= cfg.fail2ban_violation_threshold:
            self.add_to_blacklist(hotkey, "hotkey", duration=cfg.fail2ban_duration_sec)
            self.counters.hotkey_bans += 1
            return BlacklistEntry(hotkey, "hotkey", now + cfg.fail2ban_duration_sec)
        if ip and ip_count >= cfg.fail2ban_violation_threshold:
            self.add_to_blacklist(ip, "ip", duration=cfg.fail2ban_duration_sec)
            self.counters.ip_bans += 1
            return BlacklistEntry(ip, "ip", now + cfg.fail2ban_duration_sec)
        return None

    # Failures and cooldowns ----------------------------------------------------------

    def record_failure(self, hotkey: str | None, ip: str | None, kind: FailureType) -> None:
        """File one listener failure under the body hotkey and the body IP."""
        cfg = self.config
        now = self._clock.now()
        self.counters.failures[kind] += 1
        if hotkey:
            record = self._hotkeys.setdefault(hotkey, FailureRecord())
            record.add_failure(now, kind)
            recent = record.count_failures(now, cfg.hotkey_failure_window_sec, COOLDOWN_FAILURES)
            if recent >= cfg.hotkey_failure_threshold:
                # No "already in cooldown" guard: Sparket re-triggers and doubles each time.
                self._start_cooldown(
                    record, now, cfg.hotkey_initial_cooldown_sec, cfg.hotkey_max_cooldown_sec
                )
                self.counters.hotkey_cooldowns_started += 1
        if ip:
            ip_record = self._ips.setdefault(ip, IpRecord())
            ip_record.add_failure(now, kind)
            ip_record.failing_hotkeys.add(hotkey or "unknown")
            trigger = (
                ip_record.count_failures(now, cfg.ip_failure_window_sec) >= cfg.ip_failure_threshold
                or len(ip_record.failing_hotkeys) >= cfg.ip_distinct_hotkey_threshold
            )
            if trigger and not ip_record.in_cooldown(now):
                self._start_cooldown(
                    ip_record, now, cfg.ip_initial_cooldown_sec, cfg.ip_max_cooldown_sec
                )
                self.counters.ip_cooldowns_started += 1

    def _start_cooldown(
        self, record: FailureRecord, now: float, initial: float, cap: float
    ) -> None:
        record.cooldown_count += 1
        factor = self.config.backoff_multiplier ** (record.cooldown_count - 1)
        record.cooldown_until = now + min(initial * factor, cap)

    # Cleanup ---------------------------------------------------------------------------

    def _maybe_cleanup(self) -> None:
        now = self._clock.now()
        if now - self._last_cleanup < self.config.cleanup_interval_sec:
            return
        self._last_cleanup = now
        retention = self.config.failure_retention_sec
        for records in (self._hotkeys, self._ips):
            stale = []
            for key, record in records.items():
                record.prune(now, retention)
                if record.is_stale(now):
                    stale.append(key)
            for key in stale:
                del records[key]
        for table in (self._banned_hotkeys, self._banned_ips):
            expired = [key for key, until in table.items() if until is not None and until <= now]
            for key in expired:
                del table[key]

    # Inspection ----------------------------------------------------------------------

    def hotkey_record(self, hotkey: str) -> RecordView | None:
        record = self._hotkeys.get(hotkey)
        return None if record is None else RecordView.of(record)

    def ip_record(self, ip: str) -> RecordView | None:
        record = self._ips.get(ip)
        return None if record is None else RecordView.of(record)
