"""Delivery tours as planners give them: a deliveries CSV, a trucks CSV or a one-type fleet, a
railhead by name or coordinates; distances over an OSM road extract or great-circle x detour;
the answer as the JSON every interface prints. Files are comma-, semicolon- or tab-separated,
a byte-order mark allowed, and every bad row is reported in one pass.

Deliveries CSV columns: ``id, lat, lon, demand_t`` and optional ``service_hours,
window_start_h, window_end_h, oversize, length_m, width_m, height_m, site, divisible,
crane_slots_per_day`` (windows are hours from the railhead's opening, time zero).
Trucks CSV columns: ``name, count, payload_t`` and optional ``max_length_m, max_width_m,
max_height_m, oversize, speed_kph, cost_usd_per_km, escort_usd_per_km, fixed_cost_usd,
move_start_h, move_end_h, max_trips``.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from graphs.errors import DataPackError, DataPackErrors, InputError, NoRouteError
from graphs.geo import great_circle_km
from graphs.network import Network
from graphs.textfile import Problems, csv_reader, delimiter_hint, number_hint
from routing.lastmile import DETOUR_FACTOR, place_coordinates
from routing.stopping import Stop
from routing.tours import (
    AETR,
    Delivery,
    Depot,
    DriverRules,
    Fleet,
    TourProblem,
    TourResult,
    TruckType,
    solve_tours,
)

if TYPE_CHECKING:
    from graphs.roads import RoadGraph

__all__ = [
    "MAX_DELIVERIES",
    "DeliveryTable",
    "distance_matrix",
    "read_deliveries",
    "read_delivery_table",
    "read_trucks",
    "tours_answer",
    "tours_problem",
    "tours_to_dict",
]

MAX_DELIVERIES = 500
MAX_TRUCK_TYPES = 20
_REQUIRED = ("id", "lat", "lon", "demand_t")
_OPTIONAL = (
    "service_hours",
    "window_start_h",
    "window_end_h",
    "oversize",
    "length_m",
    "width_m",
    "height_m",
    "site",
    "divisible",
    "crane_slots_per_day",
)
_TRUCK_REQUIRED = ("name", "count", "payload_t")
_TRUCK_OPTIONAL = (
    "max_length_m",
    "max_width_m",
    "max_height_m",
    "oversize",
    "speed_kph",
    "cost_usd_per_km",
    "escort_usd_per_km",
    "fixed_cost_usd",
    "move_start_h",
    "move_end_h",
    "max_trips",
)
_TRUE = ("true", "yes", "1")
_BOOLEAN = ("", "true", "false", "yes", "no", "1", "0")


# --- CSV --------------------------------------------------------------------------------------


class _Row:
    """One CSV row's cells, read with messages that name the file, line and column."""

    def __init__(self, cells: dict[str, str], file: str, line: int) -> None:
        self.cells, self.file, self.line = cells, file, line

    def error(self, message: str, column: str | None) -> DataPackError:
        return DataPackError(message, file=self.file, line=self.line, column=column)

    def text(self, column: str) -> str:
        return self.cells.get(column, "")

    def number(self, column: str, required: bool = False) -> float | None:
        text = self.text(column)
        if not text:
            if required:
                raise self.error("is required", column)
            return None
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"'{text[:40]}' is not a number{number_hint(text)}", column) from None
        if not math.isfinite(value):
            raise self.error(f"'{text}' is not a finite number", column)
        return value

    def whole(self, column: str, required: bool = False) -> int | None:
        value = self.number(column, required)
        if value is None:
            return None
        if value != int(value):
            raise self.error(f"'{self.text(column)}' is not a whole number", column)
        return int(value)

    def flag(self, column: str) -> bool:
        text = self.text(column).lower()
        if text not in _BOOLEAN:
            raise self.error(f"'{text[:40]}' is not true or false", column)
        return text in _TRUE


