"""PostgreSQL's full-text backlog (store/postgres/fts.py): a bulk import marks it while it
runs. A store opened meanwhile (another process's search or import) leaves it to the
import, instead of filling the same rows at once (which deadlocked racing `papersift
import` commands); the last of two overlapping imports clears it; a killed import's
backlog is filled by the next store to open."""

from __future__ import annotations

import datetime as dt

import pytest

from papersift.model import Paper, Provenance
from papersift.store.base import LexicalQuery
from papersift.store.postgres import PostgresStore
from papersift.store.postgres.fts import BACKLOG_META


@pytest.fixture
def pg_url(pg_databases):
    name = pg_databases.create()
    yield pg_databases.url(name)
    pg_databases.drop(name)


def _papers(start: int, n: int) -> list[Paper]:
    return [Paper(arxiv_id=f"2501.{i:05d}", title=f"Backlog study number {i}",
                  abstract=f"We measure zyx{i}.", published=dt.date(2025, 1, 2),
                  sources=[Provenance(source="arxiv")]) for i in range(start, start + n)]


def _import_some(s: PostgresStore, papers: list[Paper]) -> None:
    s.upsert_papers(papers, s.prepare_papers(papers))


def test_a_store_opened_during_a_bulk_import_leaves_its_backlog_alone(pg_url):
    a, b = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        with a.bulk_writes():
            _import_some(a, _papers(0, 50))
            assert a.get_meta(BACKLOG_META) is not None
            with b.bulk_writes():  # a second import, overlapping the first
                _import_some(b, _papers(50, 50))
                opened = PostgresStore(pg_url)  # while both run: no repair, marker kept
                assert opened.get_meta(BACKLOG_META) is not None
                opened.close()
            assert a.get_meta(BACKLOG_META) is not None  # the first import still runs
        assert a.get_meta(BACKLOG_META) is None  # the last one to end cleared it
        assert a.lexical_match_ids(LexicalQuery(terms=["zyx7"])) == {"2501.00007"}
        assert a.lexical_match_ids(LexicalQuery(terms=["zyx77"])) == {"2501.00077"}
    finally:
        a.close()
        b.close()


def test_the_backlog_of_a_killed_import_is_filled_on_open(pg_url):
    s = PostgresStore(pg_url)
    state = s._bulk
    with s.bulk_writes():
        _import_some(s, _papers(0, 30))
        helpers = state.helpers
        assert helpers is not None
        # killed: helpers stop short of the end and the import's session goes away
        helpers._done.set()
        for t in helpers._threads:
            t.join()
        helpers._hold.close()
        state.helpers = None
    with s._tx() as c:  # as if the helpers never reached these papers
        c.execute("DELETE FROM paper_fts")
    assert s.lexical_match_ids(LexicalQuery(terms=["zyx3"])) == set()
    s.close()
    again = PostgresStore(pg_url)
    try:
        assert again.get_meta(BACKLOG_META) is None
        assert again.lexical_match_ids(LexicalQuery(terms=["zyx3"])) == {"2501.00003"}
    finally:
        again.close()


def test_full_text_helpers_start_outside_the_importers_transaction(pg_url, monkeypatch):
    """The helpers' start waits for locks (the index lock another import's GIN build holds
    while it waits for every open writer): started inside a chunk's transaction it
    deadlocked racing importers through this process. The chunk with the first new papers
    is rolled back, the helpers start, and the chunk is stored once."""
    from papersift.store.postgres import fts

    s = PostgresStore(pg_url)
    seen: list[object] = []
    start = fts.FtsHelpers.start

    def checked(self):
        seen.append(getattr(s._local, "conn", None))
        return start(self)

    monkeypatch.setattr(fts.FtsHelpers, "start", checked)
    try:
        _import_some(s, _papers(0, 5))  # stored before: the next import updates these
        with s.bulk_writes():
            stats = s.upsert_papers(_papers(0, 30), s.prepare_papers(_papers(0, 30)))
        assert seen == [None]  # started once, with no transaction open on this thread
        assert s.count_papers() == 30 and stats.inserted == 25
        assert s.lexical_match_ids(LexicalQuery(terms=["zyx29"])) == {"2501.00029"}
    finally:
        s.close()
