"""Every knob of the service, read once from ``SILKROUTE_*`` environment variables.

Units are in the names. Limits bound what one request can ask for (body, shipments,
alternatives, solver and wall-clock seconds) so that no request can hang the service or exhaust
its memory; a request over a limit gets a 4xx naming the field and the limit.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from routing.options import MAX_ALTERNATIVES

# A pack name is one path segment: no separators, no "..", nothing a shell or a URL would expand.
PACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class Settings(BaseSettings):
    """Service settings; each field ``x`` is read from ``SILKROUTE_X``."""

    model_config = SettingsConfigDict(env_prefix="SILKROUTE_", extra="forbid", frozen=True)

    network_dir: Path | None = Field(
        default=None, description="Default network pack directory; the bundled pack when unset."
    )
    networks_root: Path | None = Field(
        default=None,
        description="Directory whose sub-directories are user packs a request may select by "
        "name (`network` field); requests can name nothing outside it. Unset: no user packs.",
    )
    roads_file: Path | None = Field(
        default=None,
        description="Local OSM XML road extract for the last mile (sites given as 'lat,lon', "
        "tours). Unset: great-circle x detour.",
    )
    max_tour_deliveries: int = Field(default=200, ge=1, le=500)
    database_url: str | None = Field(
        default=None,
        description="Job database as a URL, e.g. postgresql://user:pass@host/db; shared by "
        "every server and worker. Unset: the SQLite file `database_path`.",
    )
    database_path: Path = Field(
        default=Path("silkroute-jobs.sqlite3"),
        description="SQLite file holding jobs and results when `database_url` is unset.",
    )
    job_workers: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Job worker processes `silkroute serve` starts beside itself; 0: none "
        "(run `silkroute worker` elsewhere).",
    )
    job_lease_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="A job's lease: a worker silent this long loses its job to another.",
    )
    job_poll_s: float = Field(
        default=0.5, gt=0, le=60, description="An idle worker looks for jobs this often."
    )
    database_busy_timeout_s: float = Field(default=5.0, gt=0, le=600)
    host: str = Field(default="127.0.0.1", description="Interface to bind; loopback unless told.")
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(
        default=2,
        ge=1,
        le=64,
        description="uvicorn worker processes; each loads the network once and answers any "
        "request. Route searches scale with them (one core each).",
    )
    max_connections: int = Field(
        default=512,
        ge=1,
        le=100_000,
        description="Open connections and requests per worker; beyond: 503.",
    )
    keep_alive_s: int = Field(
        default=5,
        ge=1,
        le=600,
        description="A connection is closed when idle this long, or when its request head is "
        "not complete this long after it opened or got its last answer.",
    )
    max_header_bytes: int = Field(
        default=32_768,
        ge=1024,
        le=1_048_576,
        description="Size of a request head (request line and headers); beyond: 431.",
    )
    access_log: bool = True
    api_key: SecretStr | None = Field(
        default=None, description="When set, every POST must carry it in the X-API-Key header."
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=256 * 1_048_576)
    body_timeout_s: float = Field(default=30.0, gt=0, le=3600)
    max_shipments_per_plan: int = Field(default=1000, ge=1, le=20_000)
    max_alternatives: int = Field(default=MAX_ALTERNATIVES, ge=0, le=MAX_ALTERNATIVES)
    max_solver_seconds: float = Field(default=300.0, gt=0, le=3600)
    default_solver_seconds: float = Field(default=30.0, gt=0, le=3600)
    plan_timeout_s: float = Field(
        default=1800.0,
        gt=0,
        le=86_400,
        description="Wall-clock limit of one plan job, routing included (tours jobs: twice "
        "their time_limit_s plus 60 s).",
    )
    plan_queue_size: int = Field(
        default=100, ge=1, le=100_000, description="Queued jobs (plans and tours) at most."
    )
    plan_max_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Runs of a job whose worker died before the job is failed.",
    )
    job_retention_days: float = Field(
        default=30.0, gt=0, description="Finished jobs kept this long."
    )
    route_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Time budget of one route request, waiting included; when it is spent "
        "the answer is 503 with Retry-After.",
    )
    route_threads: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Route searches at once per worker, each in a thread (they share the "
        "worker's one core; a second lets a quick query pass a long one).",
    )
    route_queue_size: int = Field(
        default=64,
        ge=1,
        le=10_000,
        description="Route searches waiting for a thread per worker at most; beyond: 503.",
    )
    route_cache_bytes: int = Field(
        default=64 * 1_048_576,
        ge=0,
        description="Memory for answers to repeated route queries; 0: off.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str | None) -> str | None:
        if not value:
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError("not a database URL (e.g. postgresql://user@host/db)") from None
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"the job database must be SQLite or PostgreSQL, not {backend}")
        return value

    @field_validator("api_key")
    @classmethod
    def _empty_key_is_no_key(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None

    def solver_seconds(self, asked: float | None) -> float:
        """The solver limit for a job: what was asked, or the default capped by the maximum."""
        if asked is not None:
            return asked
        return min(self.default_solver_seconds, self.max_solver_seconds)

    def pack_names(self) -> list[str]:
        """Names of the user packs under ``networks_root``."""
        root = self.networks_root
        if root is None or not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if p.is_dir() and PACK_NAME.match(p.name))
