"""The SQLite connection every part of SQLiteStore shares: opening, migrations and
transactions (the paper row layout is shared with every backend: store/rows.py)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ...errors import StoreError
from ...model import Paper, trusted_paper
from ..rows import COLUMNS, from_db
from .bulk import NEW_PAGE_SIZE, restore_fts_merging
from .schema import MIGRATIONS


def qs(items: Iterable[Any]) -> str:
    return ", ".join("?" for _ in items)


def id_batches(ids: Iterable[str]) -> Iterator[tuple[list[str], str]]:
    """`ids` in batches under SQLite's bound-parameter limit, each with its "?, ?, ..." list
    for an `IN (...)`."""
    ids = list(ids)
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        yield part, qs(part)


# SQLite errors that are about the machine, not the data: reported as one StoreError line.
_DISK_ERRORS = ("database or disk is full", "disk i/o error", "attempt to write a readonly",
                "unable to open database")


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK under the store lock; nestable (inner is a no-op).
    A full disk or an I/O error rolls back and is raised as StoreError (one clear line)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.RLock, path: Path | None = None):
        self.conn, self.lock, self.outer, self.path = conn, lock, False, path

    def __enter__(self) -> None:
        self.lock.acquire()
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.outer = True

    def __exit__(self, exc_type: object, exc: BaseException | None, _tb: object) -> None:
        try:
            if self.outer and exc_type is None:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.OperationalError as e:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise (_disk_error(self.path, e) or e) from e
            elif self.outer and self.conn.in_transaction:
                # (SQLite may already have rolled back: after SQLITE_FULL, for one)
                self.conn.execute("ROLLBACK")
        finally:
            self.lock.release()
        if self.outer and isinstance(exc, sqlite3.OperationalError):
            err = _disk_error(self.path, exc)
            if err is not None:
                raise err from exc


def _disk_error(path: Path | None, e: sqlite3.OperationalError) -> StoreError | None:
    msg = str(e)
    if not any(m in msg.lower() for m in _DISK_ERRORS):
        return None
    return StoreError(f"{path or 'the store'}: {msg}; the transaction was rolled back and "
                      "nothing stored is lost: free disk space (or fix the disk) and run again")


class SQLiteBase:
    """One SQLite file and its connection. Safe to share across threads (one lock)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._seen_lock = threading.Lock()  # seen_records' own read connection
        self._seen_conn: sqlite3.Connection | None = None
        self.conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                    isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        if self.conn.execute("PRAGMA page_count").fetchone()[0] == 0:
            # A new file: 16 KiB pages (must be set before WAL mode fixes the size). Imports
            # write mostly FTS5 segment blobs and kilobyte-sized rows; with 4 KiB pages the
            # first import of 89k papers wrote 321 MB, with 16 KiB 275 MB and its writer
            # spent ~1 s less (paired runs, bench/ingest.py). Existing stores keep theirs.
            self.conn.execute(f"PRAGMA page_size={NEW_PAGE_SIZE}")
        self._wal_mode()
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA cache_size=-65536")
        self._migrate()
        restore_fts_merging(self.conn, self._lock)  # an import killed midway left it off

    def _wal_mode(self, patience: float = 30.0) -> None:
        """PRAGMA journal_mode=WAL, retried with backoff: switching a new file's mode needs
        its exclusive lock, and SQLite answers "database is locked" at once, without the
        busy timeout, while another process opening the same new file holds a lock."""
        deadline, pause = time.monotonic() + patience, 0.02
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: database schema v{version} is newer than this papersift "
                f"(knows v{len(MIGRATIONS)}); upgrade papersift"
            )
        for i, sql in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._tx():
                # Read again under the write lock: two processes opening a new file at once
                # both saw the old version, and only the first may apply this step.
                if self.conn.execute("PRAGMA user_version").fetchone()[0] >= i:
                    continue
                for stmt in _split_sql(sql):
                    self.conn.execute(stmt)
                self.conn.execute(f"PRAGMA user_version={i}")

    def _tx(self) -> Transaction:
        return Transaction(self.conn, self._lock, self.path)

    def release_memory(self) -> None:
        """Free the page cache's unused pages (up to cache_size, 64 MB): a long-lived
        reader calls it after a full scan it will not repeat soon."""
        with self._lock:
            self.conn.execute("PRAGMA shrink_memory")

    def close(self) -> None:
        with self._seen_lock:
            if self._seen_conn is not None:
                self._seen_conn.close()
                self._seen_conn = None
        self.conn.close()

    def _row_to_paper(self, row: sqlite3.Row) -> Paper:
        data = {name: from_db(name, row[name]) for name in COLUMNS}
        data["sources"] = []
        # Rows were validated on the way in: skip re-validation (hot path for search/site).
        return trusted_paper(data)

    def _fetch(self, where: str, params: list[Any]) -> list[Paper]:
        rows = self.conn.execute(f"SELECT * FROM papers WHERE {where}", params).fetchall()
        return [self._row_to_paper(r) for r in rows]

    def _fetch_ids(self, ids: list[str]) -> list[Paper]:
        """Papers by stored id, in batches that fit SQLite's parameter limit."""
        out: list[Paper] = []
        for part, marks in id_batches(ids):
            out.extend(self._fetch(f"id IN ({marks})", part))
        return out


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (triggers hold ';' inside BEGIN ... END)."""
    out, buf = [], []
    for line in script.splitlines():
        buf.append(line)
        joined = "\n".join(buf).strip()
        if joined.endswith(";") and sqlite3.complete_statement(joined):
            out.append(joined)
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf).strip())
    return out
