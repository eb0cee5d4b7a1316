"""Time-dependent multi-criteria label-setting search over the routing graph.

Why a label-setting search and not OR-Tools here: one shipment on one network is a resource-
constrained shortest path whose arcs depend on the clock (weekly departures, border posts closed at
weekends). Keeping, at every state, the labels that are non-dominated in (arrival time, objective
[, cost when a cost budget binds]) is exact for those budgets and costs milliseconds; a MIP would
need a time-expanded graph hundreds of times larger. OR-Tools is used where shipments compete for
capacity (``routing.plan``) and for delivery tours (``routing.tours``).

Dominance accounts for waiting: a label that arrives earlier may wait, paying storage, so it
dominates a later one only if its cost plus that storage is still no more.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import re
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from graphs.network import Network, State
from graphs.records import WEEKDAYS, Crossing, Link, Node, Service
from routing import costs
from routing.bounds import bounds_to
from routing.costs import CargoTerms
from routing.model import Objective
from routing.route import Route, Step
from routing.stopping import Stop, StoppedError

HOURS_PER_WEEK = 168.0
_GAUGES_IN_NAME = re.compile(r"\b1[0-9]{3}/1[0-9]{3}\b")
_EPS = 1e-7
# Labels expanded between two looks at the stop object: a look costs about as much as a label.
_STOP_CHECK_EVERY = 64

# Raw step during the search: times are hours after ``ready``; Step objects are built at the end.
RawStep = tuple[Any, ...]


class Prices(Protocol):
    """Extra USD per TEU-equivalent a search adds to its step costs (a plan's capacity prices).

    Times are hours after the query's ``ready``. The route returned keeps its real costs: the
    prices steer the search only.
    """

    def use(self, resource_id: str, hours: float) -> float:
        """Price of using a link, crossing or service whose step (for a service: the
        departure) starts ``hours`` after ready."""
        ...

    def arrival(self, hours: float) -> float:
        """Price of arriving (unloaded) ``hours`` after ready: lateness."""
        ...


@dataclass(frozen=True)
class Query:
    """One search: where, when, what, by which measure and within which limits."""

    network: Network
    origin: Node
    destination: Node
    ready: datetime
    terms: CargoTerms
    objective: Objective = "cost"
    value_of_time_usd_per_day: float = 0.0
    carbon_price_usd_per_t: float = 0.0
    avoid_nodes: frozenset[str] = frozenset()
    avoid_countries: frozenset[str] = frozenset()
    avoid_crossings: frozenset[str] = frozenset()
    avoid_modes: frozenset[str] = frozenset()
    max_hours: float | None = None
    max_cost_usd: float | None = None
    pareto: bool = False
    check_fit: bool = True
    objective_cap: float | None = None
    notes: tuple[str, ...] = ()
    prices: Prices | None = None  # see ``Prices``; None for every ordinary search
    stop: Stop | None = field(default=None, compare=False, repr=False)
    _memo: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    @property
    def week_offset_hours(self) -> float:
        r = self.ready
        return r.weekday() * 24 + r.hour + r.minute / 60 + r.second / 3600

    def primary(self, cost: float, co2e_kg: float) -> float:
        """The part of the objective that accrues step by step (time is the other axis)."""
        if self.objective == "co2e":
            return co2e_kg
        if self.objective == "balanced":
            return cost + self.carbon_price_usd_per_t * co2e_kg / 1000
        return cost

    def final_value(self, label: Label) -> tuple[float, float]:
        """Sort key of a complete route under the objective (lower is better), with a tie-break."""
        if self.objective == "time":
            return label.t, label.cost
        if self.objective == "balanced":
            return label.primary + self.value_of_time_usd_per_day * label.t / 24, label.t
        return label.primary, label.t

    def node_ok(self, node_id: str) -> bool:
        if node_id in self.avoid_nodes:
            return False
        return self.network.nodes[node_id].country not in self.avoid_countries

    @functools.cached_property
    def unrestricted(self) -> bool:
        """Every link admits the cargo: nothing avoided, and containers fit everywhere."""
        return not (
            self.avoid_modes
            or self.avoid_nodes
            or self.avoid_countries
            or self.avoid_crossings
            or (self.check_fit and self.terms.is_pieces)
        )

    def link_ok(self, link: Link) -> bool:
        if self.unrestricted:
            return True
        known = self._memo.get(link.id)
        if known is None:
            crossing = self.network.crossing_on_link.get(link.id)
            known = (
                link.mode not in self.avoid_modes
                and self.node_ok(link.from_node)
                and self.node_ok(link.to_node)
                and (crossing is None or crossing.base_id not in self.avoid_crossings)
                and (not self.check_fit or costs.link_misfit(link, self.terms) is None)
            )
            self._memo[link.id] = known
        return known

    def service_ok(self, service: Service) -> bool:
        key = "service:" + service.id
        known = self._memo.get(key)
        if known is None:
            # Scheduled services are container trains and liner ships: pieces go on demand.
            known = not self.terms.is_pieces and (
                self.unrestricted
                or all(self.link_ok(self.network.links[link_id]) for link_id in service.links)
            )
            self._memo[key] = known
        return known

    def lift_ok(self, node: Node) -> bool:
        return not self.check_fit or costs.can_lift(node, self.terms)


class Label:
    """A partial route reaching ``state`` at ``t`` hours after ready."""

    __slots__ = (
        "alive", "co2", "cost", "dist", "last", "parent", "primary", "state", "steps", "t",
        "visited",
    )  # fmt: skip

    def __init__(
        self,
        state: State,
        t: float,
        cost: float,
        co2: float,
        dist: float,
        primary: float,
        parent: Label | None,
        steps: tuple[RawStep, ...],
        last: str,
        visited: int = 0,
    ) -> None:
        self.state = state
        self.visited = visited
        self.t = t
        self.cost = cost
        self.co2 = co2
        self.dist = dist
        self.primary = primary
        self.parent = parent
        self.steps = steps
        self.last = last
        self.alive = True

    def raw_steps(self) -> list[RawStep]:
        chain: list[Label] = []
        label: Label | None = self
        while label is not None:
            chain.append(label)
            label = label.parent
        steps: list[RawStep] = []
        for label in reversed(chain):
            for step in label.steps:
                if step[0] == "ride":
                    _, t0, _, _, _, _, service, terms, network = step
                    steps.extend(_ride_steps(network, service, terms, t0)[0])
                else:
                    steps.append(step)
        return steps


class _Clock:
    """Weekly calendar arithmetic in hours after the query's ready time."""

    def __init__(self, week_offset_hours: float) -> None:
        self.offset = week_offset_hours

    def weekday(self, t: float) -> int:
        return int((self.offset + t) // 24) % 7

    def next_open(self, t: float, days: frozenset[int]) -> float:
        if len(days) == 7:
            return t
        moment = t
        for _ in range(8):
            if self.weekday(moment) in days:
                return moment
            moment = ((self.offset + moment) // 24 + 1) * 24 - self.offset
        return moment

    def next_departure(self, t: float, departures: tuple[float, ...]) -> float:
        hour_of_week = (self.offset + t) % HOURS_PER_WEEK
        i = bisect.bisect_left(departures, hour_of_week - _EPS)
        if i < len(departures):
            return t + max(0.0, departures[i] - hour_of_week)
        return t + departures[0] + HOURS_PER_WEEK - hour_of_week


@functools.cache
def _departures(service: Service) -> tuple[float, ...]:
    """Hours of the week the service departs, sorted (once per service, not per relaxation)."""
    return tuple(sorted(day * 24.0 + service.departure_hour_utc for day in service.weekdays))


def _weekday_names(days: frozenset[int]) -> str:
    return "/".join(WEEKDAYS[d] for d in sorted(days))


def _ride_steps(
    network: Network, service: Service, terms: CargoTerms, t0: float
) -> tuple[list[RawStep], float, float]:
    """Move and border steps of a ride, timed so that they add up to the service's transit time.

    Nominal hours per link and crossing are scaled by one factor; the service's linehaul is
    shared over its links by distance. Returns the steps, their CO2e and their distance.
    """
    parts: list[tuple[Link, Crossing | None]] = []
    nominal = 0.0
    for link_id in service.links:
        link = network.links[link_id]
        crossing = network.crossing_on_link.get(link_id)
        parts.append((link, crossing))
        nominal += link.hours + (crossing.hours if crossing else 0.0)
    scale = service.transit_hours / nominal
    total_km = sum(link.distance_km for link, _ in parts)
    linehaul = costs.ride(service, terms)
    steps: list[RawStep] = []
    t = t0
    co2_total = 0.0
    for link, crossing in parts:
        if crossing is not None:
            fee, transhipment, hours = costs.border(crossing, terms)
            end = t + hours * scale
            steps.append(_border(crossing, t, end, fee, transhipment, service.id))
            t = end
        co2 = costs.emissions_kg(network, link, terms)
        co2_total += co2
        end = t + link.hours * scale
        share = linehaul * link.distance_km / total_km
        steps.append(_move(link, service.id, t, end, share, co2))
        t = end
    return steps, co2_total, total_km


def _move(
    link: Link, service_id: str | None, t0: float, t1: float, cost: float, co2: float
) -> RawStep:
    return ("move", t0, t1, cost, co2, link.distance_km, link.mode, link.from_node, link.to_node,
            link.id, service_id, None, None, 0.0, "")  # fmt: skip


def _gauge_note(crossing: Crossing) -> str:
    """``"gauge change 1668/1435 mm"``, the gauges as the crossing's name states them (the
    1435/1520 mm break of the corridors where it does not)."""
    stated = _GAUGES_IN_NAME.search(crossing.name)
    return f"gauge change {stated.group(0) if stated else '1435/1520'} mm"


def _border(
    crossing: Crossing,
    t0: float,
    t1: float,
    fee: float,
    transhipment: float,
    service_id: str | None = None,
) -> RawStep:
    note = _gauge_note(crossing) if crossing.gauge_change else ""
    return ("border", t0, t1, fee + transhipment, 0.0, 0.0, crossing.mode, crossing.from_node,
            crossing.to_node, None, service_id, crossing.id, None, transhipment, note)  # fmt: skip


def _wait(node: Node, t0: float, t1: float, terms: CargoTerms, note: str) -> RawStep:
    cost = costs.storage(node, t1 - t0, terms)
    return ("wait", t0, t1, cost, 0.0, 0.0, None, None, None, None, None, None, node.id, 0.0, note)


def _handle(node: Node, t0: float, terms: CargoTerms, note: str) -> tuple[RawStep, float, float]:
    cost, hours = costs.handle(node, terms)
    step = ("handle", t0, t0 + hours, cost, 0.0, 0.0, None, None, None, None, None, None, node.id,
            0.0, note)  # fmt: skip
    return step, cost, hours


def _step_cost(steps: Sequence[RawStep]) -> tuple[float, float]:
    cost = co2 = 0.0
    for step in steps:
        cost += step[3]
        co2 += step[4]
    return cost, co2


class _Search:
    def __init__(self, query: Query) -> None:
        self.q = query
        self.net = query.network
        self.clock = _Clock(query.week_offset_hours)
        self.labels: dict[State, list[Label]] = {}
        self.heap: list[tuple[float, float, int, Label]] = []
        self.counter = itertools.count()
        self.finals: list[Label] = []
        self.best: tuple[float, float] | None = None
        self.expanded = 0
        self.stopped = False
        bounds = bounds_to(self.net, query.destination.id)
        self.h_cost = bounds.cost_per_teu
        self.h_hours = bounds.hours
        self.h_co2 = bounds.co2_per_t
        # Pieces pay per tonne-km, so the per-TEU cost bound does not apply to them.
        self.cost_scale = 0.0 if query.terms.is_pieces else query.terms.teu
        self.bit = self.net.node_bits
        self.co2_scale = query.terms.tonnes
        # Scenario closures as hour windows after ready, by (kind, data-row id).
        self.closed: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for closure in self.net.closures:
            start = (closure.start - query.ready).total_seconds() / 3600
            end = (closure.end - query.ready).total_seconds() / 3600
            if end > 0:
                self.closed.setdefault((closure.kind, closure.target), []).append((start, end))

    def _reopen(self, t: float, keys: tuple[tuple[str, str], ...]) -> float:
        """The first moment from ``t`` at which none of ``keys`` is closed by the scenario."""
        moved = True
        while moved:
            moved = False
            for key in keys:
                for start, end in self.closed.get(key, ()):
                    if start <= t < end:
                        t, moved = end, True
        return t

    def _ride_closed(self, service: Service, t0: float) -> bool:
        t1 = t0 + service.transit_hours
        keys = [("node", stop) for stop in service.stops]
        for link_id in service.links:
            keys.append(("link", self.net.links[link_id].base_id))
            crossing = self.net.crossing_on_link.get(link_id)
            if crossing is not None:
                keys.append(("crossing", crossing.base_id))
        return any(
            start < t1 and t0 < end for key in keys for start, end in self.closed.get(key, ())
        )

    # -- label bookkeeping -------------------------------------------------------------------

    def _storage_rate(self, state: State) -> float:
        """USD per hour that waiting at this state costs, in the objective's terms."""
        if self.q.objective == "co2e":
            return 0.0
        node = self.net.nodes[state[0]]
        return node.storage_usd_per_teu_day * self.q.terms.teu / 24

    def _dominates(self, a: Label, b: Label, rate: float) -> bool:
        if a.t > b.t + _EPS:
            return False
        waited = rate * (b.t - a.t)
        if a.primary + waited > b.primary + _EPS:
            return False
        if self.q.max_cost_usd is not None and a.cost + waited > b.cost + _EPS:
            return False
        return not (self.q.pareto and a.cost + waited > b.cost + _EPS)

    def _estimate(self, label: Label) -> float:
        """A lower bound on the objective of any complete route extending ``label``."""
        q, state = self.q, label.state
        h_cost = self.h_cost[state] * self.cost_scale
        if q.objective == "time":
            return label.t + self.h_hours[state]
        if q.objective == "co2e":
            return label.co2 + self.h_co2[state] * self.co2_scale
        if q.objective == "cost":
            if q.prices is not None:  # lateness priced at arrival, from the soonest arrival
                h_cost += q.terms.teu * q.prices.arrival(label.t + self.h_hours[state])
            return label.primary + h_cost
        carbon = q.carbon_price_usd_per_t * self.h_co2[state] * self.co2_scale / 1000
        hours = label.t + self.h_hours[state]
        return label.primary + h_cost + carbon + q.value_of_time_usd_per_day * hours / 24

    def _key(self, label: Label) -> float | None:
        """The label's place in the queue, or None when no route within every limit extends it.

        The place is the lower bound on the objective (A*), or the arrival time for a Pareto
        front.
        """
        q, state = self.q, label.state
        h_hours = self.h_hours.get(state)
        if h_hours is None:
            return None  # the destination cannot be reached from here
        if q.max_hours is not None and label.t + h_hours > q.max_hours + _EPS:
            return None
        min_cost = label.cost + self.h_cost[state] * self.cost_scale
        if q.max_cost_usd is not None and min_cost > q.max_cost_usd + _EPS:
            return None
        estimate = self._estimate(label)
        if q.objective_cap is not None and estimate > q.objective_cap + _EPS:
            return None
        if q.pareto:
            soonest = label.t + h_hours
            if any(f.t <= soonest + _EPS and f.cost <= min_cost + _EPS for f in self.finals):
                return None
            return label.t
        if self.best is not None and estimate > self.best[0] + _EPS:
            return None
        return estimate

    def push(self, label: Label) -> None:
        key = self._key(label)
        if key is None:
            return
        keep = []
        existing = self.labels.get(label.state)
        if existing:
            rate = self._storage_rate(label.state)
            for other in existing:
                if self._dominates(other, label, rate):
                    return
            for other in existing:
                if self._dominates(label, other, rate):
                    other.alive = False
                else:
                    keep.append(other)
        keep.append(label)
        self.labels[label.state] = keep
        heapq.heappush(self.heap, (key, label.t, next(self.counter), label))

    def extend(
        self,
        label: Label,
        state: State,
        steps: list[RawStep],
        last: str,
        dist: float = 0.0,
        entered: int = 0,
    ) -> None:
        """Push the label ``steps`` (timed in hours after ready) lead to."""
        cost, co2 = _step_cost(steps)
        t = steps[-1][2] if steps else label.t
        kept = tuple(s for s in steps if s[0] != "wait" or s[2] - s[1] > _EPS)
        self.add(label, state, kept, last, t, cost, co2, dist, entered)

    def add(
        self,
        label: Label,
        state: State,
        steps: tuple[RawStep, ...],
        last: str,
        t: float,
        cost: float,
        co2: float,
        dist: float,
        entered: int,
    ) -> None:
        """Push the label that ``steps`` lead to, arriving at ``t``, adding
        ``cost``, ``co2`` and ``dist``; ``entered`` are the places (as bits) it enters.

        A route never comes back to a place: where waiting costs storage, a loop that costs
        nothing would otherwise beat waiting, lap after lap.
        """
        if label.visited & entered:
            return
        new_cost = label.cost + cost
        new_co2 = label.co2 + co2
        self.push(
            Label(
                state,
                t,
                new_cost,
                new_co2,
                label.dist + dist,
                self.q.primary(new_cost, new_co2),
                label,
                steps,
                last,
                label.visited | entered,
            )
        )

    # -- the search --------------------------------------------------------------------------

    def run(self) -> list[Label]:
        q = self.q
        origin, dest = q.origin, q.destination
        if q.lift_ok(origin):
            for mode in self.net.node_modes(origin.id):
                if mode in origin.modes and mode not in q.avoid_modes:
                    step, _, _ = _handle(origin, 0.0, q.terms, f"load onto {mode}")
                    root = Label(
                        (origin.id, mode), 0.0, 0.0, 0.0, 0.0, 0.0, None, (), "start",
                        self.bit[origin.id],
                    )  # fmt: skip
                    self.extend(root, (origin.id, mode), [step], "load")
        stop = q.stop
        while self.heap:
            if stop is not None and self.expanded % _STOP_CHECK_EVERY == 0 and stop():
                self.stopped = True
                break
            key, _, _, label = heapq.heappop(self.heap)
            if not q.pareto and self.best is not None and key > self.best[0] + _EPS:
                break  # every label left is bounded above the best complete route
            # (a Pareto front may have grown past this label since it was queued; the other
            # limits, and the bound on the best route, were checked by its key)
            if not label.alive or (q.pareto and self._key(label) is None):
                continue
            self.expanded += 1
            node_id, mode = label.state
            if node_id == dest.id:
                self._finish(label)
                continue
            for succ, data in self.net.out_edges[label.state]:
                self._relax(label, succ, data)
        return self.finals

    def _finish(self, label: Label) -> None:
        q = self.q
        node = q.destination
        mode = label.state[1]
        if mode not in node.modes or not q.lift_ok(node):
            return
        step, cost, hours = _handle(node, label.t, q.terms, f"unload from {mode}")
        if q.prices is not None:
            cost += q.terms.teu * q.prices.arrival(label.t + hours)
        final = Label(
            label.state,
            label.t + hours,
            label.cost + cost,
            label.co2,
            label.dist,
            q.primary(label.cost + cost, label.co2),
            label,
            (step,),
            "unload",
        )
        if q.max_hours is not None and final.t > q.max_hours + _EPS:
            return
        if q.max_cost_usd is not None and final.cost > q.max_cost_usd + _EPS:
            return
        self.finals.append(final)
        value = q.final_value(final)
        if self.best is None or value < self.best:
            self.best = value

    def _link_keys(self, link: Link, crossing: Crossing | None) -> tuple[tuple[str, str], ...]:
        keys = [("link", link.base_id), ("node", link.from_node), ("node", link.to_node)]
        if crossing is not None:
            keys.append(("crossing", crossing.base_id))
        return tuple(keys)

    def _clear_to_pass(self, t: float, link: Link, crossing: Crossing | None) -> float:
        """When the cargo may start over ``link``: crossing open that day, nothing closed."""
        keys = self._link_keys(link, crossing) if self.closed else ()
        for _ in range(64):
            before = t
            if keys:
                t = self._reopen(t, keys)
            if crossing is not None:
                t = self.clock.next_open(t, crossing.open_weekdays)
            if t == before:
                break
        return t

    def _wait_note(self, t: float, link: Link, crossing: Crossing | None) -> str:
        if self.closed:
            keys = self._link_keys(link, crossing)
            if self._reopen(t, keys) > t:
                closed = [
                    f"{kind} {target}"
                    for kind, target in keys
                    if self._reopen(t, ((kind, target),)) > t
                ]
                return f"{', '.join(closed)} closed by the scenario"
        assert crossing is not None
        return f"{crossing.name} opens {_weekday_names(crossing.open_weekdays)} only"

    def _relax(self, label: Label, succ: State, data: dict[str, Any]) -> None:
        q = self.q
        kind = data["kind"]
        node = self.net.nodes[label.state[0]]
        if kind == "transfer":
            if label.last in ("transfer", "load") or succ[1] in q.avoid_modes:
                return
            if not q.lift_ok(node):
                return
            step, _, _ = _handle(node, label.t, q.terms, f"{label.state[1]} to {succ[1]}")
            self.extend(label, succ, [step], "transfer")
            return
        if kind == "move":
            link: Link = data["link"]
            if not q.link_ok(link):
                return
            entered = self.bit[link.to_node]
            if label.visited & entered:
                return
            crossing: Crossing | None = data["crossing"]
            cost, hours, co2 = costs.move(self.net, link, q.terms)
            if crossing is None and not self.closed:  # most links: one move step, no wait
                arrive = label.t + hours
                move = _move(link, None, label.t, arrive, cost, co2)
                if q.prices is not None:
                    cost += self._priced((move,))
                self.add(label, succ, (move,), "move", arrive, cost, co2, link.distance_km, entered)
                return
            t = self._clear_to_pass(label.t, link, crossing)
            steps: tuple[RawStep, ...] = ()
            if t > label.t + _EPS:
                note = self._wait_note(label.t, link, crossing)
                steps += (_wait(node, label.t, t, q.terms, note),)
            if crossing is not None:
                fee, transhipment, border_hours = costs.border(crossing, q.terms)
                steps += (_border(crossing, t, t + border_hours, fee, transhipment),)
                t += border_hours
            steps += (_move(link, None, t, t + hours, cost, co2),)
            total, co2 = _step_cost(steps)
            total += self._priced(steps)
            self.add(label, succ, steps, "move", t + hours, total, co2, link.distance_km, entered)
            return
        service: Service = data["service"]
        if not q.service_ok(service):
            return
        departures = _departures(service)
        departs = self.clock.next_departure(label.t, departures)
        for _ in range(52):
            if not self.closed or not self._ride_closed(service, departs):
                break
            departs = self.clock.next_departure(departs + 1.0, departures)
        else:
            return
        ride = _ride_totals(self.net, service)
        terms = q.terms
        arrive = departs + service.transit_hours
        cost = costs.ride(service, terms)
        for crossing in ride.crossings:
            fee, transhipment, _ = costs.border(crossing, terms)
            cost += fee + transhipment
        co2 = terms.tonnes * ride.kg_co2e_per_t
        # The ride's own steps are laid out only for the routes returned (``Label.raw_steps``).
        taken: tuple[RawStep, ...] = (
            ("ride", departs, arrive, cost, co2, ride.km, service, terms, self.net),
        )
        if departs > label.t + _EPS:
            day = WEEKDAYS[self.clock.weekday(departs)]
            note = f"next {service.name} departs {day} {service.departure_hour_utc:02d}:00 UTC"
            wait = _wait(node, label.t, departs, terms, note)
            taken = (wait, *taken)
            cost += wait[3]
        cost += self._priced(taken)
        self.add(label, succ, taken, "service", arrive, cost, co2, ride.km, ride.entered)

    def _priced(self, steps: Sequence[RawStep]) -> float:
        """What the query's prices add to ``steps``: each link, crossing and service departure
        they use, times the TEU-equivalent (a ride's border steps are laid out to time them)."""
        prices = self.q.prices
        if prices is None:
            return 0.0
        total = 0.0
        for step in steps:
            if step[0] == "move" and step[10] is None:
                total += prices.use(step[9], step[1])
            elif step[0] == "border":
                total += prices.use(step[11], step[1])
            elif step[0] == "ride":
                total += prices.use(step[6].id, step[1])
                inside = _ride_steps(self.net, step[6], step[7], step[1])[0]
                total += sum(prices.use(s[11], s[1]) for s in inside if s[0] == "border")
        return total * self.q.terms.teu


@dataclass(frozen=True)
class _RideTotals:
    """What a relaxation needs of a ride without laying out its steps (see ``_ride_steps``)."""

    crossings: tuple[Crossing, ...]
    km: float
    kg_co2e_per_t: float  # emissions per tonne of cargo over the whole ride
    entered: int  # the places after the first stop, as bits


_RIDE_TOTALS: weakref.WeakKeyDictionary[Network, dict[str, _RideTotals]] = (
    weakref.WeakKeyDictionary()
)


def _ride_totals(network: Network, service: Service) -> _RideTotals:
    per_network = _RIDE_TOTALS.get(network)
    if per_network is None:
        per_network = _RIDE_TOTALS.setdefault(network, {})
    totals = per_network.get(service.id)
    if totals is None:
        links = [network.links[link_id] for link_id in service.links]
        crossings = (network.crossing_on_link.get(link.id) for link in links)
        entered = 0
        for stop in service.stops[1:]:
            entered |= network.node_bits[stop]
        totals = _RideTotals(
            crossings=tuple(c for c in crossings if c is not None),
            km=sum(link.distance_km for link in links),
            kg_co2e_per_t=sum(costs.emissions_kg_per_t(network, link) for link in links),
            entered=entered,
        )
        per_network[service.id] = totals
    return totals


def reachable(query: Query) -> bool:
    """Whether any way through exists at all, ignoring time: a cheap test before a search."""
    net, q = query.network, query
    seen: set[State] = set()
    frontier = [
        (q.origin.id, mode)
        for mode in net.node_modes(q.origin.id)
        if mode in q.origin.modes and mode not in q.avoid_modes
    ]
    while frontier:
        state = frontier.pop()
        if state in seen:
            continue
        seen.add(state)
        if state[0] == q.destination.id:
            if state[1] in q.destination.modes:
                return True
            continue
        for succ, edges in net.graph.succ[state].items():
            if succ in seen:
                continue
            for data in edges.values():
                kind = data["kind"]
                if (
                    (kind == "move" and q.link_ok(data["link"]))
                    or (kind == "service" and q.service_ok(data["service"]))
                    or (kind == "transfer" and succ[1] not in q.avoid_modes)
                ):
                    frontier.append(succ)
                    break
    return False


def search(query: Query) -> list[Label]:
    """Complete labels at the destination: the optimum first, or the Pareto set for ``pareto``.

    A search ended by ``query.stop`` returns what it completed so far (not proven best), or
    raises ``StoppedError`` when it completed nothing.
    """
    run = _Search(query)
    finals = run.run()
    if run.stopped and not finals:
        raise StoppedError(
            f"the route search stopped after {run.expanded:,} labels, before it found a route"
        )
    if query.pareto:
        return pareto_filter(finals)
    return sorted(finals, key=query.final_value)


def pareto_filter(labels: list[Label]) -> list[Label]:
    """Labels non-dominated in (cost, arrival), fastest first."""
    front: list[Label] = []
    for label in sorted(labels, key=lambda lb: (lb.t, lb.cost)):
        if not front or label.cost < front[-1].cost - 1e-6:
            front.append(label)
    return front


def build_route(query: Query, label: Label, objective: str) -> Route:
    """Turn a complete label into a Route with real timestamps."""
    net = query.network
    steps = _to_steps(query.ready, label.raw_steps())
    path = [query.origin.id]
    for step in steps:
        if step.kind == "move" and step.to_node and step.to_node != path[-1]:
            path.append(step.to_node)
    countries = tuple(dict.fromkeys(net.nodes[node_id].country for node_id in path))
    coordinates = tuple((net.nodes[n].lon, net.nodes[n].lat) for n in path)
    return Route(
        origin=query.origin.id,
        destination=query.destination.id,
        objective=objective,
        ready=query.ready,
        steps=steps,
        countries=countries,
        coordinates=coordinates,
        value_of_time_usd_per_day=query.value_of_time_usd_per_day,
        carbon_price_usd_per_t=query.carbon_price_usd_per_t,
        notes=query.notes,
    )


def _to_steps(ready: datetime, raw_steps: list[RawStep]) -> tuple[Step, ...]:
    """Steps timed from ``ready``; a step starts when the one before it ends, so each moment
    (hours after ready) is turned into a datetime once."""
    moments: dict[float, datetime] = {}

    def at(hours: float) -> datetime:
        moment = moments.get(hours)
        if moment is None:
            moment = moments[hours] = ready + timedelta(hours=hours)
        return moment

    # a raw step is a Step's fields in order, with hours after ready for its two times
    return tuple(Step(raw[0], at(raw[1]), at(raw[2]), *raw[3:]) for raw in raw_steps)


def iter_moves(label: Label) -> Iterator[RawStep]:
    return (step for step in label.raw_steps() if step[0] == "move")
