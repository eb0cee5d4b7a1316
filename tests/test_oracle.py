"""The route search against a brute force, on small generated networks where schedules bind.

Every network has a few places in two countries, rail and road (with mode changes where a place
works both), links with crossings open on a few weekdays, scheduled services on sparse weekdays
that ride over crossings, and storage rates from nothing to dear. ``tests.oracle`` enumerates every
route with every choice of waiting; the engine's optimum must equal the enumeration's for every
objective, and its Pareto front the enumerated front.

``make test`` runs a few hundred cases; ``make fuzz`` runs thousands
(``SILKROUTE_ORACLE_EXAMPLES``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from graphs import Network
from graphs.network import build_network
from graphs.pack import PackTables
from graphs.records import Crossing, EmissionFactor, Link, Node, Parameters, Service
from routing.model import Cargo, Shipment
from routing.routes import make_query
from routing.search import build_route, search
from tests.oracle import Outcome, check_route, enumerate_routes, objective_keys, pareto_front

EXAMPLES = int(os.environ.get("SILKROUTE_ORACLE_EXAMPLES", "150"))
MONDAY = datetime(2026, 12, 7, tzinfo=UTC)
SPEED_KMH = 50.0
# kg CO2e per t-km, powers of two so that sums of routes compare exactly
FACTORS = {
    "rail_electric": 0.015625,
    "rail_diesel": 0.03125,
    "truck": 0.0625,
    "container_ship": 0.0078125,
    "ferry": 0.03125,
}


@dataclass(frozen=True)
class Case:
    """A generated network and one shipment on it."""

    network: Network
    origin: str
    destination: str
    ready: datetime
    teu: int
    value_of_time_usd_per_day: float
    carbon_price_usd_per_t: float


def _node(i: int, modes: frozenset[str], storage: float, handling: tuple[int, int]) -> Node:
    return Node(
        id=f"p{i}",
        name=f"Place {i}",
        aliases=(),
        country="AA" if i % 2 == 0 else "BB",
        kind="hub",
        lat=40.0 + i,
        lon=60.0 + i,
        modes=modes,
        handling_usd_per_teu=float(handling[0]),
        handling_hours=float(handling[1]),
        storage_usd_per_teu_day=storage,
        lift_capacity_t=None,
        source="estimate: generated",
    )


def _link(a: str, b: str, mode: str, hours: int, usd: int, per_km: float) -> Link:
    return Link(
        id=f"{a}-{b}-{mode}",
        base_id=f"{a}-{b}-{mode}",
        from_node=a,
        to_node=b,
        mode=mode,
        gauge_mm=1435 if mode == "rail" else None,
        traction="electric" if mode == "rail" else None,
        distance_km=hours * SPEED_KMH,
        speed_kmh=SPEED_KMH,
        usd_per_teu=float(usd),
        usd_per_teu_km=per_km,
        usd_per_t_km=0.1,
        capacity_teu_per_week=None,
        max_length_m=None,
        max_width_m=None,
        max_height_m=None,
        max_piece_t=None,
        source="estimate: generated",
    )


weekdays = st.frozensets(st.integers(0, 6), min_size=1, max_size=7)
sparse_weekdays = st.frozensets(st.integers(0, 6), min_size=1, max_size=3)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A network of 3-5 places with links, crossings, services and storage rates, and a query."""
    size = draw(st.integers(3, 5))
    nodes = []
    for i in range(size):
        modes = draw(st.sampled_from([{"rail"}, {"road"}, {"rail", "road"}, {"rail", "road"}]))
        storage = float(draw(st.sampled_from([0, 24, 48, 120, 480])))
        handling = draw(st.sampled_from([(0, 0), (10, 1), (30, 3), (50, 6)]))
        nodes.append(_node(i, frozenset(modes), storage, handling))
    links: dict[tuple[str, str, str], Link] = {}
    pairs = [(a, b) for a in range(size) for b in range(size) if a != b]
    chosen = draw(st.lists(st.sampled_from(pairs), min_size=size, max_size=3 * size, unique=True))
    for a, b in chosen:
        for mode in draw(st.sampled_from([["rail"], ["road"], ["rail", "road"]])):
            hours = draw(st.integers(1, 40))
            usd = draw(st.integers(0, 400))
            per_km = draw(st.sampled_from([0.0, 0.5, 1.0]))
            links[(f"p{a}", f"p{b}", mode)] = _link(f"p{a}", f"p{b}", mode, hours, usd, per_km)
    # every place needs a link of a mode it works, or a way to be reached
    for node in nodes:
        if not any(
            node.id in (k.from_node, k.to_node) and k.mode in node.modes for k in links.values()
        ):
            other = nodes[(int(node.id[1:]) + 1) % size]
            mode = sorted(node.modes)[0]
            links[(node.id, other.id, mode)] = _link(node.id, other.id, mode, 5, 100, 0.0)
    crossings = []
    for (a, b, mode), link in sorted(links.items()):
        if nodes[int(a[1:])].country != nodes[int(b[1:])].country and draw(st.booleans()):
            gauge = draw(st.booleans())
            crossings.append(
                Crossing(
                    id=f"x-{link.id}",
                    base_id=f"x-{link.id}",
                    name=f"Crossing {a}-{b} {mode}",
                    from_node=a,
                    to_node=b,
                    mode=mode,
                    dwell_hours=float(draw(st.integers(0, 30))),
                    dwell_p90_hours=40.0,
                    fee_usd_per_teu=float(draw(st.integers(0, 200))),
                    gauge_change=gauge,
                    transhipment_usd_per_teu=float(draw(st.integers(0, 100))),
                    transhipment_hours=float(draw(st.integers(0, 5))),
                    open_weekdays=draw(weekdays),
                    capacity_teu_per_week=draw(st.sampled_from([None, 50.0, 400.0])),
                    source="estimate: generated",
                )
            )
    services = []
    by_start: dict[str, list[Link]] = {}
    for link in links.values():
        by_start.setdefault(link.from_node, []).append(link)
    for i in range(draw(st.integers(0, 3))):
        first = draw(st.sampled_from(sorted(links.values(), key=lambda k: k.id)))
        path = [first]
        if draw(st.booleans()):
            onward = [
                k
                for k in by_start.get(first.to_node, [])
                if k.mode == first.mode and k.to_node != first.from_node
            ]
            if onward:
                path.append(draw(st.sampled_from(sorted(onward, key=lambda k: k.id))))
        nominal = sum(k.distance_km / k.speed_kmh for k in path)
        services.append(
            Service(
                id=f"s{i}",
                name=f"Service {i}",
                mode=first.mode,
                stops=(first.from_node, *(k.to_node for k in path)),
                weekdays=draw(sparse_weekdays),
                departure_hour_utc=draw(st.integers(0, 23)),
                transit_hours=float(max(1, round(nominal * draw(st.sampled_from([0.5, 1.0]))))),
                usd_per_teu=float(draw(st.integers(0, 600))),
                capacity_teu=80.0,
                source="estimate: generated",
                links=tuple(k.id for k in path),
            )
        )
    tables = PackTables(
        nodes=tuple(nodes),
        links=tuple(links.values()),
        crossings=tuple(crossings),
        services=tuple(services),
        emission_factors=tuple(
            EmissionFactor(cls, value, "estimate: generated") for cls, value in FACTORS.items()
        ),
        oversize=(),
        parameters=Parameters(),
    )
    network = build_network(tables, "generated")
    origin, destination = draw(
        st.lists(st.sampled_from(nodes), min_size=2, max_size=2, unique=True)
    )
    return Case(
        network=network,
        origin=origin.id,
        destination=destination.id,
        ready=MONDAY + timedelta(hours=draw(st.integers(0, 167))),
        teu=draw(st.integers(1, 3)),
        value_of_time_usd_per_day=float(draw(st.sampled_from([0, 24, 240, 2400]))),
        carbon_price_usd_per_t=float(draw(st.sampled_from([0, 1000]))),
    )


