"""The service as users run it: ``silkroute serve`` in its own process on a free loopback port,
spoken to over real HTTP: route budgets and connection limits, SIGTERM with several workers,
the job worker it starts, and killed with SIGKILL mid-plan and restarted on the same database."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.slow

KEY = "e2e-key"
# Five lanes the planner routes one by one (a few seconds), then one small shipment.
LONG_PLAN = {
    "shipments": [
        {"id": f"L{i}", "origin": origin, "destination": destination, "cargo": {"teu": 20},
         "ready": "2026-12-01", "due": "2027-01-15"}
        for i, (origin, destination) in enumerate(
            [("Xi'an", "Tashkent"), ("Chongqing", "Almaty"), ("Chengdu", "Baku"),
             ("Zhengzhou", "Tbilisi"), ("Wuhan", "Samarkand")]
        )
    ],
    "time_limit_s": 10,
}  # fmt: skip
SHORT_PLAN = {
    "shipments": [
        {"id": "S1", "origin": "Xi'an", "destination": "Almaty", "cargo": {"teu": 4},
         "ready": "2026-12-01"}
    ],
    "time_limit_s": 5,
}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    """``silkroute serve`` in a child process with its own settings and log file."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.workdir = workdir
        self.env = os.environ | {"SILKROUTE_DATABASE_PATH": str(workdir / "jobs.sqlite3")} | env
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.log = workdir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60) -> Server:
        self.port = free_port()
        script = Path(sys.executable).with_name("silkroute")
        command = (
            [str(script)]
            if script.exists()
            else [sys.executable, "-c", "from service.cli import main; main()"]
        )
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*command, "serve", "--port", str(self.port)],
                env=self.env,
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"server did not start: {self.log.read_text()[-2000:]}")

    def children(self, parent: int | None = None) -> list[int]:
        """Pids of the server's child processes (workers, the planner), from /proc."""
        assert self.process is not None
        parent = self.process.pid if parent is None else parent
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
        return found

    def group(self) -> list[int]:
        """Pids in the server's process group (itself, its workers, the solver), from /proc."""
        assert self.process is not None
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[2]) == self.process.pid:
                    found.append(int(entry.name))
        return found

    def workers(self) -> list[int]:
        """Pids of the uvicorn worker processes (started by multiprocessing's spawn)."""
        found = []
        for pid in self.children():
            with contextlib.suppress(OSError):  # (one that just exited)
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
        return found

    def descendants(self) -> list[int]:
        assert self.process is not None
        found, todo = [], [self.process.pid]
        while todo:
            children = self.children(todo.pop())
            found += children
            todo += children
        return found

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The bundled network behind an API key, on a free loopback port."""
    running = Server(
        tmp_path_factory.mktemp("e2e"), SILKROUTE_API_KEY=KEY, SILKROUTE_BODY_TIMEOUT_S="1"
    ).start()
    yield running
    running.stop()


def post(server: Server, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    headers = {"X-API-Key": KEY} | kwargs.pop("headers", {})
    return httpx.post(f"{server.url}{path}", json=body, headers=headers, timeout=60, **kwargs)


def job(server: Server, job_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(f"{server.url}/v1/plans/{job_id}", timeout=10).json()
    return answer


def wait_until(server: Server, job_id: str, statuses: set[str], timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = job(server, job_id)
        if current["status"] in statuses:
            return current
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not {statuses} within {timeout_s} s: {current}")


def test_binds_loopback_by_default(server: Server) -> None:
    assert f"Uvicorn running on http://127.0.0.1:{server.port}" in server.log.read_text()


def test_routes_places_and_errors_over_http(server: Server) -> None:
    health = httpx.get(f"{server.url}/health").json()
    assert health["status"] == "ok" and health["network"]["nodes"] > 100
    query = {"origin": "Xian", "destination": "Tashkent", "cargo": {"teu": 4},
             "ready": "2026-12-01", "alternatives": 1}  # fmt: skip
    answer = post(server, "/v1/routes", query).json()
    assert answer["infeasible_reason"] is None
    assert answer["routes"][0]["origin"] == "xian"
    assert answer["routes"][0]["destination"] == "tashkent"
    unknown = post(server, "/v1/routes", query | {"destination": "Tashkenq"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "destination"]
    assert unknown.json()["detail"][0]["suggestions"]
    places = httpx.get(f"{server.url}/v1/places", params={"q": "Horgos"}).json()
    assert places["places"][0]["country"] == "CN"
    assert httpx.get(f"{server.url}/").headers["content-type"].startswith("text/html")


def test_api_key_over_http(server: Server) -> None:
    query = {"origin": "Xian", "destination": "Almaty"}
    assert httpx.post(f"{server.url}/v1/routes", json=query).status_code == 401
    assert httpx.post(f"{server.url}/v1/plans", json=SHORT_PLAN).status_code == 401
    assert post(server, "/v1/routes", query, headers={"X-API-Key": "nope"}).status_code == 403


def test_streamed_body_over_the_limit_is_413(server: Server) -> None:
    def endless() -> Iterator[bytes]:
        for _ in range(10_000):  # 10 MB, chunked: no Content-Length to reject up front
            yield b" " * 1000

    response = httpx.post(
        f"{server.url}/v1/routes",
        content=endless(),
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    declared = httpx.post(
        f"{server.url}/v1/routes",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"X-API-Key": KEY, "Content-Type": "application/json"},
        timeout=30,
    )
    assert declared.status_code == 413
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_body_that_trickles_in_is_cut_off_with_408(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/routes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"X-API-Key: {KEY}\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"origin": '
        )
        started = time.monotonic()
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:100]
    assert time.monotonic() - started < 5
    assert httpx.get(f"{server.url}/health").status_code == 200


# -- budgets and connection limits ---------------------------------------------------------------

BUDGET_S = 2.0


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One worker, a one-second keep-alive and a two-second route budget."""
    running = Server(
        tmp_path_factory.mktemp("limits"),
        SILKROUTE_WORKERS="1",
        SILKROUTE_KEEP_ALIVE_S="1",
        SILKROUTE_ROUTE_TIMEOUT_S=str(BUDGET_S),
        SILKROUTE_ACCESS_LOG="false",
    ).start()
    yield running
    running.stop()


