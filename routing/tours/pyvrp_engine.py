"""The tours problem in PyVRP: reload depots for multiple trips, one vehicle type per truck type,
routing profiles for oversize roads and speeds, and load dimensions for what fits where.

How each rule is modelled:

- multi-trip: the railhead is each type's reload depot (``max_reloads = max_trips - 1``); its
  service duration is the loading time of every trip;
- drivers' hours: the working day is the vehicle's ``shift_duration`` (24 h less the daily rest);
  daily driving is ``max_distance`` (driving hours x speed, at a constant speed per type); and
  travel durations are inflated by ``1 + break / block`` (45 min per 4.5 h), an upper bound on
  the breaks a stretch of driving needs, so every schedule the model accepts stays feasible when
  the real breaks are placed (``solve._Clock``);
- a piece a truck type cannot carry (oversize flag, deck size) adds 1 to that type's own load
  dimension, whose capacity on that type is 0;
- deliveries are optional with a prize larger than any tour's cost, unless all must be served.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyvrp

from graphs.errors import InputError
from routing.stopping import Stop
from routing.tours.problem import TourProblem, TruckType
from routing.tours.solve import EngineAnswer, EngineRoute, _road_hours, _window_of

__all__ = ["solve_pyvrp"]

# --- The one place where PyVRP's integer units are declared -----------------------------------
# Metres, seconds, kilograms and micro-dollars: 1.5 USD/km is 1500 micro-USD per metre.
METRES_PER_KM = 1000
SECONDS_PER_HOUR = 3600
KG_PER_T = 1000
MICRO_USD_PER_USD = 1_000_000
# A leg no road joins (oversize roads): far dearer than any real leg, far from int64's end.
_FORBIDDEN_M = 10**10
_MAX_MODEL_INT = 2**62
_EPS = 1e-6


def _up(value: float, scale: int) -> int:
    return math.ceil(value * scale - _EPS)


def _down(value: float, scale: int) -> int:
    return math.floor(value * scale + _EPS)


class _Criterion:
    """PyVRP's stopping criterion from the project's Stop and an optional iteration count."""

    def __init__(self, stop: Stop, iterations: int | None) -> None:
        self._stop = stop
        self._left = iterations

    def __call__(self, best_cost: float) -> bool:
        if self._left is not None:
            if self._left <= 0:
                return True
            self._left -= 1
        return self._stop()


def _profiles(problem: TourProblem) -> tuple[list[int], list[tuple[bool, float]]]:
    """Profile of each truck type: one per distinct (roads, speed)."""
    keys: list[tuple[bool, float]] = []
    index = []
    for truck in problem.fleet:
        key = (truck.oversize and problem.oversize_distance_km is not None, truck.speed_kph)
        if key not in keys:
            keys.append(key)
        index.append(keys.index(key))
    return index, keys


def _misfits(problem: TourProblem, candidates: Sequence[int]) -> list[int]:
    """Truck types some candidate cannot ride on; each gets a load dimension."""
    out = []
    for t, truck in enumerate(problem.fleet):
        if any(truck.carries(problem.deliveries[k]) is not None for k in candidates):
            out.append(t)
    return out


def build_data(problem: TourProblem, candidates: Sequence[int]) -> pyvrp.ProblemData:
    """PyVRP's data for the deliveries at ``candidates`` (location ``i + 1`` is candidate i)."""
    rows = [0, *(k + 1 for k in candidates)]
    deliveries = [problem.deliveries[k] for k in candidates]
    rules, depot = problem.rules, problem.depot

    type_profile, keys = _profiles(problem)
    distances, durations = [], []
    for oversize_roads, speed in keys:
        km = problem.oversize_distance_km if oversize_roads else problem.matrix_km
        assert km is not None
        probe = next(t for t in problem.fleet if t.speed_kph == speed)
        dist = np.zeros((len(rows), len(rows)), dtype=np.int64)
        dur = np.zeros((len(rows), len(rows)), dtype=np.int64)
        for i, a in enumerate(rows):
            for j, b in enumerate(rows):
                if math.isinf(km[a][b]):
                    dist[i, j] = dur[i, j] = _FORBIDDEN_M
                    continue
                dist[i, j] = round(km[a][b] * METRES_PER_KM)
                hours = _road_hours(problem, probe, km[a][b])
                dur[i, j] = _up(hours, SECONDS_PER_HOUR)
        distances.append(dist)
        durations.append(dur)

    misfit_types = _misfits(problem, candidates)
    capacity_of = {}
    for t, truck in enumerate(problem.fleet):
        cap = [_down(truck.payload_t, KG_PER_T)]
        cap += [0 if m == t else len(deliveries) for m in misfit_types]
        capacity_of[t] = cap

    biggest_cost = 0
    vehicle_types = []
    for t, truck in enumerate(problem.fleet):
        open_h, end_h = _window_of(problem, truck)
        per_km = truck.cost_usd_per_km + (truck.escort_usd_per_km if truck.oversize else 0.0)
        if problem.objective == "distance":
            unit_cost, fixed = 1, 0
        else:
            unit_cost = round(per_km * MICRO_USD_PER_USD / METRES_PER_KM)
            fixed = round(truck.fixed_cost_usd * MICRO_USD_PER_USD)
        longest = int(max(d.max() for d in distances))
        biggest_cost = max(biggest_cost, unit_cost * min(longest, _FORBIDDEN_M) + fixed)
        kwargs: dict[str, object] = {}
        if truck.max_trips > 1:
            kwargs["reload_depots"] = [0]
            kwargs["max_reloads"] = truck.max_trips - 1
        if rules is not None:
            kwargs["shift_duration"] = _down(rules.shift_h, SECONDS_PER_HOUR)
            kwargs["max_distance"] = _down(rules.driving_h * truck.speed_kph, METRES_PER_KM)
        if not math.isinf(end_h):
            kwargs["tw_late"] = _down(end_h, SECONDS_PER_HOUR)
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=truck.count,
                capacity=capacity_of[t],
                fixed_cost=fixed,
                tw_early=_up(open_h, SECONDS_PER_HOUR),
                unit_distance_cost=unit_cost,
                profile=type_profile[t],
                name=truck.name,
                **kwargs,  # type: ignore[arg-type]
            )
        )

    # Leaving a delivery out must cost more than serving it in any way could.
    prize = (len(rows) + 1) * biggest_cost * 2 + 1
    if prize * len(rows) >= _MAX_MODEL_INT:
        raise InputError(
            "distances or costs are too large to solve exactly in metres and micro-dollars",
            field="distance_km",
        )
    clients = []
    for d in deliveries:
        demand = [_up(d.demand_t, KG_PER_T)]
        demand += [1 if problem.fleet[m].carries(d) is not None else 0 for m in misfit_types]
        kw: dict[str, object] = {}
        if d.window_start_h is not None:
            kw["tw_early"] = _up(d.window_start_h, SECONDS_PER_HOUR)
        if d.window_end_h is not None:
            kw["tw_late"] = _down(d.window_end_h, SECONDS_PER_HOUR)
        clients.append(
            pyvrp.Client(
                location=len(clients) + 1,
                delivery=demand,
                service_duration=_up(d.service_hours, SECONDS_PER_HOUR),
                required=problem.serve_all,
                prize=0 if problem.serve_all else prize,
                name=d.id,
                **kw,  # type: ignore[arg-type]
            )
        )
    depot_kw: dict[str, object] = {}
    if depot.close_h is not None:
        depot_kw["tw_late"] = _down(depot.close_h, SECONDS_PER_HOUR)
    depots = [
        pyvrp.Depot(
            location=0,
            tw_early=_up(depot.open_h, SECONDS_PER_HOUR),
            service_duration=_up(depot.reload_hours, SECONDS_PER_HOUR),
            name=depot.id,
            **depot_kw,  # type: ignore[arg-type]
        )
    ]
    locations = [pyvrp.Location(0.0, 0.0, name=depot.id)] + [
        pyvrp.Location(0.0, 0.0, name=d.id) for d in deliveries
    ]
    try:
        return pyvrp.ProblemData(
            locations=locations,
            clients=clients,
            depots=depots,
            vehicle_types=vehicle_types,
            distance_matrices=distances,
            duration_matrices=durations,
        )
    except ValueError as exc:
        raise InputError(f"the tours model is inconsistent: {exc}", field="fleet") from None


