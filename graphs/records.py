"""Typed records of the network: one frozen dataclass per row kind of the data pack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["rail", "road", "sea", "ferry"]
MODES: tuple[Mode, ...] = ("rail", "road", "sea", "ferry")
NODE_KINDS = ("hub", "rail_terminal", "sea_port", "caspian_port", "border", "factory", "site")
EMISSION_CLASSES = ("rail_electric", "rail_diesel", "truck", "container_ship", "ferry")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
REVERSE_SUFFIX = ":rev"


@dataclass(frozen=True, slots=True)
class Node:
    """A place: hub, terminal, port, border post, factory or project site."""

    id: str
    name: str
    aliases: tuple[str, ...]
    country: str
    kind: str
    lat: float
    lon: float
    modes: frozenset[str]
    handling_usd_per_teu: float
    handling_hours: float
    storage_usd_per_teu_day: float
    lift_capacity_t: float | None
    source: str


@dataclass(frozen=True, slots=True)
class Link:
    """One direction of a way between two nodes by one mode.

    ``base_id`` is the id of the data row; the reverse direction of a two-way row has
    ``id == base_id + ":rev"``.
    """

    id: str
    base_id: str
    from_node: str
    to_node: str
    mode: str
    gauge_mm: int | None
    traction: str | None
    distance_km: float
    speed_kmh: float
    usd_per_teu: float
    usd_per_teu_km: float
    usd_per_t_km: float
    capacity_teu_per_week: float | None
    max_length_m: float | None
    max_width_m: float | None
    max_height_m: float | None
    max_piece_t: float | None
    source: str

    @property
    def emission_class(self) -> str:
        if self.mode == "rail":
            return "rail_electric" if self.traction == "electric" else "rail_diesel"
        return {"road": "truck", "sea": "container_ship", "ferry": "ferry"}[self.mode]

    @property
    def hours(self) -> float:
        return self.distance_km / self.speed_kmh


@dataclass(frozen=True, slots=True)
class Crossing:
    """One direction of a border passage (and gauge change) on the way between two posts."""

    id: str
    base_id: str
    name: str
    from_node: str
    to_node: str
    mode: str
    dwell_hours: float
    dwell_p90_hours: float
    fee_usd_per_teu: float
    gauge_change: bool
    transhipment_usd_per_teu: float
    transhipment_hours: float
    open_weekdays: frozenset[int]
    capacity_teu_per_week: float | None
    source: str

    @property
    def hours(self) -> float:
        return self.dwell_hours + self.transhipment_hours


@dataclass(frozen=True, slots=True)
class ServiceDelay:
    """How late a service's cargo arrives beyond its timetable: a lognormal fitted to the median
    and the 90th percentile (both zero: never late). ``applies_to`` is a service id, or a mode
    (``rail``, ``sea``, ``ferry``) for every service of that mode without a row of its own."""

    applies_to: str
    delay_p50_hours: float
    delay_p90_hours: float
    source: str


@dataclass(frozen=True, slots=True)
class Service:
    """A scheduled departure pattern from the first stop to the last, over ``links``."""

    id: str
    name: str
    mode: str
    stops: tuple[str, ...]
    weekdays: frozenset[int]
    departure_hour_utc: int
    transit_hours: float
    usd_per_teu: float
    capacity_teu: float
    source: str
    links: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class EmissionFactor:
    """Well-to-wheel intensity of one transport class."""

    cls: str
    kg_co2e_per_tkm: float
    source: str


@dataclass(frozen=True, slots=True)
class OversizeClass:
    """Thresholds above which a piece pays a surcharge on a mode's linehaul."""

    mode: str
    cls: int
    width_over_m: float | None
    height_over_m: float | None
    length_over_m: float | None
    weight_over_t: float | None
    surcharge_pct: float
    source: str

    def exceeded_by(
        self, length_m: float, width_m: float, height_m: float, weight_t: float
    ) -> bool:
        pairs = (
            (width_m, self.width_over_m),
            (height_m, self.height_over_m),
            (length_m, self.length_over_m),
            (weight_t, self.weight_over_t),
        )
        return any(limit is not None and value > limit for value, limit in pairs)


@dataclass(frozen=True, slots=True)
class Parameters:
    """Model constants read from ``parameters.csv``."""

    default_teu_gross_t: float = 10.0
    teu_floor_m2: float = 14.79
    teu_max_gross_t: float = 24.0
    value_of_time_pct_per_year: float = 15.0
    piece_min_chargeable_t: float = 20.0
    sources: tuple[tuple[str, str], ...] = ()
