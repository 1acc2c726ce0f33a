"""Searches in worker processes fed from one queue.

Search is CPU-bound Python, so a server needs one process per core. Separate uvicorn worker
processes each keep their own connections and their own queue: under load the kernel had
handed one of them 24 of 32 keep-alive connections and the other 8, and the busy one set the
tail latency. Here the server process speaks HTTP and passes every search, in arrival order,
to whichever of N search processes is free. Each search process holds its own copy of the
indexes and sends back the finished JSON bytes.

One pipe per search process, watched by the server's event loop (no extra threads: a
ProcessPoolExecutor's feeder and manager threads cost the server process about 1 ms of CPU
per request in GIL hand-offs).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import multiprocessing
from multiprocessing.connection import Connection
from typing import Any

import orjson

from .results import search_payload, similar_ids

READY = "ready"


def _init(spec: dict[str, Any]) -> dict[str, Any]:
    from ..config import Settings
    from ..site.commands import engine_factory
    from ..store import open_store
    from .app import _lexical_engine

    settings = Settings.model_validate(spec["settings"])
    make = engine_factory(settings) or _lexical_engine
    engine = make(open_store(settings.db_target))
    engine.version_ttl = 1.0  # a store change shows within a second
    engine.bm25()
    engine.facets()
    engine.semantic_ready()
    gc.collect()
    gc.freeze()  # the indexes' millions of objects stay out of every later collection
    return {"engine": engine, "langs": settings.languages}


def _search_process(spec: dict[str, Any], conn: Connection) -> None:
    """A search process: load the indexes, say ready, then answer requests until told to
    stop (None) or the server goes away (EOF)."""
    state = _init(spec)
    ops = {
        "search": lambda params: orjson.dumps(search_payload(state["engine"], state["langs"], params)),
        "similar": lambda pid, limit: similar_ids(state["engine"], pid, limit),
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


class SearchError(RuntimeError):
    pass


class SearchPool:
    def __init__(self, spec: dict[str, Any], processes: int):
        self.spec = spec
        # spawn: fresh interpreters (forking a process that runs threads is unsafe).
        self.ctx = multiprocessing.get_context("spawn")
        self.slots: list[tuple[Any, Connection]] = [self._start() for _ in range(processes)]
        self.idle: list[Connection] = []
        self.waiting: collections.deque[tuple[str, tuple, asyncio.Future]] = collections.deque()
        self.busy: dict[Connection, asyncio.Future] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def _start(self) -> tuple[Any, Connection]:
        mine, theirs = self.ctx.Pipe()
        proc = self.ctx.Process(target=_search_process, args=(self.spec, theirs), daemon=True,
                                name="papersift-search")
        proc.start()
        theirs.close()
        return proc, mine

    def warm(self, timeout: float = 900.0) -> None:
        """Wait until every search process has loaded its indexes."""
        for proc, conn in self.slots:
            if not conn.poll(timeout):
                raise SearchError(f"search process {proc.pid} did not load its indexes in {timeout:.0f}s")
            try:
                assert conn.recv() == READY
            except EOFError:
                raise SearchError(f"search process {proc.pid} exited while loading the indexes "
                                  "(see its error above)") from None
            self.idle.append(conn)

    async def call(self, op: str, *args: Any) -> Any:
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        fut = self.loop.create_future()
        self.waiting.append((op, args, fut))
        self._dispatch()
        return await fut

    async def search(self, params: dict[str, Any]) -> bytes:
        return await self.call("search", params)

    async def similar(self, paper_id: str, limit: int) -> list[str]:
        return await self.call("similar", paper_id, limit)

    def _dispatch(self) -> None:
        assert self.loop is not None
        while self.idle and self.waiting:
            op, args, fut = self.waiting.popleft()
            if fut.done():  # the client went away while it waited
                continue
            conn = self.idle.pop()
            conn.send((op, args))
            self.busy[conn] = fut
            self.loop.add_reader(conn.fileno(), self._on_reply, conn)

    def _on_reply(self, conn: Connection) -> None:
        assert self.loop is not None
        self.loop.remove_reader(conn.fileno())
        fut = self.busy.pop(conn)
        try:
            ok, value = conn.recv()
        except (EOFError, OSError):
            # The process died mid-search (killed, out of memory): fail this request and
            # start a replacement, which joins the idle list once its indexes are loaded.
            if not fut.done():
                fut.set_exception(SearchError("search process exited"))
            self._replace(conn)
            return
        if not fut.done():
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(SearchError(value))
        self.idle.append(conn)
        self._dispatch()

    def _replace(self, dead: Connection) -> None:
        assert self.loop is not None
        i = next(i for i, (_, c) in enumerate(self.slots) if c is dead)
        dead.close()
        proc, conn = self.slots[i] = self._start()

        def ready() -> None:
            self.loop.remove_reader(conn.fileno())
            try:
                conn.recv()
            except (EOFError, OSError):
                return  # it failed to start as well: this slot stays empty
            self.idle.append(conn)
            self._dispatch()

        self.loop.add_reader(conn.fileno(), ready)

    def close(self) -> None:
        for _, conn in self.slots:
            with contextlib.suppress(OSError):  # already gone
                conn.send(None)
        for proc, conn in self.slots:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            conn.close()
