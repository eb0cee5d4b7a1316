"""Plans in and out of Excel, plan CSV columns, plan GeoJSON, and what a scenario changes per
shipment (arrival and lateness) when Khorgos is closed."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from routing.cli import app

TINY = str(Path(__file__).parent / "packs" / "tiny")
runner = CliRunner()

HEADER = ["id", "origin", "destination", "teu", "ready", "due"]
ROWS = [
    ["s1", "alpha", "delta", 40, date(2026, 12, 5), date(2026, 12, 12)],
    ["s2", "Alfa", "gamma", 2.5, date(2026, 12, 6), date(2026, 12, 9)],
    ["s3", "alpha", "Delta Wind Farm", 60, date(2026, 12, 5), date(2026, 12, 8)],
]


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """The same shipments as CSV and as a workbook with real date and number cells."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HEADER)
    for row in ROWS:
        writer.writerow([v.isoformat() if isinstance(v, date) else v for v in row])
    csv_path = tmp_path / "ships.csv"
    csv_path.write_text(text.getvalue(), encoding="utf-8")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "shipments"
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append([datetime(v.year, v.month, v.day) if isinstance(v, date) else v for v in row])
    xlsx_path = tmp_path / "ships.xlsx"
    book.save(xlsx_path)
    return csv_path, xlsx_path


def test_xlsx_in_and_out_matches_the_csv(tmp_path: Path) -> None:
    csv_in, xlsx_in = write_inputs(tmp_path)
    code, _, err = invoke("plan", str(csv_in), "-o", str(tmp_path / "out.csv"), "--network", TINY)
    assert code == 0, err
    code, _, err = invoke(
        "plan", str(xlsx_in), "-o", str(tmp_path / "out.xlsx"), "--network", TINY
    )  # fmt: skip
    assert code == 0, err
    with (tmp_path / "out.csv").open(encoding="utf-8", newline="") as handle:
        from_csv = list(csv.reader(handle))
    book = load_workbook(tmp_path / "out.xlsx")
    assert book.sheetnames == ["shipments", "legs", "crossings by week"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.bold for cell in sheet[1])
    sheet = book["shipments"]
    from_xlsx = [
        ["" if v is None else f"{v:g}" if isinstance(v, float) else str(v) for v in row]
        for row in sheet.iter_rows(values_only=True)
    ]
    normalise = [[f"{float(v):g}" if _number(v) else v for v in row] for row in from_csv]
    assert from_xlsx == normalise
    header = from_csv[0]
    for column in ("origin", "destination", "cargo", "ready", "due", "arrive", "late_days"):
        assert column in header
    first = dict(zip(header, from_csv[1], strict=True))
    assert (first["origin"], first["cargo"], first["due"]) == ("alpha", "40 TEU", "2026-12-12")

    # Every shipment's legs add up to its cost; crossings by week hold TEU against capacity.
    costs = {row[0]: float(row[header.index("cost_usd")]) for row in from_csv[1:] if row[7]}
    legs = list(book["legs"].iter_rows(min_row=2, values_only=True))
    for shipment, cost in costs.items():
        assert abs(sum(float(r[11]) for r in legs if r[0] == shipment) - cost) < 0.05
    weeks = list(book["crossings by week"].iter_rows(min_row=2, values_only=True))
    assert weeks and all(0 < row[3] <= row[4] for row in weeks)
    assert {row[0] for row in weeks} <= {"tiny-rail", "tiny-road"}


def _number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def test_a_file_that_is_not_a_workbook_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "ships.xlsx"
    bad.write_text("id,origin\n", encoding="utf-8")
    code, _, err = invoke("plan", str(bad), "--network", TINY)
    assert code == 2
    assert "ships.xlsx" in err and "not an .xlsx workbook" in err


def test_plan_geojson_carries_the_shipment(tmp_path: Path) -> None:
    csv_in, _ = write_inputs(tmp_path)
    target = tmp_path / "plan.geojson"
    code, _, err = invoke("plan", str(csv_in), "--geojson", str(target), "--network", TINY)
    assert code == 0, err
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    shipments = {f["properties"]["shipment"] for f in data["features"]}
    assert shipments == {"s1", "s2", "s3"}
    lines = [f for f in data["features"] if f["geometry"]["type"] == "LineString"]
    assert all(len(f["geometry"]["coordinates"]) == 2 for f in lines)


