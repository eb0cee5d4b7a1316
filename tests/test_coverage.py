"""Coverage of the bundled pack and the gazetteer: terminals in China, Europe and between, cities
by name, and sites joined to the network with short road legs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from graphs import BUNDLED_PACK, Network
from graphs.errors import AmbiguousPlaceError, InputError, UnknownPlaceError
from graphs.gazetteer import COVERED_COUNTRIES, country_code, gazetteer, split_country
from graphs.places import locate
from routing.cli import app
from routing.model import Cargo, Shipment
from routing.route import Route
from routing.routes import find_routes
from routing.scenario import Scenario
from service import Settings, create_app

EU = set(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)
DOCS = Path(__file__).parent.parent / "docs"
EUROPE = EU | {"NO", "CH", "GB", "RS", "TR"}
# A city centre's truck to the nearest suitable terminal of the pack: 60 km covers a terminal on
# the edge of the city (Coslada is 13 km from central Madrid, Vuosaari 15 km from Helsinki).
SHORT_ROAD_KM = 60.0
CENTRES = {
    "Madrid": "40.4168,-3.7038",
    "Shenzhen": "22.5431,114.0579",
    "Helsinki": "60.1699,24.9384",
}


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    """The service on the bundled pack, with a job database of the test's own."""
    settings = Settings(network_dir=BUNDLED_PACK, database_path=tmp_path / "jobs.sqlite3")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def terminals(net: Network, countries: set[str]) -> list[str]:
    return [
        node.id
        for node in net.nodes.values()
        if node.country in countries and node.kind in ("rail_terminal", "sea_port", "hub")
    ]


def road_legs(route: Route) -> tuple[float, float]:
    """Kilometres of the site's own road legs: the first move and the last."""
    moves = [step for step in route.steps if step.kind == "move"]
    assert moves[0].mode == "road" and moves[-1].mode == "road"
    return moves[0].distance_km, moves[-1].distance_km


def test_sixty_chinese_origins_and_eighty_european_destinations(bundled: Network) -> None:
    assert len(terminals(bundled, {"CN"})) >= 60
    assert len(terminals(bundled, EUROPE)) >= 80
    assert {node.country for node in bundled.nodes.values()} >= EU
    for word in ("irun-hendaye", "trakiszki-mockava", "tornio-haparanda", "kapikule"):
        assert any(word in c.base_id for c in bundled.crossings.values()), word


def test_iberian_gauge_changes_at_irun(bundled: Network) -> None:
    crossing = bundled.crossings["irun-hendaye-rail"]
    assert crossing.gauge_change
    gauges = {link.gauge_mm for link in bundled.links.values() if "madrid" in link.id}
    assert gauges == {1668, None}


def test_every_chinese_port_has_a_sea_option_to_europe(bundled: Network) -> None:
    ship = Shipment("Qingdao", "Gdansk", Cargo(teu=2), ready="2026-12-01")
    route = find_routes(bundled, ship, modes=["sea"])[0]
    assert route.modes == ("sea",)
    assert "port-said" in {step.to_node for step in route.steps}


def test_istanbul_reaches_the_eu_by_land_and_poti_by_ferry_to_constanta(bundled: Network) -> None:
    land = find_routes(
        bundled, Shipment("Istanbul", "Sofia", Cargo(teu=2), ready="2026-12-01"), modes=["road"]
    )[0]
    assert "kapikule-kapitan-andreevo-road" in {c.removesuffix(":rev") for c in land.crossings}
    ferry = find_routes(
        bundled, Shipment("Poti", "Constanta", Cargo(teu=2), ready="2026-12-01"), modes=["ferry"]
    )[0]
    assert ferry.crossings == ("poti-constanta-ferry",)


def test_a_gazetteer_city_routes_by_name(bundled: Network) -> None:
    ship = Shipment("Zwickau", "Baoding, CN", Cargo(teu=2), ready="2026-12-01")
    route = find_routes(bundled, ship)[0]
    assert route.origin.startswith("site-") and route.destination.startswith("site-")
    assert any("Zwickau, DE is a site" in note for note in route.notes)
    assert bundled.nodes.get(route.origin) is None  # the pack itself is unchanged


def test_an_ambiguous_name_lists_candidates_with_countries(bundled: Network) -> None:
    with pytest.raises(AmbiguousPlaceError) as caught:
        locate(bundled, "Baoding")
    assert len(caught.value.suggestions) >= 2
    assert all(", CN (pop." in text for text in caught.value.suggestions)
    assert "City, CC" in str(caught.value)


def test_city_and_country_picks_the_right_suzhou(bundled: Network) -> None:
    with pytest.raises(AmbiguousPlaceError):
        gazetteer().lookup("Suzhou")
    for text in ("Suzhou, CN", "Suzhou, China"):
        city = gazetteer().lookup(text)
        assert (round(city.lat, 1), round(city.lon, 1)) == (31.3, 120.6)  # Jiangsu, not Anhui
    # the pack's Suzhou (Jiangsu) wins over the gazetteer, with or without the country
    assert locate(bundled, "Suzhou, CN").id == "suzhou"
    assert locate(bundled, "Suzhou").id == "suzhou"


