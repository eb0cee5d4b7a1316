"""The ``silkroute`` console command in full: the routing package's commands (``routing.cli``)
and the two that run the service, ``serve`` and ``worker``.

The service's commands live here so that ``routing`` never imports ``service``: the command line
sits on top of both, as the web service does.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from graphs import load_network
from routing import cli as routing_cli
from routing.cli import NetworkOption, fail, user_errors
from service.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help=routing_cli.app.info.help,
)
app.registered_commands.extend(routing_cli.app.registered_commands)


def _settings(**overrides: Any) -> Settings:
    """Settings from SILKROUTE_* and the given options; bad ones end the command (exit 2)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        fail(f"settings: {problems}")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default 127.0.0.1, or SILKROUTE_HOST).")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port (default 8000, or SILKROUTE_PORT)."),
    ] = None,
    network: NetworkOption = None,
) -> None:
    """Run the HTTP service (API, /docs, the map page) in uvicorn worker processes
    (SILKROUTE_WORKERS); SILKROUTE_* settings."""
    from service.server import run  # the web stack loads only for this command
    from service.worker import job_workers

    given: dict[str, Any] = {"host": host, "port": port, "network_dir": network}
    overrides = {k: v for k, v in given.items() if v is not None}
    settings = _settings(**overrides)
    with user_errors():  # a bad pack stops here with its file, line and column
        load_network(settings.network_dir)
    # Every worker process reads its settings from the environment: options go there too.
    os.environ.update({f"SILKROUTE_{k.upper()}": str(v) for k, v in overrides.items()})
    with job_workers(settings):  # SILKROUTE_JOB_WORKERS job workers beside the HTTP workers
        run(settings)


@app.command()
def worker() -> None:
    """Run long jobs (plans, tours) from the job database (SILKROUTE_DATABASE_URL) until SIGTERM."""
    from service.worker import main as work

    raise typer.Exit(work(_settings()))


def main() -> None:
    """Console entry point (``silkroute``)."""
    routing_cli.main(app)


if __name__ == "__main__":
    main()
