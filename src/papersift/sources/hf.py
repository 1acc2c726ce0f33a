"""Hugging Face Daily Papers: the official JSON API (`/api/daily_papers`, `/api/papers/...`).

Responses are untrusted input: every field is type-checked here, URLs must be http(s), and
an item without an id or title is reported (by position and id) while the rest are kept.
Older responses lack the newer fields (ai_summary, githubRepo, organization...): missing is
fine, wrong type is dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from ..errors import InputError
from ..http import HttpClient, HttpError
from ..ids import try_arxiv_id
from ..model import Paper, Provenance
from . import Page, RecordError, one_line, web_url

DEFAULT_BASE_URL = "https://huggingface.co"
PAGE_SIZE = 50  # the API's default `limit`
MAX_PAGES = 400  # a month is ~1,000 papers; this only stops a server that ignores `p`
SORTS = ("publishedAt", "trending")

_WEEK_RE = re.compile(r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$")
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class HFClient:
    """Reads the Hugging Face papers API. Yields Papers; stores nothing."""

    def __init__(self, http: HttpClient, base_url: str = DEFAULT_BASE_URL,
                 token: str | None = None, page_size: int = PAGE_SIZE):
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        # Sent per request (never set on the shared client) so the token only goes to HF.
        self._headers = {"Authorization": f"Bearer {token}"} if token else None

    def daily_pages(self, *, date: dt.date | None = None, week: str | None = None,
                    month: str | None = None, sort: str | None = None) -> Iterator[Page]:
        """Every page of `/api/daily_papers` for one date, ISO week (2025-W06) or month.

        A weekend or a day without papers yields no papers; that is not an error. Bad
        arguments raise InputError (a ValueError) here, before any request.
        """
        params = _period_params(date, week, month)
        if sort:
            if sort not in SORTS:
                raise InputError(f"sort {sort!r}: use one of {', '.join(SORTS)}")
            params["sort"] = sort
        return self._daily_pages(params, date)

    def _daily_pages(self, params: dict[str, Any], date: dt.date | None) -> Iterator[Page]:
        url = f"{self.base_url}/api/daily_papers"
        seen_first: str | None = None
        for p in range(MAX_PAGES):
            q = {**params, "p": p, "limit": self.page_size}
            items = self.http.get_json(url, q, headers=self._headers)
            ref = "daily_papers?" + "&".join(f"{k}={v}" for k, v in q.items())
            if not isinstance(items, list):
                raise HttpError(f"GET {url}: expected a JSON list of papers, got "
                                f"{type(items).__name__}; is hf_base_url right?", url)
            page = parse_items(items, ref=ref, daily=True, day=date)
            first = page.papers[0].id if page.papers else None
            if p > 0 and first is not None and first == seen_first:
                # The server ignored `p` and sent page 0 again: stop instead of looping.
                page.errors.append(f"{ref}: server repeated the previous page; stopped paging")
                yield Page(ref=ref, errors=page.errors)
                return
            seen_first = first
            yield page
            if len(items) < self.page_size:
                return

    def daily_papers(self, **kw: Any) -> list[Paper]:
        """All papers of a period (see daily_pages); bad items are skipped."""
        return [paper for page in self.daily_pages(**kw) for paper in page.papers]

    def search(self, query: str, limit: int | None = None) -> Page:
        """`/api/papers/search?q=`: HF's own search over paper titles and abstracts."""
        if not query.strip():
            raise InputError("search query is empty")
        params: dict[str, Any] = {"q": query}
        if limit:
            params["limit"] = limit
        items = self.http.get_json(f"{self.base_url}/api/papers/search", params,
                                   headers=self._headers)
        if not isinstance(items, list):
            raise HttpError(f"GET {self.base_url}/api/papers/search: expected a JSON list",
                            self.base_url)
        return parse_items(items, ref=f"papers/search?q={query}", daily=False)

    def paper(self, paper_id: str) -> Paper | None:
        """`/api/papers/{id}`: one paper, or None when HF does not know it."""
        url = f"{self.base_url}/api/papers/{paper_id}"
        try:
            item = self.http.get_json(url, headers=self._headers)
        except HttpError as e:
            if e.status == 404:
                return None
            raise
        page = parse_items([item], ref=f"papers/{paper_id}", daily=False)
        if page.errors:
            raise RecordError(page.errors[0])
        return page.papers[0]


