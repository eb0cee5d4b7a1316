"""An independent recomputation of a route from the network records and its steps, and a brute
force that enumerates every route of a small network with every choice of waiting.

Written from the data-pack README's model, not from ``routing.costs``: if the solver's sums and
these disagree, one of them is wrong.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from graphs import Network
from graphs.records import Node
from routing.model import Cargo
from routing.route import Route

TOL_USD = 0.02
TOL_KG = 0.01


def teu_equivalent(net: Network, cargo: Cargo) -> float:
    p = net.parameters
    if cargo.teu is not None:
        return cargo.teu
    assert cargo.pieces and cargo.length_m and cargo.width_m and cargo.weight_t
    area = cargo.length_m * cargo.width_m / p.teu_floor_m2
    return cargo.pieces * max(area, cargo.weight_t / p.teu_max_gross_t)


def tonnes(net: Network, cargo: Cargo) -> float:
    if cargo.teu is not None:
        return cargo.weight_t or cargo.teu * net.parameters.default_teu_gross_t
    assert cargo.pieces and cargo.weight_t
    return cargo.pieces * cargo.weight_t


def check_route(net: Network, route: Route, cargo: Cargo) -> None:
    """Assert every step's figures follow from the network, and totals from the steps."""
    teu = teu_equivalent(net, cargo)
    t = tonnes(net, cargo)
    steps = route.steps
    assert steps, "a route has steps"
    assert steps[0].start == route.ready
    for a, b in itertools.pairwise(steps):
        assert abs((b.start - a.end).total_seconds()) < 1e-3, "steps are contiguous in time"
    at = route.origin
    ride_cost: dict[str, float] = {}
    for i, step in enumerate(steps):
        assert step.end >= step.start
        hours = step.hours
        if step.kind == "move":
            link = net.links[step.link or ""]
            assert link.from_node == at, f"move starts where the cargo is ({at})"
            at = link.to_node
            assert step.distance_km == link.distance_km
            factor = net.emission_factors[link.emission_class].kg_co2e_per_tkm
            assert abs(step.co2e_kg - t * link.distance_km * factor) < TOL_KG
            if step.service:
                service = net.services[step.service]
                assert link.id in service.links
                ride_cost[step.service] = ride_cost.get(step.service, 0.0) + step.cost_usd
            else:
                assert abs(hours - link.distance_km / link.speed_kmh) < 1e-3
                if cargo.teu is not None:
                    expected = teu * (link.usd_per_teu + link.usd_per_teu_km * link.distance_km)
                    assert abs(step.cost_usd - expected) < TOL_USD
                else:
                    assert cargo.length_m and cargo.width_m and cargo.height_m and cargo.weight_t
                    assert link.max_length_m is None or cargo.length_m <= link.max_length_m
                    assert link.max_width_m is None or cargo.width_m <= link.max_width_m
                    assert link.max_height_m is None or cargo.height_m <= link.max_height_m
                    assert link.max_piece_t is None or cargo.weight_t <= link.max_piece_t
                    per_piece = max(cargo.weight_t, net.parameters.piece_min_chargeable_t)
                    base = cargo.pieces * per_piece * link.distance_km
                    base *= link.usd_per_t_km
                    assert step.cost_usd >= base - TOL_USD, "pieces pay at least the t-km rate"
        elif step.kind == "border":
            crossing = net.crossings[step.crossing or ""]
            assert crossing.from_node == at
            following = steps[i + 1]
            assert following.kind == "move" and following.link
            assert net.crossing_on_link[following.link].id == crossing.id
            expected = crossing.fee_usd_per_teu * teu
            if crossing.gauge_change:
                expected += crossing.transhipment_usd_per_teu * teu
            assert abs(step.cost_usd - expected) < TOL_USD
            assert abs(step.transhipment_usd - (expected - crossing.fee_usd_per_teu * teu)) < 0.02
            if not following.service:
                assert abs(hours - crossing.dwell_hours - crossing.transhipment_hours) < 1e-3
                day = step.start.weekday()
                if step.start.time() == datetime.min.time():  # midnight ends the day before too
                    assert {day, (day - 1) % 7} & crossing.open_weekdays
                else:
                    assert day in crossing.open_weekdays
        elif step.kind == "handle":
            node = net.nodes[step.node or ""]
            assert node.id == at
            assert abs(step.cost_usd - node.handling_usd_per_teu * teu) < TOL_USD
            assert abs(hours - node.handling_hours) < 1e-3
        else:
            node = net.nodes[step.node or ""]
            assert node.id == at
            expected = node.storage_usd_per_teu_day * teu * hours / 24
            assert abs(step.cost_usd - expected) < TOL_USD
    assert at == route.destination
    for service_id, cost in ride_cost.items():
        assert abs(cost - net.services[service_id].usd_per_teu * teu) < TOL_USD
    total_hours = sum(s.hours for s in steps)
    assert abs((route.arrive - route.ready) - timedelta(hours=total_hours)) < timedelta(seconds=1)
    data = route.to_dict()
    totals = data["totals"]
    assert abs(totals["cost_usd"] - sum(s["cost_usd"] for s in data["steps"])) < 0.01 * len(steps)
    assert abs(totals["co2e_kg"] - sum(s["co2e_kg"] for s in data["steps"])) < 0.01 * len(steps)
    assert abs(sum(data["cost_breakdown_usd"].values()) - totals["cost_usd"]) < 0.05
    assert abs(sum(data["time_breakdown_hours"].values()) - totals["transit_hours"]) < 0.01
    assert totals["border_crossings"] == sum(1 for s in steps if s.kind == "border")


