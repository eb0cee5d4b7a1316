"""``silkroute worker``: a process that claims long jobs (plans, tours) from the job store and
runs them, one at a time.

Run as many as the machines have cores, anywhere the database is reachable; ``silkroute serve``
starts ``job_workers`` of them beside itself (one by default), so a single machine needs
nothing else. A worker holds its job under a lease it renews every ``job_lease_s / 3``; if it
dies, the lease runs out and another worker takes the job again.

Stopping: SIGTERM or SIGINT kills the solver process, puts the running job back in the queue
(its attempt not counted) and ends the worker within a second. A job over its wall-clock limit
is failed with the reason and its solver process killed; the worker goes on with a fresh one.

Every line a worker logs is one JSON object (``event``, ``job``, ``worker``, ...).
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from typing import Any

from graphs import load_network
from graphs.errors import SilkrouteError
from service.jobs import Claim, JobStore, StoreUnavailable, database_url
from service.settings import Settings

log = logging.getLogger("silkroute.worker")


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the record's ``extra``."""

    _PLAIN = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line |= {k: v for k, v in vars(record).items() if k not in self._PLAIN}
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def log_json(level: int = logging.INFO) -> None:
    """Send the ``silkroute`` loggers to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    root = logging.getLogger("silkroute")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


# -- running one job -----------------------------------------------------------------------------


def run_plan(request: dict[str, Any]) -> tuple[bytes, str | None]:
    """The plan JSON for a stored plan job (the calls the CLI's ``plan`` makes) and its HTML
    report, or ``None`` when the report could not be drawn (the plan stands without it)."""
    from routing.plan import plan
    from routing.scenario import apply_scenario
    from service.schemas import PlanRequest

    body = PlanRequest.model_validate(request["request"])
    network = load_network(request.get("network_dir"))
    if body.scenario is not None:
        network = apply_scenario(network, body.scenario, file="scenario")
    shipments = body.to_shipments()
    result = plan(
        network,
        shipments,
        time_limit_s=float(request["time_limit_s"]),
        settings=body.to_settings(),
    )
    try:
        from routing.report import report_html

        report: str | None = report_html(network, result, shipments=shipments)
    except Exception:  # a chart that cannot be drawn must not lose the plan
        log.exception("plan report failed", extra={"event": "report_failed"})
        report = None
    return _json_bytes(result.to_dict()), report


def run_tours(request: dict[str, Any], roads_file: str | None) -> bytes:
    """The tours JSON for a stored tours job, as ``silkroute tours --json`` writes it."""
    from routing.deliveries import tours_answer
    from service.schemas import TourRequest

    body = TourRequest.model_validate(request["request"])
    roads = None
    if roads_file is not None:
        from graphs.roads import load_road_graph

        roads = load_road_graph(roads_file)
    answer = tours_answer(
        load_network(request.get("network_dir")),
        body.depot,
        [delivery.to_delivery() for delivery in body.deliveries],
        trucks=body.trucks,
        payload_t=body.payload_t,
        oversize_trucks=body.oversize_trucks,
        speed_kph=body.speed_kph,
        cost_usd_per_km=body.cost_usd_per_km,
        objective=body.objective,
        time_limit_s=body.time_limit_s,
        roads=roads,
    )
    return _json_bytes(answer)


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


Outcome = tuple[bool, bytes | str, str | None]


def outcome(job: Claim, roads_file: str | None) -> Outcome:
    """``(True, result, report)`` or ``(False, reason, None)``: a job's failure is its answer,
    never the worker's end."""
    try:
        if job.kind == "plan":
            result, report = run_plan(job.request)
            return True, result, report
        if job.kind == "tours":
            return True, run_tours(job.request, roads_file), None
        return False, f"unknown job kind {job.kind!r}", None
    except SilkrouteError as exc:
        return False, str(exc), None
    except MemoryError:
        return False, "the job needs more memory than the worker has", None
    except Exception as exc:  # a bug fails its job, not the worker
        log.exception("job %s: internal error", job.id, extra={"event": "job_error", "job": job.id})
        return False, f"internal error while running the job: {type(exc).__name__}: {exc}", None


# -- the worker ----------------------------------------------------------------------------------


def _signal_when_parent_dies(signum: int) -> None:
    """Linux's PR_SET_PDEATHSIG: ``signum`` to this process the moment its parent ends."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signum)
    except (OSError, AttributeError):  # not Linux: the polling in _exit_with_parent remains
        pass


def _child_init() -> None:
    """The solver process: dies with its worker, leaves Ctrl-C to it, imports solvers once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the worker, which decides
    log_json()
    _signal_when_parent_dies(signal.SIGKILL)
    import routing.deliveries
    import routing.plan
    import routing.report  # noqa: F401


class Worker:
    """Claims jobs and runs each in a solver process until stopped; see the module docstring.

    The solver runs in a process of its own (``ProcessPoolExecutor`` of one): OR-Tools holds
    the GIL while it solves, which would starve the threads that renew the lease and take
    signals. A solver over its job's wall-clock limit, or a stop, kills that process; the next
    job gets a fresh one.
    """

    def __init__(self, settings: Settings, store: JobStore | None = None) -> None:
        self.settings = settings
        self.store = store or JobStore(
            database_url(settings.database_url, settings.database_path),
            busy_timeout_s=settings.database_busy_timeout_s,
            max_attempts=settings.plan_max_attempts,
            retention_days=settings.job_retention_days,
        )
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_s = settings.job_lease_s
        self.stopping = threading.Event()
        self._job: Claim | None = None
        self._roads = None if settings.roads_file is None else str(settings.roads_file)
        self._solver: ProcessPoolExecutor | None = None
        self._solver_pid = 0

    def _extra(self, **fields: Any) -> dict[str, Any]:
        return {"worker": self.id} | fields

    def run(self) -> int:
        """Work until SIGTERM/SIGINT; the process's exit code."""
        # The main thread only waits (the solver has a process of its own): the handler runs
        # within a fraction of a second.
        signal.signal(signal.SIGTERM, self._signal)
        signal.signal(signal.SIGINT, self._signal)
        self._solver_start()
        self._register()
        threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True).start()
        log.info("worker started", extra=self._extra(event="worker_started", db=self.store.name))
        while not self.stopping.is_set():
            try:
                self.step()
            except StoreUnavailable as exc:
                log.error("%s", exc, extra=self._extra(event="store_unavailable"))
                self.stopping.wait(2.0)
        self._solver_stop()
        with suppress(StoreUnavailable):
            self.store.unregister(self.id)
        log.info("worker stopped", extra=self._extra(event="worker_stopped"))
        return 0

    def _register(self) -> None:
        while not self.stopping.is_set():
            try:
                self.store.register(self.id)
                return
            except StoreUnavailable as exc:
                log.error("%s", exc, extra=self._extra(event="store_unavailable"))
                self.stopping.wait(2.0)

    def _solver_start(self) -> ProcessPoolExecutor:
        if self._solver is None:
            spawn = multiprocessing.get_context("spawn")  # no fork of a threaded process
            self._solver = ProcessPoolExecutor(1, mp_context=spawn, initializer=_child_init)
            self._solver_pid = self._solver.submit(os.getpid).result()
        return self._solver

    def _solver_stop(self) -> None:
        if self._solver is not None:
            with suppress(ProcessLookupError):
                os.kill(self._solver_pid, signal.SIGKILL)
            self._solver.shutdown(wait=True, cancel_futures=True)
            self._solver = None

    def step(self) -> bool:
        """Claim and run one job; False when none was waiting (after a short wait)."""
        job = self.store.claim(self.id, self.lease_s)
        if job is None:
            self.stopping.wait(self.settings.job_poll_s)
            return False
        self._job = job
        started = time.perf_counter()
        log.info(
            "job %s claimed",
            job.id,
            extra=self._extra(event="job_claimed", job=job.id, kind=job.kind, attempt=job.attempts),
        )
        try:
            result = self._solve(job)
        finally:
            self._job = None
        if result is None:  # stopping: back to the queue, the attempt not counted
            released = self.store.release(job.id, self.id)
            log.info(
                "job %s released",
                job.id,
                extra=self._extra(event="job_released" if released else "job_lost", job=job.id),
            )
            return True
        ok, body, report = result
        if ok:
            assert isinstance(body, bytes)
            written = self.store.complete(job.id, self.id, body, report)
        else:
            written = self.store.fail(job.id, self.id, str(body))
        event = ("job_done" if ok else "job_failed") if written else "job_lost"
        log.info(
            "job %s %s",
            job.id,
            event.removeprefix("job_"),
            extra=self._extra(
                event=event,
                job=job.id,
                kind=job.kind,
                attempt=job.attempts,
                seconds=round(time.perf_counter() - started, 3),
            )
            | ({} if ok else {"error": str(body)}),
        )
        return True

    def _solve(self, job: Claim) -> Outcome | None:
        """The job's outcome from the solver process; ``None`` if the worker is stopping."""
        limit = self._limit_s(job)
        deadline = time.monotonic() + limit
        pending = self._solver_start().submit(outcome, job, self._roads)
        while True:
            try:
                return pending.result(timeout=max(0.0, min(0.2, deadline - time.monotonic())))
            except FuturesTimeout:
                pass
            except BrokenProcessPool:
                self._solver_stop()
                return False, "the process solving the job died (out of memory?)", None
            if self.stopping.is_set():
                self._solver_stop()
                return None
            if time.monotonic() > deadline:
                self._solver_stop()
                setting = "plan_timeout_s" if job.kind == "plan" else "the job's time_limit_s"
                reason = (
                    f"stopped after the limit of {limit:g} s per {job.kind} job ({setting}); "
                    "ask for less at a time"
                )
                return False, reason, None

    def _limit_s(self, job: Claim) -> float:
        if job.kind == "plan":
            return self.settings.plan_timeout_s
        return 2 * float(job.request["request"].get("time_limit_s", 10.0)) + 60.0

    def _signal(self, signum: int, frame: Any) -> None:
        log.info("stopping", extra=self._extra(event="worker_stopping", signal=signum))
        self.stopping.set()

    def _heartbeat(self) -> None:
        """Renew the running job's lease and the worker's heartbeat, ``lease_s / 3`` apart."""
        period = min(self.lease_s / 3, 5.0)
        while not self.stopping.wait(period):
            job = self._job
            try:
                if job is not None:
                    kept = self.store.renew(job.id, self.id, self.lease_s)
                    if not kept and self._job is job:  # (not merely finished meanwhile)
                        lost = self._extra(event="lease_lost", job=job.id)
                        log.warning("job %s: lease lost", job.id, extra=lost)
                self.store.beat(self.id, None if job is None else job.id)
            except StoreUnavailable as exc:
                log.error("%s", exc, extra=self._extra(event="store_unavailable"))


