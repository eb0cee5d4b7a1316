"""Routing one shipment: the best route, materially different alternatives, the Pareto front,
and, when nothing fits, the reason in a planner's words."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from graphs.errors import InputError, NoRouteError
from graphs.network import Network, State
from graphs.records import MODES
from routing import costs
from routing.costs import CargoTerms
from routing.lastmile import parse_coordinates, with_site
from routing.model import OBJECTIVES, Objective, Shipment
from routing.route import Route
from routing.search import Label, Query, build_route, reachable, search, search_found
from routing.stopping import Stop, StoppedError

if TYPE_CHECKING:
    from graphs.roads import RoadGraph

MAX_ALTERNATIVES = 10
# Searches spent looking for alternatives: each bans a crossing or a mode a found route used.
_ALTERNATIVE_SEARCHES_PER_ROUTE = 8
# An alternative worth showing costs (in the objective's terms) at most this much more than the
# best; the cap also lets searches that ban the only way through give up early.
ALTERNATIVE_CAP = 2.5
# Two routes of one corridor (the same crossings and sequence of modes) whose cost and transit
# time are both within this share of each other are one choice for a planner: the front shows
# the first (the faster).
NEAR_DUPLICATE_SHARE = 0.05


class RouteList(list[Route]):
    """Routes best first, and what the search knows beyond them.

    ``front_size`` is, for a Pareto front, how many routes the full front had before
    near-duplicates were dropped (``None`` otherwise).
    """

    front_size: int | None = None


def near_duplicate(a: Route, b: Route, share: float = NEAR_DUPLICATE_SHARE) -> bool:
    """Whether two routes take one corridor with cost and transit time within ``share``."""
    if a.corridor != b.corridor:
        return False
    return abs(a.cost_usd - b.cost_usd) <= share * max(a.cost_usd, b.cost_usd) and abs(
        a.transit_hours - b.transit_hours
    ) <= share * max(a.transit_hours, b.transit_hours)


def distinct(routes: Iterable[Route]) -> list[Route]:
    """The routes, in order, without any that is a near-duplicate of one kept before it."""
    kept: list[Route] = []
    for route in routes:
        if not any(near_duplicate(route, other) for other in kept):
            kept.append(route)
    return kept


@dataclass(frozen=True)
class Avoid:
    """What a route must never touch. Crossings match by id in either direction."""

    countries: frozenset[str] = frozenset()
    nodes: frozenset[str] = frozenset()
    crossings: frozenset[str] = frozenset()
    modes: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        countries: Iterable[str] = (),
        nodes: Iterable[str] = (),
        crossings: Iterable[str] = (),
        modes: Iterable[str] = (),
    ) -> Avoid:
        def texts(items: Iterable[str], name: str) -> list[str]:
            if isinstance(items, str):
                items = items.split(",")
            out = []
            for item in items:
                if not isinstance(item, str):
                    raise InputError(f"{item!r} is not text", f"avoid.{name}")
                if item.strip():
                    out.append(item.strip())
            return out

        return cls(
            frozenset(c.upper() for c in texts(countries, "countries")),
            frozenset(texts(nodes, "nodes")),
            frozenset(c.removesuffix(":rev") for c in texts(crossings, "crossings")),
            frozenset(m.lower() for m in texts(modes, "modes")),
        )


def make_query(
    network: Network,
    shipment: Shipment,
    *,
    objective: Objective = "cost",
    avoid: Avoid | None = None,
    modes: Iterable[str] | None = None,
    max_transit_days: float | None = None,
    max_cost_usd: float | None = None,
    value_of_time_usd_per_day: float | None = None,
    carbon_price_usd_per_t: float = 0.0,
    pareto: bool = False,
    roads: RoadGraph | None = None,
) -> Query:
    """Resolve places and validate options into a search query.

    An origin or destination given as ``"lat,lon"`` becomes a site joined to the network by
    road (``routing.lastmile``), over ``roads`` where that OSM extract covers it.
    """
    if objective not in OBJECTIVES:
        raise InputError(f"'{objective}' is not one of {', '.join(OBJECTIVES)}", "objective")
    terms = CargoTerms.of(shipment.cargo, network)
    notes: list[str] = []
    places = []
    for role in ("origin", "destination"):
        text = getattr(shipment, role)
        coordinates = parse_coordinates(text)
        if coordinates is None:
            places.append(text)
            continue
        network, node_id, added = with_site(network, *coordinates, terms=terms, roads=roads)
        notes.extend(added)
        places.append(node_id)
    origin = network.resolve(places[0])
    destination = network.resolve(places[1])
    if origin.id == destination.id:
        raise InputError(f"origin and destination are both {origin.name}", "destination")
    avoid = avoid or Avoid()
    avoid = replace(avoid, countries=avoid.countries | set(shipment.avoid_countries))
    avoid_nodes = frozenset(network.resolve(name).id for name in avoid.nodes)
    for mode in avoid.modes:
        if mode not in MODES:
            raise InputError(f"'{mode}' is not a mode ({', '.join(MODES)})", "avoid.modes")
    banned_modes = set(avoid.modes)
    if modes is not None:
        allowed = {m.strip().lower() for m in modes if m.strip()}
        for mode in allowed:
            if mode not in MODES:
                raise InputError(f"'{mode}' is not a mode ({', '.join(MODES)})", "modes")
        banned_modes |= set(MODES) - allowed
    known_crossings = {c.base_id for c in network.crossings.values()}
    for crossing in avoid.crossings:
        if crossing not in known_crossings:
            raise InputError(f"'{crossing}' is not a crossing id", "avoid.crossings")
    for place, role in ((origin, "origin"), (destination, "destination")):
        if place.id in avoid_nodes or place.country in avoid.countries:
            raise InputError(f"{place.name} ({place.country}) is itself avoided", role)
    for name, value, low, high in (
        ("max_transit_days", max_transit_days, 0.0, 10_000.0),
        ("max_cost_usd", max_cost_usd, 0.0, 1e12),
        ("carbon_price_usd_per_t", carbon_price_usd_per_t, -1e-12, 10_000.0),
        ("value_of_time_usd_per_day", value_of_time_usd_per_day, -1e-12, 1e9),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
            span = f"above 0 up to {high:g}" if low >= 0 else f"from 0 to {high:g}"
            raise InputError(f"must be a number {span}, got {value!r}", name)
    if value_of_time_usd_per_day is None:
        pct = network.parameters.value_of_time_pct_per_year
        value_of_time_usd_per_day = (shipment.value_usd or 0.0) * pct / 100 / 365
    return Query(
        network=network,
        origin=origin,
        destination=destination,
        ready=shipment.ready_at,
        terms=terms,
        objective=objective,
        value_of_time_usd_per_day=value_of_time_usd_per_day,
        carbon_price_usd_per_t=carbon_price_usd_per_t,
        avoid_nodes=avoid_nodes,
        avoid_countries=avoid.countries,
        avoid_crossings=avoid.crossings,
        avoid_modes=frozenset(banned_modes),
        max_hours=max_transit_days * 24 if max_transit_days is not None else None,
        max_cost_usd=max_cost_usd,
        pareto=pareto,
        notes=tuple(notes),
    )


def find_routes(
    network: Network,
    shipment: Shipment,
    objective: Objective = "cost",
    alternatives: int = 0,
    pareto: bool = False,
    *,
    avoid: Avoid | None = None,
    modes: Iterable[str] | None = None,
    max_transit_days: float | None = None,
    max_cost_usd: float | None = None,
    value_of_time_usd_per_day: float | None = None,
    carbon_price_usd_per_t: float = 0.0,
    roads: RoadGraph | None = None,
    stop: Stop | None = None,
) -> RouteList:
    """Routes for one shipment, best first.

    With ``alternatives=K``, up to K more routes follow, each using other crossings or modes than
    the ones before it. With ``pareto=True``, the routes non-dominated in cost and transit time,
    fastest first, without near-duplicates (``front_size`` counts the full front). Raises
    ``NoRouteError`` with the reason when no route satisfies the request. ``stop`` (a deadline and
    cancel flag) ends the search early: the routes found by then carry ``exact=False``, and
    ``StoppedError`` is raised when none was found.
    """
    if isinstance(alternatives, bool) or not isinstance(alternatives, int):
        raise InputError(f"must be a whole number, got {alternatives!r}", "alternatives")
    if not 0 <= alternatives <= MAX_ALTERNATIVES:
        raise InputError(f"must be between 0 and {MAX_ALTERNATIVES}", "alternatives")
    query = make_query(
        network,
        shipment,
        objective=objective,
        avoid=avoid,
        modes=modes,
        max_transit_days=max_transit_days,
        max_cost_usd=max_cost_usd,
        value_of_time_usd_per_day=value_of_time_usd_per_day,
        carbon_price_usd_per_t=carbon_price_usd_per_t,
        pareto=pareto,
        roads=roads,
    )
    query = replace(query, stop=stop)
    found = search_found(query)
    if not found.labels:
        raise NoRouteError(explain_no_route(query))
    if pareto:
        front = [build_route(query, label, objective, exact=found.exact) for label in found.labels]
        routes = RouteList(distinct(front))
        routes.front_size = len(front)
        return routes
    best = build_route(query, found.labels[0], objective, exact=found.exact)
    if alternatives == 0:
        return RouteList([best])
    return RouteList([best, *_alternatives(query, best, alternatives)])


def _alternatives(query: Query, best: Route, count: int) -> list[Route]:
    """Routes that differ from every earlier one in crossings or modes, best first.

    A breadth-first walk over ban sets: each found route spawns searches that ban one of its
    crossings or one of its modes, so the next corridor surfaces rather than a detour.
    """
    seen = {best.signature}
    found: list[tuple[tuple[float, float], Route]] = []
    frontier: list[tuple[frozenset[str], frozenset[str]]] = []
    tried: set[tuple[frozenset[str], frozenset[str]]] = set()

    def spawn(route: Route, crossings: frozenset[str], modes: frozenset[str]) -> None:
        for crossing in route.signature[0]:
            frontier.append((crossings | {crossing}, modes))
        if len(route.modes) > 1 or not route.crossings:
            for mode in route.modes:
                frontier.append((crossings, modes | {mode}))

    spawn(best, frozenset(), frozenset())
    best_value = _objective_value(query, best)
    cap = best_value * ALTERNATIVE_CAP if best_value > 0 else None
    budget = _ALTERNATIVE_SEARCHES_PER_ROUTE * (count + 1)
    stop = query.stop
    while frontier and budget > 0 and len(found) < count * 2:
        if stop is not None and stop():
            break  # the alternatives found so far; the best route is already in hand
        crossings, modes = frontier.pop(0)
        if (crossings, modes) in tried:
            continue
        tried.add((crossings, modes))
        budget -= 1
        variant = replace(
            query,
            avoid_crossings=query.avoid_crossings | crossings,
            avoid_modes=query.avoid_modes | modes,
            objective_cap=cap,
            _memo={},
        )
        try:
            variant_found = search_found(variant) if reachable(variant) else None
        except StoppedError:
            break
        if variant_found is None or not variant_found.labels:
            continue
        labels = variant_found.labels
        route = build_route(query, labels[0], query.objective, exact=variant_found.exact)
        spawn(route, crossings, modes)
        if route.signature in seen:
            continue
        seen.add(route.signature)
        found.append((query.final_value(labels[0]), route))
    found.sort(key=lambda item: item[0])
    return [route for _, route in found[:count]]


def _objective_value(query: Query, route: Route) -> float:
    """The route's value in the units the search estimates (hours for time, kg for CO2e)."""
    if query.objective == "time":
        return route.transit_hours
    if query.objective == "co2e":
        return route.co2e_kg
    if query.objective == "balanced":
        return route.generalized_usd
    return route.cost_usd


