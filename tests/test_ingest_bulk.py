"""Bulk-import fast paths store exactly what the plain path stores.

Each test builds the same input twice into real SQLite files, once through the fast path
(papers prepared on the reader thread, ...) and once through plain `upsert_papers`, and
compares every stored row, the provenance, aliases, blocking keys and the full-text index.
"""

import datetime as dt
import gzip
import json
import threading
import time

from papersift import ingest
from papersift.ingest import import_paths
from papersift.model import Paper, Provenance
from papersift.sources.archives import detect_format, open_source, read_source
from papersift.sources.records import Record
from papersift.store import open_store

SEEN = dt.datetime(2025, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
ABS = "We study {} with a new method and report strong results on many benchmarks."


def state(store):
    """Everything an import writes, minus wall-clock timestamps."""
    q = store.conn.execute
    papers = [tuple(r) for r in q("SELECT * FROM papers ORDER BY rowid")]
    cols = [d[0] for d in q("SELECT * FROM papers LIMIT 0").description]
    drop = {cols.index("created_at"), cols.index("changed_at")}
    papers = [tuple(v for i, v in enumerate(r) if i not in drop) for r in papers]
    fts = {w: sorted(r[0] for r in q("SELECT rowid FROM papers_fts WHERE papers_fts MATCH ?", (w,)))
           for w in ("transformers", "diffusion", '"new method"', "authors:smith", "graph")}
    # FTS5 checks its index against the content table (raises when they differ).
    q("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")
    return {
        "papers": papers,
        "sources": sorted(tuple(r) for r in q("SELECT paper_id, source, ref FROM paper_sources")),
        "aliases": sorted(tuple(r) for r in q("SELECT * FROM aliases")),
        "blocks": sorted(tuple(r) for r in q("SELECT * FROM title_blocks")),
        "fts": fts,
    }


def mixed_papers():
    """arXiv papers, revisions of them in the same batch, listing papers without an arXiv id
    that merge into arXiv papers or each other, and exact repeats."""
    out = []
    topics = ["transformers", "diffusion models", "graph networks", "protein folding"]
    for i in range(40):
        t = topics[i % 4]
        out.append(Paper(arxiv_id=f"2502.{i:05d}", title=f"Scaling {t} study number {i}",
                         abstract=ABS.format(t), authors=[f"Ann Smith{i}", "Bo Li"],
                         categories=["cs.LG"], published=dt.date(2025, 2, 1 + i % 20),
                         sources=[Provenance(source="daily-arxiv", ref=f"f:{i}", seen_at=SEEN)]))
    for i in range(0, 40, 5):  # a later version with more data: merged, not inserted twice
        out.append(Paper(arxiv_id=f"2502.{i:05d}v2", title=f"Scaling {topics[i % 4]} study number {i}",
                         abstract=ABS.format(topics[i % 4]) + " Revised.", upvotes=i,
                         sources=[Provenance(source="arxiv", ref=f"r:{i}", seen_at=SEEN)]))
    for i in range(3, 40, 7):  # listing copies (no arXiv id) of arXiv papers
        out.append(Paper(title=f"Scaling {topics[i % 4]} study number {i}", abstract="",
                         authors=[f"Ann Smith{i}"],
                         sources=[Provenance(source="listing", ref=f"l:{i}", seen_at=SEEN)]))
    for i in range(5):  # listing-only papers, one of them twice
        out.append(Paper(title=f"A listing-only graph paper {i % 4}", abstract=ABS.format("graphs"),
                         authors=["Cy Smith"],
                         sources=[Provenance(source="listing", ref=f"o:{i}", seen_at=SEEN)]))
    out.append(out[0])  # the very same object again
    return out


def test_prepared_upsert_stores_the_same_as_plain(tmp_path):
    papers = mixed_papers()
    fast, plain = open_store(tmp_path / "fast.db"), open_store(tmp_path / "plain.db")
    prepared = fast.prepare_papers(papers)
    a = fast.upsert_papers(papers, prepared)
    b = plain.upsert_papers(papers)
    assert (a.inserted, a.updated, a.unchanged, a.merged, a.ids) == \
           (b.inserted, b.updated, b.unchanged, b.merged, b.ids)
    assert a.merged > 0 and a.inserted < len(papers)
    assert state(fast) == state(plain)
    # into a store that already holds them: prepared rows of known papers are not used
    again = [p.model_copy(update={"upvotes": 99}) for p in papers[:10]]
    fast.upsert_papers(again, fast.prepare_papers(again))
    plain.upsert_papers(again)
    assert state(fast) == state(plain)
    assert fast.get_paper("2502.00001").upvotes == 99


def write_jsonl(path, n):
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            t = ["transformers", "diffusion", "graph search"][i % 3]
            f.write(json.dumps({"id": f"2501.{i % (n - 7):05d}", "title": f"On {t} number {i % (n - 7)}",
                                "abstract": ABS.format(t), "authors": [f"Dee Smith{i}"],
                                "categories": ["cs.CL"], "published": "2025-01-02"}) + "\n")
        f.write("{broken\n")


def test_import_with_reader_side_preparation_stores_the_same_as_plain_upserts(tmp_path, monkeypatch):
    path = tmp_path / "arxiv-papers.jsonl.gz"
    write_jsonl(path, 1207)  # the last 7 lines repeat ids of the first chunk (revisions)
    # several transactions, the first one smaller, as on a large archive
    monkeypatch.setattr(ingest, "CHUNK", 400)
    monkeypatch.setattr(ingest, "FIRST_CHUNK", 50)
    fast = open_store(tmp_path / "fast.db")
    s = import_paths(fast, [path])
    assert len(s.errors) == 1 and s.stats.inserted == 1200
    plain = open_store(tmp_path / "plain.db")
    src = open_source(path)
    recs = [it for it in read_source(src, detect_format(src)) if isinstance(it, Record)]
    src.close()
    assert all(r.prepared is None for r in recs)  # plain: nothing prepared
    plain.upsert_papers([r.paper for r in recs])
    assert state(fast) == state(plain)
    assert import_paths(fast, [path]).stats.inserted == 0


def test_fingerprint_lookup_does_not_wait_for_the_writer(tmp_path):
    """The reader thread asks for seen fingerprints while the writer holds a transaction."""
    s = open_store(tmp_path / "p.db")
    s.mark_records([1, 2])
    got: list[set[int]] = []
    with s._tx():  # the writer's transaction, as during an import chunk
        s.conn.execute("INSERT INTO import_seen (fp) VALUES (3)")
        t = threading.Thread(target=lambda: got.append(s.seen_records([1, 2, 3, 4])))
        t.start()
        t.join(20)
        assert not t.is_alive()
    assert got == [{1, 2}]  # the last commit: the open transaction's row is not seen yet
    assert s.seen_records([1, 2, 3, 4]) == {1, 2, 3}
    s.close()


def test_background_checkpoints_copy_the_wal_and_restore_the_setting(tmp_path):
    db = tmp_path / "p.db"
    s = open_store(db)
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size0 = db.stat().st_size
    before = s.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    papers = mixed_papers()
    cache = s.conn.execute("PRAGMA cache_size").fetchone()[0]
    with s.bulk_writes():
        assert s.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        assert s.conn.execute("PRAGMA cache_size").fetchone()[0] == -512 * 1024
        s.upsert_papers(papers)
        s.mark_records(range(5000))
        # The writer no longer checkpoints: the database file grows only when the helper
        # thread copies the committed WAL into it.
        deadline = time.monotonic() + 30
        while db.stat().st_size <= size0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.stat().st_size > size0
    assert s.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == before
    assert s.conn.execute("PRAGMA cache_size").fetchone()[0] == cache
    wal = db.with_name(db.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # truncated on exit, not left behind
    expected = state(s)
    s.close()
    assert state(open_store(tmp_path / "p.db")) == expected


def _automerge(s) -> int | None:
    row = s.conn.execute("SELECT v FROM papers_fts_config WHERE k = 'automerge'").fetchone()
    return None if row is None else int(row[0])


def test_bulk_writes_pause_fts_merging_and_searches_stay_the_same(tmp_path):
    papers = mixed_papers()
    plain = open_store(tmp_path / "plain.db")
    for i in range(0, len(papers), 50):  # many small transactions: many segments, merged
        plain.upsert_papers(papers[i:i + 50])
    s = open_store(tmp_path / "p.db")
    assert s.conn.execute("PRAGMA page_size").fetchone()[0] == 16384  # a new file
    with s.bulk_writes():
        assert _automerge(s) == 0
        for i in range(0, len(papers), 50):
            s.upsert_papers(papers[i:i + 50])
    assert _automerge(s) == 4
    sql = "SELECT p.id FROM papers_fts f JOIN papers p ON p.rowid = f.rowid " \
          "WHERE papers_fts MATCH ? ORDER BY p.id"
    for q in ('"diffusion models"', "scaling", "revised OR graph*", "authors:smith", "zzz"):
        got = [r[0] for r in s.conn.execute(sql, (q,))]
        assert got == [r[0] for r in plain.conn.execute(sql, (q,))]
        assert got or q == "zzz"
    assert s.conn.execute("INSERT INTO papers_fts (papers_fts) VALUES ('integrity-check')")
    # An import killed inside bulk_writes leaves merging off in the index's config: the
    # next open of the store turns it back on.
    s.conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('automerge', 0)")
    s.close()
    # ...unless another process holds the write lock (an import running): opening the
    # store must not wait for it.
    import sqlite3

    other = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    t0 = time.monotonic()
    during = open_store(tmp_path / "p.db")
    assert time.monotonic() - t0 < 5  # the store's busy timeout is 30 s
    assert _automerge(during) == 0
    during.close()
    other.execute("ROLLBACK")
    other.close()
    again = open_store(tmp_path / "p.db")
    assert _automerge(again) == 4
    again.close()
    plain.close()


def test_existing_store_keeps_its_page_size(tmp_path):
    import sqlite3

    db = tmp_path / "old.db"
    c = sqlite3.connect(db)
    c.execute("CREATE TABLE t (x)")  # a file written with SQLite's default 4 KiB pages
    c.close()
    s = open_store(db)
    assert s.conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    s.close()


def test_import_restores_process_settings(tmp_path):
    """GC thresholds and the GIL switch interval are tuned for an import, then put back."""
    import gc
    import sys

    path = tmp_path / "arxiv-papers.jsonl.gz"
    write_jsonl(path, 30)
    gc_before, switch_before = gc.get_threshold(), sys.getswitchinterval()
    import_paths(open_store(tmp_path / "p.db"), [path])
    assert (gc.get_threshold(), sys.getswitchinterval()) == (gc_before, switch_before)
