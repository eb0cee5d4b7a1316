"""Routing one shipment on the tiny pack, checked against the independent oracle."""

from __future__ import annotations

import pytest

from graphs import Network
from graphs.errors import InputError, NoRouteError
from routing.model import Cargo, Shipment
from routing.routes import Avoid, find_routes
from tests.oracle import check_route

SATURDAY = "2026-12-05"
MONDAY = "2026-12-07"


def ship(ready: str = SATURDAY, **cargo: float) -> Shipment:
    return Shipment("alpha", "delta", Cargo(**cargo) if cargo else Cargo(teu=2), ready=ready)


@pytest.mark.parametrize("objective", ["cost", "time", "co2e", "balanced"])
def test_every_objective_passes_the_oracle(tiny: Network, objective: str) -> None:
    routes = find_routes(tiny, ship(), objective=objective, alternatives=2)  # type: ignore[arg-type]
    assert routes
    for route in routes:
        check_route(tiny, route, Cargo(teu=2))


def test_cheapest_waits_for_the_monday_train(tiny: Network) -> None:
    best = find_routes(tiny, ship(SATURDAY))[0]
    waits = [s for s in best.steps if s.kind == "wait"]
    assert waits and "block train departs Mon" in waits[0].note
    assert any(s.service == "alpha-gamma-train" for s in best.steps)


def test_weekday_changes_the_answer_and_says_why(tiny: Network) -> None:
    saturday = find_routes(
        tiny, ship(SATURDAY), objective="time", avoid=Avoid.of(crossings=["tiny-rail"])
    )[0]
    tuesday = find_routes(
        tiny, ship("2026-12-08"), objective="time", avoid=Avoid.of(crossings=["tiny-rail"])
    )[0]
    closed = [s for s in saturday.steps if s.kind == "wait"]
    assert closed and "opens Mon/Tue/Wed/Thu/Fri only" in closed[0].note
    assert not [s for s in tuesday.steps if s.kind == "wait"]
    assert saturday.transit_hours > tuesday.transit_hours


def test_gauge_change_costs_transhipment(tiny: Network) -> None:
    best = find_routes(tiny, ship(MONDAY), avoid=Avoid.of(crossings=["tiny-road"]))[0]
    border = [s for s in best.steps if s.kind == "border"]
    assert border[0].crossing == "tiny-rail"
    assert border[0].transhipment_usd == pytest.approx(200 * 2)
    assert best.to_dict()["cost_breakdown_usd"]["transhipment"] == pytest.approx(400)


def test_time_is_no_slower_and_cost_no_dearer(tiny: Network) -> None:
    for ready in (SATURDAY, MONDAY, "2026-12-09"):
        cheap = find_routes(tiny, ship(ready), objective="cost")[0]
        fast = find_routes(tiny, ship(ready), objective="time")[0]
        assert fast.transit_hours <= cheap.transit_hours + 1e-6
        assert cheap.cost_usd <= fast.cost_usd + 1e-6


def test_pareto_front_is_non_dominated_and_spans_the_extremes(tiny: Network) -> None:
    front = find_routes(tiny, ship(), pareto=True)
    assert len(front) >= 2
    for a in front:
        for b in front:
            if a is not b:
                assert not (a.cost_usd <= b.cost_usd and a.transit_hours <= b.transit_hours)
    assert min(r.cost_usd for r in front) == pytest.approx(find_routes(tiny, ship())[0].cost_usd)
    fastest = find_routes(tiny, ship(), objective="time")[0]
    assert min(r.transit_hours for r in front) == pytest.approx(fastest.transit_hours)


def test_alternatives_use_other_crossings_or_modes(tiny: Network) -> None:
    routes = find_routes(tiny, ship(), alternatives=3)
    signatures = [r.signature for r in routes]
    assert len(set(signatures)) == len(signatures) >= 2


def test_avoided_mode_is_never_used(tiny: Network) -> None:
    route = find_routes(tiny, ship(), avoid=Avoid.of(modes=["rail"]))[0]
    assert route.modes == ("road",)


