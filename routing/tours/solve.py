"""``solve_tours``: screen the deliveries, pick the engine for the problem's class, and turn the
engine's visit orders into exact schedules with the drivers' breaks.

The engines (PyVRP's iterated local search, OR-Tools' routing solver) only return which truck
visits which deliveries in which order on which trip. Times, breaks, loads and costs are computed
here once, in floating point, from the problem's own data, so both engines answer in the same
shape and a reader finds each rule in one place.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from graphs.errors import InputError
from routing.stopping import Stop
from routing.tours.problem import Delivery, TourProblem, TruckType
from routing.tours.result import (
    Break,
    TourResult,
    TourStatus,
    Trip,
    TruckPlan,
    Unserved,
    Visit,
)

__all__ = [
    "DROPPED_REASON",
    "ENGINE_FOR_CLASS",
    "Engine",
    "EngineRoute",
    "problem_class",
    "solve_tours",
]

Engine = Literal["auto", "pyvrp", "ortools"]
ProblemClass = Literal["cvrp", "vrptw", "rich"]

# Which engine serves each class, from `make bench` on this project's instances (README,
# "Delivery tours"): PyVRP reached lower gaps than OR-Tools on both measured classes in the same
# time, and only PyVRP models reloads, several truck types and drivers' hours here.
ENGINE_FOR_CLASS: dict[ProblemClass, Literal["pyvrp", "ortools"]] = {
    "cvrp": "pyvrp",
    "vrptw": "pyvrp",
    "rich": "pyvrp",
}

DROPPED_REASON = "dropped by the solver: no truck had room, time or driving hours left in its shift"
_EPS = 1e-9


@dataclass(frozen=True)
class EngineRoute:
    """One truck's day as an engine found it: indices into ``problem.deliveries`` per trip."""

    truck_type: int
    trips: tuple[tuple[int, ...], ...]
    start_h: float


@dataclass(frozen=True)
class EngineAnswer:
    status: TourStatus
    routes: tuple[EngineRoute, ...]


def problem_class(problem: TourProblem) -> ProblemClass:
    """``cvrp`` (one truck type, one trip, no clocks), ``vrptw`` (the same with time windows),
    or ``rich`` (several types, reloads, drivers' hours, oversize roads)."""
    if (
        len(problem.fleet) > 1
        or problem.rules is not None
        or problem.oversize_distance_km is not None
        or any(t.max_trips > 1 for t in problem.fleet)
        or any(t.move_start_h is not None or t.move_end_h is not None for t in problem.fleet)
        or problem.depot.reload_hours > 0
    ):
        return "rich"
    timed = problem.depot.close_h is not None or any(
        d.window_start_h is not None or d.window_end_h is not None or d.service_hours > 0
        for d in problem.deliveries
    )
    return "vrptw" if timed else "cvrp"