def _rows(
    lines: Iterable[str],
    file: str,
    required: Sequence[str],
    optional: Sequence[str],
    limit: int,
    problems: Problems,
) -> Iterator[_Row]:
    """The data rows (``,``, ``;`` or tab; a byte-order mark allowed); a row of the wrong
    length goes to ``problems`` and is skipped, a bad header stops the file."""
    reader = csv_reader(lines, (*required, *optional))
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        if not any(header):
            raise DataPackError("is empty; expected a header row", file=file, line=1)
        for column in header:
            if header.count(column) > 1:
                raise DataPackError(
                    "is named twice in the header", file=file, line=1, column=column
                )
            if column not in (*required, *optional):
                raise DataPackError(
                    f"unknown column '{column}'{delimiter_hint(column)}",
                    file=file,
                    line=1,
                    column=column,
                )
        for column in required:
            if column not in header:
                raise DataPackError("is missing", file=file, line=1, column=column)
        count = 0
        for seen, cells in enumerate(reader, start=1):
            line = reader.line_num  # type: ignore[attr-defined]
            if seen > limit * 10:  # blank rows count toward a bound as well
                raise DataPackError(f"has more than {limit * 10} rows", file=file, line=line)
            if not any(cell.strip() for cell in cells):
                continue
            count += 1
            if count > limit:
                raise DataPackError(f"has more than {limit} rows of data", file=file, line=line)
            if len(cells) != len(header):
                problems.add(
                    DataPackError(
                        f"has {len(cells)} cells but the header has {len(header)}",
                        file=file,
                        line=line,
                    )
                )
                continue
            yield _Row(dict(zip(header, (c.strip() for c in cells), strict=True)), file, line)
    except csv.Error as exc:
        raise DataPackError(
            f"is not valid CSV ({exc})",
            file=file,
            line=reader.line_num,  # type: ignore[attr-defined]
        ) from None


@contextmanager
def _located(row: _Row, columns: Sequence[str], default: str) -> Iterator[None]:
    """Turn a record's validation error into one naming the row and column."""
    try:
        yield
    except (InputError, ValueError) as exc:
        if isinstance(exc, DataPackError):
            raise
        detail = getattr(exc, "detail", str(exc))
        column = getattr(exc, "field", None) or default
        raise row.error(detail, column if column in columns else default) from None


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


@dataclass(frozen=True)
class DeliveryTable:
    """A deliveries file: the deliveries and the crane slots per site it states."""

    deliveries: tuple[Delivery, ...]
    crane_slots: Mapping[str, int]


def read_delivery_table(lines: Iterable[str], file: str = "deliveries.csv") -> DeliveryTable:
    """Parse delivery rows; every bad row is reported in one pass (up to 50), each as a
    ``DataPackError`` naming line and column."""
    out: list[Delivery] = []
    slots: dict[str, tuple[int, int]] = {}  # site -> (slots, line that set them)
    seen: set[str] = set()
    problems = Problems()
    try:
        for row in _rows(lines, file, _REQUIRED, _OPTIONAL, MAX_DELIVERIES, problems):
            try:
                out.append(_delivery(row, seen, slots))
            except DataPackError as exc:
                problems.add(exc)
    except DataPackErrors:
        raise
    except DataPackError as exc:
        problems.add(exc)
    problems.check()
    if not out:
        raise DataPackError("has no delivery rows", file=file, line=2)
    return DeliveryTable(tuple(out), {site: n for site, (n, _) in slots.items()})