def solve_pyvrp(
    problem: TourProblem,
    candidates: Sequence[int],
    stop: Stop,
    seed: int,
    iterations: int | None,
) -> EngineAnswer:
    """Solve with PyVRP; routes index ``problem.deliveries``."""
    data = build_data(problem, candidates)
    result = pyvrp.solve(
        data,
        stop=_Criterion(stop, iterations),
        seed=seed,
        collect_stats=False,
        display=False,
    )
    best = result.best
    if not best.is_feasible():
        status = "timeout" if stop() and not stop.cancelled else "infeasible"
        return EngineAnswer(status=status, routes=())
    routes = []
    for route in best.routes():
        trips: list[list[int]] = [[]]
        for activity in route.schedule():
            if activity.is_client():
                while len(trips) <= activity.trip:
                    trips.append([])
                trips[activity.trip].append(candidates[activity.idx])
        trips = [t for t in trips if t]
        routes.append(
            EngineRoute(
                truck_type=route.vehicle_type(),
                trips=tuple(tuple(t) for t in trips),
                start_h=route.start_time() / SECONDS_PER_HOUR,
            )
        )
    return EngineAnswer(status="feasible", routes=tuple(routes))


def truck_types_of(problem: TourProblem) -> list[TruckType]:
    """The truck types in model order (for readers of the model)."""
    return list(problem.fleet)
