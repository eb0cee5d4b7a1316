"""OSM road graphs: loading, truck speeds, restriction tags, snapping and oversize road legs."""

from __future__ import annotations

import math
import socket
from pathlib import Path

import osmnx as ox
import pytest
from hypothesis import given
from hypothesis import strategies as st

from graphs.errors import DataPackError, InputError, NoRouteError
from graphs.geo import great_circle_km
from graphs.roads import (
    ACCESS_SPEED_KPH,
    RoadGraph,
    RoadLeg,
    load_road_graph,
    parse_length_m,
    parse_weight_t,
    road_leg,
)

ROADS = Path(__file__).parent / "data" / "roads"

RAILHEAD = (41.5700, 64.1500)  # node 1, west end of the trunk
SITE_B = (41.5700, 64.2500)  # node 2, east end of the trunk
SITE_C = (41.5850, 64.2100)  # node 31, on the 7.5 t site road with its one-way exit
VILLAGE = (41.5800, 64.2600)  # node 40, behind the 3.5 m wide village road

TRUNK = (1001, 1003, 1002)
DETOUR = (1001, 1004, 1002)


@pytest.fixture(scope="module")
def roads() -> RoadGraph:
    """tiny.osm near Zarafshan: a 90 km/h trunk over a 4.2 m bridge (way 1003), a 40 t primary
    detour round it (1004), a 7.5 t / 12 m site road (1005) to site C with a one-way exit (1007), a
    village road with maxheight "low" and maxwidth 3.5 m (1006), a footway and a canal."""
    return load_road_graph(ROADS / "tiny.osm")


def osm(tmp_path: Path, body: str, generator: str = "silkroute test") -> Path:
    """Write a small OSM XML file and return its path."""
    file = tmp_path / "extract.osm"
    file.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<osm version="0.6" generator="{generator}">\n{body}\n</osm>\n',
        encoding="utf-8",
    )
    return file


ONE_WAY_ONLY = """
  <node id="1" lat="41.0" lon="64.0"/>
  <node id="2" lat="41.0" lon="64.01"/>
  <way id="7"><nd ref="1"/><nd ref="2"/><tag k="highway" v="tertiary"/>
    <tag k="oneway" v="yes"/></way>
"""


def check_leg(roads: RoadGraph, leg: RoadLeg, **piece: float) -> None:
    """Independent oracle: the edges join up, each admits the piece, and the totals are the sums
    of the graph's own edge lengths and travel times plus the snapping offsets."""
    g = roads.graph
    attrs = {
        "height_m": "max_height_m",
        "width_m": "max_width_m",
        "length_m": "max_length_m",
        "weight_t": "max_weight_t",
    }
    nodes = [leg.start.node, *(v for _, v, _ in leg.edges)]
    assert [u for u, _, _ in leg.edges] == nodes[:-1]
    assert nodes[-1] == leg.end.node
    for edge in leg.edges:
        data = g.edges[edge]
        for name, size in piece.items():
            limit = data[attrs[name]]
            assert limit is None or size <= limit, (edge, name)
    offsets = leg.start.distance_km + leg.end.distance_km
    km = sum(g.edges[e]["length"] for e in leg.edges) / 1000 + offsets
    hours = sum(g.edges[e]["travel_time"] for e in leg.edges) / 3600 + offsets / ACCESS_SPEED_KPH
    assert leg.distance_km == pytest.approx(km)
    assert leg.hours == pytest.approx(hours)


# Loading and speeds ---------------------------------------------------------------------------


def test_loader_keeps_truck_roads_only(roads: RoadGraph) -> None:
    ways = {data["osmid"] for *_, data in roads.graph.edges(data=True)}
    assert ways == {1001, 1002, 1003, 1004, 1005, 1006, 1007}  # no footway 1008, no canal 1009
    assert not {50, 60, 61} & set(roads.graph.nodes)
    assert roads.source.endswith("tiny.osm")


