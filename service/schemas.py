"""Request and response bodies of the HTTP API (SPEC sections 7 and 8).

Requests are checked here for shape and absolute bounds; the domain types (``Cargo``,
``Shipment``) check meaning when they are built, and their ``InputError.field`` becomes the
location of the 422. Response models document the JSON the routing package produces; the
handlers send that JSON as built rather than re-validating it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from graphs.errors import InputError
from routing.model import (
    MAX_PIECES,
    MAX_TEU,
    PIECE_LIMITS,
    Cargo,
    Shipment,
    parse_datetime,
)
from routing.options import CountryName, Flag, Identifier, Number, RouteOptions, Whole
from routing.options import PlaceName as Place
from routing.plan import PlanSettings
from routing.tours import Delivery
from service.settings import PACK_NAME

DateText = Annotated[
    str,
    StringConstraints(max_length=40),
    Field(description="YYYY-MM-DD or an ISO-8601 time; UTC unless an offset is given."),
]
PackName = Annotated[
    str,
    StringConstraints(pattern=PACK_NAME.pattern),
    Field(description="A user network pack, by name, from the server's networks_root."),
]

# Numbers, whole numbers and flags are strict (``Number``, ``Whole``, ``Flag``): ``true`` is not 1.
_REQUEST = ConfigDict(extra="forbid", allow_inf_nan=False)


def field_path(field: str | None, prefix: tuple[str | int, ...] = ("body",)) -> list[str | int]:
    """``"shipments.3.cargo.teu"`` as a FastAPI error location ``["body", "shipments", 3, ...]``."""
    parts: list[str | int] = list(prefix)
    for part in (field or "").split("."):
        if part:
            parts.append(int(part) if part.isdigit() else part)
    return parts


class CargoIn(BaseModel):
    """Containers (``teu``, optional gross ``weight_t`` in total) or ``pieces`` of one kind
    (``length_m``, ``width_m``, ``height_m`` and ``weight_t`` each)."""

    model_config = _REQUEST

    teu: Number | None = Field(default=None, gt=0, le=MAX_TEU, examples=[4])
    weight_t: Number | None = Field(
        default=None,
        gt=0,
        le=MAX_TEU * 40,
        description="Total gross for containers; each for pieces.",
    )
    pieces: Whole | None = Field(default=None, ge=1, le=MAX_PIECES)
    length_m: Number | None = Field(default=None, gt=0, le=PIECE_LIMITS["length_m"])
    width_m: Number | None = Field(default=None, gt=0, le=PIECE_LIMITS["width_m"])
    height_m: Number | None = Field(default=None, gt=0, le=PIECE_LIMITS["height_m"])

    def to_cargo(self) -> Cargo:
        return Cargo(
            teu=self.teu,
            weight_t=self.weight_t,
            pieces=self.pieces,
            length_m=self.length_m,
            width_m=self.width_m,
            height_m=self.height_m,
        )


class RouteRequest(RouteOptions):
    """One shipment to route: ``POST /v1/routes``. Without ``cargo``, one TEU (as the CLI).

    The options (objective, alternatives, avoid, limits, prices) are ``RouteOptions``, the one
    definition ``find_routes`` and the CLI use too.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "origin": "Xi'an",
                    "destination": "Tashkent",
                    "cargo": {"teu": 4},
                    "ready": "2026-12-01",
                    "objective": "cost",
                    "alternatives": 2,
                }
            ]
        },
    )

    origin: Place
    destination: Place
    cargo: CargoIn = Field(default_factory=lambda: CargoIn(teu=1.0))
    ready: DateText | None = Field(default=None, description="Default: today (UTC).")
    due: DateText | None = Field(
        default=None,
        description="Due date: each route's forecast gives the chance to arrive by then.",
    )
    value_usd: Number | None = Field(default=None, gt=0, le=1e12, description="Cargo value.")
    network: PackName | None = None

    def ready_at(self) -> datetime:
        """When the cargo is ready, in UTC: today when the request does not say."""
        return parse_datetime(self.ready or datetime.now(UTC).date(), "ready")

    def to_shipment(self, ready: datetime | None = None) -> Shipment:
        """The shipment; ``ready`` (when given) overrides the request's own."""
        when = ready if ready is not None else self.ready
        kwargs: dict[str, Any] = {} if when is None else {"ready": when}
        return Shipment(
            origin=self.origin,
            destination=self.destination,
            cargo=self.cargo.to_cargo(),
            due=self.due,
            value_usd=self.value_usd,
            **kwargs,
        )

    def place_field(self, query: str) -> str:
        """Which field named the place ``query`` (for the location of an unknown-place error)."""
        query = query.strip()
        if query == self.origin.strip():
            return "origin"
        if query == self.destination.strip():
            return "destination"
        for i, node in enumerate(self.avoid.nodes):
            if node.strip() == query:
                return f"avoid.nodes.{i}"
        return ""


