"""`python -m sparket_pricing_eval --out DIR [--seed N] [--seasons N] [--no-gate]`

Simulates the leagues, evaluates the four predictors and writes DIR/report.md,
DIR/metrics.json and DIR/calibration.png. Exits 1 when a target fails (CI gates on it)
unless --no-gate.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sparket_pricing_eval.evaluate import REFIT_DAYS
from sparket_pricing_eval.report import build, summary, write
from sparket_pricing_eval.simulate import SimConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sparket_pricing_eval",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, required=True, help="directory for the report")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--seasons", type=int, default=4, help="simulated seasons; the last is evaluated (>= 2)"
    )
    parser.add_argument("--refit-days", type=int, default=REFIT_DAYS)
    parser.add_argument("--no-gate", action="store_true", help="exit 0 even when a target fails")
    args = parser.parse_args(argv)
    if args.seasons < 2:
        parser.error("--seasons must be at least 2 (history, then the evaluated season)")
    if args.refit_days < 1:
        parser.error("--refit-days must be at least 1")
    began = time.monotonic()
    report = build(SimConfig(seed=args.seed, seasons=args.seasons), refit_days=args.refit_days)
    write(report, args.out)
    sys.stdout.write(summary(report))
    sys.stdout.write(
        f"wrote {args.out}/report.md, metrics.json, calibration.png "
        f"in {time.monotonic() - began:.1f}s\n"
    )
    return 0 if report.passed or args.no_gate else 1


if __name__ == "__main__":
    sys.exit(main())
