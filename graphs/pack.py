"""Reading and validating a network data pack (a directory of CSV files).

Every table is checked once, here, at the boundary: a bad cell raises ``DataPackError`` naming
the file, the line (the header is line 1) and the column. Nothing is skipped silently.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphs.errors import DataPackError, DataPackErrors
from graphs.geo import great_circle_km
from graphs.places import normalize
from graphs.records import (
    EMISSION_CLASSES,
    MODES,
    NODE_KINDS,
    REVERSE_SUFFIX,
    WEEKDAYS,
    Crossing,
    EmissionFactor,
    Link,
    Node,
    OversizeClass,
    Parameters,
    Service,
    ServiceDelay,
)
from graphs.textfile import Problems, csv_reader, delimiter_hint, read_text

BUNDLED_PACK = Path(__file__).parent / "data"
SERVICE_MODES = ("rail", "sea", "ferry")
MAX_ROWS_PER_FILE = 200_000
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# Hard bounds only reject impossible figures; plausibility per corridor is for tests and review.
_SPEED_LIMIT_KMH = {"rail": 160.0, "road": 120.0, "sea": 60.0, "ferry": 60.0}
_GREAT_CIRCLE_TOLERANCE_KM = 1.0


class _CellError(ValueError):
    """A single cell's problem; the table reader adds file, line and column."""


Parser = Callable[[str], Any]


def _slug(text: str) -> str:
    if not _SLUG.match(text):
        raise _CellError(f"'{text}' is not an id (lowercase letters, digits and '-')")
    return text


def _text(text: str) -> str:
    if not text.strip():
        raise _CellError("must not be empty")
    return text.strip()


def _number(low: float = 0.0, high: float = math.inf) -> Parser:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise _CellError(f"'{text}' is not a number") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise _CellError(f"{text} is out of range [{low:g}, {high:g}]")
        return value

    return parse


def _optional(parse: Parser) -> Parser:
    def parse_optional(text: str) -> Any:
        return None if text.strip() == "" else parse(text)

    return parse_optional


def _choice(*allowed: str) -> Parser:
    def parse(text: str) -> str:
        if text not in allowed:
            raise _CellError(f"'{text}' is not one of {', '.join(allowed)}")
        return text

    return parse


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "":
        return False
    raise _CellError(f"'{text}' is not true or false")


def _items(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(";") if item.strip())


def parse_weekdays(text: str) -> frozenset[int]:
    """Parse ``Mon;Thu`` or ``daily`` into weekday numbers (Monday = 0)."""
    if text.strip().lower() == "daily":
        return frozenset(range(7))
    days = set()
    for item in _items(text):
        name = item[:3].title()
        if name not in WEEKDAYS:
            raise _CellError(f"'{item}' is not a weekday (Mon … Sun, or daily)")
        days.add(WEEKDAYS.index(name))
    if not days:
        raise _CellError("needs at least one weekday, or daily")
    return frozenset(days)


def _modes(text: str) -> frozenset[str]:
    items = _items(text)
    for item in items:
        if item not in MODES:
            raise _CellError(f"'{item}' is not a mode ({', '.join(MODES)})")
    return frozenset(items)


# Standard, Russian (Finland's 1524 mm runs on it and is written 1520) and Iberian gauges; where
# two meet, a gauge-change crossing carries the transhipment or axle change.
GAUGES_MM = ("1435", "1520", "1668")


def _gauge(text: str) -> int:
    if text not in GAUGES_MM:
        raise _CellError(f"'{text}' is not a gauge in mm ({', '.join(GAUGES_MM)})")
    return int(text)


