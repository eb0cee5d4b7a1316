"""The job store: long jobs (plans, tours) and their results in SQLite or PostgreSQL.

One implementation over SQLAlchemy Core. The database is the queue: a job goes ``queued`` ->
``running`` -> ``done`` | ``failed``, each change one transaction, and CHECK constraints keep
``done`` with its result and ``failed`` with its reason, so a crash never leaves half a result.

Any number of servers submit and read jobs, and any number of workers (``silkroute worker``)
claim them. A claim takes the oldest queued job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
workers never wait for each other; SQLite serializes writers itself) and holds it under a
lease that its worker renews. A worker that dies stops renewing: once the lease expires, the
next claim takes the job again, and after ``max_attempts`` interrupted runs fails it with the
reason (a job that kills its worker is not run forever). Completion is written once: only the
worker holding the job's lease may complete it, and only while it is ``running``.

Lease times are the workers' wall clocks (seconds since the epoch): machines sharing one
database keep their clocks in step (NTP), which a lease of tens of seconds tolerates.

The schema is versioned with Alembic (``service/migrations``); every store brings its database
to the newest version when it opens, and again if the tables vanish while it runs (a deleted
SQLite file is recreated rather than answering errors until a restart).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import NullPool

log = logging.getLogger("silkroute.jobs")

T = TypeVar("T")

STATUSES = ("queued", "running", "done", "failed")
KINDS = ("plan", "tours")

metadata = sa.MetaData()

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created", sa.String(20), nullable=False),
    sa.Column("started", sa.String(20)),
    sa.Column("finished", sa.String(20)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("request", sa.Text, nullable=False),
    sa.Column("result", sa.LargeBinary),
    sa.Column("report", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("worker", sa.String(100)),
    sa.Column("lease_expires", sa.Float),
)

workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", sa.String(20), nullable=False),
    sa.Column("heartbeat", sa.Float, nullable=False),
    sa.Column("job", sa.String(32)),
)

_JOB_VIEW = (
    jobs.c.id,
    jobs.c.kind,
    jobs.c.status,
    jobs.c.created,
    jobs.c.started,
    jobs.c.finished,
    jobs.c.attempts,
    jobs.c.result,
    jobs.c.error,
)


class StoreUnavailable(Exception):
    """The job database cannot be used right now (unreachable, locked, read-only, damaged)."""


class QueueFull(Exception):
    """As many jobs are queued as the service accepts."""


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def database_url(url: str | None, path: Path) -> URL:
    """The SQLAlchemy URL of the job database: ``url`` if given, else the SQLite file ``path``.

    ``postgresql://`` means psycopg 3 (the driver this package installs).
    """
    if url is None:
        return URL.create("sqlite", database=str(path))
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"the job database must be SQLite or PostgreSQL, not {parsed.drivername}")
    return parsed


@dataclass(frozen=True)
class Job:
    """A job as readers see it; ``result`` is the stored JSON, byte for byte."""

    id: str
    kind: str
    status: str
    created: str
    started: str | None
    finished: str | None
    attempts: int
    result: bytes | None
    error: str | None

    def head(self) -> dict[str, Any]:
        """Everything but the result, as the job endpoints answer it."""
        return {
            "id": self.id,
            "status": self.status,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "attempts": self.attempts,
            "error": self.error,
        }


@dataclass(frozen=True)
class Claim:
    """A job a worker holds: what to run and for how long the lease is good."""

    id: str
    kind: str
    attempts: int
    request: dict[str, Any]


class JobStore:
    """Jobs in one database; safe to share between threads, processes and machines.

    Database errors become ``StoreUnavailable`` with a message an operator can act on; the
    service answers them with 503 and the caller may retry.
    """

    def __init__(
        self,
        url: URL | str,
        *,
        busy_timeout_s: float = 5.0,
        max_attempts: int = 3,
        retention_days: float = 30.0,
    ) -> None:
        self.url = make_url(url) if isinstance(url, str) else url
        self.busy_timeout_s = busy_timeout_s
        self.max_attempts = max_attempts
        self.retention_days = retention_days
        self.sqlite = self.url.get_backend_name() == "sqlite"
        self.name = (
            Path(self.url.database or "").name
            if self.sqlite
            else self.url.render_as_string(hide_password=True)
        )
        self._engine: Engine | None = None
        self._ready = False
        self._init_lock = threading.Lock()

    # -- engine, transactions, errors -----------------------------------------------------------

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> Engine:
        if not self.sqlite:
            return sa.create_engine(
                self.url,
                pool_pre_ping=True,
                pool_size=4,
                max_overflow=4,
                connect_args={"connect_timeout": max(1, round(self.busy_timeout_s))},
            )
        # A connection per transaction (NullPool): a deleted file is noticed at the next one,
        # and no pooled connection keeps writing to the unlinked copy.
        engine = sa.create_engine(self.url, poolclass=NullPool, creator=self._sqlite_connect)

        @event.listens_for(engine, "begin")
        def begin(conn: Connection) -> None:
            # Writers take the write lock when they begin, not at their first write: two
            # claims cannot both read the same queued job and then collide.
            write = not conn.get_execution_options().get("silkroute_read", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def _sqlite_connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.url.database or "",
            timeout=self.busy_timeout_s,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute("PRAGMA synchronous = FULL")  # a commit is on disk when it returns
        return conn

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        text = str(getattr(exc, "orig", None) or exc).lower()
        name = self.name
        if "locked" in text or "busy" in text:
            why = f"the job database {name} is locked by another process; retry shortly"
        elif "readonly" in text or "read-only" in text:
            why = f"the job database {name} is read-only; jobs cannot be stored"
        elif "unable to open" in text or "no such file" in text or "permission" in text:
            why = f"the job database {name} cannot be opened"
        elif "not a database" in text or "malformed" in text or "corrupt" in text:
            why = f"the job database {name} is damaged (not a valid SQLite database)"
        elif "full" in text or "disk i/o" in text:
            why = f"the job database {name} cannot be written (disk full or I/O error)"
        elif "connection" in text or "could not connect" in text or "timeout" in text:
            why = f"the job database {name} cannot be reached ({_first_line(text)})"
        else:
            why = f"the job database {name} failed: {_first_line(text)}"
        return StoreUnavailable(why)

    @staticmethod
    def _schema_missing(exc: sa.exc.DBAPIError) -> bool:
        text = str(exc.orig).lower()
        return "no such table" in text or ("relation" in text and "does not exist" in text)

    def _run(self, work: Callable[[Connection], T], *, write: bool = True) -> T:
        """``work`` in one transaction; the schema is (re)created once if it has vanished."""
        for healing in (False, True):
            self.open()
            try:
                with self.engine.connect() as conn:
                    if not write:
                        conn.execution_options(silkroute_read=True)
                    with conn.begin():
                        return work(conn)
            except sa.exc.DBAPIError as exc:
                if not healing and self._schema_missing(exc):
                    log.warning("job database %s: tables missing; recreating them", self.name)
                    self._ready = False
                    continue
                raise self._unavailable(exc) from None
            except sa.exc.SQLAlchemyError as exc:
                raise self._unavailable(exc) from None
        raise AssertionError("unreachable")

    # -- schema -------------------------------------------------------------------------------

    def open(self) -> None:
        """Create or upgrade the schema (Alembic, newest version); once per store."""
        if self._ready:
            return
        with self._init_lock:
            if not self._ready:
                self._migrate()
                self._ready = True

    def _migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        if self.sqlite:
            try:
                Path(self.url.database or "").parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot create the directory of the job database {self.name} ({exc.strerror})"
                ) from None
            try:
                raw = self._sqlite_connect()
                try:  # WAL: readers see jobs while a worker writes (a setting of the file)
                    raw.execute("PRAGMA journal_mode = WAL")
                finally:
                    raw.close()
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from None
        config = Config()
        config.set_main_option("script_location", str(files("service") / "migrations"))
        try:
            with self.engine.connect() as conn, conn.begin():
                if not self.sqlite:
                    # Instances starting together migrate one after the other.
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(7100213)"))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except sa.exc.SQLAlchemyError as exc:
            raise self._unavailable(exc) from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        self._ready = False

    # -- what servers do --------------------------------------------------------------------------

    def submit(self, kind: str, request: dict[str, Any], queue_size: int) -> Job:
        """Store a new queued job; ``QueueFull`` when ``queue_size`` jobs are already waiting."""
        if kind not in KINDS:
            raise ValueError(f"unknown job kind {kind!r}")
        job_id = uuid.uuid4().hex
        created = now_iso()

        def work(conn: Connection) -> None:
            waiting = conn.execute(
                sa.select(sa.func.count()).select_from(jobs).where(jobs.c.status == "queued")
            ).scalar_one()
            if waiting >= queue_size:
                raise QueueFull(f"{waiting} jobs are waiting, the most this service queues")
            conn.execute(
                jobs.insert().values(
                    id=job_id,
                    kind=kind,
                    status="queued",
                    created=created,
                    attempts=0,
                    request=json.dumps(request, ensure_ascii=False),
                )
            )

        self._run(work)
        return Job(job_id, kind, "queued", created, None, None, 0, None, None)

    def get(self, job_id: str, kind: str | None = None) -> Job | None:
        """The job ``job_id`` (of ``kind``, if given), its result as stored."""
        query = sa.select(*_JOB_VIEW).where(jobs.c.id == job_id)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        row = self._run(lambda conn: conn.execute(query).first(), write=False)
        if row is None:
            return None
        result = None if row.result is None else bytes(row.result)
        return Job(
            row.id,
            row.kind,
            row.status,
            row.created,
            row.started,
            row.finished,
            row.attempts,
            result,
            row.error,
        )

    def report(self, job_id: str) -> str | None:
        """The HTML report of a finished plan, if one was made."""
        query = sa.select(jobs.c.report).where(jobs.c.id == job_id)
        value = self._run(lambda conn: conn.execute(query).scalar(), write=False)
        return None if value is None else str(value)

    def counts(self) -> dict[str, int]:
        query = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
        rows = self._run(lambda conn: conn.execute(query).all(), write=False)
        return {status: 0 for status in STATUSES} | {str(s): int(n) for s, n in rows}

    def live_workers(self, within_s: float) -> list[dict[str, Any]]:
        """Workers whose last heartbeat is at most ``within_s`` old."""
        cutoff = time.time() - within_s
        query = (
            sa.select(workers.c.id, workers.c.host, workers.c.pid, workers.c.job)
            .where(workers.c.heartbeat >= cutoff)
            .order_by(workers.c.id)
        )
        rows = self._run(lambda conn: conn.execute(query).all(), write=False)
        return [{"id": r.id, "host": r.host, "pid": r.pid, "job": r.job} for r in rows]

    # -- what workers do --------------------------------------------------------------------------

    def claim(self, worker: str, lease_s: float) -> Claim | None:
        """The oldest job that is queued or whose lease has expired, now held by ``worker``.

        A job whose lease expired ``max_attempts`` times is failed instead of run again.
        """

        def work(conn: Connection) -> Claim | None:
            while True:
                now = time.time()
                row = conn.execute(
                    sa.select(jobs.c.id, jobs.c.kind, jobs.c.status, jobs.c.attempts)
                    .where(
                        (jobs.c.status == "queued")
                        | ((jobs.c.status == "running") & (jobs.c.lease_expires < now))
                    )
                    .order_by(jobs.c.seq)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                ).first()
                if row is None:
                    return None
                if row.status == "running" and row.attempts >= self.max_attempts:
                    conn.execute(
                        jobs.update()
                        .where(jobs.c.id == row.id)
                        .values(
                            status="failed",
                            finished=now_iso(),
                            worker=None,
                            lease_expires=None,
                            error=f"the worker running this job stopped, {row.attempts} times; "
                            "not retried (the job may need more memory or time than a worker "
                            "has)",
                        )
                    )
                    log.warning("job %s failed: its worker died %d times", row.id, row.attempts)
                    continue
                if row.status == "running":
                    log.warning("job %s: lease expired; claimed again by %s", row.id, worker)
                conn.execute(
                    jobs.update()
                    .where(jobs.c.id == row.id)
                    .values(
                        status="running",
                        started=now_iso(),
                        attempts=row.attempts + 1,
                        worker=worker,
                        lease_expires=now + lease_s,
                    )
                )
                request = conn.execute(
                    sa.select(jobs.c.request).where(jobs.c.id == row.id)
                ).scalar_one()
                return Claim(row.id, row.kind, row.attempts + 1, json.loads(request))

        return self._run(work)

    def _held(self, job_id: str, worker: str) -> sa.ColumnElement[bool]:
        return (jobs.c.id == job_id) & (jobs.c.status == "running") & (jobs.c.worker == worker)

    def renew(self, job_id: str, worker: str, lease_s: float) -> bool:
        """Extend ``worker``'s lease on ``job_id``; False if the job is no longer its own."""
        query = (
            jobs.update()
            .where(self._held(job_id, worker))
            .values(lease_expires=time.time() + lease_s)
        )
        return bool(self._run(lambda conn: conn.execute(query).rowcount))

    def complete(self, job_id: str, worker: str, result: bytes, report: str | None = None) -> bool:
        """Store the result (and report) and mark the job done, if ``worker`` still holds it.

        True when this call wrote the result; a result is written once.
        """
        query = (
            jobs.update()
            .where(self._held(job_id, worker))
            .values(
                status="done",
                result=result,
                report=report,
                error=None,
                finished=now_iso(),
                lease_expires=None,
            )
        )
        return bool(self._run(lambda conn: conn.execute(query).rowcount))

    def fail(self, job_id: str, worker: str, reason: str) -> bool:
        """Mark the job failed with ``reason``, if ``worker`` still holds it."""
        query = (
            jobs.update()
            .where(self._held(job_id, worker))
            .values(status="failed", error=reason, finished=now_iso(), lease_expires=None)
        )
        return bool(self._run(lambda conn: conn.execute(query).rowcount))

    def release(self, job_id: str, worker: str) -> bool:
        """Put a held job back in the queue without counting the attempt (a clean stop)."""
        query = (
            jobs.update()
            .where(self._held(job_id, worker))
            .values(
                status="queued",
                started=None,
                worker=None,
                lease_expires=None,
                attempts=sa.case((jobs.c.attempts > 0, jobs.c.attempts - 1), else_=0),
            )
        )
        return bool(self._run(lambda conn: conn.execute(query).rowcount))

    def register(self, worker: str) -> None:
        """Record a starting worker; forget workers silent for a day and purge old jobs."""
        now = time.time()
        cutoff = datetime.fromtimestamp(now - self.retention_days * 86_400, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )

        def work(conn: Connection) -> None:
            conn.execute(workers.delete().where(workers.c.heartbeat < now - 86_400))
            purged = conn.execute(
                jobs.delete().where(
                    jobs.c.status.in_(("done", "failed")) & (jobs.c.finished < cutoff)
                )
            ).rowcount
            if purged:
                log.info("job database %s: %d old finished job(s) removed", self.name, purged)
            conn.execute(
                workers.insert().values(
                    id=worker,
                    host=socket.gethostname(),
                    pid=_pid(),
                    started=now_iso(),
                    heartbeat=now,
                )
            )

        self._run(work)

    def beat(self, worker: str, job_id: str | None) -> None:
        """A worker's heartbeat, with the job it runs; re-registers a forgotten worker."""
        now = time.time()

        def work(conn: Connection) -> None:
            updated = conn.execute(
                workers.update().where(workers.c.id == worker).values(heartbeat=now, job=job_id)
            ).rowcount
            if not updated:
                conn.execute(
                    workers.insert().values(
                        id=worker,
                        host=socket.gethostname(),
                        pid=_pid(),
                        started=now_iso(),
                        heartbeat=now,
                        job=job_id,
                    )
                )

        self._run(work)

    def unregister(self, worker: str) -> None:
        self._run(lambda conn: conn.execute(workers.delete().where(workers.c.id == worker)))


def _pid() -> int:
    return os.getpid()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"
