"""The PostgreSQL connections every part of PostgresStore shares: a pool, migrations,
transactions, and reading paper rows.

A store object may be used from several threads at once (an import's reader thread asks
seen_records while the writer holds a transaction), so connections come from a
psycopg_pool pool and a transaction binds one to its thread: every read that thread makes
inside it (the upsert planner's) sees the transaction's own writes, and reads outside any
transaction take a pooled connection in autocommit mode and see the last commit.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

from ...errors import StoreError
from ...model import Paper, trusted_paper
from ..rows import COLUMNS, from_db
from .schema import MIGRATIONS

try:
    import psycopg
    from psycopg import sql
    from psycopg_pool import ConnectionPool
except ImportError:  # pragma: no cover - the `postgres` extra is not installed
    psycopg = None  # type: ignore[assignment]

# Advisory lock keys (one 64-bit space per database): schema migrations, upsert chunks
# (dedup decisions of concurrent writers happen one chunk at a time), the job lock.
MIGRATE_KEY = 0x70617065_72730001
UPSERT_KEY = 0x70617065_72730002
JOB_KEY = 0x70617065_72730003
POOL_MAX = 8  # connections per store object: threads of one process, generators in flight
PAPER_SELECT = ", ".join(f"p.{c}" for c in COLUMNS)


def redact(url: str) -> str:
    """The URL without its password (errors and lock messages name the store by it)."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def _missing() -> StoreError:
    return StoreError("setting 'db' names a PostgreSQL database, but psycopg is not installed; "
                      "pip install 'papersift[postgres]' (or use a SQLite file path)")


def row_to_paper(row: tuple[Any, ...] | list[Any]) -> Paper:
    data = {name: from_db(name, v) for name, v in zip(COLUMNS, row, strict=False)}
    data["sources"] = []
    # Rows were validated on the way in: skip re-validation (hot path for search/site).
    return trusted_paper(data)


class PostgresBase:
    """One PostgreSQL database and a pool of connections to it."""

    def __init__(self, url: str, pool_max: int = POOL_MAX):
        if psycopg is None:
            raise _missing()
        self.url = url
        self.where = redact(url)
        self._local = threading.local()
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
                self._migrate(conn)
        except psycopg.OperationalError as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise StoreError(f"setting 'db' {self.where}: cannot connect to PostgreSQL ({first}); "
                             "check that the server runs and the URL (user, host, port, "
                             "database) is right") from e
        self.pool = ConnectionPool(url, min_size=1, max_size=pool_max, open=False,
                                   kwargs={"autocommit": True}, configure=self._configure,
                                   name="papersift")
        self.pool.open(wait=True, timeout=30)

    @staticmethod
    def _configure(conn: Any) -> None:
        from pgvector.psycopg import register_vector

        register_vector(conn)  # vector columns in and out as numpy arrays

    def _migrate(self, conn: Any) -> None:
        have = self._version(conn)
        if have > len(MIGRATIONS):
            raise StoreError(f"setting 'db' {self.where}: database schema v{have} is newer than "
                             f"this papersift (knows v{len(MIGRATIONS)}); upgrade papersift")
        if have == len(MIGRATIONS):
            return
        try:
            with conn.transaction():
                # Two processes opening a new database at once: the second waits here and
                # then finds the steps applied.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_KEY,))
                conn.execute("CREATE TABLE IF NOT EXISTS papersift_schema (version integer NOT NULL)")
                row = conn.execute("SELECT version FROM papersift_schema").fetchone()
                if row is None:
                    conn.execute("INSERT INTO papersift_schema VALUES (0)")
                have = row[0] if row else 0
                for i, step in enumerate(MIGRATIONS[have:], start=have + 1):
                    conn.execute(step)
                    conn.execute("UPDATE papersift_schema SET version = %s", (i,))
        except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile,
                psycopg.errors.InsufficientPrivilege) as e:
            raise StoreError(f"setting 'db' {self.where}: cannot set up the schema "
                             f"({str(e).splitlines()[0]}); the database needs the pgvector "
                             "extension: install it and run CREATE EXTENSION vector as a "
                             "superuser, or connect as its owner") from e

    @staticmethod
    def _version(conn: Any) -> int:
        if conn.execute("SELECT to_regclass('papersift_schema')").fetchone()[0] is None:
            return 0
        row = conn.execute("SELECT version FROM papersift_schema").fetchone()
        return int(row[0]) if row else 0

    # -- connections and transactions ---------------------------------------------------

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        """This thread's transaction connection, else a pooled one (autocommit)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg.OperationalError as e:
            raise self._lost(e) from e

    @contextmanager
    def _tx(self, pipeline: bool = False) -> Iterator[Any]:
        """One transaction on one connection for this thread; nestable (inner: no-op).
        On any error it rolls back; a lost server or a full disk is one StoreError line.
        `pipeline`: statements whose results are not read go out without waiting for the
        server (sent with the next one that is read, or the COMMIT): fewer round trips."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        try:
            with self.pool.connection() as conn, \
                    conn.pipeline() if pipeline else nullcontext(), conn.transaction():
                self._local.conn = conn
                try:
                    yield conn
                finally:
                    self._local.conn = None
        except psycopg.OperationalError as e:
            raise self._lost(e) from e

    def _lost(self, e: Exception) -> StoreError:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return StoreError(f"setting 'db' {self.where}: {first}; the transaction was rolled back "
                          "and nothing stored is lost: check the server (and its disk) and run "
                          "again")

    def _all(self, query: str | Any, params: Any = None) -> list[tuple[Any, ...]]:
        with self._conn() as c:
            return list(c.execute(query, params).fetchall())

    def _one(self, query: str | Any, params: Any = None) -> tuple[Any, ...] | None:
        with self._conn() as c:
            row = c.execute(query, params).fetchone()
            return tuple(row) if row is not None else None

    def close(self) -> None:
        self.pool.close()

    # -- papers ---------------------------------------------------------------------------

    def _fetch(self, where: str, params: Any = None) -> list[Paper]:
        rows = self._all(f"SELECT {PAPER_SELECT} FROM papers p WHERE {where}", params)
        return [row_to_paper(r) for r in rows]

    def _fetch_ids(self, ids: list[str]) -> list[Paper]:
        return self._fetch("p.id = ANY(%s)", (ids,)) if ids else []


def ident(name: str) -> Any:
    return sql.Identifier(name)
