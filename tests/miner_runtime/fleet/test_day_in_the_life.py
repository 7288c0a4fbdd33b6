"""Issue 17's acceptance run: 48 whole runtimes on two egress IPs against three validators
that each restart six times at random moments, one Redis restart and a league that appears
mid-run; the validators' own records are the judge (day_in_the_life.py).

About eleven minutes by design (SPARKET_DAY_SECONDS, default 600). The figures are written to
SPARKET_DAY_REPORT when set; docs/decisions.md quotes a run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sparket_testkit.harness.day_in_the_life import Plan, run

SECONDS = float(os.environ.get("SPARKET_DAY_SECONDS", "600"))
STAMP_SLACK = 1  # requests a send's time stamp may land in the next second (see below)
PENALTIES = (
    "hotkey_cooldowns_started",
    "ip_cooldowns_started",
    "cooldown_responses",
    "violations",
    "hotkey_bans",
    "ip_bans",
    "scanner_bans",
)


@pytest.mark.services
@pytest.mark.timing
@pytest.mark.timeout(SECONDS + 420)
def test_a_fleet_keeps_mining_through_a_validators_day(tmp_path: Path) -> None:
    plan = Plan(seconds=SECONDS)
    report = run(plan, tmp_path)
    if target := os.environ.get("SPARKET_DAY_REPORT"):
        Path(target).write_text(json.dumps(report, indent=2, default=str))
    summary = json.dumps(report, default=str)[:6000]

    for validator in report["validators"].values():
        # Every restart happened, and nothing was ever held against us.
        assert validator["restarts"] >= plan.restarts_per_validator, summary
        for counter in PENALTIES:
            assert validator["lifetime"][counter] == 0, (counter, summary)
        # Each validator process saw at most one failing hotkey per egress IP.
        assert validator["max_failing_hotkeys_per_ip_per_life"] <= 1, summary
        # In every minute that no-token windows leave at least half of, every hotkey got
        # odds accepted, and at least 95% of what the fleet had to send was accepted.
        assert validator["judged_minutes"] >= 4, summary
        detail = json.dumps([validator, report["odds_round_trip_seconds"]], default=str)
        assert validator["silent_hotkey_minutes"] == [], detail[:6000]
        # Except a minute whose push a restart cut off after it left: the runtime holds it
        # as possibly stored and never sends it twice. One push per egress IP is in flight
        # toward a validator (the push lease), so a restart can cut off at most that many.
        in_doubt = validator["in_doubt_hotkey_minutes"]
        assert len(in_doubt) <= validator["restarts"] * len(validator["egress_ips"]), detail
        assert validator["accepted_share"] >= 0.95, summary
    # No hotkey is left refused by the failure budget.
    assert report["failure_budget_refusals_at_end"] == 0, summary
    # Never more than the configured budgets (hotkey 50/min, 3 back to back: at most 4 in
    # a second and 53 in a minute; egress IP 15/s + 4; fleet 20/s + 4), per validator.
    # GCRA holds them on the times Redis grants the slots; a worker stamps a request when
    # it leaves, after Redis's answer came back to an event loop shared by 12 runtimes, so
    # one granted at the end of a second can be stamped in the next: one request of slack
    # (a fresh-clone CI run on 2026-12-05 counted 25 for the fleet, with 0 violations).
    # Counted after the warm-up: while each worker starts 12 runtimes its event loop lags
    # by up to a second, and one CI run stamped 26 pushes in 0.85 s at 18 s. The
    # validators' own counters above (0 violations, 0 cooldowns) judge the whole run.
    per_second = report["per_second_max"]
    assert per_second["hotkey_per_second"] <= 4 + STAMP_SLACK, summary
    assert per_second["hotkey_per_minute"] <= 53 + STAMP_SLACK, summary
    assert per_second["egress_ip_per_second"] <= 19 + STAMP_SLACK, summary
    assert per_second["fleet_per_second"] <= 24 + STAMP_SLACK, summary
    # The league nobody knows was skipped game by game, never the snapshot.
    assert report["skipped_games"].get("unknown_league", 0) > 0, summary
    # Memory is flat once warm: over the second half, each worker (12 runtimes) grows by
    # less than 1 MiB per runtime (the Dendrite's history alone grew ~4.7 KB per request).
    for samples in report["memory"]:
        warm = samples[len(samples) // 2]
        assert samples[-1][2] - warm[2] < 12 * 1024, (samples[0], warm, samples[-1])
