"""Route and network maps as PNG: matplotlib's Agg canvas (never pyplot), no internet.

The map is a Lambert conformal conic centred on 70°E with standard parallels 33°N and 53°N: shapes
are kept, and the scale is true to within 3.5 % over 0–125°E, 25–60°N (the scale bar is measured
where it is drawn). pyproj comes with geopandas, which osmnx (a declared dependency) requires, so
there is no fallback projection.

Links are drawn as geodesics between their end nodes, since the pack has no track or road
alignments; a sea link much longer than its geodesic (Shanghai to Rotterdam by Suez) is drawn as a
schematic arc bowed south rather than as a chord across Siberia.

Country outlines are Natural Earth's 1:50m countries, bundled with the project in
routing/data/countries.geojson (its README names the source).
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import IO, Any

import numpy as np
from matplotlib import patheffects
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Geod, Transformer

from graphs.network import Network
from graphs.records import MODES, Crossing, Link
from routing.route import Route

__all__ = [
    "MapProjection",
    "map_extent",
    "nice_scale_km",
    "offset_polyline",
    "plot_network",
    "plot_plan",
    "plot_routes",
    "scale_bar_length_m",
    "schematic_arc",
]

Points = NDArray[np.float64]
"""An (n, 2) array of projected x, y in metres."""
Extent = tuple[float, float, float, float]
"""xmin, xmax, ymin, ymax in projected metres."""

LCC = "+proj=lcc +lat_0=45 +lon_0=70 +lat_1=33 +lat_2=53 +ellps=WGS84 +units=m +no_defs +type=crs"
GEOD = Geod(ellps="WGS84")
DENSIFY_KM = 100.0  # geodesic links longer than this are drawn through intermediate points
DETOUR_RATIO = 1.5  # a sea link this much longer than the geodesic is drawn as a schematic arc

DPI = 150
MAP_WIDTH_IN = 10.0
MAP_HEIGHT_IN = (5.0, 7.5)
TITLE_IN = 0.45
LEGEND_CHARS = 140  # a legend line this long fills the figure's width at 8.5 pt
MIN_SPAN_M = 1_400_000.0  # a route map shows at least this much country east-west

# Colour says which route; line style says which mode, as on the legend.
ROUTE_COLOURS = (
    "#d62728",
    "#1f77b4",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#393b79",
    "#7f7f7f",
)
MODE_STYLE: dict[str, Any] = {
    "rail": "solid",
    "road": (0, (4.0, 2.0)),
    "sea": (0, (1.0, 1.5)),
    "ferry": (0, (4.0, 1.5, 1.0, 1.5)),
}
MODE_COLOURS = {"rail": "#3b3b3b", "road": "#b5651d", "sea": "#1f6fb2", "ferry": "#1a9e9e"}
LABELLED_KINDS = frozenset({"hub", "sea_port", "caspian_port", "site", "factory"})
PORT_KINDS = frozenset({"sea_port", "caspian_port"})
SITE_KINDS = frozenset({"site", "factory"})
NODE_COLOURS = ("#555555", "#2e7d32", MODE_COLOURS["sea"])
NODE_LEGEND = ("hub / terminal", "factory / site", "port")

WATER = "#dde9f3"
LAND = "#f4f1ea"
PLAIN = "#f8f8f6"
BASE_GREY = "#9a9a9a"
HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


# -- projection and geometry (pure) --------------------------------------------------------------


class MapProjection:
    """WGS84 longitude/latitude to the map's plane (metres) and back."""

    def __init__(self, crs: str = LCC) -> None:
        self.crs = CRS.from_user_input(crs)
        # Transformers are not safe to share between threads: each map makes its own.
        self._forward = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        self._inverse = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)

    def forward(self, lon: ArrayLike, lat: ArrayLike) -> tuple[Points, Points]:
        x, y = self._forward.transform(lon, lat)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def inverse(self, x: ArrayLike, y: ArrayLike) -> tuple[Points, Points]:
        lon, lat = self._inverse.transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def line(self, lonlat: Sequence[tuple[float, float]]) -> Points:
        """A polyline through ``(lon, lat)`` points, each leg along its geodesic."""
        lons: list[float] = []
        lats: list[float] = []
        for i, (lon, lat) in enumerate(lonlat):
            if i:
                lon0, lat0 = lonlat[i - 1]
                _, _, metres = GEOD.inv(lon0, lat0, lon, lat)
                between = int(metres / 1000 / DENSIFY_KM)
                if between:
                    for mid_lon, mid_lat in GEOD.npts(lon0, lat0, lon, lat, between):
                        lons.append(mid_lon)
                        lats.append(mid_lat)
            lons.append(lon)
            lats.append(lat)
        x, y = self.forward(lons, lats)
        return np.column_stack((x, y))


