"""Property tests on random queries over the bundled network (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphs import Network, load_network
from graphs.errors import NoRouteError
from routing.model import Cargo, Shipment
from routing.routes import Avoid, find_routes
from routing.stopping import Stop, StoppedError
from tests.oracle import check_route
from tests.profiles import examples
from tests.test_bundled import CENTRAL_ASIA, CHINESE_ORIGINS, EUROPEAN_TERMINALS

NET: Network = load_network()
DESTINATIONS = CENTRAL_ASIA + EUROPEAN_TERMINALS + ["Zhanatas wind", "Zarafshan", "Tbilisi"]
DESTINATIONS = [d for d in DESTINATIONS if NET.places.search(d)]

origins = st.sampled_from(CHINESE_ORIGINS)
destinations = st.sampled_from(DESTINATIONS)
readies = st.integers(0, 24 * 120).map(
    lambda h: datetime(2026, 12, 1, tzinfo=UTC) + timedelta(hours=h)
)
containers = st.builds(Cargo, teu=st.integers(1, 60).map(float))
objectives = st.sampled_from(["cost", "time", "co2e", "balanced"])
countries = st.sampled_from(["RU", "BY", "KZ", "KG", "MN", "AZ", "UZ"])


def shipment(origin: str, destination: str, cargo: Cargo, ready: datetime) -> Shipment:
    return Shipment(origin, destination, cargo, ready=ready, value_usd=500_000)


# Each search gets a budget: the properties hold for whatever routes a search returns, proven
# best or not, and a few slow alternatives or Pareto searches on the large pack must not take
# the suite's time. A search that found nothing in its budget proves nothing either way.
BUDGET_S = 5.0


@settings(max_examples=examples(40))
@given(origins, destinations, containers, readies, objectives)
def test_totals_equal_steps_and_match_the_network(
    origin: str, destination: str, cargo: Cargo, ready: datetime, objective: str
) -> None:
    try:
        routes = find_routes(
            NET,
            shipment(origin, destination, cargo, ready),
            objective,  # type: ignore[arg-type]
            1,
            stop=Stop(BUDGET_S),
        )
    except StoppedError:
        return
    for route in routes:
        check_route(NET, route, cargo)


@settings(max_examples=examples(30))
@given(origins, destinations, readies, countries)
def test_an_avoided_country_never_appears(
    origin: str, destination: str, ready: datetime, country: str
) -> None:
    ship = shipment(origin, destination, Cargo(teu=2), ready)
    if NET.resolve(destination).country == country:
        return
    try:
        routes = find_routes(
            NET, ship, alternatives=2, avoid=Avoid.of(countries=[country]), stop=Stop(BUDGET_S)
        )
    except NoRouteError as exc:
        assert exc.reason
        return
    except StoppedError:
        return
    for route in routes:
        assert country not in route.countries
        assert all(NET.nodes[s.node].country != country for s in route.steps if s.node)


@settings(max_examples=examples(25))
@given(origins, destinations, readies, st.sampled_from(["rail", "road", "sea"]))
def test_an_avoided_mode_never_appears(
    origin: str, destination: str, ready: datetime, mode: str
) -> None:
    try:
        routes = find_routes(
            NET,
            shipment(origin, destination, Cargo(teu=2), ready),
            avoid=Avoid.of(modes=[mode]),
            stop=Stop(BUDGET_S),
        )
    except (NoRouteError, StoppedError):
        return
    assert mode not in routes[0].modes


@settings(max_examples=examples(30))
@given(origins, destinations, readies)
def test_time_no_slower_cost_no_dearer(origin: str, destination: str, ready: datetime) -> None:
    ship = shipment(origin, destination, Cargo(teu=4), ready)
    try:
        cheap = find_routes(NET, ship, "cost", stop=Stop(BUDGET_S))[0]
        fast = find_routes(NET, ship, "time", stop=Stop(BUDGET_S))[0]
    except StoppedError:
        return
    if not (cheap.exact and fast.exact):
        return  # only proven optima are comparable
    assert fast.transit_hours <= cheap.transit_hours + 1e-6
    assert cheap.cost_usd <= fast.cost_usd + 1e-6


@settings(max_examples=examples(20))
@given(origins, destinations, readies)
def test_pareto_routes_do_not_dominate_each_other(
    origin: str, destination: str, ready: datetime
) -> None:
    ship = shipment(origin, destination, Cargo(teu=4), ready)
    try:
        front = find_routes(NET, ship, pareto=True, stop=Stop(BUDGET_S))
    except StoppedError:
        return
    for a in front:
        for b in front:
            if a is not b:
                assert not (
                    a.cost_usd <= b.cost_usd + 1e-6 and a.transit_hours <= b.transit_hours + 1e-6
                )


@settings(max_examples=examples(15))
@given(origins, destinations, readies, objectives)
def test_same_query_same_answer(origin: str, destination: str, ready: datetime, obj: str) -> None:
    ship = shipment(origin, destination, Cargo(teu=3), ready)
    try:
        one = find_routes(NET, ship, obj, 2, stop=Stop(BUDGET_S))  # type: ignore[arg-type]
        two = find_routes(NET, ship, obj, 2, stop=Stop(BUDGET_S))  # type: ignore[arg-type]
    except StoppedError:
        return
    if not all(r.exact for r in [*one, *two]) or len(one) != len(two):
        return  # a search cut short by its budget may stop at another label or alternative
    first = [r.to_dict() for r in one]
    second = [r.to_dict() for r in two]
    assert first == second


@pytest.mark.parametrize(
    ("origin", "destination"),
    [("Baiyin", "Zarafshan"), ("Urumqi", "Bukhara"), ("Lanzhou", "Nukus")],
)
def test_blade_takes_the_road_over_the_border(origin: str, destination: str) -> None:
    """77 m blades move by road (corridor facts: every documented 60 m+ blade did)."""
    blade = Cargo(pieces=1, length_m=77, width_m=4.2, height_m=4.5, weight_t=25)
    routes = find_routes(
        NET, Shipment(origin, destination, blade, ready="2026-12-01"), alternatives=2
    )
    best = routes[0]
    check_route(NET, best, blade)
    crossing_modes = {NET.crossings[c].mode for c in best.crossings}
    assert crossing_modes == {"road"}
    assert any(
        c.startswith(("khorgos", "irkeshtam", "alashankou", "torugart")) for c in best.crossings
    )
