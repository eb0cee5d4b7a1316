"""The last mile: sites by coordinates, road legs over an OSM extract or great-circle x detour,
and delivery tours from a railhead."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphs import Network
from graphs.errors import DataPackError, InputError
from graphs.geo import great_circle_km
from graphs.roads import load_road_graph, road_leg
from routing.cli import app
from routing.costs import CargoTerms
from routing.deliveries import read_deliveries
from routing.lastmile import DETOUR_FACTOR, parse_coordinates, place_name, site_id, with_site
from routing.model import Cargo, Shipment
from routing.routes import find_routes
from tests.oracle import check_route

OSM = Path(__file__).parent / "data" / "roads" / "tiny.osm"
SITE = "41.5800,64.2600"  # the east end of the fixture's roads, near Zarafshan


def test_parse_coordinates() -> None:
    assert parse_coordinates("41.57,64.20") == (41.57, 64.20)
    assert parse_coordinates(" 41.57 64.20 ") == (41.57, 64.20)
    assert parse_coordinates("Zarafshan") is None
    with pytest.raises(InputError, match="not a latitude"):
        parse_coordinates("95,64")


def test_site_without_extract_uses_the_detour_factor(bundled: Network) -> None:
    ship = Shipment("Navoiy", SITE, Cargo(teu=2), ready="2026-12-01")
    route = find_routes(bundled, ship)[0]
    last = [s for s in route.steps if s.kind == "move"][-1]
    assert last.to_node == route.destination
    anchor = bundled.nodes[last.from_node]
    expected = great_circle_km(anchor.lat, anchor.lon, 41.58, 64.26) * DETOUR_FACTOR
    assert last.distance_km == pytest.approx(expected)
    assert any("great-circle x 1.3" in note for note in route.notes)
    assert route.to_dict()["notes"] == list(route.notes)


def test_site_with_extract_uses_the_osm_road_distance(bundled: Network) -> None:
    roads = load_road_graph(OSM)
    ship = Shipment("Navoiy", SITE, Cargo(teu=2), ready="2026-12-01")
    route = find_routes(bundled, ship, roads=roads)[0]
    last = [s for s in route.steps if s.kind == "move"][-1]
    anchor = bundled.nodes[last.from_node]
    assert anchor.id == "zarafshan"
    leg = road_leg(roads, (anchor.lat, anchor.lon), (41.58, 64.26))
    assert last.distance_km == pytest.approx(leg.distance_km)
    assert any("over the OSM road graph" in note for note in route.notes)


def test_sites_are_named_by_their_coordinates_where_the_network_lacks_them(
    bundled: Network,
) -> None:
    assert place_name(bundled, site_id(-12.5, -76.25)) == "site at -12.5000, -76.2500"
    assert place_name(bundled, site_id(43.5, 76.1)) == "site at 43.5000, 76.1000"
    assert place_name(bundled, "almaty") == bundled.nodes["almaty"].name
    assert place_name(bundled, "site-nonsense") == "site-nonsense"


def test_route_table_to_a_site(bundled: Network) -> None:
    result = CliRunner().invoke(app, ["route", "Almaty", "43.5,76.1"])
    assert result.exit_code == 0, result.output
    assert "site at 43.5000, 76.1000" in result.output


def test_blade_to_coordinates_passes_the_oracle(bundled: Network) -> None:
    blade = Cargo(pieces=1, length_m=77, width_m=4.2, height_m=4.5, weight_t=25)
    route = find_routes(bundled, Shipment("Baiyin", "41.57,64.20", blade, ready="2026-12-01"))[0]
    derived, site, _ = with_site(bundled, 41.57, 64.20, terms=CargoTerms.of(blade, bundled))
    assert route.destination == site
    check_route(derived, route, blade)
    assert {c.split("-")[0] for c in route.crossings} & {"khorgos", "irkeshtam", "alashankou"}


DELIVERIES = "id,lat,lon,demand_t,service_hours,window_start_h,window_end_h,oversize\n"


def test_deliveries_rows_are_validated() -> None:
    rows = DELIVERIES + "a,41.6,64.2,25,2,,,true\nb,41.5,64.1,10,1,0,24,false\n"
    drops = read_deliveries(rows.splitlines())
    assert [d.id for d in drops] == ["a", "b"] and drops[0].oversize
    for bad, column in [
        ("a,41.6,64.2,heavy,2,,,true", "demand_t"),
        ("a,41.6,,25,2,,,true", "lon"),
        ("a,41.6,64.2,25,2,,,maybe", "oversize"),
        ("a,41.6,64.2,-5,2,,,false", "demand_t"),
    ]:
        with pytest.raises(DataPackError) as caught:
            read_deliveries((DELIVERIES + bad + "\n").splitlines(), file="d.csv")
        assert (caught.value.line, caught.value.column) == (2, column)


def test_tours_cli_serves_sites_from_the_railhead(tmp_path: Path) -> None:
    drops = tmp_path / "drops.csv"
    drops.write_text(
        DELIVERIES
        + "wtg-01,41.5800,64.2600,25,3,,,true\n"
        + "wtg-02,41.5520,64.2000,25,3,,,true\n"
        + "camp,41.5650,64.1600,8,1,,,false\n"
        + "crane,41.5850,64.2100,95,2,,,true\n",
        encoding="utf-8",
    )
    out = tmp_path / "tours.json"
    result = CliRunner().invoke(
        app,
        [
            "tours", str(drops), "--depot", "Zarafshan", "--trucks", "3", "--payload-t", "30",
            "--oversize-trucks", "2", "--roads", str(OSM), "--time-limit", "2", "-o", str(out),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "unserved crane" in result.stdout and "95" in result.stdout
    assert "OSM road graph" in result.stdout
    assert out.stat().st_size > 100


def test_tours_cli_rejects_a_bad_file(tmp_path: Path) -> None:
    drops = tmp_path / "drops.csv"
    drops.write_text(DELIVERIES + "a,41.6,64.2,lots,2,,,true\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["tours", str(drops), "--depot", "Zarafshan", "--trucks", "1", "--payload-t", "30"]
    )
    assert result.exit_code == 2
    assert "drops.csv, line 2, column 'demand_t'" in result.stderr


def test_tours_over_http(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import Settings
    from service.worker import job_workers

    settings = Settings(database_path=tmp_path / "jobs.sqlite3", roads_file=OSM)
    with job_workers(settings), TestClient(create_app(settings)) as client:
        body = {
            "depot": "Zarafshan",
            "trucks": 2,
            "payload_t": 30,
            "oversize_trucks": 1,
            "time_limit_s": 2,
            "deliveries": [
                {"id": "wtg-01", "lat": 41.58, "lon": 64.26, "demand_t": 25, "oversize": True},
                {"id": "camp", "lat": 41.565, "lon": 64.16, "demand_t": 8},
                {"id": "crane", "lat": 41.585, "lon": 64.21, "demand_t": 95, "oversize": True},
            ],
        }
        queued = client.post("/v1/tours", json=body)
        assert queued.status_code == 202, queued.text  # a job, like plans: the server stays free
        location = queued.headers["location"]
        assert location == f"/v1/tours/{queued.json()['id']}"
        deadline = time.monotonic() + 120
        while (job := client.get(location).json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        assert job["status"] == "done", job["error"]
        data = job["tours"]
        assert data["served"] == 1 and "OSM road graph" in data["distances"]
        reasons = {item["delivery"]: item["reason"] for item in data["unserved"]}
        # The site road of wtg-01 is signed 7.5 t; the 25 t piece's oversize roads avoid it.
        assert "no road to the site admits it" in reasons["wtg-01"]
        assert "weight 25 t" in data["oversize_distances"]
        assert "95 t exceeds every truck's payload" in reasons["crane"]
        assert data["trucks"][0]["trips"][0]["stops"][0]["delivery"] == "camp"
        bad = client.post("/v1/tours", json={**body, "trucks": 0})
        assert bad.status_code == 422 and "trucks" in bad.text
        unknown = client.post("/v1/tours", json={**body, "depot": "Atlantis"})
        assert unknown.status_code == 422  # at once, not in the job
        assert client.get("/v1/tours/nope").status_code == 404
