"""How sure a route is to arrive: seeded Monte Carlo over border dwell and late services.

A route's own timing takes every border at its median dwell and every service at its
timetable. A forecast replays the route's steps ``draws`` times at once (numpy arrays, one
entry per draw), with these rules:

- An on-demand border step waits for the crossing's next open day (and any scenario closure),
  then dwells a draw from a lognormal through the crossing's ``dwell_hours`` (median) and
  ``dwell_p90_hours``; a gauge change adds its fixed transhipment hours.
- A scheduled ride leaves at the service's next departure at or after the cargo is there: a
  late arrival misses its departure and takes the next one. It arrives after its timetabled
  hours plus the service's delay (``service_delays.csv``) plus, for each crossing it passes,
  the dwell drawn above that crossing's median (the timetable already holds the median; a
  train never runs ahead of it).
- Consecutive on-demand moves in one mode are a leg: a sea, ferry or rail leg arrives late by
  a draw of its mode's delay; road legs and handling keep their hours. Waits are not replayed
  but recomputed by the rules above.

The same route, draws and seed give the same forecast in every interface.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from graphs.errors import InputError
from graphs.network import Network
from graphs.records import Crossing, Service, ServiceDelay
from routing.route import Route, Step, iso

__all__ = [
    "MAX_DRAWS",
    "ArrivalForecast",
    "Lognormal",
    "forecast_arrival",
    "most_reliable",
]

MAX_DRAWS = 100_000
DEFAULT_DRAWS = 1_000
_Z90 = 1.2815515655446004  # the standard normal's 90th percentile
_HOURS_PER_WEEK = 168.0
_EPS = 1e-7

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Lognormal:
    """A positive delay fitted by its median and 90th percentile (both 0: always 0)."""

    p50_hours: float
    p90_hours: float

    def __post_init__(self) -> None:
        if self.p90_hours < self.p50_hours or (self.p50_hours == 0) != (self.p90_hours == 0):
            raise ValueError(
                f"needs 0 < median <= 90th percentile, or both 0; "
                f"got {self.p50_hours:g} and {self.p90_hours:g}"
            )

    @property
    def sigma(self) -> float:
        if self.p50_hours == 0:
            return 0.0
        return math.log(self.p90_hours / self.p50_hours) / _Z90

    def draw(self, rng: np.random.Generator, n: int) -> Array:
        if self.p50_hours == 0:
            return np.zeros(n)
        return self.p50_hours * np.exp(self.sigma * rng.standard_normal(n))

    def excess_over_median(self, rng: np.random.Generator, n: int) -> Array:
        return np.maximum(self.draw(rng, n) - self.p50_hours, 0.0)


def _dwell(crossing: Crossing) -> Lognormal:
    p50 = crossing.dwell_hours
    return Lognormal(p50, max(crossing.dwell_p90_hours, p50)) if p50 > 0 else Lognormal(0, 0)


def _delay_row(network: Network, *targets: str) -> Lognormal:
    rows: Sequence[ServiceDelay] = network.tables.service_delays
    by_target = {row.applies_to: row for row in rows}
    for target in targets:
        row = by_target.get(target)
        if row is not None:
            return Lognormal(row.delay_p50_hours, row.delay_p90_hours)
    return Lognormal(0, 0)


def _service_delay(network: Network, service: Service) -> Lognormal:
    return _delay_row(network, service.id, service.mode)


def _mode_delay(network: Network, mode: str) -> Lognormal:
    """An on-demand leg (sea, ferry or wagonload rail) runs as late as its mode's services;
    road legs have no row and keep their hours."""
    return _delay_row(network, mode)


@dataclass(frozen=True)
class ArrivalForecast:
    """Arrival percentiles over ``draws`` seeded draws, and the chance to arrive by ``due``."""

    draws: int
    seed: int
    planned: datetime
    p10: datetime
    p50: datetime
    p90: datetime
    due: datetime | None
    on_time_probability: float | None
    transit_days: tuple[float, ...]  # every draw, sorted: for histograms and CDFs

    def to_dict(self) -> dict[str, Any]:
        return {
            "draws": self.draws,
            "seed": self.seed,
            "arrive_planned": iso(self.planned),
            "arrive_p10": iso(self.p10),
            "arrive_p50": iso(self.p50),
            "arrive_p90": iso(self.p90),
            "transit_days_p10": round(self._days(0.1), 3),
            "transit_days_p50": round(self._days(0.5), 3),
            "transit_days_p90": round(self._days(0.9), 3),
            "due": iso(self.due) if self.due else None,
            "on_time_probability": (
                None if self.on_time_probability is None else round(self.on_time_probability, 4)
            ),
        }

    def _days(self, q: float) -> float:
        return float(np.quantile(np.asarray(self.transit_days), q, method="inverted_cdf"))


class _Calendar:
    """Weekly calendar arithmetic on arrays of hours after the route's ready time."""

    def __init__(self, ready: datetime) -> None:
        self.offset = ready.weekday() * 24 + ready.hour + ready.minute / 60 + ready.second / 3600

    def next_open(self, t: Array, days: frozenset[int]) -> Array:
        if len(days) == 7:
            return t
        day = np.floor((self.offset + t) / 24)
        out = np.full_like(t, np.nan)
        for k in range(8):
            opens = np.isin((day + k) % 7, sorted(days)) & np.isnan(out)
            moment = t if k == 0 else (day + k) * 24 - self.offset
            out = np.where(opens, moment, out)
        return out

    def next_departure(self, t: Array, departures: Array) -> Array:
        hour = (self.offset + t) % _HOURS_PER_WEEK
        i = np.searchsorted(departures, hour - _EPS)
        wrapped = i == len(departures)
        nxt = np.where(
            wrapped, departures[0] + _HOURS_PER_WEEK, departures[np.minimum(i, len(departures) - 1)]
        )
        return t + np.maximum(nxt - hour, 0.0)

    def hour_of_week(self, t: float) -> float:
        return (self.offset + t) % _HOURS_PER_WEEK