class ShipmentIn(BaseModel):
    """One shipment of a plan; ``id`` defaults to its position (1, 2, ...)."""

    model_config = _REQUEST

    id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    origin: Place
    destination: Place
    cargo: CargoIn
    ready: DateText
    due: DateText | None = None
    value_usd: Number | None = Field(default=None, gt=0, le=1e12)
    priority: Whole = Field(default=1, ge=1, le=10)
    avoid_countries: list[CountryName] = Field(
        default_factory=list,
        max_length=100,
        description="ISO alpha-2, alpha-3 or English names.",
    )
    split: Flag = False


class PlanRequest(BaseModel):
    """Many shipments planned together against shared capacity: ``POST /v1/plans``.

    ``scenario`` is a what-if mapping (closures, capacity, dwell, tariffs) as the CLI's
    ``--scenario`` file holds it, given inline: the service reads no file a request names.
    """

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "shipments": [
                        {
                            "id": "T1",
                            "origin": "Xi'an",
                            "destination": "Almaty",
                            "cargo": {"teu": 40},
                            "ready": "2026-12-01",
                            "due": "2026-12-20",
                        }
                    ],
                    "time_limit_s": 10,
                    "scenario": {
                        "closures": [
                            {
                                "crossing": "khorgos-altynkol-rail",
                                "from": "2026-12-01",
                                "to": "2026-12-15",
                            }
                        ]
                    },
                }
            ]
        },
    )

    shipments: list[ShipmentIn] = Field(min_length=1, max_length=20_000)
    time_limit_s: Number | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="Solver seconds; default and maximum are server settings.",
    )
    scenario: dict[str, Any] | None = None
    network: PackName | None = None
    settings: dict[str, Any] | None = Field(
        default=None,
        description="Plan settings (routing.plan.PlanSettings): late_usd_per_teu_day, "
        "unplanned_usd_per_teu, horizon_weeks, alternatives, relative_gap, split, min_lot_teu, "
        "columns, master.",
    )

    def to_settings(self) -> PlanSettings:
        """The plan settings, validated where they are declared; errors name ``settings.<name>``."""
        return PlanSettings.from_mapping(self.settings or {})

    def to_shipments(self) -> list[Shipment]:
        """The domain shipments; an ``InputError`` names ``shipments.<i>.<field>``."""
        shipments = []
        seen: dict[str, int] = {}
        for i, item in enumerate(self.shipments):
            shipment_id = item.id if item.id is not None else str(i + 1)
            if shipment_id in seen:
                raise InputError(
                    f"'{shipment_id}' is also the id of shipment {seen[shipment_id]}",
                    f"shipments.{i}.id",
                )
            seen[shipment_id] = i
            try:
                shipments.append(
                    Shipment(
                        id=shipment_id,
                        origin=item.origin,
                        destination=item.destination,
                        cargo=item.cargo.to_cargo(),
                        ready=item.ready,
                        due=item.due,
                        value_usd=item.value_usd,
                        priority=item.priority,
                        avoid_countries=tuple(item.avoid_countries),
                        split=item.split,
                    )
                )
            except InputError as exc:
                raise InputError(exc.detail, f"shipments.{i}.{exc.field or 'id'}") from None
        return shipments

    def place_field(self, query: str) -> str:
        query = query.strip()
        for i, item in enumerate(self.shipments):
            if query == item.origin.strip():
                return f"shipments.{i}.origin"
            if query == item.destination.strip():
                return f"shipments.{i}.destination"
        return "shipments"


# -- responses -----------------------------------------------------------------------------------


class DeliveryIn(BaseModel):
    """One drop of a delivery tour; windows are hours from the depot's opening."""

    model_config = _REQUEST

    id: Identifier
    lat: Number = Field(ge=-90, le=90)
    lon: Number = Field(ge=-180, le=180)
    demand_t: Number = Field(gt=0, le=10_000)
    service_hours: Number = Field(default=0.0, ge=0, le=240)
    window_start_h: Number | None = Field(default=None, ge=0, le=24 * 365)
    window_end_h: Number | None = Field(default=None, ge=0, le=24 * 365)
    oversize: Flag = False

    def to_delivery(self) -> Delivery:
        return Delivery(
            id=self.id,
            lat=self.lat,
            lon=self.lon,
            demand_t=self.demand_t,
            service_hours=self.service_hours,
            window_start_h=self.window_start_h,
            window_end_h=self.window_end_h,
            oversize=self.oversize,
        )