def _delivery(row: _Row, seen: set[str], slots: dict[str, tuple[int, int]]) -> Delivery:
    ident = row.text("id")
    if not ident or ident in seen:
        raise row.error("is empty" if not ident else f"duplicate id '{ident}'", "id")
    seen.add(ident)
    oversize, divisible = row.flag("oversize"), row.flag("divisible")
    lat, lon = row.number("lat", True), row.number("lon", True)
    demand = row.number("demand_t", True) or 0.0
    with _located(row, (*_REQUIRED, *_OPTIONAL), "demand_t"):
        delivery = Delivery(
            id=ident,
            lat=lat,
            lon=lon,
            demand_t=demand,
            service_hours=row.number("service_hours") or 0.0,
            window_start_h=row.number("window_start_h"),
            window_end_h=row.number("window_end_h"),
            oversize=oversize,
            length_m=row.number("length_m"),
            width_m=row.number("width_m"),
            height_m=row.number("height_m"),
            site=row.text("site") or None,
            divisible=divisible,
        )
    crane = row.whole("crane_slots_per_day")
    if crane is not None:
        if crane < 1:
            raise row.error("must be 1 or more", "crane_slots_per_day")
        earlier = slots.get(delivery.site_id)
        if earlier is not None and earlier[0] != crane:
            raise row.error(
                f"site '{delivery.site_id}' was given {earlier[0]} slots on line {earlier[1]}",
                "crane_slots_per_day",
            )
        slots[delivery.site_id] = (crane, row.line)
    return delivery


def read_deliveries(lines: Iterable[str], file: str = "deliveries.csv") -> list[Delivery]:
    """The deliveries of a deliveries file (see :func:`read_delivery_table`)."""
    return list(read_delivery_table(lines, file).deliveries)


def read_trucks(lines: Iterable[str], file: str = "trucks.csv") -> list[TruckType]:
    """Parse truck-type rows; every bad row is reported in one pass, naming line and column."""
    out: list[TruckType] = []
    problems = Problems()
    try:
        for row in _rows(lines, file, _TRUCK_REQUIRED, _TRUCK_OPTIONAL, MAX_TRUCK_TYPES, problems):
            try:
                out.append(_truck(row, out))
            except DataPackError as exc:
                problems.add(exc)
    except DataPackErrors:
        raise
    except DataPackError as exc:
        problems.add(exc)
    problems.check()
    if not out:
        raise DataPackError("has no truck rows", file=file, line=2)
    return out


def _truck(row: _Row, earlier: Sequence[TruckType]) -> TruckType:
    name = row.text("name")
    if any(t.name == name for t in earlier):
        raise row.error(f"duplicate name '{name}'", "name")
    oversize = row.flag("oversize")
    count, trips = row.whole("count", True), row.whole("max_trips")
    payload = row.number("payload_t", True)
    with _located(row, (*_TRUCK_REQUIRED, *_TRUCK_OPTIONAL), "name"):
        return TruckType(
            name=name,
            count=count or 0,
            payload_t=payload or 0.0,
            max_length_m=row.number("max_length_m"),
            max_width_m=row.number("max_width_m"),
            max_height_m=row.number("max_height_m"),
            oversize=oversize,
            speed_kph=_or(row.number("speed_kph"), 60.0),
            cost_usd_per_km=_or(row.number("cost_usd_per_km"), 1.5),
            escort_usd_per_km=_or(row.number("escort_usd_per_km"), 0.0),
            fixed_cost_usd=_or(row.number("fixed_cost_usd"), 0.0),
            move_start_h=row.number("move_start_h"),
            move_end_h=row.number("move_end_h"),
            max_trips=1 if trips is None else trips,
        )


# --- Distances --------------------------------------------------------------------------------


def distance_matrix(
    points: Sequence[tuple[float, float]],
    roads: RoadGraph | None = None,
    envelope: Mapping[str, float | None] | None = None,
) -> tuple[tuple[tuple[float, ...], ...], str]:
    """Pairwise road km between ``(lat, lon)`` points and how they were measured.

    With ``envelope`` (``length_m``, ``width_m``, ``height_m``, ``weight_t``) only roads that
    admit a load of that size count, and a pair no such road joins is ``math.inf``.
    """
    n = len(points)
    if roads is not None:
        from graphs.roads import road_leg  # osmnx loads only when an extract is in use

        rows = []
        for i in range(n):
            row = []
            for j in range(n):
                if i == j:
                    row.append(0.0)
                    continue
                try:
                    row.append(
                        road_leg(roads, points[i], points[j], **(envelope or {})).distance_km
                    )
                except NoRouteError as exc:
                    if envelope is None:
                        raise InputError(exc.reason, "roads") from None
                    row.append(math.inf)
            rows.append(tuple(row))
        return tuple(rows), f"OSM road graph {roads.source}"
    matrix = tuple(
        tuple(
            0.0 if i == j else great_circle_km(*points[i], *points[j]) * DETOUR_FACTOR
            for j in range(n)
        )
        for i in range(n)
    )
    return matrix, f"great-circle x {DETOUR_FACTOR} detour (no road extract)"


