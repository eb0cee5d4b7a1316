"""Delivery tours: capacitated vehicle routing with time windows, solved with OR-Tools.

A depot sends a fleet of trucks out to deliveries; each truck leaves loaded, drops its deliveries in
order and comes back. Demand and payload are in tonnes. Deliveries that cannot be served (too heavy,
oversize with no capable truck, a window no truck can reach, or simply no room left) are dropped and
reported with a reason instead of failing the whole problem.

The module also turns CVRPLIB instances (VRPLIB text) into problems, so the solver can be measured
against published optima (``scripts/bench_cvrplib.py``).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import vrplib.parse
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from graphs.errors import InputError
from graphs.geo import great_circle_km

__all__ = [
    "DROPPED_REASON",
    "CvrpInstance",
    "Delivery",
    "Depot",
    "FirstSolution",
    "Fleet",
    "Metaheuristic",
    "Objective",
    "Stop",
    "Tour",
    "TourProblem",
    "TourResult",
    "TourStatus",
    "Unserved",
    "cvrp_problem",
    "parse_cvrplib",
    "solve_tours",
]

# --- The one place where OR-Tools' integer units are declared ---------------------------------
# The model sees whole metres, seconds, kilograms and cents; everything outside it is km, hours,
# tonnes and USD. Travel and service times are rounded up and windows inwards, so every schedule
# the model accepts is also feasible in exact arithmetic.
METRES_PER_KM = 1000
SECONDS_PER_HOUR = 3600
KG_PER_T = 1000
CENTS_PER_USD = 100
# OR-Tools sums int64 values; stay well clear of 2**63 so sums of penalties and arcs cannot wrap.
_MAX_MODEL_INT = 2**62
# Tolerance when scaling floats: 0.1 t * 1000 must be 100 kg, not 101.
_SCALE_EPS = 1e-6

Objective = Literal["cost", "distance"]
TourStatus = Literal["optimal", "feasible", "infeasible", "timeout"]
FirstSolution = Literal[
    "automatic",
    "path_cheapest_arc",
    "savings",
    "parallel_cheapest_insertion",
    "local_cheapest_insertion",
    "christofides",
    "sweep",
]
Metaheuristic = Literal[
    "guided_local_search",
    "greedy_descent",
    "simulated_annealing",
    "tabu_search",
    "iterated_local_search",
]

DROPPED_REASON = "dropped by the solver: capacity/time exhausted (no truck had room or time left)"


def _finite(value: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _up(value: float, scale: int) -> int:
    """Scale to model units, rounding up (demands, travel and service times, window starts)."""
    return math.ceil(value * scale - _SCALE_EPS)


def _down(value: float, scale: int) -> int:
    """Scale to model units, rounding down (payloads, window ends, closing times)."""
    return math.floor(value * scale + _SCALE_EPS)


# --- Inputs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One drop: where, how much, how long it takes and when it may start.

    Parameters
    ----------
    id
        Unique name of the delivery.
    lat, lon
        WGS84 position; only needed when the problem has no distance matrix.
    demand_t
        Weight to drop, in tonnes.
    service_hours
        Unloading time at the stop.
    window_start_h, window_end_h
        Earliest and latest start of unloading, in hours from the plan's time zero; ``None`` is
        unbounded.
    oversize
        Needs a truck able to carry oversize pieces.
    """

    id: str
    lat: float | None
    lon: float | None
    demand_t: float
    service_hours: float = 0.0
    window_start_h: float | None = None
    window_end_h: float | None = None
    oversize: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InputError("every delivery needs a non-empty id", field="id")
        where = f"delivery {self.id!r}"
        if (self.lat is None) != (self.lon is None):
            raise InputError(f"{where}: give both lat and lon, or neither", field="lat")
        if self.lat is not None and not (_finite(self.lat) and -90 <= self.lat <= 90):
            raise InputError(f"{where}: lat must be within -90..90, got {self.lat}", field="lat")
        if self.lon is not None and not (_finite(self.lon) and -180 <= self.lon <= 180):
            raise InputError(f"{where}: lon must be within -180..180, got {self.lon}", field="lon")
        if not _finite(self.demand_t) or self.demand_t < 0:
            raise InputError(
                f"{where}: demand_t must be a weight of 0 t or more, got {self.demand_t}",
                field="demand_t",
            )
        if not _finite(self.service_hours) or self.service_hours < 0:
            raise InputError(
                f"{where}: service_hours must be 0 or more, got {self.service_hours}",
                field="service_hours",
            )
        for name in ("window_start_h", "window_end_h"):
            value = getattr(self, name)
            if value is not None and not _finite(value):
                raise InputError(f"{where}: {name} must be a number of hours", field=name)
        if (
            self.window_start_h is not None
            and self.window_end_h is not None
            and self.window_end_h < self.window_start_h
        ):
            raise InputError(
                f"{where}: window ends at {self.window_end_h:g} h, before it opens at "
                f"{self.window_start_h:g} h",
                field="window_end_h",
            )


