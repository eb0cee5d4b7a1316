"""The tours problem in OR-Tools' routing solver (the engine the benchmark measures against PyVRP).

It models one trip per truck, several truck types (capacities, running and fixed costs, what each
may carry), time windows and the railhead's hours; reloads, drivers' hours and separate oversize
roads are PyVRP's (``solve.ENGINE_FOR_CLASS``) and are refused here with a message.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from graphs.errors import InputError
from routing.stopping import Stop
from routing.tours.problem import TourProblem
from routing.tours.result import TourStatus
from routing.tours.solve import EngineAnswer, EngineRoute, truck_day

__all__ = ["solve_ortools"]

# --- The one place where OR-Tools' integer units are declared ---------------------------------
# Whole metres, seconds, kilograms and cents. Travel and service times are rounded up and windows
# inwards, so every schedule the model accepts is also feasible in exact arithmetic.
METRES_PER_KM = 1000
SECONDS_PER_HOUR = 3600
KG_PER_T = 1000
CENTS_PER_USD = 100
# OR-Tools sums int64 values; stay well clear of 2**63 so sums of penalties and arcs cannot wrap.
_MAX_MODEL_INT = 2**62
_SCALE_EPS = 1e-6
_BOOL_FALSE = optional_boolean_pb2.BOOL_FALSE
_RoutingStatus = routing_enums_pb2.RoutingSearchStatus


def _up(value: float, scale: int) -> int:
    return math.ceil(value * scale - _SCALE_EPS)


def _down(value: float, scale: int) -> int:
    return math.floor(value * scale + _SCALE_EPS)


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


def _search_parameters(time_limit_s: float, mean_arc_cost: float, iterations: int | None) -> Any:
    """Path cheapest arc, then iterated local search with SISR ruin-and-recreate: the best
    CVRPLIB gaps of OR-Tools' strategies in ten seconds (guided local search was 2-4 points
    worse on X-n101-k25)."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
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
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    if iterations is not None:
        params.solution_limit = iterations
    return params


def _check_supported(problem: TourProblem) -> None:
    why = []
    if problem.rules is not None:
        why.append("drivers' hours")
    if any(t.max_trips > 1 for t in problem.fleet) or problem.depot.reload_hours > 0:
        why.append("reloading trips")
    if problem.oversize_distance_km is not None:
        why.append("separate oversize roads")
    if len({t.speed_kph for t in problem.fleet}) > 1:
        why.append("truck types of different speeds")
    if why:
        raise InputError(
            f"the OR-Tools engine does not model {', '.join(why)}; use engine 'pyvrp' or 'auto'",
            field="engine",
        )


