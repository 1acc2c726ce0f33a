"""Fixtures shared by every test module (never import one test module from another)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.postgres import pg_databases  # noqa: F401 - the session's PostgreSQL server
from support.site_fixture import fill_site_store

from papersift.store import open_store

pytest_plugins = ["support.browser"]  # the Chromium fixtures: browser, page

# Every backend the contract suite (tests/store_contract/, its conftest) runs on. Other
# tests use the default backend: every store behaviour is tested once, in the contract.
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS[:1])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_store(backend: str, tmp_path: Path,
               request: pytest.FixtureRequest) -> Iterator[Callable[..., object]]:
    """Opens a fresh (or, with the same name, the same) store of the current backend;
    every store it opened is closed after the test (and its database dropped)."""
    opened = []
    databases: dict[str, str] = {}  # postgres: store name -> database name
    pg = request.getfixturevalue("pg_databases") if backend == "postgres" else None

    def location(name: str = "papersift") -> str:
        """What open_store takes to reach the store `make(name)` opens (another process
        opens the same store with it)."""
        if backend == "sqlite":
            return str(tmp_path / f"{name}.db")
        if pg is not None:
            if name not in databases:
                databases[name] = pg.create()
            return pg.url(databases[name])
        raise AssertionError(f"unknown backend {backend}")  # pragma: no cover

    def make(name: str = "papersift"):
        s = open_store(location(name))
        opened.append(s)
        return s

    make.location = location  # type: ignore[attr-defined]
    yield make
    for s in opened:
        s.close()
    for db in databases.values():
        pg.drop(db)


@pytest.fixture
def store(make_store):
    """A fresh, empty store of each backend in BACKENDS."""
    return make_store()


@pytest.fixture
def site_store(make_store):
    """The site fixture's papers, enrichments and reading (support/site_fixture.py) in a
    fresh store of each backend."""
    return fill_site_store(make_store())