def _best(outcomes: list[Outcome], key: object) -> tuple[float, float]:
    return min(key(o) for o in outcomes)  # type: ignore[operator]


@settings(max_examples=EXAMPLES)
@given(cases())
def test_engine_optimum_equals_the_enumerated_optimum(case: Case) -> None:
    net = case.network
    outcomes = enumerate_routes(net, case.origin, case.destination, case.ready, case.teu)
    shipment = Shipment(case.origin, case.destination, Cargo(teu=case.teu), ready=case.ready)
    vot = case.value_of_time_usd_per_day
    carbon = case.carbon_price_usd_per_t
    keys = objective_keys(vot, carbon)
    for objective, key in keys.items():
        query = make_query(
            net,
            shipment,
            objective=objective,  # type: ignore[arg-type]
            value_of_time_usd_per_day=vot,
            carbon_price_usd_per_t=carbon,
        )
        labels = search(query)
        if not outcomes:
            assert not labels, f"{objective}: the engine found a route the enumeration did not"
            continue
        assert labels, f"{objective}: no route found, the enumeration has {len(outcomes)}"
        best = labels[0]
        engine = query.final_value(best)
        expected = _best(outcomes, key)
        assert abs(engine[0] - expected[0]) < 1e-6, (objective, engine, expected)
        assert abs(engine[1] - expected[1]) < 1e-6, (objective, engine, expected)
        route = build_route(query, best, objective)
        check_route(net, route, shipment.cargo)
        assert abs(route.transit_hours - best.t) < 1e-6
        assert abs(route.cost_usd - best.cost) < 1e-6


@settings(max_examples=EXAMPLES)
@given(cases())
def test_engine_pareto_front_equals_the_enumerated_front(case: Case) -> None:
    net = case.network
    outcomes = enumerate_routes(net, case.origin, case.destination, case.ready, case.teu)
    shipment = Shipment(case.origin, case.destination, Cargo(teu=case.teu), ready=case.ready)
    query = make_query(net, shipment, pareto=True)
    front = [(label.t, label.cost) for label in search(query)]
    expected = pareto_front(outcomes)
    assert len(front) == len(expected), (front, expected)
    for (t, cost), (hours, usd) in zip(front, expected, strict=True):
        assert abs(t - hours) < 1e-6 and abs(cost - usd) < 1e-6, (front, expected)
