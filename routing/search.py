"""Time-dependent multi-criteria label-setting search over the routing graph.

Why a label-setting search and not OR-Tools here: one shipment on one network is a resource-
constrained shortest path whose arcs depend on the clock (weekly departures, border posts closed at
weekends). Keeping, at every state, the labels that no other label dominates is exact and costs
milliseconds; a MIP would need a time-expanded graph hundreds of times larger. OR-Tools is used
where shipments compete for capacity (``routing.plan``) and for delivery tours (``routing.tours``).

The model the search is exact for
---------------------------------
A route is a walk over the routing graph (load at the origin, moves, rides on scheduled services,
mode changes, unload at the destination) that enters no place twice, changes mode at most once per
place and not right after loading, and ends at its first arrival at the destination. Waiting is
voluntary: the cargo may wait at any place it is at, for any time, paying that place's storage rate
(USD per TEU-equivalent and day). A step starts only when it may: an on-demand move over a crossing
starts on one of the crossing's opening days (UTC days, from 00:00 to 24:00 inclusive), a ride
departs at one of the service's weekly departures and passes each crossing on its way on an opening
day, and nothing starts over (or rides through) a link, node or crossing a scenario closes.

Every label stands for a prefix of routes together with the cheapest way to be at its state at
any later moment: ``Label.hold`` lists where along the prefix extra time can be spent, cheapest
first, and how much of it each place can absorb before a departure or an opening day would move
(a wait after a ride can only be spent after it; a wait before a crossing can be spent upstream
only while the crossing is still open). A forced wait is charged to those places, so the cargo
waits at the factory rather than at a dear border post when that is cheaper.

Dominance and why it is valid
-----------------------------
Label ``a`` dominates label ``b`` at the same state when (1) ``a`` arrives no later; (2) for every
moment ``T`` from ``b``'s arrival on, ``a``'s cheapest cost of being there at ``T`` (its cost plus
its hold up to ``T``) is no more than ``b``'s, in the objective's terms and, where a cost budget or
the Pareto front needs it, in USD; (3) every place ``a`` has entered and ``b`` has not is out of
play for ``b``: a route extending ``b`` through it would break a limit, or be bounded above the
best route found, or (Pareto) be dominated by a route found, by the lower bounds; and (4) ``a`` may
change mode there whenever ``b`` may. Proof: take any route through ``b`` that matters; it is at
the state at some ``T`` at a cost of at least ``b``'s cheapest cost at ``T``, and by (3) it enters
no place ``a`` has entered. Run ``a``'s prefix so that it is there at ``T`` (possible and no dearer
by (1) and (2): waiting is voluntary), then follow the rest of the route. The rest is feasible for
``a`` by (3) and (4), starts at the same moment, so it costs, emits and lasts the same. The new
route is no worse on every objective, arrival and budget. Limits are fixed and what has been found
only improves, so a place out of play stays out. A label is dropped only when dominated, and a
dominated label's routes that matter are matched by routes of a kept one, so the search keeps an
optimal route (and, for the Pareto front, a route for every point). Nothing is lost between labels
either: relaxing a label makes, for each moment a step may start, a label whose arrival or hold
covers that start (an on-demand move at any moment, through its hold; a crossing within each run of
open days, its hold reaching to the end of the run; each departure of a service), and the A* bounds
leave out only labels that no route within the limits, or better than one found, extends.

Departures later than the first a label can catch are searched too (a later train can save a
dear wait after the ride when waiting before it is cheaper), up to one week after the first and
after the last scenario closure: schedules repeat weekly, so a route taking a departure a week
later is matched by the same route a week earlier, which is no dearer and no later.
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
# How long before a scenario closure the last start over what it closes may be (a second).
_CLOSURE_MARGIN_H = 1 / 3600

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


# Where a label can spend extra time, cheapest first: (hours, USD per hour, the label at whose
# place it is spent; None for the label itself). The last segment is the only unbounded one.
Segment = tuple[float, float, "Label | None"]
Hold = tuple[Segment, ...]
# A wait charged to a place along the prefix: (the label at that place, hours, why).
Held = tuple["Label", float, str]
# Labels after which the cargo may not change mode at once.
_NO_TRANSFER = frozenset({"transfer", "load"})
_INF = float("inf")


class Label:
    """A partial route reaching ``state`` at ``t`` hours after ready, at least.

    ``hold`` says what being there later costs (see the module docstring); ``held`` are the
    waits this label's step charged to places along the prefix.
    """

    __slots__ = (
        "alive", "co2", "cost", "dist", "held", "hold", "last", "parent", "primary", "state",
        "steps", "t", "visited",
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
        hold: Hold = (),
        held: tuple[Held, ...] = (),
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
        self.hold = hold
        self.held = held
        self.alive = True

    def raw_steps(self, network: Network, terms: CargoTerms) -> list[RawStep]:
        """The route's steps laid end to end, with every wait where it was charged."""
        chain: list[Label] = []
        label: Label | None = self
        while label is not None:
            chain.append(label)
            label = label.parent
        waits: dict[int, list[tuple[float, str]]] = {}
        for label in chain:
            for where, hours, note in label.held:
                waits.setdefault(id(where), []).append((hours, note))
        steps: list[RawStep] = []
        clock = 0.0
        for label in reversed(chain):
            for step in label.steps:
                if step[0] == "ride":
                    _, _, _, _, _, _, service, ride_terms, ride_network = step
                    parts = _ride_steps(ride_network, service, ride_terms, 0.0)[0]
                else:
                    parts = [step]
                for part in parts:
                    end = clock + (part[2] - part[1])
                    steps.append((part[0], clock, end, *part[3:]))
                    clock = end
            here = waits.get(id(label))
            if here:
                hours = sum(h for h, _ in here)
                if hours > _EPS:
                    note = "; ".join(dict.fromkeys(n for _, n in here))
                    node = network.nodes[label.state[0]]
                    steps.append(_wait(node, clock, clock + hours, terms, note))
                    clock += hours
        return steps


