"""Every job records itself in the runs table through one context manager.

A run is written as `running` when it starts and finished exactly once: with the status the
job set, or `failed` when anything escapes the block (an error, Ctrl-C, a kill signal turned
into SystemExit), so `papersift stats` never shows a dead job as still running.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol


class RunLog(Protocol):
    def start_run(self, kind: str, params: dict[str, Any]) -> int: ...
    def finish_run(self, run_id: int, counts: dict[str, Any], errors: list[str],
                   status: str = "ok") -> None: ...


@dataclass
class Run:
    """What a job fills in while it works; read when the run is finished."""

    id: int
    counts: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    status: str | None = None  # None: "ok" without errors, else "partial"

    def final_status(self) -> str:
        if self.status is not None:
            return self.status
        return "partial" if self.errors else "ok"


def interrupted(e: BaseException) -> str:
    """How an exception that stopped a run is written in its errors."""
    return f"interrupted: {type(e).__name__}: {e}".rstrip(": ")


# How a per-paper stage hands over each paper's outcome: (paper id, status, write, reason).
# `write` stores the result (a no-op for "skipped"); status "failed" comes with its reason.
# A job calls write() at once (save_now); a queue worker calls it inside the transaction
# that marks the paper's work item done, or not at all when its claim was lost (workers.py).
Commit = Callable[[str, str, Callable[[], object], str], None]


def save_now(paper_id: str, status: str, write: Callable[[], object], reason: str = "") -> None:
    write()


@contextmanager
def record_run(store: RunLog, kind: str, params: dict[str, Any], *,
               run_id: int | None = None) -> Iterator[Run]:
    """`run_id`: a run row started already (a held run, store held_run), else a new one."""
    run = Run(store.start_run(kind, params) if run_id is None else run_id)
    try:
        yield run
    except BaseException as e:
        store.finish_run(run.id, run.counts, [interrupted(e), *run.errors], "failed")
        raise
    store.finish_run(run.id, run.counts, run.errors, run.final_status())
