"""Shared fixtures: named networks, each saying what it exercises."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.profiles  # noqa: F401  (registers and loads the hypothesis profile)
from graphs import Network, load_network

from .postgres import INSTALL_HINT, PostgresServer, postgres_bin

TESTS = Path(__file__).parent
PACKS = TESTS / "packs"


@pytest.fixture(scope="session")
def tiny() -> Network:
    """Five places, two countries: a 1435/1520 rail crossing open daily with a gauge change, a
    road crossing closed at weekends, a Monday block train, and a road-only wind-farm site."""
    return load_network(PACKS / "tiny")


@pytest.fixture(scope="session")
def bundled() -> Network:
    """The bundled New Silk Road pack as shipped."""
    return load_network()


@pytest.fixture()
def tiny_copy(tmp_path: Path) -> Path:
    """A writable copy of the tiny pack, for tests that break one cell of it."""
    target = tmp_path / "pack"
    target.mkdir()
    for source in (PACKS / "tiny").glob("*.csv"):
        (target / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    return target


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many input-fuzzing cases each surface tried and how they ended."""
    import sys

    fuzzing = sys.modules.get("tests.fuzz_strategies")
    if fuzzing is not None:
        fuzzing.report(terminalreporter)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test session's own (skipped, saying how to install it, where
    PostgreSQL is missing)."""
    if postgres_bin() is None:
        pytest.skip(INSTALL_HINT)
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def job_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty job database: an SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.database()