def test_truck_speeds_and_travel_times(roads: RoadGraph) -> None:
    # The trunk says maxspeed=90; trucks are capped at 80. The rest have no maxspeed tag.
    expected = {"trunk": 80.0, "primary": 60.0, "secondary": 50.0, "tertiary": 40.0}
    for *_, data in roads.graph.edges(data=True):
        assert data["speed_kph"] == expected[data["highway"]]
        assert data["travel_time"] == pytest.approx(data["length"] / (data["speed_kph"] / 3.6))


def test_limits_are_parsed_onto_edges(roads: RoadGraph) -> None:
    by_way = {data["osmid"]: data for *_, data in roads.graph.edges(data=True)}
    assert by_way[1003]["max_height_m"] == 4.2
    assert by_way[1004]["max_weight_t"] == 40.0
    assert (by_way[1005]["max_weight_t"], by_way[1005]["max_length_m"]) == (7.5, 12.0)
    assert by_way[1006]["max_width_m"] == 3.5
    assert by_way[1001]["max_height_m"] is None


def test_odd_tag_lands_in_warnings(roads: RoadGraph) -> None:
    assert roads.warnings == ("way 1006 maxheight 'low' not understood; taken as no limit",)
    assert all(
        data["max_height_m"] is None
        for *_, data in roads.graph.edges(data=True)
        if data["osmid"] == 1006
    )


def test_loading_leaves_osmnx_settings_as_they_were(tmp_path: Path) -> None:
    before = (ox.settings.use_cache, list(ox.settings.useful_tags_way))
    load_road_graph(osm(tmp_path, ONE_WAY_ONLY))
    assert (ox.settings.use_cache, list(ox.settings.useful_tags_way)) == before


def test_loading_never_touches_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("osmnx tried to connect")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert load_road_graph(osm(tmp_path, ONE_WAY_ONLY)).graph.number_of_edges() == 1


def test_separate_pieces_are_dropped_and_said(tmp_path: Path) -> None:
    island = """
      <node id="3" lat="41.5" lon="64.5"/>
      <node id="4" lat="41.5" lon="64.51"/>
      <way id="8"><nd ref="3"/><nd ref="4"/><tag k="highway" v="track"/></way>
      <node id="5" lat="41.5" lon="64.52"/>
      <way id="9"><nd ref="4"/><nd ref="5"/><tag k="highway" v="track"/></way>
    """
    roads = load_road_graph(osm(tmp_path, ONE_WAY_ONLY + island))
    assert set(roads.graph.nodes) == {3, 4, 5}
    assert roads.warnings == (
        "kept the largest connected road network: dropped 2 nodes in 1 separate pieces",
    )


def test_a_file_written_by_osmnx_is_a_warning_not_an_error(tmp_path: Path) -> None:
    roads = load_road_graph(osm(tmp_path, ONE_WAY_ONLY, generator="OSMnx 2.1.1"))
    assert len(roads.warnings) == 1 and "generated by OSMnx" in roads.warnings[0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<node id='1' lat='41' lon='64'", "not a usable OSM XML extract"),
        (
            "<node id='1' lat='41' lon='64'/><node id='2' lat='41' lon='64.1'/>"
            "<way id='3'><nd ref='1'/><nd ref='2'/><tag k='waterway' v='canal'/></way>",
            "no truck roads",
        ),
        ("", "not a usable OSM XML extract"),
    ],
    ids=["broken-xml", "no-roads", "empty"],
)
def test_bad_extracts_are_named(tmp_path: Path, body: str, message: str) -> None:
    file = osm(tmp_path, body)
    with pytest.raises(DataPackError, match=message) as caught:
        load_road_graph(file)
    assert caught.value.file is not None and caught.value.file.endswith("extract.osm")


def test_missing_extract(tmp_path: Path) -> None:
    with pytest.raises(DataPackError, match="road extract not found"):
        load_road_graph(tmp_path / "nowhere.osm")


