"""Searches in worker processes fed from one queue.

Search is CPU-bound Python, so a server needs one process per core. Separate uvicorn worker
processes each keep their own connections and their own queue: under load the kernel had
handed one of them 24 of 32 keep-alive connections and the other 8, and the busy one set the
tail latency. Here the server process speaks HTTP and passes every search, in arrival order,
to whichever of N search processes is free. Each search process holds its own copy of the
indexes and sends back the finished JSON bytes.

One socket pair per search process; the server side is an asyncio stream read by one task per
search process, all taking jobs from one asyncio queue (no extra threads: a
ProcessPoolExecutor's feeder and manager threads cost the server process about 1 ms of CPU
per request in GIL hand-offs). The frames are multiprocessing.Connection's own (a 4-byte
length, then a pickle), so the search process uses a plain blocking Connection; the server
cannot, because the event loop puts the socket in non-blocking mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import multiprocessing
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

from ..config import SECRET_ENV_VARS
from ..errors import SearchError, SearchUnavailable
from . import qvectors
from .payloads import search_payload, serving_engine, similar_ids
from .threads import one_thread_of_math

READY = "ready"


def _init(spec: dict[str, Any]) -> dict[str, Any]:
    from ..config import Settings
    from ..search.engines import engine_factory
    from ..store import open_store

    settings = Settings.model_validate(spec["settings"])
    # Pinned: a search never reloads an index itself; the pool asks each process in turn to
    # refresh (SearchPool._maybe_refresh), so while one reloads the others keep answering.
    make = engine_factory(settings)
    db = settings.db_target
    engine = serving_engine(lambda store: _prebuild(make(store), db), open_store(db), pinned=True)
    one_thread_of_math()  # one search process per core (api/threads.py)
    _settle(engine)
    return {"engine": engine, "langs": settings.languages, "db": db}


def _settle(engine: Any) -> None:
    """After (re)loading indexes: collect, hand the freed heap back to the system, and keep
    the indexes' millions of long-lived objects out of every later collection.

    Building an index allocates far more than it keeps; glibc keeps those freed pages, so
    without the trim each reload left the process hundreds of MB larger (docs/search.md).
    The reload read every paper through SQLite, whose page cache would keep them too."""
    release = getattr(engine.store, "release_memory", None)
    if release is not None:
        release()
    gc.unfreeze()  # the objects frozen at the last load: the replaced indexes among them
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the pages stay mapped
        ctypes.CDLL(None).malloc_trim(0)
    gc.freeze()


_BUILD = "import json, sys; from papersift.api.pool import build_bm25; build_bm25(json.loads(sys.argv[1]))"


def build_bm25(job: dict[str, Any]) -> None:
    """In a child process: build the BM25 index of the store now and write its cache file."""
    from ..search.lexical import BM25Params, build_from_store
    from ..store import open_store

    params = BM25Params(job["k1"], job["b"], tuple(job["weights"]))
    store = open_store(job["db"])
    try:
        build_from_store(store, params, Path(job["cache"]))
    finally:
        store.close()


def _prebuild(engine: Any, db: str) -> Any:
    """When the papers changed, build the new BM25 index in a child process, so this one
    only loads it from the cache file. A build allocates several times what the index
    keeps, in millions of small objects; the long-lived ones end up scattered among them,
    and neither the collector nor malloc_trim can hand back a page one of them still sits
    on, so every reload built here left the process larger than a fresh one. If the child
    fails, or the papers moved on meanwhile, the engine builds the index itself."""
    from ..search.lexical import index_version

    params = engine.fusion.bm25
    if engine.cache_dir is None or index_version(engine.store.papers_version(), params) == engine.bm25_version():
        return engine
    job = {"db": db, "cache": str(Path(engine.cache_dir) / "bm25-index.npz"), "k1": params.k1,
           "b": params.b, "weights": list(params.weights)}
    # The child must import this very papersift, not another one on its default path.
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run([sys.executable, "-c", _BUILD, orjson.dumps(job).decode()], env=env,
                       stdout=subprocess.DEVNULL, timeout=RELOAD_TIMEOUT, check=False)
    return engine


def _refresh(state: dict[str, Any]) -> bool:
    engine = state["engine"]
    _prebuild(engine, state["db"])
    changed = bool(engine.refresh())
    if changed:
        _settle(engine)
    return changed


def _search_process(spec: dict[str, Any], conn: Connection) -> None:
    """A search process: load the indexes, say ready, then answer requests until told to
    stop (None) or the server goes away (EOF)."""
    # Ctrl-C in the terminal reaches the whole process group: the server stops us in order.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for key in SECRET_ENV_VARS:  # inherited environment: searching never calls a model or HF
        os.environ.pop(key, None)
    # With a search process per core, the server process competes with them for a core;
    # a lower priority here lets it read requests and send answers as soon as they are
    # ready instead of waiting out a search's time slice (which stalls every request).
    with contextlib.suppress(OSError):
        os.nice(SEARCH_NICE)
    state = _init(spec)
    def search(params: dict[str, Any], vec: bytes | None = None) -> tuple[bytes, bytes | None]:
        engine = state["engine"]
        report = qvectors.before_search(engine, params.get("q") or "", vec)
        payload = orjson.dumps(search_payload(engine, state["langs"], params))
        return payload, qvectors.after_search(engine, report)

    ops: dict[str, Callable[..., Any]] = {
        "search": search,
        "similar": lambda pid, limit: similar_ids(state["engine"], pid, limit),
        "refresh": lambda: _refresh(state),
    }
    conn.send(READY)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        op, args = msg
        try:
            reply = (True, ops[op](*args))
        except Exception as e:  # reported to the request that caused it; the process lives on
            reply = (False, f"{type(e).__name__}: {e}")
        conn.send(reply)


SEARCH_NICE = 5  # bench/api.py, nice 5 vs 0 in alternating runs: +10% requests per second
REPLY_TIMEOUT = 60.0  # a search that takes longer is stuck: its process is replaced
RELOAD_TIMEOUT = 900.0  # the same for a reload of the indexes (a large archive's BM25 build)
REFRESH_EVERY = 1.0  # seconds between two checks of the store's versions by one process


def _frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return (struct.pack("!i", len(data)) if len(data) <= 0x7FFFFFFF
            else struct.pack("!iQ", -1, len(data))) + data


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    (n,) = struct.unpack("!i", await reader.readexactly(4))
    if n == -1:
        (n,) = struct.unpack("!Q", await reader.readexactly(8))
    return pickle.loads(await reader.readexactly(n))


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():  # every process dead or restarting for that long
        fut.set_exception(SearchUnavailable("no search process answered in time"))


class SearchPool:
    def __init__(self, spec: dict[str, Any], processes: int):
        self.spec = spec
        # spawn: fresh interpreters (forking a process that runs threads is unsafe).
        self.ctx = multiprocessing.get_context("spawn")
        self.slots: list[tuple[Any, Connection]] = [self._start() for _ in range(processes)]
        self.jobs: asyncio.Queue | None = None
        self.tasks: list[asyncio.Task] = []
        self.closing = False
        self.sent_at: list[float | None] = [None] * processes  # when slot i got its job
        self.limit = [REPLY_TIMEOUT] * processes  # how long slot i's current job may take
        self.checked_at = [0.0] * processes  # when slot i last checked the store's versions
        self.idle = [False] * processes  # slot i waits for a job
        self.refreshing: int | None = None  # the slot reloading its indexes now, if any
        self.qvecs = qvectors.SharedQueryVectors()  # query vectors the processes computed

    def _start(self) -> tuple[Any, Connection]:
        mine, theirs = self.ctx.Pipe()  # duplex: a socket pair
        proc = self.ctx.Process(target=_search_process, args=(self.spec, theirs), daemon=True,
                                name="papersift-search")
        proc.start()
        theirs.close()
        return proc, mine

    def warm(self, timeout: float = 900.0) -> None:
        """Wait until every search process has loaded its indexes (before serving)."""
        for proc, conn in self.slots:
            if not conn.poll(timeout):
                raise SearchError(f"search process {proc.pid} did not load its indexes in {timeout:.0f}s")
            try:
                msg = conn.recv()
            except EOFError:
                raise SearchError(f"search process {proc.pid} exited while loading the indexes "
                                  "(see its error above)") from None
            if msg != READY:  # a real check, not an assert: `python -O` drops those
                raise SearchError(f"search process {proc.pid} sent {str(msg)[:80]!r} instead of "
                                  f"{READY!r} after loading the indexes (a bug); restart the server")

    async def call(self, op: str, *args: Any, timeout: float = 2 * REPLY_TIMEOUT) -> Any:
        if self.jobs is None:  # first call: inside the server's event loop
            self.jobs = asyncio.Queue()
            self.tasks = [asyncio.create_task(self._serve_slot(i)) for i in range(len(self.slots))]
            self.tasks.append(asyncio.create_task(self._watchdog()))
            self.tasks.append(asyncio.create_task(self._ticker()))
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.jobs.put_nowait((op, args, fut, 0))
        # A timer, not asyncio.wait_for: that wraps every request in another task (measured:
        # the server's CPU per request went up 5%).
        timer = loop.call_later(timeout, _expire, fut)
        try:
            return await fut
        finally:
            timer.cancel()

    async def search(self, params: dict[str, Any]) -> bytes:
        q = params.get("q") or ""
        payload, vec = await self.call("search", params, self.qvecs.get(q))
        if vec is not None:
            self.qvecs.put(q, vec)
        return payload

    async def similar(self, paper_id: str, limit: int) -> list[str]:
        return await self.call("similar", paper_id, limit)

    async def _serve_slot(self, i: int) -> None:
        """Feed search process i one job at a time, in queue order, for as long as it runs;
        replace it when it dies or hangs (with growing pauses if replacements keep dying)."""
        assert self.jobs is not None
        ready, pause = True, 0.5
        while not self.closing:
            try:
                if not ready:
                    self.slots[i] = self._start()
                _, conn = self.slots[i]
                reader, writer = await asyncio.open_connection(
                    sock=socket.socket(fileno=os.dup(conn.fileno())))
            except Exception:  # out of processes or files: try again later
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
                continue
            try:
                if not ready:  # a replacement: wait for its indexes
                    await _read_frame(reader)
                    ready, pause = True, 0.5
                while True:
                    await self._maybe_refresh(i, reader, writer)
                    self.idle[i] = True
                    try:
                        job = await self.jobs.get()
                    finally:
                        self.idle[i] = False
                    if job is None:  # the ticker's wake-up: time to check the versions
                        continue
                    op, args, fut, tries = job
                    if fut.done():  # the client went away while it waited
                        continue
                    writer.write(_frame((op, args)))
                    self.sent_at[i] = time.monotonic()
                    try:
                        ok, value = await _read_frame(reader)
                    except (asyncio.IncompleteReadError, OSError):
                        # Died (killed, out of memory) or stuck: a search has no side effects,
                        # so the job goes back to the queue once for another process.
                        if tries == 0 and not fut.done():
                            self.jobs.put_nowait((op, args, fut, 1))
                        elif not fut.done():
                            fut.set_exception(SearchUnavailable("the search process stopped"))
                        raise
                    finally:
                        self.sent_at[i] = None
                    if not fut.done():
                        fut.set_result(value) if ok else fut.set_exception(SearchError(value))
            except (asyncio.IncompleteReadError, OSError):
                writer.close()
                proc, conn = self.slots[i]
                if proc.is_alive():
                    proc.kill()
                conn.close()
                if not ready:  # the replacement died while loading: wait before the next
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 30.0)
                ready = False

    async def _watchdog(self) -> None:
        """Kill a search process stuck on one job for REPLY_TIMEOUT: its slot task then sees
        the end of its stream and replaces it (the job is retried once elsewhere)."""
        while not self.closing:
            await asyncio.sleep(min(5.0, REPLY_TIMEOUT / 4))
            now = time.monotonic()
            for i, sent in enumerate(self.sent_at):
                proc = self.slots[i][0]
                if sent is not None and now - sent > self.limit[i] and proc.is_alive():
                    proc.kill()

    async def _maybe_refresh(self, i: int, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        """Between two jobs, let search process i re-read the store's versions and reload
        what changed, unless another process is reloading: one at a time, so the others
        go on answering (both reloading at once stalled every request for seconds)."""
        if self.refreshing is not None or time.monotonic() - self.checked_at[i] < REFRESH_EVERY:
            return
        self.refreshing, self.limit[i], self.sent_at[i] = i, RELOAD_TIMEOUT, time.monotonic()
        try:
            writer.write(_frame(("refresh", ())))
            await _read_frame(reader)  # a failed reload keeps the old indexes (reported in the reply)
        finally:
            self.refreshing, self.limit[i], self.sent_at[i] = None, REPLY_TIMEOUT, None
            self.checked_at[i] = time.monotonic()

    async def _ticker(self) -> None:
        """Wake idle search processes whose check is due: with no traffic they would
        otherwise answer the first search after a quiet night from the old indexes."""
        assert self.jobs is not None
        while not self.closing:
            await asyncio.sleep(REFRESH_EVERY)
            if self.refreshing is None and self.jobs.empty():
                now = time.monotonic()
                for i in range(len(self.slots)):
                    if self.idle[i] and now - self.checked_at[i] >= REFRESH_EVERY:
                        self.jobs.put_nowait(None)

    def close(self) -> None:
        self.closing = True
        for task in self.tasks:
            task.cancel()
        for _, conn in self.slots:
            with contextlib.suppress(OSError):  # already gone
                conn.send(None)
        for proc, conn in self.slots:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            if proc.is_alive():  # stopped (SIGSTOP) or ignoring SIGTERM: multiprocessing's
                proc.kill()  # exit handler would otherwise wait for it forever
                proc.join(timeout=5)
            conn.close()
