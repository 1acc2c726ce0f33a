"""The one data model: Paper, Provenance, Enrichment, Review, Reading.

Every stage speaks these types. Sources build Papers, the store persists them, enrichment
adds an Enrichment per paper, search and site only read. Validation happens here, once, so
a malformed record is rejected at the edge with the field that is wrong.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .ids import is_arxiv_key, local_paper_id, try_arxiv_id

# Fields merged field-by-field when the same paper arrives again (order is the column order).
PAPER_FIELDS: tuple[str, ...] = (
    "arxiv_id", "version", "title", "abstract", "authors", "affiliations", "published",
    "updated", "hf_date", "upvotes", "num_comments", "github_repo", "github_stars",
    "project_page", "organization", "categories", "primary_category", "ai_summary",
    "ai_keywords", "comment", "journal_ref", "doi", "links",
)
# Counts that only ever grow as a paper gets attention: keep the larger one.
MONOTONIC_FIELDS = frozenset({"upvotes", "num_comments", "github_stars", "version"})


def _clean(s: str | None) -> str | None:
    """Collapse whitespace runs (arXiv's hard wraps); None for empty."""
    if not s:
        return None
    # Most values are already clean: a few C-level scans beat split+join (bulk imports).
    if (s[0] not in _EDGE_WS and s[-1] not in _EDGE_WS and "  " not in s and "\n" not in s
            and "\t" not in s and "\r" not in s and "\xa0" not in s):
        return s
    s = " ".join(s.split())
    return s or None


_EDGE_WS = frozenset(" \t\n\r\x0b\x0c\xa0")


class Provenance(BaseModel):
    """Which source said something about a paper, and when."""

    source: str  # e.g. "hf", "arxiv", "hfday", "listing", "daily-arxiv", "hf-dump"
    ref: str = ""  # file:line, URL or date that the record came from
    seen_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))


class Paper(BaseModel):
    """A research paper as papersift knows it, merged from every source."""

    model_config = ConfigDict(validate_assignment=False, extra="forbid")

    id: str = ""  # arXiv id without version, or "ps-<hash>" when there is none
    arxiv_id: str | None = None
    version: int | None = None
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    affiliations: list[str] = Field(default_factory=list)
    published: dt.date | None = None  # arXiv (first) publication date
    updated: dt.date | None = None
    hf_date: dt.date | None = None  # day it entered Hugging Face Daily Papers
    upvotes: int | None = None
    num_comments: int | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    organization: str | None = None
    categories: list[str] = Field(default_factory=list)
    primary_category: str | None = None
    ai_summary: str | None = None
    ai_keywords: list[str] = Field(default_factory=list)
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    links: dict[str, str] = Field(default_factory=dict)
    num_authors: int | None = None  # when a listing gives a count but not the names
    sources: list[Provenance] = Field(default_factory=list)

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        v = _clean(v) or ""
        if not v:
            raise ValueError("title is empty")
        return v

    @field_validator("abstract")
    @classmethod
    def _abstract(cls, v: str | None) -> str:
        return _clean(v) or ""

    @field_validator("authors", "affiliations", "categories", "ai_keywords")
    @classmethod
    def _str_list(cls, v: list[str]) -> list[str]:
        if not v:
            return []
        # Fast path for the common already-clean list: one scan of the joined text.
        joined = "\x00".join(v)
        if (len(set(v)) == len(v) and _clean(joined) == joined and "\x00 " not in joined
                and " \x00" not in joined and "\x00\x00" not in joined and joined[0] != "\x00"
                and joined[-1] != "\x00"):
            return list(v)
        out: list[str] = []
        seen: set[str] = set()
        for item in v:
            c = _clean(item)
            if c and c not in seen:
                seen.add(c)
                out.append(c)
        return out

    @field_validator("version", "upvotes", "num_comments", "github_stars", "num_authors")
    @classmethod
    def _non_negative(cls, v: int | None) -> int | None:
        if v is not None and v < 0:
            raise ValueError("must be >= 0")
        if v is not None and v >= 2**63:  # a store keeps 64-bit integers (SQLite, PostgreSQL)
            raise ValueError("must be below 2**63")
        return v

    @model_validator(mode="after")
    def _key(self) -> Paper:
        # Writes go through __dict__: these are normalisations of already-validated values,
        # and BaseModel.__setattr__ costs ~1 s per 100k papers on bulk imports.
        d = self.__dict__
        if self.arxiv_id:
            norm = try_arxiv_id(self.arxiv_id)
            if norm is None:
                raise ValueError(f"arxiv_id {self.arxiv_id!r} is not an arXiv id")
            d["arxiv_id"] = norm
        if not self.id:
            d["id"] = self.arxiv_id or local_paper_id(self.title)
        elif is_arxiv_key(self.id):
            norm = try_arxiv_id(self.id)
            if norm is None:
                raise ValueError(f"id {self.id!r} is neither an arXiv id nor a ps- key")
            d["id"] = norm
            d["arxiv_id"] = self.arxiv_id or norm
        if self.num_authors is None and self.authors:
            d["num_authors"] = len(self.authors)
        if self.primary_category is None and self.categories:
            d["primary_category"] = self.categories[0]
        return self

    @property
    def day(self) -> dt.date | None:
        """The day a paper belongs to on the site: its HF day, else its arXiv date."""
        return self.hf_date or self.published

    @property
    def abs_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv_id}" if self.arxiv_id else self.links.get("abs")

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.arxiv_id}" if self.arxiv_id else self.links.get("pdf")

    @property
    def hf_url(self) -> str | None:
        return f"https://huggingface.co/papers/{self.arxiv_id}" if self.arxiv_id else self.links.get("hf")

    def content_hash(self) -> str:
        """Hash of what an enrichment reads: changes here mean the enrichment is stale."""
        # Unit/record separators cannot occur in cleaned text, so the join is unambiguous.
        payload = "\x1f".join((self.title, self.abstract, self.ai_summary or "",
                               "\x1e".join(self.ai_keywords)))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