@dataclass(frozen=True)
class Depot:
    """Where every truck starts and ends; open from ``open_h`` until ``close_h`` (hours)."""

    id: str = "depot"
    lat: float | None = None
    lon: float | None = None
    open_h: float = 0.0
    close_h: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InputError("the depot needs a non-empty id", field="depot.id")
        if (self.lat is None) != (self.lon is None):
            raise InputError("depot: give both lat and lon, or neither", field="depot.lat")
        if self.lat is not None and not (_finite(self.lat) and -90 <= self.lat <= 90):
            raise InputError(f"depot: lat must be within -90..90, got {self.lat}", field="depot")
        if self.lon is not None and not (_finite(self.lon) and -180 <= self.lon <= 180):
            raise InputError(f"depot: lon must be within -180..180, got {self.lon}", field="depot")
        if not _finite(self.open_h) or self.open_h < 0:
            raise InputError(
                f"depot: open_h must be 0 h (the plan's time zero) or later, got {self.open_h}",
                field="depot.open_h",
            )
        if self.close_h is not None and not (_finite(self.close_h) and self.close_h > self.open_h):
            raise InputError(
                f"depot: closes at {self.close_h} h, which is not after it opens at "
                f"{self.open_h:g} h",
                field="depot.close_h",
            )


@dataclass(frozen=True)
class Fleet:
    """Identical trucks, the first ``oversize_capable`` of which may carry oversize pieces.

    Parameters
    ----------
    trucks
        Number of trucks available.
    payload_t
        Payload of each truck, in tonnes.
    oversize_capable
        How many of the trucks are fitted for oversize pieces.
    speed_kph
        Average road speed, turning distances into travel hours.
    max_shift_hours
        Longest a truck may be away from the depot; ``None`` is no limit.
    """

    trucks: int
    payload_t: float
    oversize_capable: int = 0
    speed_kph: float = 60.0
    max_shift_hours: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.trucks, bool) or not isinstance(self.trucks, int) or self.trucks < 1:
            raise InputError(
                f"the fleet needs at least one truck, got {self.trucks}", field="trucks"
            )
        if not _finite(self.payload_t) or self.payload_t <= 0:
            raise InputError(
                f"a truck's payload_t must be more than 0 t, got {self.payload_t}",
                field="payload_t",
            )
        if (
            isinstance(self.oversize_capable, bool)
            or not isinstance(self.oversize_capable, int)
            or not 0 <= self.oversize_capable <= self.trucks
        ):
            raise InputError(
                f"oversize_capable must be between 0 and the {self.trucks} trucks, "
                f"got {self.oversize_capable}",
                field="oversize_capable",
            )
        if not _finite(self.speed_kph) or self.speed_kph <= 0:
            raise InputError(
                f"speed_kph must be more than 0, got {self.speed_kph}", field="speed_kph"
            )
        if self.max_shift_hours is not None and not (
            _finite(self.max_shift_hours) and self.max_shift_hours > 0
        ):
            raise InputError(
                f"max_shift_hours must be more than 0, got {self.max_shift_hours}",
                field="max_shift_hours",
            )


