"""A route: its steps in time order, the totals derived from them, and its JSON form."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import orjson

from graphs.records import REVERSE_SUFFIX

if TYPE_CHECKING:
    from routing.reliability import ArrivalForecast

StepKind = Literal["move", "handle", "border", "wait"]
COST_CATEGORIES = ("linehaul", "handling", "border", "transhipment", "storage")
TIME_CATEGORIES = ("moving", "handling", "border", "waiting")
_TIME_CATEGORY = {"move": "moving", "handle": "handling", "border": "border", "wait": "waiting"}
# (a border step's cost is split between "border" and "transhipment")
_COST_CATEGORY = {"move": "linehaul", "handle": "handling", "wait": "storage"}


_ISO = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_OMIT_MICROSECONDS


def iso(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of a UTC moment (seconds truncated, as ``strftime`` would).

    orjson writes it in a quarter of ``datetime.isoformat``'s time; every step has two.
    """
    return orjson.dumps(moment, option=_ISO)[1:-1].decode()


class Step(NamedTuple):
    """One thing that happens to the cargo, from ``start`` to ``end`` (UTC).

    ``transhipment_usd`` is the part of a border step's ``cost_usd`` spent on a gauge change.
    A named tuple: routes are built step by step for every answer, and a tuple is built in a
    fifth of the time a frozen dataclass takes.
    """

    kind: StepKind
    start: datetime
    end: datetime
    cost_usd: float
    co2e_kg: float = 0.0
    distance_km: float = 0.0
    mode: str | None = None
    from_node: str | None = None
    to_node: str | None = None
    link: str | None = None
    service: str | None = None
    crossing: str | None = None
    node: str | None = None
    transhipment_usd: float = 0.0
    note: str = ""

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def shifted(self, delta: timedelta) -> Step:
        return self._replace(start=self.start + delta, end=self.end + delta)

    def cost_categories(self) -> dict[str, float]:
        if self.kind == "border":
            return {
                "border": self.cost_usd - self.transhipment_usd,
                "transhipment": self.transhipment_usd,
            }
        return {_COST_CATEGORY[self.kind]: self.cost_usd}

    def head(self) -> dict[str, Any]:
        """Kind, times and figures: what every view of a step starts with."""
        return {
            "kind": self.kind,
            "start": iso(self.start),
            "end": iso(self.end),
            "hours": round(self.hours, 3),
            "cost_usd": round(self.cost_usd, 2),
            "co2e_kg": round(self.co2e_kg, 3),
        }

    def to_dict(self) -> dict[str, Any]:
        data = self.head()
        if self.kind == "move":
            data["from"] = self.from_node
            data["to"] = self.to_node
            data["link"] = self.link
            data["service"] = self.service
            data["mode"] = self.mode
            data["distance_km"] = round(self.distance_km, 3)
        elif self.kind == "border":
            data["crossing"] = (self.crossing or "").removesuffix(REVERSE_SUFFIX) or None
            data["service"] = self.service
            data["from"] = self.from_node
            data["to"] = self.to_node
            data["mode"] = self.mode
            data["transhipment_usd"] = round(self.transhipment_usd, 2)
        else:
            data["node"] = self.node
        if self.note:
            data["note"] = self.note
        return data