def _oversize_envelope(
    fleet: Sequence[TruckType], deliveries: Sequence[Delivery]
) -> dict[str, float | None] | None:
    """The largest load the oversize types carry: their deck sizes, and as weight the heaviest
    piece only they may carry (``None`` when there are no oversize types)."""
    big = [t for t in fleet if t.oversize]
    if not big:
        return None
    ordinary = [t for t in fleet if not t.oversize]
    theirs = [
        min(d.demand_t, max(t.payload_t for t in big))
        for d in deliveries
        if all(t.carries(d) is not None for t in ordinary)
        and any(t.carries(d) is None for t in big)
    ]

    def most(values: Iterable[float | None]) -> float | None:
        given = [v for v in values if v is not None and v > 0]
        return max(given) if given else None

    return {
        "length_m": most(t.max_length_m for t in big),
        "width_m": most(t.max_width_m for t in big),
        "height_m": most(t.max_height_m for t in big),
        "weight_t": most(theirs),
    }


def _envelope_text(envelope: Mapping[str, float | None]) -> str:
    parts = [f"{k.rsplit('_', 1)[0]} {v:g} {k.rsplit('_', 1)[1]}" for k, v in envelope.items() if v]
    return ", ".join(parts) or "no size or weight stated"


def tours_problem(
    depot: Depot,
    deliveries: Sequence[Delivery],
    fleet: Sequence[TruckType],
    *,
    roads: RoadGraph | None = None,
    rules: DriverRules | None = AETR,
    crane_slots: Mapping[str, int] | None = None,
    objective: str = "cost",
) -> tuple[TourProblem, dict[str, str]]:
    """A tours problem with road distances; the second value says how they were measured."""
    if depot.lat is None or depot.lon is None:
        raise InputError("the depot needs coordinates", "depot")
    if objective not in ("cost", "distance"):
        raise InputError(f"'{objective}' is not cost or distance", "objective")
    points = [(depot.lat, depot.lon)] + [(d.lat or 0.0, d.lon or 0.0) for d in deliveries]
    matrix, measured = distance_matrix(points, roads)
    labels = {"distances": measured}
    oversize = None
    envelope = _oversize_envelope(fleet, deliveries)
    if envelope is not None:
        if roads is not None:
            oversize, _ = distance_matrix(points, roads, envelope)
            labels["oversize_distances"] = (
                f"OSM road graph {roads.source}, only ways whose limits admit the oversize "
                f"trucks' largest load ({_envelope_text(envelope)})"
            )
        else:
            labels["oversize_distances"] = (
                "same as ordinary trucks: no road extract, so no bridge or height limits known"
            )
    problem = TourProblem(
        depot=depot,
        deliveries=tuple(deliveries),
        fleet=tuple(fleet),
        distance_km=matrix,
        oversize_distance_km=oversize,
        rules=rules,
        crane_slots=dict(crane_slots or {}),
        objective=objective,  # type: ignore[arg-type]
    )
    return problem, labels


