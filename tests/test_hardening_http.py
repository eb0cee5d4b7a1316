"""Hostile and careless requests over HTTP: each row of the hardening table, in the app
(TestClient) and against a real ``silkroute serve`` process on a free loopback port. Every error
has the one shape ``{"detail": [{"type", "loc", "msg", "input"}, ...]}``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app, lone_surrogate
from service.settings import Settings
from tests.test_service_e2e import Server

TINY = Path(__file__).parent / "packs" / "tiny"

ROUTE = {"origin": "Xi'an", "destination": "Duisburg", "ready": "2026-12-01", "objective": "time"}
SHIPMENT = {
    "id": "S1",
    "origin": "Xi'an",
    "destination": "Almaty",
    "cargo": {"teu": 2},
    "ready": "2026-12-01",
}
TOURS = {
    "depot": "Almaty",
    "deliveries": [{"id": "D1", "lat": 43.3, "lon": 77.0, "demand_t": 5}],
    "trucks": 1,
    "payload_t": 20,
    "time_limit_s": 1,
}

Post = Callable[..., httpx.Response]


def nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


def errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    """The error items, after checking the one shape every error answer has."""
    body = response.json()
    assert set(body) == {"detail"}, body
    items: list[dict[str, Any]] = body["detail"]
    assert isinstance(items, list) and items
    for item in items:
        assert {"type", "loc", "msg", "input"} <= set(item), item
        assert isinstance(item["loc"], list) and isinstance(item["msg"], str) and item["msg"]
    return items


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service in-process on the bundled network."""
    work = tmp_path_factory.mktemp("hardening-app")
    settings = Settings(database_path=work / "jobs.sqlite3")
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``silkroute serve`` on the bundled network, in its own process."""
    running = Server(tmp_path_factory.mktemp("hardening-e2e"), SILKROUTE_WORKERS="1")
    yield running.start()
    running.stop()


@pytest.fixture(params=["app", "server"])
def post(request: pytest.FixtureRequest) -> Post:
    """POST to the in-process app or to the real server; ``raw`` sends bytes as they are."""
    if request.param == "app":
        client: TestClient = request.getfixturevalue("app_client")

        def to_app(path: str, body: Any = None, raw: bytes | None = None) -> httpx.Response:
            if raw is not None:
                headers = {"Content-Type": "application/json"}
                return client.post(path, content=raw, headers=headers)
            return client.post(path, json=body)

        return to_app
    server: Server = request.getfixturevalue("server")

    def to_server(path: str, body: Any = None, raw: bytes | None = None) -> httpx.Response:
        content = raw if raw is not None else json.dumps(body).encode()
        return httpx.post(
            f"{server.url}{path}",
            content=content,
            headers={"Content-Type": "application/json"},
            timeout=120,
        )

    return to_server


# -- avoid codes -----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("spelling", ["RUS", "Russia", "ru"])
def test_avoided_country_by_any_name(post: Post, spelling: str) -> None:
    plain = post("/v1/routes", ROUTE)
    assert plain.status_code == 200 and "RU" in plain.json()["routes"][0]["countries"]
    response = post("/v1/routes", ROUTE | {"avoid": {"countries": [spelling]}})
    assert response.status_code == 200, response.text
    routes = response.json()["routes"]
    assert routes and "RU" not in routes[0]["countries"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("avoid", "loc", "text"),
    [
        ({"countries": ["RU", "XX"]}, ["body", "avoid", "countries", 1], "'XX' is not a country"),
        ({"crossings": ["khorgos"]}, ["body", "avoid", "crossings", 0], "closest: khorgos-"),
        ({"modes": ["air"]}, ["body", "avoid", "modes", 0], "rail"),
        ({"nodes": ["Almatyy"]}, ["body", "avoid", "nodes", 0], "Almaty"),
    ],
)
def test_unknown_avoid_codes_are_422_naming_them(
    post: Post, avoid: dict[str, Any], loc: list[Any], text: str
) -> None:
    response = post("/v1/routes", ROUTE | {"avoid": avoid})
    assert response.status_code == 422, response.text
    (item,) = errors_of(response)
    assert item["loc"] == loc
    assert text in item["msg"] + " ".join(item.get("suggestions") or [])


# -- strict types, text, nesting ----------------------------------------------------------------


@pytest.mark.slow
def test_teu_true_is_not_one_teu(post: Post) -> None:
    response = post("/v1/routes", ROUTE | {"cargo": {"teu": True}})
    assert response.status_code == 422
    assert errors_of(response)[0]["loc"] == ["body", "cargo", "teu"]
    plan = {"shipments": [SHIPMENT | {"cargo": {"teu": True}}]}
    response = post("/v1/plans", plan)
    assert response.status_code == 422
    assert errors_of(response)[0]["loc"] == ["body", "shipments", 0, "cargo", "teu"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/plans", {"shipments": [SHIPMENT | {"id": "S\\ud800"}]}),
        ("/v1/plans", {"shipments": [SHIPMENT], "scenario": {"name": "x\\udc00y"}}),
        ("/v1/tours", TOURS | {"depot": "Alma\\ud83dty"}),
        ("/v1/routes", ROUTE | {"origin": "\\ud800"}),
    ],
)
def test_a_lone_surrogate_is_422(post: Post, path: str, body: dict[str, Any]) -> None:
    raw = json.dumps(body).replace("\\\\u", "\\u").encode()
    assert lone_surrogate(raw)
    response = post(path, raw=raw)
    assert response.status_code == 422, response.text
    assert "surrogate" in errors_of(response)[0]["msg"]


@pytest.mark.slow
def test_a_scenario_name_nested_300_levels_is_422(post: Post) -> None:
    response = post("/v1/plans", {"shipments": [SHIPMENT], "scenario": {"name": nested(300)}})
    assert response.status_code == 422, response.text
    (item,) = errors_of(response)
    assert item["loc"] == ["body", "scenario", "name"]
    assert "a name is a string" in item["msg"]


def test_pairs_and_escaped_backslashes_are_text() -> None:
    assert not lone_surrogate(b'{"a": "\\ud83d\\ude00 and \\\\ud800"}')
    assert lone_surrogate(b'{"a": "\\ud83d"}') and lone_surrogate(b'{"a": "\\\\\\udc00"}')


# -- one error shape ----------------------------------------------------------------------------


@pytest.mark.slow
def test_every_error_has_the_one_shape(server: Server) -> None:
    cases = [
        (httpx.get(f"{server.url}/v1/nothing-here", timeout=30), 404, ["path"]),
        (httpx.delete(f"{server.url}/v1/routes", timeout=30), 405, ["path"]),
        (httpx.get(f"{server.url}/v1/plans/nope", timeout=30), 404, ["path", "job_id"]),
        (httpx.post(f"{server.url}/v1/routes", content=b"{", timeout=30), 422, None),
    ]
    for response, status, loc in cases:
        assert response.status_code == status
        items = errors_of(response)
        if loc is not None:
            assert items[0]["loc"] == loc


def test_the_api_key_errors_have_the_one_shape(tmp_path: Path) -> None:
    settings = Settings(network_dir=TINY, database_path=tmp_path / "jobs.sqlite3", api_key="s3cret")
    with TestClient(create_app(settings)) as client:
        missing = client.post("/v1/routes", json={"origin": "alpha", "destination": "delta"})
        wrong = client.post("/v1/routes", json={}, headers={"X-API-Key": "nope"})
    assert (missing.status_code, wrong.status_code) == (401, 403)
    for response in (missing, wrong):
        (item,) = errors_of(response)
        assert item["loc"] == ["header", "X-API-Key"]
    assert "WWW-Authenticate" not in wrong.headers or wrong.headers["WWW-Authenticate"]


def test_the_openapi_error_model_is_the_list_shape(tmp_path: Path) -> None:
    settings = Settings(network_dir=TINY, database_path=tmp_path / "jobs.sqlite3")
    schema = create_app(settings).openapi()["components"]["schemas"]["ErrorBody"]
    assert schema["properties"]["detail"]["type"] == "array"


def test_a_plan_shipments_avoided_countries_are_checked(app_client: TestClient) -> None:
    named = {"shipments": [SHIPMENT | {"avoid_countries": ["Russia"]}], "time_limit_s": 1}
    assert app_client.post("/v1/plans", json=named).status_code == 202
    unknown = {"shipments": [SHIPMENT | {"avoid_countries": ["RU", "XX"]}]}
    response = app_client.post("/v1/plans", json=unknown)
    assert response.status_code == 422
    (item,) = errors_of(response)
    assert item["loc"] == ["body", "shipments", 0, "avoid_countries", 1]
    assert "'XX' is not a country" in item["msg"]