def _exit_with_parent(parent: int) -> None:
    # Orphaned by a SIGKILLed server, a worker would run on unsupervised: its lease lapses and
    # the job is taken again elsewhere.
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


def main(settings: Settings | None = None, parent: int | None = None) -> int:
    """``silkroute worker``'s body."""
    log_json()
    worker = Worker(settings or Settings())
    if parent is not None:  # beside a server: a clean stop as soon as the server is gone
        _signal_when_parent_dies(signal.SIGTERM)
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    return worker.run()


# -- workers beside a server ---------------------------------------------------------------------


class WorkerProcesses:
    """``count`` worker processes beside a server, each restarted if it ends (a crash) until
    ``stop``. Each exits by itself if the server dies."""

    def __init__(self, count: int, env: dict[str, str] | None = None) -> None:
        self.count = count
        self.env = env
        self._processes: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from service.worker import main; "
                f"sys.exit(main(parent={os.getpid()}))",
            ],
            stdin=subprocess.DEVNULL,
            env=self.env,
        )

    def start(self) -> None:
        self._processes = [self._spawn() for _ in range(self.count)]
        self._watch = threading.Thread(target=self._restart, name="workers", daemon=True)
        self._watch.start()

    def pids(self) -> list[int]:
        return [process.pid for process in self._processes]

    def _restart(self) -> None:
        while not self._stop.wait(1.0):
            for index, process in enumerate(self._processes):
                code = process.poll()
                if code is not None and not self._stop.is_set():
                    log.warning("job worker %d exited with %d; starting another", process.pid, code)
                    self._processes[index] = self._spawn()

    def stop(self, timeout_s: float = 8.0) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join()
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in self._processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


_WORKER_SETTINGS = (
    "database_url",
    "database_path",
    "database_busy_timeout_s",
    "plan_max_attempts",
    "plan_timeout_s",
    "job_retention_days",
    "job_lease_s",
    "job_poll_s",
    "roads_file",
)


def worker_env(settings: Settings) -> dict[str, str]:
    """The environment for workers beside a server: the server's job settings."""
    env = dict(os.environ)
    for name in _WORKER_SETTINGS:
        value = getattr(settings, name)
        key = f"SILKROUTE_{name.upper()}"
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


@contextmanager
def job_workers(settings: Settings) -> Iterator[WorkerProcesses]:
    """``settings.job_workers`` worker processes for as long as the block runs (none for 0)."""
    processes = WorkerProcesses(settings.job_workers, worker_env(settings))
    if processes.count:
        processes.start()
    try:
        yield processes
    finally:
        if processes.count:
            processes.stop()