def solve_tours(
    problem: TourProblem,
    stop: Stop | None = None,
    *,
    seed: int = 0,
    engine: Engine = "auto",
    iterations: int | None = None,
) -> TourResult:
    """Plan the trucks' trips, leaving out (with the reason) what cannot be served.

    Parameters
    ----------
    problem
        Railhead, deliveries, fleet, drivers' rules and costs.
    stop
        When to stop searching (a ``Stop(time_limit_s)``; cancel it to stop early). ``None``
        gives the search ten seconds.
    seed
        Seed of the search's random choices: the same problem, seed and ``iterations`` give the
        same answer.
    engine
        ``"auto"`` takes the engine :data:`ENGINE_FOR_CLASS` names for the problem's class.
    iterations
        Stop after this many search iterations (PyVRP) or solutions (OR-Tools) as well; a
        count reached before the time limit makes the answer independent of machine speed.
    """
    started = time.perf_counter()
    stop = stop if stop is not None else Stop(10.0)
    if engine not in ("auto", "pyvrp", "ortools"):
        raise InputError(f"engine must be auto, pyvrp or ortools, got {engine!r}", field="engine")
    if iterations is not None and (isinstance(iterations, bool) or iterations < 1):
        raise InputError(f"iterations must be 1 or more, got {iterations}", field="iterations")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be a whole number of 0 or more, got {seed}", field="seed")

    prepared, notes = _split_heavy(problem)
    reasons = _screen(prepared, {})
    reasons.update(_crane_slots(prepared, reasons))
    candidates = [k for k, d in enumerate(prepared.deliveries) if d.id not in reasons]
    chosen = ENGINE_FOR_CLASS[problem_class(prepared)] if engine == "auto" else engine
    if not candidates:
        return _result(prepared, "optimal", chosen, (), reasons, notes, started)
    if chosen == "pyvrp":
        from routing.tours.pyvrp_engine import solve_pyvrp

        answer = solve_pyvrp(prepared, candidates, stop, seed, iterations)
    else:
        from routing.tours.ortools_engine import solve_ortools

        answer = solve_ortools(prepared, candidates, stop, seed, iterations)
    served = {k for route in answer.routes for trip in route.trips for k in trip}
    why = DROPPED_REASON
    if answer.status in ("infeasible", "timeout"):
        why = (
            "no feasible tours were found within the time limit"
            if answer.status == "timeout"
            else "the solver found no tours serving every delivery"
        )
    for k in candidates:
        if k not in served:
            reasons[prepared.deliveries[k].id] = why
    return _result(prepared, answer.status, chosen, answer.routes, reasons, notes, started)


# --- Before solving: split, screen, slots -----------------------------------------------------


def _split_heavy(problem: TourProblem) -> tuple[TourProblem, list[str]]:
    """Divisible deliveries heavier than any truck that fits them become equal part-loads."""
    parts: list[tuple[int, Delivery]] = []
    notes: list[str] = []
    for k, d in enumerate(problem.deliveries):
        fitting = [t.payload_t for t in problem.fleet if t.carries(d) is None]
        largest = max(fitting, default=0.0)
        if not d.divisible or not fitting or d.demand_t <= largest + _EPS:
            parts.append((k, d))
            continue
        count = math.ceil(d.demand_t / largest - _EPS)
        share = d.demand_t / count
        notes.append(
            f"{d.id}: {d.demand_t:g} t is more than the largest payload {largest:g} t; "
            f"split into {count} loads of {share:.3f} t ({d.id}/1..{d.id}/{count})"
        )
        for part in range(1, count + 1):
            piece = replace(d, id=f"{d.id}/{part}", demand_t=share, site=d.site_id)
            parts.append((k, piece))
    if len(parts) == len(problem.deliveries):
        return problem, notes

    rows = [0, *(k + 1 for k, _ in parts)]

    def expand(matrix: tuple[tuple[float, ...], ...] | None) -> tuple[tuple[float, ...], ...]:
        assert matrix is not None
        return tuple(tuple(matrix[a][b] for b in rows) for a in rows)

    try:
        prepared = replace(
            problem,
            deliveries=tuple(d for _, d in parts),
            distance_km=expand(problem.matrix_km),
            oversize_distance_km=(
                None
                if problem.oversize_distance_km is None
                else expand(problem.oversize_distance_km)
            ),
        )
    except InputError as exc:  # a part's id clashes with a given id
        raise InputError(f"cannot split heavy deliveries: {exc.detail}", "deliveries") from None
    return prepared, notes


def drive_hours(truck: TruckType, km: float) -> float:
    """Driving time over ``km`` (no breaks)."""
    return km / truck.speed_kph


def planned_road_hours(problem: TourProblem, truck: TruckType, km: float) -> float:
    """Time on the road over ``km``, the drivers' breaks counted at their most."""
    factor = problem.rules.break_factor if problem.rules is not None else 1.0
    return drive_hours(truck, km) * factor


def truck_day(problem: TourProblem, truck: TruckType) -> tuple[float, float]:
    """When a truck of this type may start its day and must be back."""
    depot = problem.depot
    start = max(depot.open_h, truck.move_start_h or 0.0)
    ends = [x for x in (depot.close_h, truck.move_end_h) if x is not None]
    return start, min(ends, default=math.inf)