def _country(text: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise _CellError(f"'{text}' is not an ISO 3166 alpha-2 country code")
    return text


# Upper bounds reject figures no real network has (and that would overflow the arithmetic).
_USD = _number(0, 1e7)
_USD_PER_KM = _number(0, 1e4)
_HOURS = _number(0, 1e4)
_CAPACITY = _optional(_number(1e-6, 1e8))
_SIZE_M = _optional(_number(1e-3, 1e3))
_TONNES = _number(1e-3, 1e5)

COLUMNS: dict[str, dict[str, Parser]] = {
    "nodes.csv": {
        "id": _slug,
        "name": _text,
        "aliases": _items,
        "country": _country,
        "kind": _choice(*NODE_KINDS),
        "lat": _number(-90, 90),
        "lon": _number(-180, 180),
        "modes": _modes,
        "handling_usd_per_teu": _USD,
        "handling_hours": _HOURS,
        "storage_usd_per_teu_day": _USD,
        "lift_capacity_t": _optional(_TONNES),
        "source": _text,
    },
    "links.csv": {
        "id": _slug,
        "from": _slug,
        "to": _slug,
        "mode": _choice(*MODES),
        "gauge_mm": _optional(_gauge),
        "traction": _optional(_choice("electric", "diesel")),
        "distance_km": _number(1e-3, 4e4),
        "speed_kmh": _number(0.5, 1e3),
        "usd_per_teu": _USD,
        "usd_per_teu_km": _USD_PER_KM,
        "usd_per_t_km": _USD_PER_KM,
        "capacity_teu_per_week": _CAPACITY,
        "max_length_m": _SIZE_M,
        "max_width_m": _SIZE_M,
        "max_height_m": _SIZE_M,
        "max_piece_t": _optional(_TONNES),
        "oneway": _boolean,
        "source": _text,
    },
    "crossings.csv": {
        "id": _slug,
        "name": _text,
        "from": _slug,
        "to": _slug,
        "mode": _choice("rail", "road", "ferry"),
        "dwell_hours": _HOURS,
        "dwell_p90_hours": _HOURS,
        "fee_usd_per_teu": _USD,
        "gauge_change": _boolean,
        "transhipment_usd_per_teu": _optional(_USD),
        "transhipment_hours": _optional(_HOURS),
        "open_weekdays": parse_weekdays,
        "capacity_teu_per_week": _CAPACITY,
        "oneway": _boolean,
        "source": _text,
    },
    "services.csv": {
        "id": _slug,
        "name": _text,
        "mode": _choice(*SERVICE_MODES),
        "stops": _items,
        "weekdays": parse_weekdays,
        "departure_hour_utc": _number(0, 23),
        "transit_hours": _number(1e-3, 1e4),
        "usd_per_teu": _USD,
        "capacity_teu": _number(1e-6, 1e8),
        "source": _text,
    },
    "service_delays.csv": {
        "applies_to": _slug,
        "delay_p50_hours": _HOURS,
        "delay_p90_hours": _HOURS,
        "source": _text,
    },
    "emission_factors.csv": {
        "class": _choice(*EMISSION_CLASSES),
        "kg_co2e_per_tkm": _number(0, 5),
        "source": _text,
    },
    "oversize.csv": {
        "mode": _choice(*MODES),
        "class": _number(1, 9),
        "width_over_m": _SIZE_M,
        "height_over_m": _SIZE_M,
        "length_over_m": _SIZE_M,
        "weight_over_t": _optional(_TONNES),
        "surcharge_pct": _number(0, 1000),
        "source": _text,
    },
    "parameters.csv": {
        "key": _choice(
            "default_teu_gross_t",
            "teu_floor_m2",
            "teu_max_gross_t",
            "value_of_time_pct_per_year",
            "piece_min_chargeable_t",
        ),
        "value": _number(1e-6, 1e6),
        "unit": str,
        "source": _text,
    },
}
REQUIRED_FILES = ("nodes.csv", "links.csv", "crossings.csv", "emission_factors.csv")


@dataclass(frozen=True)
class Row:
    """One parsed row, remembering where it came from for later cross-row checks."""

    file: str
    line: int
    values: dict[str, Any]

    def __getitem__(self, column: str) -> Any:
        return self.values[column]

    def error(self, column: str, message: str) -> DataPackError:
        return DataPackError(message, file=self.file, line=self.line, column=column)


def read_table(
    path: Path, columns: dict[str, Parser], problems: Problems | None = None
) -> list[Row]:
    """Read one CSV file (``,`` or ``;``, with or without a byte-order mark), parsing every cell.

    Every bad cell is reported, up to 50, in one ``DataPackErrors``; with ``problems`` given they
    are added there instead, and the rows that parsed are returned.
    """
    name = path.name
    own = problems is None
    found = Problems() if problems is None else problems
    reader = csv_reader(read_text(path), columns)
    try:
        header = next(reader, None)
        if header is None:
            raise DataPackError("is empty; expected a header row", file=name, line=1)
        header = [column.strip().lstrip("\ufeff") for column in header]
        for column in header:
            if header.count(column) > 1:
                raise DataPackError(
                    "is named twice in the header", file=name, line=1, column=column
                )
        missing = [column for column in columns if column not in header]
        if missing:
            raise DataPackError(
                f"missing column(s) {', '.join(missing)}{delimiter_hint(','.join(header))}",
                file=name,
                line=1,
                column=missing[0],
            )
        unknown = [column for column in header if column not in columns]
        if unknown:
            raise DataPackError(
                f"unexpected column '{unknown[0]}'", file=name, line=1, column=unknown[0]
            )
        rows = list(_parse_rows(reader, header, columns, name, found))
    except csv.Error as exc:
        found.add(
            DataPackError(
                f"is not valid CSV ({exc})", file=name, line=getattr(reader, "line_num", None)
            )
        )
        rows = []
    except DataPackErrors:
        raise  # the most a pass reports
    except DataPackError as exc:
        found.add(exc)
        rows = []
    if own:
        found.check()
    return rows


def _parse_rows(
    reader: Iterator[list[str]],
    header: list[str],
    columns: dict[str, Parser],
    name: str,
    problems: Problems,
) -> Iterator[Row]:
    for count, cells in enumerate(reader, start=1):
        line = getattr(reader, "line_num", count + 1)
        if count > MAX_ROWS_PER_FILE:  # blank rows count too
            raise DataPackError(f"has more than {MAX_ROWS_PER_FILE} rows", file=name, line=line)
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.add(
                DataPackError(
                    f"has {len(cells)} cells but the header has {len(header)}",
                    file=name,
                    line=line,
                )
            )
            continue
        values: dict[str, Any] = {}
        bad = False
        for column, cell in zip(header, cells, strict=True):
            try:
                values[column] = columns[column](cell.strip())
            except _CellError as exc:
                problems.add(DataPackError(str(exc), file=name, line=line, column=column))
                bad = True
        if not bad:
            yield Row(name, line, values)


@dataclass(frozen=True)
class PackTables:
    """The records of a pack before the network is assembled."""

    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    crossings: tuple[Crossing, ...]
    services: tuple[Service, ...]
    emission_factors: tuple[EmissionFactor, ...]
    oversize: tuple[OversizeClass, ...]
    parameters: Parameters
    service_delays: tuple[ServiceDelay, ...] = ()


def read_pack(directory: Path) -> PackTables:
    """Read and validate every file of a pack directory."""
    if not directory.is_dir():
        raise DataPackError(f"network pack '{directory}' is not a directory")
    problems = Problems()
    for path in sorted(directory.glob("*.csv")):  # a dangling link is named, never skipped
        if path.is_symlink() and not path.exists():
            problems.add(
                DataPackError(
                    f"is a symbolic link to '{os.readlink(path)}', which does not exist",
                    file=path.name,
                )
            )
    for required in REQUIRED_FILES:
        path = directory / required
        if not path.exists() and not path.is_symlink():
            problems.add(DataPackError("is missing from the pack", file=required))
    problems.check()

    def table(name: str) -> list[Row]:
        path = directory / name
        if not path.exists():
            return []
        try:
            return read_table(path, COLUMNS[name], problems)
        except DataPackErrors:
            raise
        except DataPackError as exc:  # the file as a whole: unreadable, too large, not UTF-8
            problems.add(exc)
            return []

    node_rows = table("nodes.csv")
    link_rows = table("links.csv")
    crossing_rows = table("crossings.csv")
    service_rows = table("services.csv")
    factor_rows = table("emission_factors.csv")
    oversize_rows = table("oversize.csv")
    parameter_rows = table("parameters.csv")
    delay_rows = table("service_delays.csv")
    problems.check()  # every bad cell of every file, before the checks across rows

    nodes = _nodes(node_rows)
    links, link_rows_by_id = _links(link_rows, nodes)
    crossings = _crossings(crossing_rows, nodes, links)
    _check_gauges(links, crossings, link_rows_by_id)
    services = _services(service_rows, nodes, links)
    factors = _emission_factors(factor_rows, links, link_rows_by_id)
    return PackTables(
        nodes=tuple(nodes.values()),
        links=tuple(links.values()),
        crossings=tuple(crossings.values()),
        services=tuple(services),
        emission_factors=tuple(factors),
        oversize=tuple(_oversize(oversize_rows)),
        parameters=_parameters(parameter_rows),
        service_delays=tuple(_service_delays(delay_rows, services)),
    )


def _unique(rows: list[Row], column: str = "id") -> None:
    seen: dict[Any, int] = {}
    for row in rows:
        key = row[column]
        if key in seen:
            raise row.error(column, f"duplicate {column} '{key}' (first on line {seen[key]})")
        seen[key] = row.line


def _nodes(rows: list[Row]) -> dict[str, Node]:
    _unique(rows)
    nodes = {}
    owners: dict[str, tuple[str, int]] = {}
    for row in rows:
        for column, labels in (
            ("id", [row["id"]]),
            ("name", [row["name"]]),
            ("aliases", row["aliases"]),
        ):
            for label in labels:
                key = normalize(label)
                owner = owners.setdefault(key, (row["id"], row.line))
                if key and owner[0] != row["id"]:
                    raise row.error(column, f"'{label}' also names {owner[0]} (line {owner[1]})")
        nodes[row["id"]] = Node(
            id=row["id"],
            name=row["name"],
            aliases=row["aliases"],
            country=row["country"],
            kind=row["kind"],
            lat=row["lat"],
            lon=row["lon"],
            modes=row["modes"],
            handling_usd_per_teu=row["handling_usd_per_teu"],
            handling_hours=row["handling_hours"],
            storage_usd_per_teu_day=row["storage_usd_per_teu_day"],
            lift_capacity_t=row["lift_capacity_t"],
            source=row["source"],
        )
    return nodes


def _reference(row: Row, column: str, nodes: dict[str, Node]) -> Node:
    node_id = row[column]
    if node_id not in nodes:
        raise row.error(column, f"node '{node_id}' is not in nodes.csv")
    return nodes[node_id]


def _links(rows: list[Row], nodes: dict[str, Node]) -> tuple[dict[str, Link], dict[str, Row]]:
    _unique(rows)
    links: dict[str, Link] = {}
    for row in rows:
        start, end = _reference(row, "from", nodes), _reference(row, "to", nodes)
        if start.id == end.id:
            raise row.error("to", "a link must join two different nodes")
        mode = row["mode"]
        if mode == "rail" and row["gauge_mm"] is None:
            raise row.error("gauge_mm", f"a rail link needs its gauge ({', '.join(GAUGES_MM)})")
        if mode == "rail" and row["traction"] is None:
            raise row.error("traction", "a rail link needs its traction (electric or diesel)")
        if mode != "rail" and (row["gauge_mm"] is not None or row["traction"] is not None):
            column = "gauge_mm" if row["gauge_mm"] is not None else "traction"
            raise row.error(column, f"only rail links have a {column}; this one is {mode}")
        floor_km = great_circle_km(start.lat, start.lon, end.lat, end.lon)
        if row["distance_km"] < floor_km - _GREAT_CIRCLE_TOLERANCE_KM:
            raise row.error(
                "distance_km",
                f"{row['distance_km']:g} km is shorter than the great-circle distance "
                f"{floor_km:.0f} km between {start.id} and {end.id}",
            )
        if row["speed_kmh"] > _SPEED_LIMIT_KMH[mode]:
            raise row.error(
                "speed_kmh", f"{row['speed_kmh']:g} km/h is not a possible {mode} average speed"
            )
        forward = _link_from_row(row, row["id"], start.id, end.id)
        links[forward.id] = forward
        if not row["oneway"]:
            reverse = _link_from_row(row, row["id"] + REVERSE_SUFFIX, end.id, start.id)
            links[reverse.id] = reverse
    return links, {row["id"]: row for row in rows}


def _link_from_row(row: Row, link_id: str, start: str, end: str) -> Link:
    return Link(
        id=link_id,
        base_id=row["id"],
        from_node=start,
        to_node=end,
        mode=row["mode"],
        gauge_mm=row["gauge_mm"],
        traction=row["traction"],
        distance_km=row["distance_km"],
        speed_kmh=row["speed_kmh"],
        usd_per_teu=row["usd_per_teu"],
        usd_per_teu_km=row["usd_per_teu_km"],
        usd_per_t_km=row["usd_per_t_km"],
        capacity_teu_per_week=row["capacity_teu_per_week"],
        max_length_m=row["max_length_m"],
        max_width_m=row["max_width_m"],
        max_height_m=row["max_height_m"],
        max_piece_t=row["max_piece_t"],
        source=row["source"],
    )


def _crossings(
    rows: list[Row], nodes: dict[str, Node], links: dict[str, Link]
) -> dict[str, Crossing]:
    _unique(rows)
    ways = {(link.from_node, link.to_node, link.mode) for link in links.values()}
    crossings: dict[str, Crossing] = {}
    for row in rows:
        start, end = _reference(row, "from", nodes), _reference(row, "to", nodes)
        if (start.id, end.id, row["mode"]) not in ways:
            raise row.error(
                "to", f"no {row['mode']} link from {start.id} to {end.id} carries this crossing"
            )
        if row["dwell_p90_hours"] < row["dwell_hours"]:
            raise row.error("dwell_p90_hours", "the bad-day dwell is shorter than the typical one")
        if row["gauge_change"] and (
            row["transhipment_usd_per_teu"] is None or row["transhipment_hours"] is None
        ):
            column = (
                "transhipment_usd_per_teu"
                if row["transhipment_usd_per_teu"] is None
                else "transhipment_hours"
            )
            raise row.error(column, "a gauge change needs its transhipment cost and hours")
        directions = [(row["id"], start.id, end.id)]
        if not row["oneway"]:
            if (end.id, start.id, row["mode"]) not in ways:
                raise row.error("oneway", f"no {row['mode']} link back from {end.id} to {start.id}")
            directions.append((row["id"] + REVERSE_SUFFIX, end.id, start.id))
        for crossing_id, a, b in directions:
            crossings[crossing_id] = Crossing(
                id=crossing_id,
                base_id=row["id"],
                name=row["name"],
                from_node=a,
                to_node=b,
                mode=row["mode"],
                dwell_hours=row["dwell_hours"],
                dwell_p90_hours=row["dwell_p90_hours"],
                fee_usd_per_teu=row["fee_usd_per_teu"],
                gauge_change=row["gauge_change"],
                transhipment_usd_per_teu=row["transhipment_usd_per_teu"] or 0.0,
                transhipment_hours=row["transhipment_hours"] or 0.0,
                open_weekdays=row["open_weekdays"],
                capacity_teu_per_week=row["capacity_teu_per_week"],
                source=row["source"],
            )
    return crossings


def _check_gauges(
    links: dict[str, Link], crossings: dict[str, Crossing], rows: dict[str, Row]
) -> None:
    """At every node, rail links off gauge-change crossings must share one gauge."""
    changing = {(c.from_node, c.to_node) for c in crossings.values() if c.gauge_change}
    gauges: dict[str, dict[int, str]] = defaultdict(dict)
    for link in links.values():
        if link.mode != "rail" or (link.from_node, link.to_node) in changing:
            continue
        assert link.gauge_mm is not None  # validated per row
        for node_id in (link.from_node, link.to_node):
            seen = gauges[node_id]
            seen.setdefault(link.gauge_mm, link.base_id)
            if len(seen) > 1:
                other = next(base for gauge, base in seen.items() if gauge != link.gauge_mm)
                raise rows[link.base_id].error(
                    "gauge_mm",
                    f"{link.gauge_mm} mm meets {rows[other]['gauge_mm']} mm (link {other}) at "
                    f"{node_id} with no gauge-change crossing between them",
                )


def _services(rows: list[Row], nodes: dict[str, Node], links: dict[str, Link]) -> list[Service]:
    _unique(rows)
    by_way = {(link.from_node, link.to_node, link.mode): link.id for link in links.values()}
    services = []
    for row in rows:
        stops = row["stops"]
        if len(stops) < 2:
            raise row.error("stops", "a service needs at least two stops")
        for stop in stops:
            if stop not in nodes:
                raise row.error("stops", f"node '{stop}' is not in nodes.csv")
        path = []
        for a, b in itertools.pairwise(stops):
            link_id = by_way.get((a, b, row["mode"]))
            if link_id is None:
                raise row.error("stops", f"no {row['mode']} link from {a} to {b}")
            path.append(link_id)
        services.append(
            Service(
                id=row["id"],
                name=row["name"],
                mode=row["mode"],
                stops=stops,
                weekdays=row["weekdays"],
                departure_hour_utc=int(row["departure_hour_utc"]),
                transit_hours=row["transit_hours"],
                usd_per_teu=row["usd_per_teu"],
                capacity_teu=row["capacity_teu"],
                source=row["source"],
                links=tuple(path),
            )
        )
    return services


def _service_delays(rows: list[Row], services: list[Service]) -> list[ServiceDelay]:
    _unique(rows, "applies_to")
    known = {service.id for service in services} | set(SERVICE_MODES)
    delays = []
    for row in rows:
        target = row["applies_to"]
        if target not in known:
            raise row.error(
                "applies_to", f"'{target}' is neither a service id nor one of {SERVICE_MODES}"
            )
        p50, p90 = row["delay_p50_hours"], row["delay_p90_hours"]
        if p90 < p50 or (p50 == 0) != (p90 == 0):
            raise row.error(
                "delay_p90_hours",
                f"needs 0 < median <= 90th percentile, or both 0; got {p50:g} and {p90:g}",
            )
        delays.append(ServiceDelay(target, p50, p90, row["source"]))
    return delays


def _emission_factors(
    rows: list[Row], links: dict[str, Link], link_rows: dict[str, Row]
) -> list[EmissionFactor]:
    _unique(rows, "class")
    factors = [EmissionFactor(row["class"], row["kg_co2e_per_tkm"], row["source"]) for row in rows]
    known = {factor.cls for factor in factors}
    for link in links.values():
        if link.emission_class not in known:
            raise link_rows[link.base_id].error(
                "mode", f"no emission factor for class {link.emission_class}"
            )
    return factors


def _oversize(rows: list[Row]) -> list[OversizeClass]:
    seen: dict[tuple[str, int], int] = {}
    classes = []
    for row in rows:
        key = (row["mode"], int(row["class"]))
        if key in seen:
            raise row.error("class", f"duplicate class {key[1]} for {key[0]}")
        seen[key] = row.line
        classes.append(
            OversizeClass(
                mode=row["mode"],
                cls=int(row["class"]),
                width_over_m=row["width_over_m"],
                height_over_m=row["height_over_m"],
                length_over_m=row["length_over_m"],
                weight_over_t=row["weight_over_t"],
                surcharge_pct=row["surcharge_pct"],
                source=row["source"],
            )
        )
    return classes


def _parameters(rows: list[Row]) -> Parameters:
    _unique(rows, "key")
    values = {row["key"]: row["value"] for row in rows}
    sources = tuple((row["key"], row["source"]) for row in rows)
    return Parameters(**values, sources=sources)
