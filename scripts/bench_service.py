"""Loopback load benchmark of the HTTP service; prints JSON.

Starts ``silkroute serve`` on a free loopback port (bundled network, a throw-away job database,
no access log), then runs phases against that one server, each for a fixed time with N
concurrent keep-alive clients. The first three run in interleaved slices (``--rounds``), so that
their ratios hold on a machine whose speed drifts:

- ``health``: ``GET /health``, the floor of what the stack costs per request;
- ``routes_repeated``: ``POST /v1/routes`` cycling through a fixed set of lane queries, as a
  forwarder's system asks for the same quotes again (answers come from the service's cache);
- ``routes_distinct``: every ``POST /v1/routes`` a query not seen before (lane, ready date and
  TEU vary), so each one runs a route search;
- ``mixed``: new route queries, malformed bodies (one request in five) and a few plan jobs;
  afterwards every job is followed until it is done or failed (``lost`` counts the others).

Each interleaved phase also reports the CPU it cost per request, from ``/proc``: the server's
event loop (``server``), its route search workers (``workers``) and this client, and the share of
the machine's time other tenants stole meanwhile. On a machine whose cores the client shares with
the server, these say where a phase's throughput went.

The client is a minimal HTTP/1.1 client on an asyncio protocol, so that the client's own cost does
not swamp the server's on a small machine. Usage::

    python scripts/bench_service.py [--clients 32] [--seconds 5] [--rounds 6] [--warmup-seconds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

LANES = [
    ("Xi'an", "Tashkent"),
    ("Chongqing", "Almaty"),
    ("Chengdu", "Baku"),
    ("Zhengzhou", "Tbilisi"),
    ("Wuhan", "Samarkand"),
    ("Yiwu", "Bishkek"),
    ("Lanzhou", "Astana"),
    ("Urumqi", "Shymkent"),
    ("Kashgar", "Osh"),
    ("Xi'an", "Aktau"),
    ("Lianyungang", "Almaty"),
    ("Chongqing", "Tashkent"),
    ("Chengdu", "Navoiy"),
    ("Zhengzhou", "Astana"),
    ("Xi'an", "Bukhara"),
    ("Urumqi", "Almaty"),
]

Request = tuple[str, str, bytes]  # method, path, JSON body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(workdir: Path, port: int) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).with_name("silkroute")
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from routing.cli import main; main()"]
    )
    env = os.environ | {
        "SILKROUTE_DATABASE_PATH": str(workdir / "jobs.sqlite3"),
        "SILKROUTE_ACCESS_LOG": "false",
    }
    env.pop("SILKROUTE_API_KEY", None)
    log = (workdir / "server.log").open("wb")
    return subprocess.Popen(
        [*command, "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


class _Responses(asyncio.Protocol):
    """The responses on one connection, parsed as their bytes arrive (no stream readers: the
    client shares the machine's cores with the server, so it should cost as little as it can)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.lost = False

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._deliver()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server closed the connection"))

    def _deliver(self) -> None:
        """Settle the waiter once a whole response (head and Content-Length body) is in."""
        if self.waiter is None or self.waiter.done():
            return
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        status_line, *fields = bytes(buffer[:end]).decode("latin-1").split("\r\n")
        length, close = 0, False
        for line in fields:
            name, _, value = line.partition(":")
            name = name.lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value.strip().lower() == "close"
        if len(buffer) < end + 4 + length:
            return
        body = bytes(buffer[end + 4 : end + 4 + length])
        del buffer[: end + 4 + length]
        self.waiter.set_result((int(status_line.split()[1]), body, close))


class Connection:
    """One keep-alive HTTP/1.1 connection: send a request, read the whole response."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.responses: _Responses | None = None

    async def request(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        if self.transport is None or self.responses is None or self.responses.lost:
            self.transport, self.responses = await loop.create_connection(
                _Responses, "127.0.0.1", self.port
            )
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        waiter = self.responses.waiter = loop.create_future()
        self.transport.write(head.encode() + body)
        self.responses._deliver()  # (bytes left over from before, though there should be none)
        status, content, close = await waiter
        if close:
            await self.close()
        return status, content

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self.transport = self.responses = None


_CPU_PARTS = ("server", "workers", "client")


@dataclass
class Cpu:
    """CPU seconds used so far by the server's process, its child processes (the route search
    workers, a plan's solver) and this client, and the machine's ticks stolen by other tenants
    out of all ticks. Read from ``/proc``: zeros where there is none."""

    server: float = 0.0
    children: dict[int, float] = field(default_factory=dict)
    client: float = 0.0
    stolen: int = 0
    ticks: int = 0

    @classmethod
    def now(cls, server_pid: int) -> Cpu:
        reading = cls(client=sum(os.times()[:2]))
        proc = Path("/proc")
        if not (proc / "stat").exists():
            return reading
        ticks = [int(n) for n in (proc / "stat").read_text().split("\n", 1)[0].split()[1:]]
        reading.stolen, reading.ticks = (ticks[7] if len(ticks) > 7 else 0), sum(ticks)
        for stat in proc.glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # a process that ended meanwhile
            pid, parent = int(stat.parent.name), int(fields[1])
            used = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
            if pid == server_pid:
                reading.server = used
            elif parent == server_pid:
                reading.children[pid] = used
        return reading


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Tally:
    """What one phase measured; phases run in several slices add up."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_CPU_PARTS, 0.0))
    stolen: int = 0
    ticks: int = 0

    def add(self, other: Tally) -> None:
        self.latencies += other.latencies
        for code, n in other.statuses.items():
            self.statuses[code] = self.statuses.get(code, 0) + n
        self.errors += other.errors
        self.seconds += other.seconds
        for part in _CPU_PARTS:
            self.cpu[part] += other.cpu[part]
        self.stolen += other.stolen
        self.ticks += other.ticks

    def add_cpu(self, before: Cpu, after: Cpu) -> None:
        self.cpu["server"] += after.server - before.server
        self.cpu["workers"] += sum(
            used - before.children[pid] for pid, used in after.children.items()
            if pid in before.children
        )  # fmt: skip
        self.cpu["client"] += after.client - before.client
        self.stolen += after.stolen - before.stolen
        self.ticks += after.ticks - before.ticks

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def percentile(p: float) -> float:
            if not ordered:
                return float("nan")
            return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000, 2)

        return {
            "requests": len(ordered),
            "seconds": round(self.seconds, 2),
            "requests_per_s": round(len(ordered) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": percentile(50),
            "p90_ms": percentile(90),
            "p99_ms": percentile(99),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else None,
            "statuses": dict(self.statuses),
            "errors": self.errors,
            "server_errors_5xx": sum(
                n for code, n in self.statuses.items() if code.startswith("5")
            ),
            "cpu_us_per_request": {
                part: round(1e6 * used / len(ordered)) if ordered else None
                for part, used in self.cpu.items()
            },
            "cpu_stolen_pct": round(100 * self.stolen / self.ticks, 1) if self.ticks else None,
        }


async def run_phase(
    port: int,
    clients: int,
    seconds: float,
    source: Iterator[Request],
    on_answer: Callable[[str, int, bytes], None] | None = None,
) -> Tally:
    """``clients`` connections sending requests from ``source`` back to back for ``seconds``."""
    tally = Tally()
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        connection = Connection(port)
        try:
            while time.perf_counter() < deadline:
                method, path, body = next(source)
                started = time.perf_counter()
                try:
                    status, answer = await connection.request(method, path, body)
                except (ConnectionError, OSError, asyncio.IncompleteReadError, ValueError):
                    tally.errors += 1
                    await connection.close()
                    continue
                tally.latencies.append(time.perf_counter() - started)
                tally.statuses[str(status)] = tally.statuses.get(str(status), 0) + 1
                if on_answer is not None:
                    on_answer(path, status, answer)
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    tally.seconds = time.perf_counter() - started
    return tally


def health_requests() -> Iterator[Request]:
    return itertools.repeat(("GET", "/health", b""))


def route_body(origin: str, destination: str, teu: int, ready: str) -> bytes:
    body = {"origin": origin, "destination": destination, "cargo": {"teu": teu}, "ready": ready}
    return json.dumps(body).encode()


def repeated_route_requests() -> Iterator[Request]:
    bodies = [route_body(o, d, 4, "2026-12-01") for o, d in LANES]
    return itertools.cycle([("POST", "/v1/routes", body) for body in bodies])


def distinct_route_requests(start: int = 0) -> Iterator[Request]:
    """Never the same query twice: lane x ready day (a year) x TEU (1-40).

    The same bodies as ``route_body`` writes, put together from pieces made once: the client
    shares the cores with the server, and encoding each body afresh would cost it about as much
    as parsing the answer.
    """
    base = datetime(2026, 1, 1)
    days = [f"{base + timedelta(days=d):%Y-%m-%d}" for d in range(365)]
    lanes = [(json.dumps(origin), json.dumps(destination)) for origin, destination in LANES]
    for n in itertools.count(start):
        origin, destination = lanes[n % len(lanes)]
        day = days[(n // len(lanes)) % 365]
        teu = 1 + (n // (len(lanes) * 365)) % 40
        body = (
            f'{{"origin": {origin}, "destination": {destination}, "cargo": {{"teu": {teu}}}, '
            f'"ready": "{day}"}}'
        )
        yield "POST", "/v1/routes", body.encode()


MALFORMED = [
    b"",
    b"{",
    b"[]",
    b'{"origin": "Xian"}',
    b'{"origin": "Xian", "destination": "Atlantis"}',
    b'{"origin": "Xian", "destination": "Almaty", "cargo": {"teu": -4}}',
    b'{"origin": "Xian", "destination": "Almaty", "cargo": {"teu": NaN}}',
    b'{"origin": "Xian", "destination": "Almaty", "objective": "teleport"}',
    b'{"origin": "' + b"x" * 5000 + b'", "destination": "Almaty"}',
    b'{"shipments": ' + b"[" * 5000,
]
SMALL_PLAN = {
    "shipments": [
        {"id": "M1", "origin": "Xi'an", "destination": "Almaty", "cargo": {"teu": 10},
         "ready": "2026-12-01", "due": "2026-12-30"},
        {"id": "M2", "origin": "Chongqing", "destination": "Almaty", "cargo": {"teu": 6},
         "ready": "2026-12-02"},
    ],
    "time_limit_s": 2,
}  # fmt: skip


def mixed_requests(max_plans: int) -> Callable[[], Iterator[Request]]:
    """Route queries never seen before, malformed bodies, and now and then a plan job."""

    def requests() -> Iterator[Request]:
        routes = distinct_route_requests(start=len(LANES) * 365 * 20)  # TEU 21 up: unseen
        plans = 0
        for n in itertools.count():
            if n % 40 == 39 and plans < max_plans:
                plans += 1
                yield "POST", "/v1/plans", json.dumps(SMALL_PLAN).encode()
            elif n % 5 == 4:
                body = MALFORMED[(n // 5) % len(MALFORMED)]
                path = "/v1/plans" if body.startswith(b'{"shipments') else "/v1/routes"
                yield "POST", path, body
            else:
                yield next(routes)

    return requests


async def follow_jobs(port: int, ids: list[str], timeout_s: float) -> dict[str, Any]:
    """Poll every submitted job until it is done or failed: a job never seen again is lost."""
    connection = Connection(port)
    final: dict[str, str] = {}
    started = time.perf_counter()
    try:
        while len(final) < len(ids) and time.perf_counter() - started < timeout_s:
            for job_id in ids:
                if job_id in final:
                    continue
                status, answer = await connection.request("GET", f"/v1/plans/{job_id}", b"")
                state = json.loads(answer)["status"] if status == 200 else f"http {status}"
                if state in ("done", "failed") or state.startswith("http"):
                    final[job_id] = state
            await asyncio.sleep(0.5)
    finally:
        await connection.close()
    counts: dict[str, int] = {}
    for state in final.values():
        counts[state] = counts.get(state, 0) + 1
    return {
        "submitted": len(ids),
        "finished": counts,
        "lost": len(ids) - counts.get("done", 0) - counts.get("failed", 0),
        "seconds_to_drain": round(time.perf_counter() - started, 1),
    }


async def mixed(port: int, server_pid: int, clients: int, seconds: float) -> dict[str, Any]:
    ids: list[str] = []
    kinds: dict[str, int] = {}

    def collect(path: str, status: int, answer: bytes) -> None:
        key = f"{path} {status}"
        kinds[key] = kinds.get(key, 0) + 1
        if path == "/v1/plans" and status == 202:
            ids.append(json.loads(answer)["id"])

    requests = mixed_requests(max_plans=10)()
    before = Cpu.now(server_pid)
    tally = await run_phase(port, clients, seconds, requests, collect)
    tally.add_cpu(before, Cpu.now(server_pid))
    result = tally.summary()
    result["by_path_and_status"] = dict(sorted(kinds.items()))
    result["plan_jobs"] = await follow_jobs(port, ids, timeout_s=180)
    return result


async def bench(
    port: int, server_pid: int, clients: int, seconds: float, warmup: float, rounds: int
) -> dict[str, Any]:
    """Health, repeated and distinct routes in ``rounds`` interleaved slices, then mixed.

    Interleaving puts each phase's slices side by side in time, so that a machine whose speed
    drifts (other tenants, CPU steal) shifts all three alike and their ratio holds.
    """
    sources: dict[str, Iterator[Request]] = {
        "health": health_requests(),
        "routes_repeated": repeated_route_requests(),
        "routes_distinct": distinct_route_requests(),
    }
    await run_phase(port, clients, warmup, health_requests())
    await run_phase(port, 4, warmup, repeated_route_requests())  # fill the cache for these lanes
    # start the search workers and warm their caches on queries the measured phase never asks
    await run_phase(port, clients, warmup, distinct_route_requests(start=10**7))
    tallies = {name: Tally() for name in sources}
    shares: dict[str, list[float]] = {"repeated": [], "distinct": []}  # one per round
    for _ in range(rounds):
        rates: dict[str, float] = {}
        for name, source in sources.items():
            before = Cpu.now(server_pid)
            tally = await run_phase(port, clients, seconds / rounds, source)
            tally.add_cpu(before, Cpu.now(server_pid))
            tallies[name].add(tally)
            rates[name] = len(tally.latencies) / tally.seconds if tally.seconds else 0.0
        for kind in shares:
            shares[kind].append(rates[f"routes_{kind}"] / (rates["health"] or 1.0))
    results: dict[str, Any] = {name: tally.summary() for name, tally in tallies.items()}
    results["mixed"] = await mixed(port, server_pid, clients, seconds)
    health_rps = results["health"]["requests_per_s"] or 1.0
    results["routes_share_of_health_throughput"] = {
        "repeated": round(results["routes_repeated"]["requests_per_s"] / health_rps, 3),
        "distinct": round(results["routes_distinct"]["requests_per_s"] / health_rps, 3),
        # Round by round: a burst of stolen time that hits one phase's slice more than the
        # others' moves that round's share; the median of the rounds is not moved by a few.
        "by_round": {
            kind: {
                "median": round(statistics.median(values), 3),
                "min": round(min(values), 3),
                "max": round(max(values), 3),
            }
            for kind, values in shares.items()
        },
    }
    return results


def wait_for(port: int, process: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0, help="per phase")
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument(
        "--rounds", type=int, default=6, help="interleaved slices of each measured phase"
    )
    args = parser.parse_args()
    if not (1 <= args.clients <= 1024 and 0 < args.seconds <= 600 and 1 <= args.rounds <= 100):
        parser.error("--clients 1-1024, --seconds up to 600, --rounds 1-100")

    with tempfile.TemporaryDirectory(prefix="silkroute-bench-") as tmp:
        port = free_port()
        process = start_server(Path(tmp), port)
        try:
            wait_for(port, process)
            results = asyncio.run(
                bench(
                    port, process.pid, args.clients, args.seconds, args.warmup_seconds, args.rounds
                )
            )
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    report = {
        "benchmark": "service loopback load",
        "clients": args.clients,
        "seconds_per_phase": args.seconds,
        "rounds": args.rounds,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "server": "silkroute serve (uvicorn, one event loop, "
        f"{os.environ.get('SILKROUTE_ROUTE_WORKERS', 'default')} route search workers, "
        "bundled network, access log off)",
        **results,
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
