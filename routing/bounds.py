"""Lower bounds from every routing state to a destination, for A*-style pruning of the search.

Three reverse Dijkstra runs on the routing graph give, per state, the least remaining linehaul
plus handling plus border cost per TEU, the least remaining hours (no waiting), and the least
remaining CO2e per tonne. Waiting, avoided places and scenario closures only ever add, so the
bounds stay valid for every query to that destination; they are cached per network.
"""

from __future__ import annotations

import heapq
import itertools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graphs.network import Network, State

Weight = Callable[[State, State, dict[str, Any]], float]


@dataclass(frozen=True)
class Bounds:
    """Least remaining cost per TEU, hours and kg CO2e per tonne, by state."""

    cost_per_teu: dict[State, float]
    hours: dict[State, float]
    co2_per_t: dict[State, float]


_CACHE: weakref.WeakKeyDictionary[Network, dict[str, Bounds]] = weakref.WeakKeyDictionary()


def bounds_to(network: Network, destination: str) -> Bounds:
    """Bounds to ``destination``, computed once per network and destination."""
    per_network = _CACHE.setdefault(network, {})
    found = per_network.get(destination)
    if found is None:
        found = _compute(network, destination)
        per_network[destination] = found
    return found


def _compute(network: Network, destination: str) -> Bounds:
    node = network.nodes[destination]
    goals = [(destination, mode) for mode in network.node_modes(destination) if mode in node.modes]

    def factor(link_id: str) -> float:
        link = network.links[link_id]
        return network.emission_factors[link.emission_class].kg_co2e_per_tkm * link.distance_km

    def crossing_usd(link_id: str) -> float:
        crossing = network.crossing_on_link.get(link_id)
        if crossing is None:
            return 0.0
        return crossing.fee_usd_per_teu + (
            crossing.transhipment_usd_per_teu if crossing.gauge_change else 0.0
        )

    def cost(_: State, __: State, data: dict[str, Any]) -> float:
        kind = data["kind"]
        if kind == "move":
            link = data["link"]
            return float(link.usd_per_teu + link.usd_per_teu_km * link.distance_km) + crossing_usd(
                link.id
            )
        if kind == "service":
            service = data["service"]
            return float(service.usd_per_teu + sum(crossing_usd(k) for k in service.links))
        return float(data["node"].handling_usd_per_teu)

    def hours(_: State, __: State, data: dict[str, Any]) -> float:
        kind = data["kind"]
        if kind == "move":
            crossing = data["crossing"]
            return float(data["link"].hours + (crossing.hours if crossing else 0.0))
        if kind == "service":
            return float(data["service"].transit_hours)
        return float(data["node"].handling_hours)

    def co2(_: State, __: State, data: dict[str, Any]) -> float:
        kind = data["kind"]
        if kind == "move":
            return factor(data["link"].id)
        if kind == "service":
            return sum(factor(k) for k in data["service"].links)
        return 0.0

    preds = _PREDECESSORS.get(network)
    if preds is None:
        preds = _PREDECESSORS[network] = _predecessors(network, (cost, hours, co2))
    return Bounds(
        cost_per_teu=_reverse_dijkstra(preds[0], goals, node.handling_usd_per_teu),
        hours=_reverse_dijkstra(preds[1], goals, node.handling_hours),
        co2_per_t=_reverse_dijkstra(preds[2], goals, 0.0),
    )


# Per network and measure: each state's predecessors with the least weight of the edges between,
# flattened once so that each destination's Dijkstra runs on plain tuples (the big pack has some
# 300 destinations, each searched cold once).
Predecessors = dict[State, tuple[tuple[State, float], ...]]
_PREDECESSORS: weakref.WeakKeyDictionary[Network, tuple[Predecessors, ...]] = (
    weakref.WeakKeyDictionary()
)


def _predecessors(network: Network, weights: tuple[Weight, ...]) -> tuple[Predecessors, ...]:
    out: list[Predecessors] = []
    for weight in weights:
        table: Predecessors = {}
        for state, preds in network.graph.pred.items():
            table[state] = tuple(
                (previous, min(weight(previous, state, data) for data in edges.values()))
                for previous, edges in preds.items()
            )
        out.append(table)
    return tuple(out)


def _reverse_dijkstra(preds: Predecessors, goals: list[State], start: float) -> dict[State, float]:
    best: dict[State, float] = {}
    counter = itertools.count()
    heap = [(start, next(counter), goal) for goal in goals]
    heapq.heapify(heap)
    while heap:
        value, _, state = heapq.heappop(heap)
        if state in best:
            continue
        best[state] = value
        for previous, step in preds.get(state, ()):
            if previous not in best:
                heapq.heappush(heap, (value + step, next(counter), previous))
    return best
