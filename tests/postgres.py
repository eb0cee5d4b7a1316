"""A throw-away PostgreSQL server for tests and benchmarks: Debian's ``postgresql`` package,
started in a temporary directory on a free loopback port, removed when stopped.

PostgreSQL refuses to run as root; as root (CI) the server runs as the ``postgres`` user the
Debian package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

INSTALL_HINT = (
    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): "
    "install it with `apt-get install -y postgresql` (Debian/Ubuntu) to run these tests "
    "against PostgreSQL"
)


def postgres_bin() -> Path | None:
    """The directory of the newest installed server binaries, if any."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/postgres"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("postgres")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """``start()`` gives a server URL; ``database()`` a fresh database on it; ``stop()``.

    ``durable=False`` turns fsync off (tests); benchmarks keep PostgreSQL's defaults.
    """

    def __init__(self, *, durable: bool = False) -> None:
        binaries = postgres_bin()
        if binaries is None:
            raise RuntimeError(INSTALL_HINT)
        self.bin = binaries
        self.durable = durable
        self.port = _free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="silkroute-pg-"))
        self.process: subprocess.Popen[bytes] | None = None
        self._user: str | None = None
        if os.geteuid() == 0:
            entry = pwd.getpwnam("postgres")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            self._user = "postgres"

    @property
    def url(self) -> str:
        return f"postgresql://silkroute@127.0.0.1:{self.port}/postgres"

    def start(self, timeout_s: float = 60) -> PostgresServer:
        data = self.dir / "data"
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(data), "-U", "silkroute",
             "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            user=self._user,
            group=self._user,
            extra_groups=[] if self._user else None,
        )  # fmt: skip
        settings = ["-c", "max_connections=200", "-c", "listen_addresses=127.0.0.1"]
        if not self.durable:
            settings += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
        with (self.dir / "server.log").open("ab") as log:
            self.process = self._popen(settings, data, log)
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    text = (self.dir / "server.log").read_text(errors="replace")
                    self.stop()
                    raise RuntimeError(f"PostgreSQL did not start: {text[-2000:]}") from None
                time.sleep(0.1)

    def _popen(self, settings: list[str], data: Path, log: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(data), "-p", str(self.port),
             "-k", str(self.dir), *settings],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            user=self._user,
            group=self._user,
            extra_groups=[] if self._user else None,
        )  # fmt: skip

    def database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = f"silkroute_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: clients cut off
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
