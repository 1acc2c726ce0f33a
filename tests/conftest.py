"""Fixtures shared by every test module (never import one test module from another)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.site_fixture import fill_site_store

from papersift.store import open_store

pytest_plugins = ["support.browser"]  # the Chromium fixtures: browser, page
# Every backend the contract suite runs on; the PostgreSQL backend joins this list.
BACKENDS = ["sqlite"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_store(backend: str, tmp_path: Path) -> Iterator[Callable[..., object]]:
    """Opens a fresh (or, with the same name, the same) store of the current backend;
    every store it opened is closed after the test."""
    opened = []

    def location(name: str = "papersift") -> str:
        """What open_store takes to reach the store `make(name)` opens (another process
        opens the same store with it)."""
        if backend == "sqlite":
            return str(tmp_path / f"{name}.db")
        raise AssertionError(f"unknown backend {backend}")  # pragma: no cover

    def make(name: str = "papersift"):
        s = open_store(location(name))
        opened.append(s)
        return s

    make.location = location  # type: ignore[attr-defined]
    yield make
    for s in opened:
        s.close()


@pytest.fixture
def store(make_store):
    """A fresh, empty store of each backend in BACKENDS."""
    return make_store()


@pytest.fixture
def site_store(make_store):
    """The site fixture's papers, enrichments and reading (support/site_fixture.py) in a
    fresh store of each backend."""
    return fill_site_store(make_store())
