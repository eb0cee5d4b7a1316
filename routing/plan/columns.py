"""Columns of the plan: routes (each with its start week) a shipment may take, and pricing.

A column is one route for a whole shipment, started at its ready time or deferred by whole
weeks within the horizon (waiting at the origin at its storage rate). The first columns are
the corridors ``find_routes`` offers; pricing adds the route with the most negative reduced
cost under the capacity prices of the restricted master (``routing.search.Prices``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from graphs.errors import NoRouteError, SilkrouteError
from graphs.network import Network
from routing.model import Cargo, Shipment
from routing.plan.resources import Resource, iso_week, route_usage
from routing.plan.settings import PlanSettings
from routing.route import Route, Step, iso
from routing.routes import find_routes, make_query
from routing.search import Query, build_route, search

HOURS_PER_WEEK = 168.0


@dataclass(frozen=True)
class Column:
    """A route for a whole shipment, with what it costs the plan and the capacity it uses."""

    route: Route
    late_days: float
    objective_usd: float  # route cost (storage of a deferral included) + lateness penalty
    usage: tuple[tuple[Resource, float], ...]

    @property
    def key(self) -> tuple[Any, ...]:
        """Two columns with one key are interchangeable to the plan."""
        used = tuple(sorted((r.id, r.period) for r, _ in self.usage))
        return used, self.route.arrive, round(self.objective_usd, 2)


def deferred(network: Network, route: Route, ready: datetime, teu: float) -> Route:
    """``route`` (searched from a later start) preceded by storage at the origin from ``ready``."""
    if route.ready <= ready:
        return route
    origin = network.nodes[route.origin]
    hours = (route.ready - ready).total_seconds() / 3600
    wait = Step(
        kind="wait",
        start=ready,
        end=route.ready,
        cost_usd=origin.storage_usd_per_teu_day * teu * hours / 24,
        node=origin.id,
        note=f"deferred {round(hours / HOURS_PER_WEEK)} week(s) by the plan for capacity",
    )
    return replace(route, ready=ready, steps=(wait, *route.steps))


def make_column(
    network: Network, shipment: Shipment, route: Route, teu: float, settings: PlanSettings
) -> Column:
    due = shipment.due_at
    late_days = max(0.0, (route.arrive - due).total_seconds() / 86400) if due else 0.0
    late_cost = late_days * settings.late_usd_per_teu_day * teu * shipment.priority
    return Column(
        route=route,
        late_days=late_days,
        objective_usd=route.cost_usd + late_cost,
        usage=tuple(route_usage(network, route, teu)),
    )


def storage_usd(network: Network, shipment: Shipment, weeks: int, teu: float) -> float:
    origin = network.resolve(shipment.origin)
    return origin.storage_usd_per_teu_day * teu * 7 * weeks


class CandidateRoutes:
    """The corridors ``find_routes`` offers a shipment from a start time.

    Routes depend on the start only through the time of week when no scenario closure breaks
    the weekly pattern, and on a container count only linearly (every cost is per TEU, every
    emission per tonne): one search serves every shipment of the same lane.
    """

    def __init__(self, network: Network, settings: PlanSettings) -> None:
        self.network = network
        self.settings = settings
        self.routes: dict[tuple[Any, ...], list[Route] | str] = {}

    def routes_for(self, shipment: Shipment, start: datetime) -> list[Route] | str:
        if self.network.closures:
            return self._search(replace(shipment, ready=start, due=None))
        anchor = _week_start(start)
        cargo = shipment.cargo
        unit = cargo.teu if cargo.teu is not None and cargo.weight_t is None else None
        key = (
            self.network.resolve(shipment.origin).id,
            self.network.resolve(shipment.destination).id,
            Cargo(teu=1.0) if unit is not None else cargo,
            shipment.avoid_countries,
            start - anchor,
        )
        cached = self.routes.get(key)
        if cached is None:
            probe = replace(
                shipment, cargo=key[2], ready=_REFERENCE_WEEK + (start - anchor), due=None
            )
            cached = self._search(probe)
            self.routes[key] = cached
        if isinstance(cached, str):
            return cached
        delta = anchor - _REFERENCE_WEEK
        if unit is None:
            return [route.shifted(delta) for route in cached]
        return [route.shifted(delta).scaled(unit, unit) for route in cached]

    def _search(self, shipment: Shipment) -> list[Route] | str:
        try:
            routes = find_routes(
                self.network, shipment, objective="cost", alternatives=self.settings.alternatives
            )
        except NoRouteError as exc:
            return exc.reason
        except SilkrouteError as exc:
            return str(exc)
        try:
            fastest = find_routes(self.network, shipment, objective="time")[0]
        except NoRouteError:
            fastest = None
        if fastest is not None and all(
            (r.signature, r.arrive) != (fastest.signature, fastest.arrive) for r in routes
        ):
            routes.append(fastest)
        return routes


_REFERENCE_WEEK = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday


def _week_start(moment: datetime) -> datetime:
    monday = moment - timedelta(days=moment.weekday())
    return monday.replace(hour=0, minute=0, second=0, microsecond=0)


class PlanPrices:
    """Capacity prices (USD per TEU-equivalent per resource-period) and lateness, as the route
    search asks for them: hours after the start of one search (``routing.search.Prices``)."""

    def __init__(
        self,
        weekly: dict[str, dict[str, float]],
        departures: dict[str, dict[str, float]],
        start: datetime,
        due: datetime | None,
        late_usd_per_teu_day: float,
    ) -> None:
        self.weekly = weekly
        self.departures = departures
        self.start = start
        self.due_hours = None if due is None else (due - start).total_seconds() / 3600
        self.late_usd_per_teu_hour = late_usd_per_teu_day / 24

    def use(self, resource_id: str, hours: float) -> float:
        periods = self.weekly.get(resource_id)
        if periods is not None:
            return periods.get(iso_week(self.start + timedelta(hours=hours)), 0.0)
        periods = self.departures.get(resource_id)
        if periods is not None:
            return periods.get(iso(self.start + timedelta(hours=hours)), 0.0)
        return 0.0

    def arrival(self, hours: float) -> float:
        if self.due_hours is None or hours <= self.due_hours:
            return 0.0
        return self.late_usd_per_teu_hour * (hours - self.due_hours)


def split_prices(
    network: Network, prices: dict[Resource, float]
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Prices by resource id and period: links and crossings by ISO week, services by departure."""
    weekly: dict[str, dict[str, float]] = {}
    departures: dict[str, dict[str, float]] = {}
    for resource, price in prices.items():
        table = departures if resource.id in network.services else weekly
        table.setdefault(resource.id, {})[resource.period] = price
    return weekly, departures


