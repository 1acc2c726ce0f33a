"""The full-text rows of papers (paper_fts): written in the paper's own transaction, or,
during a bulk import, by helper threads on connections of their own.

A tsvector costs the server more than the rest of a paper row together (to_tsvector over
title, abstract and authors, then the GIN entries): an import whose transaction computed
them would leave the second core idle while its one server process did. In bulk mode the
importer's transaction stores the papers (and the title index the upsert planner reads)
and helpers fill paper_fts from the committed rows in parallel; the bulk import ends when
they have caught up, so a finished import is searchable throughout. A paper is not
lexically matchable between its commit and its helper's (seconds, during a bulk import
only). An import killed midway leaves a `fts_backlog` meta row: the next store to open
fills what is missing (repair_if_idle()). The row is also there while imports run, so
every bulk import holds an advisory lock shared for its length (on a connection of its
own: the server drops it with a killed import's session), and the row is a killed
import's only when that lock is free: a store opened during another process's import
(a search, a second import) then leaves the backlog to it instead of filling the same
rows at once (a deadlock), and the last import to end, not the first, clears the row.

A bulk import into a store with no full text yet (a new database being filled) also drops
the GIN index and builds it again at the end, as PostgreSQL's manual advises for
populating a database: one sorted build (with parallel workers) costs a fraction of
90,000 incremental inserts. Searches stay correct meanwhile (a scan instead of the index).
"""

from __future__ import annotations

import threading
from typing import Any

FTS_EXPR = "papersift_tsv(p.title, p.abstract, p.authors)"
BACKLOG_META = "fts_backlog"
FTS_INDEX = "CREATE INDEX IF NOT EXISTS paper_fts_tsv ON paper_fts USING gin (tsv)"
_INDEX_KEY = 0x70617065_72730004  # advisory lock: one process drops or builds the index
_IMPORT_KEY = 0x70617065_72730005  # advisory lock: bulk imports hold it shared, a repair alone
_BATCH = 2000  # papers per helper transaction
_HELPERS = 2  # one per core of a small server; each takes the papers of its seq residue


def index_ids(conn: Any, ids: list[str]) -> None:
    """Write (or rewrite) the full-text rows of these stored papers, in conn's transaction."""
    if ids:
        conn.execute(f"INSERT INTO paper_fts (paper_id, tsv) SELECT p.id, {FTS_EXPR} FROM papers p "
                     "WHERE p.id = ANY(%s) ON CONFLICT (paper_id) DO UPDATE SET tsv = excluded.tsv",
                     (ids,))


def fill_missing(conn: Any, after: int = 0, part: tuple[int, int] | None = None,
                 limit: int | None = None) -> tuple[int, int]:
    """Full-text rows for stored papers that lack one (seq > after; of residue part[1]
    mod part[0]); returns (papers written, largest seq seen)."""
    where = "p.seq > %s"
    params: list[Any] = [after]
    if part is not None:
        where += " AND p.seq %% %s = %s"
        params += list(part)
    lim = ""
    if limit is not None:
        lim = " LIMIT %s"
        params.append(limit)
    row = conn.execute(
        f"WITH todo AS (SELECT p.seq, p.id, p.title, p.abstract, p.authors FROM papers p "
        f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM paper_fts f WHERE f.paper_id = p.id) "
        f"ORDER BY p.seq{lim}), ins AS (INSERT INTO paper_fts (paper_id, tsv) "
        f"SELECT p.id, {FTS_EXPR} FROM todo p ON CONFLICT (paper_id) DO NOTHING) "
        "SELECT count(*), coalesce(max(seq), %s) FROM todo", [*params, after]).fetchone()
    return int(row[0]), int(row[1])


