"""Charts of uncertainty as PNG: a route's arrival distribution and a sweep's causes of delay.

Drawn on matplotlib's Agg canvas (never pyplot), with no timestamp in the file: the same
forecast gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import IO

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from routing.reliability import ArrivalForecast
from routing.sweep import SweepResult

__all__ = ["arrival_chart", "tornado_chart"]

_DPI = 110
_BAR = "#4c78a8"
_LINE = "#222222"
_DUE = "#d62728"


def _save(fig: Figure, fileobj: IO[bytes]) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(fileobj, format="png", dpi=_DPI, metadata={"Software": None})


def _days_after(ready: datetime, moment: datetime) -> float:
    return (moment - ready).total_seconds() / 86400


def arrival_chart(
    forecast: ArrivalForecast, ready: datetime, fileobj: IO[bytes], *, title: str = ""
) -> None:
    """Histogram of door-to-door days over the forecast's draws, its cumulative share on a
    second axis, the p10/p50/p90 and planned days marked, and the due date when there is one.
    The days axis ends at the 99.5th percentile, so one extreme draw does not flatten the rest."""
    days = np.asarray(forecast.transit_days)
    fig = Figure(figsize=(7.0, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    low, high = float(days.min()), float(np.quantile(days, 0.995))
    span = high - low
    bins = max(10, min(60, int(span * 2) + 1)) if span > 0 else 1
    shown = days[days <= high]
    ax.hist(shown, bins=bins, color=_BAR, alpha=0.75, label=f"{forecast.draws:,} draws")
    ax.set_xlim(low - 0.5, high + 0.5)
    ax.set_xlabel("door-to-door days")
    ax.set_ylabel("draws")
    cdf = ax.twinx()
    cdf.plot(np.sort(days), np.linspace(0, 1, len(days)), color=_LINE, linewidth=1.2)
    cdf.set_ylim(0, 1.02)
    cdf.set_ylabel("share arrived")
    marks = (("p10", forecast.p10), ("p50", forecast.p50), ("p90", forecast.p90))
    for row, (q, moment) in enumerate(marks):
        x = _days_after(ready, moment)
        ax.axvline(x, color=_LINE, linestyle=":", linewidth=1)
        ax.annotate(
            f"{q} {x:.1f}",
            (x, 0.97 - 0.07 * row),
            xycoords=("data", "axes fraction"),
            xytext=(3, 0),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=8,
        )
    ax.axvline(_days_after(ready, forecast.planned), color=_LINE, linewidth=1, label="planned")
    if forecast.due is not None and forecast.on_time_probability is not None:
        ax.axvline(
            _days_after(ready, forecast.due),
            color=_DUE,
            linewidth=1.6,
            label=f"due: {forecast.on_time_probability:.0%} on time",
        )
    ax.legend(loc="center right", fontsize=8, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    _save(fig, fileobj)


def tornado_chart(result: SweepResult, fileobj: IO[bytes], *, top: int = 12) -> None:
    """The crossings and services that caused most late days in a sweep, longest bar on top."""
    drivers = [d for d in result.drivers if d.late_days_mean > 0][:top]
    labels: Sequence[str] = [d.id.replace("crossing:", "").replace("service:", "") for d in drivers]
    values = [d.late_days_mean for d in drivers]
    fig = Figure(figsize=(7.0, 0.9 + 0.32 * max(len(drivers), 1)))
    ax = fig.add_subplot(1, 1, 1)
    if drivers:
        y = np.arange(len(drivers))[::-1]
        ax.barh(y, values, color=_BAR)
        ax.set_yticks(y, labels, fontsize=8)
        for yy, value in zip(y, values, strict=True):
            ax.annotate(f"{value:.2f}", (value, yy), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7)  # fmt: skip
    else:
        ax.text(0.5, 0.5, "no shipment was late in any draw", ha="center", va="center",
                transform=ax.transAxes)  # fmt: skip
        ax.set_yticks([])
    ax.set_xlabel(f"late days per draw caused (mean of {result.draws:,} draws)")
    fig.suptitle("What made shipments late", fontsize=10)
    fig.tight_layout()
    _save(fig, fileobj)
