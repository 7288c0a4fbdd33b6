"""`kubectl sparket status`: the fleet summary and one line per miner. Pure rendering.

Colour only when writing to a terminal (and never with NO_COLOR set or --no-color): green
is good news, yellow is waiting or degraded, red needs someone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sparket_operator.api.fleet_summary import FleetSummary

GREEN, YELLOW, RED, BOLD, RESET = "\033[32m", "\033[33m", "\033[31m", "\033[1m", "\033[0m"
_GOOD = {"True", "Running"}
_BAD = {"False", "Invalid", "Deregistered"}
COLUMNS = ("NAME", "PHASE", "READY", "UID", "INCENTIVE", "ALPHA/DAY", "REGISTERED", "EARNING",
           "VALIDATORS", "SUBMITTED-1H")  # fmt: skip


class Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, colour: str) -> str:
        return f"{colour}{text}{RESET}" if self.enabled else text

    def judged(self, text: str) -> str:
        if text in _GOOD:
            return self(text, GREEN)
        if text in _BAD:
            return self(text, RED)
        return self(text, YELLOW) if text not in {"-", ""} else text


def _condition(miner: Mapping[str, Any], kind: str) -> str:
    for c in (miner.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return str(c.get("status"))
    return "-"


def _number(value: Any, digits: int) -> str:
    return "-" if value is None else f"{float(value):.{digits}f}"


def miner_row(miner: Mapping[str, Any]) -> tuple[str, ...]:
    status = miner.get("status") or {}
    chain = status.get("chain") or {}
    return (
        str(miner["metadata"]["name"]),
        str(status.get("phase") or "-"),
        _condition(miner, "Ready"),
        "-" if status.get("uid") is None else str(status["uid"]),
        _number(chain.get("incentive"), 6),
        _number(chain.get("emissionAlphaPerDay"), 6),
        _condition(miner, "Registered"),
        _condition(miner, "Earning"),
        "-" if status.get("validatorsConnected") is None else str(status["validatorsConnected"]),
        "-" if status.get("submitted1h") is None else str(status["submitted1h"]),
    )


def _table(rows: list[tuple[str, ...]], paint: Paint) -> list[str]:
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    judged = {1, 2, 6, 7}  # phase and conditions
    for row in rows:
        cells = [
            (paint.judged(cell) + " " * (w - len(cell))) if i in judged else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def render(summary: FleetSummary, miners: Iterable[Mapping[str, Any]], *, colour: bool) -> str:
    paint = Paint(colour)
    s = summary
    deregistered = len(s.deregistered)
    headline = (
        f"{s.miners} miners, {s.ready} Ready, {s.registered} registered, "
        f"{s.earning} earning, {s.emission_alpha_per_day:.6f} alpha/day"
    )
    lines = [paint(f"Fleet {s.namespace}: ", BOLD) + headline]
    phases = ", ".join(f"{paint.judged(p)} {n}" for p, n in s.by_phase.items()) or "-"
    lines.append(f"  phases: {phases}")
    for use in s.egress_ips:
        lines.append(f"  egress {use.ip}: {use.hotkeys} hotkeys ({', '.join(use.miners)})")
    if deregistered:
        lines.append("  " + paint(f"deregistered: {', '.join(s.deregistered)}", RED))
    if s.not_earning:
        lines.append("  " + paint(f"not earning: {', '.join(s.not_earning)}", RED))
    for ending in s.immunity_ending:
        lines.append(
            "  " + paint(f"immunity ending: {ending.miner} in {ending.blocks_left} blocks", YELLOW)
        )
    if s.failing_validators:
        for v in s.failing_validators:
            reasons = ", ".join(f"{r} x{n}" for r, n in v.reasons.items())
            lines.append(
                "  " + paint(f"validator {v.validator}: {v.miners} miners held ({reasons})", YELLOW)
            )
    else:
        lines.append("  failing validators: none")
    rows = [miner_row(m) for m in sorted(miners, key=lambda m: str(m["metadata"]["name"]))]
    lines.append("")
    lines += _table(rows, paint)
    return "\n".join(lines)
