"""The job lock of a SQLite store: an exclusive flock on `<db file>.lock`.

flock, not a lock row in the database: the kernel drops it when its process dies (a SIGKILLed
`papersift run` leaves no stale lock to clear by hand) and waiting for it costs no database
connection. The file holds who took it, so a waiting job can say what it waits for.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ...errors import StoreError
from ..rows import busy_error, died_errors, holder_text, now
from .core import SQLiteBase

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, jobs are not serialised
    fcntl = None  # type: ignore[assignment]

_POLL_S = 0.2
# Held locks of this process, by lock file: flock treats two opens of one file in one
# process as two holders, so nested job_lock calls (run -> its stages) reuse the first.
_held: dict[Path, tuple[IO[str], int]] = {}
_held_guard = threading.Lock()


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


def _holder(f: IO[str]) -> str:
    try:
        f.seek(0)
        info = json.loads(f.read() or "{}")
    except (OSError, ValueError):
        info = {}
    return holder_text(info)


def _try_lock(f: IO[str]) -> bool:
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class LocksMixin(SQLiteBase):
    @contextmanager
    def job_lock(self, job: str, timeout: float,
                 on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        path = lock_path(self.path.resolve())
        with _held_guard:
            held = _held.get(path)
            if held is not None:
                _held[path] = (held[0], held[1] + 1)
        if held is not None or fcntl is None:
            try:
                yield
            finally:
                if held is not None:
                    with _held_guard:
                        f, depth = _held[path]
                        _held[path] = (f, depth - 1)
            return
        f = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held across the yield
        try:
            self._acquire(f, path, job, timeout, on_wait)
            self._close_dead_runs()
            with _held_guard:
                _held[path] = (f, 1)
            try:
                yield
            finally:
                with _held_guard:
                    del _held[path]
                f.truncate(0)
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        finally:
            f.close()

    def _close_dead_runs(self) -> None:
        """Runs still `running` when the lock is free belong to a job that died without
        finishing them (SIGKILL, power loss): record_run could not. Say so."""
        with self._tx():
            for run_id, errors in self.conn.execute(
                    "SELECT id, errors FROM runs WHERE status = 'running'").fetchall():
                self.conn.execute(
                    "UPDATE runs SET status = 'failed', finished_at = ?, errors = ? WHERE id = ?",
                    (now(), died_errors(errors), run_id))

    def _acquire(self, f: IO[str], path: Path, job: str, timeout: float,
                 on_wait: Callable[[str], None] | None) -> None:
        deadline = time.monotonic() + max(timeout, 0.0)
        told = False
        while not _try_lock(f):
            holder = _holder(f)
            if time.monotonic() >= deadline:
                raise StoreError(busy_error(str(self.path), holder, timeout))
            if not told and on_wait is not None:
                on_wait(f"waiting for {holder} to finish (up to {timeout:g} s)")
                told = True
            time.sleep(_POLL_S)
        f.seek(0)
        f.truncate(0)
        f.write(json.dumps({"job": job, "pid": os.getpid(), "host": socket.gethostname(),
                            "since": now()}))
        f.flush()
