"""Job store benchmark: jobs per minute with 1, 2 and 4 ``silkroute worker`` processes on SQLite
and on PostgreSQL, and the time to GET a finished 2,000-shipment plan.

    python scripts/bench_jobs.py [--jobs 120] [--workers 1 2 4] [--get-shipments 2000]

Throughput: for each database and worker count, a fresh database; the workers are started and
registered first (start-up is not counted), then ``--jobs`` small tours jobs (3 sites, a 0.1 s
solver limit: the real solver, mostly job-handling overhead) are queued at once, and the clock
runs from the first submission to the last result written. PostgreSQL is a server of the run's
own (Debian's package, default durability: fsync on), SQLite the default file (synchronous=FULL).

GET: a real plan of ``--get-shipments`` generated shipments (scripts/bench_plan.py's mix) is
stored as a finished job; ``GET /v1/plans/{id}`` is timed in-process (the ASGI app, no socket)
against re-parsing and re-encoding the same result as the service did before.

Prints one JSON object per measurement. Needs PostgreSQL installed for the PostgreSQL rows
(``apt-get install -y postgresql``); without it those rows are skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service.jobs import JobStore, database_url  # noqa: E402
from tests.postgres import INSTALL_HINT, PostgresServer, postgres_bin  # noqa: E402

TINY = ROOT / "tests" / "packs" / "tiny"


def tours_job(n: int) -> dict[str, Any]:
    body = {
        "depot": "alpha",
        "trucks": 2,
        "payload_t": 40,
        "time_limit_s": 0.1,
        "deliveries": [
            {"id": f"j{n}-{i}", "lat": 43.7 + ((n * 7 + i * 13) % 60) / 100,
             "lon": 83.7 + ((n * 11 + i * 17) % 60) / 100, "demand_t": 1 + (n + i) % 5}
            for i in range(3)
        ],
    }  # fmt: skip
    return {"request": body, "network_dir": str(TINY)}


def throughput(url: str, label: str, workers: int, jobs: int) -> dict[str, Any]:
    store = JobStore(database_url(url, Path()))
    store.open()
    env = os.environ | {"SILKROUTE_DATABASE_URL": url, "SILKROUTE_JOB_POLL_S": "0.1"}
    script = Path(sys.executable).with_name("silkroute")
    processes = [
        subprocess.Popen([str(script), "worker"], env=env, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 180
        while len(store.live_workers(60)) < workers:
            if time.monotonic() > deadline:
                raise SystemExit("workers did not start")
            time.sleep(0.2)
        time.sleep(1.0)  # their solver processes finish importing
        started = time.perf_counter()
        for n in range(jobs):
            store.submit("tours", tours_job(n), queue_size=jobs + 1)
        while (counts := store.counts())["done"] + counts["failed"] < jobs:
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(30)
        store.close()
    return {
        "bench": "jobs",
        "database": label,
        "workers": workers,
        "jobs": jobs,
        "failed": counts["failed"],
        "seconds": round(elapsed, 2),
        "jobs_per_minute": round(jobs / elapsed * 60, 1),
    }


def get_latency(shipments: int, repeats: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_plan import allocation
    from bench_plan import shipments as generated
    from fastapi.testclient import TestClient

    from graphs import load_network
    from routing.plan import plan
    from routing.scenario import apply_scenario
    from service import Settings, create_app

    net = load_network()
    net = apply_scenario(net, allocation(net, 0.08 * shipments / 1000), file="allocation")
    result = plan(net, generated(shipments, 3), time_limit_s=60).to_dict()
    data = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "jobs.sqlite3"
        store = JobStore(database_url(None, path))
        job = store.submit("plan", {}, queue_size=10)
        store.claim("bench", lease_s=60)
        store.complete(job.id, "bench", data)
        store.close()
        client = TestClient(create_app(Settings(database_path=path)))
        client.get(f"/v1/plans/{job.id}")  # warm
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            response = client.get(f"/v1/plans/{job.id}")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
        reparse = []
        for _ in range(min(repeats, 20)):  # what the service did before: parse, then write
            started = time.perf_counter()
            json.dumps({"plan": json.loads(data)}, ensure_ascii=False).encode()
            reparse.append(time.perf_counter() - started)
    return {
        "bench": "get_plan",
        "shipments": shipments,
        "result_bytes": len(data),
        "get_median_ms": round(statistics.median(times) * 1000, 2),
        "get_p90_ms": round(sorted(times)[int(0.9 * len(times))] * 1000, 2),
        "reparse_median_ms": round(statistics.median(reparse) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=120)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--get-shipments", type=int, default=2000, help="0: skip")
    parser.add_argument("--repeats", type=int, default=50)
    options = parser.parse_args()

    server = None
    if postgres_bin() is None:
        print(f"# {INSTALL_HINT}; PostgreSQL rows skipped", flush=True)
    else:
        server = PostgresServer(durable=True).start()
    try:
        with tempfile.TemporaryDirectory() as directory:
            for workers in options.workers:
                sqlite = f"sqlite:///{Path(directory) / f'jobs-{workers}.sqlite3'}"
                line = throughput(sqlite, "sqlite", workers, options.jobs)
                print(json.dumps(line), flush=True)
                if server is not None:
                    line = throughput(server.database(), "postgresql", workers, options.jobs)
                    print(json.dumps(line), flush=True)
    finally:
        if server is not None:
            server.stop()
    if options.get_shipments:
        print(json.dumps(get_latency(options.get_shipments, options.repeats)), flush=True)


if __name__ == "__main__":
    main()
