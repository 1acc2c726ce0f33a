"""Archive importers: files people already have, read into Paper records.

Formats (detected from content when not given):

- `hfday`        HFday / top_papers daily JSON (see archives_hfday.py)
- `daily-arxiv`  daily-arXiv-ai-enhanced JSONL (`id, title, summary, authors, categories...`),
                 and the merged `arxiv-papers.jsonl(.gz)` (`abstract`, `published`);
                 `arxiv-jsonl` is the same reader
- `hf-api`       a raw HF API dump: the JSON list of `daily_papers` or `papers/search`
- `hf-archive`   a third-party scraper's `{"date", "papers": [...]}` JSONL
- `papers`       papersift's own Paper JSONL (the bundled sample)
- `listing`      saved HF paper-listing text or a title/authors/abstract listing

Every reader yields Record / BadRecord / DayInfo and knows nothing about storage.
`.gz` files are decompressed transparently.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from pydantic import ValidationError

from ..errors import RecordError
from ..ids import try_arxiv_id
from ..model import Paper, Provenance
from . import no_surrogates, web_url
from .archives_hfday import is_hfday, parse_hfday
from .hf import parse_item
from .listing import parse_listing
from .records import BadRecord, DayInfo, FormatError, Record, Skipped, strings, validation_error

_DecodeError: tuple[type[Exception], ...] = (orjson.JSONDecodeError, ValueError)


def _loads(data: str | bytes) -> Any:
    # orjson parses the 89k-paper archive about 2x faster than the stdlib's json.
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        # JavaScript and Python both write half an emoji cut off as a lone "\ud83d": valid
        # JSON syntax that orjson refuses. The stdlib reads it; the half character becomes
        # U+FFFD (SQLite cannot store a lone surrogate).
        if "surrogate" not in str(e):
            raise
        return no_surrogates(json.loads(data, parse_int=_int))


def _int(text: str) -> int | float:
    # As orjson reads them: integers beyond 64 bits become floats.
    v = int(text)
    return v if -(2**63) <= v < 2**64 else float(v)


FORMATS = ("auto", "hfday", "daily-arxiv", "arxiv-jsonl", "hf-api", "hf-archive", "papers", "listing")
Item = Record | BadRecord | DayInfo | Skipped
# skip(fingerprints) -> those already imported; lets a re-import pass over them unparsed.
SkipFn = Callable[[list[int]], set[int]]
_BATCH = 2000
# Part of every record fingerprint: bump it when a reader changes what it makes of a
# record, so that re-imports parse everything again once.
_SALT = b"v1\0"
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


class Source:
    """An opened input file: bytes (gzip undone) plus how far into the file we are."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        self.size = path.stat().st_size
        self._raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by close()
        gz = self._raw.read(2) == b"\x1f\x8b"
        self._raw.seek(0)
        self.stream: BinaryIO = gzip.GzipFile(fileobj=self._raw) if gz else self._raw  # type: ignore[assignment]
        self.damage: Exception | None = None  # what stopped head() early (a cut .gz)

    def position(self) -> int:
        """Bytes of the file on disk consumed so far (for progress bars)."""
        return self._raw.tell()

    def head(self, n: int = 65536) -> bytes:
        """The first bytes (a line at a time, so a damaged gzip tail still leaves a head)."""
        data = b""
        try:
            while len(data) < n:
                line = self.stream.readline(n)
                if not line:
                    break
                data += line
        except (OSError, EOFError, zlib.error) as e:
            self.damage = e  # reading the records reports it, with its line
        self.stream.seek(0)
        return data

    def close(self) -> None:
        self.stream.close()
        self._raw.close()


def detect_format(src: Source) -> str:
    """Guess the format from the first bytes (never reads a whole large file)."""
    head = src.head().lstrip(b"\xef\xbb\xbf").lstrip()
    if not head and src.damage is not None:
        raise FormatError(f"{src.name}: the file is truncated or corrupt ({src.damage}); "
                          "nothing in it was read")
    if not head:
        raise FormatError(f"{src.name}: the file is empty")
    if head[:1] == b"[":
        return "hf-api"
    if head[:1] == b"{":
        first = head.split(b"\n", 1)[0]
        try:
            obj = _loads(first)
        except _DecodeError:
            return _detect_document(src)  # a pretty-printed single object
        if not isinstance(obj, dict):
            raise FormatError(f"{src.name}:1: not a JSON object per line; pass --format")
        if "papers" in obj and "date" in obj:
            return "hfday" if is_hfday(obj) else "hf-archive"
        if "paper" in obj:
            return "hf-api"
        if "sources" in obj and "id" in obj:
            return "papers"
        if "id" in obj and "title" in obj:
            return "daily-arxiv"
        raise FormatError(f"{src.name}:1: unknown JSON record (keys: {', '.join(list(obj)[:8])}); "
                          "pass --format")
    return "listing"