@dataclass(frozen=True)
class TourProblem:
    """Everything the tours solver needs.

    Parameters
    ----------
    depot, deliveries, fleet
        Where trucks start, what to drop, and which trucks do it.
    distance_km
        Road distances, row and column 0 the depot and ``i`` the ``i``-th delivery; ``None``
        means great-circle distances from the coordinates (a lower bound on road distance).
    cost_usd_per_km, fixed_cost_usd_per_truck
        Running cost per km and the cost of sending a truck out at all.
    objective
        ``"cost"`` minimises fixed plus running cost; ``"distance"`` minimises total km and
        ignores fixed costs (the CVRPLIB objective).
    """

    depot: Depot
    deliveries: tuple[Delivery, ...]
    fleet: Fleet
    distance_km: tuple[tuple[float, ...], ...] | None = None
    cost_usd_per_km: float = 1.0
    fixed_cost_usd_per_truck: float = 0.0
    objective: Objective = "cost"
    _matrix_km: tuple[tuple[float, ...], ...] = field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        # Accept lists and arrays at run time, but keep the frozen object immutable and hashable.
        object.__setattr__(self, "deliveries", tuple(self.deliveries))
        if any(not isinstance(d, Delivery) for d in self.deliveries):
            raise InputError("deliveries must be Delivery objects", field="deliveries")
        seen: set[str] = {self.depot.id}
        for d in self.deliveries:
            if d.id in seen:
                raise InputError(
                    f"id {d.id!r} is used twice (by the depot or another delivery)",
                    field="deliveries",
                )
            seen.add(d.id)
        if self.objective not in ("cost", "distance"):
            raise InputError(
                f"objective must be 'cost' or 'distance', got {self.objective!r}",
                field="objective",
            )
        for name in ("cost_usd_per_km", "fixed_cost_usd_per_truck"):
            value = getattr(self, name)
            if not _finite(value) or value < 0:
                raise InputError(f"{name} must be 0 or more, got {value}", field=name)
        if self.distance_km is None:
            matrix = self._great_circle_matrix()
        else:
            matrix = self._checked_matrix(self.distance_km)
            object.__setattr__(self, "distance_km", matrix)
        object.__setattr__(self, "_matrix_km", matrix)

    def _great_circle_matrix(self) -> tuple[tuple[float, ...], ...]:
        points: list[tuple[float, float]] = []
        for name, lat, lon in [(self.depot.id, self.depot.lat, self.depot.lon)] + [
            (d.id, d.lat, d.lon) for d in self.deliveries
        ]:
            if lat is None or lon is None:
                raise InputError(
                    f"{name!r} has no coordinates and no distance matrix was given",
                    field="distance_km",
                )
            points.append((lat, lon))
        return tuple(tuple(great_circle_km(a[0], a[1], b[0], b[1]) for b in points) for a in points)

    def _checked_matrix(self, given: Sequence[Sequence[float]]) -> tuple[tuple[float, ...], ...]:
        size = len(self.deliveries) + 1
        rows = [tuple(float(x) for x in row) for row in given]
        if len(rows) != size or any(len(row) != size for row in rows):
            raise InputError(
                f"distance_km must be {size}x{size} (the depot, then each delivery in order)",
                field="distance_km",
            )
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if not math.isfinite(value) or value < 0:
                    raise InputError(
                        f"distance_km[{i}][{j}] must be a distance of 0 km or more, got {value}",
                        field="distance_km",
                    )
        return tuple(rows)

    @property
    def matrix_km(self) -> tuple[tuple[float, ...], ...]:
        """Distances used by the solver: the given matrix or the great-circle one."""
        return self._matrix_km

    def travel_hours(self, i: int, j: int) -> float:
        """Driving time between matrix rows ``i`` and ``j``."""
        return self._matrix_km[i][j] / self.fleet.speed_kph


# --- Result -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stop:
    """One delivery on a tour; times in hours from the plan's time zero."""

    delivery_id: str
    arrival_h: float
    start_h: float
    depart_h: float
    distance_from_previous_km: float
    onboard_t: float  # tonnes on the truck as it arrives, this delivery included


@dataclass(frozen=True)
class Tour:
    """One truck's round trip from the depot and back."""

    truck: int
    oversize_capable: bool
    stops: tuple[Stop, ...]
    start_h: float
    end_h: float
    return_distance_km: float
    distance_km: float
    load_t: float
    cost_usd: float

    @property
    def hours(self) -> float:
        """Time away from the depot."""
        return self.end_h - self.start_h


@dataclass(frozen=True)
class Unserved:
    """A delivery left out of every tour, and why."""

    delivery_id: str
    reason: str


