"""`silkroute tours` and its files: truck types, multi-trip days, the PNG, the same answer as the
Python call, and bad input named by file, line and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphs import Network
from graphs.errors import DataPackError
from routing.cli import app
from routing.deliveries import read_delivery_table, read_trucks, tours_answer

DELIVERIES = "id,lat,lon,demand_t,service_hours,oversize,site,crane_slots_per_day\n"
# Three sites 20-40 km from Zarafshan's railhead; two pieces for one site with one crane slot.
ROWS = (
    "blade-1,41.70,64.40,40,1,true,wf-north,\n"
    "blade-2,41.70,64.40,40,1,true,wf-north,1\n"
    "cable,41.50,64.05,8,0.5,false,,\n"
    "steel,41.45,64.30,18,0.5,false,,\n"
)
TRUCKS = (
    "name,count,payload_t,oversize,speed_kph,escort_usd_per_km,fixed_cost_usd,max_trips\n"
    "flatbed,1,20,false,60,,150,2\n"
    "lowbed,1,60,true,40,2.5,400,2\n"
)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    drops, trucks = tmp_path / "drops.csv", tmp_path / "trucks.csv"
    drops.write_text(DELIVERIES + ROWS, encoding="utf-8")
    trucks.write_text(TRUCKS, encoding="utf-8")
    return drops, trucks


def test_cli_answers_as_python_does_with_trips_and_a_png(tmp_path: Path, bundled: Network) -> None:
    drops, trucks = _files(tmp_path)
    out, png = tmp_path / "tours.json", tmp_path / "tours.png"
    result = CliRunner().invoke(
        app,
        ["tours", str(drops), "--depot", "Zarafshan", "--trucks-csv", str(trucks),
         "--reload-hours", "1", "--time-limit", "30", "--iterations", "300", "-o", str(out),
         "--plot", str(png)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cli = json.loads(out.read_text())
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "great-circle x 1.3 detour" in cli["distances"]
    # One crane slot at wf-north: blade-2 waits for another day, and says so.
    assert [u["delivery"] for u in cli["unserved"]] == ["blade-2"]
    assert "1 crane slot(s) a day, taken by blade-1" in cli["unserved"][0]["reason"]
    on = {s["delivery"]: t["truck_type"] for t in cli["trucks"] for tr in t["trips"]
          for s in tr["stops"]}  # fmt: skip
    assert on["blade-1"] == "lowbed"
    assert "lowbed 1" in result.stdout and "trip 1" in result.stdout

    table = read_delivery_table((DELIVERIES + ROWS).splitlines(), "drops.csv")
    python = tours_answer(
        bundled, "Zarafshan", table.deliveries, truck_types=read_trucks(TRUCKS.splitlines()),
        reload_hours=1, crane_slots=table.crane_slots, time_limit_s=30, iterations=300,
    )  # fmt: skip
    for answer in (cli, python):
        answer.pop("solve_seconds")
    assert python == cli


def test_one_type_fleet_makes_several_trips(tmp_path: Path) -> None:
    drops = tmp_path / "drops.csv"
    drops.write_text(
        "id,lat,lon,demand_t\na,41.60,64.30,20\nb,41.50,64.20,20\nc,41.55,64.35,20\n",
        encoding="utf-8",
    )
    args = ["tours", str(drops), "--depot", "Zarafshan", "--trucks", "1", "--payload-t", "20",
            "--time-limit", "2", "--json"]  # fmt: skip
    one = CliRunner().invoke(app, args)
    assert one.exit_code == 0 and json.loads(one.stdout)["served"] == 1
    three = CliRunner().invoke(app, [*args, "--max-trips", "3"])
    data = json.loads(three.stdout)
    assert data["served"] == 3 and data["trucks_used"] == 1 and data["trips"] == 3


@pytest.mark.parametrize(
    ("trucks", "where"),
    [
        ("name,count,payload_t\nflatbed,two,20\n", "trucks.csv, line 2, column 'count'"),
        ("name,count,payload_t\nflatbed,1,-3\n", "trucks.csv, line 2, column 'payload_t'"),
        ("name,count,payload_t,oversize\nflatbed,1,20,perhaps\n", "column 'oversize'"),
        ("name,count,payload_t,colour\nflatbed,1,20,red\n", "unknown column 'colour'"),
        ("name,count,payload_t,move_start_h,move_end_h\nlow,1,20,9,6\n", "column 'move_end_h'"),
    ],
)
def test_bad_trucks_file_names_line_and_column(tmp_path: Path, trucks: str, where: str) -> None:
    drops, path = _files(tmp_path)
    path.write_text(trucks, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["tours", str(drops), "--depot", "Zarafshan", "--trucks-csv", str(path)]
    )
    assert result.exit_code == 2, result.output
    assert where in result.stderr


def test_fleet_options_are_checked(tmp_path: Path) -> None:
    drops, trucks = _files(tmp_path)
    neither = CliRunner().invoke(app, ["tours", str(drops), "--depot", "Zarafshan"])
    assert neither.exit_code == 2 and "--trucks-csv" in neither.stderr
    both = CliRunner().invoke(
        app,
        ["tours", str(drops), "--depot", "Zarafshan", "--trucks", "2", "--payload-t", "20",
         "--trucks-csv", str(trucks)],
    )  # fmt: skip
    assert both.exit_code == 2 and "one or the other" in both.stderr


def test_nothing_plannable_exits_1_with_the_reasons(tmp_path: Path) -> None:
    drops = tmp_path / "drops.csv"
    drops.write_text("id,lat,lon,demand_t\nstator,41.6,64.3,300\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["tours", str(drops), "--depot", "Zarafshan", "--trucks", "2", "--payload-t", "40"]
    )
    assert result.exit_code == 1
    assert "300 t exceeds every truck's payload" in result.stdout


def test_crane_slots_must_agree_per_site() -> None:
    rows = DELIVERIES + "a,41.7,64.4,4,1,false,s,1\nb,41.7,64.4,4,1,false,s,2\n"
    with pytest.raises(DataPackError) as caught:
        read_delivery_table(rows.splitlines(), "d.csv")
    assert (caught.value.line, caught.value.column) == (3, "crane_slots_per_day")
