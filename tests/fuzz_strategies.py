"""Hypothesis strategies for hostile input, and the tally of how fuzz cases ended.

The strategies mix plausible values (so that some cases get through validation and exercise what
lies behind it) with hostile ones: wrong types, NaN and infinities, huge and negative numbers,
unicode, NUL bytes and very long strings, dates far outside any timetable. They are used by
``tests/test_fuzz_inputs.py``; ``report`` is printed at the end of the test run by the
``pytest_terminal_summary`` hook in ``tests/conftest.py``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import yaml
from hypothesis import strategies as st

from routing.model import OBJECTIVES, Cargo
from routing.shipments import OPTIONAL, REQUIRED

TALLY: Counter[tuple[str, str]] = Counter()
"""Cases tried, by (surface, outcome): ``ok`` or the class name of the error raised."""


def record(surface: str, outcome: str) -> None:
    TALLY[surface, outcome] += 1


class _Writer(Protocol):
    def write_line(self, line: str) -> None: ...


def report(terminal: _Writer) -> None:
    """One line per surface: cases tried, then how many ended in each outcome."""
    if not TALLY:
        return
    surfaces: dict[str, Counter[str]] = {}
    for (surface, outcome), count in TALLY.items():
        surfaces.setdefault(surface, Counter())[outcome] = count
    terminal.write_line(f"input fuzzing: {sum(TALLY.values())} cases tried")
    for surface, outcomes in sorted(surfaces.items()):
        ends = ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))
        terminal.write_line(f"  {surface:<16} {sum(outcomes.values()):>6}  ({ends})")


# -- scalars -------------------------------------------------------------------------------------

LONG = 5_000
"""Characters in a "very long" string: far beyond any id or place name."""

NUMBER_EDGES: tuple[float, ...] = (
    0.0,
    -0.0,
    -1.0,
    1e-300,
    5e-324,
    1e12,
    1e300,
    1.7976931348623157e308,
    float("nan"),
    float("inf"),
    float("-inf"),
)

# Beyond the float range (math.isfinite and f"{value:g}" overflow on these), but within Python's
# 4,300-digit limit on int-to-text conversion, which no JSON, YAML or CSV reader gets past.
BIG_INT = 10**400


def hostile_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Unicode of every kind (no lone surrogates: files must still encode), NUL, controls, and
    very long strings (made by repetition, which keeps generating and shrinking them cheap)."""
    return st.one_of(
        st.text(st.characters(codec="utf-8"), max_size=max_size),
        st.sampled_from(
            [
                "",
                " ",
                "\x00",
                "a\x00b",
                "\t\r\n",
                "\u202eevil\u202c",
                "\ufeffalpha",
                "Ａｌｐｈａ",
                "𝔄𝔩𝔭𝔥𝔞",
                "🚂🚚🚢",
                "ᚠᛇᚻ",
                "Ελλάδα",
                "Łódź",
                "=cmd|' /C calc'!A0",
                "../../etc/passwd",
                "'; DROP TABLE jobs; --",
                "%s%n%x {0} {}",
                "null",
                "NaN",
            ]
        ),
        st.sampled_from(["x", "é", "🚂", "a,b", "a;", " "]).map(lambda unit: unit * LONG),
    )


