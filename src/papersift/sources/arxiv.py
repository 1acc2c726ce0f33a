"""arXiv export API (Atom): papers by category + submitted-date range, or by id list.

arXiv asks for at most one request every 3 seconds; the client books that interval on the
shared HttpClient for the API's host, so it holds however the client is used. Responses are
parsed with xml.etree after refusing any DTD or entity declaration (the API never sends one;
a body that does is not the API and could expand entities).
"""

from __future__ import annotations

import datetime as dt
import functools
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from ..errors import InputError
from ..http import BadBody, HttpClient, HttpError
from ..ids import InvalidArxivId, normalize_arxiv_id, parse_arxiv_id
from ..model import Paper, Provenance
from . import Page, RecordError, one_line, web_url

DEFAULT_BASE_URL = "https://export.arxiv.org"
MIN_INTERVAL = 3.0  # seconds between requests, per arXiv's API terms
PAGE_SIZE = 200
ID_BATCH = 100
MAX_RESULTS = 30_000  # the API refuses to page beyond this; split the date range instead

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "arxiv": "http://arxiv.org/schemas/atom",
}


class ArxivClient:
    """Reads the arXiv export API. Yields Papers a page at a time; stores nothing."""

    def __init__(self, http: HttpClient, base_url: str = DEFAULT_BASE_URL,
                 min_interval: float = MIN_INTERVAL, page_size: int = PAGE_SIZE,
                 id_batch: int = ID_BATCH):
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.id_batch = id_batch
        http.min_interval[urlsplit(self.base_url).netloc] = min_interval

    @property
    def _url(self) -> str:
        return f"{self.base_url}/api/query"

    def search_pages(self, category: str, start: dt.date, end: dt.date) -> Iterator[Page]:
        """Papers of `category` submitted from `start` to `end` (inclusive), oldest first."""
        if end < start:
            raise InputError(f"date range {start}..{end}: --from must not be after --to")
        if not category or any(c in category for c in " :()[]"):
            raise InputError(f"category {category!r}: give an arXiv category like cs.CL")
        query = (f"cat:{category} AND submittedDate:"
                 f"[{start:%Y%m%d}0000 TO {end:%Y%m%d}2359]")
        return self._search_pages(query)

    def _search_pages(self, query: str) -> Iterator[Page]:
        offset, total = 0, None
        while total is None or offset < total:
            params = {"search_query": query, "start": offset, "max_results": self.page_size,
                      "sortBy": "submittedDate", "sortOrder": "ascending"}
            page = self.http.get(self._url, params, parse=functools.partial(_parse_feed, offset=offset))
            total = page.total or 0
            if total > MAX_RESULTS:
                raise HttpError(f"arXiv query {query!r} matches {total} papers, more than the API "
                                f"pages through ({MAX_RESULTS}); use a shorter date range", self._url)
            yield page
            offset += self.page_size

    def id_pages(self, ids: Iterable[str]) -> Iterator[Page]:
        """Papers by id (any pasted form), in batches; unknown ids are reported per page.

        A malformed id raises InvalidArxivId (naming it) here, before any request."""
        wanted: list[str] = []
        for raw in ids:
            bare = normalize_arxiv_id(raw)
            if bare not in wanted:
                wanted.append(bare)
        return self._id_pages(wanted)

    def _id_pages(self, wanted: list[str]) -> Iterator[Page]:
        for i in range(0, len(wanted), self.id_batch):
            batch = wanted[i:i + self.id_batch]
            params = {"id_list": ",".join(batch), "start": 0, "max_results": len(batch)}
            page = self.http.get(self._url, params, parse=lambda r: _parse_feed(r, None))
            got = {p.id for p in page.papers}
            page.errors.extend(f"{x}: not found on arXiv" for x in batch if x not in got)
            yield page