def _hold_cost(hold: Hold, hours: float) -> float:
    """What ``hours`` more than the earliest arrival cost, spent at the cheapest places."""
    cost = 0.0
    for length, rate, _ in hold:
        if hours <= length:
            return cost + rate * hours
        cost += rate * length
        hours -= length
    return cost


def _hold_rate(hold: Hold, hours: float) -> float:
    """The cost of one more hour after ``hours`` of waiting."""
    for length, rate, _ in hold:
        if hours < length - _EPS:
            return rate
        hours -= length
    return hold[-1][1]


def _spend(label: Label, hours: float) -> tuple[float, tuple[tuple[Label, float], ...], Hold]:
    """Charge a wait of ``hours`` to the cheapest places of ``label``'s hold.

    Returns the cost, the hours charged to each place, and the hold left after it.
    """
    cost = 0.0
    spent: list[tuple[Label, float]] = []
    rest: list[Segment] = []
    left = hours
    for length, rate, where in label.hold:
        place = label if where is None else where
        if left > _EPS:
            used = min(length, left)
            cost += rate * used
            spent.append((place, used))
            left -= used
            if length - used > _EPS:
                rest.append((length - used, rate, place))
        else:
            rest.append((length, rate, place))
    return cost, tuple(spent), tuple(rest)


def _carry(rest: Hold, slack: float, rate: float) -> Hold:
    """The hold after a step whose start may move ``slack`` hours later, at a place whose
    storage costs ``rate``: the cheaper segments before it, up to ``slack``, then the place."""
    out: list[Segment] = []
    room = slack
    for length, segment_rate, where in rest:
        if segment_rate >= rate or room <= _EPS:
            break
        used = min(length, room)
        out.append((used, segment_rate, where))
        if used == _INF:
            return tuple(out)
        room -= used
    out.append((_INF, rate, None))
    return tuple(out)


def _hold_margin(a: Label, b: Label) -> float:
    """The least, over moments from ``b.t`` on, of b's hold cost minus a's (at most 0)."""
    ha, hb = a.hold, b.hold
    gap = b.t - a.t
    if hb[-1][1] < ha[-1][1] - 1e-12:
        return -_INF  # late enough, b is cheaper to keep than a
    if len(ha) == 1 and len(hb) == 1:
        return -ha[0][1] * gap
    moments = {0.0}
    x = 0.0
    for length, _, _ in hb[:-1]:
        x += length
        moments.add(x)
    x = -gap
    for length, _, _ in ha[:-1]:
        x += length
        if x > 0:
            moments.add(x)
    return min(_hold_cost(hb, m) - _hold_cost(ha, m + gap) for m in moments)


