"""Bounded fuzzing of the HTTP API: schemathesis generates requests from the app's own OpenAPI
document (valid and invalid ones), and hypothesis builds near-valid route and plan bodies on the
tiny pack. However odd the request, the answer is never a 5xx, and a 4xx names what is wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from service import Settings, create_app
from tests.profiles import examples

from .conftest import PACKS

EXAMPLES_PER_OPERATION = 30
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The service on the tiny pack, started as a server starts it; a lucky valid plan body
    runs for a second at most."""
    app = create_app(
        Settings(
            network_dir=PACKS / "tiny",
            database_path=tmp_path_factory.mktemp("fuzz") / "jobs.sqlite3",
            plan_queue_size=100_000,
            max_solver_seconds=1,
            default_solver_seconds=1,
        )
    )
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


@pytest.fixture(scope="module", autouse=True)
def report(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many requests each part of the fuzzing sent and what came back."""
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else _nothing():
        print(f"\nservice fuzzing: {sum(TALLY.values())} requests")
        for key, count in sorted(TALLY.items()):
            print(f"  {key}: {count}")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: object) -> None:
        return None


def check(response: Any, label: str) -> None:
    TALLY[f"{label}: {response.status_code}"] += 1
    assert response.status_code < 500, (label, response.status_code, response.text[:500])
    if response.status_code == 422:
        detail = response.json()["detail"]
        assert isinstance(detail, list) and detail
        assert all("loc" in item and item["msg"] for item in detail)


def _openapi_cases() -> list[tuple[str, str, GenerationMode]]:
    """Every operation with valid inputs; those that take input also with invalid ones."""
    spec = create_app(Settings(network_dir=PACKS / "tiny")).openapi()
    cases = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("parameters") or operation.get("requestBody"):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize(("method", "path", "mode"), _openapi_cases())
def test_openapi_operations_never_answer_5xx(
    client: TestClient, method: str, path: str, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_dict(client.app.openapi())  # type: ignore[attr-defined]
    strategy = schema[path][method].as_strategy(generation_mode=mode)

    @settings(
        max_examples=examples(EXAMPLES_PER_OPERATION),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        raw = kwargs.get("data")
        response = client.request(
            kwargs["method"],
            kwargs["url"],
            headers={k: str(v) for k, v in kwargs.get("headers", {}).items()},
            params=kwargs.get("params") or None,
            json=kwargs.get("json"),
            content=raw if isinstance(raw, bytes | str) else None,
        )
        check(response, f"{method} {path} ({mode.value})")

    run()


# -- near-valid bodies on the tiny pack ----------------------------------------------------------

PLACE_IDS = {
    "alpha": "alpha",
    "Alpha City": "alpha",
    "ALFA": "alpha",
    "border-cn": "border-cn",
    "border-kz": "border-kz",
    "Grenze": "border-kz",
    "gamma": "gamma",
    "delta": "delta",
}
PLACES = list(PLACE_IDS)
odd_text = st.text(max_size=40) | st.sampled_from(["", " ", "../../etc/passwd", "NaN", "é" * 300])
known_place = st.sampled_from(PLACES)
place = st.one_of(known_place, known_place, known_place, odd_text)
sensible = st.floats(min_value=0.5, max_value=50) | st.integers(1, 40)
number = st.one_of(
    sensible,
    sensible,
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e7),
    st.integers(-10, 10_000),
    st.sampled_from([0, 1e-9, 1e12, None, "4", True]),
)
cargo = st.one_of(
    st.fixed_dictionaries({"teu": number}, optional={"weight_t": number}),
    st.fixed_dictionaries(
        {
            "pieces": st.integers(-1, 20) | number,
            "length_m": number,
            "width_m": number,
            "height_m": number,
            "weight_t": number,
        }
    ),
    st.dictionaries(st.sampled_from(["teu", "pieces", "length_m", "bogus"]), number, max_size=3),
)
good_date = st.sampled_from(["2026-12-01", "2026-12-07", "2026-12-01T06:30:00+05:00"])
bad_date = st.sampled_from(["2026-02-30", "1999-12-31", "2101-01-01", "", "tomorrow", "12/1/26"])
dates = st.one_of(good_date, good_date, bad_date)
avoid = st.fixed_dictionaries(
    {},
    optional={
        "countries": st.lists(st.sampled_from(["CN", "KZ", "kz", "XX", ""]), max_size=3),
        "nodes": st.lists(place, max_size=3),
        "crossings": st.lists(st.sampled_from(["tiny-rail", "tiny-road", "nope"]), max_size=2),
        "modes": st.lists(st.sampled_from(["rail", "road", "sea", "ferry"]), max_size=2),
    },
)
route_body = st.fixed_dictionaries(
    {"origin": place, "destination": place},
    optional={
        "cargo": cargo,
        "ready": dates,
        "objective": st.sampled_from(["cost", "time", "co2e", "balanced", "speed"]),
        "avoid": avoid,
        "modes": st.lists(st.sampled_from(["rail", "road", "air"]), max_size=3),
        "max_transit_days": number,
        "max_cost_usd": number,
        "alternatives": st.integers(-1, 12),
        "pareto": st.booleans(),
        "value_usd": number,
        "value_of_time_usd_per_day": number,
        "carbon_price_usd_per_t": number,
    },
)


@settings(
    max_examples=examples(150),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(body=route_body)
def test_near_valid_route_bodies(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/v1/routes", json=body)
    check(response, "near-valid routes")
    if response.status_code == 200:
        answer = response.json()
        assert (answer["routes"] == []) == (answer["infeasible_reason"] is not None)
        banned = {c.upper() for c in body.get("avoid", {}).get("countries", [])}
        for route in answer["routes"]:
            assert not banned & set(route["countries"])


valid_route_body = st.fixed_dictionaries(
    {
        "origin": known_place,
        "destination": known_place,
        "cargo": st.one_of(
            st.fixed_dictionaries({"teu": st.integers(1, 200)}),
            st.fixed_dictionaries(
                {
                    "pieces": st.integers(1, 5),
                    "length_m": st.floats(1, 40),
                    "width_m": st.floats(1, 6),
                    "height_m": st.floats(1, 6),
                    "weight_t": st.floats(1, 300),
                }
            ),
        ),
        "ready": good_date,
        "objective": st.sampled_from(["cost", "time", "co2e", "balanced"]),
        "alternatives": st.integers(0, 3),
        "pareto": st.booleans(),
    },
    optional={
        "avoid": st.fixed_dictionaries(
            {
                "crossings": st.lists(st.sampled_from(["tiny-rail", "tiny-road"]), max_size=1),
                "modes": st.lists(st.sampled_from(["sea", "ferry", "rail"]), max_size=1),
            }
        ),
        "max_transit_days": st.floats(1, 60),
        "carbon_price_usd_per_t": st.floats(0, 500),
    },
).filter(lambda body: PLACE_IDS[body["origin"]] != PLACE_IDS[body["destination"]])


@settings(
    max_examples=examples(80), deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
@given(body=valid_route_body)
def test_valid_route_bodies_answer_200_with_consistent_routes(
    client: TestClient, body: dict[str, Any]
) -> None:
    response = client.post("/v1/routes", json=body)
    check(response, "valid routes")
    assert response.status_code == 200, response.text[:300]
    answer = response.json()
    banned_crossings = set(body.get("avoid", {}).get("crossings", []))
    banned_modes = set(body.get("avoid", {}).get("modes", []))
    for route in answer["routes"]:
        assert not banned_crossings & {c.removesuffix(":rev") for c in route["crossings"]}
        assert not banned_modes & set(route["modes"])
        steps = route["steps"]
        assert route["totals"]["cost_usd"] == pytest.approx(
            sum(step["cost_usd"] for step in steps), abs=0.01 * len(steps) + 0.01
        )
        assert [s["start"] for s in steps] == sorted(s["start"] for s in steps)


shipment = st.fixed_dictionaries(
    {"origin": place, "destination": place, "cargo": cargo, "ready": dates},
    optional={
        "id": st.text(max_size=5),
        "due": dates,
        "priority": st.integers(-1, 12),
        "avoid_countries": st.lists(st.sampled_from(["CN", "KZ", "??"]), max_size=2),
    },
)
scenario = st.fixed_dictionaries(
    {},
    optional={
        "closures": st.lists(
            st.fixed_dictionaries(
                {"crossing": st.sampled_from(["tiny-rail", "nope"]), "from": dates, "to": dates}
            ),
            max_size=2,
        ),
        "capacity": st.lists(
            st.fixed_dictionaries({"crossing": st.just("tiny-road"), "scale": number}), max_size=2
        ),
        "tariffs": st.just("not a list"),
    },
)


@settings(
    max_examples=examples(100),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    body=st.fixed_dictionaries(
        {"shipments": st.lists(shipment, max_size=4)},
        optional={"time_limit_s": number, "scenario": scenario | st.none()},
    )
)
def test_near_valid_plan_bodies(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/v1/plans", json=body)
    check(response, "near-valid plans")
    assert response.status_code in (202, 422), response.text[:300]


def test_junk_never_reaches_a_5xx(client: TestClient) -> None:
    junk: list[tuple[str, str, bytes, dict[str, str]]] = [
        ("POST", "/v1/routes", b"\x00" * 100, {"content-type": "application/json"}),
        ("POST", "/v1/routes", b'{"origin": 1e400}', {"content-type": "application/json"}),
        ("POST", "/v1/routes", b'{"origin": "a"}', {"content-type": "text/plain"}),
        ("POST", "/v1/routes", b"origin=a", {"content-type": "application/x-www-form-urlencoded"}),
        ("POST", "/v1/plans", b'{"shipments": ' + b"[" * 20_000, {}),
        ("POST", "/v1/plans", b'{"shipments": [' + b"{}," * 30_000 + b"{}]}", {}),
        ("GET", "/v1/places?q=%00%ff", b"", {}),
        ("GET", "/v1/plans/%2e%2e%2f%2e%2e%2fetc%2fpasswd", b"", {}),
        ("PUT", "/v1/routes", b"{}", {}),
        ("DELETE", "/v1/plans/x", b"", {}),
    ]
    for method, path, content, headers in junk:
        response = client.request(method, path, content=content, headers=headers)
        check(response, "junk")


def test_openapi_document_is_served(client: TestClient, tmp_path: Path) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "silkroute"
    assert "RouteRequest" in spec["components"]["schemas"]
