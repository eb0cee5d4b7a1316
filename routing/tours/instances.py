"""Benchmark instances with published optima: CVRPLIB (VRPLIB text) and Solomon's VRPTW set.

Both become ordinary :class:`TourProblem` objects, so the benchmark measures the same code path
the planners use. CVRPLIB distances are Euclidean rounded to integers (EUC_2D, the convention of
CVRPLIB's optima); Solomon distances and travel times are Euclidean truncated to one decimal (the
DIMACS convention of the published optima), read as km and hours at 1 km/h.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import vrplib.parse

from graphs.errors import InputError
from routing.tours.problem import Delivery, Depot, TourProblem, TruckType

__all__ = [
    "CvrpInstance",
    "SolomonInstance",
    "cvrp_problem",
    "parse_cvrplib",
    "parse_solomon",
    "solomon_problem",
]

_SCALE_EPS = 1e-6


@dataclass(frozen=True)
class CvrpInstance:
    """A CVRPLIB instance: node 0 is the depot; distances follow the file's edge weight type."""

    name: str
    capacity: float
    node_labels: tuple[int, ...]  # the file's node numbers, depot first
    demands: tuple[float, ...]
    distance: tuple[tuple[int, ...], ...] | tuple[tuple[float, ...], ...]
    optimum: float | None
    min_trucks: int | None


_OPTIMUM = re.compile(r"optimal\s+value\s*:\s*([0-9]+(?:\.[0-9]+)?)", re.IGNORECASE)
_TRUCKS = re.compile(r"no\s+of\s+trucks\s*:\s*([0-9]+)", re.IGNORECASE)
_K_IN_NAME = re.compile(r"-k([0-9]+)\b")


def _nint(value: float) -> int:
    """TSPLIB's nearest integer (halves round up, unlike Python's banker's ``round``)."""
    return math.floor(value + 0.5)


def parse_cvrplib(text: str) -> CvrpInstance:
    """Read a CVRPLIB instance from VRPLIB text.

    EUC_2D distances are Euclidean rounded to the nearest integer, the convention of CVRPLIB's
    published optima; explicit matrices are taken as given. The optimum and the truck count are
    read from the COMMENT line when it states them ("Optimal value: 375", "No of trucks: 4").
    """
    try:
        data = vrplib.parse.parse_vrplib(text, compute_edge_weights=False)
    except Exception as exc:  # vrplib raises bare ValueErrors, IndexErrors, ... on bad text
        raise InputError(f"not a readable VRPLIB instance: {exc}", field="instance") from exc
    name = str(data.get("name", "")).strip()
    problem_type = str(data.get("type", "CVRP")).strip().upper()
    if problem_type != "CVRP":
        raise InputError(
            f"{name}: only CVRP instances are supported, not {problem_type}", field="type"
        )
    depots = [int(x) for x in data.get("depot", [0])]
    if len(depots) != 1:
        raise InputError(
            f"{name}: exactly one depot is supported, found {len(depots)}", field="depot"
        )
    demands_raw = [float(x) for x in data["demand"]]
    size = len(demands_raw)
    # Put the depot first whatever its position in the file.
    nodes = [depots[0], *(i for i in range(size) if i != depots[0])]
    weight_type = str(data.get("edge_weight_type", "")).strip().upper()
    distance: tuple[tuple[int, ...], ...] | tuple[tuple[float, ...], ...]
    if weight_type == "EUC_2D":
        coords = [(float(x), float(y)) for x, y in data["node_coord"]]
        distance = tuple(
            tuple(
                _nint(math.hypot(coords[a][0] - coords[b][0], coords[a][1] - coords[b][1]))
                for b in nodes
            )
            for a in nodes
        )
    elif weight_type == "EXPLICIT":
        weights = data["edge_weight"]
        distance = tuple(tuple(float(weights[a][b]) for b in nodes) for a in nodes)
    else:
        raise InputError(
            f"{name}: edge weight type {weight_type or 'missing'} is not supported "
            "(EUC_2D or EXPLICIT)",
            field="edge_weight_type",
        )
    comment = str(data.get("comment", ""))
    optimum_match = _OPTIMUM.search(comment)
    trucks_match = _TRUCKS.search(comment) or _K_IN_NAME.search(name)
    return CvrpInstance(
        name=name,
        capacity=float(data["capacity"]),
        node_labels=tuple(i + 1 for i in nodes),
        demands=tuple(demands_raw[i] for i in nodes),
        distance=distance,
        optimum=float(optimum_match.group(1)) if optimum_match else None,
        min_trucks=int(trucks_match.group(1)) if trucks_match else None,
    )