def _detect_document(src: Source) -> str:
    """One JSON object spread over many lines: an HFday issue or one HF paper."""
    doc = _whole_json(src)
    src.stream.seek(0)
    if is_hfday(doc):
        return "hfday"
    if isinstance(doc, dict) and ("paper" in doc or ("id" in doc and "authors" in doc)):
        return "hf-api"
    keys = ", ".join(list(doc)[:8]) if isinstance(doc, dict) else type(doc).__name__
    raise FormatError(f"{src.name}: unknown JSON document (keys: {keys}); pass --format")


def read_source(src: Source, fmt: str, year: int | None = None,
                skip: SkipFn | None = None) -> Iterator[Item]:
    """Records of one opened file in the given format (not 'auto'). With `skip`, records of
    one-paper-per-line formats carry a fingerprint, and those `skip` knows are not parsed."""
    if fmt in ("daily-arxiv", "arxiv-jsonl"):
        yield from _jsonl(src, _daily_arxiv_record(src.name), skip, _SALT + b"daily-arxiv\0")
    elif fmt == "hf-archive":
        yield from _hf_archive(src)
    elif fmt == "papers":
        yield from _jsonl(src, _paper_record, skip, _SALT + b"papers\0")
    elif fmt == "hfday":
        yield from parse_hfday(_whole_json(src), src.name)
    elif fmt == "hf-api":
        yield from _hf_api(src)
    elif fmt == "listing":
        try:
            text = _read_all(src).decode("utf-8")
        except UnicodeDecodeError as e:
            raise FormatError(f"{src.name}: not UTF-8 text ({e}); save the listing as UTF-8") from e
        yield from parse_listing(text, src.name, year)
    else:
        raise FormatError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _read_all(src: Source) -> bytes:
    try:
        return src.stream.read()
    except (OSError, EOFError, zlib.error) as e:  # a damaged or cut .gz
        raise FormatError(f"{src.name}: the file is truncated or corrupt ({e}); nothing in it "
                          "was read") from e


def _whole_json(src: Source) -> Any:
    data = _read_all(src)
    try:
        return _loads(data)
    except _DecodeError as e:
        raise FormatError(f"{src.name}: field 'json': not valid JSON ({e}); check the file") from e


def _validation_error(ref: str, e: ValidationError) -> BadRecord:
    return validation_error(ref, e)


def _jsonl(src: Source, make: Callable[[dict[str, Any], str], Item], skip: SkipFn | None = None,
           salt: bytes = b"") -> Iterator[Item]:
    batch: list[tuple[int, bytes]] = []
    try:
        for n, line in _lines(src):
            if line.strip():
                batch.append((n, line))
                if len(batch) >= _BATCH:
                    yield from _jsonl_batch(src.name, batch, make, skip, salt)
                    batch = []
    except FormatError:
        # The lines read before the damage are still yielded (and stored) before this error.
        yield from _jsonl_batch(src.name, batch, make, skip, salt)
        raise
    if batch:
        yield from _jsonl_batch(src.name, batch, make, skip, salt)


def _jsonl_batch(name: str, batch: list[tuple[int, bytes]], make: Callable[[dict[str, Any], str], Item],
                 skip: SkipFn | None, salt: bytes) -> Iterator[Item]:
    fps: list[int | None] = [None] * len(batch)
    known: set[int] = set()
    if skip is not None:
        fps = [int.from_bytes(hashlib.blake2b(salt + line.strip(), digest_size=8).digest(), "big",
                              signed=True) for _, line in batch]
        known = skip(fps)  # type: ignore[arg-type]
        if known:
            yield Skipped(sum(1 for f in fps if f in known))
    for (n, line), fp in zip(batch, fps, strict=True):
        if fp in known:
            continue
        ref = f"{name}:{n}"
        try:
            obj = _loads(line)
        except _DecodeError as e:
            yield BadRecord(ref, "json", f"not valid JSON ({e}); fix or remove the line")
            continue
        if not isinstance(obj, dict):
            yield BadRecord(ref, "json", "not a JSON object; fix or remove the line")
            continue
        item = make(obj, ref)
        if isinstance(item, Record):
            item.fp = fp
        yield item


