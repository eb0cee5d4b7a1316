"""Hostile and careless input on the Python API and the CLI: every case ends in a clear error
(exit 2, ``InputError``, ``DataPackError``) or is read as meant; never a traceback, a hang or a
silently ignored request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from graphs import Network, load_network
from graphs.errors import DataPackError, DataPackErrors, InputError, UnknownPlaceError
from routing import cli
from routing.cli import app
from routing.deliveries import read_deliveries
from routing.model import Cargo, Shipment
from routing.options import RouteOptions
from routing.routes import Avoid, find_routes
from routing.shipments import read_shipments

TINY = Path(__file__).parent / "packs" / "tiny"
runner = CliRunner()

SHIPMENTS = (
    "id,origin,destination,teu,ready,due\n"
    "S1,alpha,delta,2,2026-12-01,2026-12-30\n"
    "S2,alpha,delta,4,2026-12-02,2026-12-30\n"
)
DELIVERIES = "id,lat,lon,demand_t\nD1,43.3,77.0,5\nD2,43.2,76.9,7\n"


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def run_main(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a child process (what a shell sees)."""
    return subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | {"COLUMNS": "200"},
    )


def xian_duisburg() -> Shipment:
    return Shipment(origin="Xi'an", destination="Duisburg", cargo=Cargo(teu=2), ready="2026-12-01")


# -- avoid codes -----------------------------------------------------------------------------


def test_the_unconstrained_route_to_duisburg_crosses_russia(bundled: Network) -> None:
    """What makes the next test meaningful: without avoiding, the best way runs through RU."""
    assert "RU" in find_routes(bundled, xian_duisburg(), objective="time")[0].countries


@pytest.mark.parametrize("spelling", ["RUS", "Russia", "ru", "Russian Federation", " rus "])
def test_countries_are_avoided_by_any_iso_code_or_english_name(
    bundled: Network, spelling: str
) -> None:
    by_code = find_routes(
        bundled, xian_duisburg(), objective="time", avoid=Avoid.of(countries=["RU"])
    )[0]
    routes = find_routes(
        bundled, xian_duisburg(), objective="time", avoid=Avoid.of(countries=[spelling])
    )
    assert "RU" not in routes[0].countries
    assert routes[0].signature == by_code.signature


def test_a_shipments_own_avoided_countries_accept_names_too() -> None:
    shipment = Shipment(
        origin="a", destination="b", cargo=Cargo(teu=1), avoid_countries=("Russia", "BLR")
    )
    assert shipment.avoid_countries == ("BY", "RU")


@pytest.mark.parametrize(
    ("avoid", "field", "closest"),
    [
        (Avoid.of(countries=["XX"]), "avoid.countries.0", "closest"),
        (Avoid.of(countries=["RU", "Rusia"]), "avoid.countries.1", "RU (Russian Federation)"),
        (Avoid.of(crossings=["khorgos-altynkol"]), "avoid.crossings.0", "khorgos-altynkol-rail"),
    ],
)
def test_unknown_avoid_codes_are_errors_naming_the_closest(
    bundled: Network, avoid: Avoid, field: str, closest: str
) -> None:
    with pytest.raises(InputError) as caught:
        find_routes(bundled, xian_duisburg(), avoid=avoid)
    assert caught.value.field == field
    assert closest in caught.value.detail


def test_unknown_avoided_nodes_and_modes_are_errors(bundled: Network) -> None:
    with pytest.raises(UnknownPlaceError) as place:
        find_routes(bundled, xian_duisburg(), avoid=Avoid.of(nodes=["Almatyy"]))
    assert any("Almaty" in name for name in place.value.suggestions)
    with pytest.raises(InputError, match="'air' is not a mode") as mode:
        find_routes(bundled, xian_duisburg(), avoid=Avoid.of(modes=["air"]))
    assert mode.value.field == "avoid.modes.0"


