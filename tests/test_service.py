"""The HTTP service through FastAPI's test client: every endpoint of SPEC section 7, its errors
and limits, jobs run by worker processes, database faults, and parity with the CLI. (The job
store itself, on SQLite and PostgreSQL, is tested in test_jobs.py.)"""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from graphs import Network, load_network
from graphs.export import network_to_dict
from routing.stopping import Stop
from service import Settings, create_app
from service.app import AnswerCache, Busy, RouteGate
from service.cli import app as cli
from service.jobs import JobStore, database_url
from service.worker import job_workers

from .conftest import PACKS

TINY = PACKS / "tiny"
ROUTE = {"origin": "alpha", "destination": "delta", "cargo": {"teu": 2}, "ready": "2026-12-01"}
PLAN = {
    "shipments": [
        {"id": "A", "origin": "Alpha City", "destination": "gamma", "cargo": {"teu": 20},
         "ready": "2026-12-01", "due": "2026-12-20"},
        {"id": "B", "origin": "alpha", "destination": "delta", "cargo": {"teu": 5},
         "ready": "2026-12-02"},
    ],
    "time_limit_s": 5,
}  # fmt: skip


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Service settings on the tiny pack with a job database of the test's own."""
    values: dict[str, Any] = {
        "network_dir": TINY,
        "database_path": tmp_path / "jobs.sqlite3",
        "database_busy_timeout_s": 0.2,
    }
    return Settings(**(values | overrides))