def cvrp_problem(instance: CvrpInstance, trucks: int | None = None) -> TourProblem:
    """A distance-minimising tours problem for a CVRPLIB instance (demand units read as t).

    ``trucks`` defaults to a quarter (at least two) more than the larger of the instance's stated
    count and the count its total demand needs, so the search is never short of trucks (CVRPLIB
    leaves the number of routes free; X instances' best solutions use more than the k in the
    name).
    """
    needed = math.ceil(sum(instance.demands) / instance.capacity - _SCALE_EPS)
    base = max(needed, instance.min_trucks or 0, 1)
    count = trucks if trucks is not None else base + max(2, math.ceil(base / 4))
    deliveries = tuple(
        Delivery(id=str(instance.node_labels[i]), lat=None, lon=None, demand_t=instance.demands[i])
        for i in range(1, len(instance.demands))
    )
    return TourProblem(
        depot=Depot(id=str(instance.node_labels[0])),
        deliveries=deliveries,
        fleet=(TruckType("vehicle", count, instance.capacity),),
        distance_km=tuple(tuple(float(x) for x in row) for row in instance.distance),
        rules=None,
        objective="distance",
        serve_all=True,
    )


@dataclass(frozen=True)
class SolomonInstance:
    """A Solomon VRPTW instance: node 0 is the depot; times and distances in the file's units."""

    name: str
    vehicles: int
    capacity: float
    coords: tuple[tuple[float, float], ...]
    demands: tuple[float, ...]
    ready: tuple[float, ...]
    due: tuple[float, ...]
    service: tuple[float, ...]


def parse_solomon(text: str) -> SolomonInstance:
    """Read a Solomon-format instance (VEHICLE and CUSTOMER sections)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError("not a Solomon instance: the text is empty", field="instance")
    name = lines[0]
    try:
        at = next(i for i, line in enumerate(lines) if line.upper().startswith("NUMBER"))
        vehicles_text, capacity_text = lines[at + 1].split()[:2]
        start = next(i for i, line in enumerate(lines) if line.upper().startswith("CUST NO"))
        rows = [[float(x) for x in line.split()] for line in lines[start + 1 :]]
    except (StopIteration, ValueError, IndexError) as exc:
        raise InputError(f"{name}: not a Solomon instance ({exc})", field="instance") from None
    if not rows or any(len(row) != 7 for row in rows):
        raise InputError(f"{name}: every customer row needs 7 numbers", field="instance")
    return SolomonInstance(
        name=name,
        vehicles=int(vehicles_text),
        capacity=float(capacity_text),
        coords=tuple((row[1], row[2]) for row in rows),
        demands=tuple(row[3] for row in rows),
        ready=tuple(row[4] for row in rows),
        due=tuple(row[5] for row in rows),
        service=tuple(row[6] for row in rows),
    )


def _trunc1(value: float) -> float:
    """Truncate to one decimal, as the published Solomon optima do."""
    return math.floor(value * 10 + _SCALE_EPS) / 10


def solomon_problem(instance: SolomonInstance) -> TourProblem:
    """A distance-minimising VRPTW problem with the instance's fleet (km and hours at 1 km/h)."""
    coords = instance.coords
    distance = tuple(tuple(_trunc1(math.dist(a, b)) for b in coords) for a in coords)
    deliveries = tuple(
        Delivery(
            id=str(i),
            lat=None,
            lon=None,
            demand_t=instance.demands[i],
            service_hours=instance.service[i],
            window_start_h=instance.ready[i],
            window_end_h=instance.due[i],
        )
        for i in range(1, len(coords))
    )
    return TourProblem(
        depot=Depot(id="0", open_h=instance.ready[0], close_h=instance.due[0]),
        deliveries=deliveries,
        fleet=(TruckType("vehicle", instance.vehicles, instance.capacity, speed_kph=1.0),),
        distance_km=distance,
        rules=None,
        objective="distance",
        serve_all=True,
    )
