"""What stages read from and write to a store: small protocols, one per consumer.

Stages talk to a store through these, never to SQL, and each stage asks for the smallest
protocol it needs. `Store` combines all of them; every backend (SQLite now, PostgreSQL for
scale-out) implements `Store`, and `store/sqlite/__init__.py` checks statically that
SQLiteStore does. Bulk loading (`BulkLoader`) is optional: callers test for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
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
                   "num_authors", "created_at", "changed_at", "enrichment", "enriched_at")


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


class SearchSource(PaperReader, EnrichmentReader, VectorStore, MetaStore, Protocol):
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


class PublishSource(PaperReader, DayReader, EnrichmentReader, Protocol):
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
            ImportLedger, ProfileSource, SendLog, Protocol):
    """Everything a backend implements (BulkLoader apart, which is optional)."""

    def close(self) -> None: ...