def explain_no_route(query: Query) -> str:
    """Say which constraint or limit cut the last way through."""
    origin, dest = query.origin.name, query.destination.name
    unbanned = replace(
        query,
        avoid_nodes=frozenset(),
        avoid_countries=frozenset(),
        avoid_crossings=frozenset(),
        avoid_modes=frozenset(),
        max_hours=None,
        max_cost_usd=None,
        pareto=False,
        _memo={},
    )
    if not search(replace(unbanned, check_fit=False, objective="cost", _memo={})):
        return f"{origin} and {dest} are not connected in the network"
    reasons = []
    fitting = search(unbanned)
    if not fitting:
        reasons.append(_misfit_reason(replace(unbanned, check_fit=False, _memo={})))
    else:
        avoided = _avoid_reason(query, fitting[0])
        if avoided:
            reasons.append(avoided)
    if not reasons and (query.max_hours is not None or query.max_cost_usd is not None):
        reasons.extend(_budget_reasons(query))
    if not reasons:
        reasons.append("no way satisfies all the constraints together")
    return f"no route from {origin} to {dest}: " + "; ".join(reasons)


_DIMENSIONS = (
    ("length", "m", "longest", "max_length_m"),
    ("width", "m", "widest", "max_width_m"),
    ("height", "m", "highest", "max_height_m"),
    ("weight", "t", "heaviest", "max_piece_t"),
)


