"""Route and network maps: a real PNG with the routes on it, and honest geometry helpers."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np
import pytest
from matplotlib import colors
from matplotlib.image import imread
from numpy.typing import NDArray
from pyproj import Geod
from typer.testing import CliRunner

import routing.plot
from graphs import Network, load_network
from routing.cli import app
from routing.model import Cargo, Shipment
from routing.plot import (
    ROUTE_COLOURS,
    MapProjection,
    map_extent,
    nice_scale_km,
    offset_polyline,
    plot_network,
    plot_routes,
    scale_bar_length_m,
    schematic_arc,
)
from routing.route import Route
from routing.routes import find_routes

TINY = Path(__file__).parent / "packs" / "tiny"
WGS84 = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def tiny_net() -> Network:
    """Five places, two countries, a rail crossing with a gauge change and a road crossing."""
    return load_network(TINY)


@pytest.fixture(scope="module")
def two_routes(tiny_net: Network) -> list[Route]:
    """Alpha to the Delta wind farm: the Monday train via the rail crossing, and a faster
    alternative over the road crossing; they share every other link."""
    shipment = Shipment("alpha", "delta", Cargo(teu=2), ready="2026-12-05")
    routes = find_routes(tiny_net, shipment, alternatives=1)
    assert len(routes) == 2
    return routes


def _png(draw: Callable[[IO[bytes]], None]) -> tuple[bytes, NDArray[np.float32]]:
    buffer = io.BytesIO()
    draw(buffer)
    data = buffer.getvalue()
    return data, imread(io.BytesIO(data), format="png")


def _near(image: NDArray[np.float32], colour: str, tolerance: float = 0.06) -> NDArray[np.bool_]:
    rgb = np.array(colors.to_rgb(colour), dtype=np.float32)
    near: NDArray[np.bool_] = np.all(np.abs(image[:, :, :3] - rgb) <= tolerance, axis=2)
    return near


def test_route_map_is_a_png_with_both_routes_on_it(
    tiny_net: Network, two_routes: list[Route]
) -> None:
    data, image = _png(lambda f: plot_routes(tiny_net, two_routes, f))
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    height, width = image.shape[:2]
    assert width == 1500
    assert 700 <= height <= 1500
    distinct = np.unique((image[:, :, :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(distinct) > 200, "a map has land, lines, text and antialiasing, not a flat field"
    # The legend is in the bottom band: count route colours in the map above it.
    map_area = image[: int(height * 0.7)]
    background = np.median(map_area[:, :, :3].reshape(-1, 3), axis=0)
    for colour in ROUTE_COLOURS[:2]:
        assert not np.allclose(background, colors.to_rgb(colour), atol=0.1)
        assert _near(map_area, colour).sum() > 1000, f"route drawn in {colour} is missing"
    assert _near(map_area, ROUTE_COLOURS[2]).sum() == 0, "only two routes were asked for"


def test_route_map_without_country_outlines_still_shows_the_network(
    tiny_net: Network, two_routes: list[Route], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing.plot, "_land_rings", lambda: ())
    _, image = _png(lambda f: plot_routes(tiny_net, two_routes, f, title="no outlines"))
    assert _near(image[: int(image.shape[0] * 0.7)], ROUTE_COLOURS[0]).sum() > 1000


def test_same_routes_give_the_same_bytes(tiny_net: Network, two_routes: list[Route]) -> None:
    first, _ = _png(lambda f: plot_routes(tiny_net, two_routes, f))
    second, _ = _png(lambda f: plot_routes(tiny_net, two_routes, f))
    assert first == second


def test_network_map(tiny_net: Network) -> None:
    data, image = _png(lambda f: plot_network(tiny_net, f))
    assert data.startswith(b"\x89PNG")
    assert image.shape[1] == 1500
    assert _near(image, routing.plot.MODE_COLOURS["road"], 0.04).sum() > 200


def test_projection_keeps_east_west_and_north_south_order() -> None:
    projection = MapProjection()
    lons = np.arange(0.0, 126.0, 5.0)
    for lat in (25.0, 42.0, 60.0):
        x, _ = projection.forward(lons, np.full_like(lons, lat))
        assert np.all(np.diff(x) > 0)
    lats = np.arange(25.0, 61.0, 5.0)
    for lon in (0.0, 70.0, 125.0):
        _, y = projection.forward(np.full_like(lats, lon), lats)
        assert np.all(np.diff(y) > 0)
    xian_lon, xian_lat = projection.inverse(*projection.forward(108.94, 34.34))
    assert float(xian_lon) == pytest.approx(108.94) and float(xian_lat) == pytest.approx(34.34)


@pytest.mark.parametrize("lat", [25.0, 35.0, 45.0, 60.0])
@pytest.mark.parametrize("km", [50, 250, 1000])
def test_scale_bar_spans_the_km_it_claims(lat: float, km: int) -> None:
    projection = MapProjection()
    x0, y0 = projection.forward(20.0, lat)
    length = scale_bar_length_m(projection, float(x0), float(y0), km)
    lon0, lat0 = projection.inverse(x0, y0)
    lon1, lat1 = projection.inverse(x0 + length, y0)
    _, _, metres = WGS84.inv(float(lon0), float(lat0), float(lon1), float(lat1))
    assert metres / 1000 == pytest.approx(km, rel=0.02)


def test_scale_is_measured_not_assumed() -> None:
    """Far from the standard parallels the conic stretches: a naive metre-for-metre bar would be
    off by more than the 2 % the figure allows, the measured one is not."""
    projection = MapProjection()
    x0, y0 = projection.forward(10.0, 62.0)
    length = scale_bar_length_m(projection, float(x0), float(y0), 500)
    assert abs(length / 500_000 - 1) > 0.02


@pytest.mark.parametrize(
    ("longest", "expected"), [(0.5, 1), (7, 5), (240, 200), (260, 250), (999, 500), (1000, 1000)]
)
def test_nice_scale_km(longest: float, expected: int) -> None:
    assert nice_scale_km(longest) == expected


def test_offset_moves_a_line_sideways_by_the_distance() -> None:
    eastward = np.array([[0.0, 0.0], [1000.0, 0.0], [2000.0, 0.0]])
    shifted = offset_polyline(eastward, 50.0)
    assert np.allclose(shifted[:, 1], 50.0), "left of an eastward line is north"
    assert np.allclose(shifted[:, 0], eastward[:, 0])
    bend = np.array([[0.0, 0.0], [1000.0, 0.0], [1000.0, 1000.0], [1000.0, 1000.0]])
    shifted = offset_polyline(bend, 10.0)
    assert np.allclose(shifted[1], [990.0, 10.0]), "a right-angle bend is mitred"
    assert np.all(np.isfinite(shifted)), "a repeated point does not break the offset"


@pytest.mark.parametrize("reverse", [False, True])
def test_long_sea_voyage_bows_south_whichever_way_it_sails(reverse: bool) -> None:
    projection = MapProjection()
    shanghai_rotterdam = [(121.5, 31.2), (4.4, 51.9)]
    ends = np.column_stack(projection.forward(*zip(*shanghai_rotterdam, strict=True)))
    ends = ends[::-1] if reverse else ends
    arc = schematic_arc(ends)
    assert np.allclose(arc[0], ends[0]) and np.allclose(arc[-1], ends[-1])
    _, lat = projection.inverse(arc[:, 0], arc[:, 1])
    assert lat.min() < 25, "the arc passes south of Asia's mountains, not across Siberia"


def test_extent_holds_the_points_at_the_map_aspect() -> None:
    points = np.array([[0.0, 0.0], [3_000_000.0, 500_000.0]])
    xmin, xmax, ymin, ymax = map_extent(points, aspect=0.6)
    assert xmin < 0 and xmax > 3_000_000 and ymin < 0 and ymax > 500_000
    assert (ymax - ymin) / (xmax - xmin) == pytest.approx(0.6)
    small = map_extent(np.array([[0.0, 0.0], [10.0, 10.0]]), aspect=0.5)
    assert small[1] - small[0] >= routing.plot.MIN_SPAN_M


def test_cli_route_writes_the_plot(tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    result = CliRunner().invoke(
        app,
        [
            "route",
            "alpha",
            "delta",
            "--network",
            str(TINY),
            "--ready",
            "2026-12-05",
            "--alternatives",
            "1",
            "--plot",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    assert imread(out).shape[1] == 1500
    assert list(tmp_path.iterdir()) == [out], "no temporary file is left behind"


def _share_near(png: bytes, colour: str, tolerance: float = 0.06) -> float:
    pixels = imread(io.BytesIO(png), format="png")[..., :3]
    target = np.array(colors.to_rgb(colour))
    return float(np.all(np.abs(pixels - target) < tolerance, axis=-1).mean())


def test_plan_map_draws_ways_by_teu_and_strikes_closed_crossings() -> None:
    from routing.plot import MODE_COLOURS, plot_plan
    from routing.scenario import apply_scenario

    net = load_network(TINY)
    ship = Shipment("alpha", "delta", Cargo(teu=2), ready="2026-12-05")
    route = find_routes(net, ship)[0]
    open_map = io.BytesIO()
    plot_plan(net, [(route, 40.0)], open_map)
    png = open_map.getvalue()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert _share_near(png, MODE_COLOURS["rail"]) > 0.002  # the rail leg, drawn wide
    assert _share_near(png, "#c62828") == 0.0
    closed = apply_scenario(
        net, {"closures": [{"crossing": "tiny-road", "from": "2026-12-01", "to": "2026-12-31"}]}
    )
    struck = io.BytesIO()
    plot_plan(closed, [(route, 40.0)], struck)
    assert _share_near(struck.getvalue(), "#c62828") > 0.0