@dataclass(frozen=True)
class TourResult:
    """Tours of the used trucks, the unserved deliveries, totals and how the search ended."""

    status: TourStatus
    objective: Objective
    tours: tuple[Tour, ...]
    unserved: tuple[Unserved, ...]
    distance_km: float
    cost_usd: float
    solve_seconds: float

    @property
    def trucks_used(self) -> int:
        """Number of trucks sent out."""
        return len(self.tours)

    @property
    def served(self) -> int:
        """Number of deliveries on a tour."""
        return sum(len(t.stops) for t in self.tours)


# --- Solver -----------------------------------------------------------------------------------

_FIRST_SOLUTION = {
    "automatic": routing_enums_pb2.FirstSolutionStrategy.AUTOMATIC,
    "path_cheapest_arc": routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC,
    "savings": routing_enums_pb2.FirstSolutionStrategy.SAVINGS,
    "parallel_cheapest_insertion": (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    ),
    "local_cheapest_insertion": routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION,
    "christofides": routing_enums_pb2.FirstSolutionStrategy.CHRISTOFIDES,
    "sweep": routing_enums_pb2.FirstSolutionStrategy.SWEEP,
}
_METAHEURISTIC = {
    "guided_local_search": routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH,
    "greedy_descent": routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT,
    "simulated_annealing": routing_enums_pb2.LocalSearchMetaheuristic.SIMULATED_ANNEALING,
    "tabu_search": routing_enums_pb2.LocalSearchMetaheuristic.TABU_SEARCH,
    # Iterated local search has its own entry point; its local search is a greedy descent.
    "iterated_local_search": routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT,
}
_RoutingStatus = routing_enums_pb2.RoutingSearchStatus
_BOOL_FALSE = optional_boolean_pb2.BOOL_FALSE


@dataclass(frozen=True)
class _Scaled:
    """The problem in model units; node 0 is the depot, node k is ``deliveries[order[k-1]]``."""

    order: tuple[int, ...]
    arc_cost: list[list[int]]
    travel_s: list[list[int]]
    demand_kg: list[int]
    service_s: list[int]
    window_s: list[tuple[int, int]]
    payload_kg: int
    horizon_s: int
    uses_time: bool


def _needs_time(problem: TourProblem) -> bool:
    return (
        problem.depot.close_h is not None
        or problem.fleet.max_shift_hours is not None
        or any(
            d.window_start_h is not None or d.window_end_h is not None for d in problem.deliveries
        )
    )


def _travel_s(problem: TourProblem, i: int, j: int) -> int:
    return _up(problem.travel_hours(i, j), SECONDS_PER_HOUR)


def _screen(problem: TourProblem) -> dict[str, str]:
    """Deliveries no truck can serve whatever the others do, each with the planner's reason."""
    fleet, depot = problem.fleet, problem.depot
    payload_kg = _down(fleet.payload_t, KG_PER_T)
    open_s = _up(depot.open_h, SECONDS_PER_HOUR)
    uses_time = _needs_time(problem)
    reasons: dict[str, str] = {}
    for k, d in enumerate(problem.deliveries, start=1):
        if _up(d.demand_t, KG_PER_T) > payload_kg:
            reasons[d.id] = (
                f"demand {d.demand_t:g} t exceeds every truck's payload {fleet.payload_t:g} t"
            )
            continue
        if d.oversize and fleet.oversize_capable == 0:
            reasons[d.id] = "oversize piece and no oversize-capable truck"
            continue
        if not uses_time:
            continue
        if (
            d.window_start_h is not None
            and d.window_end_h is not None
            and _up(d.window_start_h, SECONDS_PER_HOUR) > _down(d.window_end_h, SECONDS_PER_HOUR)
        ):
            reasons[d.id] = (
                f"window {d.window_start_h:g}-{d.window_end_h:g} h holds no whole second, "
                "the solver's time resolution"
            )
            continue
        out_s, back_s = _travel_s(problem, 0, k), _travel_s(problem, k, 0)
        service_s = _up(d.service_hours, SECONDS_PER_HOUR)
        start_s = open_s + out_s
        if d.window_end_h is not None and start_s > _down(d.window_end_h, SECONDS_PER_HOUR):
            reasons[d.id] = (
                f"window closes at {d.window_end_h:g} h before any truck can arrive "
                f"(earliest arrival {start_s / SECONDS_PER_HOUR:.2f} h)"
            )
            continue
        if d.window_start_h is not None:
            start_s = max(start_s, _up(d.window_start_h, SECONDS_PER_HOUR))
        back_at_s = start_s + service_s + back_s
        if depot.close_h is not None and back_at_s > _down(depot.close_h, SECONDS_PER_HOUR):
            reasons[d.id] = (
                f"no truck can serve it and be back before the depot closes at "
                f"{depot.close_h:g} h (earliest return {back_at_s / SECONDS_PER_HOUR:.2f} h)"
            )
            continue
        round_trip_s = out_s + service_s + back_s
        if fleet.max_shift_hours is not None and round_trip_s > _down(
            fleet.max_shift_hours, SECONDS_PER_HOUR
        ):
            reasons[d.id] = (
                f"a round trip to it takes {round_trip_s / SECONDS_PER_HOUR:.2f} h, longer than "
                f"the {fleet.max_shift_hours:g} h shift"
            )
    return reasons


