"""Delivery tours as planners give them: a deliveries CSV, a depot by name or coordinates, a fleet;
distances over an OSM road extract or great-circle x detour; results as JSON.

CSV columns: ``id, lat, lon, demand_t`` and optional ``service_hours, window_start_h,
window_end_h, oversize`` (true/false); comma- or semicolon-separated, a byte-order mark allowed.
Windows are hours from the depot's opening (time zero).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from graphs.errors import DataPackError, DataPackErrors, InputError, NoRouteError
from graphs.geo import great_circle_km
from graphs.network import Network
from graphs.textfile import Problems, csv_reader, delimiter_hint, number_hint
from routing.lastmile import DETOUR_FACTOR, place_coordinates
from routing.tours import Delivery, Depot, Fleet, TourProblem, TourResult, solve_tours

if TYPE_CHECKING:
    from graphs.roads import RoadGraph

MAX_DELIVERIES = 500
_REQUIRED = ("id", "lat", "lon", "demand_t")
_OPTIONAL = ("service_hours", "window_start_h", "window_end_h", "oversize")


def read_deliveries(lines: Iterable[str], file: str = "deliveries.csv") -> list[Delivery]:
    """Parse delivery rows (``,`` or ``;``, with or without a byte-order mark); every bad cell
    is reported in one pass, up to 50, as ``DataPackError`` naming line and column."""
    reader = csv_reader(lines, _REQUIRED + _OPTIONAL)
    problems = Problems()
    out: list[Delivery] = []
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
        if not any(header):
            raise DataPackError("is empty; expected a header row", file=file, line=1)
        for column in header:
            if header.count(column) > 1:
                raise DataPackError(
                    "is named twice in the header", file=file, line=1, column=column
                )
            if column not in _REQUIRED + _OPTIONAL:
                raise DataPackError(
                    f"unknown column '{column}'{delimiter_hint(column)}",
                    file=file,
                    line=1,
                    column=column,
                )
        for column in _REQUIRED:
            if column not in header:
                raise DataPackError("is missing", file=file, line=1, column=column)
        seen: set[str] = set()
        rows = 0
        for count, cells in enumerate(reader, start=1):
            line = reader.line_num  # type: ignore[attr-defined]
            if count > MAX_DELIVERIES * 10:  # blank rows count toward a bound as well
                raise DataPackError(
                    f"has more than {MAX_DELIVERIES * 10} rows", file=file, line=line
                )
            if not any(cell.strip() for cell in cells):
                continue
            rows += 1
            if rows > MAX_DELIVERIES:
                raise DataPackError(
                    f"has more than {MAX_DELIVERIES} deliveries", file=file, line=line
                )
            if len(cells) != len(header):
                problems.add(
                    DataPackError(
                        f"has {len(cells)} cells but the header has {len(header)}",
                        file=file,
                        line=line,
                    )
                )
                continue
            row = dict(zip(header, (cell.strip() for cell in cells), strict=True))
            try:
                out.append(_delivery(row, file, line, seen))
            except DataPackError as exc:
                problems.add(exc)
    except csv.Error as exc:
        problems.add(
            DataPackError(
                f"is not valid CSV ({exc})",
                file=file,
                line=reader.line_num,  # type: ignore[attr-defined]
            )
        )
    except DataPackErrors:
        raise
    except DataPackError as exc:
        problems.add(exc)
    problems.check()
    if not out:
        raise DataPackError("has no delivery rows", file=file, line=2)
    return out


def _delivery(row: dict[str, str], file: str, line: int, seen: set[str]) -> Delivery:
    def number(column: str, required: bool) -> float | None:
        text = row.get(column, "")
        if not text:
            if required:
                raise DataPackError("is required", file=file, line=line, column=column)
            return None
        try:
            value = float(text)
        except ValueError:
            raise DataPackError(
                f"'{text[:40]}' is not a number{number_hint(text)}",
                file=file,
                line=line,
                column=column,
            ) from None
        if not math.isfinite(value):
            raise DataPackError(
                f"'{text}' is not a finite number", file=file, line=line, column=column
            )
        return value

    if not row["id"] or row["id"] in seen:
        raise DataPackError(
            "is empty" if not row["id"] else f"duplicate id '{row['id']}'",
            file=file,
            line=line,
            column="id",
        )
    seen.add(row["id"])
    oversize_text = row.get("oversize", "").lower()
    if oversize_text not in ("", "true", "false", "yes", "no", "1", "0"):
        raise DataPackError(
            f"'{oversize_text}' is not true or false", file=file, line=line, column="oversize"
        )
    lat, lon, demand = number("lat", True), number("lon", True), number("demand_t", True)
    service = number("service_hours", False)
    start, end = number("window_start_h", False), number("window_end_h", False)
    try:
        return Delivery(
            id=row["id"],
            lat=lat,
            lon=lon,
            demand_t=demand or 0.0,
            service_hours=service or 0.0,
            window_start_h=start,
            window_end_h=end,
            oversize=oversize_text in ("true", "yes", "1"),
        )
    except (InputError, ValueError) as exc:
        detail = getattr(exc, "detail", str(exc))
        column = getattr(exc, "field", None) or "demand_t"
        column = column if column in _REQUIRED + _OPTIONAL else "demand_t"
        raise DataPackError(detail, file=file, line=line, column=column) from None


def distance_matrix(
    points: Sequence[tuple[float, float]], roads: RoadGraph | None = None
) -> tuple[tuple[tuple[float, ...], ...], str]:
    """Pairwise road km between ``(lat, lon)`` points and how they were measured."""
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
                    row.append(road_leg(roads, points[i], points[j]).distance_km)
                except NoRouteError as exc:
                    raise InputError(exc.reason, "roads") from None
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


def tours_problem(
    depot: Depot,
    deliveries: Sequence[Delivery],
    fleet: Fleet,
    *,
    roads: RoadGraph | None = None,
    cost_usd_per_km: float = 1.5,
    objective: str = "cost",
) -> tuple[TourProblem, str]:
    """A tours problem with road distances; the second value says how they were measured."""
    assert depot.lat is not None and depot.lon is not None
    points = [(depot.lat, depot.lon)] + [(d.lat or 0.0, d.lon or 0.0) for d in deliveries]
    matrix, measured = distance_matrix(points, roads)
    if objective not in ("cost", "distance"):
        raise InputError(f"'{objective}' is not cost or distance", "objective")
    problem = TourProblem(
        depot=depot,
        deliveries=tuple(deliveries),
        fleet=fleet,
        distance_km=matrix,
        cost_usd_per_km=cost_usd_per_km,
        objective=objective,  # type: ignore[arg-type]
    )
    return problem, measured


def tours_answer(
    network: Network,
    depot: str,
    deliveries: Sequence[Delivery],
    *,
    trucks: int,
    payload_t: float,
    oversize_trucks: int = 0,
    speed_kph: float = 50.0,
    cost_usd_per_km: float = 1.5,
    objective: str = "cost",
    time_limit_s: float = 10.0,
    roads: RoadGraph | None = None,
) -> dict[str, Any]:
    """Tours from a depot named or given as ``"lat,lon"``: the JSON the CLI and the service give."""
    lat, lon = place_coordinates(network, depot)
    fleet = Fleet(
        trucks=trucks,
        payload_t=payload_t,
        oversize_capable=min(oversize_trucks, trucks),
        speed_kph=speed_kph,
    )
    problem, measured = tours_problem(
        Depot(id=depot, lat=lat, lon=lon),
        deliveries,
        fleet,
        roads=roads,
        cost_usd_per_km=cost_usd_per_km,
        objective=objective,
    )
    return tours_to_dict(solve_tours(problem, time_limit_s=time_limit_s), measured)


def tours_to_dict(result: TourResult, distances: str) -> dict[str, Any]:
    """The JSON every interface gives for tours."""
    return {
        "status": result.status,
        "objective": result.objective,
        "distances": distances,
        "trucks_used": result.trucks_used,
        "served": result.served,
        "distance_km": round(result.distance_km, 3),
        "cost_usd": round(result.cost_usd, 2),
        "solve_seconds": round(result.solve_seconds, 3),
        "tours": [
            {
                "truck": tour.truck,
                "oversize_capable": tour.oversize_capable,
                "start_h": round(tour.start_h, 3),
                "end_h": round(tour.end_h, 3),
                "distance_km": round(tour.distance_km, 3),
                "load_t": round(tour.load_t, 3),
                "cost_usd": round(tour.cost_usd, 2),
                "stops": [
                    {
                        "delivery": stop.delivery_id,
                        "arrival_h": round(stop.arrival_h, 3),
                        "start_h": round(stop.start_h, 3),
                        "depart_h": round(stop.depart_h, 3),
                        "distance_from_previous_km": round(stop.distance_from_previous_km, 3),
                        "onboard_t": round(stop.onboard_t, 3),
                    }
                    for stop in tour.stops
                ],
            }
            for tour in result.tours
        ],
        "unserved": [{"delivery": u.delivery_id, "reason": u.reason} for u in result.unserved],
    }
