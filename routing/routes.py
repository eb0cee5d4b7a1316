"""Routing one shipment: the best route, materially different alternatives, the Pareto front,
and, when nothing fits, the reason in a planner's words."""

from __future__ import annotations

import difflib
import heapq
import math
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from graphs.errors import InputError, NoRouteError
from graphs.network import Network, State
from graphs.places import locate
from graphs.records import MODES, Node
from routing import costs
from routing.costs import CargoTerms
from routing.countries import country_codes
from routing.lastmile import parse_coordinates, with_site
from routing.model import Objective, Shipment
from routing.options import MAX_ALTERNATIVES as MAX_ALTERNATIVES
from routing.options import Avoid as Avoid
from routing.options import RouteOptions, checked
from routing.reliability import DEFAULT_DRAWS, forecast_arrival, most_reliable
from routing.route import Route
from routing.search import Label, Query, build_route, reachable, search
from routing.stopping import Stop, StoppedError

if TYPE_CHECKING:
    from graphs.roads import RoadGraph

# Searches spent looking for alternatives: each bans a crossing or a mode a found route used.
_ALTERNATIVE_SEARCHES_PER_ROUTE = 8
# An alternative worth showing costs (in the objective's terms) at most this much more than the
# best; the cap also lets searches that ban the only way through give up early.
ALTERNATIVE_CAP = 2.5


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

    An origin or destination given as ``"lat,lon"``, or named but found only in the gazetteer
    (``graphs.places.locate``), becomes a site joined to the network by road
    (``routing.lastmile``), over ``roads`` where that OSM extract covers it.
    """
    options = route_options(
        objective=objective,
        pareto=pareto,
        avoid=avoid,
        modes=modes,
        max_transit_days=max_transit_days,
        max_cost_usd=max_cost_usd,
        value_of_time_usd_per_day=value_of_time_usd_per_day,
        carbon_price_usd_per_t=carbon_price_usd_per_t,
    )
    return query_for(network, shipment, options, roads=roads)


def route_options(**values: Any) -> RouteOptions:
    """The options, validated; ``avoid`` may be an ``Avoid`` or a mapping, ``modes`` any
    iterable of names (lower-cased)."""
    avoid = values.get("avoid")
    if avoid is None:
        values["avoid"] = Avoid()
    elif isinstance(avoid, dict):
        values["avoid"] = Avoid.of(**avoid)
    modes = values.get("modes")
    if modes is not None and not isinstance(modes, str) and isinstance(modes, Iterable):
        values["modes"] = tuple(
            m.strip().lower() if isinstance(m, str) else m
            for m in modes
            if not isinstance(m, str) or m.strip()
        )
    return checked(RouteOptions, values)


def _unknown(what: str, value: str, valid: Collection[str], field: str) -> InputError:
    closest = difflib.get_close_matches(value, sorted(valid), n=3, cutoff=0.4)
    hint = f"; closest: {', '.join(closest)}" if closest else ""
    return InputError(f"'{value}' is not {what}{hint}", field)


def query_for(
    network: Network, shipment: Shipment, options: RouteOptions, roads: RoadGraph | None = None
) -> Query:
    """The search query for ``shipment`` under validated ``options``; every avoided country,
    node, crossing or mode must name something real (else ``InputError`` with the closest)."""
    terms = CargoTerms.of(shipment.cargo, network)
    notes: list[str] = []
    places = []
    for role in ("origin", "destination"):
        text = getattr(shipment, role)
        coordinates = parse_coordinates(text)
        name = None
        if coordinates is None:
            found = locate(network, text)
            if isinstance(found, Node):
                places.append(found.id)
                continue
            coordinates, name = (found.lat, found.lon), found.label
        network, node_id, added = with_site(
            network, *coordinates, terms=terms, roads=roads, name=name, field=role
        )
        notes.extend(added)
        places.append(node_id)
    origin = network.nodes[places[0]]
    destination = network.nodes[places[1]]
    if origin.id == destination.id:
        raise InputError(f"origin and destination are both {origin.name}", "destination")
    avoid = options.avoid
    network_countries = {node.country for node in network.nodes.values()}
    avoid_countries = country_codes(
        avoid.countries, "avoid.countries", network_countries
    ) | country_codes(shipment.avoid_countries, "avoid_countries", network_countries)
    avoid_nodes = frozenset(network.resolve(name).id for name in avoid.nodes)
    banned_modes = set(avoid.modes)  # (modes are checked by name in RouteOptions)
    if options.modes is not None:
        banned_modes |= set(MODES) - set(options.modes)
    known_crossings = {c.base_id for c in network.crossings.values()}
    for i, crossing in enumerate(avoid.crossings):
        if crossing not in known_crossings:
            raise _unknown("a crossing id", crossing, known_crossings, f"avoid.crossings.{i}")
    for place, role in ((origin, "origin"), (destination, "destination")):
        if place.id in avoid_nodes or place.country in avoid_countries:
            raise InputError(f"{place.name} ({place.country}) is itself avoided", role)
    value_of_time_usd_per_day = options.value_of_time_usd_per_day
    if value_of_time_usd_per_day is None:
        pct = network.parameters.value_of_time_pct_per_year
        value_of_time_usd_per_day = (shipment.value_usd or 0.0) * pct / 100 / 365
    max_transit_days = options.max_transit_days
    return Query(
        network=network,
        origin=origin,
        destination=destination,
        ready=shipment.ready_at,
        terms=terms,
        objective=options.objective,
        value_of_time_usd_per_day=value_of_time_usd_per_day,
        carbon_price_usd_per_t=options.carbon_price_usd_per_t,
        avoid_nodes=avoid_nodes,
        avoid_countries=avoid_countries,
        avoid_crossings=frozenset(avoid.crossings),
        avoid_modes=frozenset(banned_modes),
        max_hours=max_transit_days * 24 if max_transit_days is not None else None,
        max_cost_usd=options.max_cost_usd,
        pareto=options.pareto,
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
    on_time: float | None = None,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    roads: RoadGraph | None = None,
    stop: Stop | None = None,
) -> list[Route]:
    """Routes for one shipment, best first.

    With ``alternatives=K``, up to K more routes follow, each using other crossings or modes than
    the ones before it. With ``pareto=True``, the routes non-dominated in cost and transit time,
    fastest first. Options are checked against ``routing.options.RouteOptions`` (an
    ``InputError`` names a bad one). Raises ``NoRouteError`` with the reason when no route
    satisfies the request. ``stop`` (a deadline and cancel flag) ends the search early:
    ``StoppedError`` when no route was found by then.

    Every route carries its arrival forecast (``routing.reliability``: p10, p50 and p90 over
    ``draws`` seeded draws, and the chance to arrive by the shipment's due date). The
    ``reliable`` objective picks, among the routes non-dominated in cost and time, the cheapest
    whose on-time chance reaches ``on_time`` (without ``on_time``, the earliest p90 arrival).
    """
    options = route_options(
        objective=objective,
        alternatives=alternatives,
        pareto=pareto,
        avoid=avoid,
        modes=modes,
        max_transit_days=max_transit_days,
        max_cost_usd=max_cost_usd,
        value_of_time_usd_per_day=value_of_time_usd_per_day,
        carbon_price_usd_per_t=carbon_price_usd_per_t,
        on_time=on_time,
        draws=draws,
        seed=seed,
    )
    if options.objective == "reliable":
        return _reliable(network, shipment, options, roads, stop)
    query = replace(query_for(network, shipment, options, roads=roads), stop=stop)
    alternatives = options.alternatives
    labels = search(query)
    if not labels:
        raise NoRouteError(explain_no_route(query))
    if options.pareto:
        routes = [build_route(query, label, options.objective) for label in labels]
    else:
        best = build_route(query, labels[0], options.objective)
        routes = [best, *_alternatives(query, best, alternatives)] if alternatives else [best]
    return _with_forecasts(network, shipment, options, routes)


def _with_forecasts(
    network: Network, shipment: Shipment, options: RouteOptions, routes: list[Route]
) -> list[Route]:
    due = shipment.due_at
    return [
        replace(
            route,
            forecast=forecast_arrival(
                network, route, due=due, draws=options.draws, seed=options.seed
            ),
        )
        for route in routes
    ]


def _reliable(
    network: Network,
    shipment: Shipment,
    options: RouteOptions,
    roads: RoadGraph | None,
    stop: Stop | None,
) -> list[Route]:
    """The ``reliable`` objective over the cost-time front; exact over that front only."""
    due = shipment.due_at
    if options.on_time is not None and due is None:
        raise InputError("the reliable objective with on_time needs the shipment's due date", "due")
    front_options = options.model_copy(update={"objective": "cost", "pareto": True})
    query = replace(query_for(network, shipment, front_options, roads=roads), stop=stop)
    labels = search(query)
    if not labels:
        raise NoRouteError(explain_no_route(query))
    front = _with_forecasts(
        network, shipment, front_options, [build_route(query, lb, "reliable") for lb in labels]
    )
    chosen = most_reliable(
        network, front, due=due, on_time=options.on_time, draws=options.draws, seed=options.seed
    )
    if chosen is None:
        best = max(front, key=lambda r: r.forecast.on_time_probability or 0.0 if r.forecast else 0)
        chance = best.forecast.on_time_probability if best.forecast else 0.0
        raise NoRouteError(
            f"no route arrives by {due:%Y-%m-%d %H:%M} UTC with probability "
            f"{options.on_time:.0%}: the surest of the {len(front)} routes non-dominated in cost "
            f"and time gets there {chance or 0:.0%} of the time"
        )
    route = chosen[0]
    others = sorted(
        (r for r in front if r is not route),
        key=lambda r: (
            -(r.forecast.on_time_probability or 0.0) if r.forecast else 0.0,
            r.cost_usd,
        ),
    )
    if options.pareto:
        return [route, *others]
    return [route, *others[: options.alternatives]]


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
            labels = search(variant) if reachable(variant) else []
        except StoppedError:
            break
        if not labels:
            continue
        route = build_route(query, labels[0], query.objective)
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
        for raw in label.raw_steps():
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
    for raw in label.raw_steps():
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
    return {"routes": [route.to_dict() for route in routes], "infeasible_reason": None}


def thin_front(routes: Sequence[Route], step: float = 0.10) -> list[Route]:
    """A Pareto front (fastest first) cut to the routes worth reading: the fastest and the
    cheapest, every route through other crossings or by other modes than those kept, and a route
    of the same kind only when it costs at least ``step`` (a share) less than the last one kept.
    ``step=0`` keeps the whole front."""
    if step <= 0 or len(routes) <= 2:
        return list(routes)
    kept = [routes[0]]
    kinds = {routes[0].signature}
    for route in routes[1:-1]:
        cheaper = route.cost_usd <= kept[-1].cost_usd * (1 - step)
        if route.signature not in kinds or cheaper:
            kept.append(route)
            kinds.add(route.signature)
    kept.append(routes[-1])
    return kept
