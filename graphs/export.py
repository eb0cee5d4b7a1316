"""The network as JSON (every record, limits included) and as GeoJSON (RFC 7946)."""

from __future__ import annotations

from typing import Any

from graphs.network import Network
from graphs.records import WEEKDAYS


def _days(days: frozenset[int]) -> list[str]:
    return [WEEKDAYS[d] for d in sorted(days)]


def network_to_dict(network: Network) -> dict[str, Any]:
    """Every record as loaded: what other tools need to check routes against the network."""
    return {
        "source": network.source,
        "stats": network.stats(),
        "nodes": [
            {
                "id": n.id,
                "name": n.name,
                "aliases": list(n.aliases),
                "country": n.country,
                "kind": n.kind,
                "lat": n.lat,
                "lon": n.lon,
                "modes": sorted(n.modes),
                "handling_usd_per_teu": n.handling_usd_per_teu,
                "handling_hours": n.handling_hours,
                "storage_usd_per_teu_day": n.storage_usd_per_teu_day,
                "lift_capacity_t": n.lift_capacity_t,
                "source": n.source,
            }
            for n in network.nodes.values()
        ],
        "links": [
            {
                "id": k.id,
                "from": k.from_node,
                "to": k.to_node,
                "mode": k.mode,
                "gauge_mm": k.gauge_mm,
                "traction": k.traction,
                "emission_class": k.emission_class,
                "distance_km": k.distance_km,
                "speed_kmh": k.speed_kmh,
                "usd_per_teu": k.usd_per_teu,
                "usd_per_teu_km": k.usd_per_teu_km,
                "usd_per_t_km": k.usd_per_t_km,
                "capacity_teu_per_week": k.capacity_teu_per_week,
                "max_length_m": k.max_length_m,
                "max_width_m": k.max_width_m,
                "max_height_m": k.max_height_m,
                "max_piece_t": k.max_piece_t,
                "crossing": c.id if (c := network.crossing_on_link.get(k.id)) else None,
                "source": k.source,
            }
            for k in network.links.values()
        ],
        "crossings": [
            {
                "id": c.id,
                "name": c.name,
                "from": c.from_node,
                "to": c.to_node,
                "mode": c.mode,
                "dwell_hours": c.dwell_hours,
                "dwell_p90_hours": c.dwell_p90_hours,
                "fee_usd_per_teu": c.fee_usd_per_teu,
                "gauge_change": c.gauge_change,
                "transhipment_usd_per_teu": c.transhipment_usd_per_teu,
                "transhipment_hours": c.transhipment_hours,
                "open_weekdays": _days(c.open_weekdays),
                "capacity_teu_per_week": c.capacity_teu_per_week,
                "source": c.source,
            }
            for c in network.crossings.values()
        ],
        "services": [
            {
                "id": s.id,
                "name": s.name,
                "mode": s.mode,
                "stops": list(s.stops),
                "links": list(s.links),
                "weekdays": _days(s.weekdays),
                "departure_hour_utc": s.departure_hour_utc,
                "transit_hours": s.transit_hours,
                "usd_per_teu": s.usd_per_teu,
                "capacity_teu": s.capacity_teu,
                "source": s.source,
            }
            for s in network.services.values()
        ],
        "emission_factors": [
            {"class": f.cls, "kg_co2e_per_tkm": f.kg_co2e_per_tkm, "source": f.source}
            for f in network.emission_factors.values()
        ],
        "oversize": [
            {
                "mode": o.mode,
                "class": o.cls,
                "width_over_m": o.width_over_m,
                "height_over_m": o.height_over_m,
                "length_over_m": o.length_over_m,
                "weight_over_t": o.weight_over_t,
                "surcharge_pct": o.surcharge_pct,
                "source": o.source,
            }
            for o in network.oversize
        ],
        "service_delays": [
            {
                "applies_to": d.applies_to,
                "delay_p50_hours": d.delay_p50_hours,
                "delay_p90_hours": d.delay_p90_hours,
                "source": d.source,
            }
            for d in network.tables.service_delays
        ],
    }


def network_geojson(network: Network) -> dict[str, Any]:
    """Nodes as points and links (one per data row, not per direction) as lines."""
    features: list[dict[str, Any]] = []
    for node in network.nodes.values():
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [node.lon, node.lat]},
                "properties": {
                    "id": node.id,
                    "name": node.name,
                    "country": node.country,
                    "kind": node.kind,
                    "modes": sorted(node.modes),
                },
            }
        )
    for link in network.links.values():
        if link.id != link.base_id:
            continue
        a, b = network.nodes[link.from_node], network.nodes[link.to_node]
        crossing = network.crossing_on_link.get(link.id)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[a.lon, a.lat], [b.lon, b.lat]]},
                "properties": {
                    "id": link.id,
                    "from": link.from_node,
                    "to": link.to_node,
                    "mode": link.mode,
                    "gauge_mm": link.gauge_mm,
                    "distance_km": link.distance_km,
                    "crossing": crossing.base_id if crossing else None,
                    "gauge_change": bool(crossing and crossing.gauge_change),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
