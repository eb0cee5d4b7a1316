"""Route searches in worker processes, off the event loop and out of its interpreter lock.

A route search is pure Python and CPU-bound. In threads it would take turns with the event loop
for one interpreter lock, and the server would use one core however many the machine has. Each
worker here is a process (``serve_worker``) that loads the server's default network once and
answers route requests with the bytes ``silkroute route --json`` prints.

The server talks to its workers over their standard input and output, on its own event loop: a
request is a length-prefixed JSON array of (pack directory, request JSON, ready time); an answer
is the JSON bytes or one of silkroute's exceptions (they pickle). ``concurrent.futures``' process
pool does the same through two helper threads; with a stand-in search on this 2-core machine
that cost the server about 360 us of CPU per search, against about 115 us for pipes read on the
event loop itself.

A worker that dies, or whose search runs past ``kill_after_s``, is replaced; every request in
its line gets ``SearchUnavailable`` (503, retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import operator
import os
import pickle
import signal
import struct
import sys
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from graphs import Network, load_network
from routing.routes import Avoid, find_routes, routes_answer
from service.schemas import RouteRequest

log = logging.getLogger("silkroute.service")

_LENGTH = struct.Struct("!I")
_STOPPED = "a route search worker stopped unexpectedly"
# Workers yield the CPU to the event loop: health checks, cached answers and the hand-off of the
# next search stay prompt while searches fill whatever CPU is left.
_NICE = 5
_WORKER_MAIN = "import sys; from service.searches import serve_worker; serve_worker(sys.argv[1:])"
_READY = b"ready"
_ANSWER, _ERROR = b"A", b"E"  # first byte of a reply: JSON bytes follow, or a pickled exception


class SearchUnavailable(Exception):
    """No worker could answer: one died or overran, or none would start. Retry."""


# -- the server's side ----------------------------------------------------------------------------


class _Worker(asyncio.SubprocessProtocol):
    """One worker process: requests out on its input, one reply each back from its output, in
    the order sent.

    A protocol rather than stream readers: a reply costs the event loop one callback per chunk
    read, and it settles the request's future right there, with the answer's bytes or the
    exception the search raised.

    Requests may queue in the worker's pipe (see ``SearchPool``): a busy worker then reads its
    next request as soon as it has written an answer, instead of sleeping until the event loop
    gets round to sending one. Only the request at the head of the line is timed; a worker whose
    head runs past its limit is killed, and every request in its line fails.
    """

    def __init__(self, pool: SearchPool) -> None:
        self.transport: asyncio.SubprocessTransport | None = None
        self.pool = pool
        self.load = 0  # the weights of the requests sent and not yet answered
        self.lost = False
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        # (future, time limit, weight) per reply expected, in order; the first is the greeting
        self._line: deque[tuple[asyncio.Future[bytes], float, int]] = deque()
        self._replies = 0  # replies received so far: which request a timer was set for
        self._clock: asyncio.TimerHandle | None = None
        self._exited: asyncio.Future[None] = self._loop.create_future()
        self.greeting: asyncio.Future[bytes] = self._loop.create_future()
        self._line.append((self.greeting, pool.start_timeout_s, 0))
        self._time_head()

    def send(self, request: bytes, answer: asyncio.Future[bytes], weight: int) -> None:
        """Write a request frame; ``answer`` gets the JSON bytes or the search's exception."""
        assert self.transport is not None
        stdin = self.transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        stdin.write(request)
        self.load += weight
        self._line.append((answer, self.pool.kill_after_s, weight))
        if len(self._line) == 1:
            self._time_head()

    # the protocol: called by the event loop
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        if fd != 1 or self.lost:
            return
        buffer = self._buffer
        buffer += data
        answered = False
        while len(buffer) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer)
            if len(buffer) < _LENGTH.size + size:
                break
            frame = bytes(buffer[_LENGTH.size : _LENGTH.size + size])
            del buffer[: _LENGTH.size + size]
            if not self._line:  # a reply to nothing: the worker is out of step
                self._fail(f"a route search worker sent {len(frame)} bytes nobody asked for")
                return
            waiter, _, weight = self._line.popleft()
            self._replies += 1
            if waiter is self.greeting:
                if not waiter.done():  # (cancelled if the pool closed while it started)
                    waiter.set_result(frame)
                continue
            self.load -= weight
            answered = True
            if waiter.done():  # (cancelled meanwhile: the answer is dropped)
                continue
            if frame[:1] == _ANSWER:
                waiter.set_result(frame[1:])
            else:
                waiter.set_exception(pickle.loads(frame[1:]))
        self._time_head()
        if answered:
            self.pool.dispatch()  # there is room in this line again

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._fail(_STOPPED)

    def process_exited(self) -> None:
        self._fail(_STOPPED)
        if not self._exited.done():
            self._exited.set_result(None)

    def _time_head(self) -> None:
        """Start the clock on the request now at the head of the line (cheaper than wait_for)."""
        if self._clock is not None:
            self._clock.cancel()
            self._clock = None
        if self._line:
            _, timeout_s, _ = self._line[0]
            self._clock = self._loop.call_later(timeout_s, self._overrun, self._replies)

    def _overrun(self, replies: int) -> None:
        if self._replies == replies and self._line:  # the same head, still unanswered
            _, timeout_s, _ = self._line[0]
            self._fail(f"the route search ran past {timeout_s:g} s and was stopped")

    def _fail(self, reason: str) -> None:
        """Kill the worker; every request in its line gets ``SearchUnavailable`` (once)."""
        if self.lost:
            return
        self.lost = True
        self.kill()
        if self._clock is not None:
            self._clock.cancel()
        head = True
        while self._line:
            waiter, _, _ = self._line.popleft()
            if not waiter.done():
                why = reason if head else _STOPPED
                waiter.set_exception(SearchUnavailable(f"{why}; retry in a moment"))
            head = False
        self.load = 0
        self.pool.worker_lost(self, reason)

    # what the pool calls
    def pid(self) -> int:
        assert self.transport is not None
        return self.transport.get_pid()

    def close_input(self) -> None:
        if self.transport is not None:
            stdin = self.transport.get_pipe_transport(0)
            if stdin is not None:
                stdin.close()

    def kill(self) -> None:
        """Kill the process and let go of its pipes (also when their event loop is gone)."""
        if self.transport is not None:
            with contextlib.suppress(ProcessLookupError, RuntimeError):
                self.transport.kill()
            with contextlib.suppress(RuntimeError):
                self.transport.close()

    async def stop(self, timeout_s: float) -> None:
        """End the worker's input and wait for it to exit; killed after ``timeout_s``."""
        self.close_input()
        try:
            await asyncio.wait_for(asyncio.shield(self._exited), timeout_s)
        except TimeoutError:
            self.kill()
            await self._exited
        self.kill()  # (exited: this closes the pipes)


