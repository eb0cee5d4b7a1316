"""The network as routing sees it, assembled from pack records by one builder."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from types import MappingProxyType
from typing import Any

import networkx as nx

from graphs.errors import DataPackError
from graphs.pack import PackTables
from graphs.places import PlaceIndex
from graphs.records import (
    Crossing,
    EmissionFactor,
    Link,
    Node,
    OversizeClass,
    Parameters,
    Service,
)

State = tuple[str, str]
"""A routing state: (node id, mode the cargo is on)."""


@dataclass(frozen=True, slots=True)
class Closure:
    """Nothing passes a crossing, node or link (data-row id) from ``start`` until ``end``."""

    kind: str
    target: str
    start: datetime
    end: datetime


@dataclass(frozen=True, eq=False)
class Network:
    """An immutable multimodal network.

    ``graph`` is a networkx ``MultiDiGraph`` over routing states ``(node id, mode)``; its edges
    are ``kind="move"`` (a link, with the crossing passed before it, if any), ``kind="service"``
    (a scheduled departure from its first stop to its last) and ``kind="transfer"`` (a mode change
    at a node that handles both modes). Gauge changes sit on the move edges whose crossing has
    ``gauge_change``; the loader guarantees that nowhere else do two gauges meet.
    """

    nodes: Mapping[str, Node]
    links: Mapping[str, Link]
    crossings: Mapping[str, Crossing]
    services: Mapping[str, Service]
    emission_factors: Mapping[str, EmissionFactor]
    oversize: tuple[OversizeClass, ...]
    parameters: Parameters
    crossing_on_link: Mapping[str, Crossing]
    graph: nx.MultiDiGraph[State]
    places: PlaceIndex
    source: str
    tables: PackTables
    closures: tuple[Closure, ...] = ()

    def resolve(self, query: str) -> Node:
        return self.places.resolve(query)

    @cached_property
    def out_edges(self) -> Mapping[State, tuple[tuple[State, dict[str, Any]], ...]]:
        """Each state's out-edges as ``(successor, edge data)``, flattened once for searches."""
        return {
            state: tuple((succ, data) for succ, edges in nbrs.items() for data in edges.values())
            for state, nbrs in self.graph.succ.items()
        }

    @cached_property
    def node_bits(self) -> Mapping[str, int]:
        """One bit per place, for sets of visited places as integers."""
        return {node_id: 1 << i for i, node_id in enumerate(self.nodes)}

    @cached_property
    def _modes_at(self) -> Mapping[str, tuple[str, ...]]:
        modes: dict[str, list[str]] = defaultdict(list)
        for place, mode in self.graph.nodes:
            modes[place].append(mode)
        return {place: tuple(found) for place, found in modes.items()}

    def node_modes(self, node_id: str) -> tuple[str, ...]:
        """Modes of the routing states at a node (the modes of its links and services)."""
        return self._modes_at.get(node_id, ())

    def stats(self) -> dict[str, int]:
        return {
            "nodes": len(self.nodes),
            "links": len(self.links),
            "crossings": len(self.crossings),
            "services": len(self.services),
            "countries": len({node.country for node in self.nodes.values()}),
        }


def build_network(tables: PackTables, source: str, closures: tuple[Closure, ...] = ()) -> Network:
    """Assemble indexes and the routing graph from validated records."""
    nodes = {node.id: node for node in tables.nodes}
    links = {link.id: link for link in tables.links}
    crossings = {crossing.id: crossing for crossing in tables.crossings}
    services = {service.id: service for service in tables.services}

    crossing_at = {(c.from_node, c.to_node, c.mode): c for c in crossings.values()}
    crossing_on_link: dict[str, Crossing] = {}
    for link in links.values():
        crossing = crossing_at.get((link.from_node, link.to_node, link.mode))
        if crossing is not None:
            crossing_on_link[link.id] = crossing

    graph: nx.MultiDiGraph[State] = nx.MultiDiGraph()
    modes_at: dict[str, set[str]] = defaultdict(set)
    for node in nodes.values():
        graph.graph.setdefault("places", {})[node.id] = node
    for link in links.values():
        modes_at[link.from_node].add(link.mode)
        modes_at[link.to_node].add(link.mode)
        graph.add_edge(
            (link.from_node, link.mode),
            (link.to_node, link.mode),
            key=link.id,
            kind="move",
            link=link,
            crossing=crossing_on_link.get(link.id),
        )
    for service in services.values():
        graph.add_edge(
            (service.stops[0], service.mode),
            (service.stops[-1], service.mode),
            key=service.id,
            kind="service",
            service=service,
        )
    for node_id, modes in modes_at.items():
        node = nodes[node_id]
        for from_mode in modes:
            for to_mode in modes:
                if from_mode != to_mode and {from_mode, to_mode} <= node.modes:
                    graph.add_edge(
                        (node_id, from_mode),
                        (node_id, to_mode),
                        key=f"transfer:{from_mode}>{to_mode}",
                        kind="transfer",
                        node=node,
                    )
    for node_id, node in nodes.items():
        if node_id not in modes_at:
            raise DataPackError(
                f"node {node_id} has no link; every place must be reachable",
                file="nodes.csv",
                column="id",
            )
        if not node.modes & modes_at[node_id] and node.kind != "border":
            raise DataPackError(
                f"node {node_id} loads {'/'.join(sorted(node.modes)) or 'no mode'} but its links "
                f"are {'/'.join(sorted(modes_at[node_id]))}",
                file="nodes.csv",
                column="modes",
            )
    return Network(
        nodes=MappingProxyType(nodes),
        links=MappingProxyType(links),
        crossings=MappingProxyType(crossings),
        services=MappingProxyType(services),
        emission_factors=MappingProxyType({f.cls: f for f in tables.emission_factors}),
        oversize=tables.oversize,
        parameters=tables.parameters,
        crossing_on_link=MappingProxyType(crossing_on_link),
        graph=graph,
        places=PlaceIndex(nodes.values()),
        source=source,
        tables=tables,
        closures=closures,
    )


def edge_data(network: Network, start: State, end: State, key: str) -> dict[str, Any]:
    """The attribute dict of one routing-graph edge."""
    data: dict[str, Any] = network.graph.edges[start, end, key]
    return data
