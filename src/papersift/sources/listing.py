"""Saved paper-listing text: what a person copies from a Hugging Face papers page, or a
title / authors / abstract bibliography listing.

Two shapes are read:

- **HF page text** (seeds/002-004): a page header, then per paper its title, abstract,
  either "• N authors" or the organisation's name, a line "·", and a date ("Oct 3, 2024",
  or year-less "Jun 30" for the page's own year) optionally followed by the upvote count.
- **Bibliography listing** (seeds/000): the first line is the query, then per paper its
  title, optionally "Surname, Given, Surname, Given", and the abstract on one line.

HF prints a year only for dates outside the current one, so a page's year is one after the
latest explicit year on it (or `year=` when the caller knows it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from ..model import Paper, Provenance
from .records import BadRecord, Record, validation_error

SOURCE = "listing"
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_DATE_RE = re.compile(
    r"^(?P<mon>[A-Za-z]{3})[a-z]*\.? (?P<day>\d{1,2})(?:, (?P<year>\d{4}))?(?:\s+(?P<up>\d+))?$")
_AUTHORS_N_RE = re.compile(r"^[•·*\-]?\s*(?P<n>\d+)\s+authors?$", re.IGNORECASE)
_SEPARATOR = "·"
# Page chrome that precedes the first card on a saved HF listing.
_BOILERPLATE = {"new", "get trending papers in your email inbox!", "subscribe", "daily papers",
                "byak and the research community", "trending papers", "papers"}


def is_hf_listing(text: str) -> bool:
    """True for saved HF page text: cards end with a '·' line followed by a date."""
    lines = [ln.strip() for ln in text.splitlines()]
    return any(ln == _SEPARATOR and _DATE_RE.match(lines[i + 1])
               for i, ln in enumerate(lines[:-1]))


def parse_date(text: str, year: int | None) -> tuple[dt.date, int | None] | None:
    """'Oct 3, 2024' / 'Jun 30 4' -> (date, upvotes or None); None if not a date line."""
    m = _DATE_RE.match(text.strip())
    if not m or m.group("mon").lower() not in _MONTHS:
        return None
    y = int(m.group("year")) if m.group("year") else year
    if y is None:
        return None
    try:
        d = dt.date(y, _MONTHS[m.group("mon").lower()], int(m.group("day")))
    except ValueError:
        return None
    return d, (int(m.group("up")) if m.group("up") else None)


def page_year(lines: list[str], today: dt.date | None = None) -> int:
    """The year of year-less dates on a saved HF page (see module docstring)."""
    years = [int(m.group("year")) for ln in lines
             if (m := _DATE_RE.match(ln.strip())) and m.group("year")]
    if years:
        return max(years) + 1
    return (today or dt.date.today()).year


def parse_listing(text: str, name: str, year: int | None = None) -> Iterator[Record | BadRecord]:
    """Parse listing text of either shape; `name` is used in refs (file:line)."""
    if is_hf_listing(text):
        yield from _parse_hf(text, name, year)
    else:
        yield from _parse_biblio(text, name)


def _make(ref: str, **fields: Any) -> Record | BadRecord:
    try:
        paper = Paper(**fields, sources=[Provenance(source=SOURCE, ref=ref)])
    except ValidationError as e:
        return validation_error(ref, e)
    return Record(paper=paper, ref=ref)


def _parse_hf(text: str, name: str, year: int | None) -> Iterator[Record | BadRecord]:
    lines = text.splitlines()
    y = year or page_year(lines)
    block: list[tuple[int, str]] = []  # (1-based line, text) of the card being read
    first = True
    i = 0
    while i < len(lines):
        s = lines[i].strip()
        if s != _SEPARATOR:
            if s:
                block.append((i + 1, s))
            i += 1
            continue
        date_line = lines[i + 1].strip() if i + 1 < len(lines) else ""
        i += 2
        if first:
            block = _drop_header(block)
            first = False
        if len(block) < 2:
            where = block[0][0] if block else i - 1
            yield BadRecord(f"{name}:{where}", "title",
                              "card has no title/abstract before its '·' line; check the copy")
            block = []
            continue
        title_no, title = block[0]
        ref = f"{name}:{title_no}"
        meta = block[-1][1]
        abstract = " ".join(t for _, t in block[1:-1])
        fields: dict[str, Any] = {"title": title, "abstract": abstract}
        m = _AUTHORS_N_RE.match(meta)
        if m:
            fields["num_authors"] = int(m.group("n"))
        else:
            # Organisation cards show "<handle> <full name>"; keep the full name.
            parts = meta.split(None, 1)
            fields["organization"] = parts[1] if len(parts) == 2 else meta
        parsed = parse_date(date_line, y)
        if parsed is None:
            yield BadRecord(f"{name}:{i - 1}", "date",
                              f"{date_line!r} is not a date like 'Oct 3, 2024' or 'Jun 30'")
            block = []
            continue
        fields["published"], up = parsed
        if up is not None:
            fields["upvotes"] = up
        block = []
        yield _make(ref, **fields)
    if block and not first:
        yield BadRecord(f"{name}:{block[0][0]}", "date",
                          "text after the last card has no '·' and date line; truncated copy?")


def _drop_header(block: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Strip page chrome (and the page's own date line) before the first card."""
    for k in range(len(block) - 1, -1, -1):
        if _DATE_RE.match(block[k][1]):
            return block[k + 1:]
    return [(n, t) for n, t in block if t.lower() not in _BOILERPLATE]


def _looks_like_authors(line: str) -> bool:
    parts = [p.strip() for p in line.split(",")]
    if len(parts) < 2 or line.rstrip().endswith("."):
        return False
    return all(p and len(p.split()) <= 4 and len(p) <= 40 for p in parts)


def _authors(line: str) -> list[str]:
    """'Surname, Given, Surname, Given' -> ['Given Surname', ...]."""
    parts = [p.strip() for p in line.split(",")]
    out = [f"{parts[k + 1]} {parts[k]}" for k in range(0, len(parts) - 1, 2)]
    if len(parts) % 2:
        out.append(parts[-1])
    return out


def _is_abstract(line: str) -> bool:
    # Abstracts are paragraphs; titles are a line of a few words.
    return len(line) > 250 or (len(line.split()) > 25 and line.rstrip().endswith((".", ")")))


def _parse_biblio(text: str, name: str) -> Iterator[Record | BadRecord]:
    lines = [(n, ln.strip()) for n, ln in enumerate(text.splitlines(), 1) if ln.strip()]
    if not lines:
        return
    lines = lines[1:]  # the query the listing answered
    title: tuple[int, str] | None = None
    authors: list[str] = []
    for n, s in lines:
        if title is None:
            if _is_abstract(s):
                yield BadRecord(f"{name}:{n}", "title",
                                  "an abstract without a title line before it; add the title")
                continue
            title, authors = (n, s), []
            continue
        if not authors and _looks_like_authors(s) and not _is_abstract(s):
            authors = _authors(s)
            continue
        if not _is_abstract(s):
            # Title followed by another title: the first had no abstract.
            yield _make(f"{name}:{title[0]}", title=title[1], authors=authors)
            title, authors = (n, s), []
            continue
        yield _make(f"{name}:{title[0]}", title=title[1], authors=authors, abstract=s)
        title, authors = None, []
    if title is not None:
        yield _make(f"{name}:{title[0]}", title=title[1], authors=authors)
