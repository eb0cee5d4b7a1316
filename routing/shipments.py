"""Shipments from CSV text, and plans as CSV text: validated once, errors named by line and column.

Columns: ``id, origin, destination`` and either ``teu`` (optional ``weight_t`` gross) or
``pieces, length_m, width_m, height_m, weight_t``; ``ready, due`` (YYYY-MM-DD); optional
``value_usd, priority, avoid_countries`` (``;``-separated: ISO alpha-2 or alpha-3 codes or
English names). Comma- or semicolon-separated files, with or without a byte-order mark.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from graphs.errors import DataPackError, InputError, UnknownPlaceError
from graphs.network import Network
from graphs.textfile import Problems, csv_reader, delimiter_hint, number_hint
from routing.model import Cargo, Shipment
from routing.plan import Plan

MAX_SHIPMENT_ROWS = 20_000
REQUIRED = ("id", "origin", "destination", "ready")
OPTIONAL = (
    "teu",
    "pieces",
    "length_m",
    "width_m",
    "height_m",
    "weight_t",
    "due",
    "value_usd",
    "priority",
    "avoid_countries",
)
_NUMBERS = ("teu", "length_m", "width_m", "height_m", "weight_t", "value_usd")


def read_shipments(
    lines: Iterable[str], network: Network, file: str = "shipments.csv"
) -> list[Shipment]:
    """Parse and validate shipment rows; places must resolve in ``network``.

    The file may be comma- or semicolon-separated, with or without a byte-order mark. Every bad
    row is reported in one pass (up to 50 problems, each with line and column).
    """
    if isinstance(lines, str | bytes):
        raise InputError("give the file's lines (an open file or a list), not one string", "lines")
    reader = csv_reader(lines, REQUIRED + OPTIONAL)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise DataPackError(f"is not valid CSV ({exc})", file=file, line=1) from None
    if header is None or not any(cell.strip() for cell in header):
        raise DataPackError("is empty; expected a header row", file=file, line=1)
    header = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    for column in header:
        if header.count(column) > 1:
            raise DataPackError("is named twice in the header", file=file, line=1, column=column)
        if column not in REQUIRED + OPTIONAL:
            raise DataPackError(
                f"unknown column '{column}'{delimiter_hint(column)}",
                file=file,
                line=1,
                column=column,
            )
    for column in REQUIRED:
        if column not in header:
            raise DataPackError("is missing", file=file, line=1, column=column)
    if "teu" not in header and "pieces" not in header:
        raise DataPackError("needs a teu column or pieces columns", file=file, line=1, column="teu")
    shipments: list[Shipment] = []
    seen: dict[str, int] = {}
    problems = Problems()
    try:
        for count, cells in enumerate(reader, start=1):
            line = reader.line_num  # type: ignore[attr-defined]
            # Blank rows count too: a file of a million empty lines is refused, not read.
            if count > MAX_SHIPMENT_ROWS:
                problems.add(
                    DataPackError(
                        f"has more than {MAX_SHIPMENT_ROWS} shipments; split the file",
                        file=file,
                        line=line,
                    )
                )
                break
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                problems.add(
                    DataPackError(
                        f"has {len(cells)} cells but the header has {len(header)}",
                        file=file,
                        line=line,
                    )
                )
                continue
            row = dict(zip(header, (cell.strip() for cell in cells), strict=True))
            if row["id"] and row["id"] in seen:
                problems.add(
                    DataPackError(
                        f"duplicate id '{row['id']}' (first on line {seen[row['id']]})",
                        file=file,
                        line=line,
                        column="id",
                    )
                )
                continue
            try:
                shipment = _shipment(row, network, file, line)
            except DataPackError as exc:
                problems.add(exc)
                continue
            seen[shipment.id] = line
            shipments.append(shipment)
    except csv.Error as exc:
        problems.add(
            DataPackError(
                f"is not valid CSV ({exc})",
                file=file,
                line=reader.line_num,  # type: ignore[attr-defined]
            )
        )
    problems.check()
    if not shipments:
        raise DataPackError("has no shipment rows", file=file, line=2)
    return shipments


def _shipment(row: dict[str, str], network: Network, file: str, line: int) -> Shipment:
    def fail(column: str, message: str) -> DataPackError:
        return DataPackError(message, file=file, line=line, column=column)

    if not row["id"]:
        raise fail("id", "must not be empty")
    if len(row["id"]) > 100:
        raise fail("id", "is longer than 100 characters")
    numbers: dict[str, float | None] = {}
    for column in _NUMBERS:
        text = row.get(column, "")
        try:
            numbers[column] = float(text) if text else None
        except ValueError:
            raise fail(column, f"'{text[:40]}' is not a number{number_hint(text)}") from None
    pieces: int | None = None
    if row.get("pieces"):
        try:
            pieces = int(row["pieces"])
        except ValueError:
            raise fail("pieces", f"'{row['pieces'][:40]}' is not a whole number") from None
    priority = 1
    if row.get("priority"):
        try:
            priority = int(row["priority"])
        except ValueError:
            raise fail("priority", f"'{row['priority'][:40]}' is not a whole number") from None
    if numbers["teu"] is None and pieces is None:
        raise fail("teu", "no cargo: give teu (containers) or pieces with their dimensions")
    for column in ("origin", "destination"):
        try:
            network.resolve(row[column])
        except UnknownPlaceError as exc:
            raise fail(column, str(exc)) from None
    try:
        cargo = Cargo(
            teu=numbers["teu"] if pieces is None else None,
            pieces=pieces,
            weight_t=numbers["weight_t"],
            length_m=numbers["length_m"],
            width_m=numbers["width_m"],
            height_m=numbers["height_m"],
        )
        return Shipment(
            id=row["id"],
            origin=row["origin"],
            destination=row["destination"],
            cargo=cargo,
            ready=row["ready"],
            due=row.get("due") or None,
            value_usd=numbers["value_usd"],
            priority=priority,
            avoid_countries=tuple(
                c for c in row.get("avoid_countries", "").replace(",", ";").split(";") if c.strip()
            ),
        )
    except InputError as exc:
        column = (exc.field or "id").removeprefix("cargo.").split(".")[0]
        column = "teu" if column == "cargo" else column
        raise fail(column, exc.detail) from None


def spreadsheet_safe(value: Any) -> Any:
    """Prefix text a spreadsheet would run as a formula (= + - @, tab, CR) with a quote."""
    if isinstance(value, str) and value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


PLAN_COLUMNS = (
    "id",
    "status",
    "late_days",
    "reason",
    "ready",
    "depart",
    "arrive",
    "transit_days",
    "cost_usd",
    "co2e_kg",
    "distance_km",
    "countries",
    "modes",
    "crossings",
)


def plan_rows(plan: Plan) -> list[dict[str, Any]]:
    rows = []
    for result in plan.shipments:
        route = result.route.to_dict() if result.route else None
        totals: dict[str, Any] = route["totals"] if route else {}
        rows.append(
            {
                "id": result.id,
                "status": result.status,
                "late_days": round(result.late_days, 3),
                "reason": result.reason or "",
                "ready": route["ready"] if route else "",
                "depart": route["depart"] if route else "",
                "arrive": route["arrive"] if route else "",
                "transit_days": totals.get("transit_days", ""),
                "cost_usd": totals.get("cost_usd", ""),
                "co2e_kg": totals.get("co2e_kg", ""),
                "distance_km": totals.get("distance_km", ""),
                "countries": "-".join(route["countries"]) if route else "",
                "modes": ";".join(route["modes"]) if route else "",
                "crossings": ";".join(route["crossings"]) if route else "",
            }
        )
    return rows


def plan_csv(plan: Plan) -> str:
    """One row per shipment, safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PLAN_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in plan_rows(plan):
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return buffer.getvalue()