@dataclass(frozen=True)
class Route:
    """A door-to-door route; every total is a sum over ``steps``."""

    origin: str
    destination: str
    objective: str
    ready: datetime
    steps: tuple[Step, ...]
    countries: tuple[str, ...]
    coordinates: tuple[tuple[float, float], ...]
    value_of_time_usd_per_day: float = 0.0
    carbon_price_usd_per_t: float = 0.0
    notes: tuple[str, ...] = field(default=())
    forecast: ArrivalForecast | None = field(default=None, compare=False)

    @property
    def depart(self) -> datetime:
        moves = [step for step in self.steps if step.kind == "move"]
        return moves[0].start if moves else self.ready

    @property
    def arrive(self) -> datetime:
        return self.steps[-1].end if self.steps else self.ready

    @property
    def generalized_usd(self) -> float:
        """Cost + value of time x door-to-door days + carbon price x t CO2e."""
        return self._generalized(self.cost_usd, self.transit_days, self.co2e_kg)

    def _generalized(self, cost_usd: float, days: float, co2e_kg: float) -> float:
        return (
            cost_usd
            + self.value_of_time_usd_per_day * days
            + self.carbon_price_usd_per_t * co2e_kg / 1000
        )

    @property
    def cost_usd(self) -> float:
        return sum(step.cost_usd for step in self.steps)

    @property
    def co2e_kg(self) -> float:
        return sum(step.co2e_kg for step in self.steps)

    @property
    def distance_km(self) -> float:
        return sum(step.distance_km for step in self.steps)

    @property
    def transit_hours(self) -> float:
        return sum(step.hours for step in self.steps)

    @property
    def transit_days(self) -> float:
        return self.transit_hours / 24

    @property
    def crossings(self) -> tuple[str, ...]:
        """The crossings passed, by data row id: either direction of a crossing is one name."""
        return tuple(
            step.crossing.removesuffix(REVERSE_SUFFIX) for step in self.steps if step.crossing
        )

    @property
    def modes(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(step.mode for step in self.steps if step.kind == "move" and step.mode)
        )

    @property
    def mode_changes(self) -> int:
        moves = [step.mode for step in self.steps if step.kind == "move"]
        return sum(1 for a, b in itertools.pairwise(moves) if a != b)

    @property
    def signature(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What makes two routes materially different: the crossings and the modes used."""
        return self.crossings, tuple(sorted(self.modes))

    def cost_breakdown(self) -> dict[str, float]:
        totals = dict.fromkeys(COST_CATEGORIES, 0.0)
        for step in self.steps:
            for category, usd in step.cost_categories().items():
                totals[category] += usd
        return totals

    def time_breakdown(self) -> dict[str, float]:
        totals = dict.fromkeys(TIME_CATEGORIES, 0.0)
        for step in self.steps:
            totals[_TIME_CATEGORY[step.kind]] += step.hours
        return totals

    def scaled(self, cost_factor: float, co2_factor: float) -> Route:
        """The same route for a cargo whose every cost and emission term is ``factor`` times."""
        steps = tuple(
            step._replace(
                cost_usd=step.cost_usd * cost_factor,
                transhipment_usd=step.transhipment_usd * cost_factor,
                co2e_kg=step.co2e_kg * co2_factor,
            )
            for step in self.steps
        )
        return replace(self, steps=steps)

    def shifted(self, delta: timedelta) -> Route:
        """The same route started ``delta`` later (valid for whole weeks: schedules are weekly)."""
        return replace(
            self,
            ready=self.ready + delta,
            steps=tuple(step.shifted(delta) for step in self.steps),
        )

    def to_dict(self) -> dict[str, Any]:
        hours = self.transit_hours
        days = hours / 24
        co2e_kg = self.co2e_kg
        cost_usd = self.cost_usd
        distance_km = self.distance_km
        if not math.isfinite(hours + co2e_kg + cost_usd + distance_km):  # NaN spreads to sums
            raise ValueError(f"route {self.origin} -> {self.destination} has non-finite totals")
        generalized = self._generalized(cost_usd, days, co2e_kg)
        crossings = self.crossings
        return {
            "origin": self.origin,
            "destination": self.destination,
            "objective": self.objective,
            "ready": iso(self.ready),
            "depart": iso(self.depart),
            "arrive": iso(self.arrive),
            "totals": {
                "cost_usd": round(cost_usd, 2),
                "transit_hours": round(hours, 3),
                "transit_days": round(days, 3),
                "distance_km": round(distance_km, 3),
                "co2e_kg": round(co2e_kg, 3),
                "generalized_usd": round(generalized, 2),
                "border_crossings": len(crossings),
                "mode_changes": self.mode_changes,
            },
            "cost_breakdown_usd": {k: round(v, 2) for k, v in self.cost_breakdown().items()},
            "time_breakdown_hours": {k: round(v, 3) for k, v in self.time_breakdown().items()},
            "countries": list(self.countries),
            "modes": list(self.modes),
            "crossings": list(crossings),
            "value_of_time_usd_per_day": round(self.value_of_time_usd_per_day, 2),
            "carbon_price_usd_per_t": self.carbon_price_usd_per_t,
            "notes": list(self.notes),
            "arrival_forecast": self.forecast.to_dict() if self.forecast else None,
            "steps": [step.to_dict() for step in self.steps],
            "geometry": {
                "type": "LineString",
                "coordinates": [[lon, lat] for lon, lat in self.coordinates],
            },
        }


def route_legs(steps: tuple[Step, ...]) -> list[list[Step]]:
    """Steps grouped into legs: consecutive moves by one mode are one leg; every other step
    (handling, waiting, a border) is a leg of its own."""
    legs: list[list[Step]] = []
    for step in steps:
        last = legs[-1][-1] if legs else None
        joins = last is not None and (last.kind, last.mode) == ("move", step.mode)
        if step.kind == "move" and joins:
            legs[-1].append(step)
        else:
            legs.append([step])
    return legs
