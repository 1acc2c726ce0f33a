"""Import files into the store: sources -> store, in transactional chunks.

The readers in sources/ yield records and one-line errors; this module stores them. Each
chunk of papers is one transaction, so a bad record or a crash never loses what was stored
before; bad records are reported (file:line, field) and the good ones of the file are kept.
HFday enrichments are saved unless an LLM enrichment is already there, days are recorded
(merged, never shrunk), and every call is recorded in the `runs` table.
"""

from __future__ import annotations

import datetime as dt
import gc
import queue
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import Enrichment, Paper, Reading
from .runs import record_run
from .sources.archives import Item, detect_format, open_source, read_source
from .sources.records import BadRecord, DayInfo, FormatError, Record, Skipped
from .store.base import TX_CHUNK, BulkLoader, Store, UpsertStats

CHUNK = TX_CHUNK  # papers per store transaction
# A file's first transaction is smaller: the writer starts after 2,500 parsed papers instead
# of waiting for 20,000 (about a second on an 89k-paper archive) while the reader goes on.
FIRST_CHUNK = CHUNK // 8
# progress(file name, bytes done in this file, file size)
Progress = Callable[[str, int, int], None]
# store.prepare_papers: per paper, what the store precomputes off its writer thread
Prepare = Callable[[Iterable[Paper]], list[Any]]


@dataclass
class ImportSummary:
    files: int = 0
    records: int = 0
    stats: UpsertStats = field(default_factory=UpsertStats)
    enrichments: int = 0
    enrichments_kept: int = 0  # an LLM enrichment was already there
    days: int = 0
    readings: int = 0
    formats: dict[str, str] = field(default_factory=dict)  # file -> format
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {"files": self.files, "records": self.records, **self.stats.summary(),
                "enrichments": self.enrichments, "enrichments_kept_llm": self.enrichments_kept,
                "days": self.days, "readings": self.readings, "errors": len(self.errors)}


def import_paths(store: Store, paths: Iterable[Path], fmt: str = "auto", year: int | None = None,
                 progress: Progress | None = None, kind: str = "import") -> ImportSummary:
    """Import every file; a file that cannot be read at all is an error, not a crash."""
    paths = list(paths)
    summary = ImportSummary()
    params = {"paths": [str(p) for p in paths], "format": fmt, "year": year}
    with record_run(store, kind, params) as run:
        # A bulk import allocates ~10 objects per paper that all live to the end of a chunk:
        # the default GC thresholds rescan them over and over (~30% of an 89k-paper import).
        gc_thresholds = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)
        # The writer thread (the bottleneck) gives up the GIL for every SQLite call and then
        # waits up to a switch interval for the reader thread to hand it back: 1 ms, not 5 ms.
        switch = sys.getswitchinterval()
        try:
            sys.setswitchinterval(min(switch, 0.001))
            bulk: AbstractContextManager[Any] = (store.bulk_writes() if isinstance(store, BulkLoader)
                                                 else nullcontext())
            with bulk:
                for path in paths:
                    try:
                        _import_file(store, Path(path), fmt, year, summary, progress)
                    except FormatError as e:
                        summary.errors.append(str(e))
            run.status = "ok" if not summary.errors else ("partial" if summary.records else "failed")
        finally:
            gc.set_threshold(*gc_thresholds)
            sys.setswitchinterval(switch)
            run.counts, run.errors = summary.counts(), list(summary.errors)
    return summary


