"""Road graphs for the last mile, read from a local OpenStreetMap XML extract with osmnx.

Nothing here touches the network: the extract is a file the user supplies (``--roads FILE.osm``),
read with ``osmnx.graph_from_xml`` under offline settings. The loader keeps the ways a heavy truck
may use, adds truck speeds (``speed_kph``) and travel times (``travel_time``, seconds) to every
edge, and parses the ``maxheight``, ``maxwidth``, ``maxlength`` and ``maxweight`` tags into
``max_height_m``, ``max_width_m``, ``max_length_m`` and ``max_weight_t`` edge attributes (``None``:
no limit). Tags it cannot read count as no limit and are listed in ``RoadGraph.warnings``.

>>> roads = load_road_graph("tests/data/roads/tiny.osm")
>>> leg = road_leg(roads, (41.5700, 64.1500), (41.5700, 64.2500), height_m=5.0)
>>> leg.way_ids
(1001, 1004, 1002)
"""

from __future__ import annotations

import itertools
import math
import re
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax import SAXException

import networkx as nx
import numpy as np
import osmnx as ox
from numpy.typing import NDArray

from graphs.errors import DataPackError, InputError, NoRouteError
from graphs.geo import EARTH_RADIUS_KM

__all__ = [
    "ACCESS_SPEED_KPH",
    "MAX_TRUCK_SPEED_KPH",
    "OTHER_SPEED_KPH",
    "TRUCK_SPEEDS_KPH",
    "RoadGraph",
    "RoadLeg",
    "SnappedPoint",
    "build_road_graph",
    "load_road_graph",
    "parse_length_m",
    "parse_weight_t",
    "road_leg",
]

MAX_TRUCK_SPEED_KPH = 80.0
"""Heavy trucks never go faster than this, whatever ``maxspeed`` says."""

OTHER_SPEED_KPH = 30.0
"""Truck speed on highway types not in ``TRUCK_SPEEDS_KPH`` that carry no ``maxspeed`` anywhere."""

ACCESS_SPEED_KPH = OTHER_SPEED_KPH
"""Speed over the straight-line offset between a given coordinate and its snapped node."""

_MAIN_SPEEDS_KPH = {
    "motorway": 80.0,
    "trunk": 70.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
}
TRUCK_SPEEDS_KPH: Mapping[str, float] = {
    **_MAIN_SPEEDS_KPH,
    # A slip road belongs to the road it serves; trucks take it at that road's speed.
    **{f"{highway}_link": speed for highway, speed in _MAIN_SPEEDS_KPH.items()},
}
"""Truck speed by ``highway`` type where a way has no ``maxspeed`` tag (osmnx ``hwy_speeds``)."""

TRUCK_HIGHWAYS = frozenset(
    {
        *TRUCK_SPEEDS_KPH,
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
        # Wind farms and substations are often reached over tracks.
        "track",
    }
)
"""``highway`` values a heavy truck may drive on; footways, cycleways, rivers and the rest go."""

_RESTRICTIONS = (
    # (OSM tag, edge attribute, piece word, unit)
    ("maxheight", "max_height_m", "high", "m"),
    ("maxwidth", "max_width_m", "wide", "m"),
    ("maxlength", "max_length_m", "long", "m"),
    ("maxweight", "max_weight_t", "", "t"),
)
_RESTRICTION_TAGS = tuple(tag for tag, *_ in _RESTRICTIONS)
_WAY_TAGS = ("highway", "access", "area", "junction", "maxspeed", "oneway", *_RESTRICTION_TAGS)
"""Way tags the loader needs on the edges, whatever else ``osmnx.settings`` asks for."""

_EXPLAIN_ROUNDS = 20
"""At most this many blocked alternatives are named when no road admits a piece."""


# ---------------------------------------------------------------------------------------------
# Restriction tags