def largest_admitted(query: Query, limit: str) -> float:
    """The largest value of one piece dimension that some way from origin to destination admits
    (a widest-path search; for weight, cranes where the piece is loaded or changes mode count)."""
    net = query.network
    loose = replace(query, check_fit=False, _memo={})
    weight = limit == "max_piece_t"

    def lift(node_id: str) -> float:
        capacity = net.nodes[node_id].lift_capacity_t
        return (capacity if capacity is not None else 0.0) if weight else math.inf

    best: dict[State, float] = {}
    heap: list[tuple[float, State]] = []
    for mode in net.node_modes(query.origin.id):
        if mode in query.origin.modes and mode not in query.avoid_modes:
            heapq.heappush(heap, (-lift(query.origin.id), (query.origin.id, mode)))
    found = 0.0
    while heap:
        negative, state = heapq.heappop(heap)
        value = -negative
        if state in best:
            continue
        best[state] = value
        if state[0] == query.destination.id:
            if state[1] in query.destination.modes:
                found = max(found, min(value, lift(state[0])))
            continue
        for succ, edges in net.graph.succ[state].items():
            for data in edges.values():
                if data["kind"] == "move" and loose.link_ok(data["link"]):
                    cap = getattr(data["link"], limit)
                    step = math.inf if cap is None else cap
                elif data["kind"] == "transfer" and succ[1] not in query.avoid_modes:
                    step = lift(state[0])
                else:
                    continue
                candidate = min(value, step)
                if candidate > best.get(succ, -1.0):
                    heapq.heappush(heap, (-candidate, succ))
    return found


