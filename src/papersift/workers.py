"""Queue workers: `papersift worker enrich|affiliations|images|index` on a PostgreSQL store.

A worker claims a batch of work items (store/postgres/queue.py: `FOR UPDATE SKIP LOCKED`
plus a lease on the server's clock), renews the lease from a thread of its own while the
batch is in flight, and hands the batch to the same per-paper code `papersift run` uses
(enrich/runner.py, enrich/affiliations.py, images/pipeline.py, search/indexing.py). Each
paper's result is written inside `completing()`, the transaction that marks its item done,
and only while the worker still holds it: a result is stored once or not at all, and an item
whose lease ran out (a SIGKILLed or stalled worker) goes to the next worker that claims it.

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
import functools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from .config import Settings
from .enrich.affiliations import arxiv_pdf_url, fetch_affiliations
from .enrich.llm import make_llm
from .enrich.runner import enrich_llm, enrich_offline, needing_enrichment
from .errors import ConfigError, InputError
from .http import HttpClient
from .images.job import images_step
from .model import Paper
from .runs import Commit, record_run
from .search.indexing import run_index
from .store.base import Store, WorkQueue

KINDS = ("enrich", "affiliations", "images", "index")
Progress = Callable[[str, str], None]  # (paper id, what became of it)
# A stage, opened once per worker: process(papers, concurrency, commit) for each batch.
Process = Callable[[list[Paper], int, Commit], object]
Stage = Callable[[Store, Settings], AbstractContextManager[Process]]


class WorkerStopped(BaseException):
    """Raised in the worker's thread by a SIGTERM / SIGINT handler: stop now, give the
    unfinished claims back (a BaseException, so no stage's `except Exception` eats it)."""


def _nothing() -> None:
    pass


# -- the stages: the existing per-paper code, with each paper's write handed to `commit` --

@contextmanager
def _enrich(store: Store, s: Settings) -> Iterator[Process]:
    llm = make_llm(s)
    if llm is None:
        yield lambda papers, n, commit: enrich_offline(store, papers, commit=commit)
        return
    # One event loop and one client for the worker's life (the client's connections are
    # bound to the loop that opened them): a batch costs no new client or connections.
    with asyncio.Runner() as runner:
        try:
            yield lambda papers, n, commit: runner.run(
                enrich_llm(store, papers, llm, s.languages, n, commit=commit))
        finally:
            # A stop mid-batch leaves its requests pending in the loop: cancel them first.
            for task in asyncio.all_tasks(runner.get_loop()):
                task.cancel()
            runner.run(llm.aclose())


def _affiliations(store: Store, s: Settings, papers: list[Paper], concurrency: int,
                  commit: Commit) -> None:
    with HttpClient(timeout=s.request_timeout, min_interval={"arxiv.org": 1.0}) as http:
        fetch_affiliations(store, papers, http, make_llm(s),
                           arxiv_pdf_url(s.arxiv_web_url.rstrip("/") + "/pdf/"), commit=commit)


def _images(store: Store, s: Settings, papers: list[Paper], concurrency: int,
            commit: Commit) -> None:
    # The image step saves each paper's records as they are made and skips what is made
    # already, so a re-claimed paper costs no second rendering. Its items are done once the
    # whole step returns: the affiliations from the same PDFs are read after the images.
    seen: dict[str, str] = {}
    rep = images_step(store, s, papers, llm=make_llm(s), concurrency=concurrency,
                      progress=lambda pid, st: seen.__setitem__(pid, st))
    for p in papers:
        st = seen.get(p.id, "done")
        commit(p.id, st, _nothing, rep.failed.get(p.id, "") if st == "failed" else "")


def _index(store: Store, s: Settings, papers: list[Paper], concurrency: int,
           commit: Commit) -> None:
    # The index is one incremental pass over the store (it embeds whatever lacks a vector),
    # not per-paper work: one pass covers the batch. One index worker is enough.
    run_index(store, s)
    for p in papers:
        commit(p.id, "done", _nothing, "")


def _per_batch(fn: Callable[[Store, Settings, list[Paper], int, Commit], None]) -> Stage:
    @contextmanager
    def stage(store: Store, s: Settings) -> Iterator[Process]:
        yield functools.partial(fn, store, s)
    return stage


STAGES: dict[str, Stage] = {"enrich": _enrich, "affiliations": _per_batch(_affiliations),
                            "images": _per_batch(_images), "index": _per_batch(_index)}


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
    """The items a batch still holds, kept alive by a thread that renews their lease every
    third of it; an item the store no longer renews was lost (re-claimed by another)."""

    def __init__(self, queue: WorkQueue, kind: str, worker: str, lease: float, ids: list[str]):
        self.q, self.kind, self.worker, self.lease = queue, kind, worker, lease
        self.held = set(ids)
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

    def finish(self, pid: str) -> None:
        with self._guard:
            self.held.discard(pid)

    def remaining(self) -> list[str]:
        with self._guard:
            return sorted(self.held)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def run_worker(store: Store, settings: Settings, opts: WorkerOptions, *,
               progress: Progress | None = None,
               stop: threading.Event | None = None) -> WorkerReport:
    """Claim and process `opts.kind` items until stopped (`stop` set between batches, or
    WorkerStopped raised in this thread), or, with `once`, until none is left to claim.
    Records its run; returns what it did."""
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
    with q.held_run(f"worker-{opts.kind}", params) as run_id, q.work_notices() as notice, \
            record_run(store, f"worker-{opts.kind}", params, run_id=run_id) as run, \
            stage(store, settings) as process:
        rep.run_id = run_id
        wait = opts.poll
        try:
            while not stop.is_set():
                claims = q.claim(opts.kind, rep.worker, opts.batch or opts.concurrency, opts.lease)
                if not claims:
                    if opts.once and not _unfinished(q, opts.kind):
                        break
                    # Asleep until work is queued or given back (a notice), or the wait ends:
                    # a dead holder's items come back silently when their lease runs out,
                    # so the wait is capped by it (with --once too: it waits for those).
                    _idle(notice, stop, min(wait, opts.lease / 2))
                    wait = min(wait * 2, opts.max_poll)
                    continue
                wait = opts.poll
                rep.batches += 1
                rep.claimed += len(claims)
                rep.reclaimed += sum(c.reclaimed for c in claims)
                _batch(store, q, process, opts, rep, [c.paper_id for c in claims], progress)
        except WorkerStopped as e:  # a clean stop, not an error: its claims were released
            rep.stopped = str(e) or "stopped"
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


def _batch(store: Store, q: WorkQueue, process: Process, opts: WorkerOptions,
           rep: WorkerReport, ids: list[str], progress: Progress | None) -> None:
    kind, me = opts.kind, rep.worker
    lease = _Lease(q, kind, me, opts.lease, ids)

    def commit(pid: str, status: str, write: Callable[[], object], reason: str) -> None:
        if status == "failed":
            state = q.fail(kind, me, pid, reason or "failed", opts.max_attempts)
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
            with q.completing(kind, me, pid) as mine:
                if mine:
                    write()
            if not mine:
                rep.lost += 1
                status = "lost"
            elif status == "skipped":
                rep.skipped += 1
            else:
                rep.done += 1
        lease.finish(pid)
        if progress:
            progress(pid, status)

    try:
        papers = store.get_papers(ids)
        for pid in ids:
            if pid not in papers:  # gone from the store since it was queued: fails for good
                q.fail(kind, me, pid, "not in the store", 1)
                rep.failed += 1
                rep.failures[pid] = "not in the store"
                lease.finish(pid)
        todo = [papers[pid] for pid in ids if pid in papers]
        if todo:
            try:
                process(todo, opts.concurrency, commit)
            except ConfigError:
                raise
            except Exception as e:  # the batch broke: each unfinished item counts a try
                why = f"{type(e).__name__}: {e}"[:500]
                for pid in lease.remaining():
                    commit(pid, "failed", functools.partial(store.record_failure, pid, why)
                           if kind == "enrich" else _nothing, why)
        for pid in lease.remaining():  # a stage that skipped an item without a word
            commit(pid, "failed", _nothing, "not processed by the stage")
    finally:
        lease.stop()
        left = lease.remaining()
        if left:  # a stop, or an error: the unfinished go back without counting a try
            rep.released += q.release(kind, me, left)