def _import_file(store: Store, path: Path, fmt: str, year: int | None, summary: ImportSummary,
                 progress: Progress | None) -> None:
    src = open_source(path)
    items: Generator[list[Item], None, None] | None = None
    try:
        use = detect_format(src) if fmt == "auto" else fmt
        summary.formats[str(path)] = use
        summary.files += 1
        records_before = summary.records  # what earlier files (and chunks) stored
        chunk: list[Record] = []
        days: dict[dt.date, list[str]] = {}
        readings: list[Reading] = []
        items = _background(read_source(src, use, year, skip=store.seen_records),
                            store.prepare_papers if isinstance(store, BulkLoader) else None)
        size = FIRST_CHUNK
        try:
            # A batch at a time: this thread is the import's bottleneck (it runs the SQL),
            # so the per-item work here is a list comprehension, not a Python loop.
            for batch in items:
                recs = [it for it in batch if isinstance(it, Record)]
                chunk.extend(recs)
                if len(recs) < len(batch):
                    for item in batch:
                        if isinstance(item, Skipped):
                            summary.records += item.count
                            summary.stats.unchanged += item.count
                        elif isinstance(item, BadRecord):
                            summary.errors.append(str(item))
                        elif isinstance(item, DayInfo):
                            days.setdefault(item.day, [])
                            if item.reading:
                                readings.append(item.reading)
                while len(chunk) >= size:
                    _store_chunk(store, chunk[:size], summary, days)
                    chunk, size = chunk[size:], CHUNK
                    if progress:
                        progress(src.name, src.position(), src.size)
        except FormatError as e:
            if not chunk and not days and summary.records == records_before:
                raise  # nothing was read: the file as a whole is unreadable
            summary.errors.append(str(e))  # a corrupt tail: what came before it is kept
        if chunk:
            _store_chunk(store, chunk, summary, days)
        for day, ids in sorted(days.items()):
            if ids:
                store.record_day(day, list(dict.fromkeys(ids)), _day_source(use))
                summary.days += 1
        for r in readings:
            if r.source_paper_id:
                r.source_paper_id = store.resolve_id(r.source_paper_id) or r.source_paper_id
            existing = store.get_reading(r.day)
            # A reading papersift wrote itself (method "llm") is never replaced by an import.
            if existing is None or (existing.method == r.method and existing != r):
                store.save_reading(r)
                summary.readings += 1
        if progress:
            progress(src.name, src.size, src.size)
    finally:
        if items is not None:
            items.close()  # stops the reader thread before its file is closed
        src.close()


_DONE = object()


def _background(items: Iterator[Item], prepare: Prepare | None = None,
                batch: int = 500) -> Generator[list[Item], None, None]:
    """Run a reader in a thread, handing its items over in batches (lists, in order).

    Parsing and validation (Python) then overlap with SQLite's writes and full-text
    indexing, which release the GIL: on two cores a bulk import takes the longer of the two
    instead of their sum. `prepare` (the store's prepare_papers) also runs here, so the
    writer thread is left with little Python of its own. The queue is bounded, so memory
    stays flat on any file size.
    """
    q: queue.Queue = queue.Queue(maxsize=48)
    stop = threading.Event()

    def put(buf: list[Item]) -> None:
        if prepare is not None:
            recs = [it for it in buf if isinstance(it, Record)]
            for rec, prep in zip(recs, prepare(r.paper for r in recs), strict=True):
                rec.prepared = prep
        q.put(buf)

    def run() -> None:
        buf: list[Item] = []
        try:
            for it in items:
                buf.append(it)
                if len(buf) >= batch:
                    put(buf)
                    buf = []
                    if stop.is_set():
                        return
            put(buf)
            q.put(_DONE)
        except BaseException as e:  # handed to the consumer, raised there
            q.put(buf)  # the items read before the error come first (unprepared: stored as is)
            q.put(e)

    t = threading.Thread(target=run, name="papersift-reader", daemon=True)
    t.start()
    try:
        while True:
            got = q.get()
            if got is _DONE:
                return
            if isinstance(got, BaseException):
                raise got
            if got:
                yield got
    finally:
        stop.set()
        while t.is_alive():  # unblock a reader waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                t.join(0.05)


def _day_source(fmt: str) -> str:
    return {"hf-api": "hf-dump"}.get(fmt, fmt)


def _store_chunk(store: Store, chunk: list[Record], summary: ImportSummary,
                 days: dict[dt.date, list[str]]) -> None:
    stats = store.upsert_papers([r.paper for r in chunk], [r.prepared for r in chunk])
    summary.stats.add(stats)
    summary.records += len(chunk)
    fps = [r.fp for r in chunk if r.fp is not None]
    if fps:
        store.mark_records(fps)
    # stats.ids holds the stored id of each input paper, in input order.
    pending: list[tuple[str, Enrichment]] = []
    for rec, pid in zip(chunk, stats.ids, strict=True):
        if rec.day is not None:
            days.setdefault(rec.day, []).append(pid)
        if rec.enrichment is not None:
            pending.append((pid, rec.enrichment))
    if pending:
        existing = store.get_enrichments(pid for pid, _ in pending)
        for pid, e in pending:
            old = existing.get(pid)
            if old is not None and old.method == "llm":
                summary.enrichments_kept += 1
                continue
            paper = store.get_paper(pid)
            e = e.model_copy(update={"paper_id": pid,
                                     "input_hash": paper.content_hash() if paper else ""})
            if old is not None and _same_enrichment(old, e):
                continue  # re-import: nothing new
            store.save_enrichment(e)
            summary.enrichments += 1


def _same_enrichment(a: Enrichment, b: Enrichment) -> bool:
    skip = {"created_at", "input_hash"}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)