def solve_ortools(
    problem: TourProblem,
    candidates: Sequence[int],
    stop: Stop,
    seed: int,
    iterations: int | None,
) -> EngineAnswer:
    """Solve with OR-Tools (one trip per truck); routes index ``problem.deliveries``."""
    _check_supported(problem)
    order = list(candidates)
    if seed:
        # OR-Tools has no seed for this search; the order of the nodes steers its tie-breaks.
        random.Random(seed).shuffle(order)
    rows = [0, *(k + 1 for k in order)]
    km = problem.matrix_km
    vehicles = [t for t, truck in enumerate(problem.fleet) for _ in range(truck.count)]
    speed = problem.fleet[0].speed_kph
    deliveries = [problem.deliveries[k] for k in order]

    manager = pywrapcp.RoutingIndexManager(len(rows), len(vehicles), 0)
    model = pywrapcp.RoutingModel(manager)
    metres = [[round(km[a][b] * METRES_PER_KM) for b in rows] for a in rows]
    arc_costs: dict[int, list[list[int]]] = {}
    for t, truck in enumerate(problem.fleet):
        if problem.objective == "distance":
            arc_costs[t] = metres
        else:
            per_km = truck.cost_usd_per_km + (truck.escort_usd_per_km if truck.oversize else 0)
            cents = per_km * CENTS_PER_USD
            arc_costs[t] = [[round(km[a][b] * cents) for b in rows] for a in rows]
    callbacks = {t: model.RegisterTransitMatrix(m) for t, m in arc_costs.items()}
    for v, t in enumerate(vehicles):
        model.SetArcCostEvaluatorOfVehicle(callbacks[t], v)
        if problem.objective == "cost":
            model.SetFixedCostOfVehicle(round(problem.fleet[t].fixed_cost_usd * CENTS_PER_USD), v)

    demand = model.RegisterUnaryTransitVector([0, *(_up(d.demand_t, KG_PER_T) for d in deliveries)])
    model.AddDimensionWithVehicleCapacity(
        demand,
        0,
        [_down(problem.fleet[t].payload_t, KG_PER_T) for t in vehicles],
        True,
        "load",
    )

    travel_s = [[_up(km[a][b] / speed, SECONDS_PER_HOUR) for b in rows] for a in rows]
    service_s = [0, *(_up(d.service_hours, SECONDS_PER_HOUR) for d in deliveries)]
    times = [t for d in deliveries for t in (d.window_start_h, d.window_end_h) if t is not None]
    horizon_s = (
        _up(max([problem.depot.open_h, *times]), SECONDS_PER_HOUR)
        + sum(max(row) for row in travel_s)
        + sum(service_s)
    )
    largest = max(max(max(row) for row in m) for m in arc_costs.values())
    if max(largest, horizon_s) * (len(rows) + len(vehicles) + 2) ** 2 >= _MAX_MODEL_INT:
        raise InputError(
            "distances, costs or times are too large to solve exactly in whole metres, cents "
            "and seconds; express them in a smaller range",
            field="distance_km",
        )
    transit = model.RegisterTransitMatrix(
        [[travel_s[a][b] + service_s[a] for b in range(len(rows))] for a in range(len(rows))]
    )
    model.AddDimension(transit, horizon_s, horizon_s, False, "time")
    clock = model.GetDimensionOrDie("time")
    for node, d in enumerate(deliveries, start=1):
        lo = 0 if d.window_start_h is None else _up(d.window_start_h, SECONDS_PER_HOUR)
        hi = horizon_s if d.window_end_h is None else _down(d.window_end_h, SECONDS_PER_HOUR)
        clock.CumulVar(manager.NodeToIndex(node)).SetRange(min(lo, horizon_s), min(hi, horizon_s))
    for v, t in enumerate(vehicles):
        open_h, end_h = truck_day(problem, problem.fleet[t])
        lo = _up(open_h, SECONDS_PER_HOUR)
        hi = horizon_s if math.isinf(end_h) else min(horizon_s, _down(end_h, SECONDS_PER_HOUR))
        clock.CumulVar(model.Start(v)).SetRange(min(lo, hi), hi)
        clock.CumulVar(model.End(v)).SetRange(min(lo, hi), hi)

    # Dropping a delivery must cost more than any set of tours could, so the solver serves as
    # many as it can and only then minimises cost.
    fixed = sum(round(problem.fleet[t].fixed_cost_usd * CENTS_PER_USD) for t in vehicles)
    penalty = len(rows) * largest + fixed + 1
    for node, d in enumerate(deliveries, start=1):
        index = manager.NodeToIndex(node)
        # Optional even when all must be served: with hard windows and every node required,
        # the first-solution heuristic often finds nothing at all (Solomon R101).
        model.AddDisjunction([index], penalty)
        allowed = [v for v, t in enumerate(vehicles) if problem.fleet[t].carries(d) is None]
        if len(allowed) < len(vehicles):
            # -1 is the vehicle of an unperformed node.
            model.VehicleVar(index).SetValues([-1, *allowed])

    def check_stop() -> None:
        # The time limit below is the wall-clock deadline; this also honours a cancel (and any
        # other rule the Stop applies) at each new solution.
        if stop():
            model.solver().FinishCurrentSearch()

    model.AddAtSolutionCallback(check_stop)
    arcs = [c for row in metres for c in row if c > 0]
    mean_arc = sum(arcs) / len(arcs) if arcs else 1.0
    left = stop.remaining_s()
    params = _search_parameters(600.0 if left is None else max(left, 0.001), mean_arc, iterations)
    solution = model.SolveWithIteratedLocalSearch(params)
    code = model.status()
    status: TourStatus
    if solution is None:
        status = "timeout" if code == _RoutingStatus.ROUTING_FAIL_TIMEOUT else "infeasible"
        return EngineAnswer(status=status, routes=())
    routes = []
    for v, t in enumerate(vehicles):
        index = solution.Value(model.NextVar(model.Start(v)))
        visits: list[int] = []
        while not model.IsEnd(index):
            visits.append(order[manager.IndexToNode(index) - 1])
            index = solution.Value(model.NextVar(index))
        if visits:
            start_h = solution.Min(clock.CumulVar(model.Start(v))) / SECONDS_PER_HOUR
            routes.append(EngineRoute(truck_type=t, trips=(tuple(visits),), start_h=start_h))
    status = "optimal" if code == _RoutingStatus.ROUTING_OPTIMAL else "feasible"
    return EngineAnswer(status=status, routes=tuple(routes))