def _misfit_reason(query: Query) -> str:
    cargo = query.terms
    sizes = {
        "max_length_m": cargo.length_m,
        "max_width_m": cargo.width_m,
        "max_height_m": cargo.height_m,
        "max_piece_t": cargo.piece_t,
    }
    binding = []
    for name, unit, superlative, limit in _DIMENSIONS:
        admitted = largest_admitted(query, limit)
        if sizes[limit] > admitted + 1e-9:
            binding.append(
                f"{name} {sizes[limit]:g} {unit}: the {superlative} piece any way takes "
                f"is {admitted:g} {unit}"
            )
    if binding:
        return "the piece does not fit any way through (" + "; ".join(binding) + ")"
    labels = search(query)
    problems: list[str] = []
    net = query.network
    for label in labels[:1]:
        for raw in label.raw_steps(net, query.terms):
            if raw[0] == "move":
                misfit = costs.link_misfit(net.links[raw[9]], cargo)
                if misfit:
                    problems.append(misfit)
            elif raw[0] == "handle":
                node = net.nodes[raw[12]]
                if not costs.can_lift(node, cargo):
                    capacity = f"{node.lift_capacity_t:g} t" if node.lift_capacity_t else "no crane"
                    problems.append(f"{node.name} cannot lift {cargo.lift_t:g} t ({capacity})")
    unique = list(dict.fromkeys(problems))[:4]
    detail = "; e.g. on the cheapest way: " + "; ".join(unique) if unique else ""
    return "no way fits every dimension of the piece at once" + detail