def test_modes_filter_and_unknown_mode(tiny: Network) -> None:
    assert find_routes(tiny, ship(), modes=["road"])[0].modes == ("road",)
    with pytest.raises(InputError, match="not a mode"):
        find_routes(tiny, ship(), modes=["air"])


def test_no_route_names_the_avoided_crossing(tiny: Network) -> None:
    with pytest.raises(NoRouteError, match="crossing tiny-rail"):
        find_routes(tiny, ship(), avoid=Avoid.of(crossings=["tiny-road", "tiny-rail"]))


def test_no_route_names_the_day_limit(tiny: Network) -> None:
    with pytest.raises(NoRouteError, match=r"fastest route takes .* days, over the 1-day limit"):
        find_routes(tiny, ship(), max_transit_days=1)


def test_no_route_names_the_cost_limit(tiny: Network) -> None:
    with pytest.raises(NoRouteError, match=r"cheapest route costs \$2,242, over the \$1,000 limit"):
        find_routes(tiny, ship(), max_cost_usd=1000)


def test_budget_within_reach_is_honoured(tiny: Network) -> None:
    fast = find_routes(tiny, ship(), objective="cost", max_transit_days=3)[0]
    assert fast.transit_days <= 3
    check_route(tiny, fast, Cargo(teu=2))


def test_long_blade_goes_by_road_with_surcharge(tiny: Network) -> None:
    blade = Cargo(pieces=3, length_m=60, width_m=4, height_m=4.5, weight_t=20)
    route = find_routes(tiny, Shipment("alpha", "delta", blade, ready=MONDAY))[0]
    assert route.modes == ("road",)
    check_route(tiny, route, blade)
    moves = [s for s in route.steps if s.kind == "move"]
    plain = 3 * 20 * moves[0].distance_km * 0.1  # 20 t pieces at the 20 t minimum
    assert moves[0].cost_usd == pytest.approx(plain * 2.5)  # road class 2: +150 %


def test_piece_too_long_everywhere_explains_the_limit(tiny: Network) -> None:
    blade = Cargo(pieces=1, length_m=100, width_m=4, height_m=4.5, weight_t=20)
    with pytest.raises(NoRouteError, match="length 100 m: the longest piece any way takes is 90 m"):
        find_routes(tiny, Shipment("alpha", "delta", blade, ready=MONDAY))


def test_piece_too_heavy_for_every_crane(tiny: Network) -> None:
    transformer = Cargo(pieces=1, length_m=10, width_m=3, height_m=4, weight_t=140)
    with pytest.raises(
        NoRouteError, match="weight 140 t: the heaviest piece any way takes is 60 t"
    ):
        find_routes(tiny, Shipment("alpha", "delta", transformer, ready=MONDAY))


def test_same_query_same_answer(tiny: Network) -> None:
    first = [r.to_dict() for r in find_routes(tiny, ship(), alternatives=3)]
    second = [r.to_dict() for r in find_routes(tiny, ship(), alternatives=3)]
    assert first == second


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"teu": -1}, "cargo.teu"),
        ({"teu": 2, "pieces": 1}, "cargo.teu"),
        ({"pieces": 1, "length_m": 10, "width_m": 3, "height_m": 3}, "cargo.weight_t"),
        ({}, "cargo"),
    ],
)
def test_bad_cargo_names_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as caught:
        Cargo(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_due_before_ready_is_rejected() -> None:
    with pytest.raises(InputError, match="due: 2026-11-01 is before ready 2026-12-01"):
        Shipment("alpha", "delta", Cargo(teu=1), ready="2026-12-01", due="2026-11-01")


def test_same_origin_and_destination_is_rejected(tiny: Network) -> None:
    with pytest.raises(InputError, match="both Alpha City"):
        find_routes(tiny, Shipment("alpha", "Alfa", Cargo(teu=1)))


def test_avoiding_the_origin_country_is_rejected(tiny: Network) -> None:
    with pytest.raises(InputError, match="itself avoided"):
        find_routes(tiny, ship(), avoid=Avoid.of(countries=["cn"]))
