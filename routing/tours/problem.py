"""What a tours problem is: a railhead, the deliveries, the trucks and the drivers' rules.

Hours are from the plan's time zero (the railhead's opening on the planned day), distances are in
km, weights in tonnes and money in USD. Every record checks itself when built, so the solvers only
ever see sensible data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from graphs.errors import InputError
from graphs.geo import great_circle_km

__all__ = [
    "AETR",
    "Delivery",
    "Depot",
    "DriverRules",
    "Fleet",
    "Objective",
    "TourProblem",
    "TruckType",
]

Objective = Literal["cost", "distance"]


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_position(where: str, lat: float | None, lon: float | None, field_: str) -> None:
    if (lat is None) != (lon is None):
        raise InputError(f"{where}: give both lat and lon, or neither", field=field_)
    if lat is not None and not (_finite(lat) and -90 <= lat <= 90):
        raise InputError(f"{where}: lat must be within -90..90, got {lat}", field=field_)
    if lon is not None and not (_finite(lon) and -180 <= lon <= 180):
        raise InputError(f"{where}: lon must be within -180..180, got {lon}", field=field_)


def _check_size(where: str, name: str, value: float | None) -> None:
    if value is not None and not (_finite(value) and value > 0):
        raise InputError(f"{where}: {name} must be more than 0, got {value}", field=name)


def _check_window(where: str, start: float | None, end: float | None, prefix: str) -> None:
    for name, value in ((f"{prefix}start_h", start), (f"{prefix}end_h", end)):
        if value is not None and not (_finite(value) and value >= 0):
            raise InputError(f"{where}: {name} must be 0 h or later, got {value}", field=name)
    if start is not None and end is not None and end < start:
        raise InputError(
            f"{where}: window ends at {end:g} h, before it opens at {start:g} h",
            field=f"{prefix}end_h",
        )


@dataclass(frozen=True)
class Delivery:
    """One drop at a site: what, how heavy, how big, how long to unload and when.

    Parameters
    ----------
    id
        Unique name of the delivery.
    lat, lon
        WGS84 position of the site; only needed when the problem has no distance matrix.
    demand_t
        Weight to drop, in tonnes.
    service_hours
        Unloading time at the site (crane or forklift work).
    window_start_h, window_end_h
        Earliest and latest start of unloading; ``None`` is unbounded.
    oversize
        An abnormal load: only a truck type marked ``oversize`` may carry it.
    length_m, width_m, height_m
        Size of the piece; it rides only on trucks whose deck and envelope admit it.
    site
        Site it goes to (default: its own id); deliveries of one site share its crane slots.
    divisible
        Bulk cargo that may be split over several truckloads when heavier than any truck
        carries; an indivisible piece heavier than every truck is refused.
    """

    id: str
    lat: float | None
    lon: float | None
    demand_t: float
    service_hours: float = 0.0
    window_start_h: float | None = None
    window_end_h: float | None = None
    oversize: bool = False
    length_m: float | None = None
    width_m: float | None = None
    height_m: float | None = None
    site: str | None = None
    divisible: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InputError("every delivery needs a non-empty id", field="id")
        where = f"delivery {self.id!r}"
        _check_position(where, self.lat, self.lon, "lat")
        if not _finite(self.demand_t) or self.demand_t < 0:
            raise InputError(
                f"{where}: demand_t must be a weight of 0 t or more, got {self.demand_t}",
                field="demand_t",
            )
        if not _finite(self.service_hours) or self.service_hours < 0:
            raise InputError(
                f"{where}: service_hours must be 0 or more, got {self.service_hours}",
                field="service_hours",
            )
        _check_window(where, self.window_start_h, self.window_end_h, "window_")
        for name in ("length_m", "width_m", "height_m"):
            _check_size(where, name, getattr(self, name))
        if self.site is not None and (not isinstance(self.site, str) or not self.site.strip()):
            raise InputError(f"{where}: site must be a non-empty name", field="site")

    @property
    def site_id(self) -> str:
        """The site whose crane slots this delivery takes."""
        return self.site or self.id


@dataclass(frozen=True)
class Depot:
    """The railhead every truck starts from, reloads at and returns to.

    ``open_h``/``close_h`` bound the yard's hours; ``reload_hours`` is the loading time of each
    trip (the first included).
    """

    id: str = "depot"
    lat: float | None = None
    lon: float | None = None
    open_h: float = 0.0
    close_h: float | None = None
    reload_hours: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InputError("the depot needs a non-empty id", field="depot.id")
        _check_position("depot", self.lat, self.lon, "depot.lat")
        if not _finite(self.open_h) or self.open_h < 0:
            raise InputError(
                f"depot: open_h must be 0 h (the plan's time zero) or later, got {self.open_h}",
                field="depot.open_h",
            )
        if self.close_h is not None and not (_finite(self.close_h) and self.close_h > self.open_h):
            raise InputError(
                f"depot: closes at {self.close_h} h, which is not after it opens at "
                f"{self.open_h:g} h",
                field="depot.close_h",
            )
        if not _finite(self.reload_hours) or self.reload_hours < 0:
            raise InputError(
                f"depot: reload_hours must be 0 or more, got {self.reload_hours}",
                field="depot.reload_hours",
            )


@dataclass(frozen=True)
class TruckType:
    """A kind of truck in the fleet and how many of it there are.

    Parameters
    ----------
    name
        Label of the type (``"flatbed"``, ``"modular trailer"``); trucks are named after it.
    count
        Trucks of this type available.
    payload_t
        Payload per trip, in tonnes.
    max_length_m, max_width_m, max_height_m
        Largest piece the deck takes (loaded height included); ``None`` is no limit.
    oversize
        Permitted and fitted for abnormal loads (pieces marked oversize ride only here).
    speed_kph
        Average road speed, turning km into driving hours.
    cost_usd_per_km, escort_usd_per_km
        Running cost, and the escort cars' cost per km that oversize moves pay on top.
    fixed_cost_usd
        Cost of sending one such truck out for the day (driver, permit, escort call-out).
    move_start_h, move_end_h
        Hours the truck may be on the road (a permit's daylight window); ``None`` is unbounded.
    max_trips
        Trips a truck may make in its shift, reloading at the railhead between them.
    """

    name: str
    count: int
    payload_t: float
    max_length_m: float | None = None
    max_width_m: float | None = None
    max_height_m: float | None = None
    oversize: bool = False
    speed_kph: float = 60.0
    cost_usd_per_km: float = 1.5
    escort_usd_per_km: float = 0.0
    fixed_cost_usd: float = 0.0
    move_start_h: float | None = None
    move_end_h: float | None = None
    max_trips: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError("every truck type needs a name", field="name")
        where = f"truck type {self.name!r}"
        for name, low in (("count", 1), ("max_trips", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InputError(f"{where}: {name} must be {low} or more, got {value}", field=name)
        if not _finite(self.payload_t) or self.payload_t <= 0:
            raise InputError(
                f"{where}: payload_t must be more than 0 t, got {self.payload_t}",
                field="payload_t",
            )
        for name in ("max_length_m", "max_width_m", "max_height_m"):
            _check_size(where, name, getattr(self, name))
        if not _finite(self.speed_kph) or not 0 < self.speed_kph <= 150:
            raise InputError(
                f"{where}: speed_kph must be within 0..150, got {self.speed_kph}",
                field="speed_kph",
            )
        for name in ("cost_usd_per_km", "escort_usd_per_km", "fixed_cost_usd"):
            value = getattr(self, name)
            if not _finite(value) or value < 0:
                raise InputError(f"{where}: {name} must be 0 or more, got {value}", field=name)
        _check_window(where, self.move_start_h, self.move_end_h, "move_")

    def carries(self, delivery: Delivery) -> str | None:
        """Why this type cannot carry ``delivery`` (``None`` when it can)."""
        if delivery.oversize and not self.oversize:
            return "oversize piece"
        for dim in ("length_m", "width_m", "height_m"):
            size, limit = getattr(delivery, dim), getattr(self, f"max_{dim}")
            if size is not None and limit is not None and size > limit:
                return f"{dim.removesuffix('_m')} {size:g} m over its {limit:g} m"
        if delivery.demand_t > self.payload_t and not delivery.divisible:
            return f"{delivery.demand_t:g} t over its {self.payload_t:g} t payload"
        return None


@dataclass(frozen=True)
class DriverRules:
    """Drivers' hours per shift (one driver per truck, one working day).

    The defaults are the AETR / EU Regulation 561/2006 limits: at most 4.5 h of driving before a
    45 min break, 9 h of driving a day (10 h on two days a week: ``extended_day``), and 11 h of
    daily rest, so a working day spans at most 13 h.
    """

    block_driving_h: float = 4.5
    break_h: float = 0.75
    daily_driving_h: float = 9.0
    extended_driving_h: float = 10.0
    daily_rest_h: float = 11.0
    extended_day: bool = False

    def __post_init__(self) -> None:
        for name in ("block_driving_h", "break_h", "daily_driving_h", "extended_driving_h"):
            value = getattr(self, name)
            if not _finite(value) or value <= 0:
                raise InputError(f"driver rules: {name} must be more than 0", field=name)
        if not _finite(self.daily_rest_h) or not 0 <= self.daily_rest_h < 24:
            raise InputError("driver rules: daily_rest_h must be within 0..24", field="rest")

    @property
    def driving_h(self) -> float:
        """Driving allowed in this shift."""
        return self.extended_driving_h if self.extended_day else self.daily_driving_h

    @property
    def shift_h(self) -> float:
        """Longest working day: what the daily rest leaves of 24 h."""
        return 24.0 - self.daily_rest_h

    @property
    def break_factor(self) -> float:
        """Upper bound on hours on the road per hour of driving, breaks included."""
        return 1.0 + self.break_h / self.block_driving_h


AETR = DriverRules()


def Fleet(
    trucks: int,
    payload_t: float,
    oversize_capable: int = 0,
    speed_kph: float = 60.0,
    *,
    cost_usd_per_km: float = 1.5,
    max_trips: int = 1,
) -> tuple[TruckType, ...]:
    """A fleet of one truck type, ``oversize_capable`` of which take oversize pieces."""
    if isinstance(trucks, bool) or not isinstance(trucks, int) or trucks < 1:
        raise InputError(f"the fleet needs at least one truck, got {trucks}", field="trucks")
    if isinstance(oversize_capable, bool) or not 0 <= oversize_capable <= trucks:
        raise InputError(
            f"oversize_capable must be between 0 and the {trucks} trucks, got {oversize_capable}",
            field="oversize_capable",
        )
    kinds = []
    if oversize_capable:
        kinds.append(
            TruckType(
                "oversize",
                oversize_capable,
                payload_t,
                oversize=True,
                speed_kph=speed_kph,
                cost_usd_per_km=cost_usd_per_km,
                max_trips=max_trips,
            )
        )
    if trucks > oversize_capable:
        kinds.append(
            TruckType(
                "truck",
                trucks - oversize_capable,
                payload_t,
                speed_kph=speed_kph,
                cost_usd_per_km=cost_usd_per_km,
                max_trips=max_trips,
            )
        )
    return tuple(kinds)


Matrix = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class TourProblem:
    """Everything the tours solvers need.

    Parameters
    ----------
    depot, deliveries, fleet
        Where trucks load, what to drop, and the truck types.
    distance_km
        Road km, row and column 0 the depot and ``i`` the ``i``-th delivery; ``None`` means
        great-circle distances from the coordinates.
    oversize_distance_km
        Road km for oversize truck types where they differ (bridges, height limits); ``None``
        is the same as ``distance_km``. ``math.inf`` marks a pair no oversize road joins.
    rules
        Drivers' hours; ``None`` leaves driving time unbounded (the benchmark problems).
    crane_slots
        Unloadings each site takes per day (site id to slots); sites not named are unlimited.
    objective
        ``"cost"`` minimises USD (fixed, running and escort cost); ``"distance"`` minimises km.
    serve_all
        Every delivery must be served (the benchmark convention); otherwise the solver may
        leave some out and says why.
    """

    depot: Depot
    deliveries: tuple[Delivery, ...]
    fleet: tuple[TruckType, ...]
    distance_km: Matrix | None = None
    oversize_distance_km: Matrix | None = None
    rules: DriverRules | None = AETR
    crane_slots: Mapping[str, int] = field(default_factory=dict)
    objective: Objective = "cost"
    serve_all: bool = False
    _matrix_km: Matrix = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "deliveries", tuple(self.deliveries))
        object.__setattr__(self, "fleet", tuple(self.fleet))
        object.__setattr__(self, "crane_slots", dict(self.crane_slots))
        if any(not isinstance(d, Delivery) for d in self.deliveries):
            raise InputError("deliveries must be Delivery objects", field="deliveries")
        if not self.fleet or any(not isinstance(t, TruckType) for t in self.fleet):
            raise InputError("the fleet needs at least one TruckType", field="fleet")
        names = [t.name for t in self.fleet]
        if len(set(names)) != len(names):
            raise InputError("truck type names must be unique", field="fleet")
        seen: set[str] = {self.depot.id}
        for d in self.deliveries:
            if d.id in seen:
                raise InputError(
                    f"id {d.id!r} is used twice (by the depot or another delivery)",
                    field="deliveries",
                )
            seen.add(d.id)
        if self.objective not in ("cost", "distance"):
            raise InputError(
                f"objective must be 'cost' or 'distance', got {self.objective!r}",
                field="objective",
            )
        for site, slots in self.crane_slots.items():
            if isinstance(slots, bool) or not isinstance(slots, int) or slots < 1:
                raise InputError(
                    f"site {site!r}: crane slots must be 1 or more a day, got {slots}",
                    field="crane_slots",
                )
        if self.rules is not None and not isinstance(self.rules, DriverRules):
            raise InputError("rules must be DriverRules or None", field="rules")
        if self.distance_km is None:
            matrix = self._great_circle_matrix()
        else:
            matrix = self._checked_matrix(self.distance_km, "distance_km", allow_inf=False)
            object.__setattr__(self, "distance_km", matrix)
        if self.oversize_distance_km is not None:
            object.__setattr__(
                self,
                "oversize_distance_km",
                self._checked_matrix(self.oversize_distance_km, "oversize_distance_km", True),
            )
        object.__setattr__(self, "_matrix_km", matrix)

    def _great_circle_matrix(self) -> Matrix:
        points: list[tuple[float, float]] = []
        for name, lat, lon in [(self.depot.id, self.depot.lat, self.depot.lon)] + [
            (d.id, d.lat, d.lon) for d in self.deliveries
        ]:
            if lat is None or lon is None:
                raise InputError(
                    f"{name!r} has no coordinates and no distance matrix was given",
                    field="distance_km",
                )
            points.append((lat, lon))
        return tuple(tuple(great_circle_km(a[0], a[1], b[0], b[1]) for b in points) for a in points)

    def _checked_matrix(
        self, given: Sequence[Sequence[float]], name: str, allow_inf: bool
    ) -> Matrix:
        size = len(self.deliveries) + 1
        rows = [tuple(float(x) for x in row) for row in given]
        if len(rows) != size or any(len(row) != size for row in rows):
            raise InputError(
                f"{name} must be {size}x{size} (the depot, then each delivery in order)",
                field=name,
            )
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                ok = value >= 0 and (math.isfinite(value) or (allow_inf and value == math.inf))
                if not ok:
                    raise InputError(
                        f"{name}[{i}][{j}] must be a distance of 0 km or more, got {value}",
                        field=name,
                    )
        return tuple(rows)

    @property
    def matrix_km(self) -> Matrix:
        """Distances of ordinary trucks: the given matrix or the great-circle one."""
        return self._matrix_km

    def km_for(self, truck: TruckType) -> Matrix:
        """The distances a truck type drives."""
        if truck.oversize and self.oversize_distance_km is not None:
            return self.oversize_distance_km
        return self._matrix_km
