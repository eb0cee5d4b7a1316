"""Running the service: uvicorn worker processes, and the connection limits uvicorn lacks.

``run`` starts ``settings.workers`` uvicorn worker processes under uvicorn's own supervisor
(which restarts a worker that dies and passes SIGTERM on); each builds the app from the same
``SILKROUTE_*`` environment and loads the network once. A single worker runs in-process.

uvicorn's httptools protocol closes a keep-alive connection that idles after an answer, but
not one that never sends a byte, and it takes a request head of any size. ``LimitedHttpTools``
adds both limits, and the C parser stays: h11, which has a head limit of its own, answered
/health at about 0.55 times the rate of this protocol (one worker, 16 clients, four interleaved
two-second slices each).
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.settings import Settings

# Requests in progress get this long to finish when the server stops; then they are cancelled
# (a route search is told to stop), so SIGTERM ends every worker within a few seconds.
GRACEFUL_STOP_S = 4


class LimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus: a connection's request head must be complete within
    the keep-alive timeout of the connection opening (or of its last answer), else it is closed;
    a head longer than ``h11_max_incomplete_event_size`` bytes gets 431 and the connection
    is closed."""

    _in_head = False
    _head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        # The keep-alive timer runs on until the head is complete: a client that trickles its
        # head in (or sends nothing) holds the connection no longer than an idle one.
        timer, self.timeout_keep_alive_task = self.timeout_keep_alive_task, None
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            if timer is not None:
                timer.cancel()
            return
        self.timeout_keep_alive_task = timer
        self._head_bytes += len(data)
        limit = self.config.h11_max_incomplete_event_size
        if limit is not None and self._head_bytes > limit:
            self._refuse_head(limit)

    def _refuse_head(self, limit: int) -> None:
        message = f"request head larger than the server's limit of {limit} bytes".encode()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            + f"content-length: {len(message)}\r\n".encode()
            + b"connection: close\r\n\r\n"
            + message
        )
        self.transport.close()


def run(settings: Settings) -> None:
    """Serve until SIGINT or SIGTERM. Every worker reads its settings from the environment, so
    the caller puts any override there first."""
    log_config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["loggers"]["silkroute"] = {"handlers": ["default"], "level": "INFO"}
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        http=LimitedHttpTools,
        timeout_keep_alive=settings.keep_alive_s,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        limit_concurrency=settings.max_connections,
        access_log=settings.access_log,
        log_config=log_config,
        timeout_graceful_shutdown=GRACEFUL_STOP_S,
    )
