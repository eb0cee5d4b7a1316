"""What to move: cargo and shipments, validated when built."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from graphs.errors import InputError
from graphs.records import Parameters
from routing.countries import country_codes

Objective = Literal["cost", "time", "co2e", "balanced", "reliable"]
OBJECTIVES: tuple[Objective, ...] = ("cost", "time", "co2e", "balanced", "reliable")
MAX_TEU = 100_000
MAX_PIECES = 10_000
# The largest piece anything could carry (a 150 m convoy, 15 m wide or high, 2,000 t): one
# definition for the Python API, the CSV reader and the HTTP schema.
PIECE_LIMITS = {"length_m": 150.0, "width_m": 15.0, "height_m": 15.0, "weight_t": 2_000.0}


def _positive(value: float | None, name: str, *, upper: float = math.inf) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"must be a positive number, got {value!r}", field=name)
    # Compare before any float conversion: a huge int overflows math.isfinite, NaN fails both.
    if not 0 < value <= upper:
        if value > upper:
            raise InputError(
                f"{float(min(value, 1e308)):g} is more than the limit of {upper:g}", field=name
            )
        raise InputError(f"must be a positive number, got {value!r}", field=name)


@dataclass(frozen=True, slots=True)
class Cargo:
    """Containers (``teu``, optional total gross ``weight_t``) or ``pieces`` of one kind.

    Pieces give ``length_m``, ``width_m``, ``height_m`` and ``weight_t`` each.
    """

    teu: float | None = None
    weight_t: float | None = None
    pieces: int | None = None
    length_m: float | None = None
    width_m: float | None = None
    height_m: float | None = None

    def __post_init__(self) -> None:
        dims = (self.length_m, self.width_m, self.height_m)
        if self.pieces is None:
            if self.teu is None:
                raise InputError("give either teu (containers) or pieces with dimensions", "cargo")
            if any(d is not None for d in dims):
                raise InputError("dimensions apply to pieces, not to containers", "cargo.length_m")
            _positive(self.teu, "cargo.teu", upper=MAX_TEU)
            _positive(self.weight_t, "cargo.weight_t", upper=self.teu * 40)
            return
        if self.teu is not None:
            raise InputError("give teu or pieces, not both", "cargo.teu")
        if not isinstance(self.pieces, int) or isinstance(self.pieces, bool):
            raise InputError(f"must be a whole number, got {self.pieces!r}", "cargo.pieces")
        _positive(self.pieces, "cargo.pieces", upper=MAX_PIECES)
        for name, value, upper in (
            ("length_m", self.length_m, PIECE_LIMITS["length_m"]),
            ("width_m", self.width_m, PIECE_LIMITS["width_m"]),
            ("height_m", self.height_m, PIECE_LIMITS["height_m"]),
            ("weight_t", self.weight_t, PIECE_LIMITS["weight_t"]),
        ):
            if value is None:
                raise InputError("is required for pieces", f"cargo.{name}")
            _positive(value, f"cargo.{name}", upper=upper)

    @property
    def is_pieces(self) -> bool:
        return self.pieces is not None

    def teu_equivalent(self, params: Parameters) -> float:
        """TEU for containers; for pieces the larger of floor area and weight in TEU terms.

        A piece counts ``max(length x width / TEU floor, weight / TEU max gross)`` TEU, the
        weight-or-measure rule that break-bulk tariffs use.
        """
        if self.pieces is None:
            assert self.teu is not None
            return self.teu
        assert self.length_m and self.width_m and self.weight_t
        per_piece = max(
            self.length_m * self.width_m / params.teu_floor_m2,
            self.weight_t / params.teu_max_gross_t,
        )
        return self.pieces * per_piece

    def tonnes(self, params: Parameters) -> float:
        """Actual gross tonnes moved (emissions use these)."""
        if self.pieces is None:
            assert self.teu is not None
            return (
                self.weight_t
                if self.weight_t is not None
                else self.teu * params.default_teu_gross_t
            )
        assert self.weight_t is not None
        return self.pieces * self.weight_t

    def chargeable_tonnes(self, params: Parameters) -> float:
        """Tonnes a per-tonne-km tariff bills: a piece pays for at least one vehicle load."""
        if self.pieces is None:
            return self.tonnes(params)
        assert self.weight_t is not None
        return self.pieces * max(self.weight_t, params.piece_min_chargeable_t)

    def lift_t(self, params: Parameters) -> float:
        """The heaviest single lift: a piece, or a loaded box (an FEU from two TEU up)."""
        if self.pieces is not None:
            assert self.weight_t is not None
            return self.weight_t
        assert self.teu is not None
        per_teu = (self.weight_t / self.teu) if self.weight_t else params.default_teu_gross_t
        return per_teu * min(self.teu, 2.0)

    def describe(self) -> str:
        if self.pieces is None:
            weight = f", {self.weight_t:g} t" if self.weight_t else ""
            return f"{self.teu:g} TEU{weight}"
        return (
            f"{self.pieces} piece(s) {self.length_m:g} x {self.width_m:g} x {self.height_m:g} m, "
            f"{self.weight_t:g} t each"
        )


def parse_datetime(value: str | date | datetime, field_name: str) -> datetime:
    """A UTC datetime from ``YYYY-MM-DD``, an ISO-8601 string, a date or a datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InputError(
                f"'{value}' is not a date (YYYY-MM-DD) or ISO-8601 time", field_name
            ) from None
    else:
        raise InputError(f"{value!r} is not a date", field_name)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC) if 1 < moment.year < 9999 else moment  # else overflows
    if not 2000 <= moment.year <= 2100:
        raise InputError(f"{moment.date()} is outside the years 2000-2100", field_name)
    return moment


