"""The job lock of a PostgreSQL store: a session-level advisory lock on a connection of its
own, held for the job's length.

The server drops the lock when that connection ends, so a SIGKILLed job (or a machine that
died: TCP keepalives end its session) leaves no stale lock to clear by hand; the lock is
per database, so any process on any machine that writes the same database waits for it.
Who holds it is written beside it (job_holder) for a waiting job to name; the row counts
only while its backend still holds the lock.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ...errors import StoreError
from ..rows import busy_error, died_errors, holder_text, now
from .core import JOB_KEY, PostgresBase

_POLL_S = 0.2
# The first key of a held run's advisory lock (the second is the run id): its own class, so
# it never meets JOB_KEY (a one-key lock) or anything else keyed by two ints.
RUN_CLASS = 0x70617065
# Held locks of this process, by database URL: the lock is reentrant (run -> its stages),
# and a second store object on the same database in this process shares the holding.
_held: dict[str, tuple[Any, int]] = {}
_held_guard = threading.Lock()


class LocksMixin(PostgresBase):
    @contextmanager
    def job_lock(self, job: str, timeout: float,
                 on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        key = self.url
        with _held_guard:
            held = _held.get(key)
            if held is not None:
                _held[key] = (held[0], held[1] + 1)
        if held is not None:
            try:
                yield
            finally:
                with _held_guard:
                    conn, depth = _held[key]
                    _held[key] = (conn, depth - 1)
            return
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as e:
            raise self._lost(e) from e
        try:
            self._acquire(conn, job, timeout, on_wait)
            self._close_dead_runs()
            with _held_guard:
                _held[key] = (conn, 1)
            try:
                yield
            finally:
                with _held_guard:
                    del _held[key]
                conn.execute("DELETE FROM job_holder WHERE backend_pid = pg_backend_pid()")
                conn.execute("SELECT pg_advisory_unlock(%s)", (JOB_KEY,))
        finally:
            conn.close()

    @contextmanager
    def held_run(self, kind: str, params: dict[str, Any]) -> Iterator[int]:
        """A run (start_run's row) that says it is alive while this block runs: its process
        holds a session advisory lock keyed by the run id on a connection of its own, so a
        job starting meanwhile does not take it for a dead job's run (workers run beside
        jobs without the job lock). The row and the lock are made in one transaction, so no
        one sees the run without its lock. A killed process's lock goes with its session."""
        import psycopg

        try:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as e:
            raise self._lost(e) from e
        try:
            with conn.transaction():
                row = conn.execute(
                    "INSERT INTO runs (kind, started_at, params) VALUES (%s, %s, %s) "
                    "RETURNING id", (kind, now(), json.dumps(params, default=str))).fetchone()
                assert row is not None  # RETURNING gives the one row inserted
                run_id = int(row[0])
                conn.execute("SELECT pg_advisory_lock(%s, %s)", (RUN_CLASS, run_id))
            yield run_id
        finally:
            conn.close()  # ends the session: the lock goes with it

    def live_runs(self) -> set[int]:
        """Ids of the held runs (held_run) whose process is alive now."""
        return {int(r[0]) for r in self._all(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
            "classid = %s AND objsubid = 2 AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())", (RUN_CLASS,))}

    def _close_dead_runs(self) -> None:
        """Runs still `running` when the lock is free belong to a job that died without
        finishing them (SIGKILL, power loss): record_run could not. Say so. A held run
        (a worker's, held_run) is dead only when its lock is gone too."""
        alive = self.live_runs()
        with self._tx() as c:
            for run_id, errors in c.execute(
                    "SELECT id, errors FROM runs WHERE status = 'running' FOR UPDATE").fetchall():
                if int(run_id) in alive:
                    continue
                c.execute("UPDATE runs SET status = 'failed', finished_at = %s, errors = %s "
                          "WHERE id = %s", (now(), died_errors(errors), run_id))

    def _acquire(self, conn: Any, job: str, timeout: float,
                 on_wait: Callable[[str], None] | None) -> None:
        deadline = time.monotonic() + max(timeout, 0.0)
        told = False
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (JOB_KEY,)).fetchone()[0]:
            holder = self._holder(conn)
            if time.monotonic() >= deadline:
                raise StoreError(busy_error(self.where, holder, timeout))
            if not told and on_wait is not None:
                on_wait(f"waiting for {holder} to finish (up to {timeout:g} s)")
                told = True
            time.sleep(_POLL_S)
        info = {"job": job, "pid": os.getpid(), "host": socket.gethostname(), "since": now()}
        conn.execute("INSERT INTO job_holder (one, backend_pid, info) VALUES (true, "
                     "pg_backend_pid(), %s) ON CONFLICT (one) DO UPDATE SET "
                     "backend_pid = excluded.backend_pid, info = excluded.info", (json.dumps(info),))

    @staticmethod
    def _holder(conn: Any) -> str:
        # The row of the backend that holds the lock now (a dead holder's row is stale).
        row = conn.execute(
            "SELECT h.info FROM job_holder h JOIN pg_locks l ON l.pid = h.backend_pid AND "
            "l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM "
            "pg_database WHERE datname = current_database())").fetchone()
        try:
            info = json.loads(row[0]) if row else {}
        except ValueError:
            info = {}
        return holder_text(info)
