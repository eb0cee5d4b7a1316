"""The job store on SQLite and on a real PostgreSQL server: claims, leases, written-once
results, constraints and migrations; then many servers and workers on one database, one worker
killed mid-job, and every job done exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from service.jobs import JobStore, QueueFull, StoreUnavailable, database_url

from .conftest import PACKS

TINY = PACKS / "tiny"


@pytest.fixture()
def store(job_db: str) -> Iterator[JobStore]:
    opened = JobStore(database_url(job_db, Path()), max_attempts=2)
    yield opened
    opened.close()


def test_database_url_defaults_to_the_sqlite_file(tmp_path: Path) -> None:
    url = database_url(None, tmp_path / "j.sqlite3")
    assert url.get_backend_name() == "sqlite" and url.database == str(tmp_path / "j.sqlite3")
    assert database_url("postgresql://u:secret@h/db", Path()).drivername == "postgresql+psycopg"
    with pytest.raises(ValueError, match="SQLite or PostgreSQL"):
        database_url("mysql://h/db", Path())


def test_claim_complete_once(store: JobStore) -> None:
    job = store.submit("plan", {"n": 1}, queue_size=10)
    assert store.get(job.id) == job
    assert store.get(job.id, "tours") is None  # a plan is not found as a tours job
    claim = store.claim("w1", lease_s=30)
    assert claim is not None and claim.id == job.id and claim.request == {"n": 1}
    assert claim.attempts == 1
    assert store.claim("w2", lease_s=30) is None  # held: nobody else gets it
    assert not store.complete(job.id, "w2", b"{}")  # not w2's to complete
    assert store.complete(job.id, "w1", b'{"answer": 1}', "<html></html>")
    assert not store.complete(job.id, "w1", b'{"answer": 2}')  # written once
    assert not store.fail(job.id, "w1", "late")
    done = store.get(job.id)
    assert done is not None and done.status == "done" and done.result == b'{"answer": 1}'
    assert store.report(job.id) == "<html></html>"
    assert store.counts() == {"queued": 0, "running": 0, "done": 1, "failed": 0}


def test_an_expired_lease_is_claimed_again_then_failed(store: JobStore) -> None:
    job = store.submit("tours", {}, queue_size=10)
    assert store.claim("dead-1", lease_s=0.05) is not None
    time.sleep(0.1)  # dead-1 stops renewing
    again = store.claim("w2", lease_s=0.05)
    assert again is not None and again.id == job.id and again.attempts == 2
    assert not store.complete(job.id, "dead-1", b"{}")  # the first holder lost it
    assert not store.renew(job.id, "dead-1", 30)
    time.sleep(0.1)  # w2 dies too: max_attempts (2) runs interrupted
    assert store.claim("w3", lease_s=30) is None
    failed = store.get(job.id)
    assert failed is not None and failed.status == "failed"
    assert failed.error is not None and "stopped, 2 times" in failed.error


def test_a_renewed_lease_is_kept(store: JobStore) -> None:
    store.submit("plan", {}, queue_size=10)
    claim = store.claim("w1", lease_s=0.3)
    assert claim is not None
    for _ in range(3):
        time.sleep(0.15)
        assert store.renew(claim.id, "w1", lease_s=0.3)
    assert store.claim("w2", lease_s=30) is None


def test_a_clean_stop_does_not_count_an_attempt(store: JobStore) -> None:
    job = store.submit("plan", {}, queue_size=10)
    store.claim("w1", lease_s=30)
    assert store.release(job.id, "w1")
    released = store.get(job.id)
    assert released is not None and released.status == "queued" and released.attempts == 0


def test_queue_bound(store: JobStore) -> None:
    store.submit("plan", {}, queue_size=1)
    with pytest.raises(QueueFull):
        store.submit("tours", {}, queue_size=1)
    assert store.counts()["queued"] == 1


def test_done_needs_its_result_and_failed_its_reason(store: JobStore) -> None:
    job = store.submit("plan", {}, queue_size=10)
    from service.jobs import jobs

    for values in ({"status": "done"}, {"status": "failed"}, {"kind": "sweep"}):
        with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job.id).values(**values))


def test_concurrent_claims_hand_out_each_job_once(store: JobStore) -> None:
    ids = {store.submit("tours", {"i": i}, queue_size=1000).id for i in range(60)}
    taken: list[str] = []
    lock = threading.Lock()

    def drain(worker: str) -> None:
        while (claim := store.claim(worker, lease_s=60)) is not None:
            assert store.complete(claim.id, worker, b"{}")
            with lock:
                taken.append(claim.id)

    threads = [threading.Thread(target=drain, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(ids)


def test_workers_report_their_heartbeat(store: JobStore) -> None:
    store.register("w1")
    store.beat("w1", "some-job")
    assert [w["id"] for w in store.live_workers(within_s=60)] == ["w1"]
    assert store.live_workers(within_s=60)[0]["job"] == "some-job"
    store.unregister("w1")
    assert store.live_workers(within_s=60) == []


def test_migrations_are_versioned_and_rerun_safely(store: JobStore) -> None:
    store.open()
    store.close()
    store.open()  # a second server (or a restart) finds the schema at head
    with store.engine.connect() as conn:
        version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    assert version == "0001"


def test_a_database_of_the_single_server_store_is_carried_over(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL, created TEXT NOT NULL, started TEXT, finished TEXT,
            attempts INTEGER NOT NULL DEFAULT 0, request TEXT NOT NULL, plan TEXT, error TEXT);
        CREATE TABLE reports (id TEXT PRIMARY KEY, html TEXT NOT NULL);
        INSERT INTO jobs VALUES (1, 'a', 'done', '2026-12-01T00:00:00Z', NULL,
            '2026-12-01T00:01:00Z', 1, '{}', '{"status": "optimal"}', NULL);
        INSERT INTO reports VALUES ('a', '<html>a</html>');
        INSERT INTO jobs VALUES (2, 'b', 'running', '2026-12-01T00:00:00Z', NULL, NULL, 1,
            '{"request": {}}', NULL, NULL);
        """
    )
    old.commit()
    old.close()
    store = JobStore(database_url(None, path))
    done, interrupted = store.get("a"), store.get("b")
    assert done is not None and done.result == b'{"status": "optimal"}' and done.kind == "plan"
    assert store.report("a") == "<html>a</html>"
    assert interrupted is not None and interrupted.status == "queued"
    store.close()


