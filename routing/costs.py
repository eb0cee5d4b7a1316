"""The cost, time and emissions model: every step's figures are computed here and nowhere else.

- move over a link: containers pay ``teu x (usd_per_teu + usd_per_teu_km x km)``; pieces pay
  ``chargeable t x km x usd_per_t_km`` (each piece at least ``piece_min_chargeable_t``, one
  vehicle load); an out-of-gauge piece adds its oversize class surcharge.
  Hours are ``km / speed``. CO2e is actual tonnes x km x the link class's intensity.
- ride on a service: ``usd_per_teu x teu`` for the whole ride, ``transit_hours`` first to last stop.
- handle (load, unload, mode change): ``handling_usd_per_teu x TEU-equivalent``, ``handling_hours``.
- border: ``fee_usd_per_teu x TEU-equivalent`` and ``dwell_hours``; a gauge change adds
  ``transhipment_usd_per_teu x TEU-equivalent`` and ``transhipment_hours``.
- wait: ``storage_usd_per_teu_day x TEU-equivalent x days`` at the node.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphs.network import Network
from graphs.records import MODES, Crossing, Link, Node, Service
from routing.model import Cargo


@dataclass(frozen=True, slots=True)
class CargoTerms:
    """Figures of one cargo that the cost model needs, computed once per request."""

    teu: float
    tonnes: float
    chargeable_t: float
    lift_t: float
    is_pieces: bool
    length_m: float
    width_m: float
    height_m: float
    piece_t: float
    surcharge_pct: dict[str, float]

    @classmethod
    def of(cls, cargo: Cargo, network: Network) -> CargoTerms:
        params = network.parameters
        surcharge: dict[str, float] = dict.fromkeys(MODES, 0.0)
        if cargo.is_pieces:
            assert cargo.length_m and cargo.width_m and cargo.height_m and cargo.weight_t
            for oversize in network.oversize:
                if oversize.exceeded_by(
                    cargo.length_m, cargo.width_m, cargo.height_m, cargo.weight_t
                ):
                    surcharge[oversize.mode] = max(surcharge[oversize.mode], oversize.surcharge_pct)
        return cls(
            teu=cargo.teu_equivalent(params),
            tonnes=cargo.tonnes(params),
            chargeable_t=cargo.chargeable_tonnes(params),
            lift_t=cargo.lift_t(params),
            is_pieces=cargo.is_pieces,
            length_m=cargo.length_m or 0.0,
            width_m=cargo.width_m or 0.0,
            height_m=cargo.height_m or 0.0,
            piece_t=cargo.weight_t if cargo.is_pieces and cargo.weight_t else 0.0,
            surcharge_pct=surcharge,
        )


def link_misfit(link: Link, terms: CargoTerms) -> str | None:
    """Why a piece cannot go over a link, or ``None`` when it fits (containers always fit)."""
    if not terms.is_pieces:
        return None
    for name, value, limit, unit in (
        ("length", terms.length_m, link.max_length_m, "m"),
        ("width", terms.width_m, link.max_width_m, "m"),
        ("height", terms.height_m, link.max_height_m, "m"),
        ("weight", terms.piece_t, link.max_piece_t, "t"),
    ):
        if limit is not None and value > limit:
            return f"{name} {value:g} {unit} over the {limit:g} {unit} limit of {link.base_id}"
    return None


def can_lift(node: Node, terms: CargoTerms) -> bool:
    """Whether a node can load, unload or transfer the cargo.

    Containers are handled wherever the node works the mode (reach stackers, side-loaders);
    ``lift_capacity_t`` limits project pieces, and a node without a crane lifts none.
    """
    if not terms.is_pieces:
        return True
    return node.lift_capacity_t is not None and node.lift_capacity_t >= terms.lift_t


def emissions_kg_per_t(network: Network, link: Link) -> float:
    """CO2e of one tonne of cargo over a link."""
    return link.distance_km * network.emission_factors[link.emission_class].kg_co2e_per_tkm


def emissions_kg(network: Network, link: Link, terms: CargoTerms) -> float:
    factor = network.emission_factors[link.emission_class].kg_co2e_per_tkm
    return terms.tonnes * link.distance_km * factor


def move(network: Network, link: Link, terms: CargoTerms) -> tuple[float, float, float]:
    """Linehaul ``(cost_usd, hours, co2e_kg)`` of an on-demand move over a link."""
    if terms.is_pieces:
        cost = terms.chargeable_t * link.distance_km * link.usd_per_t_km
        cost *= 1 + terms.surcharge_pct[link.mode] / 100
    else:
        cost = terms.teu * (link.usd_per_teu + link.usd_per_teu_km * link.distance_km)
    return cost, link.hours, emissions_kg(network, link, terms)


def ride(service: Service, terms: CargoTerms) -> float:
    """Linehaul cost of a whole ride on a scheduled service."""
    return service.usd_per_teu * terms.teu


def handle(node: Node, terms: CargoTerms) -> tuple[float, float]:
    """``(cost_usd, hours)`` of one handling at a node."""
    return node.handling_usd_per_teu * terms.teu, node.handling_hours


def border(crossing: Crossing, terms: CargoTerms) -> tuple[float, float, float]:
    """``(fee_usd, transhipment_usd, hours)`` of passing a crossing."""
    transhipment = crossing.transhipment_usd_per_teu * terms.teu if crossing.gauge_change else 0.0
    return crossing.fee_usd_per_teu * terms.teu, transhipment, crossing.hours


def storage(node: Node, hours: float, terms: CargoTerms) -> float:
    """Cost of waiting ``hours`` at a node."""
    return node.storage_usd_per_teu_day * terms.teu * hours / 24
