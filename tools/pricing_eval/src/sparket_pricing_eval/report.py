"""One evaluation end to end: simulate, walk forward, score, and write the three files.

`DIR/report.md` is for people (tables, targets, how the numbers were made), `metrics.json`
the same numbers for machines, `calibration.png` the reliability diagram. The targets gate
CI: per league, the built-in engine's overall Brier within 2% of the oracle's and below the
reference formula's.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path

from miner_runtime.protocol.messages import League
from sparket_pricing_eval.evaluate import (
    BUILT_IN,
    ORACLE,
    PREDICTORS,
    REFERENCE,
    REFIT_DAYS,
    LeagueRun,
    evaluate_league,
)
from sparket_pricing_eval.metrics import OVERALL, Scores, by_kind
from sparket_pricing_eval.plot import write_calibration
from sparket_pricing_eval.simulate import BASKETBALL, SOCCER, SimConfig, simulate

ORACLE_TOLERANCE = 1.02  # built-in Brier <= 1.02 x oracle Brier
_DESCRIPTIONS = {
    BASKETBALL: "basketball-like, Normal family: correlated scores, back-to-backs, overtime",
    SOCCER: "soccer-like, Poisson family: double round robin, three-way moneyline",
}


@dataclass(frozen=True)
class LeagueReport:
    run: LeagueRun
    scores: dict[str, dict[str, Scores]]  # predictor -> market kind (and "overall") -> scores

    @property
    def league(self) -> League:
        return self.run.league

    def brier(self, predictor: str) -> float:
        return self.scores[predictor][OVERALL].brier

    @property
    def gap_pct(self) -> float:
        """How much worse the built-in's overall Brier is than the oracle's, in percent."""
        return 100.0 * (self.brier(BUILT_IN) / self.brier(ORACLE) - 1.0)

    @property
    def near_oracle(self) -> bool:
        return self.brier(BUILT_IN) <= ORACLE_TOLERANCE * self.brier(ORACLE)

    @property
    def beats_reference(self) -> bool:
        return self.brier(BUILT_IN) < self.brier(REFERENCE)

    @property
    def passed(self) -> bool:
        return self.near_oracle and self.beats_reference


@dataclass(frozen=True)
class Report:
    config: SimConfig
    refit_days: int
    leagues: tuple[LeagueReport, ...]

    @property
    def passed(self) -> bool:
        return all(league.passed for league in self.leagues)


def build(config: SimConfig, *, refit_days: int = REFIT_DAYS) -> Report:
    if config.seasons < 2:
        raise ValueError("need at least 2 seasons: history, then the evaluated season")
    leagues = []
    for league, games in simulate(config).items():
        run = evaluate_league(league, games, refit_days=refit_days)
        scores = {name: by_kind(rows) for name, rows in run.rows.items()}
        leagues.append(LeagueReport(run, scores))
    return Report(config, refit_days, tuple(leagues))


def _description(league: League) -> str:
    return _DESCRIPTIONS.get(league, league.value)


def _num(x: float) -> float | None:
    """JSON has no NaN (a kind without rows)."""
    return None if math.isnan(x) else round(x, 6)


def to_json(report: Report) -> dict[str, object]:
    leagues: dict[str, object] = {}
    for lr in report.leagues:
        leagues[lr.league.value] = {
            "description": _description(lr.league),
            "history_games": lr.run.history_games,
            "evaluation_games": lr.run.evaluation_games,
            "pushes_excluded": lr.run.pushes,
            "refits": lr.run.refits,
            "scores": {
                name: {
                    kind: {
                        "brier": _num(s.brier),
                        "log_loss": _num(s.log_loss),
                        "ece": _num(s.ece),
                        "rows": s.rows,
                    }
                    for kind, s in kinds.items()
                }
                for name, kinds in lr.scores.items()
            },
            "brier_gap_vs_oracle_pct": _num(lr.gap_pct),
            "targets": {
                "built_in_within_2pct_of_oracle": lr.near_oracle,
                "built_in_better_than_reference": lr.beats_reference,
            },
        }
    return {
        "config": dataclasses.asdict(report.config) | {"refit_days": report.refit_days},
        "leagues": leagues,
        "passed": report.passed,
    }


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def markdown(report: Report) -> str:
    cfg = report.config
    lines = [
        "# Pricing evaluation on simulated leagues",
        "",
        f"Seed {cfg.seed}, {cfg.seasons} seasons: the first {cfg.seasons - 1} are history, "
        f"the last is evaluated walk-forward (the built-in engine refitted every "
        f"{report.refit_days} days on games strictly before the refit). "
        "Produced by `python -m sparket_pricing_eval`.",
        "",
        "## Targets",
        "",
        "| League | Built-in Brier | Oracle Brier | Gap vs oracle | Reference Brier "
        "| Within 2% of oracle | Better than reference |",
        "|---|---:|---:|---:|---:|:---:|:---:|",
    ]
    for lr in report.leagues:
        lines.append(
            f"| {lr.league.value} | {lr.brier(BUILT_IN):.4f} | {lr.brier(ORACLE):.4f} "
            f"| {lr.gap_pct:+.2f}% | {lr.brier(REFERENCE):.4f} "
            f"| {_verdict(lr.near_oracle)} | {_verdict(lr.beats_reference)} |"
        )
    lines += ["", f"Overall: **{_verdict(report.passed)}**", ""]
    for lr in report.leagues:
        run = lr.run
        lines += [
            f"## {lr.league.value}: {_description(lr.league)}",
            "",
            f"{run.history_games} history games, {run.evaluation_games} evaluated games, "
            f"{run.pushes} pushed markets excluded, {run.refits} refits.",
            "",
            "| Market | Predictor | Brier | Log-loss | ECE | Rows |",
            "|---|---|---:|---:|---:|---:|",
        ]
        kinds = list(lr.scores[BUILT_IN])
        for kind in kinds:
            for name in PREDICTORS:
                s = lr.scores[name].get(kind)
                if s is None:
                    continue
                label = f"**{kind}**" if kind == OVERALL else kind
                lines.append(
                    f"| {label} | {name} | {s.brier:.4f} | {s.log_loss:.4f} "
                    f"| {s.ece:.4f} | {s.rows} |"
                )
        lines.append("")
    lines += [
        "## How the numbers are made",
        "",
        "- **Rows**: one per submitted side of a settled market; the probability is what a "
        "validator stores, 1/odds with the odds in cents within [1.01, 1000]. Pushes "
        "(whole-number lines landing exactly) are excluded. `overall` pools every row.",
        "- **Metrics**: Brier = mean (q - y)^2; log-loss with q clipped to [1e-6, 1 - 1e-6]; "
        "ECE over 10 equal-width bins weighted by count.",
        "- **Built-in**: `fit_league` on every game before the refit time; fair odds "
        "round(1/p, 2), no vig.",
        "- **Oracle**: the exact probabilities of the generating process (Poisson sums; "
        "for basketball the correlated Normal pair integrated over the shared pace, rounded "
        "scores, overtime included), conditioned on no push; fair odds.",
        "- **Reference**: the reference miner's formula (season/home-away/form/point-"
        "differential strengths, Log5, 4.5% vig, two sides only: no draw in soccer, spreads "
        "and totals reuse the moneyline probability with over = home). It sees every result "
        "before the game's day. Its 0.6 blend with bookmaker odds needs an odds source; the "
        "simulation has none, so no blend. A real validator would not score its two-sided "
        "soccer moneylines at all (three-way markets need all three sides); here its two "
        "rows are scored as submitted, so its soccer row counts differ from the others'.",
        "- **Baseline**: home/draw/away frequencies of the history seasons for moneylines, "
        "0.5/0.5 for spreads and totals; fair odds.",
        "- **Simulation**: strengths drift every game day and change over the off-season, "
        "team-specific home advantage, a back-to-back penalty, correlated basketball scores "
        "with an overtime coin weighted by strength, independent Poisson goals; lines are the "
        "true expectation plus a little noise rounded to the nearest 0.5.",
        "",
        "![calibration](calibration.png)",
        "",
    ]
    return "\n".join(lines)


def summary(report: Report) -> str:
    lines = []
    for lr in report.leagues:
        lines.append(
            f"{lr.league.value}: Brier built-in {lr.brier(BUILT_IN):.4f}, oracle "
            f"{lr.brier(ORACLE):.4f} ({lr.gap_pct:+.2f}%), reference {lr.brier(REFERENCE):.4f}"
            f" -> within 2% {_verdict(lr.near_oracle)}, "
            f"better than reference {_verdict(lr.beats_reference)}"
        )
    lines.append(f"targets: {_verdict(report.passed)}")
    return "\n".join(lines) + "\n"


def write(report: Report, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(markdown(report))
    (out / "metrics.json").write_text(json.dumps(to_json(report), indent=2) + "\n")
    panels = {
        f"{lr.league.value} ({_description(lr.league).split(',')[0]})": lr.run.rows
        for lr in report.leagues
    }
    write_calibration(panels, out / "calibration.png")
