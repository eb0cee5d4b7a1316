"""Shipments from CSV text, and plans as CSV text: validated once, errors named by line and column.

Columns: ``id, origin, destination`` and either ``teu`` (optional ``weight_t`` gross) or
``pieces, length_m, width_m, height_m, weight_t``; ``ready, due`` (YYYY-MM-DD); optional
``value_usd, priority, avoid_countries`` (``;``-separated: ISO alpha-2 or alpha-3 codes or
English names), ``split`` (true/false: the plan may send the shipment in lots). Comma- or
semicolon-separated files, with or without a byte-order mark.
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
from routing.plan import Plan, ShipmentResult
from routing.route import Route

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
    "split",
)
_TRUE = ("true", "yes", "1")
_FALSE = ("false", "no", "0", "")
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
    split_text = (row.get("split") or "").strip().lower()
    if split_text not in _TRUE + _FALSE:
        raise fail("split", f"'{split_text[:40]}' is not true or false")
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
            split=split_text in _TRUE,
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
    "origin",
    "destination",
    "cargo",
    "teu_equivalent",
    "ready",
    "due",
    "depart",
    "arrive",
    "late_days",
    "transit_days",
    "cost_usd",
    "co2e_kg",
    "distance_km",
    "countries",
    "modes",
    "crossings",
    "reason",
)


def cargo_text(cargo: Cargo) -> str:
    """A cargo in a few words: "4 TEU", "2 pieces 12x3x3 m, 40 t each"."""
    if cargo.pieces is None:
        weight = f", {cargo.weight_t:g} t" if cargo.weight_t else ""
        return f"{cargo.teu or 0:g} TEU{weight}"
    size = "x".join(f"{v:g}" for v in (cargo.length_m, cargo.width_m, cargo.height_m) if v)
    weight = f", {cargo.weight_t:g} t each" if cargo.weight_t else ""
    return f"{cargo.pieces} piece{'s' if cargo.pieces != 1 else ''} {size} m{weight}".strip()


def _day(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else ""


def plan_rows(plan: Plan, shipments: Iterable[Shipment] = ()) -> list[dict[str, Any]]:
    """One row per shipment, or per lot of a shipment the plan splits; with ``shipments`` (the
    plan's input) each row also says what was asked: origin, destination, cargo, ready and due,
    so that the row reads on its own."""
    asked = {s.id: s for s in shipments}
    rows = []
    for result in plan.shipments:
        lots: list[tuple[Route | None, float, float]] = [
            (lot.route, lot.teu, lot.late_days) for lot in result.lots
        ] or [(result.route, result.teu, result.late_days)]
        for lot_route, teu, late_days in lots:
            rows.append(_plan_row(result, lot_route, teu, late_days, asked.get(result.id)))
    return rows


def _plan_row(
    result: ShipmentResult,
    route_taken: Route | None,
    teu: float,
    late_days: float,
    shipment: Shipment | None = None,
) -> dict[str, Any]:
    route = route_taken.to_dict() if route_taken else None
    totals: dict[str, Any] = route["totals"] if route else {}
    status = result.status
    if result.lots:  # a lot is late or on time by its own arrival
        status = "late" if late_days > 1e-9 else "on_time"
    return {
        "id": result.id,
        "status": status,
        "origin": shipment.origin if shipment else (route or {}).get("origin", ""),
        "destination": shipment.destination if shipment else (route or {}).get("destination", ""),
        "cargo": cargo_text(shipment.cargo) if shipment else "",
        "teu_equivalent": round(teu, 3),
        "late_days": round(late_days, 3),
        "reason": result.reason or "",
        "ready": _day(shipment.ready) if shipment else (route["ready"] if route else ""),
        "due": _day(shipment.due) if shipment else "",
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


def plan_csv(plan: Plan, shipments: Iterable[Shipment] = ()) -> str:
    """One row per shipment (per lot of a split one), safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PLAN_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in plan_rows(plan, shipments):
        writer.writerow({k: spreadsheet_safe(v) for k, v in row.items()})
    return buffer.getvalue()