def offset_polyline(points: Points, distance: float) -> Points:
    """The polyline moved ``distance`` to the left of its direction of travel, mitred at bends.

    Alternatives that share a corridor are drawn side by side instead of on top of each other.
    """
    if len(points) < 2 or distance == 0:
        return points.copy()
    delta = np.diff(points, axis=0)
    length = np.hypot(delta[:, 0], delta[:, 1])
    normals = np.full_like(delta, np.nan)
    moving = length > 0
    normals[moving] = np.column_stack((-delta[moving, 1], delta[moving, 0])) / length[moving, None]
    # A repeated point has no direction: borrow its neighbours'.
    for order in (range(len(normals)), reversed(range(len(normals)))):
        last = None
        for i in order:
            if np.isnan(normals[i, 0]):
                if last is not None:
                    normals[i] = last
            else:
                last = normals[i].copy()
    if np.isnan(normals[0, 0]):
        return points.copy()
    before = np.vstack((normals[:1], normals))
    after = np.vstack((normals, normals[-1:]))
    mean = (before + after) / 2
    norm = np.hypot(mean[:, 0], mean[:, 1])
    norm[norm == 0] = 1.0
    unit = mean / norm[:, None]
    # Mitre: stretch by 1/cos(half the bend), capped so hairpins do not spike.
    cos_half = np.maximum(np.einsum("ij,ij->i", unit, after), 0.35)
    shifted: Points = points + distance * unit / cos_half[:, None]
    return shifted


def map_extent(
    points: Points, aspect: float, margin: float = 0.12, min_span_m: float = MIN_SPAN_M
) -> Extent:
    """A box around ``points`` with ``margin`` each side, at least ``min_span_m`` wide, widened
    or heightened to ``aspect`` (height / width) so that the map is not distorted."""
    xmin, ymin = points.min(axis=0)
    xmax, ymax = points.max(axis=0)
    width = max((xmax - xmin) * (1 + 2 * margin), min_span_m)
    height = max((ymax - ymin) * (1 + 2 * margin), min_span_m * aspect)
    if height / width > aspect:
        width = height / aspect
    else:
        height = width * aspect
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    return (
        float(cx - width / 2),
        float(cx + width / 2),
        float(cy - height / 2),
        float(cy + height / 2),
    )


def nice_scale_km(longest_km: float) -> int:
    """The largest round distance (1, 2, 2.5 or 5 times a power of ten) not above ``longest_km``."""
    if longest_km < 1:
        return 1
    best = 1
    decade = 1
    while decade <= longest_km:
        for step in (1, 2, 2.5, 5):
            km = step * decade
            if km <= longest_km and float(km).is_integer():
                best = int(km)
        decade *= 10
    return best


def scale_bar_length_m(projection: MapProjection, x: float, y: float, km: float) -> float:
    """Projected length of a horizontal bar starting at ``(x, y)`` that spans ``km`` on the
    ellipsoid between its two ends (the conic's scale varies with latitude, so it is measured
    where the bar is drawn)."""
    target_m = km * 1000
    length = target_m
    lon0, lat0 = projection.inverse(x, y)
    for _ in range(4):
        lon1, lat1 = projection.inverse(x + length, y)
        _, _, metres = GEOD.inv(float(lon0), float(lat0), float(lon1), float(lat1))
        length *= target_m / metres
    return length


# -- what a route draws --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Leg:
    """A run of moves on one mode: the places passed, and the link between each two (None where a
    step names no link)."""

    mode: str
    places: tuple[str, ...]
    links: tuple[str | None, ...]


def _route_legs(network: Network, route: Route) -> list[_Leg]:
    """The route's moves as runs of one mode, services unfolded to their links."""
    legs: list[_Leg] = []
    for step in route.steps:
        if step.kind != "move" or not step.mode:
            continue
        hops: list[tuple[str, str, str | None]] = []
        service = network.services.get(step.service) if step.service else None
        if step.link is not None and step.link in network.links:
            link = network.links[step.link]
            hops = [(link.from_node, link.to_node, link.id)]
        elif service is not None and service.links:
            hops = [
                (network.links[k].from_node, network.links[k].to_node, k) for k in service.links
            ]
        elif step.from_node and step.to_node:
            hops = [(step.from_node, step.to_node, None)]
        for start, end, link_id in hops:
            last = legs[-1] if legs else None
            if last is not None and last.mode == step.mode and last.places[-1] == start:
                legs[-1] = _Leg(step.mode, (*last.places, end), (*last.links, link_id))
            else:
                legs.append(_Leg(step.mode, (start, end), (link_id,)))
    return legs


def _lonlat(network: Network, places: Iterable[str]) -> list[tuple[float, float]]:
    return [(network.nodes[p].lon, network.nodes[p].lat) for p in places]


