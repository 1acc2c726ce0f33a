"""Set-based writes for PostgreSQL: COPY for new paper rows, one INSERT/UPDATE over unnest()
arrays for everything else, and the bulk-import mode.

One statement per table and chunk, never one per row: a round trip to the server costs more
than the row, and COPY is the fastest way in that PostgreSQL has. Columns travel as typed
arrays (`unnest(%s::text[], ...)`), so a chunk of 20,000 rows is one statement with a few
parameters, whatever its size.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from ..rows import COLUMNS
from .fts import FtsHelpers

# SQL array types of the paper columns (anything not listed is text).
_INT_COLUMNS = frozenset({"version", "upvotes", "num_comments", "github_stars", "num_authors"})


def column_type(name: str) -> str:
    return "bigint" if name in _INT_COLUMNS else "text"


def copy_rows(conn: Any, table: str, cols: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """COPY rows into `table` (new rows only: COPY has no ON CONFLICT)."""
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)


def insert_many(conn: Any, table: str, cols: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]],
                conflict: str = "ON CONFLICT DO NOTHING") -> int:
    """INSERT rows (columns given as (name, SQL type)) in one statement; returns rows written.

    `conflict` is the statement's ON CONFLICT clause. A DO UPDATE may not meet one key twice
    in a statement: callers pass unique keys (the last value of a key wins, as with SQLite's
    INSERT OR REPLACE)."""
    if not rows:
        return 0
    arrays = [list(col) for col in zip(*rows, strict=True)]
    names = ", ".join(c for c, _ in cols)
    unnest = ", ".join(f"%s::{t}[]" for _, t in cols)
    cur = conn.execute(f"INSERT INTO {table} ({names}) SELECT * FROM unnest({unnest}) {conflict}",
                       arrays)
    return int(cur.rowcount or 0)


def last_per_key(rows: Iterable[Sequence[Any]], width: int) -> list[Sequence[Any]]:
    """Rows with a unique key (their first `width` values), the last of each key kept."""
    return list({tuple(r[:width]): r for r in rows}.values())


def update_papers(conn: Any, rows: Sequence[Sequence[Any]], cols: Sequence[str]) -> None:
    """UPDATE papers from rows of (cols..., id), one statement."""
    if not rows:
        return
    typed = [(c, column_type(c)) for c in cols] + [("id", "text")]
    arrays = [list(col) for col in zip(*rows, strict=True)]
    names = ", ".join(c for c, _ in typed)
    unnest = ", ".join(f"%s::{t}[]" for _, t in typed)
    sets = ", ".join(f"{c} = u.{c}" for c in cols)
    conn.execute(f"UPDATE papers p SET {sets} FROM unnest({unnest}) AS u({names}) "
                 "WHERE p.id = u.id", arrays)


PAPER_TYPES = [(c, column_type(c)) for c in COLUMNS]


class BulkState:
    """Whether a bulk import runs on this store object, and its full-text helpers.

    During one, transactions commit without waiting for the WAL flush (synchronous_commit
    off: a crash of the machine may lose the last commits, never corrupt anything, and the
    import ledger commits with them, so a re-run redoes exactly those; SQLite's
    synchronous=NORMAL gives the same promise), the GIN indexes gather more new entries
    before merging them (fewer, larger merges), and new papers' full-text rows are left to
    helper threads (fts.py), started with the first new paper (a re-import that stores
    nothing starts none) and caught up when the import ends."""

    def __init__(self, pool: Any):
        self.pool = pool
        self.depth = 0
        self.lock = threading.Lock()
        self.helpers: FtsHelpers | None = None

    def wants_helpers(self) -> bool:
        """A bulk import runs whose helpers are not started yet."""
        with self.lock:
            return bool(self.depth) and self.helpers is None

    def ensure_helpers(self) -> None:
        with self.lock:
            if self.depth and self.helpers is None:
                self.helpers = FtsHelpers(self.pool).start()


class BulkWrites:
    """Held around a bulk import (BulkState says what changes)."""

    def __init__(self, state: BulkState):
        self.state = state

    def __enter__(self) -> BulkWrites:
        with self.state.lock:
            self.state.depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        st = self.state
        with st.lock:
            st.depth -= 1
            helpers, st.helpers = (st.helpers, None) if st.depth == 0 else (None, st.helpers)
        if helpers is not None:
            helpers.stop()


BULK_SETTINGS = ("SET LOCAL synchronous_commit = off", "SET LOCAL gin_pending_list_limit = '64MB'")