class _Clock:
    """Weekly calendar arithmetic in hours after the query's ready time."""

    def __init__(self, week_offset_hours: float) -> None:
        self.offset = week_offset_hours

    def weekday(self, t: float) -> int:
        return int((self.offset + t) // 24) % 7

    def is_open(self, t: float, days: frozenset[int]) -> bool:
        """Whether a start at ``t`` falls on one of ``days`` (UTC weekdays). A day runs from
        00:00 to 24:00, both included: a start at midnight ends the day before as well."""
        if len(days) == 7 or self.weekday(t) in days:
            return True
        return (self.offset + t) % 24 < _EPS and self.weekday(t - 1.0) in days

    def next_open(self, t: float, days: frozenset[int]) -> float:
        if self.is_open(t, days):
            return t
        moment = t
        for _ in range(8):
            moment = ((self.offset + moment) // 24 + 1) * 24 - self.offset
            if self.weekday(moment) in days:
                return moment
        return moment

    def closes(self, t: float, days: frozenset[int]) -> float:
        """The last moment of the run of ``days`` that ``t`` (an open moment) falls in."""
        if len(days) == 7:
            return _INF
        if self.weekday(t) not in days:
            return t  # midnight at the end of an open day
        moment = ((self.offset + t) // 24 + 1) * 24 - self.offset
        for _ in range(7):
            if self.weekday(moment) not in days:
                return moment
            moment += 24
        return moment

    def departures(self, t: float, departures: tuple[float, ...]) -> Iterator[float]:
        """The moments from ``t`` on of a weekly schedule, in order, without end."""
        hour_of_week = (self.offset + t) % HOURS_PER_WEEK
        week_start = t - hour_of_week
        i = bisect.bisect_left(departures, hour_of_week - _EPS)
        while True:
            if i == len(departures):
                i = 0
                week_start += HOURS_PER_WEEK
            yield max(t, week_start + departures[i])
            i += 1


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
        # Storage counts in the objective (all but CO2e); cost is a label's second measure when
        # a cost budget or the Pareto front needs it.
        self.storage_counts = query.objective != "co2e"
        self.cost_counts = query.pareto or query.max_cost_usd is not None
        # Later departures matter only where what a wait costs matters.
        self.later = self.storage_counts or self.cost_counts
        self._own: dict[str, Hold] = {}
        self._places = list(self.net.nodes)  # by bit position (``Network.node_bits``)
        self._by_bit: dict[int, tuple[float, float, float] | None] = {}
        self._rate: dict[str, float] = {}
        # Scenario closures as hour windows after ready, by (kind, data-row id).
        self.closed: dict[tuple[str, str], list[tuple[float, float]]] = {}
        self.closures_end = 0.0
        for closure in self.net.closures:
            start = (closure.start - query.ready).total_seconds() / 3600
            end = (closure.end - query.ready).total_seconds() / 3600
            if end > 0:
                self.closed.setdefault((closure.kind, closure.target), []).append((start, end))
                self.closures_end = max(self.closures_end, end)

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

    def _ride_clear(self, service: Service, ride: _RideTotals, t0: float) -> bool:
        """Whether a ride departing at ``t0`` passes every crossing on an opening day and
        nothing on its way is closed by the scenario while it rides."""
        for offset, days in ride.gates:
            if not self.clock.is_open(t0 + offset, days):
                return False
        if not self.closed:
            return True
        t1 = t0 + service.transit_hours
        keys = [("node", stop) for stop in service.stops]
        for link_id in service.links:
            keys.append(("link", self.net.links[link_id].base_id))
            crossing = self.net.crossing_on_link.get(link_id)
            if crossing is not None:
                keys.append(("crossing", crossing.base_id))
        return not any(
            start < t1 and t0 < end for key in keys for start, end in self.closed.get(key, ())
        )

    # -- label bookkeeping -------------------------------------------------------------------

    def rate(self, node_id: str) -> float:
        """USD per hour that waiting at a place costs this cargo."""
        rate = self._rate.get(node_id)
        if rate is None:
            node = self.net.nodes[node_id]
            rate = self._rate[node_id] = node.storage_usd_per_teu_day * self.q.terms.teu / 24
        return rate

    def own(self, node_id: str) -> Hold:
        """The hold of a label that can spend extra time only where it is."""
        hold = self._own.get(node_id)
        if hold is None:
            hold = self._own[node_id] = ((_INF, self.rate(node_id), None),)
        return hold

    def onward(self, label: Label, node_id: str, slack: float = _INF) -> Hold:
        """The hold after a step from ``label`` to ``node_id`` that starts when it arrives and
        whose start may move ``slack`` hours later."""
        hold = label.hold
        rate = self.rate(node_id)
        if len(hold) == 1 and slack == _INF:  # the common case: one unbounded segment
            length, held_rate, where = hold[0]
            if held_rate < rate:
                return ((length, held_rate, label if where is None else where),)
            return self.own(node_id)
        return _carry(_spend(label, 0.0)[2], slack, rate)

    def _place_bounds(self, bit: int) -> tuple[float, float, float] | None:
        """Least remaining hours, cost per TEU and CO2e per tonne from a place (by its bit) to
        the destination, over its modes; None when the destination is out of reach from it."""
        found = self._by_bit.get(bit)
        if found is None and bit not in self._by_bit:
            node_id = self._places[bit.bit_length() - 1]
            states = [(node_id, m) for m in self.net.node_modes(node_id)]
            states = [state for state in states if state in self.h_hours]
            if states:
                found = (
                    min(self.h_hours[state] for state in states),
                    min(self.h_cost[state] for state in states),
                    min(self.h_co2[state] for state in states),
                )
            self._by_bit[bit] = found
        return found

    def _out_of_play(self, label: Label, places: int) -> bool:
        """Whether no route extending ``label`` through any of ``places`` (bits) can matter: each
        would be bounded out by a limit, by the best route found, or (Pareto) by a route found.

        Sound for the rest of the search: limits are fixed and what was found only improves.
        """
        q = self.q
        while places:
            bit = places & -places
            places ^= bit
            bounds = self._place_bounds(bit)
            if bounds is None:
                continue
            hours = label.t + bounds[0]
            cost = label.cost + bounds[1] * self.cost_scale
            if q.max_hours is not None and hours > q.max_hours + _EPS:
                continue
            if q.max_cost_usd is not None and cost > q.max_cost_usd + _EPS:
                continue
            if q.pareto:
                if any(f.t <= hours + _EPS and f.cost <= cost + _EPS for f in self.finals):
                    continue
                return False
            if q.objective == "time":
                estimate = hours
            elif q.objective == "co2e":
                estimate = label.co2 + bounds[2] * self.co2_scale
            else:
                estimate = label.primary + bounds[1] * self.cost_scale
                if q.objective == "balanced":
                    estimate += q.carbon_price_usd_per_t * bounds[2] * self.co2_scale / 1000
                    estimate += q.value_of_time_usd_per_day * hours / 24
            if q.objective_cap is not None and estimate > q.objective_cap + _EPS:
                continue
            if self.best is not None and estimate > self.best[0] + _EPS:
                continue
            return False
        return True

    def _dominates(self, a: Label, b: Label) -> bool:
        """Whether ``a`` dominates ``b`` (same state): see the module docstring.

        Places ``a`` entered and ``b`` did not count only while a route extending ``b`` through
        them could still matter (``_out_of_play``).
        """
        if a.t > b.t + _EPS or a.primary > b.primary + _EPS:
            return False
        if self.cost_counts and a.cost > b.cost + _EPS:
            return False  # (the hold margin below is never positive)
        if a.last in _NO_TRANSFER and b.last not in _NO_TRANSFER:
            return False
        if self.storage_counts or self.cost_counts:
            margin = _hold_margin(a, b)
            if self.storage_counts and a.primary - b.primary > margin + _EPS:
                return False
            if self.cost_counts and a.cost - b.cost > margin + _EPS:
                return False
        extra = a.visited & ~b.visited
        return not extra or self._out_of_play(b, extra)

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

        The place is the lower bound on the objective (A*), or on the arrival time for a
        Pareto front (so that fast complete routes come early and bound the rest).
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
            return soonest
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
            for other in existing:
                if self._dominates(other, label):
                    return
            for other in existing:
                if self._dominates(label, other):
                    other.alive = False
                else:
                    keep.append(other)
        keep.append(label)
        self.labels[label.state] = keep
        heapq.heappush(self.heap, (key, label.t, next(self.counter), label))

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
        hold: Hold,
        held: tuple[Held, ...] = (),
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
                hold,
                held,
            )
        )

    def wait(self, label: Label, until: float, note: str) -> tuple[float, tuple[Held, ...], Hold]:
        """Charge the wait from ``label.t`` to ``until`` where it is cheapest along the prefix:
        its cost, where it was charged, and the hold left after it."""
        cost, spent, rest = _spend(label, until - label.t)
        return cost, tuple((where, hours, note) for where, hours in spent), rest

    # -- the search --------------------------------------------------------------------------

    def run(self) -> list[Label]:
        q = self.q
        origin, dest = q.origin, q.destination
        if q.lift_ok(origin):
            for mode in self.net.node_modes(origin.id):
                if mode in origin.modes and mode not in q.avoid_modes:
                    step, cost, hours = _handle(origin, 0.0, q.terms, f"load onto {mode}")
                    root = Label(
                        (origin.id, mode), 0.0, 0.0, 0.0, 0.0, 0.0, None, (), "start",
                        self.bit[origin.id], self.own(origin.id),
                    )  # fmt: skip
                    self.add(
                        root, (origin.id, mode), (step,), "load", hours, cost, 0.0, 0.0, 0,
                        self.onward(root, origin.id),
                    )  # fmt: skip
        stop = q.stop
        while self.heap:
            key = self.heap[0][0]
            if not q.pareto and self.best is not None and key > self.best[0] + _EPS:
                break  # every label left is bounded above the best complete route
            if stop is not None and self.expanded % _STOP_CHECK_EVERY == 0 and stop():
                self.stopped = True
                break
            _, _, _, label = heapq.heappop(self.heap)
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
            label.visited,
            label.hold,
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

    def _open_until(self, t: float, link: Link, crossing: Crossing | None) -> float:
        """Until when a start over ``link`` may move on from ``t`` (a moment it may start)."""
        until = _INF
        if crossing is not None:
            until = self.clock.closes(t, crossing.open_weekdays)
        if self.closed:
            for key in self._link_keys(link, crossing):
                for start, _ in self.closed.get(key, ()):
                    # a closure takes effect at its start: the last start is just before it
                    if t < start < until:
                        until = max(t, start - _CLOSURE_MARGIN_H)
        return until

    def _windows(
        self, t: float, link: Link, crossing: Crossing | None
    ) -> Iterator[tuple[float, float]]:
        """The spans ``(from, until)`` in which a start over ``link`` may fall, from ``t`` on,
        for one week after the first and after the last closure."""
        start = self._clear_to_pass(t, link, crossing)
        horizon = max(start, self.closures_end) + HOURS_PER_WEEK
        while start < horizon:
            until = self._open_until(start, link, crossing)
            yield start, until
            if until == _INF:
                return
            start = self._clear_to_pass(until + _CLOSURE_MARGIN_H, link, crossing)

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

    def _departures(self, t: float, service: Service, ride: _RideTotals) -> Iterator[float]:
        """The service's departures from ``t`` on that the cargo may ride: the first, and those
        within a week after it and after the last closure (see the module docstring)."""
        horizon = max(t, self.closures_end) + HOURS_PER_WEEK
        first: float | None = None
        for departs in self.clock.departures(t, _departures(service)):
            if departs >= horizon:
                return
            if self._ride_clear(service, ride, departs):
                if first is None:
                    first = departs
                    horizon = max(first, self.closures_end) + HOURS_PER_WEEK
                yield departs

    def _relax(self, label: Label, succ: State, data: dict[str, Any]) -> None:
        q = self.q
        kind = data["kind"]
        node = self.net.nodes[label.state[0]]
        if kind == "transfer":
            if label.last in _NO_TRANSFER or succ[1] in q.avoid_modes:
                return
            if not q.lift_ok(node):
                return
            step, cost, hours = _handle(node, label.t, q.terms, f"{label.state[1]} to {succ[1]}")
            hold = self.onward(label, node.id)
            self.add(label, succ, (step,), "transfer", label.t + hours, cost, 0.0, 0.0, 0, hold)
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
                hold = self.onward(label, link.to_node)
                self.add(
                    label, succ, (move,), "move", arrive, cost, co2, link.distance_km, entered,
                    hold,
                )  # fmt: skip
                return
            fee = transhipment = border_hours = 0.0
            if crossing is not None:
                fee, transhipment, border_hours = costs.border(crossing, q.terms)
            to_rate = self.rate(link.to_node)
            for start, until in self._windows(label.t, link, crossing):
                steps: tuple[RawStep, ...] = ()
                held: tuple[Held, ...] = ()
                if start > label.t + _EPS:
                    note = self._wait_note(label.t, link, crossing)
                    waited, held, rest = self.wait(label, start, note)
                else:
                    waited, _, rest = _spend(label, 0.0)
                t = start
                if crossing is not None:
                    steps += (_border(crossing, t, t + border_hours, fee, transhipment),)
                    t += border_hours
                steps += (_move(link, None, t, t + hours, cost, co2),)
                total = waited + fee + transhipment + cost + self._priced(steps)
                hold = _carry(rest, until - start, to_rate)
                self.add(
                    label, succ, steps, "move", t + hours, total, co2, link.distance_km, entered,
                    hold, held,
                )  # fmt: skip
                # a later span is worth it only while waiting upstream is cheaper than after
                if (
                    not self.later
                    or until == _INF
                    or _hold_rate(label.hold, until - label.t) >= to_rate
                ):
                    break
            return
        service: Service = data["service"]
        if not q.service_ok(service):
            return
        ride = _ride_totals(self.net, service)
        if label.visited & ride.entered:
            return
        terms = q.terms
        fare = costs.ride(service, terms)
        for crossing in ride.crossings:
            fee, transhipment, _ = costs.border(crossing, terms)
            fare += fee + transhipment
        co2 = terms.tonnes * ride.kg_co2e_per_t
        to_rate = self.rate(succ[0])
        later = ""
        for departs in self._departures(label.t, service, ride):
            arrive = departs + service.transit_hours
            # The ride's own steps are laid out only for the routes returned (``raw_steps``).
            taken: tuple[RawStep, ...] = (
                ("ride", departs, arrive, fare, co2, ride.km, service, terms, self.net),
            )
            cost = fare + self._priced(taken)
            held = ()
            if departs > label.t + _EPS:
                day = WEEKDAYS[self.clock.weekday(departs)]
                when = f"{day} {service.departure_hour_utc:02d}:00 UTC"
                note = f"{later or 'next '}{service.name} departs {when}"
                waited, held, _ = self.wait(label, departs, note)
                cost += waited
            self.add(
                label, succ, taken, "service", arrive, cost, co2, ride.km, ride.entered,
                self.own(succ[0]), held,
            )  # fmt: skip
            # a later departure is worth it only while waiting before it is cheaper than after
            if not self.later or _hold_rate(label.hold, departs - label.t) >= to_rate:
                break
            later = "storage is cheaper before the ride than after it: "

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
    # (hours after departure at which the ride starts over a crossing, the crossing's open days)
    # for crossings not open every day
    gates: tuple[tuple[float, frozenset[int]], ...]
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
        gates = []
        scale = service.transit_hours / sum(
            link.hours + (c.hours if (c := network.crossing_on_link.get(link.id)) else 0.0)
            for link in links
        )
        offset = 0.0
        for link in links:
            crossing = network.crossing_on_link.get(link.id)
            if crossing is not None:
                if len(crossing.open_weekdays) < 7:
                    gates.append((offset, crossing.open_weekdays))
                offset += crossing.hours * scale
            offset += link.hours * scale
        totals = _RideTotals(
            crossings=tuple(c for c in crossings if c is not None),
            gates=tuple(gates),
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


@dataclass(frozen=True)
class Found:
    """What a search completed: complete labels (best first, or the Pareto set), and whether
    it ran to its end (``exact``) or was stopped first."""

    labels: list[Label]
    exact: bool


def search_found(query: Query) -> Found:
    """Complete labels at the destination: the optimum first, or the Pareto set for ``pareto``.

    A search ended by ``query.stop`` returns what it completed so far (``exact`` false), or
    raises ``StoppedError`` when it completed nothing.
    """
    run = _Search(query)
    finals = run.run()
    if run.stopped and not finals:
        raise StoppedError(
            f"the route search stopped after {run.expanded:,} labels, before it found a route"
        )
    labels = pareto_filter(finals) if query.pareto else sorted(finals, key=query.final_value)
    return Found(labels, not run.stopped)


def search(query: Query) -> list[Label]:
    """The labels of :func:`search_found`."""
    return search_found(query).labels


def pareto_filter(labels: list[Label]) -> list[Label]:
    """Labels non-dominated in (cost, arrival), fastest first."""
    front: list[Label] = []
    for label in sorted(labels, key=lambda lb: (lb.t, lb.cost)):
        if not front or label.cost < front[-1].cost - 1e-6:
            front.append(label)
    return front


def build_route(query: Query, label: Label, objective: str, *, exact: bool = True) -> Route:
    """Turn a complete label into a Route with real timestamps."""
    net = query.network
    steps = _to_steps(query.ready, label.raw_steps(net, query.terms))
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
        exact=exact,
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
