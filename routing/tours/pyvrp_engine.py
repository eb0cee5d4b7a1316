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
- a piece a truck type cannot carry (oversize flag, deck size) lies, in that type's routing
  profile, at the end of a road longer than any prize is worth and any driving limit allows;
- deliveries are optional with a prize of twice the cost of a truck sent for it alone, unless all
  must be served (PyVRP caps its penalties, so prizes far larger than costs would let the search
  prefer overloaded trucks to leaving anything out).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyvrp

from graphs.errors import InputError
from routing.stopping import Stop
from routing.tours.problem import TourProblem
from routing.tours.result import TourStatus
from routing.tours.solve import (
    EngineAnswer,
    EngineRoute,
    planned_road_hours,
    problem_class,
    truck_day,
)

__all__ = ["solve_pyvrp"]

# --- The one place where PyVRP's integer units are declared -----------------------------------
# Metres, seconds, grams and micro-dollars: 1.5 USD/km is 1500 micro-USD per metre.
METRES_PER_KM = 1000
SECONDS_PER_HOUR = 3600
# Grams, not kilograms: PyVRP caps its penalty per unit of excess load, and a finer unit
# keeps an overload dearer than any delivery's prize.
G_PER_T = 1_000_000
MICRO_USD_PER_USD = 1_000_000
# A leg no road joins (oversize roads): far dearer than any real leg, far from int64's end.
_FORBIDDEN_M = 10**10
_MAX_MODEL_INT = 2**62
_EPS = 1e-6


def _up(value: float, scale: int) -> int:
    return math.ceil(value * scale - _EPS)


def _down(value: float, scale: int) -> int:
    return math.floor(value * scale + _EPS)


# PyVRP restarts its search after this many iterations without improvement. Its default,
# 150,000, suits runs of minutes to hours; a ten-second CVRP run makes about 20,000 iterations
# and so never restarted, and stayed in a local optimum (A-n80-k10, seed 0: 0.85 % above the
# optimum after 10 s of CPU). Measured on the CVRPLIB set (README): 5,000 brought A-n80-k10 to
# 0.17 % and X-n101-k25 to 0.02 %. Used for the CVRP class only; time-window problems keep the
# default, with which the Solomon figures were measured.
CVRP_RESTART_ITERATIONS = 5_000


def _params(problem: TourProblem) -> pyvrp.SolveParams:
    if problem_class(problem) == "cvrp":
        ils = pyvrp.IteratedLocalSearchParams(num_iters_no_improvement=CVRP_RESTART_ITERATIONS)
        return pyvrp.SolveParams(ils=ils)
    return pyvrp.SolveParams()


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


def _profiles(
    problem: TourProblem, candidates: Sequence[int]
) -> tuple[list[int], list[tuple[bool, float, frozenset[int]]]]:
    """Profile of each truck type: one per distinct (oversize roads, speed, clients it cannot
    carry); several types share a profile when all three agree."""
    keys: list[tuple[bool, float, frozenset[int]]] = []
    index = []
    for truck in problem.fleet:
        barred = frozenset(
            i for i, k in enumerate(candidates) if truck.carries(problem.deliveries[k]) is not None
        )
        key = (
            truck.oversize and problem.oversize_distance_km is not None,
            truck.speed_kph,
            barred,
        )
        if key not in keys:
            keys.append(key)
        index.append(keys.index(key))
    return index, keys