# Restriction tags -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "metres"),
    [
        ("4.5", 4.5),
        ("4.5 m", 4.5),
        ("4.5m", 4.5),
        ("4,5", 4.5),
        (" 3.8 ", 3.8),
        ("12", 12.0),
        ("14'6\"", 14 * 0.3048 + 6 * 0.0254),
        ("14' 6\"", 14 * 0.3048 + 6 * 0.0254),
        ("14'", 14 * 0.3048),
        ("none", None),
        ("default", None),
        ("below_default", None),
    ],
)
def test_parse_length_m(text: str, metres: float | None) -> None:
    assert parse_length_m(text) == (None if metres is None else pytest.approx(metres))


@pytest.mark.parametrize("text", ["low", "", "0", "-4", "4.5 ft", "14'13\"", "4.5;4.2", "nan"])
def test_parse_length_m_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_length_m(text)


@pytest.mark.parametrize(
    ("text", "tonnes"),
    [
        ("7.5", 7.5),
        ("7.5 t", 7.5),
        ("7.5t", 7.5),
        ("7,5", 7.5),
        ("3500 kg", 3.5),
        ("20 st", 20 * 0.90718474),
        ("20 lt", 20 * 1.0160469088),
        ("9000 lbs", 9000 * 0.00045359237),
        ("none", None),
    ],
)
def test_parse_weight_t(text: str, tonnes: float | None) -> None:
    assert parse_weight_t(text) == (None if tonnes is None else pytest.approx(tonnes))


@pytest.mark.parametrize("text", ["heavy", "", "0 t", "7.5 tons", "t"])
def test_parse_weight_t_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_weight_t(text)


# Snapping -------------------------------------------------------------------------------------


def test_snap_finds_the_nearest_node(roads: RoadGraph) -> None:
    snapped = roads.snap(41.5853, 64.2104)
    assert snapped.node == 31
    assert snapped.distance_km == pytest.approx(great_circle_km(41.5853, 64.2104, *SITE_C))
    assert 0 < snapped.distance_km < 0.1
    assert roads.snap(*RAILHEAD).distance_km == 0.0


def test_snap_ignores_nodes_of_dropped_ways(roads: RoadGraph) -> None:
    # Node 50 ends the footway; the nearest truck-road node is bridge end 12.
    assert roads.snap(41.5760, 64.1980).node == 12


@pytest.mark.parametrize(("lat", "lon"), [(95.0, 64.0), (41.0, 200.0), (math.nan, 64.0)])
def test_snap_rejects_nonsense(roads: RoadGraph, lat: float, lon: float) -> None:
    with pytest.raises(InputError):
        roads.snap(lat, lon)


# Road legs ------------------------------------------------------------------------------------


def test_a_normal_truck_takes_the_fast_road(roads: RoadGraph) -> None:
    leg = road_leg(roads, RAILHEAD, SITE_B)
    assert leg.way_ids == TRUNK
    assert leg.coordinates[0] == (RAILHEAD[1], RAILHEAD[0])
    assert leg.coordinates[-1] == (SITE_B[1], SITE_B[0])
    check_leg(roads, leg)


def test_a_piece_at_the_bridge_height_still_passes(roads: RoadGraph) -> None:
    assert road_leg(roads, RAILHEAD, SITE_B, height_m=4.2).way_ids == TRUNK


def test_a_5_m_high_piece_takes_the_detour(roads: RoadGraph) -> None:
    normal = road_leg(roads, RAILHEAD, SITE_B)
    tall = road_leg(roads, RAILHEAD, SITE_B, height_m=5.0)
    assert tall.way_ids == DETOUR
    assert tall.hours > normal.hours and tall.distance_km > normal.distance_km
    # The detour's geometry is drawn through its interstitial nodes 20, 21, 22.
    assert (64.2, 41.552) in tall.coordinates
    check_leg(roads, tall, height_m=5.0)