def _daily_arxiv_record(name: str) -> Callable[[dict[str, Any], str], Item]:
    # Daily files (data/2025-03-18.jsonl) carry no date: the file's date is the listing's.
    m = _DATE_IN_NAME.search(name)
    file_date: Any = m.group(1) if m else None  # ISO text: Paper parses it
    seen_at = dt.datetime.now(dt.UTC)

    def make(obj: dict[str, Any], ref: str) -> Item:
        raw_id = obj.get("id")
        if not isinstance(raw_id, str) or not raw_id.strip():
            return BadRecord(ref, "id", "missing arXiv id; fix or remove the line")
        cate = obj.get("cate")
        try:
            # Paper validates and normalises everything, the id included (one place).
            paper = Paper(
                arxiv_id=raw_id, title=obj.get("title") or "",
                abstract=obj.get("abstract") or obj.get("summary") or "",
                authors=obj.get("authors") or [],
                categories=obj.get("categories") or ([cate] if isinstance(cate, str) else []),
                published=obj.get("published") or file_date, comment=obj.get("comment") or None,
                # Built by us from trusted values: no validation needed (hot path).
                sources=[Provenance.model_construct(source="daily-arxiv", ref=ref, seen_at=seen_at)])
        except ValidationError as e:
            return _validation_error(ref, e)
        return Record(paper=paper, ref=ref)

    return make


def _paper_record(obj: dict[str, Any], ref: str) -> Item:
    try:
        paper = Paper.model_validate(obj)
    except ValidationError as e:
        return _validation_error(ref, e)
    if not paper.sources:
        paper.sources = [Provenance(source="papers", ref=ref)]
    return Record(paper=paper, ref=ref)


def _hf_api(src: Source) -> Iterator[Item]:
    doc = _whole_json(src)
    if isinstance(doc, dict) and isinstance(doc.get("papers"), list):
        doc = doc["papers"]
    elif isinstance(doc, dict) and ("paper" in doc or "id" in doc):
        doc = [doc]  # one item, or the bare paper of GET /api/papers/{id}
    if not isinstance(doc, list):
        raise FormatError(f"{src.name}: field 'json': an HF API dump is a JSON list of papers")
    for i, item in enumerate(doc):
        ref = f"{src.name}:[{i}]"
        # Only a daily_papers list (submittedBy) says which day HF listed the paper on.
        daily = isinstance(item, dict) and "submittedBy" in item
        try:
            paper = parse_item(item, ref=ref, daily=daily)
        except RecordError as e:
            yield BadRecord(ref, "paper", f"{e}")
            continue
        yield Record(paper=paper, ref=ref, day=paper.hf_date if daily else None)


def _lines(src: Source) -> Iterator[tuple[int, bytes]]:
    """(line number, line); a damaged or cut .gz ends it with a FormatError naming the line
    (the records before it are kept)."""
    n = 0
    lines = iter(src.stream)
    while True:
        try:
            line = next(lines, None)
        except (OSError, EOFError, zlib.error) as e:
            raise FormatError(f"{src.name}:{n + 1}: the file is truncated or corrupt ({e}); "
                              "the records before this line were read") from e
        if line is None:
            return
        n += 1
        yield n, line


def _hf_archive(src: Source) -> Iterator[Item]:
    """Third-party scraped days: `{"date", "papers": [{title, paper_url, authors, details}]}`."""
    for n, line in _lines(src):
        if not line.strip():
            continue
        ref0 = f"{src.name}:{n}"
        try:
            obj = _loads(line)
            day = dt.date.fromisoformat(obj["date"])
            papers = obj["papers"]
            if not isinstance(papers, list):
                raise TypeError("papers is not a list")
        except _DecodeError + (KeyError, TypeError, ValueError) as e:
            yield BadRecord(ref0, "date/papers", f"not a scraped day ({e}); fix or remove the line")
            continue
        for i, p in enumerate(papers):
            ref = f"{ref0}:papers[{i}]"
            if not isinstance(p, dict):
                yield BadRecord(ref, "papers", "not a JSON object")
                continue
            details = d if isinstance(d := p.get("details"), dict) else {}
            arxiv_id = try_arxiv_id(str(p.get("paper_url") or details.get("arxiv_page_url") or ""))
            if arxiv_id is None:
                yield BadRecord(ref, "paper_url", f"{p.get('paper_url')!r} holds no arXiv id")
                continue
            abstract = str(details.get("abstract") or "")
            # The scraper sometimes stored the submitter's note instead of the abstract.
            if abstract == p.get("title") or "http" in abstract or len(abstract.split()) < 40:
                abstract = ""
            links = [u for g in strings(details.get("github_links")) if (u := web_url(g))]
            try:
                paper = Paper(arxiv_id=arxiv_id, title=p.get("title") or details.get("title") or "",
                              abstract=abstract, authors=strings(p.get("authors")),
                              github_repo=links[0] if links else None,
                              sources=[Provenance(source="hf-archive", ref=ref)])
            except ValidationError as e:
                yield _validation_error(ref, e)
                continue
            yield Record(paper=paper, ref=ref, day=day)


def open_source(path: Path) -> Source:
    try:
        return Source(path)
    except OSError as e:
        raise FormatError(f"{path}: cannot open ({e.strerror or e})") from e


__all__ = ["FORMATS", "Source", "detect_format", "open_source", "read_source"]