_NO_LIMIT = frozenset({"none", "default", "below_default"})
_NUMBER = r"(\d+(?:[.,]\d+)?)"
_METRES = re.compile(rf"^{_NUMBER}\s*(?:m|metres|meters)?$")
_FEET_INCHES = re.compile(r"^(\d+)\s*['’′]\s*(?:(\d+(?:[.,]\d+)?)\s*[\"”″])?$")
_WEIGHT = re.compile(rf"^{_NUMBER}\s*(t|kg|st|lt|lbs?)?$")
_TONNES_PER_UNIT = {
    None: 1.0,
    "t": 1.0,
    "kg": 0.001,
    "st": 0.90718474,  # short (US) ton
    "lt": 1.0160469088,  # long (imperial) ton
    "lb": 0.00045359237,
    "lbs": 0.00045359237,
}
_FOOT_M = 0.3048
_INCH_M = 0.0254


def _number(text: str) -> float:
    # OSM mappers write both decimal points and decimal commas ("4,5").
    return float(text.replace(",", "."))


def _positive(value: float, text: str) -> float:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"'{text}' is not a positive limit")
    return value


def parse_length_m(text: str) -> float | None:
    """Read a ``maxheight``, ``maxwidth`` or ``maxlength`` value, in metres.

    Accepts metres ("4.5", "4.5 m", "4,5") and feet and inches ("14'6\\"", "14'").
    Returns ``None`` for "none", "default" and "below_default" (no usable limit).

    Raises
    ------
    ValueError
        If the value is not understood.
    """
    value = text.strip().lower()
    if value in _NO_LIMIT:
        return None
    if match := _METRES.match(value):
        return _positive(_number(match.group(1)), text)
    if match := _FEET_INCHES.match(value):
        inches = _number(match.group(2)) if match.group(2) else 0.0
        if inches >= 12:
            raise ValueError(f"'{text}' has {inches:g} inches, more than a foot")
        return _positive(int(match.group(1)) * _FOOT_M + inches * _INCH_M, text)
    raise ValueError(f"'{text}' is not a length")


def parse_weight_t(text: str) -> float | None:
    """Read a ``maxweight`` value, in tonnes.

    Accepts tonnes ("7.5", "7.5 t"), kilograms ("3500 kg"), short tons ("20 st"), long tons
    ("20 lt") and pounds ("9000 lbs"). Returns ``None`` for "none" and "default".

    Raises
    ------
    ValueError
        If the value is not understood.
    """
    value = text.strip().lower()
    if value in _NO_LIMIT:
        return None
    if match := _WEIGHT.match(value):
        return _positive(_number(match.group(1)) * _TONNES_PER_UNIT[match.group(2)], text)
    raise ValueError(f"'{text}' is not a weight")


_PARSERS = {
    "maxheight": parse_length_m,
    "maxwidth": parse_length_m,
    "maxlength": parse_length_m,
    "maxweight": parse_weight_t,
}


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class SnappedPoint:
    """The graph node nearest to a coordinate, and the great-circle distance to it."""

    node: int
    distance_km: float
    node_lat: float
    node_lon: float


