"""Routes as GeoJSON (RFC 7946): one LineString feature per move, one Point per border step."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphs.network import Network
from routing.plan import Plan
from routing.route import Route


def routes_geojson(network: Network, routes: Sequence[Route]) -> dict[str, Any]:
    """A FeatureCollection a GIS user can open; properties carry each step's figures."""
    features: list[dict[str, Any]] = []
    for rank, route in enumerate(routes):
        for step in route.steps:
            base = {"route": rank} | step.head()
            geometry: dict[str, Any]
            if step.kind == "move":
                assert step.from_node and step.to_node
                a, b = network.nodes[step.from_node], network.nodes[step.to_node]
                geometry = {"type": "LineString", "coordinates": [[a.lon, a.lat], [b.lon, b.lat]]}
                extra = {
                    "mode": step.mode,
                    "link": step.link,
                    "service": step.service,
                    "distance_km": round(step.distance_km, 3),
                }
            elif step.kind == "border":
                assert step.from_node
                a = network.nodes[step.from_node]
                geometry = {"type": "Point", "coordinates": [a.lon, a.lat]}
                crossing = network.crossings[step.crossing or ""]
                extra = {"crossing": crossing.base_id, "gauge_change": crossing.gauge_change}
            else:
                continue
            features.append({"type": "Feature", "geometry": geometry, "properties": base | extra})
    return {"type": "FeatureCollection", "features": features}


def plan_geojson(network: Network, plan: Plan) -> dict[str, Any]:
    """A plan's routes: each feature carries its shipment's id, status and lateness."""
    features: list[dict[str, Any]] = []
    for result in plan.shipments:
        if result.route is None:
            continue
        extra = {
            "shipment": result.id,
            "status": result.status,
            "late_days": round(result.late_days, 3),
            "teu_equivalent": round(result.teu, 3),
        }
        for feature in routes_geojson(network, [result.route])["features"]:
            feature["properties"] = extra | feature["properties"]
            del feature["properties"]["route"]
            features.append(feature)
    return {"type": "FeatureCollection", "features": features}
