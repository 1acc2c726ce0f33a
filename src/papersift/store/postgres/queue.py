"""The work queue: rows of `work_items` (kind, paper_id) that workers on any machine claim.

A claim is `SELECT ... FOR UPDATE SKIP LOCKED` plus a lease on the server's clock: two
workers never claim the same row at once (the second skips rows the first has locked, and
finds them leased once it commits), and a worker that dies keeps its rows only until its
lease runs out. A worker saves a result inside `completing()`, which re-checks in the same
transaction that the row is still its own (a lease that ran out and was re-claimed by
another worker is not its to finish), so a result is stored once and its row marked done
in the transaction that stored it: no item is done twice, none is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..records import QUEUE_STATES, Claim
from .core import PostgresBase

CHANNEL = "papersift_work"  # NOTIFY channel: work became claimable (the payload: its kind)


def _notify(c: Any, kind: str) -> None:
    c.execute("SELECT pg_notify(%s, %s)", (CHANNEL, kind))


class QueueMixin(PostgresBase):
    def enqueue(self, kind: str, paper_ids: Iterable[str]) -> int:
        """Add pending items; ones already queued (pending, done or failed) are left as they
        are, so enqueueing a day twice does not redo it. Returns how many were added."""
        ids = sorted(set(paper_ids))
        if not ids:
            return 0
        with self._tx() as c:
            cur = c.execute("INSERT INTO work_items (kind, paper_id) SELECT %s, unnest(%s::text[]) "
                            "ON CONFLICT DO NOTHING", (kind, ids))
            if cur.rowcount:
                _notify(c, kind)
            return cur.rowcount

    def requeue(self, kind: str, paper_ids: Iterable[str]) -> int:
        """Back to pending with no attempts (a re-run after a fix: failed items get a new try)."""
        with self._tx() as c:
            n = c.execute("UPDATE work_items SET state = 'pending', claimed_by = NULL, "
                          "lease_until = NULL, attempts = 0, reason = '', finished_at = NULL "
                          "WHERE kind = %s AND paper_id = ANY(%s)",
                          (kind, list(paper_ids))).rowcount
            if n:
                _notify(c, kind)
            return n

    def claim(self, kind: str, worker: str, limit: int, lease: float) -> list[Claim]:
        """Up to `limit` pending items that nobody holds (or whose lease ran out), now held
        by `worker` for `lease` seconds. Each claim counts as an attempt. One statement, so
        atomic without a transaction around it: one round trip."""
        with self._conn() as c:
            rows = c.execute(
                "WITH picked AS (SELECT paper_id, claimed_by AS prev FROM work_items "
                "  WHERE kind = %(k)s AND state = 'pending' "
                "  AND (lease_until IS NULL OR lease_until < now()) "
                "  ORDER BY paper_id LIMIT %(n)s FOR UPDATE SKIP LOCKED) "
                "UPDATE work_items w SET claimed_by = %(me)s, attempts = w.attempts + 1, "
                "  lease_until = now() + make_interval(secs => %(lease)s) "
                "FROM picked WHERE w.kind = %(k)s AND w.paper_id = picked.paper_id "
                "RETURNING w.paper_id, w.attempts, picked.prev IS NOT NULL",
                {"k": kind, "n": limit, "me": worker, "lease": float(lease)}).fetchall()
        return sorted((Claim(r[0], int(r[1]), bool(r[2])) for r in rows),
                      key=lambda cl: cl.paper_id)

    def renew(self, kind: str, worker: str, paper_ids: Iterable[str], lease: float) -> set[str]:
        """Extend the lease of those of `paper_ids` `worker` still holds; returns them (an
        item missing from the answer was lost: its lease ran out and someone re-claimed it)."""
        with self._conn() as c:
            rows = c.execute("UPDATE work_items SET lease_until = now() + make_interval(secs => %s) "
                             "WHERE kind = %s AND paper_id = ANY(%s) AND claimed_by = %s "
                             "AND state = 'pending' RETURNING paper_id",
                             (float(lease), kind, list(paper_ids), worker)).fetchall()
        return {r[0] for r in rows}

    @contextmanager
    def completing(self, kind: str, worker: str, paper_id: str) -> Iterator[bool]:
        """A transaction in which to save an item's result. Yields whether `worker` still
        holds the item; if so, it is done when the block ends. Callers save only when it
        yields True; writes the block makes through this store join the transaction (it is
        bound to the thread), and one that fails rolls the whole of it back. Pipelined:
        the check and the BEGIN are one round trip, the writes and the COMMIT another."""
        with self._tx(pipeline=True) as c:
            # Marked done at once, by the statement that checks the item is still ours: it
            # locks the row until commit (nobody re-claims it meanwhile), one round trip.
            row = c.execute("UPDATE work_items SET state = 'done', lease_until = NULL, "
                            "finished_at = now() WHERE kind = %s AND paper_id = %s "
                            "AND claimed_by = %s AND state = 'pending' RETURNING 1",
                            (kind, paper_id, worker)).fetchone()
            yield row is not None

    def fail(self, kind: str, worker: str, paper_id: str, reason: str, max_attempts: int) -> str:
        """An attempt failed: the item goes back to the queue, or, after `max_attempts`
        attempts, is failed for good with its reason. Returns the item's state after
        ("pending", "failed"; "lost" if `worker` no longer held it)."""
        with self._conn() as c:
            row = c.execute(
                "UPDATE work_items SET claimed_by = NULL, lease_until = NULL, reason = %s, "
                "state = CASE WHEN attempts >= %s THEN 'failed' ELSE 'pending' END, "
                "finished_at = CASE WHEN attempts >= %s THEN now() END "
                "WHERE kind = %s AND paper_id = %s AND claimed_by = %s AND state = 'pending' "
                "RETURNING state", (reason[:1000], max_attempts, max_attempts, kind, paper_id,
                                    worker)).fetchone()
        return str(row[0]) if row else "lost"

    def release(self, kind: str, worker: str, paper_ids: Iterable[str]) -> int:
        """Give unfinished claims back without counting the attempt (a worker stopping)."""
        with self._tx() as c:
            n = c.execute("UPDATE work_items SET claimed_by = NULL, lease_until = NULL, "
                          "attempts = greatest(attempts - 1, 0) WHERE kind = %s "
                          "AND paper_id = ANY(%s) AND claimed_by = %s AND state = 'pending'",
                          (kind, list(paper_ids), worker)).rowcount
            if n:
                _notify(c, kind)
            return n

    @contextmanager
    def work_notices(self) -> Iterator[Callable[[float], bool]]:
        """Listen for work becoming claimable (enqueue, requeue and release notify, at their
        commit) on a connection of its own; yields wait(seconds) -> whether a notice came.
        An idle worker sleeps in it instead of polling, and wakes when work arrives."""
        import psycopg

        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        try:
            conn.execute(f"LISTEN {CHANNEL}")

            def wait(seconds: float) -> bool:
                return any(True for _ in conn.notifies(timeout=max(seconds, 0.0), stop_after=1))

            yield wait
        finally:
            conn.close()

    def done_by(self, workers: Iterable[str]) -> dict[str, int]:
        """How many items each of `workers` has finished (a worker's progress while it runs)."""
        return {str(w): int(n) for w, n in self._all(
            "SELECT claimed_by, count(*) FROM work_items WHERE state = 'done' AND "
            "claimed_by = ANY(%s) GROUP BY claimed_by", (list(workers),))}

    def queue_depth(self) -> dict[str, dict[str, int]]:
        """Per kind: how many items are pending (unheld), leased, done and failed."""
        rows = self._all(
            "SELECT kind, CASE WHEN state = 'pending' AND lease_until >= now() THEN 'leased' "
            "ELSE state END AS s, count(*) FROM work_items GROUP BY kind, s ORDER BY kind")
        out: dict[str, dict[str, int]] = {}
        for kind, state, n in rows:
            out.setdefault(kind, dict.fromkeys(QUEUE_STATES, 0))[state] = int(n)
        return out
