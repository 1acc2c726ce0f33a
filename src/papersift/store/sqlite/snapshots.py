"""Consistent copies of a live SQLite store with SQLite's online backup API.

The copy is read in one backup step: one read transaction, so it is a snapshot of a single
moment even while `run` writes (WAL: the writer is not blocked) and `serve` reads.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from ...errors import InputError, StoreError
from .core import SQLiteBase
from .schema import MIGRATIONS


def _check_snapshot(conn: sqlite3.Connection, name: str) -> None:
    """`conn` holds an intact papersift store this version can open."""
    try:
        ok = conn.execute("PRAGMA quick_check").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        has_papers = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'papers'").fetchone()
    except sqlite3.DatabaseError as e:
        raise InputError(f"{name}: not a papersift store ({e}); pass a file `papersift "
                         "backup` wrote") from e
    if ok != "ok":
        raise InputError(f"{name}: damaged SQLite file (quick_check: {ok}); use another backup")
    if not has_papers:
        raise InputError(f"{name}: not a papersift store (no papers table); pass a file "
                         "`papersift backup` wrote")
    if version > len(MIGRATIONS):
        raise InputError(f"{name}: schema v{version} is newer than this papersift "
                         f"(knows v{len(MIGRATIONS)}); upgrade papersift to restore it")


class SnapshotsMixin(SQLiteBase):
    def backup_to(self, target: Path) -> int:
        target = Path(target)
        if target.resolve() == self.path.resolve():
            raise InputError(f"{target}: is the store itself; back up to another file")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        tmp.unlink(missing_ok=True)
        src = sqlite3.connect(self.path, timeout=30)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)  # pages=-1: the whole file in one read transaction
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                _check_snapshot(dst, str(target))
            finally:
                dst.close()
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            src.close()
        with contextlib.suppress(OSError):  # make the rename itself durable
            fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return target.stat().st_size

    def restore_from(self, source: Path) -> None:
        source = Path(source)
        if not source.is_file():
            raise InputError(f"{source}: no such file; pass a file `papersift backup` wrote")
        src = sqlite3.connect(f"file:{source.resolve()}?mode=ro", uri=True)
        try:
            _check_snapshot(src, str(source))
            # Into the live file through this connection: SQLite's own locking makes the
            # switch atomic for every other connection (serve keeps its open handle).
            with self._lock:
                try:
                    src.backup(self.conn)
                except sqlite3.OperationalError as e:
                    raise StoreError(f"{self.path}: restore failed, the store is unchanged "
                                     f"({e})") from e
        finally:
            src.close()
        self._migrate()  # a snapshot from an older papersift is brought up to date
