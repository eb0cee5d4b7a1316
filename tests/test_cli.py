"""The silkroute command: exit codes, JSON identical to the HTTP answer, golden route table."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphs import load_network
from routing.cli import app
from routing.model import Cargo, Shipment
from routing.routes import find_routes, routes_answer

TINY = str(Path(__file__).parent / "packs" / "tiny")
GOLDEN = Path(__file__).parent / "golden"
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_route_table_matches_the_golden_file() -> None:
    code, out, _ = invoke(
        "route", "alpha", "delta", "--teu", "2", "--ready", "2026-12-05", "--alternatives", "1",
        "--network", TINY, "--wide",
    )  # fmt: skip
    assert code == 0
    golden = GOLDEN / "route-alpha-delta.txt"
    if os.environ.get("SILKROUTE_UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_compact_route_table_matches_the_golden_file_and_fits_80_columns() -> None:
    code, out, _ = invoke(
        "route", "alpha", "delta", "--teu", "2", "--ready", "2026-12-05", "--alternatives", "1",
        "--network", TINY,
    )  # fmt: skip
    assert code == 0
    golden = GOLDEN / "route-alpha-delta-compact.txt"
    if os.environ.get("SILKROUTE_UPDATE_GOLDEN"):
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")
    assert max(len(line) for line in out.splitlines()) <= 80
    # one line per leg: the train's two moves either side of the border are two legs, not three
    assert out.count("Border CN → Gamma Hub") == 1


def test_compact_table_of_a_long_route_fits_80_columns() -> None:
    code, out, _ = invoke(
        "route", "Xi'an", "Duisburg", "--teu", "2", "--ready", "2026-12-05", "--alternatives", "2",
    )  # fmt: skip
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert sum(line.startswith("Alternative") for line in lines) == 2
    assert ":rev" not in out


def test_route_json_is_the_http_answer() -> None:
    code, out, _ = invoke(
        "route", "Alfa", "Delta Wind Farm", "--teu", "2", "--ready", "2026-12-05", "--json",
        "--objective", "time", "--network", TINY,
    )  # fmt: skip
    assert code == 0
    net = load_network(TINY)
    ship = Shipment("Alfa", "Delta Wind Farm", Cargo(teu=2), ready="2026-12-05")
    assert json.loads(out) == routes_answer(lambda: find_routes(net, ship, "time"))


def test_no_route_exits_1_with_the_reason() -> None:
    code, out, err = invoke(
        "route", "alpha", "delta", "--max-days", "1", "--json", "--network", TINY,
    )  # fmt: skip
    assert code == 1
    assert json.loads(out)["infeasible_reason"].startswith("no route")
    assert "over the 1-day limit" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["route", "alpha", "mars"], "unknown place 'mars'"),
        (["route", "alpha", "delta", "--teu", "-3"], "cargo.teu"),
        (["route", "alpha", "delta", "--objective", "cheap"], "--objective"),
        (["route", "alpha", "delta", "--modes", "air"], "not a mode"),
        (["route", "alpha", "delta", "--ready", "someday"], "ready"),
        (["route", "alpha", "delta", "--avoid-crossing", "nowhere"], "not a crossing id"),
        (["route", "alpha", "delta", "--pieces", "1", "--length-m", "10"], "cargo.width_m"),
    ],
)
def test_bad_input_exits_2_and_names_it(args: list[str], words: str) -> None:
    code, _, err = invoke(*args, "--network", TINY)
    assert code == 2
    assert words in err
    assert "Traceback" not in err


def test_places_lists_matches_and_exits_1_on_none() -> None:
    code, out, _ = invoke("places", "border", "--network", TINY)
    assert code == 0 and "border-cn" in out and "border-kz" in out
    code, _, err = invoke("places", "zzzz", "--network", TINY)
    assert code == 1 and "no place matches" in err


def test_network_json_has_every_record_with_limits() -> None:
    code, out, _ = invoke("network", "--json", "--network", TINY)
    assert code == 0
    data = json.loads(out)
    assert len(data["nodes"]) == 5 and len(data["links"]) == 14
    link = next(k for k in data["links"] if k["id"] == "alpha-bcn-rail")
    assert link["max_length_m"] == 30 and link["gauge_mm"] == 1435
    crossing = next(c for c in data["crossings"] if c["id"] == "tiny-road")
    assert crossing["open_weekdays"] == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert crossing["capacity_teu_per_week"] == 300


def test_geojson_files_are_valid_feature_collections(tmp_path: Path) -> None:
    network_file, route_file = tmp_path / "net.geojson", tmp_path / "route.geojson"
    assert invoke("network", "--geojson", str(network_file), "--network", TINY)[0] == 0
    code, _, _ = invoke(
        "route", "alpha", "delta", "--geojson", str(route_file), "--network", TINY,
    )  # fmt: skip
    assert code == 0
    for path in (network_file, route_file):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["type"] == "FeatureCollection" and data["features"]
        for feature in data["features"]:
            geometry = feature["geometry"]
            assert geometry["type"] in ("Point", "LineString")
            points = (
                [geometry["coordinates"]]
                if geometry["type"] == "Point"
                else geometry["coordinates"]
            )
            for lon, lat in points:
                assert -180 <= lon <= 180 and -90 <= lat <= 90
                assert lon > 60  # lon/lat order: the tiny pack lies at 76-84 E, 43-44 N


def test_network_check_names_the_bad_cell(tiny_copy: Path) -> None:
    nodes = tiny_copy / "nodes.csv"
    nodes.write_text(
        nodes.read_text(encoding="utf-8").replace("44.0,84.0", "44.0,284.0"), encoding="utf-8"
    )
    code, _, err = invoke("network", "--check", str(tiny_copy))
    assert code == 2
    assert "nodes.csv, line 2, column 'lon'" in err
    assert invoke("network", "--check", TINY)[0] == 0


def test_disk_full_leaves_no_partial_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC while writing: exit 2 naming the file, the old file intact, no temporary left."""
    import errno

    out = tmp_path / "net.json"
    out.write_text("previous plan", encoding="utf-8")

    def full(_: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("routing.cli.os.fsync", full)
    code, _, err = invoke("network", "--geojson", str(out), "--network", TINY)
    assert code == 2
    assert "cannot write" in err and "No space left on device" in err
    assert out.read_text(encoding="utf-8") == "previous plan"
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]


