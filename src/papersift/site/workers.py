"""Run one function in N forked worker processes and collect what each returns.

Fork (not spawn): the workers inherit the cards the parent loaded, so nothing large is
pickled on the way in; only each worker's small result comes back through a pipe. Workers
never touch the store (its SQLite connection stays the parent's) and leave with os._exit,
so no atexit handler or buffered output of the parent runs twice.
"""

from __future__ import annotations

import os
import pickle
import traceback
from collections.abc import Callable
from typing import Any


def can_fork() -> bool:
    return hasattr(os, "fork")


def run_forked(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """[fn(0), ..., fn(n-1)], each in its own process (in this one when n == 1)."""
    if n <= 1 or not can_fork():
        return [fn(i) for i in range(max(n, 1))]
    children: list[tuple[int, int]] = []
    try:
        for w in range(n):
            rfd, wfd = os.pipe()
            pid = os.fork()
            if pid == 0:  # worker
                os.close(rfd)
                code = 0
                try:
                    out = pickle.dumps(("ok", fn(w)))
                except BaseException as e:  # reported to the parent, which raises it
                    out = pickle.dumps(("error", f"{type(e).__name__}: {e}",
                                        traceback.format_exc(limit=5)))
                    code = 1
                try:
                    with os.fdopen(wfd, "wb") as fh:
                        fh.write(out)
                finally:
                    os._exit(code)
            os.close(wfd)
            children.append((pid, rfd))
    finally:
        results: list[Any] = []
        errors: list[str] = []
        for pid, rfd in children:
            with os.fdopen(rfd, "rb") as fh:  # read before waiting: a full pipe blocks the worker
                data = fh.read()
            _, status = os.waitpid(pid, 0)
            if not data:
                errors.append(f"worker {pid} died (status {status})")
                continue
            msg = pickle.loads(data)
            if msg[0] == "ok":
                results.append(msg[1])
            else:
                errors.append(f"{msg[1]}\n{msg[2]}")
    if errors:
        raise RuntimeError("site build worker failed: " + errors[0])
    return results