def build_data(problem: TourProblem, candidates: Sequence[int]) -> pyvrp.ProblemData:
    """PyVRP's data for the deliveries at ``candidates`` (location ``i + 1`` is candidate i)."""
    rows = [0, *(k + 1 for k in candidates)]
    deliveries = [problem.deliveries[k] for k in candidates]
    rules, depot = problem.rules, problem.depot

    type_profile, keys = _profiles(problem, candidates)
    distances: list[Any] = []
    durations: list[Any] = []
    for oversize_roads, speed, barred in keys:
        km = problem.oversize_distance_km if oversize_roads else problem.matrix_km
        assert km is not None
        probe = next(t for t in problem.fleet if t.speed_kph == speed)
        dist = np.zeros((len(rows), len(rows)), dtype=np.int64)
        dur = np.zeros((len(rows), len(rows)), dtype=np.int64)
        for i, a in enumerate(rows):
            for j, b in enumerate(rows):
                # A client the type cannot carry is, for it, at the end of no road: serving
                # it would cost more than any prize and break every distance limit.
                if math.isinf(km[a][b]) or (i - 1) in barred or (j - 1) in barred:
                    dist[i, j] = dur[i, j] = _FORBIDDEN_M if i != j else 0
                    continue
                dist[i, j] = round(km[a][b] * METRES_PER_KM)
                dur[i, j] = _up(planned_road_hours(problem, probe, km[a][b]), SECONDS_PER_HOUR)
        distances.append(dist)
        durations.append(dur)

    vehicle_types: list[pyvrp.VehicleType] = []
    unit_costs, fixed_costs = [], []
    for truck in problem.fleet:
        open_h, end_h = truck_day(problem, truck)
        per_km = truck.cost_usd_per_km + (truck.escort_usd_per_km if truck.oversize else 0.0)
        if problem.objective == "distance":
            unit_cost, fixed = 1, 0
        else:
            unit_cost = round(per_km * MICRO_USD_PER_USD / METRES_PER_KM)
            fixed = round(truck.fixed_cost_usd * MICRO_USD_PER_USD)
        unit_costs.append(unit_cost)
        fixed_costs.append(fixed)
        kwargs: dict[str, object] = {}
        if truck.max_trips > 1:
            kwargs["reload_depots"] = [0]
            kwargs["max_reloads"] = truck.max_trips - 1
        if rules is not None:
            kwargs["shift_duration"] = _down(rules.shift_h, SECONDS_PER_HOUR)
            kwargs["max_distance"] = _down(rules.driving_h * truck.speed_kph, METRES_PER_KM)
        if not math.isinf(end_h):
            # A type whose day is empty serves nothing (its deliveries were screened) but must
            # still be a well-formed vehicle type.
            kwargs["tw_late"] = max(_down(end_h, SECONDS_PER_HOUR), _up(open_h, SECONDS_PER_HOUR))
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=truck.count,
                capacity=[_down(truck.payload_t, G_PER_T)],
                fixed_cost=fixed,
                tw_early=_up(open_h, SECONDS_PER_HOUR),
                unit_distance_cost=unit_cost,
                profile=type_profile[len(vehicle_types)],
                name=truck.name,
                **kwargs,  # type: ignore[arg-type]
            )
        )

    clients = []
    for i, d in enumerate(deliveries, start=1):
        # Leaving a delivery out costs twice what a truck of its own would: a truck sent out
        # for it alone, there and back, so serving it always pays when it can be served.
        alone = [
            2 * (unit_costs[t] * int(distances[p][0, i] + distances[p][i, 0]) + fixed_costs[t])
            for t, p in enumerate(type_profile)
            if distances[p][0, i] < _FORBIDDEN_M
        ]
        prize = max(alone, default=0) + 1
        if prize * len(rows) >= _MAX_MODEL_INT:
            raise InputError(
                "distances or costs are too large to solve exactly in metres and micro-dollars",
                field="distance_km",
            )
        kw: dict[str, int] = {}
        if d.window_start_h is not None:
            kw["tw_early"] = _up(d.window_start_h, SECONDS_PER_HOUR)
        if d.window_end_h is not None:
            # A window narrower than a second (screened out as unservable) stays well-formed.
            kw["tw_late"] = max(_down(d.window_end_h, SECONDS_PER_HOUR), kw.get("tw_early", 0))
        clients.append(
            pyvrp.Client(
                location=i,
                delivery=[_up(d.demand_t, G_PER_T)],
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


_Trips = list[list[int]]  # client indices of the model, per trip


def _route(data: pyvrp.ProblemData, vehicle_type: int, trips: _Trips) -> pyvrp.Route:
    activities: list[pyvrp.Activity] = []
    for n, trip in enumerate(t for t in trips if t):
        if n:
            activities.append(pyvrp.Activity(pyvrp.ActivityType.DEPOT, 0))
        activities += [pyvrp.Activity(pyvrp.ActivityType.CLIENT, c) for c in trip]
    return pyvrp.Route(data, activities, vehicle_type)


def _cost(route: pyvrp.Route) -> float:
    """A feasible route's cost (``inf`` when infeasible); prizes are counted apart."""
    if not route.is_feasible():
        return math.inf
    fixed = route.fixed_vehicle_cost() if route.num_clients() else 0
    return float(route.distance_cost() + route.duration_cost() + fixed)


def _trips_of(route: pyvrp.Route) -> _Trips:
    trips: _Trips = []
    for activity in route.schedule():
        if activity.is_client():
            while len(trips) <= activity.trip:
                trips.append([])
            trips[activity.trip].append(activity.idx)
    return [t for t in trips if t]


def _polish(data: pyvrp.ProblemData, solution: pyvrp.Solution, stop: Stop) -> pyvrp.Solution:
    """Moves PyVRP's local search does not make on multi-trip routes (measured on a
    four-delivery case it never solved): clients moved or swapped between the trips of one
    truck, and left-out clients inserted into a trip or as a new trip of a used truck."""
    routes = [(r.vehicle_type(), _trips_of(r)) for r in solution.routes()]
    costs = [_cost(_route(data, vt, trips)) for vt, trips in routes]
    visited = {c for _, trips in routes for trip in trips for c in trip}
    left_out = [c for c in range(data.num_clients) if c not in visited]

    def positions(trips: _Trips, max_trips: int) -> list[tuple[int, int]]:
        spots = [(t, i) for t, trip in enumerate(trips) for i in range(len(trip) + 1)]
        if len(trips) < max_trips:
            spots.append((len(trips), 0))  # a new trip at the end of the day
        return spots

    def inserted(trips: _Trips, client: int, at: tuple[int, int]) -> _Trips:
        out = [list(trip) for trip in trips]
        if at[0] == len(out):
            out.append([])
        out[at[0]].insert(at[1], client)
        return out

    improved = True
    while improved and not stop():
        improved = False
        for r, (vt, trips) in enumerate(routes):
            max_trips = data.vehicle_type(vt).max_trips
            # Swap two clients of different trips, or move one to another trip.
            for t1, t2 in ((a, b) for a in range(len(trips)) for b in range(len(trips)) if a != b):
                for i, c1 in enumerate(trips[t1]):
                    for j, c2 in enumerate(trips[t2]):
                        if t1 > t2:
                            break
                        trial = [list(trip) for trip in trips]
                        trial[t1][i], trial[t2][j] = c2, c1
                        cost = _cost(_route(data, vt, trial))
                        if cost < costs[r] - 1e-9:
                            routes[r], costs[r], trips, improved = (vt, trial), cost, trial, True
                    if improved:
                        break
                    for at in positions(trips, max_trips):
                        if at[0] == t1:
                            continue
                        rest = [list(trip) for trip in trips]
                        rest[t1].pop(i)
                        trial = [t for t in inserted(rest, c1, at) if t]
                        cost = _cost(_route(data, vt, trial))
                        if cost < costs[r] - 1e-9:
                            routes[r], costs[r], trips, improved = (vt, trial), cost, trial, True
                            break
                    if improved:
                        break
                if improved or stop():
                    break
        for client in list(left_out):
            best: tuple[float, int, _Trips] | None = None
            for r, (vt, trips) in enumerate(routes):
                for at in positions(trips, data.vehicle_type(vt).max_trips):
                    trial = inserted(trips, client, at)
                    extra = _cost(_route(data, vt, trial)) - costs[r]
                    if extra < math.inf and (best is None or extra < best[0]):
                        best = (extra, r, trial)
            if best is not None:
                extra, r, trial = best
                routes[r] = (routes[r][0], trial)
                costs[r] += extra
                left_out.remove(client)
                improved = True
            if stop():
                break
    return pyvrp.Solution(data, [_route(data, vt, trips) for vt, trips in routes if trips])


def solve_pyvrp(
    problem: TourProblem,
    candidates: Sequence[int],
    stop: Stop,
    seed: int,
    iterations: int | None,
) -> EngineAnswer:
    """Solve with PyVRP; routes index ``problem.deliveries``.

    Multi-trip problems get two rounds of search, each followed by :func:`_polish`; the
    second round starts from the polished solution.
    """
    data = build_data(problem, candidates)
    multi_trip = any(t.max_trips > 1 for t in problem.fleet)
    best: pyvrp.Solution | None = None
    if not multi_trip:
        best = pyvrp.solve(
            data,
            stop=_Criterion(stop, iterations),
            seed=seed,
            collect_stats=False,
            params=_params(problem),
        ).best
    else:
        half = None if iterations is None else max(1, iterations // 2)
        # Half the time to a first search, most of the rest to a second one from the polished
        # solution, and what remains to the last polish.
        for share in (0.5, 0.8):
            left = stop.remaining_s()
            round_stop = Stop(None if left is None else max(left * share, 1e-3))
            found = pyvrp.solve(
                data,
                stop=_Criterion(_Either(round_stop, stop), half),
                seed=seed,
                collect_stats=False,
                params=_params(problem),
                initial_solution=best,
            ).best
            best = _polish(data, found, stop) if found.is_feasible() else found
    if best is None or not best.is_feasible():
        status: TourStatus = "timeout" if stop() and not stop.cancelled else "infeasible"
        return EngineAnswer(status=status, routes=())
    routes = []
    for route in best.routes():
        trips = [[candidates[c] for c in trip] for trip in _trips_of(route)]
        routes.append(
            EngineRoute(
                truck_type=route.vehicle_type(),
                trips=tuple(tuple(t) for t in trips),
                start_h=route.start_time() / SECONDS_PER_HOUR,
            )
        )
    return EngineAnswer(status="feasible", routes=tuple(routes))


class _Either(Stop):
    """Stops when either of two stops does (a round's deadline, or the caller's)."""

    def __init__(self, first: Stop, second: Stop) -> None:
        super().__init__(None)
        self._first, self._second = first, second

    def __call__(self) -> bool:
        return self._first() or self._second()
