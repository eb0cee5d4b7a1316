"""Route searches in worker processes, off the event loop and out of its interpreter lock.

A route search is pure Python and CPU-bound. In threads it would take turns with the event loop
for one interpreter lock, and the server would use one core however many the machine has. Each
worker here is a process (``serve_worker``) that loads the server's default network once and
answers route requests with the bytes ``silkroute route --json`` prints.

The server talks to its workers over their standard input and output, on its own event loop: a
request is a length-prefixed pickle of (pack directory, request JSON, ready time); an answer is
the JSON bytes or one of silkroute's exceptions (they pickle). ``concurrent.futures``' process
pool does the same through two helper threads; with a stand-in search on this 2-core machine
that cost the server about 360 us of CPU per search, against about 115 us for pipes read on the
event loop itself.

A worker that dies, or whose search runs past ``kill_after_s``, is replaced; its request gets
``SearchUnavailable`` (503, retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import pickle
import signal
import struct
import sys
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
    """One worker process: frames out on its input, frames back from its output.

    A protocol rather than stream readers: an answer costs the event loop one callback per chunk
    read and one future, which is most of what the server spends on a search besides HTTP.
    """

    def __init__(self) -> None:
        self.transport: asyncio.SubprocessTransport | None = None
        self._buffer = bytearray()
        self._frames: list[bytes] = []
        self._waiter: asyncio.Future[bytes] | None = None
        self._lost = False
        self._exited: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # the protocol: called by the event loop
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def pipe_data_received(self, fd: int, data: bytes | bytearray) -> None:
        if fd != 1:
            return
        buffer = self._buffer
        buffer += data
        while len(buffer) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer)
            if len(buffer) < _LENGTH.size + size:
                break
            frame = bytes(buffer[_LENGTH.size : _LENGTH.size + size])
            del buffer[: _LENGTH.size + size]
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(frame)
            else:
                self._frames.append(frame)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._lose()

    def process_exited(self) -> None:
        self._lose()
        if not self._exited.done():
            self._exited.set_result(None)

    def _lose(self) -> None:
        self._lost = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("the worker exited"))

    # what the pool calls
    async def read_frame(self, timeout_s: float) -> bytes:
        """The next frame; ``TimeoutError`` (and the worker killed) if none comes in time."""
        if self._frames:
            return self._frames.pop(0)
        if self._lost:
            raise ConnectionError("the worker exited")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bytes] = loop.create_future()
        self._waiter = waiter
        overrun = loop.call_later(timeout_s, self._overrun, waiter)  # cheaper than wait_for
        try:
            return await waiter
        finally:
            overrun.cancel()
            self._waiter = None

    def _overrun(self, waiter: asyncio.Future[bytes]) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError())
            self.kill()

    async def ask(self, request: bytes, timeout_s: float) -> tuple[bool, Any]:
        """Send a request; the answer's bytes (True) or the exception raised (False)."""
        assert self.transport is not None
        stdin = self.transport.get_pipe_transport(0)
        assert isinstance(stdin, asyncio.WriteTransport)
        stdin.write(_LENGTH.pack(len(request)) + request)
        frame = await self.read_frame(timeout_s)
        if frame[:1] == _ANSWER:
            return True, frame[1:]
        return False, pickle.loads(frame[1:])

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
    """``workers`` search processes, started on first use and stopped by ``close``."""

    def __init__(
        self,
        workers: int,
        network_dir: str | None,
        roads_file: str | None,
        kill_after_s: float,
        start_timeout_s: float = 120.0,
    ) -> None:
        self.workers = workers
        self.kill_after_s = kill_after_s
        self.start_timeout_s = start_timeout_s
        self._argv = [sys.executable, "-c", _WORKER_MAIN, network_dir or "", roads_file or ""]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: asyncio.Queue[_Worker | None] | None = None
        self._all: set[_Worker] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False

    def worker_pids(self) -> list[int]:
        return [worker.pid() for worker in self._all]

    async def search(self, pack_dir: str | None, request_json: str, ready: datetime) -> bytes:
        """The answer's JSON bytes; silkroute's exceptions from the search are raised here."""
        loop = asyncio.get_running_loop()
        if self._idle is None or self._loop is not loop:
            # first use, or an event loop other than the one the workers' pipes belong to (an app
            # driven without its lifespan): start afresh
            for old in self._all:
                old.kill()
            self._all = set()
            self._loop, self._idle = loop, asyncio.Queue()
            for _ in range(self.workers):
                self._replace()
        worker = await self._idle.get()
        if worker is None:  # a worker would not start: say so rather than wait
            raise SearchUnavailable("no route search worker could be started; retry later")
        request = pickle.dumps((pack_dir, request_json, ready))
        try:
            ok, value = await worker.ask(request, self.kill_after_s)
        except (TimeoutError, ConnectionError) as exc:
            self._retire(worker)
            reason = (
                f"the route search ran past {self.kill_after_s:g} s and was stopped"
                if isinstance(exc, TimeoutError)
                else "a route search worker stopped unexpectedly"
            )
            log.error("%s; starting a fresh worker", reason)
            raise SearchUnavailable(f"{reason}; retry in a moment") from None
        except BaseException:  # cancelled mid-answer: the pipe is out of step, drop the worker
            self._retire(worker)
            raise
        self._idle.put_nowait(worker)
        if ok:
            assert isinstance(value, bytes)
            return value
        raise value

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)
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
            _Worker,
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
            env=environment,
        )
        self._all.add(worker)
        try:
            greeting = await worker.read_frame(self.start_timeout_s)
        except (TimeoutError, ConnectionError):
            greeting = b""
        if self._idle is None:  # closed meanwhile
            worker.kill()
            self._all.discard(worker)
        elif greeting != _READY:
            worker.kill()
            self._all.discard(worker)
            log.error("a route search worker did not start (see its messages above); retrying")
            self._idle.put_nowait(None)  # one waiting request learns of it
            self._replace(delay_s=5.0)
        else:
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        """Stop every worker: end of input first, a kill after a moment."""
        self._closed = True
        for task in list(self._starting):
            task.cancel()
        workers, self._all, self._idle = list(self._all), set(), None
        await asyncio.gather(*(worker.stop(timeout_s=5) for worker in workers))
        self._closed = False


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
    out.write(_LENGTH.pack(len(frame)) + frame)
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
        pack_dir, request_json, ready = pickle.loads(source.read(size))
        try:
            network = loaded.network if pack_dir is None else load_network(pack_dir)
            frame = _ANSWER + route_answer(network, request_json, ready, loaded.roads())
        except Exception as exc:  # the server maps silkroute's errors to their status codes
            frame = _error_reply(exc)
        _write(out, frame)