class TourRequest(BaseModel):
    """Delivery tours from a depot (a place or ``"lat,lon"``) with a fleet of trucks."""

    model_config = _REQUEST

    depot: Place
    deliveries: list[DeliveryIn] = Field(min_length=1, max_length=500)
    trucks: Whole = Field(ge=1, le=500)
    payload_t: Number = Field(gt=0, le=10_000)
    oversize_trucks: Whole = Field(default=0, ge=0, le=500)
    speed_kph: Number = Field(default=50.0, gt=0, le=120)
    cost_usd_per_km: Number = Field(default=1.5, ge=0, le=1000)
    objective: Literal["cost", "distance"] = "cost"
    time_limit_s: Number = Field(default=10.0, gt=0, le=600)


class ErrorItem(BaseModel):
    """One problem with a request, located as FastAPI locates validation errors: ``type`` is a
    short code (``missing``, ``unknown_place``, ``busy``...), ``loc`` the path to the field
    (``["body", "cargo", "teu"]``; empty for the request as a whole), ``msg`` the message,
    ``input`` the rejected value when short, ``suggestions`` the closest known places."""

    type: str
    loc: list[str | int]
    msg: str
    input: Any = None
    suggestions: list[str] | None = None


class ErrorBody(BaseModel):
    """The shape of every error answer, whatever its status (4xx or 5xx)."""

    detail: list[ErrorItem]


class NetworkStats(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodes: int
    links: int
    crossings: int
    services: int
    countries: int


class Health(BaseModel):
    status: Literal["ok"]
    network: NetworkStats
    version: str


class PlaceOut(BaseModel):
    id: str
    name: str
    aliases: list[str]
    country: str
    kind: str
    lat: float
    lon: float
    modes: list[str]


class PlacesAnswer(BaseModel):
    """Matching places, best first; when none match, ``places`` is empty and ``suggestions``
    names the closest known places."""

    query: str
    places: list[PlaceOut]
    suggestions: list[str]


class Totals(BaseModel):
    cost_usd: float
    transit_hours: float
    transit_days: float
    distance_km: float
    co2e_kg: float
    generalized_usd: float
    border_crossings: int
    mode_changes: int


class StepOut(BaseModel):
    """A move, handle, border or wait step; moves name their ``link`` (and ``service``), border
    steps their ``crossing``, handle and wait steps their ``node``."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["move", "handle", "border", "wait"]
    start: str
    end: str
    hours: float
    cost_usd: float
    co2e_kg: float


class RouteOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    origin: str
    destination: str
    objective: str
    exact: bool = Field(
        default=True, description="False when the search was stopped before proving it best"
    )
    ready: str
    depart: str
    arrive: str
    totals: Totals
    cost_breakdown_usd: dict[str, float]
    time_breakdown_hours: dict[str, float]
    countries: list[str]
    modes: list[str]
    crossings: list[str]
    steps: list[StepOut]
    geometry: dict[str, Any]


class RoutesAnswer(BaseModel):
    """The same JSON as ``silkroute route --json``; 200 also when no route exists."""

    routes: list[RouteOut]
    infeasible_reason: str | None
    front_size: int | None = Field(
        default=None,
        description="Pareto answers: routes on the full front, before near-duplicates were dropped",
    )


JobStatus = Literal["queued", "running", "done", "failed"]


class PlanJobOut(BaseModel):
    """A plan job; ``plan`` is the plan JSON (SPEC section 8) once ``status`` is ``done``."""

    id: str
    status: JobStatus
    created: str
    started: str | None = None
    finished: str | None = None
    attempts: int = 0
    plan: dict[str, Any] | None
    error: str | None


class TourJobOut(BaseModel):
    """A tours job; ``tours`` is the tours JSON (as ``silkroute tours --json``) once done."""

    id: str
    status: JobStatus
    created: str
    started: str | None = None
    finished: str | None = None
    attempts: int = 0
    tours: dict[str, Any] | None
    error: str | None


class WorkerOut(BaseModel):
    id: str
    host: str
    pid: int
    job: str | None


class Readiness(BaseModel):
    """``ready``: the job database answers and at least one worker is alive; ``no_workers``:
    jobs are accepted but wait until a worker starts (still 200); ``database_unavailable``: 503."""

    status: Literal["ready", "no_workers", "database_unavailable"]
    database: str
    database_error: str | None = None
    jobs: dict[str, int] | None = None
    workers: list[WorkerOut]
