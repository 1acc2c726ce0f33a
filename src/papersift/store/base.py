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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, overload, runtime_checkable

import numpy as np

from ..model import Enrichment, Paper, Reading, RunRecord

# Papers per write transaction, for imports and for upsert_papers: fewer, larger FTS
# segments mean less merging; a crash loses at most the chunk in flight.
TX_CHUNK = 20000


@dataclass
class UpsertStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0  # arrived under another key and was merged into an existing paper
    ids: list[str] = field(default_factory=list)  # stored ids, in input order

    def add(self, other: UpsertStats) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.merged += other.merged
        self.ids.extend(other.ids)

    def summary(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged, "merged": self.merged}


@dataclass
class DayStats:
    added: int = 0
    kept: int = 0
    moved: list[tuple[str, str]] = field(default_factory=list)  # (paper_id, from_day)


@dataclass(frozen=True)
class SearchFilters:
    """Which papers a search or a browse may return. Every given condition must hold; each
    list matches any of its items (tags: all of them when tag_mode is "all")."""

    date_from: dt.date | None = None  # on the paper's day (HF day, else arXiv date)
    date_to: dt.date | None = None
    min_upvotes: int | None = None
    sources: tuple[str, ...] = ()  # provenance (paper_sources.source)
    categories: tuple[str, ...] = ()  # arXiv categories
    tags: tuple[str, ...] = ()  # enrichment tags
    tag_mode: Literal["any", "all"] = "any"


@dataclass
class LexicalQuery:
    """A parsed full-text query (search/query.py builds one from what a user typed): each
    backend turns it into its own syntax, so no query language crosses the interface.

    Phrases and author terms are required; free terms are optional (they add score)."""

    terms: list[str] = field(default_factory=list)  # free words
    phrases: list[list[str]] = field(default_factory=list)  # "exact phrases", as words
    authors: list[list[str]] = field(default_factory=list)  # author:name terms, as words


# The columns of each publish_rows() row, in order; JSON fields come as stored text.
PUBLISH_COLUMNS = ("id", "arxiv_id", "title", "abstract", "authors", "affiliations",
                   "published", "hf_date", "upvotes", "github_repo", "github_stars",
                   "project_page", "organization", "categories", "ai_summary", "links",
                   "num_authors", "created_at", "changed_at", "enrichment", "enriched_at",
                   "hf_models", "hf_datasets", "hf_spaces")


@dataclass
class PaperLinks:
    """Code and linked resources of one paper, as the links step last found them.

    The GitHub repo, its stars and the project page are the paper's own fields (a refresh
    writes them there); the counts of Hugging Face models, datasets and Spaces that cite the
    paper live beside it. None: not known (never checked, or the lookup failed)."""

    paper_id: str
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    hf_models: int | None = None
    hf_datasets: int | None = None
    hf_spaces: int | None = None
    checked_at: str = ""  # ISO UTC time of the refresh that wrote this ("" = never)


@dataclass(frozen=True)
class CoverageRow:
    """What a source said it has for one period (an HF day, an arXiv query's date range)
    at the last collect of it, beside what that collect stored."""

    source: str  # "hf", "arxiv:cs.CL", ...
    period: str  # "2025-02-06" or "2025-02-01..2025-02-03"
    expected: int | None  # None: the source did not say
    collected: int
    errors: int
    run_id: int | None
    at: str  # ISO time of that collect


@dataclass
class DaySummary:
    """One day as the store holds it: its papers and what the stages did to them."""

    day: dt.date
    papers: int  # listed on the day (HF) or dated on it, minus papers HF moved away
    enriched: dict[str, int] = field(default_factory=dict)  # method -> papers
    failed: dict[str, int] = field(default_factory=dict)  # enrichment failure reason -> papers
    indexed: int = 0  # papers with a vector of the asked model
    images: int = 0  # papers with a stored image (title block, figure or thumbnail)
    sent: int = 0  # digests of the day sent (one per profile and channel)
    send_failed: int = 0  # digests of the day whose last attempt failed


@dataclass(frozen=True)
class ImageRecord:
    """What the store knows of one image of a paper: where its file is (a name under the
    data dir's images/ folder, content-addressed) or why there is none."""

    paper_id: str
    kind: str  # "title" (page-1 crop), "figure" (arXiv HTML), "thumbnail" (Hugging Face)
    file: str = ""  # "" when there is no image (see failure)
    bytes: int = 0
    width: int = 0
    height: int = 0
    hash: str = ""  # sha256 of the image file's bytes
    source_hash: str = ""  # what it was made from (PDF / download bytes + recipe version)
    source_url: str = ""
    caption: str = ""  # a figure's caption, as the paper's HTML has it (untrusted text)
    failure: str = ""  # why there is no image, one line
    retry: bool = False  # the failure may pass (network): the next run tries again
    updated_at: str = ""  # set by the store


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


# What an archive holds (papersift export / import DIR, and store-to-store copies): every
# table of primary data, with the columns that order its rows. Derived data (full-text and
# blocking indexes, import fingerprints, search counters) is rebuilt by the backend.
ARCHIVE_TABLES: dict[str, tuple[str, ...]] = {
    "papers": ("id",),
    "paper_sources": ("paper_id", "source", "ref"),
    "aliases": ("alias",),
    "day_papers": ("day", "paper_id"),
    "enrichments": ("paper_id",),
    "enrich_failures": ("paper_id",),
    "readings": ("day",),
    "llm_cache": ("key",),
    "runs": ("id",),
    "vectors": ("model", "paper_id"),
    "coverage": ("source", "period"),
    "paper_links": ("paper_id",),
    "digest_sends": ("day", "profile", "channel"),
}


class ArchiveStore(Protocol):
    """Rows of ARCHIVE_TABLES as plain values (JSON columns decoded, dates as ISO text,
    vectors as float32 bytes), in key order; restoring adds only rows whose key is new, in
    transactions, and keeps every row already stored."""

    def archive_rows(self, table: str, batch: int = 5000) -> Iterator[dict[str, Any]]: ...
    def restore_rows(self, table: str, rows: Iterable[dict[str, Any]]) -> int: ...  # rows added


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


@dataclass(frozen=True)
class SendRecord:
    """One (profile, day, channel) digest delivery: sent once, or failed with its reason."""

    profile: str
    day: dt.date
    channel: str  # a label without secrets (deliver/channels: "email:a@b.org", "tgram:3fa2c1d0")
    status: Literal["sent", "failed"]
    attempts: int = 1
    parts: int = 0  # messages it took (long digests are split per channel limits)
    reason: str = ""  # why it failed (last error), "" when sent
    at: str = ""  # when it was recorded (ISO, UTC); the store fills it in


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
