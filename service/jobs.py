"""Plan jobs: an SQLite store, a background worker, and a child process that runs the planner.

The database is the queue. A job goes ``queued`` -> ``running`` -> ``done`` | ``failed``; each
change is one transaction, and a CHECK constraint keeps ``done`` and its plan together, so a
crash never leaves half a result. A server that dies (SIGKILL, power) leaves its job ``running``:
the next start puts it back in the queue, or fails it with the reason once it has been
interrupted ``max_attempts`` times (a job that kills the server is not run forever). An exclusive
lock file keeps a second server off the same database, which is what makes that recovery safe.

Plans run in a child process, one job at a time: the solver's CPU time does not compete for the
GIL with route queries, a job over its wall-clock limit is killed rather than waited for, and a
crash or out-of-memory kill of the solver fails that job instead of the service.
"""

from __future__ import annotations

import fcntl
import json
import logging
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TextIO

from graphs import load_network
from graphs.errors import SilkrouteError
from routing.plan import plan
from routing.scenario import apply_scenario
from service.schemas import PlanRequest

log = logging.getLogger("silkroute.service")

STATUSES = ("queued", "running", "done", "failed")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    created TEXT NOT NULL,
    started TEXT,
    finished TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    request TEXT NOT NULL,
    plan TEXT,
    error TEXT,
    CHECK ((status = 'done') = (plan IS NOT NULL)),
    CHECK ((status = 'failed') = (error IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, seq);
CREATE TABLE IF NOT EXISTS reports (
    id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    html TEXT NOT NULL
);
"""
_COLUMNS = "id, status, created, started, finished, attempts, request, plan, error"


class StoreUnavailable(Exception):
    """The job database cannot be used right now (locked, read-only, missing, corrupt)."""


class QueueFull(Exception):
    """As many jobs are queued as the server accepts."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    created: str
    started: str | None
    finished: str | None
    attempts: int
    request: dict[str, Any]
    plan: dict[str, Any] | None
    error: str | None

    def to_dict(self) -> dict[str, Any]:
        """The job as ``GET /v1/plans/{id}`` answers it (the request itself is not echoed)."""
        return {
            "id": self.id,
            "status": self.status,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "attempts": self.attempts,
            "plan": self.plan,
            "error": self.error,
        }


class JobStore:
    """Plan jobs in one SQLite file; every method is safe to call from any thread.

    Errors of the database become ``StoreUnavailable`` with a message an operator can act on;
    the service answers them with 503 and the caller may retry.
    """

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout_s: float = 5.0,
        max_attempts: int = 3,
        retention_days: float = 30.0,
    ) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self.max_attempts = max_attempts
        self.retention_days = retention_days
        self._ready = False
        self._init_lock = threading.Lock()
        self._lock_file: TextIO | None = None

    # -- connection and errors ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        text = str(exc).lower()
        name = self.path.name
        if "locked" in text or "busy" in text:
            why = f"the job database {name} is locked by another process; retry shortly"
        elif "readonly" in text or "read-only" in text:
            why = f"the job database {name} is read-only; plan jobs cannot be stored"
        elif "unable to open" in text or "no such file" in text or "permission" in text:
            why = f"the job database {name} cannot be opened"
        elif "not a database" in text or "malformed" in text or "corrupt" in text:
            why = f"the job database {name} is damaged (not a valid SQLite database)"
        elif "full" in text or "disk i/o" in text:
            why = f"the job database {name} cannot be written (disk full or I/O error)"
        else:
            why = f"the job database {name} failed: {exc}"
        return StoreUnavailable(why)

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction on a fresh connection; sqlite errors become ``StoreUnavailable``."""
        self.open()
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from None
        finally:
            conn.close()

    # -- start-up: lock, schema, recovery -------------------------------------------------------

    def open(self) -> None:
        """Lock, create or check the database, and recover what a dead server left; once."""
        if self._ready:
            return
        with self._init_lock:
            if not self._ready:
                self._initialize()
                self._ready = True

    def _initialize(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot create the directory of the job database {self.path.name} ({exc.strerror})"
            ) from None
        self._take_server_lock()
        try:
            conn = self._connect()
            try:
                # WAL lets readers see jobs while the worker writes; FULL makes a commit durable.
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
                conn.executescript(_SCHEMA)
                self._recover(conn)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            self._release_server_lock()
            raise self._unavailable(exc) from None

    def _take_server_lock(self) -> None:
        """One server per database: recovery re-queues 'running' jobs, which must be ours."""
        if self._lock_file is not None:
            return
        lock_path = self.path.with_name(self.path.name + ".lock")
        try:
            handle = lock_path.open("a", encoding="utf-8")
        except OSError as exc:
            raise StoreUnavailable(
                f"cannot open the lock file of the job database {self.path.name} ({exc.strerror})"
            ) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise StoreUnavailable(
                f"another silkroute server is using the job database {self.path.name}; "
                "run one server per database"
            ) from None
        self._lock_file = handle

    def _release_server_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _recover(self, conn: sqlite3.Connection) -> None:
        """Jobs a dead server left 'running' go back to the queue or fail; old results go."""
        now = _now()
        conn.execute("BEGIN IMMEDIATE")
        failed = conn.execute(
            "UPDATE jobs SET status = 'failed', finished = ?, error = ? "
            "WHERE status = 'running' AND attempts >= ?",
            (
                now,
                f"the server stopped while this job was running, {self.max_attempts} times; "
                "not retried (the job may need more memory or time than the server has)",
                self.max_attempts,
            ),
        ).rowcount
        requeued = conn.execute(
            "UPDATE jobs SET status = 'queued', started = NULL WHERE status = 'running'"
        ).rowcount
        cutoff = (datetime.now(UTC) - timedelta(days=self.retention_days)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        purged = conn.execute(
            "DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished < ?", (cutoff,)
        ).rowcount
        conn.execute("COMMIT")
        if failed or requeued or purged:
            log.warning(
                "job database %s: %d interrupted job(s) re-queued, %d failed, %d old removed",
                self.path.name,
                requeued,
                failed,
                purged,
            )

    def close(self) -> None:
        self._release_server_lock()
        self._ready = False

    # -- operations -----------------------------------------------------------------------------

    @staticmethod
    def _job(row: tuple[Any, ...]) -> Job:
        job_id, status, created, started, finished, attempts, request, plan_text, error = row
        return Job(
            id=job_id,
            status=status,
            created=created,
            started=started,
            finished=finished,
            attempts=attempts,
            request=json.loads(request),
            plan=json.loads(plan_text) if plan_text is not None else None,
            error=error,
        )

    def submit(self, request: dict[str, Any], queue_size: int) -> Job:
        """Store a new queued job; ``QueueFull`` when ``queue_size`` jobs are already waiting."""
        job_id = uuid.uuid4().hex
        with self._transaction() as conn:
            (waiting,) = conn.execute(
                "SELECT COUNT(*) FROM jobs WHERE status = 'queued'"
            ).fetchone()
            if waiting >= queue_size:
                raise QueueFull(f"{waiting} plan jobs are waiting, the most this server queues")
            conn.execute(
                "INSERT INTO jobs (id, status, created, request) VALUES (?, 'queued', ?, ?)",
                (job_id, _now(), json.dumps(request, ensure_ascii=False)),
            )
            row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._job(row)

    def get(self, job_id: str) -> Job | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return self._job(row) if row else None

    def claim(self) -> Job | None:
        """The oldest queued job, now marked running (and its attempt counted)."""
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE jobs SET status = 'running', started = ?, attempts = attempts + 1 "
                "WHERE id = ?",
                (_now(), row[0]),
            )
            claimed = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", row).fetchone()
        return self._job(claimed)

    def finish(self, job_id: str, plan_json: str, report_html: str | None = None) -> None:
        """Store the plan (and its HTML report) and mark the job done, in one transaction."""
        with self._transaction() as conn:
            done = conn.execute(
                "UPDATE jobs SET status = 'done', plan = ?, error = NULL, finished = ? "
                "WHERE id = ? AND status = 'running'",
                (plan_json, _now(), job_id),
            )
            if done.rowcount and report_html is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO reports (id, html) VALUES (?, ?)", (job_id, report_html)
                )

    def report(self, job_id: str) -> str | None:
        """The HTML report of a finished plan, if one was made."""
        with self._transaction(write=False) as conn:
            row = conn.execute("SELECT html FROM reports WHERE id = ?", (job_id,)).fetchone()
        return str(row[0]) if row else None

    def fail(self, job_id: str, reason: str) -> None:
        with self._transaction() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'failed', error = ?, plan = NULL, finished = ? "
                "WHERE id = ? AND status IN ('queued', 'running')",
                (reason, _now(), job_id),
            )

    def release(self, job_id: str) -> None:
        """Put a running job back in the queue without counting the attempt (clean shutdown)."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'queued', started = NULL, "
                "attempts = MAX(attempts - 1, 0) WHERE id = ? AND status = 'running'",
                (job_id,),
            )

    def counts(self) -> dict[str, int]:
        with self._transaction(write=False) as conn:
            rows = conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {status: 0 for status in STATUSES} | dict(rows)


