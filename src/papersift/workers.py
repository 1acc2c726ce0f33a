"""Queue workers: `papersift worker enrich|affiliations|images|index` on a PostgreSQL store.

A worker claims work items (store/postgres/queue.py: `FOR UPDATE SKIP LOCKED` plus a lease
on the server's clock), renews the leases of all it holds from a thread of its own, and
hands the papers to the same per-paper code `papersift run` uses (worker_stages.py). The
LLM enrichment flows: `concurrency` papers are in flight at all times, and as each one is
saved its slot is claimed again, so nothing waits for the slowest paper of a batch; the
other stages take a batch at a time. Each paper's result is written inside `completing()`,
the transaction that marks its item done, and only while the worker still holds it: a
result is stored once or not at all, and an item whose lease ran out (a SIGKILLed or
stalled worker) goes to the next worker that claims it.

What is guaranteed (docs/scale.md, "The work queue"): no item is lost (a dead worker's
claims come back when its lease ends; one that fails `max_attempts` times is failed with
its reason), and no result is saved twice. A paper that already has a current enrichment
is marked done without a call, and an answer that reached the LLM cache before its worker
died is reused without one; an LLM request in flight when its worker was killed is the one
thing that can cost a second call (its answer died with the process).

Workers do not take the job lock: they run beside `papersift run` and each other. Each one
records a run (kind `worker-<kind>`) that says it is alive while the worker lives
(`held_run`), so a job starting meanwhile does not close it as a dead job's.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import Settings
from .enrich.llm import make_llm
from .enrich.runner import needing_enrichment
from .errors import ConfigError, InputError
from .model import Paper
from .runs import record_run
from .store.base import Store, WorkQueue
from .worker_stages import KINDS, STAGES, Flow, Process, nothing

__all__ = ["KINDS", "WorkerOptions", "WorkerReport", "WorkerStopped", "run_worker"]
Progress = Callable[[str, str], None]  # (paper id, what became of it)


class WorkerStopped(BaseException):
    """Raised in the worker's thread by a SIGTERM / SIGINT handler: stop now, give the
    unfinished claims back (a BaseException, so no stage's `except Exception` eats it)."""



@dataclass
class WorkerOptions:
    kind: str
    concurrency: int = 8
    batch: int = 0  # items per claim; 0: the concurrency
    lease: float = 120.0  # seconds; renewed every third of it while a batch is in flight
    once: bool = False  # drain: stop when no item of the kind is pending or held
    max_attempts: int = 3
    poll: float = 1.0  # the first wait on an empty queue, doubling up to max_poll
    max_poll: float = 30.0


@dataclass
class WorkerReport:
    worker: str
    kind: str
    run_id: int = 0
    batches: int = 0
    claimed: int = 0
    done: int = 0  # results saved (or nothing to save) and items marked done
    skipped: int = 0  # done already (a current enrichment): marked done, no work
    failed: int = 0  # failed for good (max attempts)
    retried: int = 0  # failed, back in the queue for another try
    reclaimed: int = 0  # claimed after another worker's lease ran out
    lost: int = 0  # this worker's lease ran out first: its result was not saved
    released: int = 0  # given back unfinished at a stop
    stopped: str = ""  # why it stopped early (a signal)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        return {"worker": self.worker, "batches": self.batches, "claimed": self.claimed,
                "done": self.done, "skipped": self.skipped, "failed": self.failed,
                "retried": self.retried, "reclaimed": self.reclaimed, "lost": self.lost,
                "released": self.released, "stopped": self.stopped,
                "seconds": round(self.seconds, 2)}

    def summary(self) -> str:
        return (f"worker {self.kind} ({self.worker}, run #{self.run_id}): {self.claimed} claimed "
                f"in {self.batches} batches, {self.done} done, {self.skipped} already done, "
                f"{self.failed} failed, {self.retried} to retry, {self.reclaimed} reclaimed, "
                f"{self.lost} lost lease, {self.released} released, {self.seconds:.1f}s"
                + (f"; stopped: {self.stopped}" if self.stopped else ""))


def queue_of(store: Store) -> WorkQueue:
    """The store's work queue; a one-line error on a store without one (SQLite)."""
    if not isinstance(store, WorkQueue):
        raise InputError("workers need a PostgreSQL store (setting 'db' = postgresql://...); "
                         "on SQLite `papersift run` does the work itself")
    return store


def uses_workers(store: Store, settings: Settings) -> bool:
    """Does `papersift run` leave the enrichment and images to workers? On a store with a
    work queue (PostgreSQL) unless the setting `workers` is false; never on SQLite."""
    return settings.workers and isinstance(store, WorkQueue)