def _sails_round(network: Network, link: Link) -> bool:
    """Whether a sea link is so much longer than the geodesic that it must go round a continent
    (Shanghai to Rotterdam by Suez): its chord would cross Siberia."""
    if link.mode != "sea":
        return False
    (lon0, lat0), (lon1, lat1) = _lonlat(network, (link.from_node, link.to_node))
    _, _, metres = GEOD.inv(lon0, lat0, lon1, lat1)
    return bool(link.distance_km > DETOUR_RATIO * metres / 1000)


def schematic_arc(ends: Points, samples: int = 64) -> Points:
    """A curve between two projected points bowed southward, as far as 0.4 of the chord: a sea
    voyage round the south of Asia, drawn as a diagram rather than a track."""
    start, end = ends[0], ends[-1]
    chord = end - start
    south = np.array([-chord[1], chord[0]])
    if south[1] > 0:
        south = -south
    control = (start + end) / 2 + 0.8 * south
    t = np.linspace(0.0, 1.0, samples)[:, None]
    arc: Points = (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end
    return arc


def _hop_line(
    network: Network, projection: MapProjection, start: str, end: str, link_id: str | None
) -> Points:
    link = network.links.get(link_id) if link_id else None
    ends = _lonlat(network, (start, end))
    if link is not None and _sails_round(network, link):
        return schematic_arc(_project(projection, ends))
    return projection.line(ends)


def _leg_line(network: Network, projection: MapProjection, leg: _Leg) -> Points:
    hops = [
        _hop_line(network, projection, start, end, link_id)
        for start, end, link_id in zip(leg.places[:-1], leg.places[1:], leg.links, strict=True)
    ]
    return np.vstack([hops[0], *(hop[1:] for hop in hops[1:])])


def _route_paths(
    network: Network, route: Route, projection: MapProjection, offset_m: float
) -> list[tuple[str, Points]]:
    """Projected polylines, one per mode run, of the whole route shifted sideways together."""
    legs = _route_legs(network, route)
    lines = [_leg_line(network, projection, leg) for leg in legs]
    if not lines:
        return []
    whole = offset_polyline(np.vstack(lines), offset_m)
    paths: list[tuple[str, Points]] = []
    start = 0
    for leg, line in zip(legs, lines, strict=True):
        paths.append((leg.mode, whole[start : start + len(line)]))
        start += len(line)
    return paths


def _side_offsets(count: int) -> Iterator[int]:
    """0, 1, -1, 2, -2, …: the chosen route in the middle, alternatives either side."""
    for rank in range(count):
        yield (rank + 1) // 2 * (1 if rank % 2 else -1)


def _escape(text: str) -> str:
    return text.replace("$", r"\$")


def _short(name: str) -> str:
    """A crossing's name without its trailing parenthesis: "Khorgos - Altynkol (rail, 1520)"."""
    return re.sub(r"\s*\([^()]*\)\s*$", "", name) or name


def _route_label(network: Network, rank: int, route: Route) -> str:
    """One legend entry, wrapped to the figure's width."""
    names = dict.fromkeys(
        _short(network.crossings[c].name) for c in route.crossings if c in network.crossings
    )
    via = f" · via {', '.join(names)}" if names else ""
    head = "Chosen" if rank == 0 else f"Alternative {rank}"
    text = (
        f"{head}: {route.transit_days:.1f} days · {route.cost_usd:,.0f} USD · "
        f"{route.co2e_kg / 1000:.2f} t CO$_2$e · {'+'.join(route.modes)}{_escape(via)}"
    )
    return "\n".join(textwrap.wrap(text, width=LEGEND_CHARS, subsequent_indent="    "))


def _symbol_columns(count: int) -> int:
    return count if count <= 7 else math.ceil(count / 2)


# -- drawing -------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _land_rings() -> tuple[tuple[tuple[float, float], ...], ...]:
    """Country outlines (lon, lat): the Natural Earth countries bundled in routing/data."""
    path = resources.files("routing") / "data" / "countries.geojson"
    data = json.loads(path.read_text(encoding="utf-8"))
    rings: list[tuple[tuple[float, float], ...]] = []
    for feature in data["features"]:
        geometry = feature["geometry"]
        polygons = (
            [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        )
        for polygon in polygons:
            rings.append(tuple((float(x), float(y)) for x, y in polygon[0]))
    return tuple(rings)


def _figure(extent_aspect: float, legend_rows: int) -> tuple[Figure, Axes, float]:
    """A figure whose map area has the given height/width; legends go in a band below it."""
    map_h = min(max(MAP_WIDTH_IN * extent_aspect, MAP_HEIGHT_IN[0]), MAP_HEIGHT_IN[1])
    band = 0.25 + 0.2 * legend_rows
    height = TITLE_IN + map_h + band
    fig = Figure(figsize=(MAP_WIDTH_IN, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)  # attaches itself: text sizes are measured with Agg
    ax = fig.add_axes((0.0, band / height, 1.0, map_h / height))
    return fig, ax, map_h / MAP_WIDTH_IN


def _frame(ax: Axes, extent: Extent, land: bool) -> None:
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor(WATER if land else PLAIN)
    for spine in ax.spines.values():
        spine.set_edgecolor("#666666")
        spine.set_linewidth(0.8)


def _draw_base(
    ax: Axes,
    network: Network,
    projection: MapProjection,
    *,
    faint: bool,
    metres_per_point: float,
    marked: frozenset[str] = frozenset(),
) -> tuple[bool, list[tuple[str, Points]]]:
    """Land, graticule, every link once and the node dots; returns whether land was drawn and
    the places worth a label (node id, position).

    Unless ``faint``, links are in their mode's colour and a road beside a railway is drawn a
    little to its side, so that both show. Crossings whose base id is in ``marked`` are left to
    the route layer.
    """
    rings = _land_rings()
    if rings:
        polygons = [_project(projection, ring) for ring in rings]
        ax.add_collection(
            PolyCollection(
                polygons, facecolors=LAND, edgecolors="#c9c2b4", linewidths=0.6, zorder=0
            )
        )
    graticule: list[Points] = []
    lat_span = np.linspace(10.0, 75.0, 131)
    lon_span = np.linspace(-20.0, 160.0, 361)
    for lon in range(-20, 161, 10):
        graticule.append(np.column_stack(projection.forward(np.full_like(lat_span, lon), lat_span)))
    for lat in range(10, 76, 10):
        graticule.append(np.column_stack(projection.forward(lon_span, np.full_like(lon_span, lat))))
    ax.add_collection(
        LineCollection(graticule, colors="#b8c4cf", linewidths=0.4, linestyles=":", zorder=0.5)
    )

    by_mode: dict[str, list[Points]] = {}
    seen: set[str] = set()
    for link in network.links.values():
        if link.base_id in seen:
            continue
        seen.add(link.base_id)
        line = _hop_line(network, projection, link.from_node, link.to_node, link.id)
        if link.mode == "road" and not faint:
            line = offset_polyline(line, 1.6 * metres_per_point)
        by_mode.setdefault(link.mode, []).append(line)
    for mode, lines in by_mode.items():
        ax.add_collection(
            LineCollection(
                lines,
                colors=BASE_GREY if faint else MODE_COLOURS.get(mode, BASE_GREY),
                linewidths=0.7 if faint else 1.3,
                linestyles=MODE_STYLE.get(mode, "solid"),
                alpha=0.8 if faint else 1.0,
                zorder=1,
            )
        )

    nodes = [n for n in network.nodes.values() if n.kind != "border"]
    x, y = projection.forward([n.lon for n in nodes], [n.lat for n in nodes])
    colours = [_node_colour(n.kind) for n in nodes]
    ax.scatter(
        x, y, s=6 if faint else 14, c=colours, alpha=0.7 if faint else 1.0, zorder=2, linewidths=0
    )
    _draw_crossings(
        ax,
        network,
        projection,
        (c for c in network.crossings.values() if c.base_id not in marked),
        size=3 if faint else 6,
        zorder=2.5,
        metres_per_point=metres_per_point,
    )
    places = [
        (n.id, np.array([xi, yi]))
        for n, xi, yi in zip(nodes, x, y, strict=True)
        if n.kind in LABELLED_KINDS
    ]
    return bool(rings), places


def _node_colour(kind: str) -> str:
    return NODE_COLOURS[2] if kind in PORT_KINDS else NODE_COLOURS[1 if kind in SITE_KINDS else 0]


def _project(projection: MapProjection, ring: Sequence[tuple[float, float]]) -> Points:
    x, y = projection.forward([p[0] for p in ring], [p[1] for p in ring])
    return np.column_stack((x, y))


def _crossing_point(network: Network, projection: MapProjection, crossing: Crossing) -> Points:
    a, b = network.nodes[crossing.from_node], network.nodes[crossing.to_node]
    x, y = projection.forward([a.lon, b.lon], [a.lat, b.lat])
    return np.array([x.mean(), y.mean()])


def _draw_crossings(
    ax: Axes,
    network: Network,
    projection: MapProjection,
    crossings: Iterable[Crossing],
    *,
    size: float,
    zorder: float,
    metres_per_point: float,
) -> list[tuple[Points, Crossing]]:
    """A square at each border post, a diamond where the gauge changes; one per two-way pair.

    The rail and road crossings between the same two posts would hide each other: they are
    spread east-west by a marker's width around the posts' midpoint.
    """
    between: dict[frozenset[str], dict[str, Crossing]] = {}
    for crossing in crossings:
        posts = frozenset((crossing.from_node, crossing.to_node))
        between.setdefault(posts, {}).setdefault(crossing.base_id, crossing)
    placed: dict[str, tuple[Points, Crossing]] = {}
    step = 1.4 * size * metres_per_point
    for group in between.values():
        ordered = sorted(group.values(), key=lambda c: (c.gauge_change, c.base_id))
        middle = _crossing_point(network, projection, ordered[0])
        for i, crossing in enumerate(ordered):
            shift = (i - (len(ordered) - 1) / 2) * step
            placed[crossing.base_id] = (middle + np.array([shift, 0.0]), crossing)
    for gauge in (False, True):
        points = [p for p, c in placed.values() if c.gauge_change is gauge]
        if points:
            xy = np.array(points)
            ax.plot(
                xy[:, 0],
                xy[:, 1],
                linestyle="none",
                **_crossing_marker(gauge, size),
                zorder=zorder,
            )
    return list(placed.values())


def _crossing_marker(gauge_change: bool, size: float) -> dict[str, Any]:
    if gauge_change:
        return {
            "marker": "D",
            "markersize": size * 1.1,
            "markerfacecolor": "#ffd400",
            "markeredgecolor": "black",
            "markeredgewidth": 0.9 if size > 4 else 0.4,
        }
    return {
        "marker": "s",
        "markersize": size,
        "markerfacecolor": "white",
        "markeredgecolor": "black",
        "markeredgewidth": 0.9 if size > 4 else 0.4,
    }


def _draw_scale_bar(ax: Axes, projection: MapProjection, extent: Extent) -> None:
    xmin, xmax, ymin, ymax = extent
    x0 = xmin + 0.03 * (xmax - xmin)
    y0 = ymin + 0.05 * (ymax - ymin)
    probe = scale_bar_length_m(projection, x0, y0, 100.0) / 100.0  # projected m per km here
    km = nice_scale_km(0.22 * (xmax - xmin) / probe)
    length = scale_bar_length_m(projection, x0, y0, km)
    tick = 0.008 * (ymax - ymin)
    style: dict[str, Any] = {"color": "black", "linewidth": 1.6, "solid_capstyle": "butt"}
    ax.plot([x0, x0 + length], [y0, y0], zorder=8, **style)
    for x in (x0, x0 + length / 2, x0 + length):
        ax.plot([x, x], [y0 - tick, y0 + tick], zorder=8, **style)
    _, lat = projection.inverse(x0 + length / 2, y0)
    ax.text(
        x0 + length / 2,
        y0 + 2 * tick,
        f"{km:,} km (at {float(lat):.0f}°N)",
        ha="center",
        va="bottom",
        fontsize=8,
        zorder=8,
        path_effects=HALO,
    )


def _note(ax: Axes, land: bool, arcs: bool) -> None:
    text = "Lambert conformal conic, 70°E · links drawn as geodesics between nodes"
    if arcs:
        text += ", long sea voyages as schematic arcs"
    if land:
        text += " · outlines: Natural Earth 1:110m"
    ax.text(
        0.995,
        0.006,
        text,
        transform=ax.transAxes,
        ha="right",
        va="bottom",
        fontsize=6.5,
        color="#555555",
        zorder=8,
        path_effects=HALO,
    )


@dataclass(frozen=True, eq=False)
class _Label:
    point: Points
    text: str
    fontsize: float = 7.0
    gap_pt: float = 3.5
    fontweight: str = "normal"
    fontstyle: str = "normal"
    colour: str = "black"


def _place_labels(ax: Axes, labels: Iterable[_Label], taken: list[Bbox]) -> None:
    """Label greedily in the order given; a label that would overlap one already placed, or leave
    the map, tries the other three corners of its point and is dropped if none is free."""
    box = ax.get_window_extent()
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    seen: set[str] = set()
    for label in labels:
        x, y = float(label.point[0]), float(label.point[1])
        if label.text in seen or not (xmin <= x <= xmax and ymin <= y <= ymax):
            continue
        gap = label.gap_pt
        for dx, dy, ha, va in (
            (gap, gap, "left", "bottom"),
            (-gap, gap, "right", "bottom"),
            (gap, -gap, "left", "top"),
            (-gap, -gap, "right", "top"),
        ):
            text = ax.annotate(
                _escape(label.text),
                (x, y),
                xytext=(dx, dy),
                textcoords="offset points",
                ha=ha,
                va=va,
                fontsize=label.fontsize,
                fontweight=label.fontweight,
                fontstyle=label.fontstyle,
                color=label.colour,
                zorder=9,
                path_effects=HALO,
            )
            bbox = text.get_window_extent().expanded(1.04, 1.1)
            inside = (
                bbox.x0 >= box.x0 and bbox.x1 <= box.x1 and bbox.y0 >= box.y0 and bbox.y1 <= box.y1
            )
            if inside and not any(bbox.overlaps(other) for other in taken):
                taken.append(bbox)
                seen.add(label.text)
                break
            text.remove()


def _symbol_handles(modes: Iterable[str], colour: str) -> list[Artist]:
    handles: list[Artist] = [
        Line2D([], [], color=colour, linewidth=2.0, linestyle=MODE_STYLE[mode], label=mode)
        for mode in MODES
        if mode in set(modes)
    ]
    handles.append(
        Line2D([], [], linestyle="none", **_crossing_marker(False, 7), label="border crossing")
    )
    handles.append(
        Line2D([], [], linestyle="none", **_crossing_marker(True, 7), label="gauge change")
    )
    return handles


def _save(fig: Figure, fileobj: IO[bytes]) -> None:
    # No "Software" stamp: the same network and routes give the same bytes.
    fig.savefig(fileobj, format="png", dpi=DPI, metadata={"Software": None})


# -- public --------------------------------------------------------------------------------------


def plot_routes(
    network: Network, routes: Sequence[Route], fileobj: IO[bytes], *, title: str | None = None
) -> None:
    """Draw ``routes`` (best first) over the network and write a PNG to ``fileobj``.

    Each route has its colour and a legend line with its days, cost and CO2e; line style tells
    the mode. The map zooms to the routes with some country around them.
    """
    projection = MapProjection()
    drawn = [p for route in routes for _, p in _route_paths(network, route, projection, 0.0)]
    if drawn:
        everything = np.vstack(drawn)
    else:  # nothing to follow: show the whole network
        everything = _project(projection, _lonlat(network, network.nodes))
    labels = [_route_label(network, rank, route) for rank, route in enumerate(routes)]
    modes = {mode for route in routes for mode in route.modes}
    symbols = _symbol_handles(modes, "#333333") + (_end_handles() if routes else [])
    legend_rows = sum(label.count("\n") + 1 for label in labels) + math.ceil(
        len(symbols) / _symbol_columns(len(symbols))
    )
    fig, ax, aspect = _figure(_aspect(everything), legend_rows)
    extent = map_extent(everything, aspect)
    metres_per_point = (extent[1] - extent[0]) / (MAP_WIDTH_IN * 72)
    route_crossings = [
        network.crossings[c] for route in routes for c in route.crossings if c in network.crossings
    ]
    land, places = _draw_base(
        ax,
        network,
        projection,
        faint=True,
        metres_per_point=metres_per_point,
        marked=frozenset(c.base_id for c in route_crossings),
    )
    _frame(ax, extent, land)
    handles = _draw_route_lines(ax, network, projection, routes, labels, metres_per_point)
    crossings = _draw_crossings(
        ax,
        network,
        projection,
        route_crossings,
        size=7,
        zorder=7.5,  # over the origin and destination, which may be a post's neighbour
        metres_per_point=metres_per_point,
    )
    ends = _draw_ends(ax, network, projection, routes[0]) if routes else []
    _draw_scale_bar(ax, projection, extent)
    _note(ax, land, any(_sails_round(network, link) for link in network.links.values()))
    on_route = {p for route in routes for leg in _route_legs(network, route) for p in leg.places}
    _place_labels(
        ax,
        [
            *ends,
            *(
                _Label(p, _short(c.name), fontsize=7.5, gap_pt=5, fontstyle="italic")
                for p, c in crossings
            ),
            *(_Label(p, network.nodes[n].name, fontsize=8) for n, p in places if n in on_route),
            *(_Label(p, network.nodes[n].name, colour="#555555") for n, p in places),
        ],
        # Labels keep off the markers that matter: the ends and the crossings used.
        [_marker_box(ax, end.point, 6) for end in ends]
        + [_marker_box(ax, point, 4) for point, _ in crossings],
    )
    if title is None and routes:
        first = routes[0]
        title = (
            f"{_name(network, first.origin)} → {_name(network, first.destination)}: "
            f"{len(routes)} route{'s' if len(routes) > 1 else ''}"
        )
    _title(fig, title or "silkroute")
    _legends(fig, handles, symbols)
    _save(fig, fileobj)


def _aspect(points: Points) -> float:
    """Height over width of what is to be shown, as wide as a route map is at least."""
    xmin, ymin = points.min(axis=0)
    xmax, ymax = points.max(axis=0)
    return float(max(ymax - ymin, 1.0) / max(xmax - xmin, MIN_SPAN_M))


def _draw_route_lines(
    ax: Axes,
    network: Network,
    projection: MapProjection,
    routes: Sequence[Route],
    labels: Sequence[str],
    metres_per_point: float,
) -> list[Artist]:
    """Each route in its colour, side by side where they share a corridor; legend handles."""
    handles: list[Artist] = []
    order = list(zip(range(len(routes)), routes, _side_offsets(len(routes)), strict=True))
    for rank, route, side in reversed(order):  # the chosen route is drawn last, on top
        colour = ROUTE_COLOURS[rank % len(ROUTE_COLOURS)]
        width = 3.2 if rank == 0 else 2.3
        offset = side * 3.6 * metres_per_point
        for mode, line in _route_paths(network, route, projection, offset):
            ax.plot(
                line[:, 0],
                line[:, 1],
                color=colour,
                linewidth=width,
                linestyle=MODE_STYLE.get(mode, "solid"),
                solid_capstyle="round",
                dash_capstyle="round",
                solid_joinstyle="round",
                zorder=4 + (len(routes) - rank) * 0.01,
                path_effects=[patheffects.withStroke(linewidth=width + 1.6, foreground="white")],
            )
        handles.append(Line2D([], [], color=colour, linewidth=width, label=labels[rank]))
    handles.reverse()
    return handles


ORIGIN_MARKER: dict[str, Any] = {
    "marker": "o",
    "markerfacecolor": "white",
    "markeredgecolor": "black",
    "markeredgewidth": 1.4,
}
DESTINATION_MARKER: dict[str, Any] = {
    "marker": "*",
    "markerfacecolor": "black",
    "markeredgecolor": "black",
    "markeredgewidth": 0.8,
}


def _draw_ends(ax: Axes, network: Network, projection: MapProjection, route: Route) -> list[_Label]:
    """Origin and destination markers; their labels, to be placed first."""
    ends: list[_Label] = []
    for place, style, size in (
        (route.origin, ORIGIN_MARKER, 11),
        (route.destination, DESTINATION_MARKER, 16),
    ):
        node = network.nodes.get(place)
        if node is None:
            continue
        point = _project(projection, [(node.lon, node.lat)])[0]
        ax.plot(point[0], point[1], markersize=size, zorder=7, **style)
        ends.append(_Label(point, node.name, fontsize=10, gap_pt=7, fontweight="bold"))
    return ends


def _end_handles() -> list[Artist]:
    return [
        Line2D([], [], markersize=8, linestyle="none", label="origin", **ORIGIN_MARKER),
        Line2D([], [], markersize=11, linestyle="none", label="destination", **DESTINATION_MARKER),
    ]


def _title(fig: Figure, text: str) -> None:
    fig.suptitle(
        _escape(text),
        x=0.01,
        y=1 - 0.1 / fig.get_figheight(),
        ha="left",
        va="top",
        fontsize=13,
        fontweight="bold",
    )


def plot_network(network: Network, fileobj: IO[bytes], *, title: str | None = None) -> None:
    """Draw the whole network, modes in colour, and write a PNG to ``fileobj``."""
    projection = MapProjection()
    everything = _project(projection, _lonlat(network, network.nodes))
    modes = {link.mode for link in network.links.values()}
    symbols: list[Artist] = [
        Line2D([], [], color=MODE_COLOURS[m], linewidth=1.6, linestyle=MODE_STYLE[m], label=m)
        for m in MODES
        if m in modes
    ]
    symbols += _symbol_handles((), "black")
    kinds = {_node_colour(node.kind) for node in network.nodes.values() if node.kind != "border"}
    symbols += [
        Line2D([], [], marker="o", markersize=5, color=colour, linestyle="none", label=label)
        for colour, label in zip(NODE_COLOURS, NODE_LEGEND, strict=True)
        if colour in kinds
    ]
    rows = math.ceil(len(symbols) / _symbol_columns(len(symbols)))
    fig, ax, aspect = _figure(_aspect(everything), rows)
    extent = map_extent(everything, aspect, margin=0.05)
    metres_per_point = (extent[1] - extent[0]) / (MAP_WIDTH_IN * 72)
    land, places = _draw_base(
        ax, network, projection, faint=False, metres_per_point=metres_per_point
    )
    _frame(ax, extent, land)
    _draw_scale_bar(ax, projection, extent)
    _note(ax, land, any(_sails_round(network, link) for link in network.links.values()))
    _place_labels(ax, (_Label(p, network.nodes[n].name, fontsize=7.5) for n, p in places), [])
    stats = network.stats()
    _title(
        fig,
        title
        or f"silkroute network: {stats['nodes']} places, {stats['links']} links, "
        f"{stats['crossings']} crossings, {stats['countries']} countries",
    )
    _legends(fig, [], symbols)
    _save(fig, fileobj)


def _legends(fig: Figure, routes: list[Artist], symbols: list[Artist]) -> None:
    band_top = fig.axes[0].get_position().y0
    if routes:
        fig.legend(
            handles=routes,
            loc="upper left",
            bbox_to_anchor=(0.005, band_top - 0.004),
            frameon=False,
            fontsize=8.5,
            handlelength=2.6,
            borderaxespad=0.2,
        )
    if symbols:
        fig.legend(
            handles=symbols,
            loc="lower left",
            bbox_to_anchor=(0.005, 0.0),
            ncols=_symbol_columns(len(symbols)),
            frameon=False,
            fontsize=8,
            handlelength=2.6,
            columnspacing=1.4,
            borderaxespad=0.3,
        )


def _marker_box(ax: Axes, point: Points, half_pt: float) -> Bbox:
    x, y = ax.transData.transform((float(point[0]), float(point[1])))
    half = half_pt * DPI / 72
    return Bbox.from_extents(x - half, y - half, x + half, y + half)


def _name(network: Network, place: str) -> str:
    node = network.nodes.get(place)
    return node.name if node else place


PLAN_WIDTH_PT = (1.2, 9.0)  # line width of the least and the most TEU on one way


def plot_plan(
    network: Network,
    routes: Sequence[tuple[Route, float]],
    fileobj: IO[bytes],
    *,
    title: str | None = None,
) -> None:
    """Draw where a plan's shipments go and write a PNG: each way used once, as wide as the TEU
    that take it and in its mode's colour; the crossings used; closed crossings struck through.

    ``routes`` pairs each planned route with its TEU-equivalent.
    """
    projection = MapProjection()
    teu: dict[tuple[str, str, str | None], float] = {}
    mode_of: dict[tuple[str, str, str | None], str] = {}
    for route, amount in routes:
        for leg in _route_legs(network, route):
            for start, end, link_id in zip(leg.places[:-1], leg.places[1:], leg.links, strict=True):
                a, b = sorted((start, end))
                key = (a, b, network.links[link_id].base_id if link_id else None)
                teu[key] = teu.get(key, 0.0) + amount
                mode_of[key] = leg.mode
    lines = {key: _hop_line(network, projection, key[0], key[1], key[2]) for key in teu}
    if lines:
        everything = np.vstack(list(lines.values()))
    else:
        everything = _project(projection, _lonlat(network, network.nodes))
    modes = sorted(set(mode_of.values()))
    most = max(teu.values(), default=1.0)
    samples = sorted({_round_teu(most), _round_teu(most / 4), _round_teu(most / 20)} - {0.0})
    fig, ax, aspect = _figure(_aspect(everything), 2)
    extent = map_extent(everything, aspect)
    metres_per_point = (extent[1] - extent[0]) / (MAP_WIDTH_IN * 72)
    used = {
        network.crossings[c].base_id: network.crossings[c]
        for route, _ in routes
        for c in route.crossings
        if c in network.crossings
    }
    land, places = _draw_base(
        ax, network, projection, faint=True, metres_per_point=metres_per_point,
        marked=frozenset(used),
    )  # fmt: skip
    _frame(ax, extent, land)

    def width(amount: float) -> float:
        low, high = PLAN_WIDTH_PT
        return low + (high - low) * math.sqrt(amount / most)

    for key in sorted(teu, key=lambda k: teu[k]):
        line = lines[key]
        ax.plot(
            line[:, 0],
            line[:, 1],
            color=MODE_COLOURS.get(mode_of[key], "#333333"),
            linewidth=width(teu[key]),
            solid_capstyle="round",
            zorder=4,
            path_effects=[
                patheffects.withStroke(linewidth=width(teu[key]) + 1.4, foreground="white")
            ],
        )
    crossings = _draw_crossings(
        ax, network, projection, used.values(), size=7, zorder=7.5,
        metres_per_point=metres_per_point,
    )  # fmt: skip
    closed = {
        network.crossings[c.target].base_id: network.crossings[c.target]
        for c in network.closures
        if c.kind == "crossing" and c.target in network.crossings
    }
    for crossing in closed.values():
        point = _crossing_point(network, projection, crossing)
        ax.plot(point[0], point[1], marker="X", markersize=11, color="#c62828", zorder=8,
                markeredgecolor="white", markeredgewidth=1.0, linestyle="none")  # fmt: skip
    _draw_scale_bar(ax, projection, extent)
    on_route = {p for route, _ in routes for leg in _route_legs(network, route) for p in leg.places}
    _place_labels(
        ax,
        [
            *(
                _Label(p, _short(c.name), fontsize=7.5, gap_pt=5, fontstyle="italic")
                for p, c in crossings
            ),
            *(_Label(p, network.nodes[n].name, fontsize=8) for n, p in places if n in on_route),
        ],
        [_marker_box(ax, point, 4) for point, _ in crossings],
    )
    _title(fig, title or f"Where {len(routes)} planned shipments go")
    handles: list[Artist] = [
        Line2D([], [], color=MODE_COLOURS.get(mode, "#333333"), linewidth=3, label=mode)
        for mode in modes
    ]
    handles += [
        Line2D(
            [],
            [],
            color="#777777",
            linewidth=width(amount),
            label=f"{amount:,.0f} TEU" if amount >= 10 else f"{amount:g} TEU",
        )
        for amount in samples
    ]
    if closed:
        handles.append(
            Line2D([], [], marker="X", markersize=9, color="#c62828", linestyle="none",
                   label="closed crossing (scenario)")
        )  # fmt: skip
    _legends(fig, [], handles)
    _save(fig, fileobj)


def _round_teu(amount: float) -> float:
    """A legend amount: one or two significant digits."""
    if amount <= 0:
        return 0.0
    digits = 10 ** math.floor(math.log10(amount))
    return float(round(amount / digits) * digits)
