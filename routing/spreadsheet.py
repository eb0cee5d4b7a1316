"""Plans as Excel workbooks, and shipments from them (openpyxl).

A plan workbook has one sheet per table, each with a frozen, bold header row and a filter:
``shipments`` (one row per shipment, as the plan CSV), ``legs`` (each shipment's route leg by
leg), ``crossings by week`` (TEU through each crossing per ISO week against its capacity) and,
when a base plan is given, ``compare`` (per shipment: arrival and lateness, base and scenario).

Shipments are read from the sheet named ``shipments``, or the first sheet: its rows become CSV
lines for :func:`routing.shipments.read_shipments`, so the columns, checks and messages are the
CSV ones. Nothing here opens a file: callers pass binary streams.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from typing import IO, Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.worksheet import Worksheet

from graphs.errors import DataPackError
from graphs.network import Network
from routing.lastmile import place_name
from routing.model import Shipment
from routing.plan import Plan, plan_deltas
from routing.route import route_legs
from routing.shipments import PLAN_COLUMNS, plan_rows, spreadsheet_safe

LEG_COLUMNS = (
    "shipment",
    "leg",
    "kind",
    "mode",
    "from",
    "to",
    "crossing",
    "start",
    "end",
    "distance_km",
    "hours",
    "cost_usd",
    "co2e_kg",
    "note",
)
CROSSING_COLUMNS = ("crossing", "name", "week", "used_teu", "capacity_teu", "use")
COMPARE_COLUMNS = (
    "id",
    "base_status",
    "scenario_status",
    "base_arrive",
    "scenario_arrive",
    "arrival_delta_days",
    "base_late_days",
    "scenario_late_days",
    "lateness_delta_days",
    "base_crossings",
    "scenario_crossings",
)


_FORMATS = {"use": "0.0%", "start": "yyyy-mm-dd hh:mm", "end": "yyyy-mm-dd hh:mm"}


def shipment_lines(stream: IO[bytes], file: str) -> list[str]:
    """The shipments sheet of a workbook as CSV lines (header first)."""
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise DataPackError(f"is not an .xlsx workbook ({exc})", file=file) from None
    try:
        sheet = book["shipments"] if "shipments" in book.sheetnames else book.worksheets[0]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in sheet.iter_rows(values_only=True):
            writer.writerow([_cell_text(value) for value in row])
    finally:
        book.close()
    return buffer.getvalue().splitlines(keepends=True)


def _cell_text(value: Any) -> str:
    """A cell as the text a CSV would hold: dates as YYYY-MM-DD, 4.0 as 4, newlines as spaces."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def write_plan_xlsx(
    stream: IO[bytes],
    network: Network,
    plan: Plan,
    shipments: Sequence[Shipment] = (),
    base: Plan | None = None,
) -> None:
    """The plan as a workbook (see the module's docstring for its sheets)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "shipments"
    rows = plan_rows(plan, shipments)
    _table(sheet, PLAN_COLUMNS, ([row[c] for c in PLAN_COLUMNS] for row in rows))
    _table(book.create_sheet("legs"), LEG_COLUMNS, _leg_rows(network, plan))
    _table(book.create_sheet("crossings by week"), CROSSING_COLUMNS, _crossing_rows(network, plan))
    if base is not None:
        _table(book.create_sheet("compare"), COMPARE_COLUMNS, _compare_rows(base, plan))
    book.save(stream)


def _table(sheet: Worksheet, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    sheet.append(list(columns))
    widths = [len(c) for c in columns]
    for row in rows:
        cells = [spreadsheet_safe(value) for value in row]
        sheet.append(cells)
        widths = [max(w, min(len(str(v)), 48)) for w, v in zip(widths, cells, strict=True)]
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        style = _FORMATS.get(column)
        if style is not None:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = style
        sheet.column_dimensions[letter].width = widths[index - 1] + 2
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def _naive(moment: datetime) -> datetime:
    """Excel has no time zones: times are written in UTC, as the sheet's headers say."""
    return moment.replace(tzinfo=None)


def _leg_rows(network: Network, plan: Plan) -> Iterable[list[Any]]:
    for result in plan.shipments:
        if result.route is None:
            continue
        for number, leg in enumerate(route_legs(result.route.steps), start=1):
            first, last = leg[0], leg[-1]
            crossing = network.crossings[first.crossing] if first.crossing else None
            yield [
                result.id,
                number,
                first.kind,
                first.mode or "",
                place_name(network, first.from_node or first.node or ""),
                place_name(network, last.to_node or last.node or ""),
                crossing.base_id if crossing else "",
                _naive(first.start),
                _naive(last.end),
                round(sum(step.distance_km for step in leg), 1),
                round(sum(step.hours for step in leg), 2),
                round(sum(step.cost_usd for step in leg), 2),
                round(sum(step.co2e_kg for step in leg), 2),
                "; ".join(dict.fromkeys(step.note for step in leg if step.note)),
            ]


def _crossing_rows(network: Network, plan: Plan) -> Iterable[list[Any]]:
    used = [(resource, teu) for resource, teu in plan.resources if resource.id in network.crossings]
    for resource, teu in sorted(used, key=lambda item: (item[0].id, item[0].period)):
        crossing = network.crossings[resource.id]
        direction = "" if crossing.id == crossing.base_id else " (reverse)"
        yield [
            crossing.base_id,
            crossing.name + direction,
            resource.period,
            round(teu, 2),
            round(resource.capacity_teu, 1),
            round(teu / resource.capacity_teu, 4),
        ]


def _compare_rows(base: Plan, scenario: Plan) -> Iterable[list[Any]]:
    for change in plan_deltas(base, scenario)["shipments"]:
        was, now = change["base"], change["scenario"]
        yield [
            change["id"],
            was["status"],
            now["status"],
            was["arrive"] or "",
            now["arrive"] or "",
            change["arrival_delta_days"] if change["arrival_delta_days"] is not None else "",
            was["late_days"],
            now["late_days"],
            change["late_days_delta"],
            ";".join(was["crossings"]),
            ";".join(now["crossings"]),
        ]
