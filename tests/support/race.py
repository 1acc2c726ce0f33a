"""Worker processes for tests/test_import_race.py: several OS processes writing one store at
once (started with multiprocessing's spawn, so each has its own interpreter, connections
and SQLite handle, as separate `papersift` commands would).

They call the library (import_paths, record_day) without the job lock the CLI takes: the
race is then decided by the store's own serialisation (PostgreSQL advisory locks, SQLite's
BEGIN IMMEDIATE), which is what the test proves.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from papersift.ingest import import_paths
from papersift.store import open_store


def import_worker(location: str, path: str, barrier: Any) -> None:
    store = open_store(location)
    try:
        barrier.wait()  # every importer is connected: they start together
        summary = import_paths(store, [Path(path)], "papers")
        if summary.errors:
            raise RuntimeError(f"{path}: {summary.errors[:3]}")
    finally:
        store.close()


def day_worker(location: str, day: str, rounds: list[list[str]], barrier: Any) -> None:
    """One subset of the day's papers per round; the parent joins both barriers of a round
    and checks the day between rounds."""
    store = open_store(location)
    try:
        for ids in rounds:
            barrier.wait()
            store.record_day(dt.date.fromisoformat(day), ids, "hf")
            barrier.wait()
    finally:
        store.close()