def _avoid_reason(query: Query, label: Label) -> str:
    """Which avoided countries, nodes, crossings or modes the unconstrained route needs."""
    net = query.network
    touched: list[str] = []
    for raw in label.raw_steps(net, query.terms):
        if raw[0] == "move":
            link = net.links[raw[9]]
            for node_id in (link.from_node, link.to_node):
                node = net.nodes[node_id]
                if node.country in query.avoid_countries:
                    touched.append(f"country {node.country}")
                if node.id in query.avoid_nodes:
                    touched.append(f"{node.name}")
            if link.mode in query.avoid_modes:
                touched.append(f"mode {link.mode}")
        elif raw[0] == "border" and raw[11].removesuffix(":rev") in query.avoid_crossings:
            touched.append(f"crossing {raw[11].removesuffix(':rev')}")
    if not touched:
        return ""
    return "every remaining way needs what is avoided: " + ", ".join(dict.fromkeys(touched))


def _budget_reasons(query: Query) -> list[str]:
    reasons: list[str] = []
    unlimited = replace(query, max_hours=None, max_cost_usd=None, pareto=True, _memo={})
    front = search(unlimited)
    if not front:
        return reasons
    fastest = min(front, key=lambda lb: lb.t)
    cheapest = min(front, key=lambda lb: lb.cost)
    if query.max_hours is not None and fastest.t > query.max_hours:
        reasons.append(
            f"the fastest route takes {fastest.t / 24:.1f} days, over the "
            f"{query.max_hours / 24:g}-day limit"
        )
    if query.max_cost_usd is not None and cheapest.cost > query.max_cost_usd:
        reasons.append(
            f"the cheapest route costs ${cheapest.cost:,.0f}, "
            f"over the ${query.max_cost_usd:,.0f} limit"
        )
    if not reasons:
        reasons.append(
            f"no route is both within {query.max_hours / 24 if query.max_hours else 0:g} days and "
            f"within ${query.max_cost_usd or 0:,.0f}: the fastest costs ${fastest.cost:,.0f}, the "
            f"cheapest takes {cheapest.t / 24:.1f} days"
        )
    return reasons


def routes_answer(compute: Callable[[], list[Route]]) -> dict[str, Any]:
    """The answer every interface gives: ``{"routes": [...], "infeasible_reason": ...}``."""
    try:
        routes = compute()
    except NoRouteError as exc:
        return {"routes": [], "infeasible_reason": exc.reason}
    return answer_of(routes)


def answer_of(routes: list[Route], reason: str | None = None) -> dict[str, Any]:
    """``{"routes": [...], "infeasible_reason": ...}``, with ``front_size`` for a Pareto front."""
    answer: dict[str, Any] = {
        "routes": [route.to_dict() for route in routes],
        "infeasible_reason": reason,
    }
    front_size = getattr(routes, "front_size", None)
    if front_size is not None:
        answer["front_size"] = front_size
    return answer