def _scale(problem: TourProblem, order: Sequence[int]) -> _Scaled:
    """Integer model data for the deliveries at ``order`` (indices into ``problem.deliveries``)."""
    rows = [0, *(k + 1 for k in order)]  # matrix rows of the model's nodes
    km = problem.matrix_km
    if problem.objective == "distance":
        arc_cost = [[round(km[a][b] * METRES_PER_KM) for b in rows] for a in rows]
    else:
        per_km_cents = problem.cost_usd_per_km * CENTS_PER_USD
        arc_cost = [[round(km[a][b] * per_km_cents) for b in rows] for a in rows]
    travel_s = [[_travel_s(problem, a, b) for b in rows] for a in rows]
    deliveries = [problem.deliveries[k] for k in order]
    demand_kg = [0, *(_up(d.demand_t, KG_PER_T) for d in deliveries)]
    service_s = [0, *(_up(d.service_hours, SECONDS_PER_HOUR) for d in deliveries)]

    depot = problem.depot
    time_refs = [depot.open_h] + [
        t for d in deliveries for t in (d.window_start_h, d.window_end_h) if t is not None
    ]
    # Latest any route can end: after the last time anything opens, drive the longest way
    # out of every node and serve everything.
    horizon_s = (
        _up(max(time_refs), SECONDS_PER_HOUR) + sum(max(row) for row in travel_s) + sum(service_s)
    )
    if depot.close_h is not None:
        horizon_s = min(horizon_s, _down(depot.close_h, SECONDS_PER_HOUR))
    open_s = _up(depot.open_h, SECONDS_PER_HOUR)
    window_s = [(open_s, horizon_s)]
    for d in deliveries:
        lo = open_s if d.window_start_h is None else _up(d.window_start_h, SECONDS_PER_HOUR)
        hi = horizon_s if d.window_end_h is None else _down(d.window_end_h, SECONDS_PER_HOUR)
        window_s.append((max(lo, 0), max(min(hi, horizon_s), 0)))

    biggest = max(
        max(max(row) for row in arc_cost),
        horizon_s,
        abs(open_s),
        round(problem.fixed_cost_usd_per_truck * CENTS_PER_USD),
    )
    if biggest * (len(rows) + problem.fleet.trucks + 2) ** 2 >= _MAX_MODEL_INT:
        raise InputError(
            "distances, costs or times are too large to solve exactly in whole metres, cents "
            "and seconds; express them in a smaller range",
            field="distance_km",
        )
    return _Scaled(
        order=tuple(order),
        arc_cost=arc_cost,
        travel_s=travel_s,
        demand_kg=demand_kg,
        service_s=service_s,
        window_s=window_s,
        payload_kg=_down(problem.fleet.payload_t, KG_PER_T),
        horizon_s=horizon_s,
        uses_time=_needs_time(problem),
    )


