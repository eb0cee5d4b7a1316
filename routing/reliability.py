"""How sure a route is to arrive: seeded Monte Carlo over border dwell and late services.

A route's own timing takes every border at its median dwell and every service at its
timetable. A forecast replays the route's steps ``draws`` times at once (numpy arrays, one
entry per draw), with these rules:

- An on-demand border step waits for the crossing's next open day (and any scenario closure),
  then dwells a draw from a lognormal through the crossing's ``dwell_hours`` (median) and
  ``dwell_p90_hours``, capped at three times the 90th percentile; a gauge change adds its
  fixed transhipment hours.
- A scheduled ride leaves at the service's next departure at or after the cargo is there: a
  late arrival misses its departure and takes the next one. It arrives after its timetabled
  hours plus the service's delay (``service_delays.csv``) plus, for each crossing it passes,
  the dwell drawn above that crossing's median (the timetable already holds the median; a
  train never runs ahead of it), plus any time a crossing on its way is closed when the train
  gets there.
- Consecutive on-demand moves in one mode are a leg: a sea, ferry or rail leg arrives late by
  a draw of its mode's delay; road legs and handling keep their hours. Waits are not replayed
  but recomputed by the rules above.

The same route, draws and seed give the same forecast in every interface.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
TAIL_CAP = 3.0
_Z90 = 1.2815515655446004  # the standard normal's 90th percentile
_HOURS_PER_WEEK = 168.0
_EPS = 1e-7
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday 00:00 UTC: ISO weeks start at its multiples

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

    def at(self, z: Array) -> Array:
        """The delays at standard normal draws ``z`` (one per draw), at most ``TAIL_CAP`` times
        the 90th percentile: the lognormal's far tail runs past any wait ever reported."""
        if self.p50_hours == 0:
            return np.zeros_like(z)
        return np.minimum(self.p50_hours * np.exp(self.sigma * z), TAIL_CAP * self.p90_hours)

    def draw(self, rng: np.random.Generator, n: int) -> Array:
        return self.at(rng.standard_normal(n))


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


class Draws:
    """Standard normal and uniform draws by key: one key, the same draws in every run.

    Each key seeds its own generator from ``(seed, crc32(key))``, so a draw does not depend on
    which other keys were asked for first, nor on how draws ``[start, stop)`` of ``total`` are
    split between processes.
    """

    def __init__(self, seed: int, total: int, start: int = 0, stop: int | None = None) -> None:
        self.seed, self.total = seed, total
        self.start, self.stop = start, total if stop is None else stop
        self._cache: dict[str, Array] = {}

    @property
    def count(self) -> int:
        return self.stop - self.start

    def _generator(self, key: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(key.encode())])

    def normal(self, key: str) -> Array:
        cached = self._cache.get(key)
        if cached is None:
            cached = self._generator(key).standard_normal(self.total)[self.start : self.stop]
            self._cache[key] = cached
        return cached

    def uniform(self, key: str) -> Array:
        return self._generator("u:" + key).random(self.total)[self.start : self.stop]


@dataclass
class Replay:
    """One route replayed over many draws: arrival hours after ready, and the hours each
    crossing or service added beyond the plan's medians (``"crossing:<id>"``,
    ``"service:<id>"``), one entry per draw."""

    arrival_hours: Array
    delay_hours: dict[str, Array]

    def blame(self, what: str, hours: Array) -> None:
        if what in self.delay_hours:
            self.delay_hours[what] = self.delay_hours[what] + hours
        else:
            self.delay_hours[what] = hours


def replay(
    network: Network,
    route: Route,
    draws: Draws,
    *,
    shared: bool = False,
    close_probability: float = 0.0,
) -> Replay:
    """Replay ``route`` over ``draws`` by the rules in this module's docstring.

    With ``shared``, a crossing's dwell is one draw per crossing and ISO week, and a service's
    delay one draw per departure, as every shipment in that week meets the same queue: the
    draws of a plan-wide sweep. Otherwise every step draws on its own. ``close_probability``
    closes each crossing for whole ISO weeks at random, independently per week (a stress
    test on top of any scenario closures).
    """
    calendar = _Calendar(route.ready)
    closed = _closures(network, route.ready)
    epoch_hours = (route.ready - _EPOCH).total_seconds() / 3600
    out = Replay(np.zeros(draws.count), {})
    t = out.arrival_hours

    def key(kind: str, target: str, index: int, planned: datetime) -> str:
        if shared:
            return f"{kind}|{target}|{planned.isocalendar()[:2]}"
        return f"{kind}|{target}|{index}"

    def random_closure(t: Array, crossing: Crossing) -> Array:
        if close_probability <= 0:
            return t
        for _ in range(4):  # at most four closed weeks in a row, then let it pass
            week = np.floor((epoch_hours + t) / _HOURS_PER_WEEK)
            moved = t
            for w in np.unique(week):
                u = draws.uniform(f"closed|{crossing.base_id}|{int(w)}")
                shut = (week == w) & (u < close_probability)
                moved = np.where(shut, (w + 1) * _HOURS_PER_WEEK - epoch_hours, moved)
            if np.array_equal(moved, t):
                break
            t = moved
        return t

    for index, group in enumerate(_legs(route.steps)):
        first = group[0]
        hours = sum(step.hours for step in group)
        if first.service is None:
            if first.kind == "border" and first.crossing is not None:
                crossing = network.crossings[first.crossing]
                arrived = t
                t = _reopen(t, closed.get(("crossing", crossing.base_id), []))
                t = random_closure(t, crossing)
                t = calendar.next_open(t, crossing.open_weekdays)
                dwell = _dwell(crossing)
                drawn = dwell.at(draws.normal(key("dwell", crossing.base_id, index, first.start)))
                t = t + max(hours - crossing.dwell_hours, 0.0) + drawn
                out.blame(
                    f"crossing:{crossing.base_id}",
                    (t - arrived) - (first.end - first.start).total_seconds() / 3600,
                )
            elif first.kind == "move" and first.mode is not None:
                late = _mode_delay(network, first.mode).at(
                    draws.normal(key("late", first.mode, index, first.start))
                )
                t = t + hours + late
                out.blame(f"{first.mode}:on-demand", late)
            else:
                t = t + hours
            continue
        service = network.services[first.service]
        planned = (first.start - route.ready).total_seconds() / 3600
        t = calendar.next_departure(t, _boarding_departures(service, calendar, planned))
        late = _service_delay(network, service).at(
            draws.normal(key("late", service.id, index, first.start))
        )
        out.blame(f"service:{service.id}", late)
        for step in group:
            if step.kind == "border" and step.crossing is not None:
                crossing = network.crossings[step.crossing]
                z = draws.normal(key("dwell", crossing.base_id, index, step.start))
                excess = np.maximum(_dwell(crossing).at(z) - crossing.dwell_hours, 0.0)
                there = t + (step.start - first.start).total_seconds() / 3600 + late
                held = _reopen(there, closed.get(("crossing", crossing.base_id), []))
                blocked = random_closure(held, crossing) - there
                out.blame(f"crossing:{crossing.base_id}", excess + blocked)
                late = late + excess + blocked
        t = t + hours + late
    out.arrival_hours = t
    return out


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
    hours = np.sort(replay(network, route, Draws(seed, draws)).arrival_hours)

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
