"""What stages read from and write to a store: small protocols, one per consumer.

Stages talk to a store through these, never to SQL, and each stage asks for the smallest
protocol it needs. `Store` combines all of them; every backend (SQLite now, PostgreSQL for
scale-out) implements `Store`, and `store/sqlite/__init__.py` checks statically that
SQLiteStore does. Bulk loading (`BulkLoader`) is optional: callers test for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Literal, Protocol, overload, runtime_checkable

import numpy as np

from ..model import Enrichment, Paper, Reading, RunRecord
from .records import (
    ARCHIVE_TABLES,
    PUBLISH_COLUMNS,
    QUEUE_STATES,
    TX_CHUNK,
    BM25Params,
    Claim,
    CoverageRow,
    DayStats,
    DaySummary,
    ImageRecord,
    LexicalQuery,
    PaperLinks,
    SearchFilters,
    SendRecord,
    UpsertStats,
)

# The records are part of this interface: stages import them from here or from records.
__all__ = ["ARCHIVE_TABLES", "BM25Params", "PUBLISH_COLUMNS", "TX_CHUNK", "CoverageRow", "DayStats",
           "DaySummary", "ImageRecord", "LexicalQuery", "PaperLinks", "SearchFilters",
           "SendRecord", "UpsertStats", "Claim", "QUEUE_STATES", "WorkQueue",
           "PaperReader", "DayReader", "PaperStore",
           "EnrichmentReader", "EnrichmentStore", "CacheStore", "MetaStore", "RunStore",
           "VectorStore", "ImportLedger", "BulkLoader", "CoverageStore", "JobLocks",
           "ArchiveStore", "Snapshots", "LinkReader", "LinkStore", "SearchSource",
           "RankedSearchSource", "ImageReader", "ImageStore", "PublishSource", "ProfileSource", "SendLog",
           "Store"]


class PaperReader(Protocol):
    def get_paper(self, paper_id: str) -> Paper | None: ...  # any pasted form of the id
    def get_papers(self, ids: Iterable[str]) -> dict[str, Paper]: ...  # stored ids only
    def iter_papers(self, batch: int = 2000) -> Iterator[Paper]: ...
    def count_papers(self) -> int: ...
    def existing_ids(self, ids: Iterable[str]) -> set[str]: ...  # those of `ids` stored now
    def resolve_id(self, text: str) -> str | None: ...
    # provenance rows (source, ref, first_seen) of one paper
    def paper_sources(self, paper_id: str) -> list[dict[str, str]]: ...


class DayReader(Protocol):
    def days(self) -> list[tuple[dt.date, int]]: ...
    def papers_for_day(self, day: dt.date) -> list[Paper]: ...
    def moved_papers(self, day: dt.date) -> dict[str, str]: ...
    def papers_between(self, start: dt.date, end: dt.date) -> list[Paper]: ...


class PaperStore(PaperReader, DayReader, Protocol):
    """Papers and HF days: collectors, importers and enrichment selection."""

    # `prepared`, when given, is BulkLoader.prepare_papers() of the same papers by this
    # same store, in order (None items: not prepared); other backends ignore it.
    def upsert_papers(self, papers: Iterable[Paper],
                      prepared: Iterable[Any] | None = None) -> UpsertStats: ...
    def record_day(self, day: dt.date, paper_ids: list[str], source: str) -> DayStats: ...


class EnrichmentReader(Protocol):
    def get_enrichment(self, paper_id: str) -> Enrichment | None: ...
    def get_enrichments(self, ids: Iterable[str]) -> dict[str, Enrichment]: ...
    def get_reading(self, day: dt.date) -> Reading | None: ...


class EnrichmentStore(EnrichmentReader, Protocol):
    """Enrichments, their failures and daily readings: enrich/."""

    def save_enrichment(self, e: Enrichment) -> None: ...
    def record_failure(self, paper_id: str, reason: str) -> None: ...
    def failures(self) -> dict[str, str]: ...
    def save_reading(self, r: Reading) -> None: ...


class CacheStore(Protocol):
    """A key-value cache of JSON values (LLM answers by content hash)."""

    def cache_get(self, key: str) -> Any | None: ...
    def cache_put(self, key: str, value: Any) -> None: ...


class MetaStore(Protocol):
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...


class RunStore(MetaStore, Protocol):
    """The run log (every command records one run) and meta values."""

    def start_run(self, kind: str, params: dict[str, Any]) -> int: ...
    def finish_run(self, run_id: int, counts: dict[str, Any], errors: list[str],
                   status: str = "ok") -> None: ...
    def recent_runs(self, limit: int = 20) -> list[RunRecord]: ...


class VectorStore(Protocol):
    """Embedding vectors per (model, paper), with the hash of the text they embed."""

    def put_vectors(self, model: str, items: list[tuple[str, str, np.ndarray]]) -> None: ...
    def load_vectors(self, model: str) -> tuple[list[str], np.ndarray]: ...
    # Only `ids`' vectors (those stored), ids sorted: the site publishes recent days' vectors
    # without reading the whole matrix.
    def get_vectors(self, model: str, ids: Iterable[str]) -> tuple[list[str], np.ndarray]: ...
    def vector_hashes(self, model: str) -> dict[str, str]: ...
    def delete_vectors(self, model: str, ids: Iterable[str]) -> None: ...


class ImportLedger(Protocol):
    """Fingerprints of raw records already imported: re-imports skip them unparsed."""

    def seen_records(self, fps: list[int]) -> set[int]: ...
    def mark_records(self, fps: Iterable[int]) -> None: ...


@runtime_checkable
class BulkLoader(Protocol):
    """Optional: what a backend offers bulk imports (ingest.py checks with isinstance)."""

    # Per paper, what upsert_papers precomputes without the database: an importer calls it
    # off the writer thread and passes the result as upsert_papers(prepared=...).
    def prepare_papers(self, papers: Iterable[Paper]) -> list[Any]: ...
    # Held around a bulk import (backend-specific write tuning).
    def bulk_writes(self) -> AbstractContextManager[Any]: ...


class CoverageStore(Protocol):
    """Coverage (papersift status): what sources said they have, and per-day summaries."""

    def record_coverage(self, source: str, period: str, expected: int | None, collected: int,
                        errors: int, run_id: int | None) -> None: ...
    def coverage(self, source: str | None = None) -> list[CoverageRow]: ...
    def day_summaries(self, since: dt.date | None = None, until: dt.date | None = None,
                      vector_model: str | None = None) -> list[DaySummary]: ...


class JobLocks(Protocol):
    """One writing job at a time per store: a second job waits for the first, up to
    `timeout` seconds, then raises StoreError naming the holder. Reentrant in one process
    (`run` holds it while its stages take it again). A killed holder releases it, and the
    next job to take it marks the runs the dead one left `running` as failed."""

    def job_lock(self, job: str, timeout: float,
                 on_wait: Callable[[str], None] | None = None) -> AbstractContextManager[None]: ...


class ArchiveStore(Protocol):
    """Rows of ARCHIVE_TABLES as plain values (JSON columns decoded, dates as ISO text,
    vectors as float32 bytes), in key order; restoring adds only rows whose key is new, in
    transactions, and keeps every row already stored."""

    def archive_rows(self, table: str, batch: int = 5000) -> Iterator[dict[str, Any]]: ...
    def restore_rows(self, table: str, rows: Iterable[dict[str, Any]]) -> int: ...  # rows added


@runtime_checkable
class WorkQueue(Protocol):
    """Items (kind, paper) that workers on any machine claim with a lease; PostgreSQL only
    (store/postgres/queue.py has the semantics). SQLite is one machine: `papersift run`."""

    def enqueue(self, kind: str, paper_ids: Iterable[str]) -> int: ...
    def requeue(self, kind: str, paper_ids: Iterable[str]) -> int: ...
    def claim(self, kind: str, worker: str, limit: int, lease: float) -> list[Claim]: ...
    def renew(self, kind: str, worker: str, paper_ids: Iterable[str],
              lease: float) -> set[str]: ...
    def completing(self, kind: str, worker: str,
                   paper_id: str) -> AbstractContextManager[bool]: ...
    def fail(self, kind: str, worker: str, paper_id: str, reason: str,
             max_attempts: int) -> str: ...
    def release(self, kind: str, worker: str, paper_ids: Iterable[str]) -> int: ...
    def queue_depth(self) -> dict[str, dict[str, int]]: ...
    def done_by(self, workers: Iterable[str]) -> dict[str, int]: ...  # items each finished
    # wait(seconds) -> whether work became claimable meanwhile (an idle worker's sleep)
    def work_notices(self) -> AbstractContextManager[Callable[[float], bool]]: ...
    # A run that says it is alive while the block runs (a job starting beside a worker
    # leaves it open), and the ids of those alive now (store/postgres/locks.py).
    def held_run(self, kind: str, params: dict[str, Any]) -> AbstractContextManager[int]: ...
    def live_runs(self) -> set[int]: ...


@runtime_checkable
class Snapshots(Protocol):
    """Optional: consistent copies of a live store (papersift backup / restore)."""

    # A consistent copy of the store at `target` (atomic: temp file + rename), taken while
    # other processes read and write; returns its size in bytes.
    def backup_to(self, target: Path) -> int: ...
    # Replace the store's content with the snapshot at `source` (checked first).
    def restore_from(self, source: Path) -> None: ...


class LinkReader(Protocol):
    # the stored links of those of `ids` that have been refreshed at least once
    def get_links(self, ids: Iterable[str]) -> dict[str, PaperLinks]: ...


class LinkStore(LinkReader, Protocol):
    """Code, stars, project pages and HF resource counts: sources/links.py."""

    # Writes each item (repo, stars, project page onto the paper; counts beside it) and
    # its checked_at; a paper whose shown values changed counts as changed (the site and
    # the search engine redraw it). Returns how many papers changed.
    def save_links(self, items: Iterable[PaperLinks]) -> int: ...


class SearchSource(PaperReader, EnrichmentReader, VectorStore, MetaStore, LinkReader, Protocol):
    """What search/ reads (engine, facets, lexical and vector indexes)."""

    def papers_version(self) -> str: ...  # changes whenever a paper is added, edited or renamed
    def enrichments_version(self) -> str: ...  # changes on every enrichment write
    @overload
    def search_texts(self, batch: int = 5000,
                     with_authors: Literal[False] = False) -> Iterator[tuple[str, str, str]]: ...
    @overload
    def search_texts(self, batch: int = 5000, *,
                     with_authors: Literal[True]) -> Iterator[tuple[str, str, str, str]]: ...
    # (id, day, upvotes, tags) of every paper
    def search_facets(self) -> Iterator[tuple[str, str | None, int | None, list[str]]]: ...
    def search_filter_ids(self, filters: SearchFilters | None) -> set[str]: ...
    # ids of every paper matching the query's required parts (ranking happens in search/)
    def lexical_match_ids(self, query: LexicalQuery,
                          filters: SearchFilters | None = None) -> set[str]: ...
    def browse_ids(self, filters: SearchFilters | None, order: Literal["date", "upvotes"],
                   limit: int, offset: int = 0) -> tuple[list[str], int]: ...
    def title_keys(self, ids: Iterable[str]) -> dict[str, str]: ...


@runtime_checkable
class RankedSearchSource(SearchSource, Protocol):
    """A SearchSource that ranks in the database (PostgreSQL): search/pg_engine.py asks it
    for candidates instead of building in-memory indexes. SQLite does not offer it."""

    # best k (id, BM25 score) of the papers matching the query's required parts, + how many match
    def lexical_ranked(self, query: LexicalQuery, filters: SearchFilters | None, k: int,
                       params: BM25Params = ...) -> tuple[list[tuple[str, float]], int]: ...
    # nearest k (id, cosine similarity) by the model's vector index, among the filtered papers
    def nearest(self, model: str, vec: np.ndarray, k: int, filters: SearchFilters | None = None,
                min_score: float = -1.0) -> list[tuple[str, float]]: ...
    def vector_scores(self, model: str, vec: np.ndarray, ids: Iterable[str]) -> dict[str, float]: ...
    def vector_ids(self, model: str, ids: Iterable[str]) -> set[str]: ...
    def vector_count(self, model: str) -> int: ...
    def sort_keys(self, ids: Iterable[str]) -> dict[str, tuple[str, int]]: ...  # id -> (day, upvotes)
    # build the lexical ranking's impact lists when missing or stale; their facts, or None if fresh
    def refresh_impacts(self, params: BM25Params, force: bool = False) -> dict[str, Any] | None: ...
    # the postings' state (papers listed, stored since, built/merged times); None: none built
    def impacts_status(self) -> dict[str, Any] | None: ...


class ImageReader(Protocol):
    # paper id -> kind -> record; every stored record when `ids` is None
    def get_images(self, ids: Iterable[str] | None = None) -> dict[str, dict[str, ImageRecord]]: ...


class ImageStore(ImageReader, Protocol):
    """Metadata of the papers' images (images/ writes; site/ reads). Saving a record
    counts as a change of its paper for touched_since (its pages show the image)."""

    # one record per paper and kind: a record replaces the one before (a failure too)
    def save_images(self, records: Iterable[ImageRecord]) -> None: ...


class PublishSource(PaperReader, DayReader, EnrichmentReader, ImageReader, Protocol):
    """What site/ reads to build the static site."""

    def day_members(self) -> list[tuple[str, str, str | None]]: ...  # (day, paper_id, moved_to)
    def touched_since(self, since: str) -> set[str]: ...
    def tag_members(self, tags: Iterable[str] | None = None,
                    limit: int | None = None) -> dict[str, list[str]]: ...
    def tag_counts(self) -> dict[str, int]: ...
    def top_between(self, start: dt.date, end: dt.date, limit: int) -> list[Paper]: ...
    def reading_hashes(self) -> dict[str, str]: ...
    def publish_rows(self, ids: Iterable[str] | None = None,
                     batch: int = 5000) -> Iterator[tuple[Any, ...]]: ...  # PUBLISH_COLUMNS


class ProfileSource(PaperReader, DayReader, EnrichmentReader, VectorStore, MetaStore, Protocol):
    """What profiles/ reads: library entries matched to stored papers by DOI or title, and
    the index's vectors of a few papers (a day's candidates, a profile's seeds)."""

    def ids_by_doi(self, dois: Iterable[str]) -> dict[str, str]: ...  # lowercased DOI -> id
    def ids_by_title_key(self, keys: Iterable[str]) -> dict[str, str]: ...  # ids.title_key -> id
    def vectors_for(self, model: str, ids: Iterable[str]) -> dict[str, np.ndarray]: ...


class SendLog(Protocol):
    """The digest send log (digest/): what went out to which channel, and what failed."""

    def sends_for(self, day: dt.date) -> dict[tuple[str, str], SendRecord]: ...  # (profile, channel)
    def record_send(self, rec: SendRecord) -> None: ...  # replaces that key's earlier record
    def recent_sends(self, limit: int = 50) -> list[SendRecord]: ...


class Store(SearchSource, PublishSource, PaperStore, EnrichmentStore, RunStore, CacheStore,
            ImportLedger, JobLocks, ArchiveStore, CoverageStore, ImageStore, LinkStore,
            ProfileSource, SendLog, Protocol):
    """Everything a backend implements (BulkLoader and Snapshots apart, which are optional)."""

    def close(self) -> None: ...