class SearchPool:
    """``workers`` search processes, started on first use and stopped by ``close``.

    A search goes to the worker with the lightest line, and waits in the pool's queue while every
    line is full. A line holds ``depth`` light searches (one best route on the default network,
    a millisecond or so) or one heavy search (alternatives, a Pareto front, a user's pack: up to
    hundreds of milliseconds), so that nothing waits in a worker's pipe behind a heavy search.

    Why lines at all: a worker with requests in its pipe goes from one answer to the next
    without sleeping, and the event loop wakes it less often. On 2 cores under load, a depth of
    4 against 2 cut the CPU per new route query by about a tenth (loop, workers and client,
    ``scripts/bench_service.py``); deeper lines gained little more.
    """

    def __init__(
        self,
        workers: int,
        network_dir: str | None,
        roads_file: str | None,
        kill_after_s: float,
        start_timeout_s: float = 120.0,
        depth: int = 4,
    ) -> None:
        self.workers, self.depth = workers, depth
        self.kill_after_s = kill_after_s
        self.start_timeout_s = start_timeout_s
        self._argv = [sys.executable, "-c", _WORKER_MAIN, network_dir or "", roads_file or ""]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready: list[_Worker] = []  # started and answering
        self._all: set[_Worker] = set()  # also those starting
        # requests waiting for room in a line: (frame, answer, weight)
        self._queue: deque[tuple[bytes, asyncio.Future[bytes], int]] = deque()
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False

    def worker_pids(self) -> list[int]:
        return [worker.pid() for worker in self._all]

    def occupancy(self) -> tuple[list[int], int]:
        """The load of each answering worker's line, and how many searches wait for room."""
        return [worker.load for worker in self._ready], len(self._queue)

    def submit(
        self, pack_dir: str | None, request_json: str, ready: datetime, *, heavy: bool = False
    ) -> asyncio.Future[bytes]:
        """The answer's JSON bytes, to come; or silkroute's exception from the search, or
        ``SearchUnavailable``. A ``heavy`` search takes a worker's line to itself."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # first use, or an event loop other than the one the workers' pipes belong to (an app
            # driven without its lifespan): start afresh
            for old in self._all:
                old.kill()
            self._all, self._ready, self._queue = set(), [], deque()
            self._loop = loop
            for _ in range(self.workers):
                self._replace()
        answer: asyncio.Future[bytes] = loop.create_future()
        request = orjson.dumps([pack_dir, request_json, ready.isoformat()])
        weight = self.depth if heavy else 1
        self._queue.append((_frame(request), answer, weight))
        self.dispatch()
        return answer

    async def search(
        self, pack_dir: str | None, request_json: str, ready: datetime, *, heavy: bool = False
    ) -> bytes:
        return await self.submit(pack_dir, request_json, ready, heavy=heavy)

    def dispatch(self) -> None:
        """Hand queued requests, oldest first, to the lightest lines while there is room."""
        queue = self._queue
        while queue and self._ready:
            worker = min(self._ready, key=_LOAD)
            if worker.load >= self.depth:
                return
            request, answer, weight = queue.popleft()
            if not answer.done():  # (not cancelled while it waited)
                worker.send(request, answer, weight)

    def worker_lost(self, worker: _Worker, reason: str) -> None:
        """A worker was killed or died: start another in its place. (One still starting is
        ``_start_one``'s to retry.)"""
        if worker in self._ready:
            self._ready.remove(worker)
            self._all.discard(worker)
            log.error("%s; starting a fresh worker", reason)
            self._replace()

    def _replace(self, delay_s: float = 0.0) -> None:
        if self._closed:
            return
        task = asyncio.get_running_loop().create_task(self._start_one(delay_s))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _start_one(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        environment = os.environ | {"PYTHONPATH": os.pathsep.join(_import_path())}
        _, worker = await asyncio.get_running_loop().subprocess_exec(
            functools.partial(_Worker, self),
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
            env=environment,
        )
        self._all.add(worker)
        try:
            greeting = await worker.greeting
        except SearchUnavailable:
            greeting = b""
        if self._closed or worker not in self._all:  # closed, or restarted on another loop
            worker.kill()
            self._all.discard(worker)
        elif greeting != _READY:
            worker.kill()
            self._all.discard(worker)
            log.error("a route search worker did not start (see its messages above); retrying")
            while self._queue:  # the longest-waiting search learns of it rather than wait on
                _, answer, _ = self._queue.popleft()
                if not answer.done():
                    answer.set_exception(
                        SearchUnavailable("no route search worker could be started; retry later")
                    )
                    break
            self._replace(delay_s=5.0)
        else:
            self._ready.append(worker)
            self.dispatch()

    async def close(self) -> None:
        """Stop every worker: end of input first, a kill after a moment."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        for _, answer, _ in self._queue:
            answer.cancel()
        workers, self._all, self._ready, self._queue = list(self._all), set(), [], deque()
        self._loop = None
        await asyncio.gather(*(worker.stop(timeout_s=5) for worker in workers))
        self._closed = False


_LOAD = operator.attrgetter("load")


def _frame(payload: bytes) -> bytes:
    """``payload`` as it crosses a pipe, either way: its length, then itself."""
    return _LENGTH.pack(len(payload)) + payload


def _import_path() -> list[str]:
    """This process's import path, so that a worker finds the same packages."""
    return [entry for entry in sys.path if entry and Path(entry).is_dir()]


# -- the worker's side ----------------------------------------------------------------------------


class _Loaded:
    """What one worker keeps between searches."""

    def __init__(self, network_dir: str | None, roads_file: str | None) -> None:
        self.network: Network = load_network(network_dir)
        self.roads_file = roads_file
        self._roads: Any = None

    def roads(self) -> Any:
        if self.roads_file is not None and self._roads is None:
            from graphs.roads import load_road_graph  # osmnx is slow to import: on first use

            self._roads = load_road_graph(Path(self.roads_file))
        return self._roads


def route_answer(network: Network, request_json: str, ready: datetime, roads: Any = None) -> bytes:
    """The JSON answer to one route request; ``ready`` is the request's, resolved by the server."""
    body = RouteRequest.model_validate_json(request_json)
    shipment = body.to_shipment(ready)
    # orjson: a tenth of the standard encoder's time on an answer; it would write a NaN as null,
    # and a route's own check (``Route.to_dict``) keeps NaN out.
    return orjson.dumps(
        routes_answer(
            lambda: find_routes(
                network,
                shipment,
                objective=body.objective,
                alternatives=body.alternatives,
                pareto=body.pareto,
                avoid=Avoid.of(
                    countries=body.avoid.countries,
                    nodes=body.avoid.nodes,
                    crossings=body.avoid.crossings,
                    modes=body.avoid.modes,
                ),
                modes=body.modes,
                max_transit_days=body.max_transit_days,
                max_cost_usd=body.max_cost_usd,
                value_of_time_usd_per_day=body.value_of_time_usd_per_day,
                carbon_price_usd_per_t=body.carbon_price_usd_per_t,
                roads=roads,
            )
        )
    )


def _error_reply(exc: Exception) -> bytes:
    try:
        return _ERROR + pickle.dumps(exc)
    except Exception:  # an exception that does not pickle still reaches the server, as text
        return _ERROR + pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))


def _write(out: IO[bytes], frame: bytes) -> None:
    out.write(_frame(frame))
    out.flush()


def serve_worker(argv: Sequence[str]) -> None:
    """A worker's life: load, say ready, answer requests until the server closes the input.

    Ctrl-C reaches the whole process group; the server, not its workers, decides what it means.
    Standard output carries answers only: anything else printed goes to standard error.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.nice(_NICE)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    source = sys.stdin.buffer
    network_dir, roads_file = (argv[0] or None), (argv[1] or None)
    loaded = _Loaded(network_dir, roads_file)
    gc.collect()
    gc.freeze()  # the network lives as long as the worker: keep the collector off it
    _write(out, _READY)
    while True:
        head = source.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return  # the server closed our input: done
        (size,) = _LENGTH.unpack(head)
        pack_dir, request_json, ready_text = orjson.loads(source.read(size))
        ready = datetime.fromisoformat(ready_text)
        try:
            network = loaded.network if pack_dir is None else load_network(pack_dir)
            frame = _ANSWER + route_answer(network, request_json, ready, loaded.roads())
        except Exception as exc:  # the server maps silkroute's errors to their status codes
            frame = _error_reply(exc)
        _write(out, frame)