# -- brute force: every route of a small network, with every choice of waiting -------------------

HORIZON_H = 6 * 168
"""Hours after ready that the enumeration covers (whole hours; see ``enumerate_routes``)."""


@dataclass(frozen=True)
class Outcome:
    """One way to arrive: door-to-door hours, cost and CO2e, and the path taken."""

    hours: int
    cost_usd: float
    co2e_kg: float
    path: tuple[str, ...]


@dataclass(frozen=True)
class _Leg:
    """One step of a path: what it costs and emits, how long it takes, when it may start."""

    name: str
    place: str  # where the cargo is (and may wait) before the leg
    cost_usd: float
    co2e_kg: float
    hours: float
    may_start: Callable[[Hours], Mask]


Hours = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]
_ANY_TIME: Callable[[Hours], Mask] = lambda h: np.ones(h.shape, dtype=bool)  # noqa: E731


def _weekday(week_offset_h: int, hours: npt.NDArray[np.float64] | Hours) -> npt.NDArray[np.int64]:
    return ((week_offset_h + hours) // 24).astype(np.int64) % 7


def _on(days: frozenset[int]) -> npt.NDArray[np.bool_]:
    return np.array([d in days for d in range(7)])


def _open_at(
    open_days: npt.NDArray[np.bool_], week_offset_h: int, hours: npt.NDArray[np.float64] | Hours
) -> Mask:
    """A start on an open day; a day runs from 00:00 to 24:00, both ends included."""
    midnight = (week_offset_h + hours) % 24 < 1e-7
    return open_days[_weekday(week_offset_h, hours)] | (
        midnight & open_days[_weekday(week_offset_h, hours - 1)]
    )


def _legs_from(
    net: Network, place: str, mode: str, teu: float, t: float, week: int
) -> Iterator[tuple[_Leg, str, str, tuple[str, ...]]]:
    """Moves and rides from ``(place, mode)``: the leg, the place and mode it reaches, and the
    places it enters. Figures from the data-pack README's model, not from ``routing.costs``."""
    for link in net.links.values():
        if link.from_node != place or link.mode != mode:
            continue
        factor = net.emission_factors[link.emission_class].kg_co2e_per_tkm
        cost = teu * (link.usd_per_teu + link.usd_per_teu_km * link.distance_km)
        hours = link.distance_km / link.speed_kmh
        crossing = next(
            (
                c
                for c in net.crossings.values()
                if (c.from_node, c.to_node, c.mode) == (link.from_node, link.to_node, link.mode)
            ),
            None,
        )
        days: frozenset[int] = frozenset(range(7))
        if crossing is not None:
            cost += teu * crossing.fee_usd_per_teu
            if crossing.gauge_change:
                cost += teu * crossing.transhipment_usd_per_teu
            hours += crossing.dwell_hours + crossing.transhipment_hours
            days = crossing.open_weekdays
        open_days = _on(days)
        leg = _Leg(
            link.id,
            place,
            cost,
            t * link.distance_km * factor,
            hours,
            lambda h, open_=open_days: _open_at(open_, week, h),  # type: ignore[misc]
        )
        yield leg, link.to_node, mode, (link.to_node,)
    for service in net.services.values():
        if service.stops[0] != place or service.mode != mode:
            continue
        links = [net.links[k] for k in service.links]
        crossings = [
            next(
                (
                    c
                    for c in net.crossings.values()
                    if (c.from_node, c.to_node, c.mode) == (k.from_node, k.to_node, k.mode)
                ),
                None,
            )
            for k in links
        ]
        nominal = sum(k.distance_km / k.speed_kmh for k in links)
        nominal += sum(c.dwell_hours + c.transhipment_hours for c in crossings if c)
        scale = service.transit_hours / nominal
        gates: list[tuple[float, frozenset[int]]] = []
        at = 0.0
        cost = teu * service.usd_per_teu
        co2 = 0.0
        for link, crossing in zip(links, crossings, strict=True):
            if crossing is not None:
                gates.append((at, crossing.open_weekdays))
                at += (crossing.dwell_hours + crossing.transhipment_hours) * scale
                cost += teu * crossing.fee_usd_per_teu
                if crossing.gauge_change:
                    cost += teu * crossing.transhipment_usd_per_teu
            at += link.distance_km / link.speed_kmh * scale
            co2 += t * link.distance_km * net.emission_factors[link.emission_class].kg_co2e_per_tkm
        slots = np.zeros(168, dtype=bool)
        for day in service.weekdays:
            slots[day * 24 + service.departure_hour_utc] = True

        def departs(
            h: Hours, slots: Mask = slots, gates: list[tuple[float, frozenset[int]]] = gates
        ) -> Mask:
            mask = slots[(week + h) % 168]
            for offset, days in gates:
                mask &= _open_at(_on(days), week, h + offset)
            return mask

        leg = _Leg(service.id, place, cost, co2, service.transit_hours, departs)
        yield leg, service.stops[-1], mode, service.stops[1:]


def enumerate_routes(
    net: Network, origin: str, destination: str, ready: datetime, teu: int
) -> list[Outcome]:
    """Every way from ``origin`` to ``destination`` for ``teu`` containers ready at ``ready``.

    Paths: load at the origin, moves, rides and mode changes (at most one per place, none right
    after loading), never entering a place twice, ending at the first arrival at the
    destination, unloaded there. Times: whole hours, the cargo waiting any number of hours at any
    place before any leg (at that place's storage rate); a leg over a crossing starts on an open
    day, a ride at a departure and over each crossing on an open day. All figures of the
    generated networks are whole hours, and a cheapest schedule of a path solves a linear program
    with difference constraints and whole-hour bounds, so whole-hour waits lose nothing.
    """
    week = ready.weekday() * 24 + ready.hour
    tonnes = teu * net.parameters.default_teu_gross_t
    modes_at: dict[str, set[str]] = {}
    for link in net.links.values():
        modes_at.setdefault(link.from_node, set()).add(link.mode)
        modes_at.setdefault(link.to_node, set()).add(link.mode)
    out: list[Outcome] = []
    start = net.nodes[origin]
    end = net.nodes[destination]

    def walk(
        place: str,
        mode: str,
        may_change: bool,
        seen: frozenset[str],
        legs: tuple[_Leg, ...],
        co2: float,
    ) -> None:
        if place == destination:
            if mode in end.modes:
                _schedule(net, legs, start, end, teu, co2, out)
            return
        node = net.nodes[place]
        if may_change:
            for other in sorted(modes_at[place]):
                if other != mode and {mode, other} <= node.modes:
                    change = _Leg(
                        f"{mode}>{other}@{place}",
                        place,
                        teu * node.handling_usd_per_teu,
                        0.0,
                        node.handling_hours,
                        _ANY_TIME,
                    )
                    walk(place, other, False, seen, (*legs, change), co2)
        for leg, to, to_mode, entered in _legs_from(net, place, mode, teu, tonnes, week):
            if seen.intersection(entered):
                continue
            walk(to, to_mode, True, seen | set(entered), (*legs, leg), co2 + leg.co2e_kg)

    for mode in sorted(modes_at.get(origin, ())):
        if mode in start.modes:
            load = _Leg(
                f"load {mode}",
                origin,
                teu * start.handling_usd_per_teu,
                0.0,
                start.handling_hours,
                _ANY_TIME,
            )
            walk(origin, mode, False, frozenset({origin}), (load,), 0.0)
    return out


def _schedule(
    net: Network,
    legs: tuple[_Leg, ...],
    start: Node,
    end: Node,
    teu: int,
    co2: float,
    out: list[Outcome],
) -> None:
    """The cheapest cost of arriving at each whole hour along one path (a DP over hours)."""
    hours = np.arange(HORIZON_H + 1, dtype=np.int64)
    cost = np.full(HORIZON_H + 1, math.inf)
    cost[0] = 0.0
    for leg in legs:
        rate = net.nodes[leg.place].storage_usd_per_teu_day * teu / 24
        # waiting: being there at h costs at most being there at h' < h plus the storage between
        cost = np.minimum.accumulate(cost - rate * hours) + rate * hours
        cost[np.isnan(cost)] = math.inf
        after = np.full(HORIZON_H + 1, math.inf)
        assert abs(leg.hours - round(leg.hours)) < 1e-9, "generated legs take whole hours"
        shift = round(leg.hours)
        if shift <= HORIZON_H:
            start = np.where(leg.may_start(hours), cost, math.inf)[: HORIZON_H + 1 - shift]
            after[shift:] = start + leg.cost_usd
        cost = after
    unload = teu * end.handling_usd_per_teu
    path = tuple(leg.name for leg in legs)
    shift = round(end.handling_hours)
    for h in np.flatnonzero(np.isfinite(cost)):
        if h + shift <= HORIZON_H:
            out.append(Outcome(int(h + shift), float(cost[h]) + unload, co2, path))


def pareto_front(outcomes: list[Outcome]) -> list[tuple[float, float]]:
    """(hours, cost) non-dominated, fastest first."""
    front: list[tuple[float, float]] = []
    for o in sorted(outcomes, key=lambda o: (o.hours, o.cost_usd)):
        if not front or o.cost_usd < front[-1][1] - 1e-6:
            front.append((o.hours, o.cost_usd))
    return front


def objective_keys(
    vot: float, carbon: float
) -> dict[str, Callable[[Outcome], tuple[float, float]]]:
    """Each objective's sort key of an enumerated outcome, with the engine's tie-break."""
    return {
        "cost": lambda o: (o.cost_usd, o.hours),
        "time": lambda o: (o.hours, o.cost_usd),
        "co2e": lambda o: (o.co2e_kg, o.hours),
        "balanced": lambda o: (
            o.cost_usd + carbon * o.co2e_kg / 1000 + vot * o.hours / 24,
            o.hours,
        ),
    }
