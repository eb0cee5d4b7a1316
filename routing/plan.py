"""Planning many shipments against shared capacity with OR-Tools CP-SAT.

The model chooses, for every shipment, one candidate route or "unplanned":

- candidates are the corridors ``find_routes`` offers (the cheapest, materially different
  alternatives and the fastest), each also deferred by whole weeks (schedules repeat weekly, so a
  route started a week later is the same route a week later, after a week of storage at origin);
- every candidate uses resources: a link or crossing in an ISO week (TEU-equivalent per week,
  each direction) or one departure of a scheduled service (TEU per departure). On-demand moves
  use link capacity; rides use their service's capacity; every border step uses its crossing's;
- the objective is route cost + lateness (USD per TEU-equivalent per day late, times priority)
  + a penalty for leaving a shipment unplanned; capacities are hard.

The plan reports the solver's status, objective, best bound and gap. The bound is over the
candidate routes generated, not every conceivable route. A greedy one-at-a-time plan is the
solver's hint and its floor: the answer is never worse than greedy.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ortools.sat.python import cp_model

from graphs.errors import InputError, NoRouteError, SilkrouteError
from graphs.network import Network
from routing.costs import CargoTerms
from routing.model import Cargo, Shipment
from routing.route import Route, Step, iso
from routing.routes import find_routes

# Integer scaling for CP-SAT, declared once: usage in hundredths of a TEU, money in whole USD.
TEU_SCALE = 100
MAX_OBJECTIVE_USD = 2**52  # CP-SAT coefficients must stay well inside int64

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PlanSettings:
    """Knobs of the planning model; defaults are documented estimates, not published figures."""

    late_usd_per_teu_day: float = 250.0
    unplanned_usd_per_teu: float = 25_000.0
    delays_weeks: tuple[int, ...] = (0, 1, 2)
    alternatives: int = 3
    seed: int = 0
    workers: int = 4  # CP-SAT's portfolio; more than this only time-slices two cores
    relative_gap: float = 0.001

    def __post_init__(self) -> None:
        if self.late_usd_per_teu_day < 0 or self.unplanned_usd_per_teu <= 0:
            raise InputError("penalties must be positive", "settings")
        if not self.delays_weeks or min(self.delays_weeks) < 0 or max(self.delays_weeks) > 12:
            raise InputError("delays must be whole weeks from 0 to 12", "delays_weeks")


@dataclass(frozen=True)
class Resource:
    """A capacity in one period: a link or crossing in an ISO week, or a service departure."""

    id: str
    period: str
    capacity_teu: float


@dataclass(frozen=True)
class Candidate:
    route: Route
    late_days: float
    objective_usd: float
    usage: tuple[tuple[Resource, float], ...]


@dataclass(frozen=True)
class ShipmentResult:
    id: str
    status: str  # on_time | late | unplanned
    reason: str | None
    late_days: float
    route: Route | None
    teu: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "reason": self.reason,
            "late_days": round(self.late_days, 3),
            "teu_equivalent": round(self.teu, 3),
            "route": self.route.to_dict() if self.route else None,
        }


@dataclass(frozen=True)
class Plan:
    status: str
    objective_usd: float
    bound_usd: float
    gap: float
    solve_seconds: float
    shipments: tuple[ShipmentResult, ...]
    resources: tuple[tuple[Resource, float], ...]
    baseline_objective_usd: float
    method: str
    stats: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        planned = [s for s in self.shipments if s.route is not None]
        return {
            "shipments": len(self.shipments),
            "planned": len(planned),
            "on_time": sum(1 for s in self.shipments if s.status == "on_time"),
            "late": sum(1 for s in self.shipments if s.status == "late"),
            "unplanned": sum(1 for s in self.shipments if s.status == "unplanned"),
            "late_days": round(sum(s.late_days for s in self.shipments), 3),
            "cost_usd": round(sum(s.route.cost_usd for s in planned if s.route), 2),
            "co2e_kg": round(sum(s.route.co2e_kg for s in planned if s.route), 3),
        }

    def busiest(self, count: int = 5) -> list[tuple[Resource, float]]:
        """Resource-periods by share of capacity used, fullest first."""
        return sorted(self.resources, key=lambda item: -item[1] / item[0].capacity_teu)[:count]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "objective_usd": round(self.objective_usd, 2),
            "bound_usd": round(self.bound_usd, 2),
            "gap": round(self.gap, 6),
            "solve_seconds": round(self.solve_seconds, 3),
            "method": self.method,
            "baseline_objective_usd": round(self.baseline_objective_usd, 2),
            "baseline": self.baseline,
            "stats": self.stats,
            "summary": self.summary(),
            "shipments": [s.to_dict() for s in self.shipments],
            "resources": [
                {
                    "id": r.id,
                    "period": r.period,
                    "used_teu": round(used, 3),
                    "capacity_teu": round(r.capacity_teu, 3),
                }
                for r, used in sorted(self.resources, key=lambda item: (item[0].id, item[0].period))
            ],
        }


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def route_usage(network: Network, route: Route, teu: float) -> list[tuple[Resource, float]]:
    """The capacities a route uses and how much of each, from its steps."""
    used: dict[Resource, float] = {}
    previous: Step | None = None
    departure = ""
    for step in route.steps:
        if step.service and (previous is None or previous.service != step.service):
            departure = iso(step.start)  # the first step of a ride is its departure
        resource = _step_resource(network, step, departure)
        if resource is not None:
            used[resource] = teu  # a ride or a move uses its resource once
        previous = step
    return list(used.items())


def _step_resource(network: Network, step: Step, departure: str) -> Resource | None:
    if step.kind == "border" and step.crossing:
        crossing = network.crossings[step.crossing]
        if crossing.capacity_teu_per_week is not None:
            return Resource(crossing.id, iso_week(step.start), crossing.capacity_teu_per_week)
    elif step.kind == "move" and step.service:
        service = network.services[step.service]
        return Resource(service.id, departure, service.capacity_teu)
    elif step.kind == "move" and step.link:
        link = network.links[step.link]
        if link.capacity_teu_per_week is not None:
            return Resource(link.id, iso_week(step.start), link.capacity_teu_per_week)
    return None


def resource_use(network: Network, routes: Sequence[tuple[Route, float]]) -> dict[Resource, float]:
    """Total use per resource-period of a set of (route, TEU-equivalent) pairs."""
    total: dict[Resource, float] = defaultdict(float)
    for route, teu in routes:
        for resource, amount in route_usage(network, route, teu):
            total[resource] += amount
    return dict(total)


def delayed(network: Network, route: Route, weeks: int, teu: float) -> Route:
    """The same route started ``weeks`` later, after that long in storage at the origin."""
    if weeks == 0:
        return route
    delta = timedelta(weeks=weeks)
    origin = network.nodes[route.origin]
    hours = delta.total_seconds() / 3600
    wait = Step(
        kind="wait",
        start=route.ready,
        end=route.ready + delta,
        cost_usd=origin.storage_usd_per_teu_day * teu * hours / 24,
        node=origin.id,
        note=f"deferred {weeks} week(s) by the plan for capacity",
    )
    shifted = route.shifted(delta)
    return replace(shifted, ready=route.ready, steps=(wait, *shifted.steps))


class _CandidateCache:
    """Routes depend on the ready time only through the time of week, when no scenario closure
    breaks the weekly pattern, and on a container count only linearly (every cost is per TEU,
    every emission per tonne): one search serves every shipment of the same lane."""

    def __init__(self, network: Network, settings: PlanSettings) -> None:
        self.network = network
        self.settings = settings
        self.routes: dict[tuple[Any, ...], list[Route] | str] = {}

    def routes_for(self, shipment: Shipment) -> list[Route] | str:
        ready = shipment.ready_at
        if self.network.closures:
            return self._search(shipment)
        anchor = _week_start(ready)
        cargo = shipment.cargo
        unit = cargo.teu if cargo.teu is not None and cargo.weight_t is None else None
        key = (
            self.network.resolve(shipment.origin).id,
            self.network.resolve(shipment.destination).id,
            Cargo(teu=1.0) if unit is not None else cargo,
            shipment.avoid_countries,
            ready - anchor,
        )
        cached = self.routes.get(key)
        if cached is None:
            probe = replace(shipment, cargo=key[2], ready=_REFERENCE_WEEK + (ready - anchor))
            cached = self._search(probe)
            self.routes[key] = cached
        if isinstance(cached, str):
            return cached
        delta = anchor - _REFERENCE_WEEK
        if unit is None:
            return [route.shifted(delta) for route in cached]
        return [route.shifted(delta).scaled(unit, unit) for route in cached]

    def _search(self, shipment: Shipment) -> list[Route] | str:
        try:
            routes = find_routes(
                self.network, shipment, objective="cost", alternatives=self.settings.alternatives
            )
        except NoRouteError as exc:
            return exc.reason
        try:
            fastest = find_routes(self.network, shipment, objective="time")[0]
        except NoRouteError:
            fastest = None
        if fastest is not None and all(
            (r.signature, r.arrive) != (fastest.signature, fastest.arrive) for r in routes
        ):
            routes.append(fastest)
        return routes


_REFERENCE_WEEK = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def _week_start(moment: datetime) -> datetime:
    monday = moment - timedelta(days=moment.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


def _candidates(
    network: Network,
    shipments: Sequence[Shipment],
    teu: Sequence[float],
    settings: PlanSettings,
    progress: Progress | None,
) -> list[list[Candidate] | str]:
    cache = _CandidateCache(network, settings)
    out: list[list[Candidate] | str] = []
    for i, shipment in enumerate(shipments):
        try:
            found = cache.routes_for(shipment)
        except SilkrouteError as exc:
            found = str(exc)
        if isinstance(found, str):
            out.append(found)
        else:
            out.append(
                [
                    _candidate(
                        network,
                        shipment,
                        delayed(network, route, weeks, teu[i]),
                        teu[i],
                        settings,
                    )
                    for route in found
                    for weeks in settings.delays_weeks
                ]
            )
        if progress is not None and (i % 25 == 0 or i + 1 == len(shipments)):
            progress("routing", i + 1, len(shipments))
    return out


def _candidate(
    network: Network, shipment: Shipment, route: Route, teu: float, settings: PlanSettings
) -> Candidate:
    due = shipment.due_at
    late_days = max(0.0, (route.arrive - due).total_seconds() / 86400) if due else 0.0
    late_cost = late_days * settings.late_usd_per_teu_day * teu * shipment.priority
    return Candidate(
        route=route,
        late_days=late_days,
        objective_usd=route.cost_usd + late_cost,
        usage=tuple(route_usage(network, route, teu)),
    )


def _greedy(
    shipments: Sequence[Shipment],
    options: Sequence[list[Candidate] | str],
    penalties: Sequence[float],
) -> list[int | None]:
    """One at a time, most urgent first: the cheapest candidate that still fits."""
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
        cands = options[i]
        if isinstance(cands, str):
            continue
        for c in sorted(range(len(cands)), key=lambda c: cands[c].objective_usd):
            if cands[c].objective_usd >= penalties[i]:
                break
            if all(used[r] + amount <= r.capacity_teu + 1e-9 for r, amount in cands[c].usage):
                for r, amount in cands[c].usage:
                    used[r] += amount
                choice[i] = c
                break
    return choice


def _objective(
    options: Sequence[list[Candidate] | str],
    penalties: Sequence[float],
    choice: Sequence[int | None],
) -> float:
    total = 0.0
    for i, c in enumerate(choice):
        cands = options[i]
        total += penalties[i] if c is None or isinstance(cands, str) else cands[c].objective_usd
    return total


def plan(
    network: Network,
    shipments: Sequence[Shipment],
    time_limit_s: float = 30.0,
    *,
    settings: PlanSettings | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Plan all shipments together against shared capacity; see the module docstring."""
    settings = settings or PlanSettings()
    if not math.isfinite(time_limit_s) or not 0 < time_limit_s <= 3600:
        raise InputError("must be between 0 and 3600 seconds", "time_limit_s")
    ids = [s.id for s in shipments]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InputError(f"shipment id '{duplicate}' appears twice", "shipments.id")
    started = time.perf_counter()
    teu = [CargoTerms.of(s.cargo, network).teu for s in shipments]
    options = _candidates(network, shipments, teu, settings, progress)
    penalties = [
        settings.unplanned_usd_per_teu * teu[i] * s.priority for i, s in enumerate(shipments)
    ]
    routing_seconds = time.perf_counter() - started

    greedy = _greedy(shipments, options, penalties)
    greedy_value = _objective(options, penalties, greedy)
    if progress is not None:
        progress("solving", 0, 1)
    solve_started = time.perf_counter()
    choice, status, bound = _solve(options, penalties, greedy, time_limit_s, settings)
    solve_seconds = time.perf_counter() - solve_started
    method = "cp-sat"
    value = _objective(options, penalties, choice) if choice is not None else math.inf
    if choice is None or value > greedy_value + 1e-6:
        choice, value, method = greedy, greedy_value, "greedy (solver found nothing better)"
        if status == "optimal":
            status = "feasible"
    bound = min(bound, value)
    gap = 0.0 if value <= 0 else max(0.0, (value - bound) / value)
    if status == "optimal" and gap > 1e-9:
        status = "feasible"  # CP-SAT calls a solve within the relative gap limit optimal
    if progress is not None:
        progress("solving", 1, 1)
    baseline = _assemble(
        network, shipments, options, greedy, teu, status="greedy", value=greedy_value,
        bound=greedy_value, gap=0.0, solve_seconds=0.0, baseline=greedy_value, method="greedy",
        stats={},
    )  # fmt: skip
    return _assemble(
        network,
        shipments,
        options,
        choice,
        teu,
        status=status,
        value=value,
        bound=bound,
        gap=gap,
        solve_seconds=solve_seconds,
        baseline=greedy_value,
        method=method,
        stats={
            "routing_seconds": round(routing_seconds, 3),
            "candidates": sum(len(o) for o in options if not isinstance(o, str)),
        },
        baseline_summary=baseline.summary(),
    )