@dataclass(frozen=True, slots=True)
class RoadLeg:
    """A truck's way over the road graph from one coordinate to another.

    ``distance_km`` is the road distance plus the straight-line (great-circle) offsets from
    ``start`` to its snapped node and from the end node to ``end``; ``hours`` adds those offsets
    at ``ACCESS_SPEED_KPH``. ``coordinates`` are ``(lon, lat)`` pairs from the given start to the
    given end; ``way_ids`` are the OSM ways in driving order; ``edges`` are the graph edges
    ``(u, v, key)`` taken.
    """

    distance_km: float
    hours: float
    coordinates: tuple[tuple[float, float], ...]
    way_ids: tuple[int, ...]
    edges: tuple[tuple[int, int, int], ...]
    start: SnappedPoint
    end: SnappedPoint
    source: str


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A truck road graph read from one OSM extract; treat ``graph`` as read-only.

    ``graph`` is the osmnx ``MultiDiGraph`` (nodes: OSM ids with ``x`` = lon, ``y`` = lat; edges:
    one OSM way between junctions, with ``length`` in metres, ``speed_kph``, ``travel_time`` in
    seconds and the ``max_*`` limits). ``warnings`` lists what the loader could not use.
    """

    graph: nx.MultiDiGraph[int]
    source: str
    warnings: tuple[str, ...] = ()
    _node_ids: NDArray[np.int64] = field(init=False, repr=False)
    _lat_rad: NDArray[np.float64] = field(init=False, repr=False)
    _lon_rad: NDArray[np.float64] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.graph.number_of_edges() == 0:
            raise DataPackError("the road graph has no roads", file=self.source)
        for attr in ("length", "travel_time"):
            if any(data.get(attr) is None for *_, data in self.graph.edges(data=True)):
                raise DataPackError(f"road graph edges without '{attr}'", file=self.source)
        ids = list(self.graph.nodes)
        coords = self.graph.nodes
        # Frozen: the snapping arrays are derived once here and never change.
        object.__setattr__(self, "_node_ids", np.array(ids, dtype=np.int64))
        object.__setattr__(self, "_lat_rad", np.radians([float(coords[n]["y"]) for n in ids]))
        object.__setattr__(self, "_lon_rad", np.radians([float(coords[n]["x"]) for n in ids]))

    def snap(self, lat: float, lon: float) -> SnappedPoint:
        """The node nearest to ``(lat, lon)`` by great-circle distance."""
        _check_coordinate(lat, lon)
        # Haversine over every node: linear, but a few ms even for a regional extract, and it
        # spares osmnx's nearest_nodes its scikit-learn dependency for unprojected graphs.
        phi, lam = math.radians(lat), math.radians(lon)
        h = (
            np.sin((self._lat_rad - phi) / 2) ** 2
            + math.cos(phi) * np.cos(self._lat_rad) * np.sin((self._lon_rad - lam) / 2) ** 2
        )
        index = int(np.argmin(h))
        node = int(self._node_ids[index])
        data = self.graph.nodes[node]
        node_lat, node_lon = float(data["y"]), float(data["x"])
        distance_km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(float(h[index]))))
        return SnappedPoint(node, distance_km, node_lat, node_lon)


def _check_coordinate(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        raise InputError(f"{lat} is not a latitude in degrees", field="lat")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        raise InputError(f"{lon} is not a longitude in degrees", field="lon")


# ---------------------------------------------------------------------------------------------
# Loading


MAX_EXTRACT_BYTES = 256 * 1_048_576


def load_road_graph(path: str | Path) -> RoadGraph:
    """Load a truck road graph from a local OSM XML extract (``.osm``).

    Graphs are cached by path, modification time and size.

    Raises
    ------
    DataPackError
        If the file is missing, is not OSM XML, or holds no truck road.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise DataPackError("road extract not found (or not a regular file)", file=str(path))
    stat = file.stat()
    if stat.st_size > MAX_EXTRACT_BYTES:  # osmnx holds the whole XML tree, several times its size
        raise DataPackError(
            f"is {stat.st_size / 1_048_576:,.0f} MB, larger than the limit of "
            f"{MAX_EXTRACT_BYTES / 1_048_576:g} MB for a road extract; cut it to the area",
            file=str(path),
        )
    return _load_cached(file.resolve(), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _load_cached(file: Path, mtime_ns: int, size: int) -> RoadGraph:
    raw, notes = _read_osm_xml(file)
    return build_road_graph(raw, source=str(file), notes=notes)


# osmnx.settings is module state; loads in service threads must not interleave their changes.
_OSMNX_SETTINGS_LOCK = threading.Lock()


@contextmanager
def _offline_osmnx() -> Iterator[None]:
    with _OSMNX_SETTINGS_LOCK:
        saved = (ox.settings.use_cache, ox.settings.all_oneway, ox.settings.useful_tags_way)
        ox.settings.use_cache = False
        ox.settings.all_oneway = False  # keep two-way roads two-way
        ox.settings.useful_tags_way = list(dict.fromkeys([*saved[2], *_WAY_TAGS]))
        try:
            yield
        finally:
            ox.settings.use_cache, ox.settings.all_oneway, ox.settings.useful_tags_way = saved


def _read_osm_xml(file: Path) -> tuple[nx.MultiDiGraph[int], list[str]]:
    """Read every way of the extract, unsimplified and with all its pieces (the only I/O)."""
    notes: list[str] = []
    try:
        with _offline_osmnx(), warnings.catch_warnings(record=True) as caught:
            # graph_from_xml warns (UserWarning) about files osmnx wrote itself; that is a fact
            # about the input, so it goes to the graph's warnings instead of the caller's.
            warnings.simplefilter("always")
            # Unsimplified and whole: non-road ways are dropped first (build_road_graph), and
            # they would otherwise decide which nodes simplification keeps.
            raw: nx.MultiDiGraph[int] = ox.graph_from_xml(file, simplify=False, retain_all=True)
    except (ValueError, KeyError, SyntaxError, SAXException) as exc:
        # ValueError: osmnx found no nodes or ways; KeyError: a way refers to a missing node;
        # SyntaxError (ElementTree ParseError) and SAXException: not well-formed XML.
        raise DataPackError(f"not a usable OSM XML extract: {exc}", file=str(file)) from exc
    for caught_warning in caught:
        if issubclass(caught_warning.category, UserWarning) and "osmnx" in str(
            caught_warning.filename
        ):
            notes.append(f"osmnx: {caught_warning.message}")
        else:
            warnings.warn_explicit(
                caught_warning.message,
                caught_warning.category,
                caught_warning.filename,
                caught_warning.lineno,
            )
    return raw, notes


def build_road_graph(
    raw: nx.MultiDiGraph[int], *, source: str, notes: list[str] | None = None
) -> RoadGraph:
    """Turn an unsimplified osmnx graph into a truck road graph (pure: no I/O).

    Keeps truck roads, then the largest connected road network; simplifies with one edge per OSM
    way between junctions; adds truck speeds, travel times and the parsed restriction limits.
    """
    found = list(notes or [])
    graph = raw.copy()
    graph.remove_edges_from(
        [(u, v, k) for u, v, k, d in raw.edges(keys=True, data=True) if not _truck_road(d)]
    )
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    if graph.number_of_edges() == 0:
        raise DataPackError(
            "no truck roads in the extract (ways tagged highway=trunk, tertiary, track, ...)",
            file=source,
        )
    pieces = nx.number_weakly_connected_components(graph)
    whole = len(graph)
    graph = ox.truncate.largest_component(graph, strongly=False)
    if pieces > 1:
        found.append(
            f"kept the largest connected road network: dropped {whole - len(graph)} nodes "
            f"in {pieces - 1} separate pieces"
        )
    # One edge per way between junctions (edge_attrs_differ=["osmid"]) so that each edge's
    # limits and way id are those of exactly one OSM way.
    graph = ox.simplify_graph(graph, edge_attrs_differ=["osmid"])
    graph = ox.routing.add_edge_speeds(
        graph, hwy_speeds=dict(TRUCK_SPEEDS_KPH), fallback=OTHER_SPEED_KPH
    )
    for *_, data in graph.edges(data=True):
        data["speed_kph"] = min(float(data["speed_kph"]), MAX_TRUCK_SPEED_KPH)
    graph = ox.routing.add_edge_travel_times(graph)
    found.extend(_add_limits(graph))
    return RoadGraph(graph, source, tuple(found))


def _truck_road(data: Mapping[str, Any]) -> bool:
    highway = data.get("highway")
    return (
        isinstance(highway, str)
        and highway in TRUCK_HIGHWAYS
        and data.get("area") != "yes"
        and data.get("access") != "no"
    )


def _add_limits(graph: nx.MultiDiGraph[int]) -> list[str]:
    """Set the ``max_*`` attribute of every edge; return one line per value not understood."""
    problems: dict[tuple[object, str, str], str] = {}
    for *_, data in graph.edges(data=True):
        for tag, attr, _word, _unit in _RESTRICTIONS:
            raw = data.get(tag)
            values = raw if isinstance(raw, list) else [] if raw is None else [raw]
            limits: list[float] = []
            for value in values:
                try:
                    limit = _PARSERS[tag](str(value))
                except ValueError:
                    way = _way_id(data)
                    problems.setdefault(
                        (way, tag, str(value)),
                        f"way {way} {tag} '{value}' not understood; taken as no limit",
                    )
                    continue
                if limit is not None:
                    limits.append(limit)
            data[attr] = min(limits) if limits else None
    return list(problems.values())


def _way_id(data: Mapping[str, Any]) -> int:
    osmid = data["osmid"]
    # Simplification keeps one way per edge, but osmnx stores merged ids as a list.
    return int(osmid[0] if isinstance(osmid, list) else osmid)


# ---------------------------------------------------------------------------------------------
# Routing


@dataclass(frozen=True, slots=True)
class _Piece:
    max_height_m: float | None
    max_width_m: float | None
    max_length_m: float | None
    max_weight_t: float | None

    def blocked_by(self, edge: Mapping[str, Any]) -> list[tuple[str, float, float]]:
        """``(tag, limit, piece size)`` of every limit on the edge that the piece exceeds."""
        out = []
        for tag, attr, _word, _unit in _RESTRICTIONS:
            size: float | None = getattr(self, attr)
            limit = edge.get(attr)
            if size is not None and limit is not None and size > limit:
                out.append((tag, float(limit), size))
        return out


def road_leg(
    graph: RoadGraph,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    length_m: float | None = None,
    width_m: float | None = None,
    height_m: float | None = None,
    weight_t: float | None = None,
) -> RoadLeg:
    """The fastest truck leg from ``start`` to ``end`` (``(lat, lon)`` each) over ways that admit
    the piece; an edge without a limit tag admits anything.

    Raises
    ------
    NoRouteError
        If no road admits the piece (the reason names the ways and limits that cut it) or the
        graph has no path between the snapped nodes.
    InputError
        If a coordinate or piece dimension is nonsense.
    """
    dims = {"length_m": length_m, "width_m": width_m, "height_m": height_m, "weight_t": weight_t}
    for name, value in dims.items():
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(f"{value} is not a positive size", field=name)
    piece = _Piece(height_m, width_m, length_m, weight_t)
    first, last = graph.snap(*start), graph.snap(*end)
    g = graph.graph

    def admitted(u: int, v: int, keyed: Mapping[Any, Any]) -> float | None:
        # networkx passes a multigraph's {key: edge data} for the hop u -> v.
        times = [d["travel_time"] for d in keyed.values() if not piece.blocked_by(d)]
        return min(times) if times else None

    try:
        nodes = nx.dijkstra_path(g, first.node, last.node, weight=admitted)
    except nx.NetworkXNoPath:
        raise NoRouteError(_why_no_route(graph, piece, first, last, start, end)) from None

    edges = []
    for u, v in itertools.pairwise(nodes):
        hop: Mapping[Any, Any] = g[u][v]
        fits = [(d["travel_time"], int(k)) for k, d in hop.items() if not piece.blocked_by(d)]
        edges.append((u, v, min(fits)[1]))
    road_km = sum(float(g.edges[e]["length"]) for e in edges) / 1000
    road_hours = sum(float(g.edges[e]["travel_time"]) for e in edges) / 3600
    offsets_km = first.distance_km + last.distance_km
    way_ids: list[int] = []
    for e in edges:
        way = _way_id(g.edges[e])
        if not way_ids or way_ids[-1] != way:
            way_ids.append(way)
    return RoadLeg(
        distance_km=road_km + offsets_km,
        hours=road_hours + offsets_km / ACCESS_SPEED_KPH,
        coordinates=_line(g, edges, first, start, end),
        way_ids=tuple(way_ids),
        edges=tuple(edges),
        start=first,
        end=last,
        source=graph.source,
    )


def _line(
    g: nx.MultiDiGraph[int],
    edges: list[tuple[int, int, int]],
    first: SnappedPoint,
    start: tuple[float, float],
    end: tuple[float, float],
) -> tuple[tuple[float, float], ...]:
    points = [(start[1], start[0]), (first.node_lon, first.node_lat)]
    for u, v, k in edges:
        data = g.edges[u, v, k]
        if "geometry" in data:
            line = [(float(x), float(y)) for x, y in data["geometry"].coords]
            ux, uy = float(g.nodes[u]["x"]), float(g.nodes[u]["y"])
            if not (math.isclose(line[0][0], ux) and math.isclose(line[0][1], uy)):
                line.reverse()
        else:
            line = [(float(g.nodes[n]["x"]), float(g.nodes[n]["y"])) for n in (u, v)]
        points.extend(line[1:])
    points.append((end[1], end[0]))
    return tuple(p for i, p in enumerate(points) if i == 0 or p != points[i - 1])


def _where(point: tuple[float, float]) -> str:
    return f"({point[0]:.4f}, {point[1]:.4f})"


def _size(value: float) -> str:
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _why_no_route(
    graph: RoadGraph,
    piece: _Piece,
    first: SnappedPoint,
    last: SnappedPoint,
    start: tuple[float, float],
    end: tuple[float, float],
) -> str:
    """Name the limits that cut every road from ``first`` to ``last`` for this piece.

    Takes the fastest road ignoring limits, notes the edges on it the piece does not fit, removes
    them and repeats until no road is left: what was removed is a cut made of limits only.
    """
    g = graph.graph
    trip = f"from {_where(start)} to {_where(end)}"
    removed: set[tuple[int, int, int]] = set()
    cuts: dict[tuple[int, str], float] = {}
    sizes: dict[str, float] = {}

    def open_road(u: int, v: int, keyed: Mapping[Any, Any]) -> float | None:
        times = [d["travel_time"] for k, d in keyed.items() if (u, v, k) not in removed]
        return min(times) if times else None

    complete = False
    for round_ in range(_EXPLAIN_ROUNDS):
        try:
            nodes = nx.dijkstra_path(g, first.node, last.node, weight=open_road)
        except nx.NetworkXNoPath:
            if round_ == 0:
                return (
                    f"no road {trip} in {graph.source}: the road graph is disconnected between "
                    f"nodes {first.node} and {last.node} (separate pieces or one-way streets)"
                )
            complete = True
            break
        for u, v in itertools.pairwise(nodes):
            hop: Mapping[Any, Any] = g[u][v]
            _, k = min(
                (d["travel_time"], int(k)) for k, d in hop.items() if (u, v, k) not in removed
            )
            blocks = piece.blocked_by(g.edges[u, v, k])
            if blocks:
                removed.add((u, v, k))
                for tag, limit, size in blocks:
                    cuts.setdefault((_way_id(g.edges[u, v, k]), tag), limit)
                    sizes[tag] = size
    words = [
        f"{_size(sizes[tag])} {unit} {word}".rstrip()
        for tag, _attr, word, unit in _RESTRICTIONS
        if tag in sizes
    ]
    units = {tag: unit for tag, _attr, _word, unit in _RESTRICTIONS}
    named = "; ".join(
        f"way {way} {tag} {_size(limit)} {units[tag]}" for (way, tag), limit in cuts.items()
    )
    more = "" if complete else "; and possibly others"
    return f"no road {trip} admits a {', '.join(words)} piece: {named}{more}"
