"""The planner's settings, declared and validated once for the Python API, the CLI and HTTP."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Literal

from graphs.errors import InputError

Master = Literal["mip", "cp-sat"]
MASTERS: tuple[Master, ...] = ("mip", "cp-sat")
MAX_HORIZON_WEEKS = 12


@dataclass(frozen=True)
class PlanSettings:
    """Knobs of the planning model; the penalty defaults are documented estimates.

    ``horizon_weeks``: the latest start is the ready date plus this many weeks (cargo waits at
    the origin at its storage rate). ``relative_gap``: stop once the plan is within this share
    of the proven bound. ``split``: every container shipment may travel in lots of at least
    ``min_lot_teu`` (a shipment's own ``split`` also turns it on). ``columns``: generate
    columns (and prove a bound); off, the plan chooses among the candidate routes only.
    ``master``: the solver of the integer plan over the columns. ``alternatives``: corridor
    alternatives searched for the first columns of each shipment (with the cheapest and the
    fastest route); column generation adds other routes where capacity calls for them, so none
    are needed, but the candidate-only plan (``columns=False``) chooses among these alone.
    """

    late_usd_per_teu_day: float = 250.0
    unplanned_usd_per_teu: float = 25_000.0
    horizon_weeks: int = 2
    alternatives: int = 0  # corridor alternatives among the first columns (see the docstring)
    relative_gap: float = 0.001
    split: bool = False
    min_lot_teu: float = 1.0
    columns: bool = True
    master: Master = "mip"
    seed: int = 0
    workers: int = 4  # CP-SAT's portfolio; more than this only time-slices two cores

    def __post_init__(self) -> None:
        for name, low, high in (
            ("late_usd_per_teu_day", 0.0, 1e7),
            ("unplanned_usd_per_teu", 1e-9, 1e8),
            ("relative_gap", 0.0, 1.0),
            ("min_lot_teu", 1e-9, 10_000.0),
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not low <= value <= high
            ):
                raise InputError(f"must be a number from {low:g} to {high:g}, got {value!r}", name)
        for name, low, high in (
            ("horizon_weeks", 0, MAX_HORIZON_WEEKS),
            ("alternatives", 0, 10),
            ("workers", 1, 64),
            ("seed", 0, 2**31 - 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InputError(
                    f"must be a whole number from {low} to {high}, got {value!r}", name
                )
        for name in ("split", "columns"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(f"must be true or false, got {getattr(self, name)!r}", name)
        if self.master not in MASTERS:
            raise InputError(f"'{self.master}' is not one of {', '.join(MASTERS)}", "master")

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> PlanSettings:
        """Settings a user may give (a request body's ``settings``); any other name is an error."""
        if not isinstance(values, dict):
            raise InputError("must be a mapping of setting names to values", "settings")
        for name in values:
            if name not in USER_SETTINGS:
                known = ", ".join(USER_SETTINGS)
                raise InputError(f"unknown setting (known: {known})", f"settings.{name}")
        try:
            return cls(**values)
        except InputError as exc:
            raise InputError(exc.detail, f"settings.{exc.field}") from None


# What users set through the CLI and HTTP (the solver's threads and seed are the server's).
USER_SETTINGS = tuple(f.name for f in fields(PlanSettings) if f.name not in ("workers", "seed"))