def tours_answer(
    network: Network,
    depot: str,
    deliveries: Sequence[Delivery],
    *,
    trucks: int = 1,
    payload_t: float = 25.0,
    oversize_trucks: int = 0,
    speed_kph: float = 50.0,
    cost_usd_per_km: float = 1.5,
    objective: str = "cost",
    time_limit_s: float = 10.0,
    roads: RoadGraph | None = None,
    truck_types: Sequence[TruckType] | None = None,
    max_trips: int = 1,
    reload_hours: float = 0.0,
    rules: DriverRules | None = AETR,
    crane_slots: Mapping[str, int] | None = None,
    seed: int = 0,
    iterations: int | None = None,
    stop: Stop | None = None,
) -> dict[str, Any]:
    """Tours from a railhead named or given as ``"lat,lon"``: the JSON every interface gives.

    ``truck_types`` replaces the one-type fleet of ``trucks`` x ``payload_t`` (of which
    ``oversize_trucks`` take oversize pieces); ``stop`` replaces ``time_limit_s``; ``seed`` and
    ``iterations`` make the answer repeatable (see :func:`routing.tours.solve_tours`).
    """
    lat, lon = place_coordinates(network, depot)
    if truck_types is None:
        fleet = Fleet(
            trucks,
            payload_t,
            min(oversize_trucks, trucks),
            speed_kph,
            cost_usd_per_km=cost_usd_per_km,
            max_trips=max_trips,
        )
    else:
        fleet = tuple(truck_types)
    problem, labels = tours_problem(
        Depot(id=depot, lat=lat, lon=lon, reload_hours=reload_hours),
        deliveries,
        fleet,
        roads=roads,
        rules=rules,
        crane_slots=crane_slots,
        objective=objective,
    )
    result = solve_tours(
        problem,
        stop if stop is not None else Stop(time_limit_s),
        seed=seed,
        iterations=iterations,
    )
    return tours_to_dict(result, labels, rules)


def _h(value: float) -> float:
    return round(value, 3)


def tours_to_dict(
    result: TourResult, distances: Mapping[str, str] | str, rules: DriverRules | None = None
) -> dict[str, Any]:
    """The JSON every interface gives for tours."""
    labels = {"distances": distances} if isinstance(distances, str) else dict(distances)
    return {
        "status": result.status,
        "objective": result.objective,
        "engine": result.engine,
        **labels,
        "driver_rules": None
        if rules is None
        else {
            "block_driving_h": rules.block_driving_h,
            "break_h": rules.break_h,
            "daily_driving_h": rules.driving_h,
            "daily_rest_h": rules.daily_rest_h,
            "shift_h": rules.shift_h,
        },
        "trucks_used": result.trucks_used,
        "trips": result.trips,
        "served": result.served,
        "distance_km": round(result.distance_km, 3),
        "cost_usd": round(result.cost_usd, 2),
        "solve_seconds": round(result.solve_seconds, 3),
        "trucks": [
            {
                "truck": plan.truck,
                "truck_type": plan.truck_type,
                "oversize": plan.oversize,
                "start_h": _h(plan.start_h),
                "end_h": _h(plan.end_h),
                "distance_km": _h(plan.distance_km),
                "driving_h": _h(plan.driving_h),
                "cost_usd": round(plan.cost_usd, 2),
                "trips": [
                    {
                        "trip": trip.number,
                        "load_start_h": _h(trip.load_start_h),
                        "depart_h": _h(trip.depart_h),
                        "return_h": _h(trip.return_h),
                        "distance_km": _h(trip.distance_km),
                        "load_t": _h(trip.load_t),
                        "breaks": [
                            {"start_h": _h(b.start_h), "hours": b.hours} for b in trip.breaks
                        ],
                        "stops": [
                            {
                                "delivery": stop.delivery_id,
                                "site": stop.site,
                                "arrival_h": _h(stop.arrival_h),
                                "start_h": _h(stop.start_h),
                                "depart_h": _h(stop.depart_h),
                                "distance_from_previous_km": _h(stop.distance_from_previous_km),
                                "onboard_t": _h(stop.onboard_t),
                            }
                            for stop in trip.visits
                        ],
                    }
                    for trip in plan.trips
                ],
            }
            for plan in result.trucks
        ],
        "unserved": [{"delivery": u.delivery_id, "reason": u.reason} for u in result.unserved],
        "notes": list(result.notes),
    }