Lang = Literal["en", "ru", "zh"]
EnrichMethod = Literal["llm", "offline", "hfday"]


def trusted_paper(data: dict[str, Any]) -> Paper:
    """A Paper from values that were validated when they were stored (every field present):
    what model_construct() does, minus its per-field default handling, ~6x cheaper. Search
    and the site build one per result row, 20-90k at a time. tests/test_store.py checks the
    result equals model_construct()'s."""
    p = Paper.__new__(Paper)
    object.__setattr__(p, "__dict__", data)
    object.__setattr__(p, "__pydantic_fields_set__", set(data))
    object.__setattr__(p, "__pydantic_extra__", None)
    object.__setattr__(p, "__pydantic_private__", None)
    return p


class Review(BaseModel):
    """A catchy title and a short review in one language."""

    title: str
    review: str


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0


class Enrichment(BaseModel):
    """What enrichment adds to one paper. `method` says honestly how it was made."""

    paper_id: str
    method: EnrichMethod
    model: str = ""
    prompt_version: str = ""
    input_hash: str = ""
    emoji: str = ""
    tags: list[str] = Field(default_factory=list)  # taxonomy names without '#', e.g. "cv"
    reviews: dict[str, Review] = Field(default_factory=dict)  # lang -> Review
    summary: str = ""  # offline: extractive English summary
    usage: Usage = Field(default_factory=Usage)
    created_at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    extra: dict[str, Any] = Field(default_factory=dict)


class VocabItem(BaseModel):
    word: str
    pinyin: str
    trans: str


class Reading(BaseModel):
    """The daily Chinese reading exercise."""

    day: dt.date
    title: str = ""
    text: str
    pinyin: str
    translation: str
    vocab: list[VocabItem] = Field(default_factory=list)
    source_paper_id: str | None = None
    method: str = "llm"


class RunRecord(BaseModel):
    id: int
    kind: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    counts: dict[str, Any] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    status: str = "running"
