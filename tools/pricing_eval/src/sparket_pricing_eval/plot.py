"""The reliability diagram: per league, observed frequency against forecast probability.

A calibrated predictor sits on the diagonal; the table's ECE is the count-weighted distance
from it, and the picture shows where (too sure at the extremes, too timid, a bias).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from sparket_pricing_eval.metrics import Row, reliability

_STYLES = {
    "built-in": ("tab:blue", "o"),
    "oracle": ("black", "s"),
    "reference": ("tab:red", "^"),
    "baseline": ("tab:gray", "D"),
}


def write_calibration(leagues: Mapping[str, Mapping[str, Sequence[Row]]], path: Path) -> None:
    """`leagues`: title -> predictor -> rows (all market kinds pooled)."""
    # The Agg canvas directly, not pyplot: no global backend state, no display needed.
    fig = Figure(figsize=(6.0 * len(leagues), 5.6))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(leagues), squeeze=False)
    for ax, (title, predictors) in zip(axes[0], leagues.items(), strict=True):
        ax.plot([0.0, 1.0], [0.0, 1.0], color="lightgray", linestyle="--", label="perfect")
        for name, rows in predictors.items():
            bins = [b for b in reliability(rows) if b is not None]
            color, marker = _STYLES.get(name, ("tab:green", "x"))
            ax.plot(
                [b.mean_forecast for b in bins],
                [b.frequency for b in bins],
                color=color,
                marker=marker,
                markersize=4,
                linewidth=1.2,
                label=name,
            )
        ax.set_title(title)
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(0.0, 1.0)
        ax.set_aspect("equal")
        ax.set_xlabel("forecast probability (bin mean)")
        ax.set_ylabel("observed frequency")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
