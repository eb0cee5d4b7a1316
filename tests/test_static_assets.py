"""The map page's assets: the vendored map library, the bundled countries, the icon; all served
from the package by fixed name."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service import Settings, create_app

TINY = Path(__file__).parent / "packs" / "tiny"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    database = tmp_path_factory.mktemp("static") / "jobs.sqlite3"
    with TestClient(create_app(Settings(network_dir=TINY, database_path=database))) as c:
        yield c


def test_favicon_is_an_icon(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"  # the ICO header


def test_vendored_leaflet_and_its_licence_are_served(client: TestClient) -> None:
    script = client.get("/static/vendor/leaflet/leaflet.js")
    assert script.status_code == 200 and "Leaflet 1.9.4" in script.text
    assert client.get("/static/vendor/leaflet/leaflet.css").status_code == 200
    assert "BSD 2-Clause" in client.get("/static/vendor/leaflet/LICENSE").text
    page = client.get("/").text
    assert '<script src="/static/vendor/leaflet/leaflet.js">' in page
    for unknown in ("/static/vendor/other.js", "/static/vendor/leaflet/", "/static/vendor"):
        assert client.get(unknown).status_code == 404, unknown


def test_bundled_countries_cover_the_network_and_name_their_source(client: TestClient) -> None:
    response = client.get("/static/countries.geojson")
    assert response.status_code == 200
    data = json.loads(response.content)
    assert "Natural Earth" in data["source"]
    names = {f["properties"]["name"] for f in data["features"]}
    for country in ("China", "Kazakhstan", "Uzbekistan", "Russia", "Poland", "Germany", "Turkey"):
        assert country in names
    assert len(response.content) < 600_000  # simplified: the page stays light
    for feature in data["features"]:
        lon, lat = feature["properties"]["label"]
        assert -25 <= lon <= 160 and -12 <= lat <= 80