def exchange(sock: socket.socket, path: str, body: Any = None) -> tuple[int, dict[str, str]]:
    """One request on an open connection: the status and headers of the answer. (Raw sockets,
    opened beforehand: a client that costs next to no CPU, so the timings are the server's.)"""
    if body is None:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    else:
        data = json.dumps(body).encode()
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(65536)
        assert chunk, "connection closed"
        answer += chunk
    status, *lines = answer.split(b"\r\n\r\n")[0].decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status.split()[1]), headers


def test_searches_do_not_freeze_health_and_end_within_their_budget(limited: Server) -> None:
    """Twenty Pareto fronts across the continent at once (a few hundred ms each, seconds in
    all) on one worker: /health is answered meanwhile, well within a search's budget, and every
    search ends within its budget plus a second, 200 or 503 with Retry-After."""
    address = ("127.0.0.1", limited.port)
    socks = [socket.create_connection(address, timeout=30) for _ in range(21)]
    results: list[tuple[int, float, str | None]] = []

    def route(sock: socket.socket, teu: int) -> None:
        query = {"origin": "Shanghai", "destination": "Duisburg", "cargo": {"teu": teu},
                 "ready": "2026-12-01", "pareto": True}  # fmt: skip
        started = time.monotonic()
        status, headers = exchange(sock, "/v1/routes", query)
        results.append((status, time.monotonic() - started, headers.get("retry-after")))

    try:
        with ThreadPoolExecutor(20) as pool:
            for teu, sock in enumerate(socks[:20], start=1):
                pool.submit(route, sock, teu)
            time.sleep(0.5)  # the searches are under way
            started = time.monotonic()
            assert exchange(socks[20], "/health")[0] == 200
            health_s = time.monotonic() - started
    finally:
        for sock in socks:
            sock.close()
    assert len(results) == 20
    assert health_s < BUDGET_S, health_s
    assert {status for status, _, _ in results} <= {200, 503}
    assert any(status == 200 for status, _, _ in results)
    assert all(elapsed < BUDGET_S + 1 for _, elapsed, _ in results), results
    assert all(retry is not None for status, _, retry in results if status == 503)


def test_idle_connections_are_closed_and_new_clients_served(limited: Server) -> None:
    """600 connections that never send a byte (more than the 512 a worker takes at once) are
    closed after the keep-alive timeout, and then a new client is served."""
    idle = [socket.create_connection(("127.0.0.1", limited.port), timeout=10) for _ in range(600)]
    try:
        deadline = time.monotonic() + 20
        for sock in idle:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            assert sock.recv(1) == b""  # closed by the server
        assert httpx.get(f"{limited.url}/health", timeout=10).status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_oversized_request_head_is_431(limited: Server) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_500_000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", limited.port), timeout=10) as sock:
        with contextlib.suppress(OSError):  # closed before the whole head was sent
            sock.sendall(head)
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            answer = b""
    assert answer == b"" or answer.startswith(b"HTTP/1.1 431"), answer[:100]
    assert httpx.get(f"{limited.url}/health", timeout=10).status_code == 200