@dataclass(frozen=True)
class Priced:
    """The best column of one start under the prices, or a lower bound when none beats a cap."""

    column: Column | None
    value_usd: float  # the column's priced value, or the proven lower bound


class Pricer:
    """The route search with capacity prices on its steps and lateness at arrival."""

    def __init__(self, network: Network, settings: PlanSettings) -> None:
        self.network = network
        self.settings = settings
        self.queries: dict[int, Query] = {}

    def best(
        self,
        index: int,
        shipment: Shipment,
        teu: float,
        weeks: int,
        weekly: dict[str, dict[str, float]],
        departures: dict[str, dict[str, float]],
        cap_usd: float,
    ) -> Priced:
        """The start ``weeks`` after ready: the route of least priced value if it is below
        ``cap_usd`` (storage of the deferral, lateness and prices included), else the cap as
        a proven lower bound."""
        base = self.queries.get(index)
        if base is None:
            base = self.queries[index] = make_query(self.network, shipment, objective="cost")
        storage = storage_usd(self.network, shipment, weeks, teu)
        start = shipment.ready_at + timedelta(weeks=weeks)
        prices = PlanPrices(
            weekly,
            departures,
            start,
            shipment.due_at,
            self.settings.late_usd_per_teu_day * shipment.priority,
        )
        query = replace(base, ready=start, prices=prices, objective_cap=cap_usd - storage)
        labels = search(query)
        if not labels:
            return Priced(None, cap_usd)
        label = labels[0]
        route = deferred(self.network, build_route(query, label, "cost"), shipment.ready_at, teu)
        column = make_column(self.network, shipment, route, teu, self.settings)
        return Priced(column, storage + label.primary)
