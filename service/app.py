"""The HTTP service: a thin FastAPI adapter over ``graphs`` and ``routing``.

Every answer is computed by the same calls the CLI makes (``routes_answer(find_routes(...))``,
``plan(...)``, ``network_to_dict``), so ``silkroute route --json`` and ``POST /v1/routes`` give
the same JSON. Silkroute's exceptions become status codes in one place, ``_install_handlers``.

Places: ``GET /v1/places?q=`` answers 200 also when nothing matches, with an empty ``places``
list and the closest known names in ``suggestions`` (a search that finds nothing succeeded; the
CLI's exit code 1 is the shell's way of saying the same).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import logging
import math
import re
import secrets
import uuid
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from importlib import metadata
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

import anyio
import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphs import Network, load_network
from graphs.errors import (
    DataPackError,
    InfeasiblePlanError,
    InputError,
    NoRouteError,
    SilkrouteError,
    UnknownPlaceError,
)
from graphs.export import network_geojson, network_to_dict
from routing.lastmile import place_coordinates
from routing.options import RouteOptions
from routing.routes import find_routes, routes_answer
from routing.scenario import apply_scenario
from routing.stopping import Stop, StoppedError
from service.jobs import Job, JobStore, QueueFull, StoreUnavailable, database_url
from service.schemas import (
    ErrorBody,
    Health,
    PlacesAnswer,
    PlanJobOut,
    PlanRequest,
    Readiness,
    RouteRequest,
    RoutesAnswer,
    TourJobOut,
    TourRequest,
    field_path,
)
from service.settings import PACK_NAME, Settings

log = logging.getLogger("silkroute.service")

Body = TypeVar("Body", bound=BaseModel)

try:
    VERSION = metadata.version("silkroute")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    VERSION = "0.0.0"

_STATIC = files("service") / "static"
# The page and its assets, by fixed name: no part of a request becomes a file path. The country
# outlines are the ones every map of the project draws (routing/data).
_ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "favicon.ico": "image/x-icon",
    "vendor/leaflet/leaflet.js": "text/javascript; charset=utf-8",
    "vendor/leaflet/leaflet.css": "text/css; charset=utf-8",
    "vendor/leaflet/LICENSE": "text/plain; charset=utf-8",
    "vendor/leaflet/images/layers.png": "image/png",
    "vendor/leaflet/images/layers-2x.png": "image/png",
    "vendor/leaflet/images/marker-icon.png": "image/png",
    "vendor/leaflet/images/marker-icon-2x.png": "image/png",
    "vendor/leaflet/images/marker-shadow.png": "image/png",
    "countries.geojson": "application/geo+json",
}
_ELSEWHERE = {"countries.geojson": files("routing") / "data" / "countries.geojson"}


# -- errors the service raises itself ------------------------------------------------------------


class FieldError(Exception):
    """A request field the service itself rejects (over a server limit, an unknown pack)."""

    def __init__(
        self,
        loc: list[str | int],
        message: str,
        *,
        status: int = 422,
        kind: str = "invalid",
        value: Any = None,
        suggestions: list[str] | None = None,
    ) -> None:
        self.loc, self.message, self.status = loc, message, status
        self.kind, self.value, self.suggestions = kind, value, suggestions
        super().__init__(message)


class Busy(Exception):
    """Too much is being computed; the client should retry after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


def _error(
    status: int, items: list[dict[str, Any]], headers: dict[str, str] | None = None
) -> JSONResponse:
    """Every error answer has this one shape (``ErrorBody``): ``{"detail": [item, ...]}``, each
    item ``{"type", "loc", "msg", "input"}`` and, for unknown places, ``suggestions``."""
    return JSONResponse({"detail": items}, status_code=status, headers=headers)


def _item(
    kind: str, loc: list[str | int], msg: str, value: Any = None, **extra: Any
) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value} | extra