def test_request_head_that_trickles_in_is_cut_off(limited: Server) -> None:
    with socket.create_connection(("127.0.0.1", limited.port), timeout=10) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        closed = False
        for _ in range(50):  # a byte every 0.2 s: the head never completes
            try:
                sock.sendall(b"a")
                time.sleep(0.2)
            except OSError:
                closed = True
                break
            sock.setblocking(False)
            try:
                closed = sock.recv(1) == b""
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed = True
            sock.setblocking(True)
            if closed:
                break
    assert closed and time.monotonic() - started < 5


def test_sigterm_stops_the_server_and_its_workers(tmp_path: Path) -> None:
    server = Server(tmp_path, SILKROUTE_WORKERS="2").start()
    try:
        workers = server.descendants()
        assert len(server.workers()) == 2
        query = {"origin": "Xian", "destination": "Almaty", "ready": "2026-12-01"}
        assert httpx.post(f"{server.url}/v1/routes", json=query, timeout=30).status_code == 200
        assert server.process is not None
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(10)
        assert time.monotonic() - started < 10
        deadline = time.monotonic() + 2
        while any(Path(f"/proc/{pid}").exists() for pid in workers):
            assert time.monotonic() < deadline, workers
            time.sleep(0.05)
    finally:
        server.stop()


def test_a_worker_that_dies_is_replaced(tmp_path: Path) -> None:
    server = Server(tmp_path, SILKROUTE_WORKERS="2").start()
    try:
        assert server.process is not None
        workers = server.workers()
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while len(fresh := set(server.workers()) - set(workers)) < 1:
            assert time.monotonic() < deadline, "no worker started in place of the dead one"
            time.sleep(0.1)
        query = {"origin": "Xian", "destination": "Almaty", "ready": "2026-12-01"}
        for teu in range(1, 9):  # new connections: the kernel hands them to either worker
            answer = httpx.post(f"{server.url}/v1/routes", json=query | {"cargo": {"teu": teu}})
            assert answer.status_code == 200
        assert fresh and workers[1] in server.workers()
    finally:
        server.stop()