def _boarding_departures(service: Service, calendar: _Calendar, planned_hour: float) -> Array:
    """The service's departure hours of the week where the route boards it.

    The route boarded at ``planned_hour`` on one of the service's departures; every departure
    reaches that point the same time after leaving, so the pattern is the service's weekly
    pattern shifted by that lag.
    """
    base = [day * 24.0 + service.departure_hour_utc for day in service.weekdays]
    planned = calendar.hour_of_week(planned_hour)
    lag = min((planned - h) % _HOURS_PER_WEEK for h in base)
    return np.array(sorted((h + lag) % _HOURS_PER_WEEK for h in base))


def _legs(steps: Sequence[Step]) -> list[list[Step]]:
    """Steps grouped: a scheduled ride (consecutive steps on one service) is one group, and so
    are consecutive on-demand moves in one mode; every other step is a group of its own."""

    def key(step: Step) -> tuple[str, str | None] | None:
        if step.service is not None:
            return ("service", step.service)
        return ("mode", step.mode) if step.kind == "move" else None

    groups: list[list[Step]] = []
    for step in steps:
        if step.kind == "wait":
            continue
        k = key(step)
        if k is not None and groups and key(groups[-1][-1]) == k:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


def _closures(
    network: Network, ready: datetime
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    closed: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for closure in network.closures:
        start = (closure.start - ready).total_seconds() / 3600
        end = (closure.end - ready).total_seconds() / 3600
        closed.setdefault((closure.kind, closure.target), []).append((start, end))
    return closed


def _reopen(t: Array, windows: list[tuple[float, float]]) -> Array:
    for _ in range(len(windows) + 1):  # windows may chain; each pass clears at least one
        moved = t
        for start, end in windows:
            moved = np.where((moved >= start) & (moved < end), end, moved)
        if np.array_equal(moved, t):
            break
        t = moved
    return t


def _replay(network: Network, route: Route, draws: int, seed: int) -> Array:
    """Arrival in hours after ``route.ready``, one entry per draw."""
    rng = np.random.default_rng(seed)
    calendar = _Calendar(route.ready)
    closed = _closures(network, route.ready)
    t = np.zeros(draws)
    for group in _legs(route.steps):
        first = group[0]
        hours = sum(step.hours for step in group)
        if first.service is None:
            if first.kind == "border" and first.crossing is not None:
                crossing = network.crossings[first.crossing]
                t = _reopen(t, closed.get(("crossing", crossing.base_id), []))
                t = calendar.next_open(t, crossing.open_weekdays)
                fixed = max(hours - crossing.dwell_hours, 0.0)
                t = t + fixed + _dwell(crossing).draw(rng, draws)
            elif first.kind == "move" and first.mode is not None:
                t = t + hours + _mode_delay(network, first.mode).draw(rng, draws)
            else:
                t = t + hours
            continue
        service = network.services[first.service]
        planned = (first.start - route.ready).total_seconds() / 3600
        t = calendar.next_departure(t, _boarding_departures(service, calendar, planned))
        late = _service_delay(network, service).draw(rng, draws)
        for step in group:
            if step.kind == "border" and step.crossing is not None:
                late = late + _dwell(network.crossings[step.crossing]).excess_over_median(
                    rng, draws
                )
        t = t + hours + late
    return t


def forecast_arrival(
    network: Network,
    route: Route,
    *,
    due: datetime | None = None,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> ArrivalForecast:
    """Arrival percentiles for ``route`` and, with ``due``, the probability to arrive by then."""
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= MAX_DRAWS:
        raise InputError(f"must be a whole number from 1 to {MAX_DRAWS:,}, got {draws!r}", "draws")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"must be a whole number of 0 or more, got {seed!r}", "seed")
    if due is not None and due < route.ready:
        raise InputError(f"{iso(due)} is before the shipment is ready ({iso(route.ready)})", "due")
    hours = np.sort(_replay(network, route, draws, seed))

    def at(q: float) -> datetime:
        h = float(np.quantile(hours, q, method="inverted_cdf"))
        return route.ready + timedelta(hours=h)

    on_time = None
    if due is not None:
        due_h = (due - route.ready).total_seconds() / 3600
        on_time = float(np.count_nonzero(hours <= due_h + _EPS)) / draws
    return ArrivalForecast(
        draws=draws,
        seed=seed,
        planned=route.arrive,
        p10=at(0.1),
        p50=at(0.5),
        p90=at(0.9),
        due=due,
        on_time_probability=on_time,
        transit_days=tuple((hours / 24).tolist()),
    )


def most_reliable(
    network: Network,
    routes: Sequence[Route],
    *,
    due: datetime | None,
    on_time: float | None,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> tuple[Route, ArrivalForecast] | None:
    """The cheapest candidate whose on-time probability reaches ``on_time`` by ``due``; with
    no required probability (or no due date), the candidate with the earliest p90 arrival.

    Returns ``None`` when no candidate reaches the required probability. Exact over the
    candidates given, not over every route of the network.
    """
    if on_time is not None and not 0 < on_time < 1:
        raise InputError(
            f"must be a probability strictly between 0 and 1, got {on_time!r}", "on_time"
        )
    if on_time is not None and due is None:
        raise InputError("a required on-time probability needs a due date", "due")
    scored = [
        (route, forecast_arrival(network, route, due=due, draws=draws, seed=seed))
        for route in routes
    ]
    if on_time is not None:
        meeting = [
            (route, f) for route, f in scored if (f.on_time_probability or 0.0) + _EPS >= on_time
        ]
        if not meeting:
            return None
        return min(meeting, key=lambda item: (item[0].cost_usd, item[1].p90))
    return min(scored, key=lambda item: (item[1].p90, item[0].cost_usd), default=None)