def _why_not(problem: TourProblem, truck: TruckType, k: int) -> str | None:
    """Why a truck of this type cannot serve delivery ``k`` even on a trip of its own."""
    d = problem.deliveries[k]
    misfit = truck.carries(d)
    if misfit is not None:
        return misfit
    if d.demand_t > truck.payload_t + _EPS:
        return f"{d.demand_t:g} t over its {truck.payload_t:g} t payload"
    if (
        d.window_start_h is not None
        and d.window_end_h is not None
        and math.ceil(d.window_start_h * 3600 - _EPS) > math.floor(d.window_end_h * 3600 + _EPS)
    ):
        return (
            f"window {d.window_start_h:g}-{d.window_end_h:g} h holds no whole second, the "
            "solver's time resolution"
        )
    km = problem.km_for(truck)
    out_km, back_km = km[0][k + 1], km[k + 1][0]
    if math.isinf(out_km) or math.isinf(back_km):
        return "no road to the site admits it (height, width or weight limits)"
    open_h, end_h = truck_day(problem, truck)
    arrive = open_h + problem.depot.reload_hours + planned_road_hours(problem, truck, out_km)
    if d.window_end_h is not None and arrive > d.window_end_h + _EPS:
        return (
            f"window {d.window_start_h or 0:g}-{d.window_end_h:g} h cannot be met "
            f"(earliest arrival {arrive:.2f} h"
            + (", drivers' break allowance included)" if problem.rules else ")")
        )
    begin = arrive if d.window_start_h is None else max(arrive, d.window_start_h)
    back = begin + d.service_hours + planned_road_hours(problem, truck, back_km)
    if back > end_h + _EPS:
        return f"cannot be back by {end_h:g} h (earliest return {back:.2f} h)"
    rules = problem.rules
    if rules is not None:
        driving = drive_hours(truck, out_km + back_km)
        if driving > rules.driving_h + _EPS:
            return (
                f"the round trip needs {driving:.2f} h of driving, over the "
                f"{rules.driving_h:g} h a driver may drive in a day"
            )
        if back - open_h > rules.shift_h + _EPS:
            return (
                f"the round trip takes {back - open_h:.2f} h, longer than the "
                f"{rules.shift_h:g} h working day the {rules.daily_rest_h:g} h daily rest leaves"
            )
    return None


def _screen(problem: TourProblem, known: dict[str, str]) -> dict[str, str]:
    """Deliveries no truck can serve whatever the others do, each with the planner's reason."""
    reasons: dict[str, str] = {}
    for k, d in enumerate(problem.deliveries):
        if d.id in known:
            continue
        why = {t.name: _why_not(problem, t, k) for t in problem.fleet}
        if any(w is None for w in why.values()):
            continue
        heavy = [t for t in problem.fleet if d.demand_t > t.payload_t + _EPS]
        if len(heavy) == len(problem.fleet) and not d.divisible:
            largest = max(t.payload_t for t in problem.fleet)
            other = [f"{name}: {w}" for name, w in why.items() if w and "payload" not in w]
            reasons[d.id] = (
                f"demand {d.demand_t:g} t exceeds every truck's payload (largest {largest:g} t) "
                "and the piece is not divisible; split it into loads or add a heavier truck"
                + (f" (also {'; '.join(other)})" if other else "")
            )
            continue
        reasons[d.id] = "no truck can serve it: " + "; ".join(
            f"{name}: {w}" for name, w in why.items()
        )
    return reasons


def _crane_slots(problem: TourProblem, known: dict[str, str]) -> dict[str, str]:
    """Deliveries past a site's crane slots for the day, in the order given."""
    reasons: dict[str, str] = {}
    booked: dict[str, list[str]] = {}
    for d in problem.deliveries:
        if d.id in known:
            continue
        slots = problem.crane_slots.get(d.site_id)
        if slots is None:
            continue
        taken = booked.setdefault(d.site_id, [])
        if len(taken) >= slots:
            reasons[d.id] = (
                f"site {d.site_id!r} has {slots} crane slot(s) a day, taken by "
                f"{', '.join(taken)} (listed earlier)"
            )
        else:
            taken.append(d.id)
    return reasons


