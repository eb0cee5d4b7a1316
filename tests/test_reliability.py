"""Arrival forecasts: seeded Monte Carlo over border dwell and late services."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from graphs import Network, load_network
from graphs.errors import DataPackError, InputError, NoRouteError
from routing import Cargo, Shipment, find_routes
from routing.reliability import MAX_DRAWS, Lognormal, forecast_arrival, most_reliable
from routing.route import Route
from routing.routes import Avoid

READY = datetime(2026, 12, 1, tzinfo=UTC)


def _append(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")


@pytest.fixture()
def relay(tiny_copy: Path) -> Network:
    """The tiny pack plus a Friday train from Gamma on to Epsilon (on-demand wagons there crawl):
    cargo trucked over the weekday-only road crossing must reach Gamma before the train leaves,
    or wait a week for the next one."""
    _append(
        tiny_copy / "nodes.csv",
        "epsilon,Epsilon Yard,,KZ,rail_terminal,43.0,74.0,rail;road,80,3,8,100,estimate: test",
    )
    _append(
        tiny_copy / "links.csv",
        "gamma-eps-rail,gamma,epsilon,rail,1520,diesel,250,0.5,100,0.5,0.05,,30,3.4,5,120,"
        "false,estimate: test",
    )
    _append(
        tiny_copy / "services.csv",
        "gamma-eps-train,Gamma-Epsilon train,rail,gamma;epsilon,Fri,6,10,100,100,estimate: test",
    )
    return load_network(tiny_copy)


def _relay_route(net: Network, ready: datetime) -> Route:
    ship = Shipment("alpha", "epsilon", Cargo(teu=1), ready=ready)
    return find_routes(
        net, ship, avoid=Avoid.of(crossings=["tiny-rail"], modes=[]), objective="time"
    )[0]


def _slack_before_train(route: Route) -> float:
    """Hours the planned route waits at Gamma for the train."""
    for before, step in zip(route.steps, route.steps[1:], strict=False):
        if step.service == "gamma-eps-train":
            return before.hours if before.kind == "wait" else 0.0
    raise AssertionError("the route does not ride the Gamma-Epsilon train")


def test_a_late_truck_misses_the_weekly_train_as_often_as_its_dwell_says(relay: Network) -> None:
    # Find a ready time whose truck reaches Gamma 5-30 h before the Friday train.
    for hours in range(0, 168, 2):
        route = _relay_route(relay, READY + timedelta(hours=hours))
        slack = _slack_before_train(route)
        if 5 <= slack <= 30:
            break
    else:
        raise AssertionError("no ready time gives a slack of 5-30 h")
    dwell = Lognormal(10, 30)  # the tiny road crossing's median and 90th percentile
    z = math.log((10 + slack) / 10) / dwell.sigma
    p_miss = 0.5 * math.erfc(z / math.sqrt(2))
    forecast = forecast_arrival(relay, route, due=route.arrive, draws=40_000, seed=7)
    assert forecast.on_time_probability == pytest.approx(1 - p_miss, abs=0.01)
    # A missed train costs whole weeks: every draw arrives on the plan or k weeks after it.
    for days in set(forecast.transit_days):
        weeks = (days * 24 - route.transit_hours) / 168
        assert weeks == pytest.approx(round(weeks), abs=1e-6) and weeks > -1e-9


def test_without_variability_every_draw_is_the_plan(tiny_copy: Path) -> None:
    crossings = tiny_copy / "crossings.csv"
    text = crossings.read_text(encoding="utf-8")
    crossings.write_text(text.replace(",24,48,", ",24,24,").replace(",10,30,", ",10,10,"))
    net = load_network(tiny_copy)
    route = find_routes(net, Shipment("alpha", "delta", Cargo(teu=2), ready=READY))[0]
    forecast = forecast_arrival(net, route, due=route.arrive, draws=50, seed=3)
    assert forecast.p10 == forecast.p50 == forecast.p90
    assert abs((forecast.p50 - route.arrive).total_seconds()) < 1
    assert forecast.on_time_probability == 1.0


def test_same_seed_same_forecast_and_percentiles_are_ordered(bundled: Network) -> None:
    ship = Shipment("Xi'an", "Tbilisi", Cargo(teu=2), ready="2026-12-02")
    route = find_routes(bundled, ship, modes=["rail", "ferry"], avoid=Avoid.of(countries=["RU"]))[0]
    due = route.arrive + timedelta(days=2)
    a = forecast_arrival(bundled, route, due=due, draws=500, seed=11)
    b = forecast_arrival(bundled, route, due=due, draws=500, seed=11)
    c = forecast_arrival(bundled, route, due=due, draws=500, seed=12)
    assert a == b
    assert a.transit_days != c.transit_days
    assert a.p10 <= a.p50 <= a.p90
    later = forecast_arrival(bundled, route, due=due + timedelta(days=5), draws=500, seed=11)
    assert a.on_time_probability is not None and later.on_time_probability is not None
    assert later.on_time_probability >= a.on_time_probability
    assert a.to_dict()["on_time_probability"] == round(a.on_time_probability, 4)


def test_the_caspian_route_is_less_certain_than_the_direct_train(bundled: Network) -> None:
    """A ferry that sails when full spreads arrivals wider than a block train to Almaty."""

    def band_days(destination: str, modes: list[str]) -> float:
        ship = Shipment("Xi'an", destination, Cargo(teu=2), ready="2026-12-02")
        route = find_routes(bundled, ship, modes=modes, avoid=Avoid.of(countries=["RU"]))[0]
        f = forecast_arrival(bundled, route, draws=2000, seed=1)
        return (f.p90 - f.p10).total_seconds() / 86400

    assert band_days("Tbilisi", ["rail", "ferry"]) > 1.5 * band_days("Almaty", ["rail"])


def test_most_reliable_is_the_cheapest_candidate_that_is_sure_enough(bundled: Network) -> None:
    ship = Shipment("Xi'an", "Tashkent", Cargo(teu=2), ready="2026-12-02")
    candidates = find_routes(bundled, ship, alternatives=3)
    due = min(r.arrive for r in candidates) + timedelta(days=4)
    chosen = most_reliable(bundled, candidates, due=due, on_time=0.6, draws=800, seed=5)
    assert chosen is not None
    route, forecast = chosen
    assert forecast.on_time_probability is not None and forecast.on_time_probability >= 0.6
    for other in candidates:
        f = forecast_arrival(bundled, other, due=due, draws=800, seed=5)
        if (f.on_time_probability or 0) >= 0.6:
            assert route.cost_usd <= other.cost_usd
    too_soon = candidates[0].ready + timedelta(days=1)
    assert most_reliable(bundled, candidates, due=too_soon, on_time=0.99, draws=100) is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"draws": 0}, "draws"),
        ({"draws": MAX_DRAWS + 1}, "draws"),
        ({"draws": True}, "draws"),
        ({"seed": -1}, "seed"),
        ({"due": datetime(2020, 1, 1, tzinfo=UTC)}, "due"),
    ],
)
def test_bad_forecast_options_name_the_field(
    bundled: Network, kwargs: dict[str, object], field: str
) -> None:
    route = find_routes(bundled, Shipment("Urumqi", "Almaty", Cargo(teu=1), ready=READY))[0]
    with pytest.raises(InputError) as caught:
        forecast_arrival(bundled, route, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize("on_time", [0.0, 1.0, -0.5, 2.0])
def test_a_probability_outside_zero_one_is_refused(bundled: Network, on_time: float) -> None:
    route = find_routes(bundled, Shipment("Urumqi", "Almaty", Cargo(teu=1), ready=READY))[0]
    with pytest.raises(InputError, match="probability"):
        most_reliable(bundled, [route], due=route.arrive, on_time=on_time)


def test_a_required_probability_needs_a_due_date(bundled: Network) -> None:
    route = find_routes(bundled, Shipment("Urumqi", "Almaty", Cargo(teu=1), ready=READY))[0]
    with pytest.raises(InputError, match="due date"):
        most_reliable(bundled, [route], due=None, on_time=0.9)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("nowhere-train,1,2,estimate: test", "neither a service id"),
        ("rail,5,2,estimate: test", "median <= 90th percentile"),
        ("rail,0,2,estimate: test", "or both 0"),
    ],
)
def test_bad_delay_rows_name_file_line_and_column(tiny_copy: Path, row: str, message: str) -> None:
    (tiny_copy / "service_delays.csv").write_text(
        "applies_to,delay_p50_hours,delay_p90_hours,source\n" + row + "\n", encoding="utf-8"
    )
    with pytest.raises(DataPackError, match=message) as caught:
        load_network(tiny_copy)
    assert caught.value.file == "service_delays.csv" and caught.value.line == 2


def test_lognormal_matches_its_median_and_90th_percentile() -> None:
    import numpy as np

    draws = Lognormal(34.8, 72).draw(np.random.default_rng(0), 200_000)
    assert float(np.median(draws)) == pytest.approx(34.8, rel=0.02)
    assert float(np.quantile(draws, 0.9)) == pytest.approx(72, rel=0.02)
    with pytest.raises(ValueError):
        Lognormal(5, 2)


def test_every_route_carries_its_forecast_in_json(bundled: Network) -> None:
    ship = Shipment("Xi'an", "Almaty", Cargo(teu=2), ready="2026-12-02", due="2026-12-12")
    routes = find_routes(bundled, ship, alternatives=2, draws=300, seed=2)
    assert all(route.forecast is not None for route in routes)
    data = routes[0].to_dict()["arrival_forecast"]
    assert data["draws"] == 300 and data["seed"] == 2
    assert data["due"] == "2026-12-12T00:00:00Z"
    assert 0 <= data["on_time_probability"] <= 1
    assert data["transit_days_p10"] <= data["transit_days_p50"] <= data["transit_days_p90"]
    again = find_routes(bundled, ship, alternatives=2, draws=300, seed=2)[0]
    assert again.to_dict()["arrival_forecast"] == data


def test_the_reliable_objective_buys_certainty_only_when_asked(bundled: Network) -> None:
    ship = Shipment("Xi'an", "Tbilisi", Cargo(teu=2), ready="2026-12-02", due="2026-12-24")
    cheapest = find_routes(bundled, ship, objective="cost", draws=500)[0]
    sure = find_routes(bundled, ship, objective="reliable", on_time=0.9, draws=500)[0]
    assert sure.forecast is not None and sure.forecast.on_time_probability is not None
    assert sure.forecast.on_time_probability >= 0.9
    assert sure.cost_usd >= cheapest.cost_usd - 1e-6
    assert sure.objective == "reliable"


def test_an_unreachable_certainty_says_how_sure_the_best_route_is(bundled: Network) -> None:
    ship = Shipment("Xi'an", "Tbilisi", Cargo(teu=2), ready="2026-12-02", due="2026-12-10")
    with pytest.raises(NoRouteError, match="non-dominated in cost and time gets there"):
        find_routes(bundled, ship, objective="reliable", on_time=0.99, draws=300)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"on_time": 1.0}, "on_time"), ({"on_time": 0}, "on_time"), ({"draws": 0}, "draws"),
     ({"draws": True}, "draws"), ({"seed": -1}, "seed")],
)  # fmt: skip
def test_forecast_options_are_validated_with_the_others(
    bundled: Network, kwargs: dict[str, object], field: str
) -> None:
    ship = Shipment("Urumqi", "Almaty", Cargo(teu=1), ready="2026-12-02", due="2026-12-10")
    with pytest.raises(InputError) as caught:
        find_routes(bundled, ship, objective="reliable", **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_reliable_with_a_probability_needs_a_due_date(bundled: Network) -> None:
    ship = Shipment("Urumqi", "Almaty", Cargo(teu=1), ready="2026-12-02")
    with pytest.raises(InputError, match="due date"):
        find_routes(bundled, ship, objective="reliable", on_time=0.8)
