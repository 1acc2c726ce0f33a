"""The plain records that cross the store interface (store/base.py's protocols): what
stages pass to a store and get back, with no behaviour of their own beyond small sums."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

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


@dataclass(frozen=True)
class BM25Params:
    """BM25 saturation k1, length normalisation b and column weights (title, abstract,
    authors). Defaults chosen on SciFact train only (docs/search-quality.md). Here, not in
    search/lexical.py, because both rankers read them: the in-memory index and the
    database's (store/postgres/ranking.py), so one setting means the same on both."""

    k1: float = 1.2
    b: float = 0.75
    weights: tuple[float, float, float] = (4.0, 1.0, 1.0)


DEFAULT_BM25 = BM25Params()


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


# The tables of primary data a store-to-store copy (migrate) moves, with the columns that
# order their rows; an archive export (archive/write.py) writes all but the last three
# (images are files beside the store, import fingerprints and meta belong to the store).
# Derived data (full-text and blocking indexes, vector indexes, search counters, locks and
# work queue leases) is rebuilt by each backend: store/migrate.py lists every such table.
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
    "paper_images": ("paper_id", "kind"),
    "import_seen": ("fp",),
    "meta": ("key",),
}


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


@dataclass(frozen=True)
class Claim:
    """One work item a worker holds until `lease` seconds pass (store/postgres/queue.py).
    `reclaimed`: another worker held it before and its lease ran out (that worker died or
    stalled), so this is a second try of the same item, not a new one."""

    paper_id: str
    attempts: int
    reclaimed: bool


# A work item's states, as `WorkQueue.depth()` counts them ("leased": pending and held).
QUEUE_STATES = ("pending", "leased", "done", "failed")