def test_plan_jobs_survive_sigkill_and_restart(tmp_path: Path) -> None:
    """Kill the server, its worker and the worker's solver at once (as a power cut would) while
    one job runs and another waits; restart on the same database: the running job's lease runs
    out and it is claimed again, both complete, nothing is lost or half-written."""
    first = Server(
        tmp_path, SILKROUTE_API_KEY=KEY, SILKROUTE_JOB_LEASE_S="2", SILKROUTE_WORKERS="1"
    ).start()
    try:
        long_job = post(first, "/v1/plans", LONG_PLAN)
        short_job = post(first, "/v1/plans", SHORT_PLAN)
        assert long_job.status_code == short_job.status_code == 202
        long_id, short_id = long_job.json()["id"], short_job.json()["id"]
        wait_until(first, long_id, {"running"}, timeout_s=60)
        assert job(first, short_id)["status"] == "queued"
        assert first.process is not None
        os.killpg(first.process.pid, signal.SIGKILL)  # the whole process group
        first.process.wait(10)
    finally:
        first.stop()

    db = sqlite3.connect(tmp_path / "jobs.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    states = dict(db.execute("SELECT id, status FROM jobs").fetchall())
    db.close()
    assert states == {long_id: "running", short_id: "queued"}

    second = Server(
        tmp_path, SILKROUTE_API_KEY=KEY, SILKROUTE_JOB_LEASE_S="2", SILKROUTE_WORKERS="1"
    ).start()
    try:
        finished_long = wait_until(second, long_id, {"done", "failed"}, timeout_s=120)
        finished_short = wait_until(second, short_id, {"done", "failed"}, timeout_s=60)
    finally:
        second.stop()
    assert finished_long["status"] == "done", finished_long["error"]
    assert finished_long["attempts"] == 2  # interrupted once, run again
    assert finished_long["plan"]["summary"]["shipments"] == 5
    assert finished_short["status"] == "done", finished_short["error"]
    assert finished_short["attempts"] == 1
    assert "lease expired; claimed again" in second.log.read_text()


def test_workers_go_with_a_killed_server(tmp_path: Path) -> None:
    """SIGKILL to the server alone: its job worker gives the running job back and exits, and
    the worker's solver process goes with it."""
    first = Server(tmp_path, SILKROUTE_API_KEY=KEY, SILKROUTE_WORKERS="1").start()
    try:
        job_id = post(first, "/v1/plans", LONG_PLAN).json()["id"]
        wait_until(first, job_id, {"running"}, timeout_s=60)
        group = first.group()
        assert len(group) >= 3  # server, worker, solver
        first.kill()
        deadline = time.monotonic() + 15
        while (left := [pid for pid in group if Path(f"/proc/{pid}/cmdline").exists()]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
        assert not left, left
    finally:
        first.stop()
    db = sqlite3.connect(tmp_path / "jobs.sqlite3")
    assert db.execute("SELECT status, attempts FROM jobs").fetchall() == [("queued", 0)]
    db.close()


def test_graceful_stop_puts_the_running_job_back(tmp_path: Path) -> None:
    first = Server(tmp_path, SILKROUTE_API_KEY=KEY, SILKROUTE_WORKERS="1").start()
    try:
        job_id = post(first, "/v1/plans", LONG_PLAN).json()["id"]
        wait_until(first, job_id, {"running"}, timeout_s=60)
    finally:
        started = time.monotonic()
        group = first.group()
        first.stop()  # SIGTERM: uvicorn shuts down, then the worker releases its job
        while any(Path(f"/proc/{pid}/cmdline").exists() for pid in group):
            assert time.monotonic() - started < 10, "SIGTERM is honoured within seconds"
            time.sleep(0.05)
    # uvicorn exits by re-raising the signal it handled
    assert first.process is not None and first.process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in first.log.read_text()
    db = sqlite3.connect(tmp_path / "jobs.sqlite3")
    assert db.execute("SELECT status, attempts FROM jobs").fetchall() == [("queued", 0)]
    db.close()


def tours_body(sites: int, time_limit_s: float) -> dict[str, Any]:
    return {
        "depot": "Zarafshan",
        "trucks": 4,
        "payload_t": 40,
        "time_limit_s": time_limit_s,
        "deliveries": [
            {"id": f"site-{i}", "lat": 41.2 + (i * 7 % 50) / 100, "lon": 64.0 + (i * 13 % 50) / 100,
             "demand_t": 1 + i % 4}
            for i in range(sites)
        ],
    }  # fmt: skip


def test_a_tours_job_leaves_the_server_free_and_stops_on_sigterm(tmp_path: Path) -> None:
    """300 sites and 20 s of solving run in the worker: /health answers throughout (the server
    once froze for the whole solve), and SIGTERM still ends everything within seconds."""
    first = Server(
        tmp_path, SILKROUTE_API_KEY=KEY, SILKROUTE_MAX_TOUR_DELIVERIES="300", SILKROUTE_WORKERS="1"
    ).start()
    try:
        queued = post(first, "/v1/tours", tours_body(300, 20))
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["id"]
        deadline = time.monotonic() + 60
        while httpx.get(f"{first.url}/v1/tours/{job_id}", timeout=10).json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        slowest = 0.0
        for _ in range(20):
            started = time.monotonic()
            assert httpx.get(f"{first.url}/health", timeout=10).status_code == 200
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.1)
        # generous for a shared machine; a frozen server takes the whole solve (seconds)
        assert slowest < 2.0, slowest
    finally:
        started = time.monotonic()
        group = first.group()
        first.stop()
        while any(Path(f"/proc/{pid}/cmdline").exists() for pid in group):
            assert time.monotonic() - started < 10, "SIGTERM is honoured within seconds"
            time.sleep(0.05)
    db = sqlite3.connect(tmp_path / "jobs.sqlite3")
    assert db.execute("SELECT status, attempts FROM jobs").fetchall() == [("queued", 0)]
    db.close()


def test_a_deleted_job_database_is_recreated(server: Server) -> None:
    """The job database removed under a running server: the next job is stored in a new one."""
    for path in server.workdir.glob("jobs.sqlite3*"):
        path.unlink()
    response = post(server, "/v1/plans", SHORT_PLAN)
    assert response.status_code == 202, response.text
    done = wait_until(server, response.json()["id"], {"done", "failed"}, timeout_s=120)
    assert done["status"] == "done", done["error"]
    # the worker is listed again at its next heartbeat (its row went with the old file)
    deadline = time.monotonic() + 30
    while (ready := httpx.get(f"{server.url}/ready", timeout=10).json())["status"] != "ready":
        assert ready["status"] == "no_workers" and time.monotonic() < deadline, ready
        time.sleep(0.2)