def test_pareto_front_is_thinned_to_distinct_routes() -> None:
    net = load_network(None)
    ship = Shipment("Xi'an", "Tashkent", Cargo(teu=4), ready="2026-12-01")
    front = find_routes(net, ship, pareto=True)
    code, out, _ = invoke(
        "route", "Xi'an", "Tashkent", "--teu", "4", "--ready", "2026-12-01", "--pareto",
    )  # fmt: skip
    assert code == 0
    shown = [line for line in out.splitlines() if line.startswith("Pareto route")]
    assert 2 <= len(shown) < len(front)
    assert shown[0].startswith(f"Pareto route 1 of {len(shown)}")
    # the fastest and the cheapest of the front are always shown
    assert f"${front[0].cost_usd:,.0f}" in shown[0] and f"${front[-1].cost_usd:,.0f}" in shown[-1]
    code, out, _ = invoke(
        "route", "Xi'an", "Tashkent", "--teu", "4", "--ready", "2026-12-01", "--pareto",
        "--pareto-step", "0",
    )  # fmt: skip
    assert sum(line.startswith("Pareto route") for line in out.splitlines()) == len(front)


def test_thin_front_keeps_other_corridors_and_real_savings() -> None:
    from routing.routes import thin_front

    net = load_network(None)
    ship = Shipment("Xi'an", "Tashkent", Cargo(teu=4), ready="2026-12-01")
    front = find_routes(net, ship, pareto=True)
    thin = thin_front(front, 0.10)
    assert {r.signature for r in thin} == {r.signature for r in front}
    for before, after in itertools.pairwise(thin[:-1]):  # the cheapest is always kept
        assert after.signature != before.signature or after.cost_usd <= 0.9 * before.cost_usd
    assert thin_front(front, 0) == front