# Operators that only act on pickup-and-delivery pairs, visit types or chains of optional
# nodes: the tours model has none of the first two, and in iterated local search the
# ruin-and-recreate step already re-inserts dropped deliveries. Turning them off buys more
# iterations (X-n101-k25, 4 seeds, 10 s: mean gap 2.8 % -> 1.7 %).
_ILS_OFF_OPERATORS = (
    "use_relocate_pair",
    "use_light_relocate_pair",
    "use_exchange_pair",
    "use_relocate_subtrip",
    "use_exchange_subtrip",
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_shortest_path_swap_active",
    "use_shortest_path_two_opt",
    "use_swap_active_chain",
    "use_make_chain_inactive",
)
# Simulated-annealing acceptance of the iterated local search, in units of the mean arc cost so
# it means the same in metres and in cents; cools to a thousandth of it by the time limit.
ILS_START_TEMPERATURE_PER_ARC = 0.3


def _search_parameters(
    time_limit_s: float,
    first_solution: FirstSolution,
    metaheuristic: Metaheuristic,
    gls_lambda: float | None,
    mean_arc_cost: float,
) -> Any:
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = _FIRST_SOLUTION[first_solution]
    params.local_search_metaheuristic = _METAHEURISTIC[metaheuristic]
    if metaheuristic == "iterated_local_search":
        params.use_iterated_local_search = True
        ils = params.iterated_local_search_parameters
        # OR-Tools ships no default ruin; SISR with the paper's suggested sizes (Christiaens and
        # Vanden Berghe 2020: L_max = 10, c-bar = 10, alpha = 0.01).
        sisr = ils.ruin_recreate_parameters.ruin_strategies.add().sisr
        sisr.max_removed_sequence_size = 10
        sisr.avg_num_removed_visits = 10
        sisr.bypass_factor = 0.01
        annealing = ils.reference_solution_acceptance_strategy.simulated_annealing
        start = max(1.0, ILS_START_TEMPERATURE_PER_ARC * mean_arc_cost)
        annealing.initial_temperature = start
        annealing.final_temperature = start / 1000
        for name in _ILS_OFF_OPERATORS:
            setattr(params.local_search_operators, name, _BOOL_FALSE)
    if gls_lambda is not None:
        params.guided_local_search_lambda_coefficient = gls_lambda
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    return params