class FtsHelpers:
    """Threads filling paper_fts while a bulk import runs; stop() waits until no paper
    lacks its row (theirs, and any a concurrent writer committed late)."""

    def __init__(self, pool: Any):
        self.pool = pool
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []
        self._start_seq = 0  # papers up to here were stored before: not ours to fill
        self._rebuild = False  # the GIN index was dropped at start: build it at stop
        self._hold: Any = None  # the connection holding _IMPORT_KEY shared

    def start(self) -> FtsHelpers:
        import psycopg

        # Taken before the backlog row is written: one that ends now (stop) sees this import.
        self._hold = psycopg.connect(self.pool.conninfo, autocommit=True)
        self._hold.execute("SELECT pg_advisory_lock_shared(%s)", (_IMPORT_KEY,))
        with self.pool.connection() as c:
            c.execute("INSERT INTO meta (key, value) VALUES (%s, '1') ON CONFLICT (key) DO "
                      "UPDATE SET value = '1'", (BACKLOG_META,))
            self._start_seq = int(c.execute("SELECT coalesce(max(seq), 0) FROM papers").fetchone()[0])
            with c.transaction():
                c.execute("SELECT pg_advisory_xact_lock(%s)", (_INDEX_KEY,))
                if c.execute("SELECT NOT EXISTS (SELECT 1 FROM paper_fts)").fetchone()[0]:
                    c.execute("DROP INDEX IF EXISTS paper_fts_tsv")
                    self._rebuild = True
        for k in range(_HELPERS):
            t = threading.Thread(target=self._run, args=(k,), name=f"papersift-fts-{k}", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _run(self, k: int) -> None:
        last = self._start_seq
        try:
            while True:
                with self.pool.connection() as c, c.transaction():
                    # a crash loses at most these rows; the backlog row brings them back
                    c.execute("SET LOCAL synchronous_commit = off")
                    n, last = fill_missing(c, last, (_HELPERS, k), _BATCH)
                if n == 0:
                    if self._done.is_set():
                        return
                    self._done.wait(0.05)
        except BaseException as e:  # raised by stop(), in the importer's thread
            self.errors.append(e)

    def stop(self) -> None:
        self._done.set()
        for t in self._threads:
            t.join()
        try:
            with self.pool.connection() as c, c.transaction():
                # rows committed below a helper's mark after it went past (another writer's)
                fill_missing(c, self._start_seq)
                if self._rebuild:
                    build_index(c)
            self._hold.execute("SELECT pg_advisory_unlock_shared(%s)", (_IMPORT_KEY,))
            # Another import still running keeps the row: its own stop clears it.
            if self._hold.execute("SELECT pg_try_advisory_lock(%s)", (_IMPORT_KEY,)).fetchone()[0]:
                with self.pool.connection() as c:
                    c.execute("DELETE FROM meta WHERE key = %s", (BACKLOG_META,))
        finally:
            self._hold.close()  # the server drops whatever it still held
        if self.errors:
            raise self.errors[0]


def build_index(c: Any) -> None:
    """The full-text GIN index, if missing (in c's transaction)."""
    c.execute("SELECT pg_advisory_xact_lock(%s)", (_INDEX_KEY,))
    # A sorted build in memory, with the server's parallel workers (its own cap applies).
    c.execute("SET LOCAL maintenance_work_mem = '256MB'")
    c.execute("SET LOCAL max_parallel_maintenance_workers = 2")
    c.execute(FTS_INDEX)


def repair_if_idle(pool: Any) -> bool:
    """After a bulk import that was killed: full text for every paper, and its index; not
    while any bulk import runs (the row is then theirs). Returns whether it repaired."""
    import psycopg

    with psycopg.connect(pool.conninfo, autocommit=True) as hold:
        got = hold.execute("SELECT pg_try_advisory_lock(%s)", (_IMPORT_KEY,)).fetchone()
        if not (got and got[0]):
            return False
        with pool.connection() as c, c.transaction():
            fill_missing(c)
            build_index(c)
            c.execute("DELETE FROM meta WHERE key = %s", (BACKLOG_META,))
    return True  # the lock went with its connection