def enqueue_papers(store: Store, settings: Settings, kind: str, papers: list[Paper]) -> str:
    """Queue the papers a `kind` worker would process (for enrich: those without a current
    enrichment by the configured model); returns the run's line for it."""
    q = queue_of(store)
    if kind == "enrich":
        llm = make_llm(settings)
        papers = needing_enrichment(store, papers, llm.model if llm else None)
    added = q.enqueue(kind, [p.id for p in papers])
    d = q.queue_depth().get(kind, {})
    return (f"{kind}: {len(papers)} papers to do, {added} newly queued for `papersift worker "
            f"{kind}` (queue: {d.get('pending', 0)} pending, {d.get('leased', 0)} in work, "
            f"{d.get('done', 0)} done, {d.get('failed', 0)} failed)")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _Lease:
    """The items a worker holds, kept alive by a thread that renews all their leases every
    third of one; an item the store no longer renews was lost (re-claimed by another)."""

    def __init__(self, queue: WorkQueue, kind: str, worker: str, lease: float):
        self.q, self.kind, self.worker, self.lease = queue, kind, worker, lease
        self.held: set[str] = set()
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, daemon=True, name="lease")
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.lease / 3):
            with self._guard:
                ids = list(self.held)
            if not ids:
                continue
            try:
                kept = self.q.renew(self.kind, self.worker, ids, self.lease)
            except Exception:  # a blip: the next renewal tries again before the lease ends
                continue
            with self._guard:  # not renewed: finished meanwhile, or lost (completing says)
                self.held -= set(ids) - kept

    def add(self, ids: list[str]) -> None:
        with self._guard:
            self.held.update(ids)

    def finish(self, pid: str) -> None:
        with self._guard:
            self.held.discard(pid)

    def remaining(self, ids: list[str] | None = None) -> list[str]:
        """Those of `ids` (default: all) still held."""
        with self._guard:
            return sorted(self.held if ids is None else self.held.intersection(ids))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_worker(store: Store, settings: Settings, opts: WorkerOptions, *,
               progress: Progress | None = None,
               stop: threading.Event | None = None) -> WorkerReport:
    """Claim and process `opts.kind` items until stopped (`stop` set: no more claims, the
    papers in flight are finished; WorkerStopped raised in this thread: at once), or, with
    `once`, until none is left to claim. Records its run; returns what it did."""
    if opts.kind not in STAGES:
        raise InputError(f"unknown worker kind {opts.kind!r}: use {', '.join(KINDS)}")
    if opts.concurrency < 1 or opts.lease <= 0:
        raise InputError("concurrency must be at least 1 and the lease positive")
    q = queue_of(store)
    stage = STAGES[opts.kind]
    rep = WorkerReport(worker_name(), opts.kind)
    stop = stop or threading.Event()
    params = {"kind": opts.kind, "worker": rep.worker, "concurrency": opts.concurrency,
              "batch": opts.batch or opts.concurrency, "lease": opts.lease, "once": opts.once}
    t0 = time.monotonic()
    # The stage first (its LLM client takes seconds to import): the run says the worker is
    # alive (live_runs) once it can take work, so work queued then starts at once.
    with stage(store, settings) as process, \
            q.held_run(f"worker-{opts.kind}", params) as run_id, q.work_notices() as notice, \
            record_run(store, f"worker-{opts.kind}", params, run_id=run_id) as run:
        rep.run_id = run_id
        w = _Work(store, q, opts, rep, _Lease(q, opts.kind, rep.worker, opts.lease), progress)
        try:
            if isinstance(process, Flow):
                process.runner.run(_flow(w, process, notice, stop))
            else:
                _batches(w, process, notice, stop)
        except WorkerStopped as e:  # a clean stop, not an error: its claims are released
            rep.stopped = str(e) or "stopped"
        finally:
            try:
                w.lease.stop()
                if left := w.lease.remaining():  # a stop, or an error: back uncounted
                    rep.released += q.release(opts.kind, rep.worker, left)
            finally:
                rep.seconds = time.monotonic() - t0
                run.counts = rep.counts()
        run.errors += [f"{pid}: {why}" for pid, why in list(rep.failures.items())[:200]]
    return rep


def _idle(notice: Callable[[float], bool], stop: threading.Event, seconds: float) -> None:
    # In slices of a second at most: `stop` (set from another thread) is seen within one.
    end = time.monotonic() + seconds
    while not stop.is_set() and (left := end - time.monotonic()) > 0:
        if notice(min(left, 1.0)):
            return


def _unfinished(q: WorkQueue, kind: str) -> int:
    d = q.queue_depth().get(kind, {})
    return d.get("pending", 0) + d.get("leased", 0)