# -- the planning process ------------------------------------------------------------------------


def run_plan(payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The plan JSON for a stored job (the same calls the CLI's ``plan`` makes) and its HTML
    report, or ``None`` when the report could not be drawn (the plan stands without it)."""
    request = PlanRequest.model_validate(payload["request"])
    network = load_network(payload.get("network_dir"))
    if request.scenario is not None:
        network = apply_scenario(network, request.scenario, file="scenario")
    shipments = request.to_shipments()
    result = plan(
        network,
        shipments,
        time_limit_s=float(payload["time_limit_s"]),
        settings=request.to_settings(),
    )
    try:
        from routing.report import report_html

        report: str | None = report_html(network, result, shipments=shipments)
    except Exception:  # a chart that cannot be drawn must not lose the plan
        log.exception("plan report failed")
        report = None
    return result.to_dict(), report


Outcome = tuple[str, str, str | None]


def _outcome(payload_text: str) -> Outcome:
    try:
        data, report = run_plan(json.loads(payload_text))
        return "done", json.dumps(data, ensure_ascii=False), report
    except SilkrouteError as exc:
        return "failed", str(exc), None
    except MemoryError:
        return "failed", "the plan needs more memory than the server has", None
    except Exception as exc:  # a bug must fail its job, not the planning process
        return "failed", f"internal error while planning: {type(exc).__name__}: {exc}", None


def _exit_with_parent(parent: int) -> None:
    # Orphaned by a SIGKILLed server, the child would plan on for nobody; the restarted server
    # runs the job again.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(3)


def _child_main(fd: int, parent: int) -> None:
    """The planning process: read a job, answer its outcome, until the server hangs up.

    ``parent`` is the server's pid as the server knows it: the server may have died while this
    interpreter was still importing.
    """
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    conn = Connection(fd)
    while True:
        try:
            payload_text = conn.recv()
            conn.send(_outcome(payload_text))
        except (EOFError, OSError):
            return


class PlanProcess:
    """A long-lived child process that plans one job at a time; replaced if it dies or is
    killed for running over the wall-clock limit.

    A fresh interpreter (not fork, not multiprocessing's spawn): the server has threads whose
    locks a forked child could inherit, and spawn would re-run whatever script started the
    server. The two talk over a socket pair.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        if self._process is not None and self._process.poll() is None and self._conn is not None:
            return self._conn
        self.stop()
        ours, theirs = multiprocessing.Pipe()
        fd = theirs.fileno()
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"from service.jobs import _child_main; _child_main({fd}, {os.getpid()})",
            ],
            pass_fds=[fd],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._conn = ours
        return ours

    def run(
        self, payload: dict[str, Any], timeout_s: float, stop: threading.Event
    ) -> Outcome | None:
        """``("done", plan JSON, report)`` or ``("failed", reason, None)``; ``None`` if ``stop``
        was set."""
        conn = self._start()
        deadline = time.monotonic() + timeout_s
        try:
            conn.send(json.dumps(payload))
            while not conn.poll(0.2):
                if stop.is_set():
                    self.stop()
                    return None
                if time.monotonic() > deadline:
                    self.stop()
                    return (
                        "failed",
                        f"stopped after the server's limit of {timeout_s:g} s per plan job "
                        "(setting plan_timeout_s); plan fewer shipments or lanes at a time",
                        None,
                    )
            status, body, report = conn.recv()
        except (EOFError, OSError):
            code = self.stop()
            hint = " (killed: out of memory?)" if code == -signal.SIGKILL else ""
            return "failed", f"the planning process died with exit code {code}{hint}", None
        return str(status), str(body), None if report is None else str(report)

    def stop(self) -> int | None:
        """End the child (if any); its exit code."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        code = None
        if self._process is not None:
            try:
                code = self._process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                self._process.kill()
                code = self._process.wait()
            self._process = None
        return code


class PlanWorker:
    """The background thread that takes queued jobs from the store, oldest first."""

    def __init__(self, store: JobStore, timeout_s: float, *, idle_s: float = 1.0) -> None:
        self.store = store
        self.timeout_s = timeout_s
        self.idle_s = idle_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._process = PlanProcess()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="silkroute-jobs", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._process.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception:  # a bug here must not silently stop every future job
                log.exception("plan worker: unexpected error; carrying on")
                self._stop.wait(self.idle_s * 5)

    def _step(self) -> None:
        """Claim and run one job, or wait a while for one."""
        self._wake.clear()
        try:
            job = self.store.claim()
        except StoreUnavailable as exc:
            log.error("plan worker: %s", exc)
            self._stop.wait(self.idle_s * 5)
            return
        if job is None:
            self._wake.wait(self.idle_s)
            return
        log.info("plan job %s: running (attempt %d)", job.id, job.attempts)
        outcome = self._process.run(job.request, self.timeout_s, self._stop)
        self._record(job.id, outcome)

    def _record(self, job_id: str, outcome: Outcome | None) -> None:
        """Write the outcome, retrying while the database is unavailable; a result that still
        cannot be written leaves the job 'running', which the next start re-runs."""
        delay = 0.5
        while True:
            try:
                if outcome is None:
                    self.store.release(job_id)
                elif outcome[0] == "done":
                    self.store.finish(job_id, outcome[1], outcome[2])
                else:
                    self.store.fail(job_id, outcome[1])
                if outcome is not None:
                    log.info("plan job %s: %s", job_id, outcome[0])
                return
            except StoreUnavailable as exc:
                log.error("plan job %s: cannot record the outcome: %s", job_id, exc)
                if self._stop.wait(delay):
                    return
                delay = min(delay * 2, 30.0)