def _parse_feed(resp: httpx.Response, offset: int | None) -> Page:
    """Atom feed -> Page. Truncated XML, or an empty page the counts say cannot be empty,
    raises BadBody so the client retries (the API is known to send both now and then)."""
    root = parse_xml(resp.content)
    total_text = root.findtext("opensearch:totalResults", default="", namespaces=NS).strip()
    total = int(total_text) if total_text.isdigit() else None
    page = Page(ref=str(resp.request.url), total=total)
    entries = root.findall("atom:entry", NS)
    if offset is not None and not entries and total and offset < total:
        raise BadBody(f"empty page at start={offset} of {total} results")
    for i, entry in enumerate(entries):
        try:
            page.papers.append(parse_entry(entry))
        except RecordError as e:
            page.errors.append(f"{page.ref} entry {i}: {e}")
    return page


def parse_xml(body: bytes) -> ET.Element:
    """Parse an Atom body, refusing DTDs/entities (HttpError) and retrying broken XML."""
    head = body[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in body.lower():
        raise HttpError("arXiv response declares a DTD or entities; refusing to parse it "
                        "(is arxiv_base_url pointing at the export API?)", "")
    try:
        return ET.fromstring(body)
    except ET.ParseError as e:
        raise BadBody(f"not valid XML: {e}") from None
    except LookupError as e:  # a damaged XML declaration: encoding="TTF-8"
        raise BadBody(f"not valid XML: {e}") from None


def parse_entry(entry: ET.Element) -> Paper:
    """One Atom <entry> -> Paper; RecordError names the entry when it is unusable."""
    raw_id = (entry.findtext("atom:id", default="", namespaces=NS) or "").strip()
    if "/api/errors" in raw_id:
        msg = one_line(entry.findtext("atom:summary", default="", namespaces=NS)) or raw_id
        raise RecordError(f"arXiv error: {msg}")
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
    except InvalidArxivId:
        raise RecordError(f"entry id {raw_id!r} is not an arXiv id") from None
    title = one_line(entry.findtext("atom:title", default="", namespaces=NS))
    if not title:
        raise RecordError(f"{arxiv_id}: no title")
    authors, affiliations = [], []
    for a in entry.findall("atom:author", NS):
        name = one_line(a.findtext("atom:name", default="", namespaces=NS))
        if name:
            authors.append(name)
        for aff in a.findall("arxiv:affiliation", NS):
            text = one_line(aff.text)
            if text and text not in affiliations:
                affiliations.append(text)
    primary_el = entry.find("arxiv:primary_category", NS)
    primary = primary_el.get("term") if primary_el is not None else None
    cats = [c.get("term", "") for c in entry.findall("atom:category", NS) if c.get("term")]
    if primary:
        cats = [primary] + [c for c in cats if c != primary]
    links: dict[str, str] = {}
    for link in entry.findall("atom:link", NS):
        href = web_url(link.get("href"))
        kind = link.get("title") or ("abs" if link.get("rel") == "alternate" else None)
        if href and kind in ("abs", "pdf", "doi"):
            links[kind] = href
    try:
        return Paper(
            arxiv_id=arxiv_id, version=version, title=title,
            abstract=one_line(entry.findtext("atom:summary", default="", namespaces=NS)) or "",
            authors=authors, affiliations=affiliations,
            published=_date(entry.findtext("atom:published", default="", namespaces=NS)),
            updated=_date(entry.findtext("atom:updated", default="", namespaces=NS)),
            categories=cats, primary_category=primary,
            comment=one_line(entry.findtext("arxiv:comment", default="", namespaces=NS)),
            journal_ref=one_line(entry.findtext("arxiv:journal_ref", default="", namespaces=NS)),
            doi=one_line(entry.findtext("arxiv:doi", default="", namespaces=NS)),
            links=links,
            sources=[Provenance(source="arxiv", ref=web_url(raw_id) or arxiv_id)],
        )
    except ValidationError as e:
        err = e.errors()[0]
        raise RecordError(f"{arxiv_id}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()[:10]) if text and text.strip() else None
    except ValueError:
        return None