def junk(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Anything at all that JSON or YAML could carry, and some things they could not."""
    leaves: st.SearchStrategy[Any] = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-BIG_INT, BIG_INT),
        st.sampled_from(NUMBER_EDGES),
        st.floats(),
        hostile_text(),
        st.dates(),
        st.binary(max_size=8),
        st.complex_numbers(max_magnitude=1e6, allow_nan=False),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.text(max_size=8), inner, max_size=3),
            st.tuples(inner, inner),
        ),
        max_leaves=max_leaves,
    )


def bad_numbers() -> st.SearchStrategy[Any]:
    """Numbers no field should take, and values that are not numbers at all."""
    return st.one_of(
        st.sampled_from(NUMBER_EDGES),
        st.floats(),
        st.integers(-BIG_INT, BIG_INT),
        st.booleans(),
        st.sampled_from(["1", "ten", "", "1e3"]),
        junk(3),
    )


def dates() -> st.SearchStrategy[Any]:
    """Dates as text, date, datetime (naive and with odd offsets), or not dates at all."""
    offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    in_range = st.dates(date(2000, 1, 1), date(2100, 12, 31))
    return st.one_of(
        in_range.map(date.isoformat),
        in_range,
        st.datetimes(datetime(2000, 1, 1), datetime(2100, 12, 31), timezones=st.just(UTC)),
        st.datetimes(timezones=offsets),
        st.datetimes().map(lambda moment: moment.isoformat()),
        st.dates().map(date.isoformat),
        st.sampled_from(
            [
                "0001-01-01T00:00+01:00",
                "9999-12-31T23:59:59-01:00",
                "2026-02-30",
                "2026-13-01",
                "26-12-01",
                "2026-12-01Z",
                "2026-12-01T25:00",
                "1999-12-31T23:30-01:00",
                "2100-12-31T23:30-01:00",
                "yesterday",
                "",
            ]
        ),
        junk(2),
    )


@st.composite
def corrupted(
    draw: st.DrawFn,
    valid: st.SearchStrategy[dict[str, Any]],
    hostile: dict[str, st.SearchStrategy[Any]],
    most: int = 2,
    required: Collection[str] = (),
) -> dict[str, Any]:
    """A valid set of fields with up to ``most`` of them made hostile or left out (unless
    ``required``), so that cases get through validation as often as they stop at it, and a stop
    has one cause to name."""
    values = dict(draw(valid))
    for name in draw(st.lists(st.sampled_from(sorted(hostile)), max_size=most, unique=True)):
        if name not in required and draw(st.integers(0, 4)) == 0:
            values.pop(name, None)
        else:
            values[name] = draw(hostile[name])
    return values


# -- cargo and shipments -------------------------------------------------------------------------


def valid_cargo_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    containers = st.fixed_dictionaries(
        {"teu": st.floats(0.5, 80.0)}, optional={"weight_t": st.floats(1.0, 20.0)}
    )
    pieces = st.fixed_dictionaries(
        {
            "pieces": st.integers(1, 5),
            "length_m": st.floats(1.0, 60.0),
            "width_m": st.floats(1.0, 6.0),
            "height_m": st.floats(1.0, 6.0),
            "weight_t": st.floats(1.0, 400.0),
        }
    )
    return st.one_of(containers, pieces)


CARGO_FIELDS = ("teu", "weight_t", "pieces", "length_m", "width_m", "height_m")


def cargo_kwargs() -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``Cargo``: valid, or with a field or two hostile or missing (which
    includes teu and pieces both, or neither)."""
    near_limits = st.sampled_from([100_000, 100_001, 10_000, 10_001, 150, 150.1, 15.01, 2_000.5])
    hostile = {name: st.one_of(bad_numbers(), near_limits) for name in CARGO_FIELDS}
    return corrupted(valid_cargo_kwargs(), hostile)


def cargo() -> st.SearchStrategy[Any]:
    """A valid ``Cargo``."""
    return valid_cargo_kwargs().map(lambda kwargs: Cargo(**kwargs))


def coordinates() -> st.SearchStrategy[str]:
    """Places given as ``"lat,lon"``: near the tiny pack's places, anywhere, off the globe, or
    almost coordinates."""

    def text(pair: tuple[float, float, str]) -> str:
        return f"{pair[0]:.4f}{pair[2]}{pair[1]:.4f}"

    separator = st.sampled_from([",", " ", " , ", ",  "])
    return st.one_of(
        st.tuples(st.floats(43.0, 44.5), st.floats(75.5, 84.5), separator).map(text),
        st.tuples(st.floats(-95.0, 95.0), st.floats(-185.0, 185.0), separator).map(text),
        st.sampled_from(["0,0", "-0.0,-0.0", "90,180", "91,0", "0,181", "43.5,", "43.5;76"]),
        st.sampled_from(["43.5,76.1,0", "4" * 400 + ",1", "43.50000000000000000001,76.1"]),
    )


def place_names(known: Sequence[str]) -> st.SearchStrategy[str]:
    """Known places as a planner types them (case, accents, spaces, typos), coordinates, and
    unknown places."""
    known_list = list(known)
    typed = st.sampled_from(known_list).flatmap(
        lambda name: st.sampled_from(
            [name, name.upper(), f"  {name}  ", name.replace("a", "á"), name + "x", name[:3]]
        )
    )
    return st.one_of(st.sampled_from(known_list), typed, coordinates(), hostile_text())


@st.composite
def valid_shipment_kwargs(draw: st.DrawFn, known_places: Sequence[str]) -> dict[str, Any]:
    origin, destination = draw(st.permutations(list(known_places)))[:2]
    ready = draw(st.dates(date(2025, 1, 1), date(2030, 12, 31)))
    values: dict[str, Any] = {
        "origin": origin,
        "destination": destination,
        "cargo": draw(cargo()),
        "ready": draw(st.sampled_from([ready, ready.isoformat()])),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "due": st.integers(0, 90).map(lambda days: ready + timedelta(days=days)),
        "value_usd": st.floats(1.0, 1e7),
        "id": st.text(max_size=20),
        "priority": st.integers(1, 10),
        "avoid_countries": st.lists(st.sampled_from(["RU", "by", " KZ "]), max_size=2).map(tuple),
    }
    for name in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        values[name] = draw(optional[name])
    return values


def shipment_kwargs(known_places: Sequence[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for ``Shipment``: valid, or with a field or two hostile or missing."""
    hostile: dict[str, st.SearchStrategy[Any]] = {
        "origin": st.one_of(hostile_text(), junk(2)),
        "destination": st.one_of(place_names(known_places), hostile_text(), junk(2)),
        "cargo": st.one_of(junk(2), st.just({"teu": 1})),
        "ready": dates(),
        "due": st.one_of(dates(), st.sampled_from(["2000-01-01", "2025-01-01"])),
        "value_usd": bad_numbers(),
        "id": st.one_of(hostile_text(), junk(2)),
        "priority": st.one_of(bad_numbers(), st.sampled_from([0, 11, -1, 1.5])),
        "avoid_countries": st.one_of(
            st.lists(hostile_text(4), max_size=3).map(tuple),
            st.sampled_from([None, "KZ", (1,), (b"KZ",), ["RU", None], "RU;BY"]),
        ),
    }
    required = ("origin", "destination", "cargo")
    return corrupted(valid_shipment_kwargs(known_places), hostile, required=required)


# -- route options -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteOptions:
    """Options of one ``find_routes`` call, as generated."""

    objective: Any = "cost"
    alternatives: Any = 0
    pareto: bool = False
    avoid_countries: Any = ()
    avoid_nodes: Any = ()
    avoid_crossings: Any = ()
    avoid_modes: Any = ()
    modes: tuple[str, ...] | None = None
    max_transit_days: Any = None
    max_cost_usd: Any = None
    value_of_time_usd_per_day: Any = None
    carbon_price_usd_per_t: Any = 0.0


def route_options(
    places: Sequence[str], countries: Sequence[str], crossings: Sequence[str]
) -> st.SearchStrategy[RouteOptions]:
    """Options of a ``find_routes`` call: plausible, with one or two hostile (unknown places and
    modes, junk ids, lists of non-text, negative, zero, NaN and infinite budgets and prices,
    numbers of the wrong type ...)."""
    mode = st.sampled_from(["rail", "road", "sea", "ferry", "RAIL", " road "])
    bad_mode = st.sampled_from(["air", "", "🚀", "rail;road"])
    crossing = st.one_of(
        st.sampled_from(list(crossings)), st.sampled_from(list(crossings)).map(lambda c: c + ":rev")
    )
    country = st.sampled_from(list(countries))

    def several(item: st.SearchStrategy[str], most: int = 2) -> st.SearchStrategy[tuple[str, ...]]:
        return st.lists(item, max_size=most).map(tuple)

    valid = st.fixed_dictionaries(
        {},
        optional={
            "objective": st.sampled_from(OBJECTIVES),
            "alternatives": st.integers(0, 3),
            "pareto": st.booleans(),
            "avoid_countries": several(country, 1),
            "avoid_crossings": several(crossing, 1),
            "modes": st.one_of(st.none(), st.lists(mode, min_size=1, max_size=3).map(tuple)),
            "max_transit_days": st.floats(2.0, 60.0),
            "max_cost_usd": st.floats(500.0, 1e5),
            "value_of_time_usd_per_day": st.floats(0.0, 5_000.0),
            "carbon_price_usd_per_t": st.floats(0.0, 200.0),
        },
    )
    number = st.one_of(bad_numbers(), st.floats(0.0, 2.0), st.sampled_from([1e9, 1e12, 10_001]))
    not_text = st.lists(st.one_of(st.none(), st.integers(), st.binary(max_size=3)), min_size=1)
    hostile: dict[str, st.SearchStrategy[Any]] = {
        "objective": st.one_of(st.sampled_from(["COST", "fast", "", "cost "]), junk(2)),
        "alternatives": st.one_of(
            st.sampled_from([-1, 11, 10, -(10**20), 10**20, 2.5, "2", None, True]), junk(2)
        ),
        "avoid_countries": st.one_of(several(st.one_of(country, hostile_text(4)), 3), not_text),
        "avoid_nodes": st.one_of(several(st.one_of(place_names(places), hostile_text(12)))),
        "avoid_crossings": st.one_of(several(st.one_of(crossing, hostile_text(12))), not_text),
        "avoid_modes": st.one_of(several(st.one_of(mode, bad_mode)), st.just("rail,road")),
        "modes": st.lists(st.one_of(mode, bad_mode), max_size=3).map(tuple),
        "max_transit_days": number,
        "max_cost_usd": number,
        "value_of_time_usd_per_day": number,
        "carbon_price_usd_per_t": st.one_of(number, st.sampled_from([-0.01, 10_000.01])),
    }
    return corrupted(valid, hostile).map(lambda kwargs: RouteOptions(**kwargs))


# -- CSV files -------------------------------------------------------------------------------------

SHIPMENT_COLUMNS: tuple[str, ...] = REQUIRED + OPTIONAL
PIECE_COLUMNS = ("pieces", "length_m", "width_m", "height_m", "weight_t")


@st.composite
def valid_shipment_rows(draw: st.DrawFn, places: Sequence[str]) -> list[list[str]]:
    """A valid shipments table: header first, then rows with unique ids."""
    pieces = draw(st.booleans())
    cargo_columns = list(PIECE_COLUMNS) if pieces else ["teu", "weight_t"]
    optional = draw(st.lists(st.sampled_from(["due", "value_usd", "priority", "avoid_countries"])))
    header = draw(st.permutations([*REQUIRED, *cargo_columns, *dict.fromkeys(optional)]))
    rows = [list(header)]
    for index in range(draw(st.integers(1, 6))):
        origin, destination = draw(st.permutations(list(places)))[:2]
        ready = draw(st.dates(date(2025, 1, 1), date(2027, 12, 31)))
        cells = {
            "id": f"s{index}",
            "origin": origin,
            "destination": destination,
            "ready": ready.isoformat(),
            "due": (ready + timedelta(days=draw(st.integers(0, 60)))).isoformat(),
            "teu": f"{draw(st.floats(0.5, 60.0)):.2f}",
            "weight_t": f"{draw(st.floats(1.0, 20.0)):.1f}",
            "pieces": str(draw(st.integers(1, 4))),
            "length_m": f"{draw(st.floats(1.0, 40.0)):.1f}",
            "width_m": f"{draw(st.floats(1.0, 5.0)):.1f}",
            "height_m": f"{draw(st.floats(1.0, 5.0)):.1f}",
            "value_usd": str(draw(st.integers(1, 10**6))),
            "priority": str(draw(st.integers(1, 10))),
            "avoid_countries": draw(st.sampled_from(["", "RU", "ru;BY", "KZ, CN"])),
        }
        rows.append([cells[column] for column in header])
    return rows


def bad_cell() -> st.SearchStrategy[str]:
    """Text that most cells of a CSV table should not hold."""
    return st.one_of(
        hostile_text(),
        st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e400", "1_000", "١٢", "1,5", "0x10"]),
        st.sampled_from(["1.5", "two", "0", "11", "high", "2026-02-30", "2026-12-01T25:00"]),
        st.sampled_from(["9999-12-31T23:59-01:00", "1999-12-31", "Atlantis", "alpha", "XX;;"]),
        st.sampled_from(["91", "-181", "2025-01-01", "maybe", "1e308", "-0"]),
        st.integers(-BIG_INT, BIG_INT).map(str),
        st.sampled_from(["\x00", '"', '"unterminated', "a,b", "line\nbreak", "'quoted'"]),
    )


NOT_A_TABLE: tuple[tuple[str, ...], ...] = (
    (),
    ("",),
    ("\n",),
    (" , ,\n",),
    ("\ufeff\n",),
    ('"\n',),
    ("\x00\n",),
)


@st.composite
def broken_csv(
    draw: st.DrawFn, valid: st.SearchStrategy[list[list[str]]], columns: Sequence[str]
) -> list[str]:
    """The lines of a CSV file: a ``valid`` table (header first), or one broken in a few places
    (odd, missing, extra or repeated ``columns``, hostile cells, ragged, blank and repeated rows,
    no quoting), or no table at all (empty, a header only, NUL bytes)."""
    if draw(st.integers(0, 19)) == 0:
        return list(draw(st.sampled_from(NOT_A_TABLE)))
    rows = draw(valid)
    if draw(st.integers(0, 19)) == 0:
        rows = rows[:1]  # a header only
    for _ in range(draw(st.integers(0, 3))):
        header, data = rows[0], rows[1:]
        change = draw(st.integers(0, 9))
        row = draw(st.sampled_from(data)) if data else header
        column = draw(st.integers(0, max(len(row) - 1, 0)))
        if change <= 3 and row:
            row[column] = draw(bad_cell())
        elif change == 4 and row:
            del row[column:]  # ragged: too few cells
        elif change == 5:
            row.append(draw(hostile_text(8)))  # ragged: one too many
        elif change == 6:
            rows.insert(draw(st.integers(1, len(rows))), [""] * len(header))  # blank
        elif change == 7 and data:
            rows.append(list(draw(st.sampled_from(data))))  # a repeated row, so a repeated id
        elif change == 8:
            odd = ["ID", " id ", "\ufeffid", "colour", ""]
            header.append(draw(st.sampled_from([*columns, *odd])))
            for cells in data:
                cells.append(draw(st.sampled_from(["", "1", "x"])))
        elif header:  # a column left out
            for cells in rows:
                del cells[column : column + 1]
    buffer = io.StringIO()
    if draw(st.integers(0, 4)) > 0:
        csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    else:  # no quoting at all: commas, quotes and newlines in cells break the rows
        buffer.write("".join(",".join(cells) + "\n" for cells in rows))
    return buffer.getvalue().splitlines(keepends=True)


def csv_lines(rows: Sequence[Sequence[str]]) -> list[str]:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().splitlines(keepends=True)


def shipments_csv(places: Sequence[str], valid_share: int = 0) -> st.SearchStrategy[list[str]]:
    """The lines of a shipments file (``routing.shipments``), valid or broken; ``valid_share``
    in 10 are certainly valid."""
    valid = valid_shipment_rows(places)
    broken = broken_csv(valid, SHIPMENT_COLUMNS)
    if not valid_share:
        return broken
    return st.integers(0, 9).flatmap(
        lambda draw: valid.map(csv_lines) if draw < valid_share else broken
    )


DELIVERY_COLUMNS = ("id", "lat", "lon", "demand_t")
DELIVERY_OPTIONAL = ("service_hours", "window_start_h", "window_end_h", "oversize")


@st.composite
def valid_delivery_rows(draw: st.DrawFn) -> list[list[str]]:
    """A valid deliveries table (``routing.deliveries``): header first, unique ids."""
    optional = draw(st.lists(st.sampled_from(DELIVERY_OPTIONAL), unique=True))
    header = draw(st.permutations([*DELIVERY_COLUMNS, *optional]))
    rows = [list(header)]
    for index in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, 20))
        cells = {
            "id": f"d{index}",
            "lat": f"{draw(st.floats(43.0, 44.5)):.4f}",
            "lon": f"{draw(st.floats(76.0, 84.0)):.4f}",
            "demand_t": f"{draw(st.floats(0.1, 20.0)):.1f}",
            "service_hours": draw(st.sampled_from(["", "0.5", "2"])),
            "window_start_h": str(start),
            "window_end_h": str(start + draw(st.integers(1, 48))),
            "oversize": draw(st.sampled_from(["", "true", "no", "1"])),
        }
        rows.append([cells[column] for column in header])
    return rows


def deliveries_csv() -> st.SearchStrategy[list[str]]:
    """The lines of a deliveries file, valid or broken."""
    return broken_csv(valid_delivery_rows(), (*DELIVERY_COLUMNS, *DELIVERY_OPTIONAL))


# -- scenarios -----------------------------------------------------------------------------------

SCENARIO_SECTIONS = ("closures", "capacity", "dwell", "tariffs")


@st.composite
def scenarios(draw: st.DrawFn, ids: Mapping[str, Sequence[str]]) -> Any:
    """A scenario mapping, near-valid or not: ``ids`` maps crossing, node, link and service to
    known data-row ids, which unknown ids and hostile values are mixed with."""
    if draw(st.integers(0, 9)) == 0:
        return draw(junk())
    hostile = draw(st.integers(0, 2)) == 0

    def maybe(valid: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
        return draw(st.one_of(valid, bad) if hostile else valid)

    def target(kinds: Sequence[str]) -> dict[Any, Any]:
        kind = maybe(st.sampled_from(list(kinds)), st.sampled_from(["route", "port"]))
        entry: dict[Any, Any] = {
            kind: maybe(
                st.sampled_from(list(ids.get(kind, ())) or ["none"]),
                st.one_of(hostile_text(12), junk(2)),
            )
        }
        if hostile and draw(st.integers(0, 4)) == 0:
            entry[draw(st.sampled_from(list(kinds)))] = draw(hostile_text(8))
        return entry

    def entry(section: str) -> Any:
        if hostile and draw(st.integers(0, 9)) == 0:
            return draw(junk(3))
        if section == "closures":
            item = target(["crossing", "node", "link"])
            start = draw(st.dates(date(2026, 1, 1), date(2027, 12, 31)))
            end = start + timedelta(days=draw(st.integers(1, 30)))
            item["from"] = maybe(st.sampled_from([start, start.isoformat()]), dates())
            item["to"] = maybe(st.sampled_from([end, end.isoformat()]), dates())
        elif section == "dwell":
            item = target(["crossing"])
            item["add_hours"] = maybe(st.floats(-100.0, 500.0), bad_numbers())
        else:
            item = target(["crossing", "link", "service"])
            item["scale"] = maybe(st.floats(0.0, 3.0), bad_numbers())
        if hostile:
            for key in draw(st.lists(st.sampled_from(["from", "to", "scale", "add_hours"]))):
                item.pop(key, None)
        return item

    data: dict[Any, Any] = {}
    if draw(st.booleans()):
        data["name"] = maybe(st.text(max_size=20), st.one_of(hostile_text(), junk(2)))
    for section in draw(st.lists(st.sampled_from(SCENARIO_SECTIONS), max_size=4, unique=True)):
        if hostile and draw(st.integers(0, 9)) == 0:
            data[section] = draw(junk(3))
        else:
            data[section] = [entry(section) for _ in range(draw(st.integers(0, 3)))]
    if hostile and draw(st.integers(0, 4)) == 0:
        key = st.one_of(hostile_text(12), st.integers(-(2**64), 2**64), st.none())
        data[draw(key)] = draw(junk(2))
    return data


def scenario_file_text(data: Any, suffix: str) -> str:
    """A scenario as the file a planner would hand the CLI: JSON, or YAML (anything else)."""
    if suffix == ".json":
        return json.dumps(data, default=str)
    return yaml.safe_dump(json.loads(json.dumps(data, default=str)), allow_unicode=True)


# -- network packs -------------------------------------------------------------------------------

Pack = dict[str, list[list[str]] | bytes]
"""A pack in memory: file name to rows (header first), or to raw bytes written as they are."""


def read_pack_rows(directory: Path) -> dict[str, list[list[str]]]:
    return {
        path.name: list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        for path in sorted(directory.glob("*.csv"))
    }


def write_pack(pack: Pack, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in pack.items():
        if isinstance(content, bytes):
            (directory / name).write_bytes(content)
            continue
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(content)
        (directory / name).write_text(buffer.getvalue(), encoding="utf-8")


def _rows(pack: Pack, name: str) -> list[list[str]] | None:
    content = pack.get(name)
    return content if isinstance(content, list) else None


@dataclass(frozen=True)
class PackEdit:
    """One change to one file of a pack; indexes wrap around the file's size."""

    kind: str
    file: str
    row: int = 0
    column: int = 0
    other: int = 0
    value: str = ""
    raw: bytes = b""

    def apply(self, pack: Pack) -> None:
        if self.kind == "remove file":
            pack.pop(self.file, None)
            return
        if self.kind == "random bytes":
            pack[self.file] = self.raw
            return
        rows = _rows(pack, self.file)
        if rows is None:
            return
        if self.kind == "empty file":
            rows.clear()
            return
        if not rows:
            return
        row = rows[self.row % len(rows)]
        width = max(len(rows[0]), 1)
        column, other = self.column % width, self.other % width
        if self.kind == "set cell" and column < len(row):
            row[column] = self.value
        elif self.kind == "delete column":
            for cells in rows:
                del cells[column : column + 1]
        elif self.kind == "add column":
            rows[0].append(self.value)
            for cells in rows[1:]:
                cells.append("")
        elif self.kind == "swap columns":
            for cells in rows:
                if column < len(cells) and other < len(cells):
                    cells[column], cells[other] = cells[other], cells[column]
        elif self.kind == "swap cells" and column < len(row) and other < len(row):
            row[column], row[other] = row[other], row[column]
        elif self.kind == "duplicate row":
            rows.insert(self.row % len(rows), list(row))
        elif self.kind == "delete row":
            rows.remove(row)
        elif self.kind == "drop last cell" and row:
            row.pop()


PACK_FILES = (
    "nodes.csv",
    "links.csv",
    "crossings.csv",
    "services.csv",
    "emission_factors.csv",
    "oversize.csv",
    "parameters.csv",
)


def pack_cell() -> st.SearchStrategy[str]:
    """A cell value to plant in a pack: numbers of every size, ids, words, and hostile text."""
    return st.one_of(
        st.sampled_from(
            ["", "0", "-1", "1e-9", "1e300", "nan", "inf", "true", "yes", "1435", "1520", "daily"]
        ),
        st.sampled_from(["Mon", "Funday", "rail", "air", "KZ", "kz", "alpha", "gamma", "nowhere"]),
        st.sampled_from(["alpha;alpha", "alpha;gamma", "alpha;border-cn;border-kz;gamma;delta"]),
        st.floats().map(repr),
        st.integers(-(10**30), 10**30).map(str),
        hostile_text(),
    )


def pack_edits() -> st.SearchStrategy[list[PackEdit]]:
    """One to three changes of any kind, hostile cells included."""
    index = st.integers(0, 40)
    cell_kinds = st.sampled_from(
        ["set cell", "set cell", "set cell", "swap cells", "duplicate row", "delete row"]
    )
    table_kinds = st.sampled_from(
        ["delete column", "add column", "swap columns", "drop last cell", "empty file"]
    )
    edit = st.builds(
        PackEdit,
        kind=st.one_of(cell_kinds, table_kinds, st.sampled_from(["remove file", "random bytes"])),
        file=st.sampled_from(PACK_FILES),
        row=index,
        column=index,
        other=index,
        value=pack_cell(),
        raw=st.one_of(
            st.binary(max_size=200),
            st.sampled_from([b"\xff\xfe\x00", b"id\n\x80\x81", b"\x00" * 64, b'"' * 3]),
        ),
    )
    return st.lists(edit, min_size=1, max_size=3)


@dataclass(frozen=True)
class CellEdit:
    """One cell of a data row set by column name; the row index wraps around the data rows."""

    file: str
    column: str
    row: int
    value: str

    def apply(self, pack: Pack) -> None:
        rows = _rows(pack, self.file)
        if rows is None or len(rows) < 2 or self.column not in rows[0]:
            return
        rows[1 + self.row % (len(rows) - 1)][rows[0].index(self.column)] = self.value


def plausible_pack_edits(numeric: Mapping[str, Sequence[str]]) -> st.SearchStrategy[list[CellEdit]]:
    """Numeric cells set to odd but bounded figures (zero, tiny, huge, the loader's limits), so the
    pack often still loads and routes are searched on it. ``numeric`` maps a file to its numeric
    columns."""

    @st.composite
    def edit(draw: st.DrawFn) -> CellEdit:
        file = draw(st.sampled_from(sorted(numeric)))
        return CellEdit(
            file,
            draw(st.sampled_from(list(numeric[file]))),
            draw(st.integers(0, 20)),
            draw(
                st.one_of(
                    st.sampled_from(["0", "0.001", "0.5", "1", "24", "1000", "100000", ""]),
                    st.sampled_from(["1e-6", "1e4", "4e4", "1e5", "1e6", "1e7", "1e8"]),
                    st.floats(0.0, 1e5).map(lambda v: f"{v:.3f}"),
                )
            ),
        )

    return st.lists(edit(), min_size=1, max_size=3)