# -- one options model, validated at the edge ---------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"carbon_price_usd_per_t": None}, "carbon_price_usd_per_t"),
        ({"carbon_price_usd_per_t": "5"}, "carbon_price_usd_per_t"),
        ({"value_of_time_usd_per_day": float("nan")}, "value_of_time_usd_per_day"),
        ({"max_transit_days": True}, "max_transit_days"),
        ({"max_cost_usd": -1.0}, "max_cost_usd"),
        ({"alternatives": True}, "alternatives"),
        ({"alternatives": 2.0}, "alternatives"),
        ({"alternatives": 11}, "alternatives"),
        ({"pareto": 1}, "pareto"),
        ({"objective": "fastest"}, "objective"),
        ({"modes": ["rail", "air"]}, "modes.1"),
    ],
)
def test_python_options_are_checked_before_any_search(
    tiny: Network, options: dict[str, object], field: str
) -> None:
    shipment = Shipment(origin="alpha", destination="delta", cargo=Cargo(teu=1))
    for objective in ("cost", "time", "co2e", "balanced"):
        arguments = {"objective": objective} | options
        with pytest.raises(InputError) as caught:
            find_routes(tiny, shipment, **arguments)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_the_http_request_and_the_cli_use_the_one_options_model() -> None:
    from service.schemas import RouteRequest

    assert issubclass(RouteRequest, RouteOptions)
    http = RouteRequest.model_json_schema()["properties"]
    python = RouteOptions.model_json_schema()["properties"]
    for name, schema in python.items():
        assert http[name] == schema, name
    route = next(c for c in app.registered_commands if c.callback is cli.route)
    assert route.callback is not None
    defaults = route.callback.__defaults__ or ()
    assert RouteOptions().carbon_price_usd_per_t in defaults


# -- the CLI's error path -------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["RUS", "Russia", "ru"])
def test_cli_avoids_russia_by_any_name(spelling: str) -> None:
    code, out, _ = invoke(
        "route", "Xi'an", "Duisburg", "--ready", "2026-12-01", "--objective", "time",
        "--avoid-country", spelling,
        "--json",
    )  # fmt: skip
    assert code == 0
    answer = json.loads(out)
    assert answer["routes"] and "RU" not in answer["routes"][0]["countries"]


