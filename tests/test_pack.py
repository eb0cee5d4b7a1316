"""Loading packs: the tiny pack loads; each class of bad pack is named by file, line and column."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from graphs import DataPackError, load_network
from graphs.pack import read_pack


def edit(pack: Path, file: str, row_id: str, column: str, value: str) -> int:
    """Set one cell of the row whose first cell is ``row_id``; return that row's line number."""
    path = pack / file
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    col = rows[0].index(column)
    for number, row in enumerate(rows):
        if row and row[0] == row_id:
            row[col] = value
            with path.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows(rows)
            return number + 1
    raise AssertionError(f"no row {row_id} in {file}")


def fails(pack: Path) -> DataPackError:
    with pytest.raises(DataPackError) as caught:
        read_pack(pack)
    return caught.value


def test_tiny_pack_loads_with_both_directions(tiny_copy: Path) -> None:
    net = load_network(tiny_copy)
    assert net.stats()["nodes"] == 5
    assert "alpha-bcn-rail:rev" in net.links
    assert net.crossing_on_link["bcn-bkz-rail"].gauge_change
    assert net.crossing_on_link["bcn-bkz-rail:rev"].id == "tiny-rail:rev"


@pytest.mark.parametrize(
    ("file", "row", "column", "value", "words"),
    [
        ("links.csv", "alpha-bcn-rail", "distance_km", "far", "not a number"),
        ("links.csv", "alpha-bcn-rail", "distance_km", "-5", "out of range"),
        ("links.csv", "alpha-bcn-rail", "distance_km", "100", "shorter than the great-circle"),
        ("links.csv", "alpha-bcn-rail", "to", "nowhere", "not in nodes.csv"),
        ("links.csv", "alpha-bcn-rail", "gauge_mm", "", "needs its gauge"),
        ("links.csv", "alpha-bcn-road", "gauge_mm", "1435", "only rail links"),
        ("links.csv", "alpha-bcn-rail", "mode", "air", "not one of"),
        ("links.csv", "alpha-bcn-rail", "speed_kmh", "900", "not a possible rail"),
        ("links.csv", "alpha-bcn-rail", "oneway", "maybe", "not true or false"),
        ("nodes.csv", "alpha", "lat", "95", "out of range"),
        ("nodes.csv", "alpha", "lon", "200", "out of range"),
        ("nodes.csv", "alpha", "country", "China", "alpha-2"),
        ("nodes.csv", "alpha", "modes", "rail;air", "not a mode"),
        ("nodes.csv", "gamma", "id", "alpha", "duplicate id"),
        ("nodes.csv", "gamma", "aliases", "Alfa", "also names alpha"),
        ("crossings.csv", "tiny-rail", "open_weekdays", "Mon;Funday", "not a weekday"),
        ("crossings.csv", "tiny-rail", "transhipment_hours", "", "transhipment cost and hours"),
        ("crossings.csv", "tiny-rail", "dwell_p90_hours", "1", "bad-day dwell"),
        ("crossings.csv", "tiny-road", "to", "gamma", "no road link"),
        ("services.csv", "alpha-gamma-train", "stops", "alpha;gamma", "no rail link"),
        ("services.csv", "alpha-gamma-train", "stops", "alpha", "at least two stops"),
        ("emission_factors.csv", "truck", "kg_co2e_per_tkm", "12", "out of range"),
    ],
)
def test_bad_cell_is_named(
    tiny_copy: Path, file: str, row: str, column: str, value: str, words: str
) -> None:
    line = edit(tiny_copy, file, row, column, value)
    error = fails(tiny_copy)
    assert words in str(error)
    assert error.file == file
    assert error.line == line
    assert error.column == column
    assert f"{file}, line {line}, column '{column}'" in str(error)


def test_gauge_break_without_crossing_is_named(tiny_copy: Path) -> None:
    edit(tiny_copy, "crossings.csv", "tiny-rail", "gauge_change", "false")
    error = fails(tiny_copy)
    assert error.file == "links.csv" and error.column == "gauge_mm"
    assert "no gauge-change crossing" in str(error)


def test_missing_file_is_named(tiny_copy: Path) -> None:
    (tiny_copy / "links.csv").unlink()
    assert fails(tiny_copy).file == "links.csv"


def test_missing_column_is_named(tiny_copy: Path) -> None:
    path = tiny_copy / "nodes.csv"
    text = path.read_text(encoding="utf-8").replace(",lift_capacity_t", "", 1)
    path.write_text(text, encoding="utf-8")
    error = fails(tiny_copy)
    assert (error.file, error.line, error.column) == ("nodes.csv", 1, "lift_capacity_t")


def test_unexpected_column_is_named(tiny_copy: Path) -> None:
    path = tiny_copy / "crossings.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [lines[0] + ",colour"] + [line + ",red" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    error = fails(tiny_copy)
    assert (error.file, error.line, error.column) == ("crossings.csv", 1, "colour")


def test_wrong_cell_count_is_named(tiny_copy: Path) -> None:
    path = tiny_copy / "links.csv"
    path.write_text(path.read_text(encoding="utf-8") + "short,row\n", encoding="utf-8")
    error = fails(tiny_copy)
    assert error.file == "links.csv" and error.line == 9 and "cells" in str(error)


def test_empty_file_is_named(tiny_copy: Path) -> None:
    (tiny_copy / "crossings.csv").write_text("", encoding="utf-8")
    error = fails(tiny_copy)
    assert error.file == "crossings.csv" and "empty" in str(error)


def test_binary_file_is_named(tiny_copy: Path) -> None:
    (tiny_copy / "nodes.csv").write_bytes(b"\xff\xfe\x00garbage\x81")
    error = fails(tiny_copy)
    assert error.file == "nodes.csv" and "UTF-8" in str(error)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(DataPackError, match="not a directory"):
        load_network(tmp_path / "missing")


def test_errors_are_value_errors(tiny_copy: Path) -> None:
    edit(tiny_copy, "nodes.csv", "alpha", "lat", "north")
    with pytest.raises(ValueError, match=r"nodes\.csv, line 2, column 'lat'"):
        load_network(tiny_copy)
