"""docs/deploy: the process-compose example runs as written — every command it names, with its
environment, against a PostgreSQL database of the test's own."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from .conftest import PACKS
from .postgres import PostgresServer
from .test_service_e2e import free_port

EXAMPLE = Path(__file__).parent.parent / "docs" / "deploy" / "process-compose.yaml"


def environment(entries: list[str]) -> dict[str, str]:
    return dict(entry.split("=", 1) for entry in entries)


def test_the_example_names_real_commands_and_settings() -> None:
    from service.settings import Settings

    config = yaml.safe_load(EXAMPLE.read_text())
    processes = config["processes"]
    assert {"web-1", "web-2", "worker"} <= set(processes)
    names = {f"SILKROUTE_{name.upper()}" for name in Settings.model_fields}
    for process in processes.values():
        command = shlex.split(process["command"])
        assert command[0] == "silkroute" and command[1] in ("serve", "worker")
        for key in environment(config["environment"] + process.get("environment", [])):
            assert key in names, key
        probe = process.get("readiness_probe", {}).get("http_get")
        if probe is not None:
            assert probe["path"] == "/ready" and f"--port {probe['port']}" in process["command"]


@pytest.mark.slow
def test_the_example_runs(postgres_server: PostgresServer, tmp_path: Path) -> None:
    config = yaml.safe_load(EXAMPLE.read_text())
    url = postgres_server.database()
    script = Path(sys.executable).with_name("silkroute")
    running: list[subprocess.Popen[bytes]] = []
    ports: dict[str, int] = {}
    try:
        for name, process in config["processes"].items():
            env = os.environ | environment(config["environment"] + process.get("environment", []))
            env |= {
                "SILKROUTE_DATABASE_URL": url,
                "SILKROUTE_NETWORK_DIR": str(PACKS / "tiny"),
                "SILKROUTE_WORKERS": "1",  # one uvicorn process per instance: a small machine
            }
            command = shlex.split(process["command"])
            if "--port" in command:  # a free port here, not the example's fixed one
                ports[name] = free_port()
                command[command.index("--port") + 1] = str(ports[name])
                command[command.index("--host") + 1] = "127.0.0.1"
            for replica in range(process.get("replicas", 1)):
                with (tmp_path / f"{name}-{replica}.log").open("wb") as log:
                    running.append(
                        subprocess.Popen(
                            [str(script), *command[1:]],
                            env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=log,
                            cwd=tmp_path,
                        )
                    )
        urls = [f"http://127.0.0.1:{port}" for port in ports.values()]
        key = {"X-API-Key": environment(config["environment"])["SILKROUTE_API_KEY"]}
        for base in urls:  # both instances see both of the example's worker replicas
            wait(lambda base=base: httpx.get(f"{base}/ready", timeout=5).json(), "ready", 2)
        body = {
            "depot": "alpha",
            "trucks": 1,
            "payload_t": 20,
            "time_limit_s": 0.5,
            "deliveries": [{"id": "camp", "lat": 44.1, "lon": 84.1, "demand_t": 5}],
        }
        queued = httpx.post(f"{urls[0]}/v1/tours", json=body, headers=key, timeout=30)
        assert queued.status_code == 202, queued.text
        location = queued.headers["location"]
        done = wait(lambda: httpx.get(f"{urls[1]}{location}", timeout=5).json(), "done")
        assert done["tours"]["served"] == 1
    finally:
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert all(process.returncode in (0, -signal.SIGTERM) for process in running)


def wait(poll: Any, status: str, workers: int = 0, timeout_s: float = 120) -> dict[str, Any]:
    """``poll()`` until its answer has ``status`` (and lists ``workers`` workers, if given)."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = poll()
            if last.get("status") == status and len(last.get("workers", ())) >= workers:
                return dict(last)
        except (httpx.TransportError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"not {status} within {timeout_s} s: {last}")
