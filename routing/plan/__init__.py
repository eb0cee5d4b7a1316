"""Planning many shipments against shared capacity, with a proven bound.

The plan chooses, for every shipment, a route and a start (its ready time or whole weeks later,
within the horizon), or leaves it unplanned; a shipment that may be split travels in lots.

1. Candidate columns: the corridors ``find_routes`` offers (the cheapest, materially different
   alternatives and the fastest) from every start in the horizon.
2. Column generation: the LP relaxation over every route and every start. The restricted master
   LP (GLOP) prices each capacity (a crossing or link in an ISO week, a service departure); the
   route search, with those prices on its steps and lateness at arrival, finds for every
   shipment the column of most negative reduced cost, until none is left. Every pricing pass
   gives a Lagrangian lower bound on every plan; the best one is the proven bound.
3. The integer plan over the generated columns (a MIP with HiGHS, or CP-SAT), started from the
   greedy one-at-a-time plan, which is also its floor: the answer is never worse than greedy.

The objective is route cost + lateness (USD per TEU-equivalent per day late, times priority) +
a penalty for leaving a shipment unplanned; capacities are hard.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import timedelta

from graphs.errors import InputError
from graphs.network import Network
from routing.costs import CargoTerms
from routing.model import Shipment
from routing.plan.columns import (
    CandidateRoutes,
    Column,
    Pricer,
    deferred,
    make_column,
    split_prices,
    storage_usd,
)
from routing.plan.master import (
    LinearMaster,
    MasterInput,
    seconds_left,
    solve_cp_sat,
    solve_mip,
)
from routing.plan.resources import Resource, iso_week, resource_use, route_usage
from routing.plan.result import Lot, Plan, ShipmentResult, gap, plan_deltas
from routing.plan.settings import MASTERS, PlanSettings
from routing.stopping import Stop

__all__ = [
    "MASTERS",
    "Column",
    "Lot",
    "Plan",
    "PlanSettings",
    "Resource",
    "ShipmentResult",
    "iso_week",
    "plan",
    "plan_deltas",
    "resource_use",
    "route_usage",
]

Progress = Callable[[str, int, int], None]
# Column generation may use this share of the time limit; the integer plan gets the rest.
COLUMN_GENERATION_SHARE = 0.7
_TOLERANCE = 1e-6
COLUMNS_PER_ROUND = 60  # columns priced in before the master LP is solved again
_OPTIMAL_GAP = 1e-5  # a plan this close to the proven bound is optimal (LP tolerances)


class _Problem:
    """The shipments, their columns and the lower bounds that pricing starts from."""

    def __init__(
        self,
        network: Network,
        shipments: Sequence[Shipment],
        settings: PlanSettings,
        progress: Progress | None,
    ) -> None:
        self.network = network
        self.shipments = shipments
        self.settings = settings
        self.teu = [CargoTerms.of(s.cargo, network).teu for s in shipments]
        self.penalties = [
            settings.unplanned_usd_per_teu * self.teu[i] * s.priority
            for i, s in enumerate(shipments)
        ]
        self.columns: list[list[Column]] = []
        self.keys: list[set[tuple[object, ...]]] = []
        # lower[i][k]: no column of shipment i started k weeks late costs less (prices >= 0)
        self.lower: list[list[float]] = []
        self.reasons: list[str | None] = []
        cache = CandidateRoutes(network, settings)
        weeks = range(settings.horizon_weeks + 1)
        for i, shipment in enumerate(shipments):
            cols: list[Column] = []
            lows: list[float] = []
            reason: str | None = None
            for k in weeks:
                found = cache.routes_for(shipment, shipment.ready_at + timedelta(weeks=k))
                if isinstance(found, str):
                    reason = reason or found
                    lows.append(math.inf)
                    continue
                lows.append(storage_usd(network, shipment, k, self.teu[i]) + found[0].cost_usd)
                for route in found:
                    cols.append(
                        make_column(
                            network,
                            shipment,
                            deferred(network, route, shipment.ready_at, self.teu[i]),
                            self.teu[i],
                            settings,
                        )
                    )
            self.columns.append([])
            self.keys.append(set())
            for column in cols:
                self.add(i, column)
            self.lower.append(lows)
            self.reasons.append(None if cols else reason or "no route")
            if progress is not None and (i % 25 == 0 or i + 1 == len(shipments)):
                progress("routing", i + 1, len(shipments))

    def add(self, i: int, column: Column) -> bool:
        key = column.key
        if key in self.keys[i]:
            return False
        self.keys[i].add(key)
        self.columns[i].append(column)
        return True

    def relaxed_bound(self) -> float:
        """A proven bound with capacity left out: every shipment at its cheapest."""
        return sum(
            min(p, min(low, default=math.inf))
            for p, low in zip(self.penalties, self.lower, strict=True)
        )

    def lot_sizes(self) -> tuple[list[int | None], list[int]]:
        """Whole TEU a splittable shipment has (None: it travels whole), and its minimum lot."""
        sizes: list[int | None] = []
        lots: list[int] = []
        for shipment in self.shipments:
            cargo = shipment.cargo
            wanted = self.settings.split or shipment.split
            teu = cargo.teu
            minimum = max(1, math.ceil(self.settings.min_lot_teu - 1e-9))
            # Pieces stay whole, as does a load too small to make two lots.
            if wanted and teu is not None and teu == int(teu) and teu >= 2 * minimum:
                sizes.append(int(teu))
            else:
                sizes.append(None)
            lots.append(minimum)
        return sizes, lots


def _greedy(problem: _Problem) -> list[int | None]:
    """One at a time, most urgent first: the cheapest column that still fits."""
    shipments = problem.shipments
    order = sorted(
        range(len(shipments)),
        key=lambda i: (
            shipments[i].due_at or shipments[i].ready_at,
            -shipments[i].priority,
            shipments[i].id,
        ),
    )
    used: dict[Resource, float] = defaultdict(float)
    choice: list[int | None] = [None] * len(shipments)
    for i in order:
        cols = problem.columns[i]
        for c in sorted(range(len(cols)), key=lambda c: cols[c].objective_usd):
            if cols[c].objective_usd >= problem.penalties[i]:
                break
            if all(used[r] + amount <= r.capacity_teu + 1e-9 for r, amount in cols[c].usage):
                for r, amount in cols[c].usage:
                    used[r] += amount
                choice[i] = c
                break
    return choice


def _value(problem: _Problem, lots: Sequence[Sequence[tuple[int, float]]]) -> float:
    total = 0.0
    for i, chosen in enumerate(lots):
        if not chosen:
            total += problem.penalties[i]
        for c, teu in chosen:
            total += problem.columns[i][c].objective_usd * teu / problem.teu[i]
    return total


class _Bound:
    """Column generation: the best proven bound, and what it took."""

    def __init__(self, value: float, method: str) -> None:
        self.value = value
        self.method = method
        self.iterations = 0
        self.searches = 0
        self.lp_usd = math.nan
        self.converged = False


def _generate(problem: _Problem, stop: Stop, budget_s: float) -> _Bound:
    """Grow the columns until no shipment has a column of negative reduced cost."""
    settings, network = problem.settings, problem.network
    bound = _Bound(problem.relaxed_bound(), "relaxation without capacity")
    master = LinearMaster(problem.penalties)
    for i, cols in enumerate(problem.columns):
        for column in cols:
            master.add(i, column)
    pricer = Pricer(network, settings)
    started = time.monotonic()

    def elapsed() -> float:
        return time.monotonic() - started

    floors = [
        min(p, min(low, default=math.inf))
        for p, low in zip(problem.penalties, problem.lower, strict=True)
    ]
    routable = [i for i in range(len(problem.shipments)) if problem.reasons[i] is None]
    turn = 0  # where the next round of pricing starts, so that every shipment gets its turn
    while routable and not stop() and elapsed() < budget_s:
        solved = master.solve(min(seconds_left(stop, budget_s), budget_s - elapsed()))
        if solved is None:
            break
        lp_value, duals, prices = solved
        bound.iterations += 1
        bound.lp_usd = lp_value
        weekly, departures = split_prices(network, prices)
        best = list(floors)
        added = priced = 0
        # Partial pricing: re-solve the LP once a batch of columns is in, rather than price
        # every shipment against duals that the first columns already changed.
        while priced < len(routable) and added < COLUMNS_PER_ROUND:
            if stop() or elapsed() >= budget_s:
                break
            i = routable[turn]
            turn = (turn + 1) % len(routable)
            priced += 1
            shipment = problem.shipments[i]
            dual = duals[i]
            improving = dual - _TOLERANCE * max(1.0, abs(dual))  # a column worth adding
            least = math.inf
            for k, low in enumerate(problem.lower[i]):
                if low >= improving:
                    least = min(least, low)
                    continue
                found = pricer.best(i, shipment, problem.teu[i], k, weekly, departures, dual)
                bound.searches += 1
                least = min(least, found.value_usd)
                if (
                    found.column is not None
                    and found.value_usd < improving
                    and problem.add(i, found.column)
                ):
                    master.add(i, found.column)
                    added += 1
            best[i] = min(problem.penalties[i], max(best[i], least))
        # Valid for any prices: a shipment not priced this round counts at its floor.
        lagrangian = sum(best) - sum(r.capacity_teu * p for r, p in prices.items())
        if lagrangian > bound.value:
            bound.value = lagrangian
            bound.method = "Lagrangian bound of column generation (stopped by the time limit)"
        if priced == len(routable) and added == 0:
            bound.converged = True
            bound.method = "LP relaxation over every route and start (column generation)"
            break
    return bound


def plan(
    network: Network,
    shipments: Sequence[Shipment],
    time_limit_s: float = 30.0,
    *,
    settings: PlanSettings | None = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> Plan:
    """Plan all shipments together against shared capacity; see the module docstring.

    ``time_limit_s`` bounds column generation and the integer plan (the first candidate
    routes are searched before the clock starts); a ``stop`` given overrides it.
    """
    settings = settings or PlanSettings()
    if not math.isfinite(time_limit_s) or not 0 < time_limit_s <= 3600:
        raise InputError("must be between 0 and 3600 seconds", "time_limit_s")
    ids = [s.id for s in shipments]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"shipment id '{duplicate}' appears twice", "shipments.id")
    started = time.perf_counter()
    problem = _Problem(network, shipments, settings, progress)
    routing_seconds = time.perf_counter() - started
    stop = stop or Stop(time_limit_s)
    solve_started = time.perf_counter()

    greedy = _greedy(problem)
    greedy_lots = [[] if c is None else [(c, problem.teu[i])] for i, c in enumerate(greedy)]
    greedy_value = _value(problem, greedy_lots)
    if progress is not None:
        progress("solving", 0, 1)
    if settings.columns:
        limit = stop.time_limit_s or time_limit_s
        bound = _generate(problem, stop, limit * COLUMN_GENERATION_SHARE)
    else:
        bound = _Bound(problem.relaxed_bound(), "relaxation without capacity")
    sizes, minimum = problem.lot_sizes()
    data = MasterInput(problem.columns, problem.penalties, problem.teu, sizes, minimum, greedy)
    if settings.master == "mip":
        integer = solve_mip(data, stop, time_limit_s, settings.relative_gap)
    else:
        integer = solve_cp_sat(
            data,
            stop,
            time_limit_s,
            settings.relative_gap,
            workers=settings.workers,
            seed=settings.seed,
        )
    lots: Sequence[Sequence[tuple[int, float]]] = integer.lots
    value = _value(problem, lots) if integer.lots else math.inf
    method = f"column generation + {settings.master}" if settings.columns else settings.master
    if value > greedy_value + 1e-6:
        lots, value = greedy_lots, greedy_value
        method += " (greedy plan kept: the solver found nothing better)"
    solve_seconds = time.perf_counter() - solve_started
    proven = min(bound.value, value)
    candidate = min(max(integer.bound_usd, proven), value)
    plan_gap = gap(value, proven)
    if plan_gap <= _OPTIMAL_GAP:
        status = "optimal"
    elif (
        stop()
        or integer.status in ("timeout", "none")
        or (settings.columns and not bound.converged)
    ):
        status = "timeout"
    else:
        status = "feasible"
    if progress is not None:
        progress("solving", 1, 1)
    baseline = _assemble(problem, greedy_lots, status="greedy", value=greedy_value)
    stats: dict[str, float] = {
        "routing_seconds": round(routing_seconds, 3),
        "columns": sum(len(c) for c in problem.columns),
        "pricing_iterations": bound.iterations,
        "pricing_searches": bound.searches,
        "column_generation_converged": bound.converged,
    }
    if not math.isnan(bound.lp_usd):
        stats["restricted_lp_usd"] = round(bound.lp_usd, 2)
    result = _assemble(problem, lots, status=status, value=value)
    return Plan(
        status=status,
        objective_usd=value,
        bound_usd=proven,
        gap=plan_gap,
        solve_seconds=solve_seconds,
        shipments=result.shipments,
        resources=result.resources,
        baseline_objective_usd=greedy_value,
        method=method,
        bound_kind=bound.method,
        candidate_bound_usd=candidate,
        candidate_gap=gap(value, candidate),
        stats=stats,
        baseline=baseline.summary(),
    )


def _assemble(
    problem: _Problem, lots: Sequence[Sequence[tuple[int, float]]], *, status: str, value: float
) -> Plan:
    used: dict[Resource, float] = defaultdict(float)
    for i, chosen in enumerate(lots):
        for c, teu in chosen:
            for resource, amount in problem.columns[i][c].usage:
                used[resource] += amount * teu / problem.teu[i]
    results = []
    for i, shipment in enumerate(problem.shipments):
        teu = problem.teu[i]
        chosen = lots[i]
        reason = problem.reasons[i]
        if not chosen:
            why = reason or _full_reason(problem.columns[i], used)
            results.append(ShipmentResult(shipment.id, "unplanned", why, 0.0, None, teu))
            continue
        parts = []
        for c, lot_teu in chosen:
            column = problem.columns[i][c]
            share = lot_teu / teu
            route = column.route if abs(share - 1) < 1e-12 else column.route.scaled(share, share)
            parts.append(Lot(lot_teu, route, column.late_days))
        parts.sort(key=lambda lot: (lot.route.arrive, -lot.teu))
        late = max(lot.late_days for lot in parts)
        results.append(
            ShipmentResult(
                shipment.id,
                "late" if late > 1e-9 else "on_time",
                None,
                late,
                parts[0].route,
                teu,
                tuple(parts) if len(parts) > 1 else (),
            )
        )
    return Plan(
        status=status,
        objective_usd=value,
        bound_usd=value,
        gap=0.0,
        solve_seconds=0.0,
        shipments=tuple(results),
        resources=tuple(used.items()),
        baseline_objective_usd=value,
        method="greedy",
    )


def _full_reason(cols: Sequence[Column], used: dict[Resource, float]) -> str:
    if not cols:
        return "no candidate route"
    full: list[str] = []
    for column in cols:
        for resource, amount in column.usage:
            if used.get(resource, 0.0) + amount > resource.capacity_teu + 1e-9:
                full.append(f"{resource.id} {resource.period}")
                break
    if not full:
        return "every route costs more than leaving the shipment unplanned"
    listed = ", ".join(dict.fromkeys(full[:4]))
    return f"capacity: every route needs a resource that is full ({listed})"