def _period_params(date: dt.date | None, week: str | None, month: str | None) -> dict[str, Any]:
    given = [x for x in (date, week, month) if x]
    if len(given) != 1:
        raise InputError("give exactly one of date, week or month")
    if date:
        return {"date": date.isoformat()}
    if week:
        if not _WEEK_RE.match(week):
            raise InputError(f"week {week!r}: use ISO form YYYY-Www, e.g. 2025-W06")
        return {"week": week}
    assert month is not None
    if not _MONTH_RE.match(month):
        raise InputError(f"month {month!r}: use YYYY-MM, e.g. 2025-02")
    return {"month": month}


def parse_items(items: list[Any], *, ref: str, daily: bool, day: dt.date | None = None) -> Page:
    """Parse a list of HF items (daily entries, search results or bare papers) into a Page."""
    page = Page(ref=ref, listed=len(items), day=day if daily else None)
    for i, item in enumerate(items):
        try:
            page.papers.append(parse_item(item, ref=ref, daily=daily, day=day))
        except RecordError as e:
            page.errors.append(f"{ref} item {i}: {e}")
    return page


def parse_item(item: Any, *, ref: str, daily: bool = False, day: dt.date | None = None) -> Paper:
    """One HF item -> Paper. Raises RecordError naming the item when it is unusable.

    `daily`: the item comes from a daily list, so its outer `publishedAt` is the day it was
    listed. `day`: the date asked for, which wins (HF listed it on that day).
    """
    if not isinstance(item, dict):
        raise RecordError(f"expected an object, got {type(item).__name__}")
    inner = item.get("paper")
    paper = inner if isinstance(inner, dict) else item
    outer = item if isinstance(inner, dict) else {}
    pid = one_line(paper.get("id"))
    if not pid:
        raise RecordError("no paper id; skipped")
    arxiv_id = try_arxiv_id(pid)
    if arxiv_id is None:
        raise RecordError(f"id {pid!r} is not an arXiv id; skipped")
    title = one_line(paper.get("title")) or one_line(outer.get("title"))
    if not title:
        raise RecordError(f"paper {pid} has no title; skipped")

    def pick(key: str) -> Any:
        v = paper.get(key)
        return v if v is not None else outer.get(key)

    hf_date = day or _date(paper.get("submittedOnDailyAt")) or (
        _date(outer.get("publishedAt")) if daily else None)
    links = {"hf": f"https://huggingface.co/papers/{arxiv_id}"}
    thumb = web_url(pick("thumbnail"))
    if thumb:
        links["thumbnail"] = thumb
    try:
        return Paper(
            arxiv_id=arxiv_id,
            title=title,
            abstract=one_line(paper.get("summary")) or one_line(outer.get("summary")) or "",
            authors=_authors(paper.get("authors")),
            published=_date(paper.get("publishedAt")),
            hf_date=hf_date,
            upvotes=_count(pick("upvotes")),
            num_comments=_count(outer.get("numComments", paper.get("numComments"))),
            github_repo=web_url(pick("githubRepo")),
            github_stars=_count(pick("githubStars")),
            project_page=web_url(pick("projectPage")),
            organization=_org(pick("organization")),
            ai_summary=one_line(pick("ai_summary")),
            ai_keywords=[k for k in (pick("ai_keywords") or []) if isinstance(k, str)]
            if isinstance(pick("ai_keywords"), list) else [],
            links=links,
            sources=[Provenance(source="hf", ref=ref)],
        )
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "paper"
        raise RecordError(f"paper {pid}: {field}: {err['msg']}") from None


def _count(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if v >= 0 else None
    if isinstance(v, str) and v.strip().isdigit():
        return int(v)
    return None


def _date(v: Any) -> dt.date | None:
    if not isinstance(v, str) or len(v) < 10:
        return None
    try:
        return dt.date.fromisoformat(v[:10])
    except ValueError:
        return None


def _authors(v: Any) -> list[str]:
    if not isinstance(v, list):
        return []
    out = []
    for a in v:
        name = a.get("name") if isinstance(a, dict) else a
        if isinstance(name, str) and name.strip():
            out.append(name)
    return out


def _org(v: Any) -> str | None:
    if isinstance(v, dict):
        return one_line(v.get("fullname")) or one_line(v.get("name"))
    return one_line(v)