def test_pack_places_win_and_a_country_that_does_not_fit_goes_to_the_gazetteer(
    bundled: Network,
) -> None:
    assert locate(bundled, "Brest").id == "brest"  # the Belarusian border station
    french = locate(bundled, "Brest, FR")
    assert not hasattr(french, "id") and french.country == "FR"


def test_another_name_of_a_pack_city_is_the_pack_place(bundled: Network) -> None:
    assert locate(bundled, "Tashkend").id == "tashkent"  # a GeoNames name of Tashkent
    assert locate(bundled, "Koeln").id == "cologne"


def test_country_names_and_codes() -> None:
    assert country_code("CN") == "CN"
    assert country_code("china") == "CN"
    assert country_code("Turkey") == "TR"
    assert country_code("UK") == "GB"
    assert country_code("Narnia") is None
    assert split_country("Frankfurt, Oder") == ("Frankfurt, Oder", None)
    assert split_country("Valencia, ES") == ("Valencia", "ES")
    assert {"CN", "DE", "KZ", "TR", "GB"} <= COVERED_COUNTRIES


def test_unknown_and_outside_names_are_clear(bundled: Network) -> None:
    with pytest.raises(UnknownPlaceError) as unknown:
        locate(bundled, "Xqzzyv")
    assert "unknown place" in str(unknown.value)
    with pytest.raises(InputError, match="outside the covered region"):
        locate(bundled, "Tehran")


def test_a_coordinate_outside_the_region_names_the_region(bundled: Network) -> None:
    ship = Shipment("35.69,51.39", "Madrid", Cargo(teu=2), ready="2026-12-01")
    with pytest.raises(InputError, match=r"outside the covered region .*Europe") as caught:
        find_routes(bundled, ship)
    assert caught.value.field == "origin"


@pytest.mark.parametrize(
    ("origin", "destination"), [("Shenzhen", "Madrid"), ("Shenzhen", "Helsinki")]
)
def test_sites_in_city_centres_route_with_short_road_legs(
    bundled: Network, origin: str, destination: str
) -> None:
    ship = Shipment(CENTRES[origin], CENTRES[destination], Cargo(teu=2), ready="2026-12-01")
    for objective in ("cost", "co2e", "balanced"):
        route = find_routes(bundled, ship, objective=objective)[0]  # type: ignore[arg-type]
        first, last = road_legs(route)
        assert 0 < first <= SHORT_ROAD_KM, (objective, first)
        assert 0 < last <= SHORT_ROAD_KM, (objective, last)
        assert any("great-circle x 1.3" in note for note in route.notes)


def test_cli_and_http_resolve_names_alike(client: TestClient) -> None:
    cli = CliRunner().invoke(app, ["route", "Baoding", "Madrid"])
    assert cli.exit_code == 2
    assert "Baoding, CN (pop." in cli.output
    body = {
        "origin": "Baoding",
        "destination": "Madrid",
        "cargo": {"teu": 2},
        "ready": "2026-12-01",
    }
    answer = client.post("/v1/routes", json=body)
    assert answer.status_code == 422, answer.text
    assert "Baoding, CN (pop." in answer.text
    body["origin"] = "Baoding, CN"
    found = client.post("/v1/routes", json=body)
    assert found.status_code == 200, found.text
    assert found.json()["routes"][0]["origin"].startswith("site-")


def test_places_filter_by_country_and_kind(bundled: Network, client: TestClient) -> None:
    ports = bundled.places.search(country="ES", kind="sea_port")
    assert {node.id for node in ports} == {"algeciras", "barcelona", "bilbao", "valencia"}
    assert bundled.places.search("Madrid", country="Spain")[0].id == "madrid"
    with pytest.raises(InputError, match="kind"):
        bundled.places.search(kind="port")
    result = CliRunner().invoke(app, ["places", "--country", "FI", "--kind", "sea_port"])
    assert result.exit_code == 0, result.output
    assert "Helsinki" in result.output and "Kotka" in result.output
    bad = CliRunner().invoke(app, ["places", "--country", "Narnia"])
    assert bad.exit_code == 2
    answer = client.get("/v1/places", params={"country": "PT"}).json()
    assert {place["country"] for place in answer["places"]} == {"PT"}
    assert client.get("/v1/places", params={"kind": "castle"}).status_code == 422


def test_the_cape_is_the_sea_route_when_suez_is_closed(bundled: Network) -> None:
    scenario = yaml.safe_load((DOCS / "scenarios" / "suez-closed.yaml").read_text())
    closed = Scenario(name=scenario["name"], data=scenario).apply(bundled)
    ship = Shipment("Ningbo", "Port of Hamburg", Cargo(teu=2), ready="2026-12-02")
    suez = find_routes(bundled, ship, modes=["sea"])[0]
    cape = find_routes(closed, ship, modes=["sea"])[0]
    assert "port-said" in {step.to_node for step in suez.steps}
    assert "port-said" not in {step.to_node for step in cape.steps}
    assert cape.transit_days > suez.transit_days + 5


def test_a_train_from_madrid_changes_gauge_at_irun(bundled: Network) -> None:
    ship = Shipment("Madrid", "Paris", Cargo(teu=2), ready="2026-12-02")
    route = find_routes(bundled, ship, modes=["rail"])[0]
    borders = [step for step in route.steps if step.kind == "border"]
    assert [step.crossing for step in borders] == ["irun-hendaye-rail"]
    assert borders[0].note == "gauge change 1668/1435 mm"
