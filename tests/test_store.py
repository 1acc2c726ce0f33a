"""The SQLite backend's own behaviour (everything a backend must do is in store_contract/):
the full-text index follows writes, new papers cost a few statements per chunk, not per paper,
and the package layout and protocols hold."""

import datetime as dt

from papersift.model import Paper, Provenance
from papersift.store import open_store
from papersift.store.base import BulkLoader, LexicalQuery, Store
from papersift.store.sqlite.search import fts5_match


def paper(**kw):
    base = dict(title="Attention Is All You Need", abstract="We propose the Transformer.",
                authors=["Ashish Vaswani", "Noam Shazeer"], sources=[Provenance(source="arxiv")])
    base.update(kw)
    return Paper(**base)


def test_fts_follows_updates(tmp_path):
    s = open_store(tmp_path / "p.db")
    s.upsert_papers([paper(arxiv_id="1706.03762")])
    assert [i for i, _ in s.lexical_search("transformer", 5)] == ["1706.03762"]
    s.upsert_papers([paper(arxiv_id="1706.03762", abstract="We propose recurrent magic.",
                           sources=[Provenance(source="arxiv")])])
    assert s.lexical_search("transformer", 5) == []
    assert [i for i, _ in s.lexical_search("magic", 5)] == ["1706.03762"]
    # a listing paper re-keyed to its arXiv id is found under the new id only
    lp = paper(title="Deep Residual Learning", abstract="Residual nets.",
               sources=[Provenance(source="listing")])
    s.upsert_papers([lp])
    s.upsert_papers([paper(arxiv_id="1512.03385", title="Deep Residual Learning")])
    assert [i for i, _ in s.lexical_search("residual", 5)] == ["1512.03385"]
    s.conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")
    s.close()


def _statements(s, papers):
    """SQL statements one upsert_papers call runs (not FTS5's own, per row, on its tables)."""
    n = []
    s.conn.set_trace_callback(n.append)
    try:
        s.upsert_papers(papers)
    finally:
        s.conn.set_trace_callback(None)
    return len([x for x in n if not x.startswith("--")])


def test_upsert_costs_statements_per_chunk_not_per_paper(tmp_path):
    def batch(start, n):
        return [Paper(arxiv_id=f"2501.{i:05d}", title=f"Paper number {i}", abstract="Text.",
                      published=dt.date(2025, 1, 2), sources=[Provenance(source="arxiv")])
                for i in range(start, start + n)]

    small, big = open_store(tmp_path / "a.db"), open_store(tmp_path / "b.db")
    assert _statements(small, batch(0, 50)) == _statements(big, batch(0, 400))
    # the same again: nothing written, the same few reads
    assert _statements(small, batch(0, 50)) == _statements(big, batch(0, 400))
    small.close()
    big.close()


def test_layout_and_protocols(tmp_path):
    from papersift.store import SQLiteStore
    from papersift.store.sqlite import SQLiteStore as Same

    assert SQLiteStore is Same
    s = open_store(tmp_path / "p.db")
    assert isinstance(s, SQLiteStore) and isinstance(s, BulkLoader)
    assert all(callable(getattr(s, name)) for name in dir(Store)
               if not name.startswith("_") and callable(getattr(Store, name)))
    s.close()


def test_fts5_match_quotes_every_token():
    assert fts5_match(LexicalQuery()) is None
    assert fts5_match(LexicalQuery(terms=["a", "b"])) == '"a" OR "b"'
    assert fts5_match(LexicalQuery(terms=["a", "b"]), require_all=True) == '"a" AND "b"'
    assert fts5_match(LexicalQuery(terms=["x"], phrases=[["p", "q"]], authors=[["h", "g"]])) == \
        '"p q" AND authors : ("h" AND "g") AND ("x" OR "p q")'
    assert fts5_match(LexicalQuery(terms=['a"b'])) == '"a""b"'


def test_a_postgres_url_that_cannot_be_reached_is_one_line_naming_the_setting():
    import socket

    import pytest

    from papersift.errors import StoreError

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError) as e:
        open_store(f"postgresql://someone:secret@127.0.0.1:{port}/papers")
    msg = str(e.value)
    assert "setting 'db'" in msg and "cannot connect" in msg and "\n" not in msg
    assert "secret" not in msg  # the password is never printed


def test_a_missing_psycopg_is_one_line_naming_the_extra(monkeypatch):
    import pytest

    from papersift.errors import StoreError
    from papersift.store.postgres import core

    monkeypatch.setattr(core, "psycopg", None)
    with pytest.raises(StoreError, match=r"setting 'db'.*papersift\[postgres\]"):
        open_store("postgresql://localhost/papers")
