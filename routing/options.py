"""How to route one shipment: the one definition of the route options, their types, limits and
defaults. ``find_routes`` validates its keywords with it, the HTTP request model inherits it, and
the CLI takes its defaults and help from it, so the three cannot disagree.

Types are strict: a number is a number (``true`` is not 1, ``"4"`` is not 4), a whole number is
whole, ``None`` is accepted only where an option may be unset. ``find_routes`` and ``Avoid.of``
report a bad option as ``InputError``; building the models directly raises pydantic's
``ValidationError`` (a ``ValueError`` too), as HTTP parsing does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, ValidationError

from graphs.errors import InputError
from graphs.records import Mode
from routing.model import Objective
from routing.reliability import DEFAULT_DRAWS

MAX_ROUTE_DRAWS = 20_000  # per route; a sweep may draw more

MAX_ALTERNATIVES = 10

Number = Annotated[float, Strict()]
Whole = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
CountryName = Annotated[str, StringConstraints(min_length=1, max_length=60)]
PlaceName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=200)]

M = TypeVar("M", bound=BaseModel)

_OPTIONS = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Avoid(BaseModel):
    """What a route must never touch: countries (ISO alpha-2, alpha-3 or English name), nodes
    (id, name or alias), crossings (id, either direction) and modes. Anything that names nothing
    in the network is an error with the closest valid names; nothing is ignored."""

    model_config = _OPTIONS

    countries: tuple[CountryName, ...] = Field(default=(), max_length=100)
    nodes: tuple[PlaceName, ...] = Field(default=(), max_length=200)
    crossings: tuple[Identifier, ...] = Field(default=(), max_length=200)
    modes: tuple[Mode, ...] = Field(default=(), max_length=4)

    @classmethod
    def of(
        cls,
        countries: Iterable[str] = (),
        nodes: Iterable[str] = (),
        crossings: Iterable[str] = (),
        modes: Iterable[str] = (),
    ) -> Avoid:
        """From lists or comma-separated text; blank items are dropped, modes lower-cased."""

        def items(values: Iterable[str]) -> list[Any]:
            if isinstance(values, str):
                values = values.split(",")
            out: list[Any] = []
            for value in values:
                if isinstance(value, str):
                    if value.strip():
                        out.append(value.strip())
                else:
                    out.append(value)  # validation names it
            return out

        return checked(
            cls,
            {
                "countries": items(countries),
                "nodes": items(nodes),
                "crossings": [
                    c.removesuffix(":rev") if isinstance(c, str) else c for c in items(crossings)
                ],
                "modes": [m.lower() if isinstance(m, str) else m for m in items(modes)],
            },
            "avoid",
        )


class RouteOptions(BaseModel):
    """Options of a route request besides the shipment itself."""

    model_config = _OPTIONS

    objective: Objective = Field(
        default="cost",
        description=(
            "cost, time, co2e, balanced (generalized cost), or reliable: the cheapest route "
            "whose chance to arrive by the due date reaches on_time (without on_time, the "
            "earliest 90th-percentile arrival)."
        ),
    )
    alternatives: Whole = Field(
        default=0,
        ge=0,
        le=MAX_ALTERNATIVES,
        description="More routes after the best, each with other crossings or modes.",
    )
    pareto: Flag = Field(
        default=False, description="The routes non-dominated in cost and transit time."
    )
    avoid: Avoid = Field(default_factory=Avoid)
    modes: tuple[Mode, ...] | None = Field(
        default=None, min_length=1, max_length=4, description="Allowed modes; all if unset."
    )
    max_transit_days: Number | None = Field(
        default=None, gt=0, le=1000, description="Latest arrival, in days after ready."
    )
    max_cost_usd: Number | None = Field(default=None, gt=0, le=1e12, description="Cost ceiling.")
    value_of_time_usd_per_day: Number | None = Field(
        default=None, ge=0, le=1e9, description="Default: cargo value x 15 % / 365."
    )
    carbon_price_usd_per_t: Number = Field(
        default=0.0, ge=0, le=10_000, description="Prices CO2e in the balanced objective."
    )
    on_time: Number | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="Required probability of arriving by the due date (objective reliable).",
    )
    draws: Whole = Field(
        default=DEFAULT_DRAWS,
        ge=1,
        le=MAX_ROUTE_DRAWS,
        description="Monte Carlo draws behind each route's arrival forecast.",
    )
    seed: Whole = Field(default=0, ge=0, le=2**32 - 1, description="Seed of the forecast's draws.")


def checked(model: type[M], values: Mapping[str, Any], prefix: str = "") -> M:
    """``model`` built from ``values``; the first problem as an ``InputError`` naming its field
    (``avoid.countries.0``), as the CLI and the Python API report bad input."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise input_error(exc, prefix) from None


def input_error(exc: ValidationError, prefix: str = "") -> InputError:
    """The first problem of a pydantic ``ValidationError`` as an ``InputError`` naming its field."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
    got = error.get("input")
    if error["type"] == "literal_error":
        what = "a mode" if "modes" in field else "one of"
        expected = str(error.get("ctx", {}).get("expected", "")).replace(" or ", ", ")
        return InputError(f"{got!r:.60} is not {what} ({expected})", field)
    shown = f", got {got!r:.60}" if isinstance(got, int | float | str | type(None)) else ""
    return InputError(f"{_plain(error)}{shown}", field)


# Pydantic's error types in a planner's words; the rest keep pydantic's message.
_WORDS = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "tuple_type": "must be a list",
}
_BOUNDS = {
    "greater_than": ("gt", "must be more than"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "less_than_equal": ("le", "must be at most"),
}


def _plain(error: Any) -> str:
    kind = error["type"]
    if kind in _WORDS:
        return _WORDS[kind]
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        limit = error.get("ctx", {}).get(key)
        return f"{words} {limit:g}" if isinstance(limit, int | float) else f"{words} {limit}"
    message: str = error["msg"]
    return message[:1].lower() + message[1:]


def option_help(name: str) -> str:
    """The documentation of one route option, for the CLI's ``--help``."""
    return RouteOptions.model_fields[name].description or ""


def option_default(name: str) -> Any:
    """The default of one route option."""
    return RouteOptions.model_fields[name].get_default(call_default_factory=True)