def solve_tours(
    problem: TourProblem,
    *,
    time_limit_s: float = 10.0,
    seed: int = 0,
    first_solution: FirstSolution = "path_cheapest_arc",
    metaheuristic: Metaheuristic = "iterated_local_search",
    gls_lambda: float | None = None,
) -> TourResult:
    """Plan the trucks' tours, dropping and explaining the deliveries that cannot be served.

    Parameters
    ----------
    problem
        Depot, deliveries, fleet and costs.
    time_limit_s
        Wall-clock budget of the search (OR-Tools' ``time_limit``). Iterated and guided local
        search use all of it; greedy descent stops at its first local optimum.
    seed
        0 keeps the deliveries' order in the model; any other value shuffles it, which changes
        the search's tie-breaking and so which of several good tours it finds. Results under a
        time limit also depend on machine speed; greedy descent is fully repeatable.
    first_solution, metaheuristic, gls_lambda
        OR-Tools search strategy. The defaults (path cheapest arc, then iterated local search
        with SISR ruin-and-recreate) gave the best CVRPLIB gaps in ten seconds; guided local
        search was 2-4 points worse on X-n101-k25.

    Returns
    -------
    TourResult
        Tours of the trucks used, unserved deliveries with reasons, totals and search status.
    """
    started = time.perf_counter()
    if not _finite(time_limit_s) or time_limit_s <= 0:
        raise InputError(
            f"time_limit_s must be more than 0, got {time_limit_s}", field="time_limit_s"
        )
    if first_solution not in _FIRST_SOLUTION:
        raise InputError(f"unknown first_solution {first_solution!r}", field="first_solution")
    if metaheuristic not in _METAHEURISTIC:
        raise InputError(f"unknown metaheuristic {metaheuristic!r}", field="metaheuristic")
    if gls_lambda is not None and not (_finite(gls_lambda) and gls_lambda > 0):
        raise InputError(f"gls_lambda must be more than 0, got {gls_lambda}", field="gls_lambda")

    reasons = _screen(problem)
    order = [k for k, d in enumerate(problem.deliveries) if d.id not in reasons]
    if seed:
        random.Random(seed).shuffle(order)
    if not order:
        return _result(problem, "optimal", [], reasons, started)

    scaled = _scale(problem, order)
    fleet = problem.fleet
    manager = pywrapcp.RoutingIndexManager(len(scaled.demand_kg), fleet.trucks, 0)
    model = pywrapcp.RoutingModel(manager)

    arc = model.RegisterTransitMatrix(scaled.arc_cost)
    model.SetArcCostEvaluatorOfAllVehicles(arc)
    if problem.objective == "cost" and problem.fixed_cost_usd_per_truck > 0:
        model.SetFixedCostOfAllVehicles(round(problem.fixed_cost_usd_per_truck * CENTS_PER_USD))

    demand = model.RegisterUnaryTransitVector(scaled.demand_kg)
    model.AddDimensionWithVehicleCapacity(
        demand, 0, [scaled.payload_kg] * fleet.trucks, True, "load"
    )

    if scaled.uses_time:
        _add_time(model, manager, problem, scaled)

    # Dropping a delivery must cost more than any set of tours could, so the solver serves as
    # many as it can and only then minimises cost.
    fixed_cents = round(problem.fixed_cost_usd_per_truck * CENTS_PER_USD)
    max_arc = max(max(row) for row in scaled.arc_cost)
    penalty = len(scaled.demand_kg) * max_arc + fleet.trucks * fixed_cents + 1
    # -1 is the vehicle of an unperformed node, so an oversize piece may still be dropped.
    capable = [-1, *range(fleet.oversize_capable)]
    for node in range(1, len(scaled.demand_kg)):
        index = manager.NodeToIndex(node)
        model.AddDisjunction([index], penalty)
        if problem.deliveries[order[node - 1]].oversize:
            model.VehicleVar(index).SetValues(capable)

    arcs = [c for row in scaled.arc_cost for c in row if c > 0]
    mean_arc = sum(arcs) / len(arcs) if arcs else 1.0
    params = _search_parameters(time_limit_s, first_solution, metaheuristic, gls_lambda, mean_arc)
    if metaheuristic == "iterated_local_search":
        solution = model.SolveWithIteratedLocalSearch(params)
    else:
        solution = model.SolveWithParameters(params)
    code = model.status()
    if code == _RoutingStatus.ROUTING_INVALID:
        # Only the search options can make the model invalid; everything else was validated.
        raise InputError("OR-Tools rejected the search options", field="metaheuristic")
    if solution is None:
        # Every delivery is optional, so "no solution" can only mean the clock ran out.
        status: TourStatus = (
            "timeout" if code == _RoutingStatus.ROUTING_FAIL_TIMEOUT else "infeasible"
        )
        why = (
            "no solution found within the time limit"
            if status == "timeout"
            else "the solver found no solution"
        )
        for k in order:
            reasons[problem.deliveries[k].id] = why
        return _result(problem, status, [], reasons, started)

    routes: list[tuple[int, list[int]]] = []
    for truck in range(fleet.trucks):
        index = model.Start(truck)
        visits: list[int] = []
        index = solution.Value(model.NextVar(index))
        while not model.IsEnd(index):
            visits.append(order[manager.IndexToNode(index) - 1])
            index = solution.Value(model.NextVar(index))
        if visits:
            routes.append((truck, visits))
    # The iterated local search entry point leaves the status unset; a solution is feasible.
    status = "optimal" if code == _RoutingStatus.ROUTING_OPTIMAL else "feasible"
    served = {k for _, visits in routes for k in visits}
    for k in order:
        if k not in served:
            reasons[problem.deliveries[k].id] = DROPPED_REASON
    return _result(problem, status, routes, reasons, started)


def _add_time(model: Any, manager: Any, problem: TourProblem, scaled: _Scaled) -> None:
    """Time dimension in seconds: travel plus the service at the node left, waiting allowed."""
    transit = [
        [scaled.travel_s[a][b] + scaled.service_s[a] for b in range(len(scaled.travel_s))]
        for a in range(len(scaled.travel_s))
    ]
    callback = model.RegisterTransitMatrix(transit)
    horizon = scaled.horizon_s
    model.AddDimension(callback, horizon, horizon, False, "time")
    dim = model.GetDimensionOrDie("time")
    for node in range(1, len(scaled.window_s)):
        lo, hi = scaled.window_s[node]
        dim.CumulVar(manager.NodeToIndex(node)).SetRange(lo, hi)
    open_s = scaled.window_s[0][0]
    shift = problem.fleet.max_shift_hours
    for truck in range(problem.fleet.trucks):
        dim.CumulVar(model.Start(truck)).SetRange(open_s, horizon)
        dim.CumulVar(model.End(truck)).SetRange(open_s, horizon)
        if shift is not None:
            dim.SetSpanUpperBoundForVehicle(_down(shift, SECONDS_PER_HOUR), truck)


