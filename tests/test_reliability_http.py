"""Arrival forecasts over HTTP: the same numbers as the Python API for the same seed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from graphs import Network
from routing import Cargo, Shipment, find_routes
from service.app import create_app
from service.settings import Settings

BODY = {
    "origin": "Xian",
    "destination": "Tbilisi",
    "cargo": {"teu": 2},
    "ready": "2026-12-02",
    "due": "2026-12-24",
    "draws": 400,
    "seed": 3,
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    work: Path = tmp_path_factory.mktemp("forecast-http")
    with TestClient(create_app(Settings(database_path=work / "jobs.sqlite3"))) as test_client:
        yield test_client


def test_http_and_python_give_the_same_forecast(client: TestClient, bundled: Network) -> None:
    answer = client.post("/v1/routes", json={**BODY, "objective": "reliable", "on_time": 0.8})
    assert answer.status_code == 200, answer.text
    over_http = answer.json()["routes"][0]
    ship = Shipment("Xian", "Tbilisi", Cargo(teu=2), ready="2026-12-02", due="2026-12-24")
    direct = find_routes(bundled, ship, objective="reliable", on_time=0.8, draws=400, seed=3)[0]
    assert over_http["arrival_forecast"] == direct.to_dict()["arrival_forecast"]
    assert over_http["arrival_forecast"]["on_time_probability"] >= 0.8


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"draws": 0}, "draws"),
        ({"draws": 10**6}, "draws"),
        ({"draws": True}, "draws"),
        ({"on_time": 1.0, "objective": "reliable"}, "on_time"),
        ({"due": "2026-11-01"}, "due"),
    ],
)
def test_bad_forecast_fields_are_422_naming_the_field(
    client: TestClient, change: dict[str, object], field: str
) -> None:
    answer = client.post("/v1/routes", json={**BODY, **change})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"][0]["loc"][-1] == field


def test_cli_json_gives_the_same_forecast_and_draws_the_chart(
    client: TestClient, tmp_path: Path
) -> None:
    import json

    from typer.testing import CliRunner

    from routing.cli import app

    chart = tmp_path / "arrival.png"
    args = ["route", "Xian", "Tbilisi", "--teu", "2", "--ready", "2026-12-02", "--due"]
    args += ["2026-12-24", "--draws", "400", "--seed", "3", "--objective", "reliable"]
    args += ["--on-time", "0.8", "--json", "--plot-arrival", str(chart)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    over_cli = json.loads(result.stdout)["routes"][0]["arrival_forecast"]
    answer = client.post("/v1/routes", json={**BODY, "objective": "reliable", "on_time": 0.8})
    assert over_cli == answer.json()["routes"][0]["arrival_forecast"]
    assert chart.read_bytes().startswith(b"\x89PNG")


def test_cli_refuses_a_probability_of_one() -> None:
    from typer.testing import CliRunner

    from routing.cli import app

    result = CliRunner().invoke(app, ["route", "Xian", "Tbilisi", "--on-time", "1"])
    assert result.exit_code == 2
    assert "on_time" in result.output