def test_a_deleted_sqlite_database_is_recreated(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    store = JobStore(database_url(None, path))
    store.submit("plan", {}, queue_size=10)
    for leftover in tmp_path.glob("jobs.sqlite3*"):
        leftover.unlink()
    job = store.submit("plan", {}, queue_size=10)  # the tables are made again
    assert store.get(job.id) is not None and path.exists()
    store.close()


def test_an_unreachable_postgresql_is_unavailable_not_a_crash() -> None:
    store = JobStore(database_url("postgresql://nobody@127.0.0.1:9/none", Path()), busy_timeout_s=1)
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        store.counts()


# -- many servers, many workers, one database ----------------------------------------------------


def silkroute(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("silkroute")
    assert script.exists(), "the package is installed (make installs it)"
    return [str(script), *args]


class Worker:
    """``silkroute worker`` with its JSON log lines collected as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.lines: list[dict[str, Any]] = []
        self.process = subprocess.Popen(
            silkroute("worker"), env=env, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            try:
                self.lines.append(json.loads(raw))
            except ValueError:
                self.lines.append({"event": "text", "msg": raw.decode(errors="replace")})

    def events(self, event: str) -> list[str]:
        return [line["job"] for line in list(self.lines) if line.get("event") == event]

    def wait_for(self, event: str, job_id: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while job_id not in self.events(event):
            assert self.process.poll() is None, self.lines[-5:]
            assert time.monotonic() < deadline, f"no {event} of {job_id}: {self.lines[-5:]}"
            time.sleep(0.02)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(20)
        self._reader.join(5)
        assert self.process.stderr is not None
        self.process.stderr.close()
        return code


def serve(env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    from .test_service_e2e import free_port

    port = free_port()
    with (workdir / f"serve-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            silkroute("serve", "--port", str(port)),
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, (workdir / f"serve-{port}.log").read_text()[-2000:]
        assert time.monotonic() < deadline, "server did not start"
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)


def tours_body(sites: int, time_limit_s: float, seed: int) -> dict[str, Any]:
    """Sites scattered within about 30 km of the tiny pack's alpha (44 N, 84 E), a few tonnes
    each."""
    return {
        "depot": "alpha",
        "trucks": 3,
        "payload_t": 40,
        "time_limit_s": time_limit_s,
        "deliveries": [
            {
                "id": f"s{seed}-{i}",
                "lat": 43.7 + ((seed * 7 + i * 13) % 60) / 100,
                "lon": 83.7 + ((seed * 11 + i * 17) % 60) / 100,
                "demand_t": 1 + (seed + i) % 5,
            }
            for i in range(sites)
        ],
    }


@pytest.mark.slow
def test_two_servers_three_workers_200_jobs_one_worker_killed(job_db: str, tmp_path: Path) -> None:
    env = os.environ | {
        "SILKROUTE_DATABASE_URL": job_db,
        "SILKROUTE_NETWORK_DIR": str(TINY),
        "SILKROUTE_JOB_WORKERS": "0",  # the workers below are the only ones
        "SILKROUTE_JOB_LEASE_S": "2",
        "SILKROUTE_JOB_POLL_S": "0.2",
        "SILKROUTE_WORKERS": "1",  # one uvicorn process per server
        "SILKROUTE_PLAN_QUEUE_SIZE": "1000",
    }
    servers = [serve(env, tmp_path), serve(env, tmp_path)]
    workers: list[Worker] = []
    try:
        # The first worker alone takes a tours job of 60 sites and 5 s, and is killed in it.
        victim = Worker(env)
        workers.append(victim)
        long = httpx.post(f"{servers[0][1]}/v1/tours", json=tours_body(60, 5, 0), timeout=30)
        assert long.status_code == 202, long.text
        long_id = long.json()["id"]
        victim.wait_for("job_claimed", long_id)
        victim.process.send_signal(signal.SIGKILL)  # mid-job: seconds of tours solving
        victim.process.wait(10)
        assert long_id not in victim.events("job_done")
        workers += [Worker(env), Worker(env)]
        ids = [long_id]
        for n in range(1, 200):
            url = servers[n % 2][1]
            response = httpx.post(f"{url}/v1/tours", json=tours_body(3, 0.1, n), timeout=30)
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])

        deadline = time.monotonic() + 240
        pending = set(ids)
        while pending:
            assert time.monotonic() < deadline, f"{len(pending)} jobs not finished"
            for job_id in list(pending)[:50]:
                # every instance answers for every job: ask the one that did not take it
                url = servers[(ids.index(job_id) + 1) % 2][1]
                job = httpx.get(f"{url}/v1/tours/{job_id}", timeout=30).json()
                assert job["status"] != "failed", job["error"]
                if job["status"] == "done":
                    pending.discard(job_id)
            time.sleep(0.2)
        for worker in workers[1:]:
            assert worker.stop() == 0  # SIGTERM: a clean exit
        done = Counter(job_id for worker in workers for job_id in worker.events("job_done"))
        assert set(done) == set(ids) and set(done.values()) == {1}, "each job done exactly once"
        assert not any(worker.events("job_lost") for worker in workers)
        answer = httpx.get(f"{servers[1][1]}/v1/tours/{long_id}", timeout=30).json()
        assert answer["attempts"] == 2
        tours = answer["tours"]
        assert tours["served"] + len(tours["unserved"]) == 60 and tours["served"] > 0
        ready = httpx.get(f"{servers[0][1]}/ready", timeout=30).json()
        assert ready["jobs"] == {"queued": 0, "running": 0, "done": 200, "failed": 0}
    finally:
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.kill()
            worker.stop()
        for process, _ in servers:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