# --- After solving: exact schedules ----------------------------------------------------------


@dataclass
class _Clock:
    """A driver's clock: the time, driving since the last break, and breaks taken."""

    now: float
    since_break: float = 0.0
    driving: float = 0.0

    def drive(self, hours: float, problem: TourProblem, breaks: list[Break]) -> None:
        rules = problem.rules
        left = hours
        if rules is not None:
            while self.since_break + left > rules.block_driving_h + _EPS:
                chunk = max(0.0, rules.block_driving_h - self.since_break)
                self.now += chunk
                left -= chunk
                breaks.append(Break(start_h=self.now, hours=rules.break_h))
                self.now += rules.break_h
                self.since_break = 0.0
        self.now += left
        self.since_break += left
        self.driving += hours


def _truck_plan(problem: TourProblem, route: EngineRoute, number: int) -> TruckPlan:
    truck = problem.fleet[route.truck_type]
    km = problem.km_for(truck)
    clock = _Clock(now=route.start_h)
    trips: list[Trip] = []
    for n, visits in enumerate(route.trips, start=1):
        load_start = clock.now
        clock.now += problem.depot.reload_hours
        depart = clock.now
        onboard = load = sum(problem.deliveries[k].demand_t for k in visits)
        breaks: list[Break] = []
        stops: list[Visit] = []
        here = 0
        for k in visits:
            d = problem.deliveries[k]
            leg = km[here][k + 1]
            clock.drive(drive_hours(truck, leg), problem, breaks)
            arrival = clock.now
            start = arrival if d.window_start_h is None else max(arrival, d.window_start_h)
            clock.now = start + d.service_hours
            stops.append(
                Visit(
                    delivery_id=d.id,
                    site=d.site_id,
                    arrival_h=arrival,
                    start_h=start,
                    depart_h=clock.now,
                    distance_from_previous_km=leg,
                    onboard_t=onboard,
                )
            )
            onboard -= d.demand_t
            here = k + 1
        back = km[here][0]
        clock.drive(drive_hours(truck, back), problem, breaks)
        trips.append(
            Trip(
                number=n,
                load_start_h=load_start,
                depart_h=depart,
                return_h=clock.now,
                visits=tuple(stops),
                breaks=tuple(breaks),
                return_distance_km=back,
                distance_km=sum(s.distance_from_previous_km for s in stops) + back,
                load_t=load,
            )
        )
    distance = sum(t.distance_km for t in trips)
    per_km = truck.cost_usd_per_km + (truck.escort_usd_per_km if truck.oversize else 0.0)
    return TruckPlan(
        truck=f"{truck.name} {number}",
        truck_type=truck.name,
        oversize=truck.oversize,
        trips=tuple(trips),
        start_h=route.start_h,
        end_h=clock.now,
        distance_km=distance,
        driving_h=clock.driving,
        cost_usd=distance * per_km + truck.fixed_cost_usd,
    )


def _result(
    problem: TourProblem,
    status: TourStatus,
    engine: str,
    routes: Sequence[EngineRoute],
    reasons: dict[str, str],
    notes: Sequence[str],
    started: float,
) -> TourResult:
    numbers: dict[int, int] = {}
    plans = []
    for route in sorted(routes, key=lambda r: (r.truck_type, r.start_h, r.trips)):
        if not any(route.trips):
            continue
        numbers[route.truck_type] = numbers.get(route.truck_type, 0) + 1
        plans.append(_truck_plan(problem, route, numbers[route.truck_type]))
    unserved = tuple(Unserved(d.id, reasons[d.id]) for d in problem.deliveries if d.id in reasons)
    return TourResult(
        status=status,
        objective=problem.objective,
        engine=engine,
        trucks=tuple(plans),
        unserved=unserved,
        distance_km=sum(p.distance_km for p in plans),
        cost_usd=sum(p.cost_usd for p in plans),
        solve_seconds=time.perf_counter() - started,
        notes=tuple(notes),
    )