def test_a_60_t_piece_avoids_the_40_t_way(roads: RoadGraph) -> None:
    leg = road_leg(roads, RAILHEAD, SITE_B, weight_t=60.0)
    assert 1004 not in leg.way_ids
    check_leg(roads, leg, weight_t=60.0)


def test_a_tall_heavy_piece_is_told_both_limits(roads: RoadGraph) -> None:
    with pytest.raises(NoRouteError) as caught:
        road_leg(roads, RAILHEAD, SITE_B, height_m=5.0, weight_t=60.0)
    assert caught.value.reason == (
        "no road from (41.5700, 64.1500) to (41.5700, 64.2500) admits a 5.0 m high, 60.0 t "
        "piece: way 1003 maxheight 4.2 m; way 1004 maxweight 40.0 t"
    )


@pytest.mark.parametrize(
    ("target", "piece", "cut"),
    [
        (SITE_C, {"weight_t": 20.0}, "a 20.0 t piece: way 1005 maxweight 7.5 t"),
        (SITE_C, {"length_m": 14.0}, "a 14.0 m long piece: way 1005 maxlength 12.0 m"),
        (VILLAGE, {"width_m": 4.0}, "a 4.0 m wide piece: way 1006 maxwidth 3.5 m"),
    ],
)
def test_no_route_names_the_restriction(
    roads: RoadGraph, target: tuple[float, float], piece: dict[str, float], cut: str
) -> None:
    with pytest.raises(NoRouteError, match=cut):
        road_leg(roads, RAILHEAD, target, **piece)


def test_one_way_exit_is_used_leaving_the_site_only(roads: RoadGraph) -> None:
    assert road_leg(roads, SITE_B, SITE_C).way_ids == (1002, 1005)
    assert road_leg(roads, SITE_C, SITE_B).way_ids == (1007, 1002)


def test_disconnected_graph_is_said(tmp_path: Path) -> None:
    roads = load_road_graph(osm(tmp_path, ONE_WAY_ONLY))
    assert road_leg(roads, (41.0, 64.0), (41.0, 64.01)).way_ids == (7,)
    with pytest.raises(NoRouteError, match="disconnected"):
        road_leg(roads, (41.0, 64.01), (41.0, 64.0))


def test_same_node_at_both_ends_is_the_offsets_only(roads: RoadGraph) -> None:
    leg = road_leg(roads, (41.5851, 64.2101), (41.5849, 64.2099))
    assert leg.edges == () and leg.way_ids == ()
    assert leg.distance_km == pytest.approx(leg.start.distance_km + leg.end.distance_km)
    check_leg(roads, leg)


@pytest.mark.parametrize("field", ["length_m", "width_m", "height_m", "weight_t"])
@pytest.mark.parametrize("size", [0.0, -1.0, math.inf, math.nan])
def test_nonsense_piece_is_refused(roads: RoadGraph, field: str, size: float) -> None:
    with pytest.raises(InputError, match=field):
        road_leg(roads, RAILHEAD, SITE_B, **{field: size})


def test_same_input_same_answer(roads: RoadGraph) -> None:
    assert road_leg(roads, RAILHEAD, SITE_C) == road_leg(roads, RAILHEAD, SITE_C)


LATS = st.floats(41.54, 41.60)
LONS = st.floats(64.14, 64.27)


@given(LATS, LONS, LATS, LONS, st.sampled_from([None, 4.2, 5.0]))
def test_distance_is_never_below_the_great_circle(
    a_lat: float, a_lon: float, b_lat: float, b_lon: float, height_m: float | None
) -> None:
    roads = load_road_graph(ROADS / "tiny.osm")
    leg = road_leg(roads, (a_lat, a_lon), (b_lat, b_lon), height_m=height_m)
    assert leg.distance_km >= great_circle_km(a_lat, a_lon, b_lat, b_lon) - 1e-9
    assert leg.coordinates[0] == (a_lon, a_lat) and leg.coordinates[-1] == (b_lon, b_lat)
    check_leg(roads, leg, **({} if height_m is None else {"height_m": height_m}))
