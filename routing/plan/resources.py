"""Capacities a route uses: a link or crossing in an ISO week, or one departure of a service.

A resource's use in a period is the TEU-equivalent of the steps that use it and start in that
ISO week (for a service: in that departure). On-demand moves use their link's capacity; rides
use their service's; every border step uses its crossing's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from graphs.network import Network
from routing.route import Route, Step, iso


@dataclass(frozen=True)
class Resource:
    """A capacity in one period: a link or crossing in an ISO week, or a service departure."""

    id: str
    period: str
    capacity_teu: float


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def route_usage(network: Network, route: Route, teu: float) -> list[tuple[Resource, float]]:
    """The capacities a route uses and how much of each, from its steps."""
    used: dict[Resource, float] = {}
    previous: Step | None = None
    departure = ""
    for step in route.steps:
        if step.service and (previous is None or previous.service != step.service):
            departure = iso(step.start)  # the first step of a ride is its departure
        resource = _step_resource(network, step, departure)
        if resource is not None:
            used[resource] = teu  # a ride or a move uses its resource once
        previous = step
    return list(used.items())


def _step_resource(network: Network, step: Step, departure: str) -> Resource | None:
    if step.kind == "border" and step.crossing:
        crossing = network.crossings[step.crossing]
        if crossing.capacity_teu_per_week is not None:
            return Resource(crossing.id, iso_week(step.start), crossing.capacity_teu_per_week)
    elif step.kind == "move" and step.service:
        service = network.services[step.service]
        return Resource(service.id, departure, service.capacity_teu)
    elif step.kind == "move" and step.link:
        link = network.links[step.link]
        if link.capacity_teu_per_week is not None:
            return Resource(link.id, iso_week(step.start), link.capacity_teu_per_week)
    return None


def resource_use(network: Network, routes: Sequence[tuple[Route, float]]) -> dict[Resource, float]:
    """Total use per resource-period of a set of (route, TEU-equivalent) pairs."""
    total: dict[Resource, float] = defaultdict(float)
    for route, teu in routes:
        for resource, amount in route_usage(network, route, teu):
            total[resource] += amount
    return dict(total)