def test_cli_rejects_an_unknown_country_naming_it() -> None:
    code, out, err = invoke("route", "Xi'an", "Duisburg", "--avoid-country", "RU,XX")
    assert code == 2 and out == ""
    assert "--avoid-country: 'XX' is not a country" in err and "closest" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["route", "alpha", "delta", "--teu", "abc"], "Invalid value for '--teu'"),
        (["route", "alpha"], "Missing argument"),
        (["nosuch"], "No such command"),
        (["route", "alpha", "delta", "--network", str(TINY), "--alternatives", "11"],
         "--alternatives: must be at most 10, got 11"),
        (["route", "alpha", "delta", "--network", str(TINY), "--carbon-price-usd-per-t", "-1"],
         "--carbon-price-usd-per-t"),
        (["route", "alpha", "delta", "--network", str(TINY), "--objective", "fastest"],
         "--objective: 'fastest' is not one of"),
    ],
)  # fmt: skip
def test_every_cli_error_is_one_line_with_exit_2(args: list[str], expected: str) -> None:
    done = run_main(*args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in done.stderr


def test_a_bug_is_one_line_too_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(cli, "load_network", broken)
    monkeypatch.setattr(sys, "argv", ["silkroute", "places", "x"])
    monkeypatch.delenv("SILKROUTE_DEBUG", raising=False)
    with pytest.raises(SystemExit) as caught:
        cli.main()
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal error (RuntimeError: a bug over two lines)" in err


def test_no_route_is_exit_1_with_the_reason() -> None:
    done = run_main("route", "alpha", "delta", "--network", str(TINY), "--modes", "sea")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and done.stderr.strip()


# -- scenario files: aliases, nesting, names ----------------------------------------------------


ALIAS_BOMB = "\n".join(
    [f'a0: &a0 ["{"x" * 10}"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    + ["name: *a9", "closures: []"]
)


@pytest.mark.parametrize("where", ["name", "id"])
def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path: Path, where: str) -> None:
    text = ALIAS_BOMB
    if where == "id":
        text = text.replace(
            "name: *a9", "closures:\n  - {crossing: *a9, from: 2026-12-01, to: 2026-12-05}"
        )
        text = text.replace("closures: []", "")
    scenario = tmp_path / "bomb.yaml"
    scenario.write_text(text, encoding="utf-8")
    started = time.monotonic()
    code, _, err = invoke(
        "route", "alpha", "delta", "--network", str(TINY), "--scenario", str(scenario)
    )
    assert code == 2
    assert "bomb.yaml" in err and "YAML alias" in err
    assert time.monotonic() - started < 10  # (generous: a bomb that expanded would not end)


def nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_scenario_name_nested_300_levels_is_not_a_name(tmp_path: Path, suffix: str) -> None:
    scenario = tmp_path / f"deep{suffix}"
    data = {"name": nested(300), "closures": []}
    scenario.write_text(json.dumps(data), encoding="utf-8")  # JSON is YAML too
    done = run_main("route", "alpha", "delta", "--network", str(TINY), "--scenario", str(scenario))
    assert done.returncode == 2
    assert "a name is a string, not a list" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_scenario_id_must_be_a_string(tmp_path: Path) -> None:
    scenario = tmp_path / "ids.yaml"
    scenario.write_text(
        "closures:\n  - {crossing: [tiny-rail], from: 2026-12-01, to: 2026-12-05}\n",
        encoding="utf-8",
    )
    code, _, err = invoke(
        "route", "alpha", "delta", "--network", str(TINY), "--scenario", str(scenario)
    )
    assert code == 2 and "closures[0].crossing" in err and "is a string, not a list" in err


# -- network packs ------------------------------------------------------------------------------


def test_a_dangling_csv_link_in_a_pack_is_named(tiny_copy: Path) -> None:
    (tiny_copy / "services.csv").unlink()
    (tiny_copy / "services.csv").symlink_to(tiny_copy / "gone" / "services.csv")
    done = run_main("network", "--check", str(tiny_copy))
    assert done.returncode == 2
    assert "services.csv: is a symbolic link to" in done.stderr and "does not exist" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(DataPackError, match=r"services\.csv"):
        load_network(tiny_copy)


def test_a_dangling_required_file_is_named_too(tiny_copy: Path) -> None:
    (tiny_copy / "nodes.csv").unlink()
    (tiny_copy / "nodes.csv").symlink_to("/nonexistent/nodes.csv")
    code, _, err = invoke("network", "--check", str(tiny_copy))
    assert code == 2 and "nodes.csv: is a symbolic link to '/nonexistent/nodes.csv'" in err


def test_a_pack_with_byte_order_marks_and_semicolons_reads_as_the_plain_one(
    tiny_copy: Path, tiny: Network
) -> None:
    for path in tiny_copy.glob("*.csv"):
        text = path.read_text(encoding="utf-8")
        if path.name == "links.csv":
            rows = [line.split(",") for line in text.splitlines()]
            text = "\n".join(";".join(row) for row in rows) + "\n"
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    again = load_network(tiny_copy)
    assert again.stats() == tiny.stats()
    assert again.links == tiny.links and again.nodes == tiny.nodes


def test_every_bad_cell_of_a_pack_is_reported_in_one_pass(tiny_copy: Path) -> None:
    nodes = tiny_copy / "nodes.csv"
    lines = nodes.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    bad = []
    for i in (1, 2, 3):
        cells = lines[i].split(",")
        cells[header.index("lat")] = "north"
        cells[header.index("kind")] = "castle"
        bad.append(",".join(cells))
    nodes.write_text("\n".join([lines[0], *bad, *lines[4:]]) + "\n", encoding="utf-8")
    links = tiny_copy / "links.csv"
    rows = links.read_text(encoding="utf-8").splitlines()
    cells = rows[1].split(",")
    cells[header_index(rows[0], "speed_kmh")] = "fast"
    links.write_text("\n".join([rows[0], ",".join(cells), *rows[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(DataPackErrors) as caught:
        load_network(tiny_copy)
    found = {(e.file, e.line, e.column) for e in caught.value.errors}
    assert found == {
        *(("nodes.csv", line, column) for line in (2, 3, 4) for column in ("kind", "lat")),
        ("links.csv", 2, "speed_kmh"),
    }
    code, _, err = invoke("network", "--check", str(tiny_copy))
    assert code == 2 and len(err.strip().splitlines()) == 7
    assert all(line.startswith("error: ") for line in err.strip().splitlines())


def header_index(header: str, column: str) -> int:
    return header.split(",").index(column)


# -- shipments and deliveries CSV ---------------------------------------------------------------


def test_shipments_with_a_bom_or_semicolons_read_as_the_plain_file(tiny: Network) -> None:
    plain = read_shipments(SHIPMENTS.splitlines(keepends=True), tiny)
    bom = read_shipments(("\ufeff" + SHIPMENTS).splitlines(keepends=True), tiny)
    semicolons = read_shipments(SHIPMENTS.replace(",", ";").splitlines(keepends=True), tiny)
    assert plain == bom == semicolons


def test_deliveries_with_a_bom_or_semicolons_read_as_the_plain_file() -> None:
    plain = read_deliveries(DELIVERIES.splitlines(keepends=True))
    bom = read_deliveries(("\ufeff" + DELIVERIES).splitlines(keepends=True))
    semicolons = read_deliveries(DELIVERIES.replace(",", ";").splitlines(keepends=True))
    assert plain == bom == semicolons


def test_cli_tours_reads_a_file_with_a_bom(tmp_path: Path) -> None:
    plain, bom = tmp_path / "plain.csv", tmp_path / "bom.csv"
    plain.write_text(DELIVERIES, encoding="utf-8")
    bom.write_bytes(b"\xef\xbb\xbf" + DELIVERIES.encode("utf-8"))
    answers = []
    for path in (plain, bom):
        code, out, err = invoke(
            "tours", str(path), "--depot", "43.35,77.0", "--trucks", "1", "--payload-t", "20",
            "--json", "--network", str(TINY), "--time-limit", "1",
        )  # fmt: skip
        assert code == 0, err
        answer = json.loads(out)
        answer.pop("solve_seconds")
        answers.append(answer)
    assert answers[0] == answers[1]


def test_a_semicolon_header_is_read_as_one_and_its_errors_named(tiny: Network) -> None:
    text = "id;origin;destination;tonnes;ready\nS1;alpha;delta;2;2026-12-01\n"
    with pytest.raises(DataPackError) as caught:
        read_shipments(text.splitlines(keepends=True), tiny)
    assert caught.value.column == "tonnes"
    text = "ident;from;to;boxes\nS1;alpha;delta;2\n"  # no known column either way
    with pytest.raises(DataPackError) as caught:
        read_shipments(text.splitlines(keepends=True), tiny)
    assert "the file looks semicolon-separated" in str(caught.value)


def test_every_bad_shipment_row_is_reported_in_one_pass(tiny: Network, tmp_path: Path) -> None:
    text = (
        "id,origin,destination,teu,ready,due\n"
        "S1,alpha,delta,2,2026-12-01,2026-12-30\n"
        "S2,nowhere,delta,2,2026-12-01,2026-12-30\n"
        "S3,alpha,delta,,2026-12-01,2026-12-30\n"
        "S4,alpha,delta,2,2026-13-01,2026-12-30\n"
        "S1,alpha,delta,2,2026-12-01,2026-12-30\n"
        'S6,alpha,delta,"2,5",2026-12-01,2026-12-30\n'
    )
    with pytest.raises(DataPackErrors) as caught:
        read_shipments(text.splitlines(keepends=True), tiny)
    found = [(e.line, e.column) for e in caught.value.errors]
    assert found == [(3, "origin"), (4, "teu"), (5, "ready"), (6, "id"), (7, "teu")]
    messages = [e.detail for e in caught.value.errors]
    assert "no cargo" in messages[1] and "use '.' for decimals" in messages[4]
    path = tmp_path / "shipments.csv"
    path.write_text(text, encoding="utf-8")
    code, out, err = invoke("plan", str(path), "--network", str(TINY))
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 5 and all(line.startswith("error: shipments.csv, line ") for line in lines)


def test_a_shipment_without_cargo_is_an_error_naming_the_row(tiny: Network) -> None:
    text = "id,origin,destination,teu,pieces,ready\nS1,alpha,delta,,,2026-12-01\n"
    with pytest.raises(DataPackError) as caught:
        read_shipments(text.splitlines(keepends=True), tiny)
    assert (caught.value.line, caught.value.column) == (2, "teu")
    assert "no cargo" in caught.value.detail


def test_at_most_50_problems_are_reported(tiny: Network) -> None:
    rows = [f"S{i},alpha,delta,-1,2026-12-01" for i in range(200)]
    text = "id,origin,destination,teu,ready\n" + "\n".join(rows) + "\n"
    with pytest.raises(DataPackErrors) as caught:
        read_shipments(text.splitlines(keepends=True), tiny)
    assert len(caught.value.errors) == 50 and caught.value.truncated
    assert str(caught.value).splitlines()[-1].startswith("stopped after 50 problems")


# -- output paths, sizes, terminal escapes ------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "target", "message"),
    [
        ("-o", "missing-dir/plan.json", "directory"),
        ("-o", "existing-dir.json", "is a directory"),
        ("--report", "shipments.csv", "exists and is not a directory"),
        ("--report", "missing-dir/deeper/report", "does not exist"),
    ],
)
def test_plan_output_paths_are_checked_before_solving(
    tmp_path: Path, flag: str, target: str, message: str
) -> None:
    shipments = tmp_path / "shipments.csv"
    shipments.write_text(SHIPMENTS, encoding="utf-8")
    path = tmp_path / target
    (tmp_path / "existing-dir.json").mkdir()
    code, out, err = invoke("plan", str(shipments), flag, str(path), "--network", str(TINY))
    assert code == 2 and message in err and flag in err
    assert "plan " not in out  # nothing was solved


@pytest.mark.parametrize("flag", ["--geojson", "--plot"])
def test_route_output_paths_are_checked_before_routing(tmp_path: Path, flag: str) -> None:
    code, out, err = invoke(
        "route", "alpha", "delta", "--network", str(TINY), flag, str(tmp_path / "no" / "x.png")
    )
    assert code == 2 and out == "" and f"{flag}: cannot write" in err


def test_plan_of_dev_zero_is_refused_with_bounded_memory() -> None:
    started = time.monotonic()
    done = run_main("plan", "/dev/zero", "--network", str(TINY))
    assert done.returncode == 2
    assert "larger than the limit of 64 MB" in done.stderr and "Traceback" not in done.stderr
    assert time.monotonic() - started < 60


def test_a_2_gb_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as handle:  # sparse: no disk used
        handle.truncate(2 * 1024**3)
    for args in (["plan", str(huge)], ["tours", str(huge), "--depot", "alpha", "--trucks", "1",
                                        "--payload-t", "5"]):  # fmt: skip
        code, _, err = invoke(*args, "--network", str(TINY))
        assert code == 2 and "huge.csv: is 2,048.0 MB, larger than the limit of 64 MB" in err
    scenario = tmp_path / "huge.yaml"
    scenario.symlink_to(huge)
    code, _, err = invoke(
        "route", "alpha", "delta", "--network", str(TINY), "--scenario", str(scenario)
    )
    assert code == 2 and "larger than the limit" in err


ESCAPE = "\x1b[31m"


def test_terminal_escapes_in_ids_are_shown_escaped(tiny_copy: Path, tmp_path: Path) -> None:
    nodes = tiny_copy / "nodes.csv"
    nodes.write_text(
        nodes.read_text(encoding="utf-8").replace("Alpha City", f"Alpha{ESCAPE}City"),
        encoding="utf-8",
    )
    code, out, _ = invoke("places", "alpha", "--network", str(tiny_copy))
    assert code == 0 and ESCAPE not in out and "Alpha\\x1b[31mCity" in out
    code, out, _ = invoke("route", "alpha", "delta", "--network", str(tiny_copy))
    assert code == 0 and "\x1b" not in out and "\\x1b[31m" in out
    code, out, _ = invoke("network", "--json", "--network", str(tiny_copy))
    names = [node["name"] for node in json.loads(out)["nodes"]]
    assert f"Alpha{ESCAPE}City" in names  # JSON carries the text unchanged
    code, _, err = invoke("route", f"x{ESCAPE}y", "delta", "--network", str(tiny_copy))
    assert code == 2 and "\x1b" not in err and "x\\x1b[31my" in err
    deliveries = tmp_path / "drops.csv"
    deliveries.write_text(f"id,lat,lon,demand_t\nD{ESCAPE}1,43.3,77.0,5\n", encoding="utf-8")
    code, out, _ = invoke(
        "tours", str(deliveries), "--depot", "43.35,77.0", "--trucks", "1", "--payload-t", "20",
        "--network", str(TINY), "--time-limit", "1",
    )  # fmt: skip
    assert code == 0 and "\x1b" not in out and "D\\x1b[31m1" in out


def test_a_shipments_file_names_an_unknown_avoided_country(tiny: Network) -> None:
    text = (
        "id,origin,destination,teu,ready,avoid_countries\n"
        "S1,alpha,delta,2,2026-12-01,Russia;BLR\n"
        "S2,alpha,delta,2,2026-12-01,RU;XX\n"
    )
    with pytest.raises(DataPackError) as caught:
        read_shipments(text.splitlines(keepends=True), tiny)
    assert (caught.value.line, caught.value.column) == (3, "avoid_countries")
    assert "'XX' is not a country" in caught.value.detail
    (shipment,) = read_shipments(text.splitlines(keepends=True)[:2], tiny)
    assert shipment.avoid_countries == ("BY", "RU")
