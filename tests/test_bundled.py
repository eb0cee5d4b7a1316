"""The bundled New Silk Road pack: coverage, sources, geometry, speeds and connectivity."""

from __future__ import annotations

import itertools

import networkx as nx
import pytest

from graphs import Network
from graphs.geo import great_circle_km

CHINESE_ORIGINS = [
    "Xi'an", "Chongqing", "Chengdu", "Zhengzhou", "Wuhan", "Yiwu", "Lianyungang", "Lanzhou",
    "Urumqi", "Kashgar", "Baiyin", "Shanghai",
]  # fmt: skip
CENTRAL_ASIA = [
    "Almaty", "Astana", "Shymkent", "Zharkent", "Aktau", "Kuryk", "Tashkent", "Samarkand",
    "Navoiy", "Bukhara", "Nukus", "Bishkek", "Osh", "Dushanbe", "Ashgabat", "Turkmenbashi",
]  # fmt: skip
ONWARD = [
    "Baku", "Alat", "Tbilisi", "Poti", "Batumi", "Kars", "Istanbul", "Moscow", "Brest",
    "Malaszewicze", "Warsaw", "Lodz", "Duisburg", "Hamburg", "Rotterdam",
]  # fmt: skip
EUROPEAN_TERMINALS = ["Malaszewicze", "Warsaw", "Lodz", "Duisburg", "Hamburg", "Rotterdam"]
CROSSING_WORDS = [
    "khorgos", "alashankou", "bakhty", "irkeshtam", "torugart", "erenhot", "manzhouli",
    "saryagash", "brest", "akhalkalaki", "aktau", "kuryk", "turkmenbashi",
]  # fmt: skip
PLAUSIBLE_SPEED_KMH = {"rail": (15, 80), "road": (15, 70), "sea": (15, 45), "ferry": (8, 35)}


def sites(net: Network) -> list[str]:
    return [node.id for node in net.nodes.values() if node.kind == "site"]


def test_size_is_realistic_for_the_region(bundled: Network) -> None:
    stats = bundled.stats()
    assert stats["nodes"] >= 300
    assert stats["links"] >= 1500
    assert len({c.base_id for c in bundled.crossings.values()}) >= 40
    assert stats["services"] >= 10
    assert set(bundled.emission_factors) == {
        "rail_electric", "rail_diesel", "truck", "container_ship", "ferry"
    }  # fmt: skip


@pytest.mark.parametrize("place", CHINESE_ORIGINS + CENTRAL_ASIA + ONWARD)
def test_every_spec_place_resolves(bundled: Network, place: str) -> None:
    bundled.resolve(place)


def test_six_project_sites(bundled: Network) -> None:
    names = " ".join(bundled.nodes[s].name.lower() for s in sites(bundled))
    for word in ("zhanatas", "kaskelen", "turgusun", "zarafshan", "bash", "nukus"):
        assert word in names, word


@pytest.mark.parametrize("word", CROSSING_WORDS)
def test_every_spec_crossing_exists(bundled: Network, word: str) -> None:
    assert any(word in c.base_id for c in bundled.crossings.values()), word


def test_gauge_changes_where_the_gauges_meet(bundled: Network) -> None:
    changing = {c.base_id for c in bundled.crossings.values() if c.gauge_change}
    for word in ("khorgos-altynkol", "alashankou-dostyk", "erenhot", "manzhouli", "brest"):
        assert any(word in base for base in changing), word
    assert any("akhalkalaki" in base for base in changing)


def test_kyrgyz_road_posts_close_at_weekends(bundled: Network) -> None:
    for crossing in bundled.crossings.values():
        if crossing.base_id in ("irkeshtam-road", "torugart-road"):
            assert crossing.open_weekdays == frozenset(range(5))


def test_every_row_names_its_source(bundled: Network) -> None:
    records = [
        *bundled.nodes.values(), *bundled.links.values(), *bundled.crossings.values(),
        *bundled.services.values(), *bundled.emission_factors.values(), *bundled.oversize,
    ]  # fmt: skip
    for record in records:
        assert len(record.source) >= 5, record


def test_distances_respect_great_circle(bundled: Network) -> None:
    for link in bundled.links.values():
        a, b = bundled.nodes[link.from_node], bundled.nodes[link.to_node]
        assert link.distance_km >= great_circle_km(a.lat, a.lon, b.lat, b.lon) - 1.0, link.id


def test_speeds_are_plausible_per_mode(bundled: Network) -> None:
    for link in bundled.links.values():
        low, high = PLAUSIBLE_SPEED_KMH[link.mode]
        assert low <= link.speed_kmh <= high, (link.id, link.speed_kmh)


def test_services_are_plausible(bundled: Network) -> None:
    for service in bundled.services.values():
        km = sum(bundled.links[link].distance_km for link in service.links)
        assert 5 <= km / service.transit_hours <= 60, service.id
        assert service.capacity_teu > 0


def test_rail_gauges_follow_countries(bundled: Network) -> None:
    broad = {"KZ", "KG", "UZ", "TJ", "TM", "RU", "BY", "MN", "AZ", "GE", "LT", "LV", "EE", "FI"}
    iberian = {"ES", "PT"}
    changing = {(c.from_node, c.to_node) for c in bundled.crossings.values() if c.gauge_change}
    for link in bundled.links.values():
        if link.mode != "rail" or (link.from_node, link.to_node) in changing:
            continue
        countries = {bundled.nodes[n].country for n in (link.from_node, link.to_node)}
        expected = 1668 if countries <= iberian else 1520 if countries & broad else 1435
        assert link.gauge_mm == expected, link.id


def _reachable(net: Network, origin: str, destination: str) -> bool:
    graph = net.graph
    starts = [(origin, m) for m in net.node_modes(origin) if m in net.nodes[origin].modes]
    goals = {(destination, m) for m in net.node_modes(destination)}
    lengths = nx.multi_source_dijkstra_path_length(graph, starts)  # type: ignore[call-overload]
    return any(goal in lengths for goal in goals)


def test_every_chinese_origin_reaches_every_site_and_european_terminal(bundled: Network) -> None:
    origins = [bundled.resolve(name).id for name in CHINESE_ORIGINS]
    targets = sites(bundled) + [bundled.resolve(name).id for name in EUROPEAN_TERMINALS]
    missing = [
        (o, t) for o, t in itertools.product(origins, targets) if not _reachable(bundled, o, t)
    ]
    assert not missing