def _schedule(problem: TourProblem, visits: Sequence[int]) -> tuple[float, list[float]]:
    """Departure hour and arrival hours of the shortest-duration schedule of a visit order.

    A forward pass from the opening hour finds the earliest schedule; the departure is then
    delayed by as much of its waiting as can be absorbed without pushing any start past its
    window (forward time slack), which shortens the tour without moving its end.
    """

    def forward(depart: float) -> tuple[list[float], float, float]:
        arrivals: list[float] = []
        slack, waited = math.inf, 0.0
        clock, here = depart, 0
        for k in visits:
            d = problem.deliveries[k]
            arrival = clock + problem.travel_hours(here, k + 1)
            start = arrival if d.window_start_h is None else max(arrival, d.window_start_h)
            waited += start - arrival
            if d.window_end_h is not None:
                slack = min(slack, d.window_end_h - start + waited)
            arrivals.append(arrival)
            clock, here = start + d.service_hours, k + 1
        return arrivals, waited, slack

    earliest = problem.depot.open_h
    arrivals, waited, slack = forward(earliest)
    delay = max(0.0, min(waited, slack))
    if delay == 0.0:
        return earliest, arrivals
    return earliest + delay, forward(earliest + delay)[0]


def _result(
    problem: TourProblem,
    status: TourStatus,
    routes: Sequence[tuple[int, Sequence[int]]],
    reasons: dict[str, str],
    started: float,
) -> TourResult:
    """Exact (float) tours, times and totals from the visit orders the model chose."""
    km = problem.matrix_km
    fixed = problem.fixed_cost_usd_per_truck
    tours: list[Tour] = []
    for truck, visits in routes:
        depart, arrivals = _schedule(problem, visits)
        onboard = sum(problem.deliveries[k].demand_t for k in visits)
        load = onboard
        stops: list[Stop] = []
        here = 0
        for k, arrival in zip(visits, arrivals, strict=True):
            d = problem.deliveries[k]
            start = arrival if d.window_start_h is None else max(arrival, d.window_start_h)
            stops.append(
                Stop(
                    delivery_id=d.id,
                    arrival_h=arrival,
                    start_h=start,
                    depart_h=start + d.service_hours,
                    distance_from_previous_km=km[here][k + 1],
                    onboard_t=onboard,
                )
            )
            onboard -= d.demand_t
            here = k + 1
        back_km = km[here][0]
        distance = sum(s.distance_from_previous_km for s in stops) + back_km
        end = stops[-1].depart_h + problem.travel_hours(here, 0)
        tours.append(
            Tour(
                truck=truck,
                oversize_capable=truck < problem.fleet.oversize_capable,
                stops=tuple(stops),
                start_h=depart,
                end_h=end,
                return_distance_km=back_km,
                distance_km=distance,
                load_t=load,
                cost_usd=distance * problem.cost_usd_per_km + fixed,
            )
        )
    unserved = tuple(Unserved(d.id, reasons[d.id]) for d in problem.deliveries if d.id in reasons)
    return TourResult(
        status=status,
        objective=problem.objective,
        tours=tuple(tours),
        unserved=unserved,
        distance_km=sum(t.distance_km for t in tours),
        cost_usd=sum(t.cost_usd for t in tours),
        solve_seconds=time.perf_counter() - started,
    )


# --- CVRPLIB ----------------------------------------------------------------------------------


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
        fleet=Fleet(trucks=count, payload_t=instance.capacity),
        distance_km=tuple(tuple(float(x) for x in row) for row in instance.distance),
        cost_usd_per_km=1.0,
        fixed_cost_usd_per_truck=0.0,
        objective="distance",
    )
