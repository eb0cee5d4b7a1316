"""An independent recomputation of a route from the network records and its steps.

Written from the data-pack README's model, not from ``routing.costs``: if the solver's sums and
these disagree, one of them is wrong.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from graphs import Network
from routing.model import Cargo
from routing.route import Route

TOL_USD = 0.02
TOL_KG = 0.01


def teu_equivalent(net: Network, cargo: Cargo) -> float:
    p = net.parameters
    if cargo.teu is not None:
        return cargo.teu
    assert cargo.pieces and cargo.length_m and cargo.width_m and cargo.weight_t
    area = cargo.length_m * cargo.width_m / p.teu_floor_m2
    return cargo.pieces * max(area, cargo.weight_t / p.teu_max_gross_t)


def tonnes(net: Network, cargo: Cargo) -> float:
    if cargo.teu is not None:
        return cargo.weight_t or cargo.teu * net.parameters.default_teu_gross_t
    assert cargo.pieces and cargo.weight_t
    return cargo.pieces * cargo.weight_t


def check_route(net: Network, route: Route, cargo: Cargo) -> None:
    """Assert every step's figures follow from the network, and totals from the steps."""
    teu = teu_equivalent(net, cargo)
    t = tonnes(net, cargo)
    steps = route.steps
    assert steps, "a route has steps"
    assert steps[0].start == route.ready
    for a, b in itertools.pairwise(steps):
        assert abs((b.start - a.end).total_seconds()) < 1e-3, "steps are contiguous in time"
    at = route.origin
    ride_cost: dict[str, float] = {}
    for i, step in enumerate(steps):
        assert step.end >= step.start
        hours = step.hours
        if step.kind == "move":
            link = net.links[step.link or ""]
            assert link.from_node == at, f"move starts where the cargo is ({at})"
            at = link.to_node
            assert step.distance_km == link.distance_km
            factor = net.emission_factors[link.emission_class].kg_co2e_per_tkm
            assert abs(step.co2e_kg - t * link.distance_km * factor) < TOL_KG
            if step.service:
                service = net.services[step.service]
                assert link.id in service.links
                ride_cost[step.service] = ride_cost.get(step.service, 0.0) + step.cost_usd
            else:
                assert abs(hours - link.distance_km / link.speed_kmh) < 1e-3
                if cargo.teu is not None:
                    expected = teu * (link.usd_per_teu + link.usd_per_teu_km * link.distance_km)
                    assert abs(step.cost_usd - expected) < TOL_USD
                else:
                    assert cargo.length_m and cargo.width_m and cargo.height_m and cargo.weight_t
                    assert link.max_length_m is None or cargo.length_m <= link.max_length_m
                    assert link.max_width_m is None or cargo.width_m <= link.max_width_m
                    assert link.max_height_m is None or cargo.height_m <= link.max_height_m
                    assert link.max_piece_t is None or cargo.weight_t <= link.max_piece_t
                    per_piece = max(cargo.weight_t, net.parameters.piece_min_chargeable_t)
                    base = cargo.pieces * per_piece * link.distance_km
                    base *= link.usd_per_t_km
                    assert step.cost_usd >= base - TOL_USD, "pieces pay at least the t-km rate"
        elif step.kind == "border":
            crossing = net.crossings[step.crossing or ""]
            assert crossing.from_node == at
            following = steps[i + 1]
            assert following.kind == "move" and following.link
            assert net.crossing_on_link[following.link].id == crossing.id
            expected = crossing.fee_usd_per_teu * teu
            if crossing.gauge_change:
                expected += crossing.transhipment_usd_per_teu * teu
            assert abs(step.cost_usd - expected) < TOL_USD
            assert abs(step.transhipment_usd - (expected - crossing.fee_usd_per_teu * teu)) < 0.02
            if not following.service:
                assert abs(hours - crossing.dwell_hours - crossing.transhipment_hours) < 1e-3
                assert step.start.weekday() in crossing.open_weekdays
        elif step.kind == "handle":
            node = net.nodes[step.node or ""]
            assert node.id == at
            assert abs(step.cost_usd - node.handling_usd_per_teu * teu) < TOL_USD
            assert abs(hours - node.handling_hours) < 1e-3
        else:
            node = net.nodes[step.node or ""]
            assert node.id == at
            expected = node.storage_usd_per_teu_day * teu * hours / 24
            assert abs(step.cost_usd - expected) < TOL_USD
    assert at == route.destination
    for service_id, cost in ride_cost.items():
        assert abs(cost - net.services[service_id].usd_per_teu * teu) < TOL_USD
    total_hours = sum(s.hours for s in steps)
    assert abs((route.arrive - route.ready) - timedelta(hours=total_hours)) < timedelta(seconds=1)
    data = route.to_dict()
    totals = data["totals"]
    assert abs(totals["cost_usd"] - sum(s["cost_usd"] for s in data["steps"])) < 0.01 * len(steps)
    assert abs(totals["co2e_kg"] - sum(s["co2e_kg"] for s in data["steps"])) < 0.01 * len(steps)
    assert abs(sum(data["cost_breakdown_usd"].values()) - totals["cost_usd"]) < 0.05
    assert abs(sum(data["time_breakdown_hours"].values()) - totals["transit_hours"]) < 0.01
    assert totals["border_crossings"] == sum(1 for s in steps if s.kind == "border")