@dataclass(frozen=True, slots=True)
class Shipment:
    """What to move, from where to where, and when.

    ``ready`` and ``due`` accept dates, datetimes or ISO strings and are stored as UTC datetimes.
    """

    origin: str
    destination: str
    cargo: Cargo
    ready: datetime | date | str = field(default_factory=lambda: datetime.now(UTC).date())
    due: datetime | date | str | None = None
    value_usd: float | None = None
    id: str = ""
    priority: int = 1
    avoid_countries: tuple[str, ...] = ()
    split: bool = False  # a plan may send it in lots (containers only; pieces stay whole)

    def __post_init__(self) -> None:
        if not isinstance(self.split, bool):
            raise InputError(f"must be true or false, got {self.split!r}", "split")
        if not isinstance(self.id, str) or len(self.id) > 100:
            raise InputError(f"must be text of at most 100 characters, got {self.id!r:.60}", "id")
        for name in ("origin", "destination"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InputError("must name a place", name)
            if len(value) > 200:
                raise InputError("is longer than 200 characters", name)
        if not isinstance(self.cargo, Cargo):
            raise InputError("must be a Cargo", "cargo")
        ready = parse_datetime(self.ready, "ready")
        object.__setattr__(self, "ready", ready)
        if self.due is not None:
            due = parse_datetime(self.due, "due")
            if due < ready:
                raise InputError(f"{due.date()} is before ready {ready.date()}", "due")
            object.__setattr__(self, "due", due)
        _positive(self.value_usd, "value_usd", upper=1e12)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise InputError(f"must be a whole number 1-10, got {self.priority!r}", "priority")
        if not 1 <= self.priority <= 10:
            raise InputError(f"must be a whole number 1-10, got {self.priority!r}", "priority")
        countries = self.avoid_countries
        if isinstance(countries, str) or not isinstance(countries, tuple | list):
            raise InputError("must be a list of countries", "avoid_countries")
        if len(countries) > 100:
            raise InputError("names more than 100 countries", "avoid_countries")
        codes = country_codes(countries, "avoid_countries")  # alpha-2, alpha-3 or English names
        object.__setattr__(self, "avoid_countries", tuple(sorted(codes)))

    @property
    def ready_at(self) -> datetime:
        assert isinstance(self.ready, datetime)
        return self.ready

    @property
    def due_at(self) -> datetime | None:
        assert self.due is None or isinstance(self.due, datetime)
        return self.due
