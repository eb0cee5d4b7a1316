"""The waiting model, the stop and distinct alternatives, on small named networks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from graphs import Network
from graphs.network import build_network
from graphs.pack import PackTables
from graphs.records import Crossing, EmissionFactor, Link, Parameters, Service
from routing.cli import app
from routing.model import Cargo, Shipment
from routing.routes import find_routes, near_duplicate
from routing.stopping import Stop
from tests.oracle import check_route
from tests.test_oracle import FACTORS, _link, _node

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def _network(
    links: list[Link], crossings: list[Crossing] = (), services: list[Service] = ()
) -> Network:  # type: ignore[assignment]
    places = {k.from_node for k in links} | {k.to_node for k in links}
    storage = {"p0": 0.0, "p1": 480.0, "p2": 24.0, "p3": 24.0}
    nodes = [
        _node(int(p[1:]), frozenset({"rail", "road"}), storage[p], (0, 0)) for p in sorted(places)
    ]
    tables = PackTables(
        nodes=tuple(nodes),
        links=tuple(links),
        crossings=tuple(crossings),
        services=tuple(services),
        emission_factors=tuple(EmissionFactor(c, v, "estimate: test") for c, v in FACTORS.items()),
        oversize=(),
        parameters=Parameters(),
    )
    return build_network(tables, "test")


def _crossing(link: Link, days: set[int]) -> Crossing:
    return Crossing(
        id=f"x-{link.id}",
        base_id=f"x-{link.id}",
        name="Test crossing",
        from_node=link.from_node,
        to_node=link.to_node,
        mode=link.mode,
        dwell_hours=2.0,
        dwell_p90_hours=4.0,
        fee_usd_per_teu=10.0,
        gauge_change=False,
        transhipment_usd_per_teu=0.0,
        transhipment_hours=0.0,
        open_weekdays=frozenset(days),
        capacity_teu_per_week=None,
        source="estimate: test",
    )


@pytest.fixture()
def factory_border_train() -> Network:
    """A factory p0 (free storage) 5 h by road from a border post p1 (USD 480 per TEU-day),
    whose crossing to p2 opens on Thursdays only."""
    road = _link("p0", "p1", "road", 5, 100, 0.0)
    cross = _link("p1", "p2", "road", 4, 50, 0.0)
    return _network([road, cross], [_crossing(cross, {3})])


def test_the_cargo_waits_where_storage_is_cheap(factory_border_train: Network) -> None:
    ship = Shipment("p0", "p2", Cargo(teu=1), ready=MONDAY)
    best = find_routes(factory_border_train, ship)[0]
    check_route(factory_border_train, best, ship.cargo)
    waits = [step for step in best.steps if step.kind == "wait"]
    assert [step.node for step in waits] == ["p0"], "the wait is at the factory, not the border"
    assert waits[0].end.weekday() == 2 and waits[0].end.hour == 19, "leaves to arrive Thu 00:00"
    assert best.cost_breakdown()["storage"] == 0.0
    border = next(step for step in best.steps if step.kind == "border")
    assert border.start == datetime(2026, 12, 10, tzinfo=UTC)


def test_fastest_route_waits_too_but_charges_the_cheap_place(
    factory_border_train: Network,
) -> None:
    ship = Shipment("p0", "p2", Cargo(teu=1), ready=MONDAY)
    fast = find_routes(factory_border_train, ship, "time")[0]
    cheap = find_routes(factory_border_train, ship, "cost")[0]
    assert fast.arrive == cheap.arrive and fast.cost_usd == cheap.cost_usd


def test_a_train_does_not_ride_through_a_closed_border() -> None:
    """A daily train p0 -> p1 -> p2 whose crossing p1 -> p2 opens on Fridays only: it departs
    so that it reaches the border on a Friday."""
    first = _link("p0", "p1", "rail", 10, 1000, 0.0)
    second = _link("p1", "p2", "rail", 10, 1000, 0.0)
    train = Service(
        id="daily",
        name="Daily train",
        mode="rail",
        stops=("p0", "p1", "p2"),
        weekdays=frozenset(range(7)),
        departure_hour_utc=20,
        transit_hours=22.0,
        usd_per_teu=100.0,
        capacity_teu=80.0,
        source="estimate: test",
        links=(first.id, second.id),
    )
    net = _network([first, second], [_crossing(second, {4})], [train])
    ship = Shipment("p0", "p2", Cargo(teu=1), ready=MONDAY)
    best = find_routes(net, ship, modes=["rail"])[0]
    check_route(net, best, ship.cargo)
    border = next(step for step in best.steps if step.kind == "border")
    assert border.service == "daily"
    assert border.start.weekday() == 4


class _StopAfter(Stop):
    """Stops at the ``calls``-th look, whatever the clock says."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls = calls

    def __call__(self) -> bool:
        self.calls -= 1
        return self.calls < 0


def test_a_stopped_search_returns_what_it_found_marked_not_exact(bundled: Network) -> None:
    ship = Shipment("Chongqing", "Warsaw", Cargo(teu=2), ready="2026-12-01")
    full = find_routes(bundled, ship, pareto=True)
    assert all(route.exact for route in full)
    for calls in range(1, 200):
        try:
            stopped = find_routes(bundled, ship, pareto=True, stop=_StopAfter(calls))
        except TimeoutError:
            continue
        assert stopped and not any(route.exact for route in stopped)
        assert all(route.to_dict()["exact"] is False for route in stopped)
        return
    pytest.fail("no stop between 1 and 200 looks left a partial front")


def test_pareto_front_drops_near_duplicates_and_counts_the_full_front(bundled: Network) -> None:
    ship = Shipment("Xi'an", "Tashkent", Cargo(teu=4), ready="2026-12-01")
    routes = find_routes(bundled, ship, pareto=True)
    assert routes.front_size is not None and routes.front_size >= len(routes)
    for i, a in enumerate(routes):
        for b in routes[i + 1 :]:
            assert not near_duplicate(a, b)


def test_cli_time_limit_and_exact_in_json() -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["route", "Xian", "Tashkent", "--time-limit", "30", "--json", "--pareto"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["front_size"] >= len(answer["routes"]) > 0
    assert all(route["exact"] for route in answer["routes"])
    bad = runner.invoke(app, ["route", "Xian", "Tashkent", "--time-limit", "0"])
    assert bad.exit_code == 2 and "--time-limit" in bad.output