@contextmanager
def serving(values: Settings) -> Iterator[TestClient]:
    """The service started with its job worker processes, as ``silkroute serve`` runs them."""
    with job_workers(values), TestClient(create_app(values)) as test_client:
        yield test_client


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The service on the tiny pack, started (one job worker running), no API key."""
    with serving(settings(tmp_path)) as test_client:
        yield test_client


def copy_pack(target: Path) -> None:
    target.mkdir(parents=True)
    for source in TINY.glob("*.csv"):
        (target / source.name).write_bytes(source.read_bytes())


def wait_for_job(client: TestClient, job_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/plans/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout_s} s")


def only_error(response: Any) -> dict[str, Any]:
    detail = response.json()["detail"]
    assert isinstance(detail, list) and len(detail) >= 1, detail
    first: dict[str, Any] = detail[0]
    return first


# -- read-only endpoints -------------------------------------------------------------------------


def test_health_reports_the_network(client: TestClient, tiny: Network) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["network"] == tiny.stats()


def test_network_json_is_what_the_cli_prints(client: TestClient, tiny: Network) -> None:
    response = client.get("/v1/network")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(network_to_dict(tiny)))
    result = CliRunner().invoke(cli, ["network", "--json", "--network", str(TINY)])
    assert result.exit_code == 0
    assert response.json() == json.loads(result.stdout)


def test_network_geojson(client: TestClient, tiny: Network) -> None:
    response = client.get("/v1/network.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    data = response.json()
    assert data["type"] == "FeatureCollection"
    points = [f for f in data["features"] if f["geometry"]["type"] == "Point"]
    assert {f["properties"]["id"] for f in points} == set(tiny.nodes)


def test_places_match_names_aliases_and_accents(client: TestClient) -> None:
    for query in ("alfa", "ALPHA", "Álpha", "Alpha City"):
        body = client.get("/v1/places", params={"q": query}).json()
        assert body["places"][0]["id"] == "alpha", query
    everything = client.get("/v1/places").json()
    assert len(everything["places"]) == 5


def test_places_without_match_answer_empty_with_suggestions(client: TestClient) -> None:
    response = client.get("/v1/places", params={"q": "Gammma Hubb"})
    assert response.status_code == 200
    body = response.json()
    assert body["places"] == [] or body["places"][0]["id"] == "gamma"
    nothing = client.get("/v1/places", params={"q": "zzqqxx"}).json()
    assert nothing == {"query": "zzqqxx", "places": [], "suggestions": []}


def test_places_query_is_bounded(client: TestClient) -> None:
    response = client.get("/v1/places", params={"q": "x" * 201})
    assert response.status_code == 422
    assert only_error(response)["loc"] == ["query", "q"]


# -- routes --------------------------------------------------------------------------------------


def test_routes_answer_equals_cli_json(client: TestClient) -> None:
    """``silkroute route --json`` and ``POST /v1/routes`` give the same JSON."""
    response = client.post("/v1/routes", json=ROUTE | {"alternatives": 2})
    assert response.status_code == 200
    args = "route alpha delta --teu 2 --ready 2026-12-01 --alternatives 2 --json --network"
    result = CliRunner().invoke(cli, [*args.split(), str(TINY)])
    assert result.exit_code == 0, result.output
    assert response.json() == json.loads(result.stdout)


def test_routes_answer_has_the_spec_fields(client: TestClient) -> None:
    body = client.post("/v1/routes", json=ROUTE).json()
    assert body["infeasible_reason"] is None
    route = body["routes"][0]
    for key in ("origin", "destination", "objective", "ready", "depart", "arrive", "totals",
                "cost_breakdown_usd", "time_breakdown_hours", "countries", "modes", "crossings",
                "steps", "geometry"):  # fmt: skip
        assert key in route
    assert route["origin"] == "alpha" and route["destination"] == "delta"
    assert route["countries"] == ["CN", "KZ"]
    assert sum(step["cost_usd"] for step in route["steps"]) == pytest.approx(
        route["totals"]["cost_usd"], abs=0.05
    )


def test_pieces_and_avoid_and_objectives(client: TestClient) -> None:
    pieces = {"pieces": 2, "length_m": 10, "width_m": 3, "height_m": 3, "weight_t": 40}
    for objective in ("cost", "time", "co2e", "balanced"):
        body = client.post(
            "/v1/routes",
            json=ROUTE | {"cargo": pieces, "objective": objective, "avoid": {"modes": ["rail"]}},
        ).json()
        assert body["routes"], body
        assert all(r["modes"] == ["road"] for r in body["routes"])


def test_pareto_front(client: TestClient) -> None:
    body = client.post("/v1/routes", json=ROUTE | {"pareto": True}).json()
    assert len(body["routes"]) >= 1


def test_infeasible_is_200_with_the_reason(client: TestClient) -> None:
    response = client.post("/v1/routes", json=ROUTE | {"max_transit_days": 0.5})
    assert response.status_code == 200
    body = response.json()
    assert body["routes"] == []
    assert "day" in body["infeasible_reason"]
    avoided = client.post(
        "/v1/routes", json=ROUTE | {"avoid": {"crossings": ["tiny-rail", "tiny-road"]}}
    ).json()
    assert avoided["routes"] == [] and "crossing" in avoided["infeasible_reason"]


def test_unknown_place_names_the_field_and_suggests(client: TestClient) -> None:
    response = client.post("/v1/routes", json=ROUTE | {"destination": "Gama Hub"})
    assert response.status_code == 422
    error = only_error(response)
    assert error["loc"] == ["body", "destination"]
    assert error["type"] == "unknown_place"
    assert "Gamma Hub" in error["suggestions"]
    response = client.post("/v1/routes", json=ROUTE | {"avoid": {"nodes": ["gamma", "nowhere"]}})
    assert only_error(response)["loc"] == ["body", "avoid", "nodes", 1]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"cargo": {"teu": -1}}, ["body", "cargo", "teu"]),
        ({"cargo": {"teu": 0}}, ["body", "cargo", "teu"]),
        ({"cargo": {}}, ["body", "cargo"]),
        ({"cargo": {"teu": 2, "pieces": 1}}, ["body", "cargo", "teu"]),
        ({"cargo": {"pieces": 1, "length_m": 5}}, ["body", "cargo", "width_m"]),
        ({"cargo": {"pieces": 1, "length_m": 5, "width_m": 3, "height_m": 3, "weight_t": 1e6}},
         ["body", "cargo", "weight_t"]),
        ({"cargo": {"teu": "many"}}, ["body", "cargo", "teu"]),
        ({"objective": "fastest"}, ["body", "objective"]),
        ({"ready": "next tuesday"}, ["body", "ready"]),
        ({"ready": "1850-01-01"}, ["body", "ready"]),
        ({"alternatives": 11}, ["body", "alternatives"]),
        ({"alternatives": -1}, ["body", "alternatives"]),
        ({"modes": ["camel"]}, ["body", "modes", 0]),
        ({"avoid": {"crossings": ["no-such-crossing"]}}, ["body", "avoid", "crossings", 0]),
        ({"avoid": {"countries": ["CN"]}}, ["body", "origin"]),
        ({"origin": ""}, ["body", "origin"]),
        ({"origin": "x" * 201}, ["body", "origin"]),
        ({"destination": "alpha"}, ["body", "destination"]),
        ({"carbon_price_usd_per_t": -5}, ["body", "carbon_price_usd_per_t"]),
        ({"max_cost_usd": 0}, ["body", "max_cost_usd"]),
        ({"surprise": 1}, ["body", "surprise"]),
        ({"network": "../../etc"}, ["body", "network"]),
    ],
)  # fmt: skip
def test_invalid_route_input_is_422_naming_the_field(
    client: TestClient, change: dict[str, Any], loc: list[str | int]
) -> None:
    response = client.post("/v1/routes", json=ROUTE | change)
    assert response.status_code == 422, response.text
    assert only_error(response)["loc"] == loc


def test_malformed_bodies_are_4xx(client: TestClient) -> None:
    headers = {"content-type": "application/json"}
    for body in (b"", b"{", b"[]", b"null", b'{"origin": NaN}', b"\xff\xfe", b"[" * 50_000):
        response = client.post("/v1/routes", content=body, headers=headers)
        assert 400 <= response.status_code < 500, (body[:20], response.text)
    nan = b'{"origin": "alpha", "destination": "delta", "cargo": {"teu": NaN}}'
    response = client.post("/v1/routes", content=nan, headers=headers)
    assert response.status_code == 422
    assert only_error(response)["loc"] == ["body", "cargo", "teu"]


def test_alternatives_are_bounded_by_the_server_setting(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, max_alternatives=2))) as client:
        assert client.post("/v1/routes", json=ROUTE | {"alternatives": 2}).status_code == 200
        response = client.post("/v1/routes", json=ROUTE | {"alternatives": 3})
        assert response.status_code == 422
        assert only_error(response)["loc"] == ["body", "alternatives"]
        assert "at most 2" in only_error(response)["msg"]


# -- bodies, keys and files ----------------------------------------------------------------------


def test_body_over_the_limit_is_413_declared_or_streamed(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, max_body_bytes=4096))) as client:
        big = json.dumps(ROUTE | {"origin": "a" * 5000}).encode()
        headers = {"content-type": "application/json"}
        response = client.post("/v1/routes", content=big, headers=headers)
        assert response.status_code == 413
        assert "4096" in only_error(response)["msg"]

        def chunks() -> Iterator[bytes]:
            for _ in range(100):
                yield b" " * 1000

        response = client.post("/v1/routes", content=chunks(), headers=headers)
        assert response.status_code == 413
        assert client.post("/v1/routes", json=ROUTE).status_code == 200


def test_api_key_guards_every_post(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, api_key="s3cret"))
    with TestClient(app) as client:
        assert client.post("/v1/routes", json=ROUTE).status_code == 401
        assert client.post("/v1/plans", json=PLAN).status_code == 401
        wrong = client.post("/v1/routes", json=ROUTE, headers={"X-API-Key": "guess"})
        assert wrong.status_code == 403
        right = client.post("/v1/routes", json=ROUTE, headers={"X-API-Key": "s3cret"})
        assert right.status_code == 200
        # the key is checked before the body: no validation details for strangers
        assert client.post("/v1/routes", json={"bogus": 1}).status_code == 401
        assert client.get("/health").status_code == 200
        assert client.get("/v1/places", params={"q": "alpha"}).status_code == 200
    assert "s3cret" not in repr(settings(tmp_path, api_key="s3cret"))


def test_no_request_path_reaches_a_file(client: TestClient) -> None:
    for path in (
        "/static/../../../../etc/passwd",
        "/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/static/..%2fapp.py",
        "/static/app.py",
        "/static/",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "root:" not in response.text
    assert client.get("/static/app.js").status_code == 200
    for name in ("..", "../tiny", "/etc", "tiny/../..", "a b"):
        response = client.get("/v1/places", params={"q": "a", "network": name})
        assert response.status_code == 422, name


def test_user_packs_are_chosen_by_name_from_the_root_only(tmp_path: Path) -> None:
    root = tmp_path / "packs"
    copy_pack(root / "tiny")
    # a pack that is a link to a directory elsewhere is not under the root
    (root / "escape").symlink_to(TINY.resolve(), target_is_directory=True)
    with TestClient(create_app(settings(tmp_path, network_dir=None, networks_root=root))) as c:
        # the bundled pack by default, the tiny pack by name
        assert c.get("/health").json()["network"]["nodes"] > 5
        body = c.post("/v1/routes", json=ROUTE | {"network": "tiny"}).json()
        assert body["routes"][0]["origin"] == "alpha"
        unknown = c.post("/v1/routes", json=ROUTE | {"network": "tinyy"})
        assert unknown.status_code == 422
        assert only_error(unknown)["loc"] == ["body", "network"]
        assert only_error(unknown)["suggestions"] == ["escape", "tiny"]
        assert c.post("/v1/routes", json=ROUTE | {"network": "escape"}).status_code == 422
    with TestClient(create_app(settings(tmp_path))) as c:
        response = c.post("/v1/routes", json=ROUTE | {"network": "tiny"})
        assert response.status_code == 422
        assert "no user network packs" in only_error(response)["msg"]


def test_map_page_and_docs(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for asset in ("/static/app.js", "/static/app.css"):
        assert client.get(asset).status_code == 200
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/health", "/v1/places", "/v1/network", "/v1/network.geojson", "/v1/routes",
                 "/v1/plans", "/v1/plans/{job_id}"):  # fmt: skip
        assert path in spec["paths"]


def test_map_page_uses_no_external_assets(client: TestClient) -> None:
    for asset in ("/", "/static/app.js", "/static/app.css"):
        text = client.get(asset).text
        # the SVG namespace is a name, not a fetch
        text = text.replace("http://www.w3.org/2000/svg", "")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, asset
        assert "@import" not in text and "url(" not in text


# -- plan jobs -----------------------------------------------------------------------------------


def test_plan_job_runs_to_done(client: TestClient) -> None:
    response = client.post("/v1/plans", json=PLAN)
    assert response.status_code == 202
    job = response.json()
    assert job["status"] in ("queued", "running")
    assert response.headers["location"] == f"/v1/plans/{job['id']}"
    assert set(job) >= {"id", "status", "created", "plan", "error"}
    done = wait_for_job(client, job["id"])
    assert done["status"] == "done", done["error"]
    plan = done["plan"]
    assert plan["status"] in ("optimal", "feasible", "timeout")
    assert plan["summary"]["shipments"] == 2
    assert {s["id"] for s in plan["shipments"]} == {"A", "B"}
    for resource in plan["resources"]:
        assert resource["used_teu"] <= resource["capacity_teu"] + 1e-6
    report = client.get(f"/v1/plans/{job['id']}/report")
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/html")
    assert "<img" in report.text and "http://" not in report.text and "https://" not in report.text
    assert client.get("/v1/plans/nope/report").status_code == 404


def test_plan_with_scenario_and_default_ids(client: TestClient) -> None:
    shipments = [{k: v for k, v in s.items() if k != "id"} for s in PLAN["shipments"]]
    scenario = {"closures": [{"crossing": "tiny-rail", "from": "2026-11-01", "to": "2027-02-01"}]}
    response = client.post("/v1/plans", json={"shipments": shipments, "scenario": scenario})
    assert response.status_code == 202
    done = wait_for_job(client, response.json()["id"])
    assert done["status"] == "done", done["error"]
    assert [s["id"] for s in done["plan"]["shipments"]] == ["1", "2"]
    for item in done["plan"]["shipments"]:
        if item["route"]:
            assert "tiny-rail" not in item["route"]["crossings"]


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"shipments": []}, ["body", "shipments"]),
        ({"time_limit_s": 0}, ["body", "time_limit_s"]),
        ({"time_limit_s": 301}, ["body", "time_limit_s"]),
        ({"scenario": {"closures": [{"crossing": "nope", "from": "2026-12-01"}]}},
         ["body", "scenario", "closures", 0, "crossing"]),
        ({"scenario": {"flood": []}}, ["body", "scenario", "flood"]),
        ({"scenario": {"capacity": [{"crossing": "tiny-rail", "scale": -1}]}},
         ["body", "scenario", "capacity", 0, "scale"]),
        ({"settings": {"horizon_weeks": 13}}, ["body", "settings", "horizon_weeks"]),
        ({"settings": {"split": "sometimes"}}, ["body", "settings", "split"]),
        ({"settings": {"workers": 64}}, ["body", "settings", "workers"]),
    ],
)  # fmt: skip
def test_invalid_plan_is_422_naming_the_field(
    client: TestClient, change: dict[str, Any], loc: list[str | int]
) -> None:
    response = client.post("/v1/plans", json=PLAN | change)
    assert response.status_code == 422, response.text
    assert only_error(response)["loc"] == loc


def test_invalid_shipment_of_a_plan_is_named_by_position(client: TestClient) -> None:
    cases: list[tuple[dict[str, Any], list[str | int]]] = [
        ({"destination": "Nowhere"}, ["body", "shipments", 1, "destination"]),
        ({"due": "2026-11-01"}, ["body", "shipments", 1, "due"]),
        ({"cargo": {"teu": 1e9}}, ["body", "shipments", 1, "cargo", "teu"]),
        ({"priority": 11}, ["body", "shipments", 1, "priority"]),
        ({"id": "A"}, ["body", "shipments", 1, "id"]),
    ]
    for change, loc in cases:
        body = {"shipments": [PLAN["shipments"][0], PLAN["shipments"][1] | change]}
        response = client.post("/v1/plans", json=body)
        assert response.status_code == 422, (change, response.text)
        assert only_error(response)["loc"] == loc, change


def test_shipments_per_plan_are_bounded(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, max_shipments_per_plan=1))) as client:
        response = client.post("/v1/plans", json=PLAN)
        assert response.status_code == 422
        assert only_error(response)["loc"] == ["body", "shipments"]


def test_unknown_job_is_404(client: TestClient) -> None:
    assert client.get("/v1/plans/nope").status_code == 404
    assert client.get("/v1/plans/" + "x" * 500).status_code == 422


def test_full_queue_is_503(tmp_path: Path) -> None:
    # Not started (no lifespan): no worker drains the queue.
    client = TestClient(create_app(settings(tmp_path, plan_queue_size=1)))
    assert client.post("/v1/plans", json=PLAN).status_code == 202
    response = client.post("/v1/plans", json=PLAN)
    assert response.status_code == 503
    assert response.headers["retry-after"]
    assert only_error(response)["type"] == "queue_full"


def test_plan_over_its_wall_clock_limit_fails_with_the_reason(tmp_path: Path) -> None:
    # (no plan is solved, even on the tiny pack, within a millisecond of its submission)
    with serving(settings(tmp_path, plan_timeout_s=0.001)) as client:
        job_id = client.post("/v1/plans", json=PLAN).json()["id"]
        job = wait_for_job(client, job_id)
        assert job["status"] == "failed"
        assert "plan_timeout_s" in job["error"]
        assert job["plan"] is None


def test_job_that_cannot_be_rerun_fails_with_the_reason(tmp_path: Path) -> None:
    root = tmp_path / "packs"
    copy_pack(root / "mine")
    app = create_app(settings(tmp_path, networks_root=root))
    job_id = TestClient(app).post("/v1/plans", json=PLAN | {"network": "mine"}).json()["id"]
    for path in (root / "mine").iterdir():
        path.unlink()
    (root / "mine").rmdir()
    with job_workers(app.state.service.settings), TestClient(app) as client:
        job = wait_for_job(client, job_id)  # the worker starts now and finds the pack gone
    assert job["status"] == "failed"
    assert "not a directory" in job["error"]


# -- jobs over HTTP: stored answers, readiness, database faults ---------------------------------


def test_a_finished_job_is_served_from_its_stored_bytes(tmp_path: Path) -> None:
    values = settings(tmp_path)
    store = JobStore(database_url(None, values.database_path))
    job = store.submit("plan", {}, queue_size=10)
    assert store.claim("w", lease_s=60) is not None
    stored = '{"status":  "optimal" , "note": "written once, never re-encoded: ü"}'.encode()
    assert store.complete(job.id, "w", stored)
    client = TestClient(create_app(values))
    response = client.get(f"/v1/plans/{job.id}")
    assert response.status_code == 200
    assert b'"plan":' + stored + b"}" in response.content  # byte for byte, not re-parsed
    assert response.json()["plan"]["note"].endswith("ü")
    assert client.get(f"/v1/tours/{job.id}").status_code == 404  # a plan is not a tours job
    store.close()


def test_ready_reports_the_database_and_the_workers(tmp_path: Path) -> None:
    values = settings(tmp_path)
    alone = TestClient(create_app(values))
    answer = alone.get("/ready")
    assert answer.status_code == 200 and answer.json()["status"] == "no_workers"
    with serving(values) as client:
        deadline = time.monotonic() + 90
        while (ready := client.get("/ready").json())["status"] != "ready":
            assert time.monotonic() < deadline, ready
            time.sleep(0.2)
        assert len(ready["workers"]) == 1 and ready["database"] == "jobs.sqlite3"
        assert ready["jobs"] == {"queued": 0, "running": 0, "done": 0, "failed": 0}


def test_a_deleted_database_is_recreated_while_serving(tmp_path: Path) -> None:
    with serving(settings(tmp_path)) as client:
        first = client.post("/v1/plans", json=PLAN).json()["id"]
        wait_for_job(client, first)
        for path in tmp_path.glob("jobs.sqlite3*"):
            path.unlink()
        assert client.get(f"/v1/plans/{first}").status_code == 404  # gone with the file
        response = client.post("/v1/plans", json=PLAN)
        assert response.status_code == 202, response.text
        assert wait_for_job(client, response.json()["id"])["status"] == "done"
        assert client.get("/ready").status_code == 200


def test_locked_database_is_503_and_reads_still_work(tmp_path: Path) -> None:
    with serving(settings(tmp_path)) as client:
        job_id = client.post("/v1/plans", json=PLAN).json()["id"]
        wait_for_job(client, job_id)
        holder = sqlite3.connect(tmp_path / "jobs.sqlite3", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            response = client.post("/v1/plans", json=PLAN)
            assert response.status_code == 503
            assert "locked" in only_error(response)["msg"]
            assert response.headers["retry-after"]
            assert client.get(f"/v1/plans/{job_id}").status_code == 200
            assert client.post("/v1/routes", json=ROUTE).status_code == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert client.post("/v1/plans", json=PLAN).status_code == 202


def test_read_only_database_is_503_for_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(database_url(None, path))
    old = store.submit("plan", {}, queue_size=10)
    store.close()

    # Root ignores file modes, so open the file read-only the way SQLite does for a 0444 file.
    def read_only(self: JobStore) -> sqlite3.Connection:
        return sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )

    monkeypatch.setattr(JobStore, "_sqlite_connect", read_only)
    client = TestClient(create_app(settings(tmp_path)))
    response = client.post("/v1/plans", json=PLAN)
    assert response.status_code == 503
    assert "read-only" in only_error(response)["msg"]
    assert client.get(f"/v1/plans/{old.id}").status_code == 200  # reads still work
    assert client.post("/v1/routes", json=ROUTE).status_code == 200


def test_damaged_database_is_503_and_routes_still_work(tmp_path: Path) -> None:
    (tmp_path / "jobs.sqlite3").write_bytes(b"this is not a database" * 100)
    with TestClient(create_app(settings(tmp_path))) as client:
        response = client.post("/v1/plans", json=PLAN)
        assert response.status_code == 503
        assert "damaged" in only_error(response)["msg"]
        assert client.post("/v1/routes", json=ROUTE).status_code == 200
        assert client.get("/health").status_code == 200


def test_servers_on_one_database_answer_for_each_others_jobs(tmp_path: Path) -> None:
    with serving(settings(tmp_path)) as first:
        second = TestClient(create_app(settings(tmp_path)))
        job_id = second.post("/v1/plans", json=PLAN).json()["id"]
        assert wait_for_job(first, job_id)["status"] == "done"
        assert second.get(f"/v1/plans/{job_id}").json() == first.get(f"/v1/plans/{job_id}").json()


# -- the route gate ------------------------------------------------------------------------------

HEAVY = {"origin": "Shanghai", "destination": "Duisburg", "ready": "2026-12-01", "pareto": True}


def test_route_search_over_its_budget_is_503_within_the_budget(tmp_path: Path) -> None:
    # The search looks at its deadline before its first label, and preparing it takes far longer
    # than a microsecond, so it stops with no route on any machine. (A larger budget is not
    # machine-proof: a search that finds some routes before its deadline answers with those.)
    budget_s = 1e-6
    app = create_app(settings(tmp_path, network_dir=None, route_timeout_s=budget_s))
    with TestClient(app) as client:
        started = time.monotonic()
        response = client.post("/v1/routes", json=HEAVY)
        assert time.monotonic() - started < budget_s + 1
        assert response.status_code == 503
        assert "time budget of 1e-06 s" in only_error(response)["msg"]
        assert response.headers["retry-after"] == "5"
    with TestClient(create_app(settings(tmp_path, network_dir=None))) as client:
        response = client.post("/v1/routes", json=HEAVY)  # the default budget: served
        assert response.status_code == 200 and len(response.json()["routes"]) > 1


def test_search_errors_reach_the_client_whole(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path))) as client:
        response = client.post("/v1/routes", json=ROUTE | {"destination": "delt"})
        assert response.status_code == 422
        (item,) = response.json()["detail"]
        assert item["loc"] == ["body", "destination"]
        assert "Delta Wind Farm" in item["suggestions"]


def stubborn(
    seen: list[Stop], started: threading.Event, release: threading.Event, stop: Stop
) -> bytes:
    """A search that does not look at its stop until ``release`` is set."""
    seen.append(stop)
    started.set()
    release.wait(30)
    return b"late"


def test_gate_bounds_waiting_searches_and_abandons_overdue_ones() -> None:
    gate = RouteGate(threads=1, queue_size=1, budget_s=0.5, cache_bytes=1 << 20)
    seen: list[Stop] = []
    started, release = threading.Event(), threading.Event()
    search = functools.partial(stubborn, seen, started, release)

    async def scenario() -> tuple[BaseException | bytes, BaseException | bytes]:
        first = asyncio.create_task(gate.answer("a", search))
        await anyio.to_thread.run_sync(started.wait)
        waiting = asyncio.create_task(gate.answer("b", search))
        await asyncio.sleep(0.05)
        with pytest.raises(Busy, match="waiting"):  # one running, one waiting: full
            await gate.answer("c", search)
        return await asyncio.gather(first, waiting, return_exceptions=True)

    began = time.monotonic()
    try:
        answers = asyncio.run(scenario())
    finally:
        release.set()
    # Neither answered within its budget (one searching, one waiting for the thread): both 503
    # soon after it, and the search was told to stop.
    assert time.monotonic() - began < 0.5 + 1
    assert all(isinstance(answer, Busy) and "0.5 s" in str(answer) for answer in answers)
    assert len(seen) == 1 and seen[0].cancelled


def test_gate_keeps_only_whole_answers() -> None:
    gate = RouteGate(threads=1, queue_size=1, budget_s=0.2, cache_bytes=1 << 20)

    def until_stopped(stop: Stop) -> bytes:  # finds something, then runs out of budget
        while not stop():
            time.sleep(0.005)
        return b"partial"

    async def scenario() -> bytes:
        return await gate.answer("q", until_stopped)

    assert asyncio.run(scenario()) == b"partial"
    assert gate.cache.get("q") is None


def test_gate_answers_repeated_queries_from_memory() -> None:
    gate = RouteGate(threads=1, queue_size=1, budget_s=5, cache_bytes=1 << 20)
    calls: list[Stop] = []

    def search(stop: Stop) -> bytes:
        calls.append(stop)
        return b"answer"

    async def scenario() -> list[bytes]:
        return [await gate.answer("q", search) for _ in range(3)]

    assert asyncio.run(scenario()) == [b"answer"] * 3
    assert len(calls) == 1


def test_answer_cache_keeps_within_its_budget() -> None:
    cache = AnswerCache(max_bytes=800)
    for i in range(20):
        cache.put(str(i), b"x" * 100)
    assert cache.get("19") == b"x" * 100
    assert cache.get("0") is None
    assert sum(cache.get(str(i)) is not None for i in range(20)) == 8
    cache.put("huge", b"x" * 200)  # over an eighth of the budget: not kept
    assert cache.get("huge") is None


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SILKROUTE_PORT", "9123")
    monkeypatch.setenv("SILKROUTE_MAX_ALTERNATIVES", "3")
    monkeypatch.setenv("SILKROUTE_API_KEY", "")
    loaded = Settings()
    assert loaded.port == 9123 and loaded.max_alternatives == 3
    assert loaded.api_key is None
    assert loaded.host == "127.0.0.1"
    monkeypatch.setenv("SILKROUTE_MAX_BODY_BYTES", "-1")
    with pytest.raises(ValueError, match="max_body_bytes"):
        Settings()


def test_serve_refuses_bad_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SILKROUTE_WORKERS", "0")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "workers" in result.output


def test_bundled_network_is_the_default(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path, network_dir=None))) as client:
        assert client.get("/health").json()["network"] == load_network().stats()