def _echo(value: Any) -> Any:
    """The part of a rejected input worth echoing: short scalars only, always valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value[:200]
    if value is None or isinstance(value, bool | int | float):
        return value
    return None


_SCENARIO_COLUMN = re.compile(r"\[(\d+)\]")
_HTTP_KINDS: dict[int, tuple[str, list[str | int]]] = {
    401: ("unauthorized", ["header", "X-API-Key"]),
    403: ("forbidden", ["header", "X-API-Key"]),
    404: ("not_found", ["path"]),
    405: ("method_not_allowed", ["path"]),
}
# A \uD800-\uDFFF escape in JSON text, with the backslashes before it (an odd count: an escape).
_SURROGATE_ESCAPE = re.compile(rb"(\\+)u([dD][89a-fA-F][0-9a-fA-F]{2})")


def lone_surrogate(body: bytes) -> bool:
    """Whether JSON text ``body`` escapes a UTF-16 surrogate that is not half of a pair: such a
    string is no text (it cannot be stored or written as UTF-8), so the body is refused whole."""
    if b"\\u" not in body:
        return False
    pending = -1  # where the low half must start after a high half
    for match in _SURROGATE_ESCAPE.finditer(body):
        if len(match.group(1)) % 2 == 0:
            continue  # "\\\\ud800": an escaped backslash, then plain text
        start = match.end(1) - 1
        if pending >= 0 and start != pending:
            return True
        if int(match.group(2), 16) < 0xDC00:
            pending = match.end()
        elif start == pending:
            pending = -1
        else:
            return True
    return pending >= 0


def _install_handlers(app: FastAPI) -> None:
    """The one place where errors become status codes.

    ``request.state`` may carry ``place_field`` (which body field named an unknown place) and
    ``pack_field`` (the field whose pack or scenario a ``DataPackError`` came from).
    """

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        items = [
            _item(
                str(error.get("type", "invalid")),
                [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
                str(error.get("msg", "invalid")),
                _echo(error.get("input")),
            )
            for error in exc.errors()[:50]
        ]
        return _error(422, items)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette's own answers (unknown path, wrong method) and the API key's, in our shape
        kind, loc = _HTTP_KINDS.get(exc.status_code, ("http_error", []))
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such resource: {request.url.path[:200]}"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path[:200]}"
        headers = dict(exc.headers) if exc.headers else None
        return _error(exc.status_code, [_item(kind, list(loc), message)], headers)

    @app.exception_handler(UnknownPlaceError)
    async def unknown_place(request: Request, exc: UnknownPlaceError) -> Response:
        locate: Callable[[str], str] | None = getattr(request.state, "place_field", None)
        loc = field_path(locate(exc.query) if locate else None)
        item = _item("unknown_place", loc, str(exc), exc.query, suggestions=exc.suggestions)
        return _error(422, [item])

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError) -> Response:
        return _error(422, [_item("invalid", field_path(exc.field), exc.detail)])

    @app.exception_handler(DataPackError)
    async def bad_pack(request: Request, exc: DataPackError) -> Response:
        field: str | None = getattr(request.state, "pack_field", None)
        if field is None:
            log.error("network pack error: %s", exc)
            return _error(503, [_item("network_pack", [], f"the server's network pack: {exc}")])
        column = _SCENARIO_COLUMN.sub(r".\1", exc.column or "")
        return _error(422, [_item("invalid", field_path(f"{field}.{column}"), exc.detail)])

    @app.exception_handler(NoRouteError)
    async def no_route(request: Request, exc: NoRouteError) -> Response:
        return _error(422, [_item("no_route", ["body"], exc.reason)])

    @app.exception_handler(InfeasiblePlanError)
    async def infeasible(request: Request, exc: InfeasiblePlanError) -> Response:
        return _error(422, [_item("infeasible", ["body"], str(exc))])

    @app.exception_handler(SilkrouteError)
    async def other(request: Request, exc: SilkrouteError) -> Response:
        return _error(422, [_item("invalid", ["body"], str(exc))])

    @app.exception_handler(FieldError)
    async def field_error(request: Request, exc: FieldError) -> Response:
        extra = {} if exc.suggestions is None else {"suggestions": exc.suggestions}
        return _error(exc.status, [_item(exc.kind, exc.loc, exc.message, exc.value, **extra)])

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: StoreUnavailable) -> Response:
        item = _item("jobs_unavailable", [], str(exc))
        return _error(503, [item], {"Retry-After": "5"})

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, exc: QueueFull) -> Response:
        item = _item("queue_full", [], f"{exc}; retry later")
        return _error(503, [item], {"Retry-After": "30"})

    @app.exception_handler(Busy)
    async def busy(request: Request, exc: Busy) -> Response:
        item = _item("busy", [], str(exc))
        return _error(503, [item], {"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(RecursionError)
    async def too_deep(request: Request, exc: RecursionError) -> Response:
        return _error(422, [_item("too_deep", ["body"], "the body is nested too deeply")])

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        reference = uuid.uuid4().hex[:12]
        log.error(
            "internal error %s on %s %s",
            reference,
            request.method,
            request.url.path,
            exc_info=exc,
        )
        item = _item("internal", [], f"internal error (reference {reference}); please report it")
        return _error(500, [item])


_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorBody, "description": "Invalid input; `loc` names the field."},
    503: {"model": ErrorBody, "description": "Busy or jobs database unavailable; see Retry-After."},
}


# -- bounded request bodies ----------------------------------------------------------------------


class BodyLimit:
    """Reads a request body whole, up to ``max_bytes`` and within ``timeout_s``, before the app
    sees it: 413 for a larger body (declared or streamed), 408 for one that trickles in."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app, self.max_bytes, self.timeout_s = app, max_bytes, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        if declared is None and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        if declared is not None:
            if not declared.isdigit():
                await self._reject(send, 400, "invalid Content-Length")
                return
            if int(declared) > self.max_bytes:
                await self._reject(send, 413, self._too_large())
                return
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.timeout_s):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        await self._reject(send, 413, self._too_large())
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await self._reject(send, 408, f"request body not received in {self.timeout_s:g} s")
            return
        body = b"".join(chunks)
        if lone_surrogate(body):
            await self._reject(
                send, 422, "the body holds a lone UTF-16 surrogate (such as \\ud800): not text"
            )
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body is larger than the server's limit of {self.max_bytes} bytes"

    @staticmethod
    async def _reject(send: Send, status: int, message: str) -> None:
        kind = {400: "bad_request", 408: "timeout", 413: "too_large", 422: "invalid_text"}[status]
        body = json.dumps({"detail": [_item(kind, ["body"], message)]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# -- route searches: bounded, timed, remembered ---------------------------------------------------


class AnswerCache:
    """Answers to route queries by key, least recently used out first, within a byte budget.

    Keys are strings and answers bytes: objects the garbage collector does not track, so a full
    cache adds nothing to the collector's passes over the heap (which pause every request). Used
    by ``RouteGate`` on the event loop only, so it takes no lock.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0

    def get(self, key: str) -> bytes | None:
        data = self._entries.get(key)
        if data is not None:
            self._entries.move_to_end(key)
        return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes // 8:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._entries[key] = data
        self._bytes += len(data)
        while self._bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped)


class RouteGate:
    """Route searches, each within its request's time budget, and answers to repeated queries
    from memory.

    A search runs in a thread (anyio's, as Starlette runs plain endpoints), so the event loop
    goes on accepting and answering while it computes; at most ``threads`` run at once and
    ``queue_size`` wait (then 503). The budget covers the wait and the search: the search's
    ``Stop`` ends it at the deadline, and a request still waiting just after it (a search that
    did not reach a check in time) is answered 503 and its search told to stop.
    """

    def __init__(self, threads: int, queue_size: int, budget_s: float, cache_bytes: int) -> None:
        self.threads, self.queue_size, self.budget_s = threads, queue_size, budget_s
        self.cache = AnswerCache(cache_bytes)
        self._limiter: anyio.CapacityLimiter | None = None
        self._stops: set[Stop] = set()

    async def answer(self, key: str, search: Callable[[Stop], bytes]) -> bytes:
        """``search(stop)``'s answer, from memory when ``key`` was answered in full before."""
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        if self._limiter is None:  # made on the event loop that uses it
            self._limiter = anyio.CapacityLimiter(self.threads)
        if self._limiter.statistics().tasks_waiting >= self.queue_size:
            raise Busy("too many route searches waiting; retry in a moment")
        stop = Stop(self.budget_s)
        self._stops.add(stop)
        try:
            with anyio.fail_after(self.budget_s + _ABANDON_AFTER_S):
                data = await anyio.to_thread.run_sync(
                    _unless_stopped, search, stop, limiter=self._limiter, abandon_on_cancel=True
                )
            complete = not stop()
        except TimeoutError:  # the budget, spent waiting or searching (StoppedError is one)
            raise Busy(
                f"no route found within the server's time budget of {self.budget_s:g} s; "
                "retry later, or ask for fewer alternatives or no Pareto front",
                retry_after_s=5,
            ) from None
        finally:
            stop.cancel()  # a search whose request gave up stops at its next check
            self._stops.discard(stop)
        if complete:  # (a search cut short by its budget may have found fewer alternatives)
            self.cache.put(key, data)
        return data

    def cancel(self) -> None:
        """Stop the searches still in progress (the server is stopping)."""
        for stop in list(self._stops):
            stop.cancel()


# A search checks its stop every 64 labels; past its deadline by this much it is abandoned.
_ABANDON_AFTER_S = 0.5


def _unless_stopped(search: Callable[[Stop], bytes], stop: Stop) -> bytes:
    """``search(stop)``, unless the budget was spent waiting for a thread."""
    if stop():
        raise StoppedError("the time budget was spent before the search could start")
    return search(stop)


def _route_answer(
    network: Network, body: RouteRequest, ready: datetime, roads: Any, stop: Stop
) -> bytes:
    """The JSON answer to one route request, as ``silkroute route --json`` prints it."""
    shipment = body.to_shipment(ready)
    # orjson: a tenth of the standard encoder's time on an answer; it would write a NaN as null,
    # and a route's own check (``Route.to_dict``) keeps NaN out.
    return orjson.dumps(
        routes_answer(
            lambda: find_routes(
                network,
                shipment,
                # every route option, by the one definition the request inherits
                **{name: getattr(body, name) for name in RouteOptions.model_fields},
                roads=roads,
                stop=stop,
            )
        )
    )


def _json_bytes(data: Any) -> bytes:
    """Compact UTF-8 JSON; NaN and infinity are refused rather than written. (Answers are trees
    built here, never cyclic: the encoder need not look for cycles.)"""
    return json.dumps(
        data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, check_circular=False
    ).encode()


@lru_cache(maxsize=8)
def _network_json(network: Network) -> bytes:
    return _json_bytes(network_to_dict(network))


@lru_cache(maxsize=8)
def _network_geojson(network: Network) -> bytes:
    return _json_bytes(network_geojson(network))


def _json(data: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(data, status_code=status, media_type="application/json", headers=headers)


# -- the application -----------------------------------------------------------------------------


class Service:
    """What the endpoints share: settings, the default network, the route gate and the jobs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.gate = RouteGate(
            settings.route_threads,
            settings.route_queue_size,
            settings.route_timeout_s,
            settings.route_cache_bytes,
        )
        self.store = JobStore(
            database_url(settings.database_url, settings.database_path),
            busy_timeout_s=settings.database_busy_timeout_s,
            max_attempts=settings.plan_max_attempts,
            retention_days=settings.job_retention_days,
        )
        self._network: Network | None = None
        self._health: bytes | None = None
        self._tokens: weakref.WeakKeyDictionary[Network, int] = weakref.WeakKeyDictionary()
        self._next_token = itertools.count()

    @property
    def network(self) -> Network:
        if self._network is None:
            self._network = load_network(self.settings.network_dir)
        return self._network

    def roads(self) -> Any:
        """The configured OSM road extract, loaded on first use (osmnx is slow to import)."""
        if self.settings.roads_file is None:
            return None
        from graphs.roads import load_road_graph

        return load_road_graph(self.settings.roads_file)

    def health(self) -> bytes:
        if self._health is None:
            stats = self.network.stats()
            self._health = _json_bytes({"status": "ok", "network": stats, "version": VERSION})
        return self._health

    def start(self) -> None:
        self.health()  # a bad pack stops the start-up with the loader's message
        try:
            self.store.open()
        except StoreUnavailable as exc:
            log.error("jobs unavailable until this is fixed: %s", exc)

    def stop(self) -> None:
        self.store.close()

    def readiness(self) -> tuple[int, bytes]:
        """``/ready``: the job database and the live workers (heartbeat within three leases)."""
        answer: dict[str, Any] = {"database": self.store.name, "workers": []}
        try:
            answer["jobs"] = self.store.counts()
            answer["workers"] = self.store.live_workers(3 * self.settings.job_lease_s)
        except StoreUnavailable as exc:
            answer |= {"status": "database_unavailable", "database_error": str(exc)}
            return 503, _json_bytes(answer)
        answer["status"] = "ready" if answer["workers"] else "no_workers"
        return 200, _json_bytes(answer)

    def network_token(self, network: Network) -> int:
        """A number for ``network`` that no other network gets (``id`` may be reused)."""
        token = self._tokens.get(network)
        if token is None:
            token = self._tokens.setdefault(network, next(self._next_token))
        return token

    def pack(self, name: str | None, loc: list[str | int]) -> tuple[Network, str | None]:
        """The default network, or the user pack ``name`` from ``networks_root`` only."""
        if name is None:
            return self.network, None
        root = self.settings.networks_root
        if root is None:
            raise FieldError(loc, "this server offers no user network packs", value=name)
        known = self.settings.pack_names()
        if not PACK_NAME.match(name) or name not in known:
            raise FieldError(
                loc, f"no network pack '{name}' on this server", value=name, suggestions=known
            )
        directory = (root / name).resolve()
        if directory.parent != root.resolve():  # a symlink leading out of the root
            raise FieldError(loc, f"no network pack '{name}' on this server", value=name)
        try:
            return load_network(directory), str(directory)
        except DataPackError as exc:
            raise FieldError(loc, f"network pack '{name}' is invalid: {exc}", value=name) from None


def _json_body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of an operation that parses ``model`` itself (``_parsed``);
    ``_document_bodies`` puts the model's schema into the document's components."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _parsed(model: type[Body], raw: bytes) -> Body:
    """``raw`` JSON as ``model``; a 422 naming each field as FastAPI's own parsing would."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        errors = [error | {"loc": ("body", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from None


def _document_bodies(app: FastAPI, *models: type[BaseModel]) -> None:
    """Add the schemas of bodies parsed by hand (``_json_body``) to the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = build()  # (FastAPI keeps it as app.openapi_schema)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, schema in found.pop("$defs", {}).items():
                components.setdefault(name, schema)
            components[model.__name__] = found
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service as an ASGI app; nothing is loaded or opened until it starts."""
    settings = settings or Settings()
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(service.start)
        # Everything loaded so far (network, app, schemas) lives as long as the server: keep the
        # collector's full passes, which pause every request, from walking it again and again.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            service.gate.cancel()
            await asyncio.to_thread(service.stop)

    app = FastAPI(
        title="silkroute",
        version=VERSION,
        description="Freight routes, batch plans and the network of the New Silk Road. "
        "Units are in every field name; times are UTC ISO-8601.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s
    )
    _install_handlers(app)

    key_header = APIKeyHeader(name="X-API-Key", auto_error=False)

    async def require_key(key: str | None = Depends(key_header)) -> None:
        # async: a comparison of two short strings is no reason for a trip through a thread
        expected = settings.api_key
        assert expected is not None
        if key is None:
            raise HTTPException(401, "this server needs an X-API-Key header on every POST")
        if not secrets.compare_digest(key.encode(), expected.get_secret_value().encode()):
            raise HTTPException(403, "the X-API-Key is not valid")

    # Without a key the POSTs carry no dependency at all: resolving one costs every request, and
    # the OpenAPI document then rightly shows no security scheme.
    keyed = [Depends(require_key)] if settings.api_key is not None else []

    @app.get("/health", response_model=Health, tags=["service"])
    async def health() -> Response:
        """The service is up; the default network's size."""
        return _json(service.health())

    @app.get(
        "/ready",
        response_model=Readiness,
        responses={503: {"model": Readiness}},
        tags=["service"],
    )
    def ready() -> Response:
        """Ready to take jobs: the job database answers (else 503) and which workers are live."""
        status, data = service.readiness()
        return _json(data, status=status, headers={"Cache-Control": "no-store"})

    @app.get("/v1/places", response_model=PlacesAnswer, responses=_ERRORS, tags=["network"])
    def places(
        q: str = Query("", max_length=200, description="Id, name or alias; empty lists all."),
        country: str | None = Query(None, max_length=60, description="ISO code or name."),
        kind: str | None = Query(None, max_length=30, description="rail_terminal, sea_port..."),
        network: str | None = Query(None, pattern=PACK_NAME.pattern),
    ) -> Response:
        """Places matching ``q``, best first, of ``country`` and ``kind`` when given;
        ``suggestions`` when none match."""
        net, _ = service.pack(network, ["query", "network"])
        found = net.places.search(q, country=country, kind=kind)
        return _json(
            _json_bytes(
                {
                    "query": q,
                    "places": [_place(node) for node in found],
                    "suggestions": [] if found else net.places.suggest(q),
                }
            )
        )

    @app.get("/v1/network", responses=_ERRORS, tags=["network"])
    def network_json(network: str | None = Query(None, pattern=PACK_NAME.pattern)) -> Response:
        """Every record of the network, as ``silkroute network --json`` prints it."""
        net, _ = service.pack(network, ["query", "network"])
        return _json(_network_json(net), headers={"Cache-Control": "max-age=300"})

    @app.get("/v1/network.geojson", responses=_ERRORS, tags=["network"])
    def network_geo(network: str | None = Query(None, pattern=PACK_NAME.pattern)) -> Response:
        """Nodes as points and links as lines (RFC 7946), for maps."""
        net, _ = service.pack(network, ["query", "network"])
        data = _network_geojson(net)
        return Response(
            data, media_type="application/geo+json", headers={"Cache-Control": "max-age=300"}
        )

    @app.post(
        "/v1/routes",
        response_model=RoutesAnswer,
        responses=_ERRORS,
        dependencies=keyed,
        tags=["routing"],
        openapi_extra=_json_body(RouteRequest),
    )
    async def post_routes(request: Request) -> Response:
        """Route one shipment: the best route, alternatives or the Pareto front.

        200 also when no route exists: ``routes`` is empty and ``infeasible_reason`` says why.
        """
        # Not a plain ``def``: a repeated query is answered from memory without a trip through
        # a thread, and the search gets its time budget. The body is parsed here, not by a
        # ``RouteRequest`` parameter: pydantic straight from the bytes costs the event loop
        # about 35 us less per request than FastAPI's way, on the endpoint that carries the load.
        body = _parsed(RouteRequest, await request.body())
        request.state.place_field = body.place_field
        if body.alternatives > settings.max_alternatives:
            raise FieldError(
                ["body", "alternatives"],
                f"at most {settings.max_alternatives} on this server",
                value=body.alternatives,
            )
        if body.network is None:
            net = service.network
        else:  # a user pack: a directory listing and file stats, off the event loop
            net, _ = await asyncio.to_thread(service.pack, body.network, ["body", "network"])
        ready = body.ready_at()  # "today" resolved once, here
        data = await service.gate.answer(
            f"{service.network_token(net)} {ready.isoformat()} "
            f"{body.model_dump_json(exclude={'ready'})}",
            lambda stop: _route_answer(net, body, ready, service.roads(), stop),
        )
        return _json(data)

    @app.post(
        "/v1/plans",
        status_code=202,
        response_model=PlanJobOut,
        responses=_ERRORS,
        dependencies=keyed,
        tags=["planning"],
    )
    def post_plans(body: PlanRequest, request: Request) -> Response:
        """Queue a plan of many shipments against shared capacity; poll ``/v1/plans/{id}``."""
        request.state.place_field = body.place_field
        if len(body.shipments) > settings.max_shipments_per_plan:
            raise FieldError(
                ["body", "shipments"],
                f"{len(body.shipments)} shipments; at most {settings.max_shipments_per_plan} "
                "per plan on this server",
            )
        if body.time_limit_s is not None and body.time_limit_s > settings.max_solver_seconds:
            raise FieldError(
                ["body", "time_limit_s"],
                f"at most {settings.max_solver_seconds:g} s on this server",
                value=body.time_limit_s,
            )
        body.to_settings()  # a bad setting is a 422 now, not a failed job later
        net, directory = service.pack(body.network, ["body", "network"])
        shipments = body.to_shipments()
        _resolve_all(net, (name for s in shipments for name in (s.origin, s.destination)))
        if body.scenario is not None:
            request.state.pack_field = "scenario"
            apply_scenario(net, body.scenario, file="scenario")
        job = service.store.submit(
            "plan",
            {
                "request": body.model_dump(mode="json"),
                "network_dir": directory
                if directory is not None
                else _default_dir(settings.network_dir),
                "time_limit_s": settings.solver_seconds(body.time_limit_s),
            },
            settings.plan_queue_size,
        )
        return _job_answer(job, "plan", status=202, location=f"/v1/plans/{job.id}")

    def known_job(job_id: str, kind: str) -> Job:
        """The stored job of ``kind``, or 404 naming the path parameter."""
        job = service.store.get(job_id, kind)
        if job is None:
            raise FieldError(
                ["path", "job_id"], f"no {kind} job '{job_id}'", status=404, kind="not_found"
            )
        return job

    @app.get(
        "/v1/plans/{job_id}",
        response_model=PlanJobOut,
        responses={404: {"model": ErrorBody}, 503: _ERRORS[503]},
        tags=["planning"],
    )
    def get_plan(job_id: str = PathParam(max_length=64)) -> Response:
        """A plan job: queued, running, done (with the plan) or failed (with the reason)."""
        return _job_answer(known_job(job_id, "plan"), "plan")

    @app.get(
        "/v1/plans/{job_id}/report",
        response_class=Response,
        responses={404: {"model": ErrorBody}, 409: {"model": ErrorBody}},
        tags=["planning"],
    )
    def get_plan_report(job_id: str = PathParam(max_length=64)) -> Response:
        """The finished plan's HTML report (self-contained, opens offline)."""
        job = known_job(job_id, "plan")
        if job.status != "done":
            raise FieldError(["path", "job_id"], f"plan job '{job_id}' is {job.status}", status=409)
        html = service.store.report(job_id)
        if html is None:
            raise FieldError(
                ["path", "job_id"], "this plan has no report", status=404, kind="not_found"
            )
        return Response(html, media_type="text/html; charset=utf-8")

    @app.post(
        "/v1/tours",
        status_code=202,
        response_model=TourJobOut,
        responses=_ERRORS,
        dependencies=keyed,
        tags=["last mile"],
    )
    def post_tours(body: TourRequest) -> Response:
        """Queue delivery tours from a railhead to sites (OR-Tools' routing solver); poll
        ``/v1/tours/{id}``. Unserved deliveries come with their reasons."""
        if len(body.deliveries) > settings.max_tour_deliveries:
            raise FieldError(
                ["body", "deliveries"], f"at most {settings.max_tour_deliveries} on this server"
            )
        if body.time_limit_s > settings.max_solver_seconds:
            raise FieldError(
                ["body", "time_limit_s"],
                f"at most {settings.max_solver_seconds:g} s on this server",
            )
        place_coordinates(service.network, body.depot)  # an unknown depot: 422 now, not later
        job = service.store.submit(
            "tours",
            {
                "request": body.model_dump(mode="json"),
                "network_dir": _default_dir(settings.network_dir),
            },
            settings.plan_queue_size,
        )
        return _job_answer(job, "tours", status=202, location=f"/v1/tours/{job.id}")

    @app.get(
        "/v1/tours/{job_id}",
        response_model=TourJobOut,
        responses={404: {"model": ErrorBody}, 503: _ERRORS[503]},
        tags=["last mile"],
    )
    def get_tours(job_id: str = PathParam(max_length=64)) -> Response:
        """A tours job: queued, running, done (with the tours) or failed (with the reason)."""
        return _job_answer(known_job(job_id, "tours"), "tours")

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return _asset("index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return _asset("favicon.ico")

    @app.get("/static/{name:path}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in _ASSETS:
            raise HTTPException(404, "not found")
        return _asset(name)

    _document_bodies(app, RouteRequest)
    return app


def _job_answer(job: Job, field: str, status: int = 200, location: str | None = None) -> Response:
    """A job as its endpoints answer it; the result is spliced in as the stored bytes, not
    parsed and written again (a large plan's JSON takes longer to parse than to send)."""
    head = _json_bytes(job.head())
    data = b"".join((head[:-1], b',"', field.encode(), b'":', job.result or b"null", b"}"))
    return _json(data, status=status, headers=None if location is None else {"Location": location})


def _place(node: Any) -> dict[str, Any]:
    return {
        "id": node.id,
        "name": node.name,
        "aliases": list(node.aliases),
        "country": node.country,
        "kind": node.kind,
        "lat": node.lat,
        "lon": node.lon,
        "modes": sorted(node.modes),
    }


def _resolve_all(network: Network, names: Iterable[str]) -> None:
    for name in dict.fromkeys(names):
        network.resolve(name)


def _default_dir(network_dir: Path | None) -> str | None:
    return str(network_dir.resolve()) if network_dir is not None else None


@lru_cache(maxsize=len(_ASSETS))
def _asset_bytes(name: str) -> bytes:
    return _ELSEWHERE.get(name, _STATIC / name).read_bytes()


def _asset(name: str) -> Response:
    return Response(_asset_bytes(name), media_type=_ASSETS[name])


def __getattr__(name: str) -> Any:
    # ``app``, the service with settings from the environment (``uvicorn service.app:app``), is
    # built on first use so that importing this module reads no environment and fails on nothing.
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


app: FastAPI
