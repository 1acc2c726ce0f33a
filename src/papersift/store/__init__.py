"""Storage backends behind small protocols (base.py); `open_store` picks the backend."""

from __future__ import annotations

from pathlib import Path

from .base import DayStats, SearchFilters, Store, UpsertStats
from .sqlite import SQLiteStore

__all__ = ["DayStats", "SearchFilters", "Store", "UpsertStats", "SQLiteStore", "open_store"]


def open_store(url_or_path: str | Path) -> Store:
    """Open the store named by a path (SQLite file) or a database URL."""
    s = str(url_or_path)
    if s.startswith(("postgres://", "postgresql://")):
        # Imported here: psycopg is an extra (`papersift[postgres]`), SQLite needs nothing.
        from .postgres import PostgresStore

        return PostgresStore(s)
    if s.startswith("sqlite:///"):
        s = s[len("sqlite:///"):]
    return SQLiteStore(s)
