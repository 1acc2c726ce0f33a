"""One forked helper process that works beside the parent and ships results back to it.

Fork (not spawn): the helper inherits the cards the parent loaded, so nothing large is
pickled on the way in. It never touches the store (the SQLite connection stays the
parent's) and leaves with os._exit, so no atexit handler or buffered output runs twice.

Why a helper that sends pages back instead of two workers that each write their own: on
ext4, two processes creating files in one directory (p/ holds ~90k pages) contend for the
directory lock, and the kernel time of the build went up 4x when measured. So the parent
alone creates files in p/; the helper renders part of the paper pages for it and writes
the other directories itself.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import select
import struct
import traceback
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct("<Q")
_F_SETPIPE_SZ = 1031  # Linux fcntl: a 1 MB pipe lets the helper run ahead of the parent


class Split:
    """Items 0..n-1 shared between the parent, which takes chunks from the front, and a
    forked helper, which takes them from the back, until the two meet: each item is taken
    once. Create it before the fork (the two ends live in shared memory)."""

    def __init__(self, n: int):
        ctx = multiprocessing.get_context("fork")
        self._lock = ctx.Lock()
        self._ends = ctx.RawArray("q", [0, n])

    def front(self, k: int) -> range | None:
        """Up to k items from the front; None when none are left."""
        with self._lock:
            a, b = self._ends[0], self._ends[1]
            if a >= b:
                return None
            self._ends[0] = e = min(a + k, b)
        return range(a, e)

    def back(self, k: int) -> range | None:
        """Up to k items from the back; None when none are left."""
        with self._lock:
            a, b = self._ends[0], self._ends[1]
            if a >= b:
                return None
            self._ends[1] = s = max(b - k, a)
        return range(s, b)


def can_fork() -> bool:
    return hasattr(os, "fork")


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        b = os.read(fd, min(n - got, 1 << 20))
        if not b:
            return None  # the helper is gone (EOF)
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


class Helper:
    """Runs fn(send) in a forked process; `send(obj)` ships obj to the parent, which
    collects shipped objects with poll() while it works and finish() at the end."""

    def __init__(self, fn: Callable[[Callable[[Any], None]], Any]):
        rfd, wfd = os.pipe()
        with contextlib.suppress(OSError, ImportError):
            import fcntl
            fcntl.fcntl(wfd, _F_SETPIPE_SZ, 1 << 20)
        pid = os.fork()
        if pid == 0:  # the helper
            code = 0
            try:
                os.close(rfd)

                def send(obj: Any) -> None:
                    data = pickle.dumps(("item", obj), protocol=pickle.HIGHEST_PROTOCOL)
                    _write_all(wfd, _HEADER.pack(len(data)) + data)

                result = fn(send)
                data = pickle.dumps(("done", result), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException as e:  # reported to the parent, which raises it
                code = 1
                data = pickle.dumps(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}"))
            try:
                _write_all(wfd, _HEADER.pack(len(data)) + data)
            finally:
                os._exit(code)
        os.close(wfd)
        self.pid, self.fd = pid, rfd
        self.result: Any = None
        self.error: str | None = None
        self.finished = False

    def _frame(self) -> tuple[str, Any] | None:
        head = _read_exact(self.fd, _HEADER.size)
        if head is None:
            return None
        body = _read_exact(self.fd, _HEADER.unpack(head)[0])
        return None if body is None else pickle.loads(body)

    def _take(self, wait: bool) -> list[Any]:
        out: list[Any] = []
        while not self.finished and (wait or select.select([self.fd], [], [], 0)[0]):
            msg = self._frame()
            if msg is None:
                self.finished = True
                self.error = self.error or "the helper process died"
            elif msg[0] == "item":
                out.append(msg[1])
            else:
                self.finished = True
                if msg[0] == "done":
                    self.result = msg[1]
                else:
                    self.error = msg[1]
        return out

    def poll(self) -> list[Any]:
        """What the helper shipped so far, without waiting."""
        return self._take(wait=False)

    def finish(self) -> tuple[list[Any], Any]:
        """Wait for the helper: (what it shipped since the last poll, its return value).
        Raises if it failed."""
        try:
            items = self._take(wait=True)
        finally:
            os.close(self.fd)
            os.waitpid(self.pid, 0)
        if self.error is not None:
            raise RuntimeError("site build helper failed: " + self.error)
        return items, self.result

    def abandon(self) -> None:
        """The parent failed: stop the helper and reap it."""
        with contextlib.suppress(OSError):
            os.kill(self.pid, 15)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        with contextlib.suppress(OSError):
            os.waitpid(self.pid, 0)
