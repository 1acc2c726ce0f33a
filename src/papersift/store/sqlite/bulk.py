"""SQLite helpers for bulk writes (imports): multi-row INSERTs and off-thread checkpoints.

During an import the writer thread is the bottleneck (its SQLite work, full-text indexing
first, runs on one core while the reader thread parses on the other), so whatever can leave
its path does.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from typing import Any

_ROW_VARS = 16000  # parameters per multi-row INSERT (SQLite allows 32766)


def insert_rows(conn: sqlite3.Connection, head: str, rows: list[Any]) -> None:
    """`head VALUES (...), (...), ...` with hundreds of rows per statement.

    Same rows in the same order as executemany, which steps once per row and releases the
    GIL around each step: with an import's reader thread busy in Python, the writer then
    waits for the GIL again after every row instead of after every few hundred.
    """
    if not rows:
        return
    width = len(rows[0])
    # Older SQLite builds allow only 999 parameters per statement: ask this one.
    limit = min(_ROW_VARS, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    per = max(1, limit // width)
    one = "(" + ", ".join("?" * width) + ")"
    for i in range(0, len(rows), per):
        part = rows[i:i + per]
        conn.execute(f"{head} VALUES {', '.join([one] * len(part))}",
                     list(chain.from_iterable(part)))  # flat, in C


BULK_CACHE_KIB = 512 * 1024
NEW_PAGE_SIZE = 16384  # bytes per page of a newly created store file (SQLite's default: 4096)
FTS_AUTOMERGE = 4  # FTS5's default: merge once 4 segments of one level exist


def _set_fts_automerge(conn: sqlite3.Connection, n: int) -> None:
    conn.execute("INSERT INTO papers_fts (papers_fts, rank) VALUES ('automerge', ?)", (n,))


def restore_fts_merging(conn: sqlite3.Connection, lock: threading.RLock) -> None:
    """Turn FTS5 segment merging back on if a bulk import was killed before doing so."""
    row = conn.execute("SELECT v FROM papers_fts_config WHERE k = 'automerge'").fetchone()
    if row is None or int(row[0]) != 0:
        return
    # It is also 0 while another process imports: never wait for its write lock here (a
    # server starting mid-import would hang), just try. Merging turned on mid-import only
    # makes that import slower, and it turns merging on itself when it ends.
    with lock, _without_waiting(conn), contextlib.suppress(sqlite3.OperationalError):
        _set_fts_automerge(conn, FTS_AUTOMERGE)


@contextlib.contextmanager
def _without_waiting(conn: sqlite3.Connection) -> Iterator[None]:
    """Statements inside fail at once with "database is locked" instead of waiting for
    another connection's lock for the busy timeout."""
    busy = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout=0")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(busy)}")


class BulkWrites:
    """Settings for a bulk import, put back on exit: a big page cache, FTS5 merging paused,
    and WAL checkpoints on a helper thread instead of inside the writer's COMMIT.

    A commit that finds the WAL over `wal_autocheckpoint` pages copies it into the database
    file before returning (about a second per 89k-paper import, on the writer's path). Here
    the writer's automatic checkpoints are off and a second connection runs PASSIVE
    checkpoints every `every` seconds: they copy committed pages only, never block the writer
    and never change what a commit makes durable. On exit the setting is restored, so the
    next commit checkpoints what is left.
    """

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: threading.RLock,
                 every: float = 0.25):
        self.path, self.conn, self.lock, self.every = path, conn, lock, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved = 1000

    def __enter__(self) -> BulkWrites:
        self._saved = self.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        # A page cache big enough for the whole index being built (FTS5 segments, B-trees):
        # with the store's usual 64 MB the writer re-read pages it had just written (first
        # import of 89k papers 4-20% faster in 4 of 4 paired runs). Memory is only taken as
        # pages are used, and the usual size comes back on exit.
        self._cache = self.conn.execute("PRAGMA cache_size").fetchone()[0]
        self.conn.execute(f"PRAGMA cache_size={min(int(self._cache), -BULK_CACHE_KIB)}")
        # FTS5 merges its index segments as they pile up (automerge), on the writer's path:
        # an 89k-paper import rewrote its postings several times over (~1-2 s of ~11). Off
        # during the import, each transaction leaves its own segments; merging resumes with
        # the next write after it, a step at a time, and searches read a few more segments
        # meanwhile (same results, same speed within noise: 3.0 vs 3.6 ms for a two-word
        # MATCH over 89k papers). Persisted in the index's config, so a killed import is
        # repaired when the store is next opened (restore_fts_merging).
        with self.lock:
            _set_fts_automerge(self.conn, 0)
        mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal" or not self._saved:  # nothing to move off the writer
            return self
        ck = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
        self.conn.execute("PRAGMA wal_autocheckpoint=0")

        def run() -> None:
            try:
                while not self._stop.wait(self.every):
                    # busy: the next round (or the writer, after exit) catches up
                    with contextlib.suppress(sqlite3.OperationalError):
                        ck.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                ck.close()

        self._thread = threading.Thread(target=run, name="papersift-checkpoint", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.conn.execute(f"PRAGMA cache_size={int(self._cache)}")
            with self.lock:
                _set_fts_automerge(self.conn, FTS_AUTOMERGE)
        finally:  # the checkpoint thread stops whatever happened above
            self._stop_checkpoints()

    def _stop_checkpoints(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self.conn.execute(f"PRAGMA wal_autocheckpoint={int(self._saved)}")
        # Copy what is left and cut the WAL file back to nothing: an 89k-paper import left
        # ~400 MB of -wal file behind otherwise. Busy (a reader still on an old snapshot):
        # the next automatic checkpoint does it; do not wait for that reader.
        with _without_waiting(self.conn), contextlib.suppress(sqlite3.OperationalError):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