def _solve(
    options: Sequence[list[Candidate] | str],
    penalties: Sequence[float],
    hint: Sequence[int | None],
    time_limit_s: float,
    settings: PlanSettings,
) -> tuple[list[int | None] | None, str, float]:
    model = cp_model.CpModel()
    picks: list[list[cp_model.IntVar]] = []
    skip: list[cp_model.IntVar] = []
    load: dict[Resource, list[tuple[cp_model.IntVar, int]]] = defaultdict(list)
    terms: list[tuple[cp_model.IntVar, int]] = []
    for i, cands in enumerate(options):
        unplanned = model.new_bool_var(f"u{i}")
        skip.append(unplanned)
        terms.append((unplanned, _usd(penalties[i])))
        row: list[cp_model.IntVar] = []
        if not isinstance(cands, str):
            for c, cand in enumerate(cands):
                if cand.objective_usd >= penalties[i]:
                    continue  # never better than leaving it unplanned
                var = model.new_bool_var(f"x{i}_{c}")
                row.append(var)
                terms.append((var, _usd(cand.objective_usd)))
                for resource, amount in cand.usage:
                    load[resource].append((var, math.ceil(amount * TEU_SCALE - 1e-9)))
        picks.append(row)
        model.add_exactly_one([*row, unplanned])
        chosen = hint[i]
        names = [v.name for v in row]
        for var in row:
            model.add_hint(var, chosen is not None and var.name == f"x{i}_{chosen}")
        model.add_hint(unplanned, chosen is None or f"x{i}_{chosen}" not in names)
    for resource, uses in load.items():
        capacity = math.floor(resource.capacity_teu * TEU_SCALE + 1e-9)
        if sum(amount for _, amount in uses) > capacity:
            model.add(sum(amount * var for var, amount in uses) <= capacity)
    model.minimize(sum(coef * var for var, coef in terms))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = settings.workers
    solver.parameters.random_seed = settings.seed
    solver.parameters.relative_gap_limit = settings.relative_gap
    code = solver.solve(model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, "timeout" if code == cp_model.UNKNOWN else "infeasible", 0.0
    choice: list[int | None] = []
    for row in picks:
        picked = next((v for v in row if solver.boolean_value(v)), None)
        choice.append(None if picked is None else int(picked.name.split("_")[1]))
    if code == cp_model.OPTIMAL:
        status = "optimal"
    elif solver.wall_time >= time_limit_s * 0.98:
        status = "timeout"  # stopped by the limit with this, the best plan found so far
    else:
        status = "feasible"  # stopped within the relative gap limit
    return choice, status, float(solver.best_objective_bound)


def _usd(value: float) -> int:
    return int(min(round(value), MAX_OBJECTIVE_USD))


def _assemble(
    network: Network,
    shipments: Sequence[Shipment],
    options: Sequence[list[Candidate] | str],
    choice: Sequence[int | None],
    teu: Sequence[float],
    *,
    status: str,
    value: float,
    bound: float,
    gap: float,
    solve_seconds: float,
    baseline: float,
    method: str,
    stats: dict[str, float],
    baseline_summary: dict[str, Any] | None = None,
) -> Plan:
    used: dict[Resource, float] = defaultdict(float)
    for i, c in enumerate(choice):
        cands = options[i]
        if c is not None and not isinstance(cands, str):
            for resource, amount in cands[c].usage:
                used[resource] += amount
    results = []
    for i, shipment in enumerate(shipments):
        cands = options[i]
        c = choice[i]
        if isinstance(cands, str):
            results.append(ShipmentResult(shipment.id, "unplanned", cands, 0.0, None, teu[i]))
        elif c is None:
            results.append(
                ShipmentResult(
                    shipment.id, "unplanned", _full_reason(cands, used), 0.0, None, teu[i]
                )
            )
        else:
            cand = cands[c]
            state = "late" if cand.late_days > 1e-9 else "on_time"
            results.append(
                ShipmentResult(shipment.id, state, None, cand.late_days, cand.route, teu[i])
            )
    return Plan(
        status=status,
        objective_usd=value,
        bound_usd=bound,
        gap=gap,
        solve_seconds=solve_seconds,
        shipments=tuple(results),
        resources=tuple(used.items()),
        baseline_objective_usd=baseline,
        method=method,
        stats=stats,
        baseline=baseline_summary or {},
    )


def _full_reason(cands: Sequence[Candidate], used: dict[Resource, float]) -> str:
    if not cands:
        return "no candidate route"
    full: list[str] = []
    for cand in cands:
        for resource, amount in cand.usage:
            if used.get(resource, 0.0) + amount > resource.capacity_teu + 1e-9:
                full.append(f"{resource.id} {resource.period}")
                break
    if not full:
        return "every candidate costs more than leaving the shipment unplanned"
    listed = ", ".join(dict.fromkeys(full[:4]))
    return f"capacity: every candidate needs a resource that is full ({listed})"


def plan_deltas(base: Plan, scenario: Plan) -> dict[str, Any]:
    """What a scenario changes against the base plan: moves, cost and lateness deltas."""
    before = {s.id: s for s in base.shipments}
    moved = []
    for after in scenario.shipments:
        old = before[after.id]
        old_sig = old.route.signature if old.route else None
        new_sig = after.route.signature if after.route else None
        if old_sig != new_sig or old.status != after.status:
            moved.append(
                {
                    "id": after.id,
                    "base": {
                        "status": old.status,
                        "crossings": list(old_sig[0]) if old_sig else [],
                    },
                    "scenario": {
                        "status": after.status,
                        "crossings": list(new_sig[0]) if new_sig else [],
                    },
                }
            )
    b, s = base.summary(), scenario.summary()
    each = [_shipment_delta(before[after.id], after) for after in scenario.shipments]
    slips = [d["arrival_delta_days"] for d in each if d["arrival_delta_days"] is not None]
    return {
        "shipments": each,
        "arrivals_later": sum(1 for days in slips if days > 1 / 24),
        "arrivals_earlier": sum(1 for days in slips if days < -1 / 24),
        "arrival_delta_days": round(sum(slips), 3),
        "changed_shipments": moved,
        "cost_usd_delta": round(s["cost_usd"] - b["cost_usd"], 2),
        "late_days_delta": round(s["late_days"] - b["late_days"], 3),
        "late_delta": s["late"] - b["late"],
        "unplanned_delta": s["unplanned"] - b["unplanned"],
        "co2e_kg_delta": round(s["co2e_kg"] - b["co2e_kg"], 3),
    }


def _shipment_delta(old: ShipmentResult, new: ShipmentResult) -> dict[str, Any]:
    """One shipment, base against scenario: when it arrives, how late, by which crossings."""

    def side(result: ShipmentResult) -> dict[str, Any]:
        route = result.route
        return {
            "status": result.status,
            "arrive": iso(route.arrive) if route else None,
            "late_days": round(result.late_days, 3),
            "cost_usd": round(route.cost_usd, 2) if route else None,
            "crossings": list(route.signature[0]) if route else [],
        }

    arrival = (
        round((new.route.arrive - old.route.arrive).total_seconds() / 86400, 3)
        if old.route and new.route
        else None
    )
    return {
        "id": new.id,
        "base": side(old),
        "scenario": side(new),
        "arrival_delta_days": arrival,
        "late_days_delta": round(new.late_days - old.late_days, 3),
    }