@dataclass
class _Work:
    """One worker's claiming and committing, shared by the batch loop and the flow."""
    store: Store
    q: WorkQueue
    opts: WorkerOptions
    rep: WorkerReport
    lease: _Lease
    progress: Progress | None

    def claim(self, limit: int) -> list[str]:
        claims = self.q.claim(self.opts.kind, self.rep.worker, limit, self.opts.lease)
        if claims:
            self.rep.batches += 1
            self.rep.claimed += len(claims)
            self.rep.reclaimed += sum(c.reclaimed for c in claims)
            self.lease.add([c.paper_id for c in claims])
        return [c.paper_id for c in claims]

    def papers(self, ids: list[str]) -> list[Paper]:
        """The claimed papers to process; one gone from the store since it was queued
        fails for good."""
        papers = self.store.get_papers(ids)
        for pid in ids:
            if pid not in papers:
                self.q.fail(self.opts.kind, self.rep.worker, pid, "not in the store", 1)
                self.rep.failed += 1
                self.rep.failures[pid] = "not in the store"
                self.lease.finish(pid)
        return [papers[pid] for pid in ids if pid in papers]

    def commit(self, pid: str, status: str, write: Callable[[], object], reason: str) -> None:
        kind, me, rep = self.opts.kind, self.rep.worker, self.rep
        if status == "failed":
            state = self.q.fail(kind, me, pid, reason or "failed", self.opts.max_attempts)
            if state == "failed":  # for good: recorded where `papersift status` shows it
                write()
                rep.failed += 1
                rep.failures[pid] = reason
            elif state == "pending":
                rep.retried += 1
            else:
                rep.lost += 1
                status = "lost"
        else:
            with self.q.completing(kind, me, pid) as mine:
                if mine:
                    write()
            if not mine:
                rep.lost += 1
                status = "lost"
            elif status == "skipped":
                rep.skipped += 1
            else:
                rep.done += 1
        self.lease.finish(pid)
        if self.progress:
            self.progress(pid, status)

    def settle(self, ids: list[str], error: BaseException | None) -> None:
        """After the stage returned (or raised `error`) for `ids`: each item it left
        unfinished counts a failed try."""
        if isinstance(error, ConfigError) or (error is not None and not isinstance(error, Exception)):
            raise error  # a setting to fix, or a stop (WorkerStopped): not the items' fault
        if error is not None:  # the stage broke: each unfinished item counts a try
            why = f"{type(error).__name__}: {error}"[:500]
            for pid in self.lease.remaining(ids):
                self.commit(pid, "failed", functools.partial(self.store.record_failure, pid, why)
                            if self.opts.kind == "enrich" else nothing, why)
        for pid in self.lease.remaining(ids):  # a stage that skipped an item without a word
            self.commit(pid, "failed", nothing, "not processed by the stage")


def _batches(w: _Work, process: Process, notice: Callable[[float], bool],
             stop: threading.Event) -> None:
    # A stage that takes a batch at a time: claim, process the whole batch, claim again.
    wait = w.opts.poll
    while not stop.is_set():
        ids = w.claim(w.opts.batch or w.opts.concurrency)
        if not ids:
            if w.opts.once and not _unfinished(w.q, w.opts.kind):
                return
            # Asleep until work is queued or given back (a notice), or the wait ends: a dead
            # holder's items come back silently when their lease runs out, so the wait is
            # capped by it (with --once too: it waits for those).
            _idle(notice, stop, min(wait, w.opts.lease / 2))
            wait = min(wait * 2, w.opts.max_poll)
            continue
        wait = w.opts.poll
        error: Exception | None = None
        try:
            if todo := w.papers(ids):
                process(todo, w.opts.concurrency, w.commit)
        except Exception as e:
            error = e
        w.settle(ids, error)


async def _flow(w: _Work, flow: Flow, notice: Callable[[float], bool],
                stop: threading.Event) -> None:
    # A stage that keeps `concurrency` papers in flight: whenever papers are saved, their
    # slots are claimed again at once, so no paper waits for the slowest of a batch (nor
    # for the batch's saves), and at the end of the queue every slot works until it is dry.
    opts = w.opts
    running: set[str] = set()  # claimed and not yet committed
    tasks: dict[asyncio.Future[object], list[str]] = {}
    wake = asyncio.Event()
    wait, dry_until = opts.poll, 0.0  # after an empty claim: next try on a notice, or then

    def commit(pid: str, status: str, write: Callable[[], object], reason: str) -> None:
        w.commit(pid, status, write, reason)
        running.discard(pid)
        wake.set()

    try:
        while True:
            for t in [t for t in tasks if t.done()]:
                ids = tasks.pop(t)
                w.settle(ids, t.exception())
                running.difference_update(ids)
            free = 0 if stop.is_set() else opts.concurrency - len(running)
            if stop.is_set() and not tasks:
                return
            ids = []
            if free > 0 and (time.monotonic() >= dry_until or notice(0)):
                ids = w.claim(min(free, opts.batch or opts.concurrency))
                if ids:
                    wait, dry_until = opts.poll, 0.0
                else:
                    dry_until = time.monotonic() + min(wait, opts.lease / 2)
                    wait = min(wait * 2, opts.max_poll)
            if ids:
                if todo := w.papers(ids):
                    running.update(p.id for p in todo)
                    t = asyncio.ensure_future(flow.start(todo, commit))
                    t.add_done_callback(lambda _: wake.set())
                    tasks[t] = ids
                continue
            if not tasks:  # nothing in flight, nothing to claim: as in the batch loop
                if opts.once and not _unfinished(w.q, opts.kind):
                    return
                _idle(notice, stop, dry_until - time.monotonic())
                dry_until = 0.0
                continue
            wake.clear()
            # Until a paper is saved, or (slots free, the queue dry) the next try.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), None if free <= 0 else
                                       max(dry_until - time.monotonic(), 0.01))
            await asyncio.sleep(0)  # the other answers already in first: one claim for all
    finally:  # stopped, or broken: what is in flight is dropped (its claims are released)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
