"""`papersift worker enrich|affiliations|images|index`: drain the PostgreSQL work queue."""

from __future__ import annotations

import signal
from collections import Counter
from types import FrameType
from typing import Annotated

import typer

from ..workers import KINDS, WorkerOptions, WorkerStopped, queue_of, run_worker
from .common import ConfigOpt, Ctx, DataDirOpt, console, fail, guarded, print_failed, progress_bar


def _stop(signum: int, frame: FrameType | None) -> None:
    # The worker gives its unfinished claims back (release) and records its run as stopped.
    raise WorkerStopped(signal.Signals(signum).name)


def worker(
    kind: Annotated[str, typer.Argument(help=f"What to work on: {', '.join(KINDS)}.")],
    once: Annotated[bool, typer.Option("--once", help="Stop when nothing is left to claim.")] = False,
    concurrency: Annotated[int | None, typer.Option(
        min=1, max=256, help="Papers in flight (default: the concurrency setting).")] = None,
    batch: Annotated[int | None, typer.Option(
        min=1, max=10000, help="Items per claim (default: the concurrency).")] = None,
    lease: Annotated[float | None, typer.Option(
        "--lease", min=0.5, help="Seconds a claim lasts unless renewed (default: the "
                                 "worker_lease setting, 120).")] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """Claim pending papers of the queue `papersift run` fills on PostgreSQL, a batch at a
    time under a lease, and process them; any number of workers on any machine."""
    if kind not in KINDS:
        fail(f"unknown worker kind {kind!r}: use {', '.join(KINDS)}")
    ctx = Ctx(config, data_dir)  # no job lock: workers run beside jobs and each other
    s = ctx.settings
    q = queue_of(ctx.store)
    opts = WorkerOptions(kind, concurrency or s.concurrency, batch or 0,
                         lease or s.worker_lease, once, s.worker_max_attempts)
    depth = q.queue_depth().get(kind, {})
    seen: Counter[str] = Counter()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stop)
    with progress_bar(status=True, transient=False) as bar:
        task = bar.add_task(f"worker {kind}", status="",
                            total=depth.get("pending", 0) + depth.get("leased", 0) or None)

        def tick(pid: str, status: str) -> None:
            seen[status] += 1
            bar.update(task, advance=1, status=" ".join(f"{k}={v}" for k, v in seen.items()))

        rep = run_worker(ctx.store, s, opts, progress=tick)
    console.print(rep.summary(), markup=False, highlight=False)
    print_failed(rep.failures)
    if rep.stopped:
        raise typer.Exit(130 if rep.stopped == "SIGINT" else 143)


def register(app: typer.Typer) -> None:
    app.command("worker")(guarded(worker))
