"""The published transit times that modelled days are checked against are well-formed."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from graphs.records import MODES

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "transit_check", ROOT / "scripts" / "transit_check.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["transit_check"] = module
    spec.loader.exec_module(module)
    return module


ROWS = _script().rows()


def test_at_least_fifteen_relations() -> None:
    assert len(ROWS) >= 15


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['origin']}-{r['destination']}")
def test_each_relation_is_sourced_and_ordered(row: dict[str, str]) -> None:
    assert row["source"].strip() and row["kind"].strip()
    low, high = float(row["published_days_low"]), float(row["published_days_high"])
    assert 0 < low <= high < 120
    assert {m for m in row["modes"].split(",") if m} <= set(MODES)
    assert None not in row  # no stray comma split a cell
