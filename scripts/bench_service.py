"""Route throughput of the HTTP service with 1 and 2 uvicorn workers, against /health; prints JSON.

Starts two ``silkroute serve`` processes on free loopback ports (bundled network, throw-away
job databases, no access log), one with ``SILKROUTE_WORKERS=1`` and one with 2, then loads them
in turn with N concurrent keep-alive clients, in interleaved one-phase slices (``--rounds``) so
that the ratios hold on a machine whose speed drifts:

- ``health``: ``GET /health``, the floor of what the stack costs per request;
- ``routes``: ``POST /v1/routes``, every query new (lane, ready date and TEU vary), so each one
  runs a route search.

The last line gives the ratios: each server's routes per second as a share of its own health
throughput, and the 2-worker server's routes per second over the 1-worker server's. The client
is a few lines of asyncio streams, so that its own cost stays small next to the server's.
Usage::

    python scripts/bench_service.py [--clients 16] [--seconds 2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

LANES = [
    ("Xi'an", "Tashkent"), ("Chongqing", "Almaty"), ("Chengdu", "Baku"), ("Zhengzhou", "Tbilisi"),
    ("Wuhan", "Samarkand"), ("Yiwu", "Bishkek"), ("Lanzhou", "Astana"), ("Urumqi", "Shymkent"),
    ("Kashgar", "Osh"), ("Xi'an", "Aktau"), ("Lianyungang", "Almaty"), ("Chongqing", "Tashkent"),
]  # fmt: skip


def distinct_queries() -> Iterator[bytes]:
    """Route bodies, none the same as another: the answer cache never helps."""
    first = date(2026, 12, 1)
    for n in itertools.count():
        origin, destination = LANES[n % len(LANES)]
        ready = first + timedelta(days=(n // len(LANES)) % 90)
        teu = 1 + n // (len(LANES) * 90)
        body = {"origin": origin, "destination": destination, "cargo": {"teu": teu},
                "ready": ready.isoformat()}  # fmt: skip
        yield json.dumps(body).encode()


def request(path: str, body: bytes | None = None) -> bytes:
    if body is None:
        return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
    ) + body


class Server:
    def __init__(self, workers: int, workdir: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port: int = sock.getsockname()[1]
        self.workers = workers
        env = os.environ | {
            "SILKROUTE_WORKERS": str(workers),
            "SILKROUTE_PORT": str(self.port),
            "SILKROUTE_ACCESS_LOG": "false",
            "SILKROUTE_DATABASE_PATH": str(workdir / f"jobs-{workers}.sqlite3"),
        }
        command = [sys.executable, "-c", "from service.cli import main; main()", "serve"]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    async def wait_ready(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                status, _ = await one(self.port, request("/health"))
                if status == 200:
                    return
            except OSError:
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the {self.workers}-worker server did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes) -> int:
    writer.write(data)
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return int(head[9:12])


async def one(port: int, data: bytes) -> tuple[int, float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        started = time.perf_counter()
        return await exchange(reader, writer, data), time.perf_counter() - started
    finally:
        writer.close()


async def load(port: int, bodies: Iterator[bytes] | None, clients: int, seconds: float) -> dict:
    """``clients`` connections asking one request after another for ``seconds``."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                data = request("/health") if bodies is None else request("/v1/routes", next(bodies))
                started = time.perf_counter()
                status = await exchange(reader, writer, data)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return {"requests": len(latencies), "seconds": time.perf_counter() - began,
            "latencies": latencies, "statuses": statuses}  # fmt: skip


def summary(slices: list[dict]) -> dict:
    latencies = sorted(x for s in slices for x in s["latencies"])
    statuses: dict[str, int] = {}
    for s in slices:
        for status, count in s["statuses"].items():
            statuses[str(status)] = statuses.get(str(status), 0) + count
    return {
        "req_per_s": round(sum(s["requests"] for s in slices) / sum(s["seconds"] for s in slices)),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1),
        "statuses": statuses,
    }


async def bench(options: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        servers = [Server(workers, Path(workdir)) for workers in (1, 2)]
        try:
            for server in servers:
                await server.wait_ready()
            bodies = distinct_queries()
            phases = [(server, phase) for server in servers for phase in ("health", "routes")]
            for server, phase in phases:  # warm-up: every worker loaded and answering
                await load(server.port, None if phase == "health" else bodies, options.clients, 1)
            slices: dict[tuple[int, str], list[dict]] = {(s.workers, p): [] for s, p in phases}
            for _ in range(options.rounds):
                for server, phase in phases:
                    measured = await load(
                        server.port,
                        None if phase == "health" else bodies,
                        options.clients,
                        options.seconds,
                    )
                    slices[server.workers, phase].append(measured)
        finally:
            for server in servers:
                server.stop()
    results = {key: summary(found) for key, found in slices.items()}
    for (workers, phase), result in results.items():
        print(json.dumps({"workers": workers, "phase": phase, "clients": options.clients} | result))
    routes = {w: results[w, "routes"]["req_per_s"] for w in (1, 2)}
    health = {w: results[w, "health"]["req_per_s"] for w in (1, 2)}
    ratios = {f"routes_share_of_health_{w}_worker": round(routes[w] / health[w], 3) for w in (1, 2)}
    ratios["routes_2_over_1_worker"] = round(routes[2] / routes[1], 3)
    print(json.dumps(ratios | {"cpus": os.cpu_count()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=2.0, help="per slice")
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
