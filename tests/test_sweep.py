"""Disruption sweeps: a plan's lateness over random worlds, in one process or on Dask."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from graphs import Network
from graphs.errors import InputError
from routing import Cargo, Shipment, find_routes
from routing.stopping import Stop, StoppedError
from routing.sweep import Exposure, sweep

PAIRS = [("Xi'an", "Almaty"), ("Urumqi", "Almaty"), ("Xi'an", "Tashkent"), ("Kashgar", "Osh")]


def _exposures(net: Network, slack_days: float) -> list[Exposure]:
    out = []
    for i, (origin, destination) in enumerate(PAIRS):
        ship = Shipment(origin, destination, Cargo(teu=2), ready="2026-12-02")
        route = find_routes(net, ship)[0]
        out.append(Exposure(f"s{i}", route, route.arrive + timedelta(days=slack_days), 2.0, 1.0))
    return out


def test_the_same_seed_gives_the_same_sweep_however_the_draws_are_split(bundled: Network) -> None:
    exposures = _exposures(bundled, 1)
    one = sweep(bundled, exposures, draws=300, seed=4, scheduler="inline", chunks=1)
    many = sweep(bundled, exposures, draws=300, seed=4, scheduler="inline", chunks=7)
    assert one.late_days == many.late_days
    assert one.shipments == many.shipments
    other = sweep(bundled, exposures, draws=300, seed=5, scheduler="inline")
    assert other.late_days != one.late_days


def test_lateness_is_counted_against_each_due_date(bundled: Network) -> None:
    relaxed = sweep(bundled, _exposures(bundled, 60), draws=200, scheduler="inline")
    assert relaxed.expected_late_shipments == 0
    assert all(s.on_time_probability == 1.0 for s in relaxed.shipments)
    tight = sweep(bundled, _exposures(bundled, 0), draws=200, scheduler="inline")
    assert tight.expected_late_shipments > 0
    # lateness costs the planner's rate per TEU and day, weighted by priority
    for usd, days in zip(tight.lateness_usd, tight.late_days, strict=True):
        assert usd == pytest.approx(days * 2.0 * 250.0)
    assert [d.late_days_mean for d in tight.drivers] == sorted(
        (d.late_days_mean for d in tight.drivers), reverse=True
    )
    total_blame = sum(d.late_days_mean for d in tight.drivers)
    # every late day is blamed on the delays that caused it (each mean rounded to 1e-4)
    assert total_blame == pytest.approx(sum(tight.late_days) / tight.draws, abs=1e-3)


def test_random_closures_only_make_things_later(bundled: Network) -> None:
    exposures = _exposures(bundled, 1)
    calm = sweep(bundled, exposures, draws=400, seed=2, scheduler="inline")
    stormy = sweep(bundled, exposures, draws=400, seed=2, close_probability=0.2, scheduler="inline")
    assert sum(stormy.late_days) > sum(calm.late_days)
    for a, b in zip(calm.shipments, stormy.shipments, strict=True):
        assert b.transit_days_p90 >= a.transit_days_p90


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"draws": 0}, "draws"),
        ({"draws": 10**9}, "draws"),
        ({"draws": 10, "seed": -3}, "seed"),
        ({"draws": 10, "close_probability": 1.0}, "close_probability"),
    ],
)
def test_bad_sweep_options_name_the_field(
    bundled: Network, kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(InputError) as caught:
        sweep(bundled, _exposures(bundled, 1), scheduler="inline", **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_nothing_to_sweep_is_an_error(bundled: Network) -> None:
    with pytest.raises(InputError, match="no planned shipments"):
        sweep(bundled, [], draws=10, scheduler="inline")


def test_a_cancelled_sweep_stops(bundled: Network) -> None:
    stop = Stop()
    stop.cancel()
    with pytest.raises(StoppedError):
        sweep(bundled, _exposures(bundled, 1), draws=50, scheduler="inline", stop=stop)


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_inline_answer(bundled: Network) -> None:
    exposures = _exposures(bundled, 1)
    seen: list[tuple[int, int]] = []
    on_dask = sweep(
        bundled, exposures, draws=200, seed=9, workers=2, progress=lambda d, t: seen.append((d, t))
    )
    inline = sweep(bundled, exposures, draws=200, seed=9, scheduler="inline")
    assert on_dask.late_days == inline.late_days
    assert on_dask.drivers == inline.drivers
    assert seen and seen[-1][0] == seen[-1][1]


SHIPMENTS = """id,origin,destination,teu,ready,due,priority
a,Xi'an,Almaty,4,2026-12-02,2026-12-12,1
b,Urumqi,Almaty,2,2026-12-03,2026-12-06,2
"""


def test_the_sweep_command_plans_then_sweeps(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from routing.cli import app

    csv_file = tmp_path / "shipments.csv"
    csv_file.write_text(SHIPMENTS, encoding="utf-8")
    out, chart = tmp_path / "sweep.json", tmp_path / "tornado.png"
    args = ["sweep", str(csv_file), "--draws", "200", "--scheduler", "inline", "--time-limit", "10"]
    result = CliRunner().invoke(app, [*args, "-o", str(out), "--tornado", str(chart)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["draws"] == 200 and {s["id"] for s in data["shipments"]} == {"a", "b"}
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert "least sure to be on time" in result.stdout
    again = CliRunner().invoke(app, [*args, "--json"])
    assert json.loads(again.stdout)["late_days"] == data["late_days"]


@pytest.mark.parametrize(
    ("option", "value"), [("--draws", "0"), ("--close-probability", "1.5"), ("--seed", "-1")]
)
def test_the_sweep_command_refuses_nonsense(tmp_path: Path, option: str, value: str) -> None:
    from typer.testing import CliRunner

    from routing.cli import app

    csv_file = tmp_path / "shipments.csv"
    csv_file.write_text(SHIPMENTS, encoding="utf-8")
    args = ["sweep", str(csv_file), "--scheduler", "inline", "--time-limit", "5", option, value]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