def test_closing_khorgos_shows_each_shipments_arrival_and_lateness_delta(tmp_path: Path) -> None:
    ships = tmp_path / "ships.csv"
    ships.write_text(
        "id,origin,destination,teu,ready,due\n"
        "tashkent-4,Xi'an,Tashkent,4,2026-12-01,2026-12-12\n"
        "almaty-2,Chongqing,Almaty,2,2026-12-02,2026-12-10\n",
        encoding="utf-8",
    )
    scenario = tmp_path / "khorgos.yaml"
    scenario.write_text(
        "name: Khorgos closed\nclosures:\n"
        "  - {crossing: khorgos-altynkol-rail, from: 2026-11-25, to: 2026-12-20}\n"
        "  - {crossing: khorgos-nur-zholy-road, from: 2026-11-25, to: 2026-12-20}\n",
        encoding="utf-8",
    )
    out = tmp_path / "plan.json"
    code, stdout, err = invoke(
        "plan", str(ships), "--scenario", str(scenario), "--compare", "-o", str(out),
        "--time-limit", "10",
    )  # fmt: skip
    assert code == 0, err
    comparison = json.loads(out.read_text(encoding="utf-8"))["comparison"]
    by_id = {d["id"]: d for d in comparison["shipments"]}
    assert set(by_id) == {"tashkent-4", "almaty-2"}
    for delta in by_id.values():
        assert any(c.startswith("khorgos") for c in delta["base"]["crossings"])
        assert not any(c.startswith("khorgos") for c in delta["scenario"]["crossings"])
        base = datetime.fromisoformat(delta["base"]["arrive"])
        now = datetime.fromisoformat(delta["scenario"]["arrive"])
        assert abs((now - base).total_seconds() / 86400 - delta["arrival_delta_days"]) < 1e-3
    # The detour arrives later; the lateness delta is what the due dates make of it.
    assert by_id["tashkent-4"]["arrival_delta_days"] > 0.1
    slipped = by_id["almaty-2"]
    expected = slipped["scenario"]["late_days"] - slipped["base"]["late_days"]
    assert abs(slipped["late_days_delta"] - expected) < 0.002  # each side rounded to 0.001
    assert comparison["arrivals_later"] >= 1
    # The terminal shows each shipment with its arrival and lateness delta, within 80 columns.
    lines = stdout.splitlines()
    row = next(line for line in lines if line.strip().startswith("tashkent-4"))
    assert f"{by_id['tashkent-4']['arrival_delta_days']:+.1f} d" in row
    assert "-khorgos-altynkol-rail" in row
    assert max(len(line) for line in lines) <= 80
    assert ":rev" not in stdout


def test_a_bad_cell_in_a_workbook_is_named_by_row_and_column(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(["s1", "alpha", "delta", 4, datetime(2026, 12, 5), datetime(2026, 12, 12)])
    sheet.append(["s2", "alpha", "delta", "four", datetime(2026, 12, 5), datetime(2026, 12, 12)])
    path = tmp_path / "ships.xlsx"
    book.save(path)
    code, _, err = invoke("plan", str(path), "--network", TINY)
    assert code == 2
    assert "ships.xlsx" in err and "line 3" in err and "teu" in err and "'four'" in err


def test_compare_sheet_holds_each_shipments_deltas() -> None:
    from graphs import load_network
    from routing.model import Cargo, Shipment
    from routing.plan import plan, plan_deltas
    from routing.scenario import apply_scenario
    from routing.spreadsheet import COMPARE_COLUMNS, write_plan_xlsx

    tiny = load_network(TINY)
    lots = [
        Shipment("alpha", "delta", Cargo(teu=40), ready="2026-12-05", due="2026-12-12", id=f"s{i}")
        for i in range(4)
    ]
    base = plan(tiny, lots, time_limit_s=5)
    squeezed = apply_scenario(tiny, {"capacity": [{"crossing": "tiny-rail", "scale": 0.1}]})
    scenario = plan(squeezed, lots, time_limit_s=5)
    stream = io.BytesIO()
    write_plan_xlsx(stream, squeezed, scenario, lots, base=base)
    stream.seek(0)
    sheet = load_workbook(stream)["compare"]
    assert sheet.freeze_panes == "A2"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COMPARE_COLUMNS
    deltas = {d["id"]: d for d in plan_deltas(base, scenario)["shipments"]}
    assert [row[0] for row in rows[1:]] == [s.id for s in scenario.shipments]
    for row in rows[1:]:
        record = dict(zip(COMPARE_COLUMNS, row, strict=True))
        assert record["arrival_delta_days"] == deltas[record["id"]]["arrival_delta_days"]
        assert record["lateness_delta_days"] == deltas[record["id"]]["late_days_delta"]
    assert any(row[5] for row in rows[1:]), "squeezing the rail crossing moves some arrival"
