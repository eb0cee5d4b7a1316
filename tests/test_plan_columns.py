"""Column generation: the proven bound, routes the candidate corridors miss, lots, settings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphs import Network, load_network
from graphs.errors import InputError
from graphs.export import network_to_dict
from routing.model import Cargo, Shipment
from routing.plan import PlanSettings, plan
from routing.routes import find_routes
from tests.checker import check_plan
from tests.conftest import PACKS


@pytest.fixture(scope="module")
def parallel() -> Network:
    """One road crossing and two parallel roads to it: a new road with 100 TEU a week and an
    old road, longer, slower and dearer, without a limit. Same crossing, same mode: the
    corridor alternatives never offer the old road, and the fastest route is the new one."""
    return load_network(PACKS / "parallel")


def two_loads(due: str = "2026-12-09") -> list[Shipment]:
    return [
        Shipment("west", "east", Cargo(teu=100), ready="2026-12-07", due=due, id=f"load{i}")
        for i in range(2)
    ]


# By hand from tests/packs/parallel, per 100 TEU: handling at West 100 x 100, the road
# 100 x (50 + 1.0 x 300) new or 100 x (50 + 1.2 x 320) old, the post's fee 100 x 100, the
# bridge 100 x 17, the road east 100 x (50 + 300), unloading at East 100 x 80.
NEW_ROAD_USD = 10_000 + 35_000 + 10_000 + 1_700 + 35_000 + 8_000
OLD_ROAD_USD = 10_000 + 43_400 + 10_000 + 1_700 + 35_000 + 8_000


def test_the_bound_meets_the_optimum_known_by_hand(parallel: Network) -> None:
    # One load takes the new road (its week's capacity is 100 TEU), the other the old road,
    # both on time: waiting a week for the new road would make it 5 days late.
    result = plan(parallel, two_loads(), time_limit_s=10)
    assert result.objective_usd == pytest.approx(NEW_ROAD_USD + OLD_ROAD_USD)
    assert result.bound_usd == pytest.approx(NEW_ROAD_USD + OLD_ROAD_USD, rel=1e-6)
    assert result.bound_usd <= result.objective_usd
    assert result.status == "optimal" and result.gap < 1e-5
    assert result.stats["column_generation_converged"]
    check_plan(result.to_dict(), network_to_dict(parallel), ["load0", "load1"])


def test_column_generation_finds_the_route_the_candidates_miss(parallel: Network) -> None:
    candidates = find_routes(parallel, two_loads()[0], alternatives=3)
    assert all("old-road" not in {s.link for s in r.steps} for r in candidates)
    without = plan(parallel, two_loads(), time_limit_s=10, settings=PlanSettings(columns=False))
    found = plan(parallel, two_loads(), time_limit_s=10)
    assert without.objective_usd > found.objective_usd + 10_000  # a week late, or unplanned
    roads = sorted(
        next(s.link for s in shipment.route.steps if s.link in ("new-road", "old-road"))
        for shipment in found.shipments
        if shipment.route is not None
    )
    assert roads == ["new-road", "old-road"]
    # The candidate-only plan's bound is weaker but still proven: it leaves capacity out.
    assert without.bound_usd <= found.objective_usd + 1e-6
    assert without.candidate_gap == pytest.approx(0.0, abs=1e-9)


def test_lots_sum_to_the_shipment_and_each_arrives_on_its_own(tiny: Network) -> None:
    # 150 TEU to Gamma by Thursday: the Monday train takes 100; the rest goes by road.
    shipment = Shipment(
        "alpha", "gamma", Cargo(teu=150), ready="2026-12-05", due="2026-12-10", id="big", split=True
    )
    result = plan(tiny, [shipment], time_limit_s=10, settings=PlanSettings(min_lot_teu=10))
    (planned,) = result.shipments
    assert len(planned.lots) >= 2
    assert sum(lot.teu for lot in planned.lots) == pytest.approx(150)
    assert all(lot.teu >= 10 for lot in planned.lots)
    assert planned.late_days == max(lot.late_days for lot in planned.lots)
    assert any(any(s.service for s in lot.route.steps) for lot in planned.lots)
    check_plan(result.to_dict(), network_to_dict(tiny), ["big"])
    whole = plan(tiny, [replace(shipment, split=False)], time_limit_s=10)
    assert result.objective_usd <= whole.objective_usd + 1e-6
    assert result.summary()["split"] == 1


def test_pieces_stay_whole_even_when_splitting(tiny: Network) -> None:
    piece = Cargo(pieces=3, length_m=12, width_m=3, height_m=3, weight_t=20)
    shipment = Shipment("alpha", "delta", piece, ready="2026-12-05", id="p", split=True)
    result = plan(tiny, [shipment], time_limit_s=5, settings=PlanSettings(split=True))
    assert result.shipments[0].lots == ()


def test_same_seed_same_plan(tiny: Network) -> None:
    shipments = [
        Shipment("alpha", "delta", Cargo(teu=40), ready="2026-12-05", due="2026-12-12", id=f"s{i}")
        for i in range(12)
    ]
    first = plan(tiny, shipments, time_limit_s=10).to_dict()
    second = plan(tiny, shipments, time_limit_s=10).to_dict()
    for data in (first, second):
        data.pop("solve_seconds")
        data.pop("stats")
    assert first == second


@given(
    loads=st.lists(
        st.tuples(
            st.sampled_from(["gamma", "delta"]),
            st.integers(1, 160),
            st.integers(0, 6),  # ready, days after Dec 1
            st.integers(2, 12),  # due, days after ready
            st.integers(1, 3),
            st.booleans(),
        ),
        min_size=1,
        max_size=6,
    ),
    horizon=st.integers(0, 1),
)
def test_bound_never_exceeds_the_objective(
    tiny: Network, loads: list[tuple[str, int, int, int, int, bool]], horizon: int
) -> None:
    shipments = [
        Shipment(
            "alpha",
            destination,
            Cargo(teu=float(teu)),
            ready=f"2026-12-{1 + ready:02d}",
            due=f"2026-12-{1 + ready + due:02d}",
            priority=priority,
            split=split,
            id=f"s{i}",
        )
        for i, (destination, teu, ready, due, priority, split) in enumerate(loads)
    ]
    result = plan(tiny, shipments, time_limit_s=10, settings=PlanSettings(horizon_weeks=horizon))
    assert result.bound_usd <= result.objective_usd + 1e-6
    assert result.objective_usd <= result.baseline_objective_usd + 1e-6
    assert result.candidate_bound_usd <= result.objective_usd + 1e-6
    check_plan(result.to_dict(), network_to_dict(tiny), [s.id for s in shipments])


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"relative_gap": -0.1}, "settings.relative_gap"),
        ({"horizon_weeks": 13}, "settings.horizon_weeks"),
        ({"split": "yes"}, "settings.split"),
        ({"min_lot_teu": 0}, "settings.min_lot_teu"),
        ({"master": "gurobi"}, "settings.master"),
        ({"workers": 64}, "settings.workers"),
        ({"late_usd_per_teu_day": float("nan")}, "settings.late_usd_per_teu_day"),
    ],
)
def test_settings_are_validated_once_with_the_name(values: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as caught:
        PlanSettings.from_mapping(values)
    assert caught.value.field == field


def test_cli_plan_takes_the_settings_and_the_split_column(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from routing.cli import app

    pack = str(PACKS / "tiny")
    ships = tmp_path / "ships.csv"
    ships.write_text(
        "id,origin,destination,teu,ready,due,split\nbig,alpha,gamma,150,2026-12-05,2026-12-10,yes\n",
        encoding="utf-8",
    )
    out = tmp_path / "plan.csv"
    runner = CliRunner()
    args = ["plan", str(ships), "-o", str(out), "--network", pack, "--min-lot-teu", "10"]
    result = runner.invoke(app, [*args, "--horizon-weeks", "0", "--relative-gap", "0"])
    assert result.exit_code == 0, result.output
    assert "proven bound" in result.output and "greedy baseline" in result.output
    rows = out.read_text(encoding="utf-8").splitlines()
    assert len(rows) >= 3 and all(row.startswith("big,") for row in rows[1:])  # a row per lot
    result = runner.invoke(app, [*args, "--horizon-weeks", "13"])
    assert result.exit_code == 2 and "--horizon-weeks" in result.output
    ships.write_text(
        "id,origin,destination,teu,ready,split\nbig,alpha,gamma,150,2026-12-05,maybe\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, [*args])
    assert result.exit_code == 2 and "column 'split'" in result.output


def test_pricing_values_a_route_as_the_plan_does(tiny: Network) -> None:
    """The search's priced value of the route it returns equals the route's cost, lateness and
    the prices of the resources ``route_usage`` finds on it: the two accountings agree."""
    from routing.plan.columns import Pricer, split_prices
    from routing.plan.resources import Resource

    shipment = Shipment("alpha", "gamma", Cargo(teu=30), ready="2026-12-05", due="2026-12-08")
    prices = {
        Resource("alpha-gamma-train", "2026-12-07T06:00:00Z", 100): 50.0,
        Resource("tiny-road", "2026-W50", 300): 20.0,
        Resource("tiny-rail", "2026-W50", 700): 5.0,
    }
    weekly, departures = split_prices(tiny, prices)
    pricer = Pricer(tiny, PlanSettings())
    for weeks in (0, 1):
        found = pricer.best(0, shipment, 30.0, weeks, weekly, departures, 1e9)
        assert found.column is not None
        priced = sum(prices.get(r, 0.0) * amount for r, amount in found.column.usage)
        assert priced > 0  # each start's best route pays a price (and is late)
        assert found.column.late_days > 0
        assert found.value_usd == pytest.approx(found.column.objective_usd + priced)
