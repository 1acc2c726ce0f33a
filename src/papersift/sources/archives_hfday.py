"""HFday.ru / averkij top_papers daily JSON (`d/YYYY-MM-DD.json`), every generation.

- oldest (2024-10-08): flat Russian `data {desc, title, emoji, tags, categories}`;
- transitional (2024-10-24): `data {categories, emoji, ru, en, zh}` and a day-level `zh`
  reading block whose `vocab` is itself a JSON string;
- current (2025-12-31 on): as transitional plus `authors`, `affiliations`.

Paper ids are HF URLs. The file's date is the HF day. Known data bugs handled here: error
records (`data: {"error": ...}`: the paper is kept, it just has no enrichment) and the
wrong-year `pub_date` (2026-01-02 lists "2026-12-31" for papers of 2025-12-31).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from .. import taxonomy
from ..ids import try_arxiv_id
from ..model import Enrichment, Paper, Provenance, Reading, Review, VocabItem
from .records import BadRecord, DayInfo, FormatError, Record, strings, validation_error

SOURCE = "hfday"
_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")



def is_hfday(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("papers"), list) and (
        "issue_id" in doc or "home_page_url" in doc or "time_utc" in doc)


def issue_date(doc: dict[str, Any], name: str) -> dt.date:
    """The HF day of an issue: the date in the file name, else `time_utc`."""
    m = _DATE_IN_NAME.search(name)
    for cand in ((m.group(1) if m else None), str(doc.get("time_utc") or "")[:10]):
        if cand:
            try:
                return dt.date.fromisoformat(cand)
            except ValueError:
                continue
    raise FormatError(f"{name}: field 'time_utc': no issue date (name the file YYYY-MM-DD.json)")


def fix_pub_date(value: Any, day: dt.date) -> dt.date | None:
    """arXiv date of a paper listed on `day`; repairs the wrong-year bug (a date after the
    issue cannot be right: take the latest same month/day not after the issue)."""
    if not isinstance(value, str):
        return None
    try:
        d = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    if d <= day:
        return d
    for year in (day.year, day.year - 1):
        try:
            cand = d.replace(year=year)
        except ValueError:  # Feb 29
            continue
        if cand <= day:
            return cand
    return None


def _review(block: Any) -> Review | None:
    if isinstance(block, dict) and isinstance(block.get("title"), str) and isinstance(
            block.get("desc"), str) and block["title"].strip() and block["desc"].strip():
        return Review(title=block["title"].strip(), review=block["desc"].strip())
    return None


def enrichment_from(data: Any, issue: dict[str, Any], paper: dict[str, Any]) -> Enrichment | None:
    """The issue's LLM output for one paper as an Enrichment (paper_id filled in later)."""
    if not isinstance(data, dict) or "error" in data:
        return None
    reviews: dict[str, Review] = {}
    if any(k in data for k in ("ru", "en", "zh")):
        for lang in ("en", "ru", "zh"):
            r = _review(data.get(lang))
            if r:
                reviews[lang] = r
    else:  # oldest generation: flat Russian
        r = _review({"title": data.get("title"), "desc": data.get("desc")})
        if r:
            reviews["ru"] = r
    tags = taxonomy.normalize_all(strings(data.get("categories")))
    emoji = v if isinstance(v := data.get("emoji"), str) else ""
    if not reviews and not tags and not emoji:
        return None
    extra: dict[str, Any] = {"issue_id": issue.get("issue_id")}
    if isinstance(paper.get("hash"), str):
        extra["hash"] = paper["hash"]
    free = strings(data.get("tags"))
    if free:
        extra["free_tags"] = free
    return Enrichment(paper_id="", method="hfday", model="hfday", prompt_version="hfday",
                      emoji=emoji.strip(), tags=tags, reviews=reviews, extra=extra)


def reading_from(zh: Any, day: dt.date, source_paper_id: str | None) -> Reading | None:
    """The day's Chinese reading block; `vocab` may be a JSON string or a list."""
    if not isinstance(zh, dict) or not isinstance(zh.get("text"), str):
        return None
    vocab_raw = zh.get("vocab") or []
    if isinstance(vocab_raw, str):
        try:
            vocab_raw = json.loads(vocab_raw)
        except json.JSONDecodeError:
            vocab_raw = []
    vocab = []
    for v in vocab_raw if isinstance(vocab_raw, list) else []:
        try:
            vocab.append(VocabItem.model_validate(v))
        except ValidationError:
            continue
    return Reading(day=day, title=str(zh.get("title") or ""), text=zh["text"],
                   pinyin=str(zh.get("pinyin") or ""), translation=str(zh.get("trans") or ""),
                   vocab=vocab, source_paper_id=source_paper_id, method="hfday")


def parse_hfday(doc: Any, name: str) -> Iterator[Record | BadRecord | DayInfo]:
    """Records of one issue, then its DayInfo (with the reading block, if any)."""
    if not is_hfday(doc):
        raise FormatError(f"{name}: field 'papers': not an HFday issue (expected an object "
                          "with 'papers' and 'issue_id'); pass --format")
    day = issue_date(doc, name)
    first_id: str | None = None
    zh = doc.get("zh")
    for i, item in enumerate(doc["papers"]):
        ref = f"{name}:papers[{i}]"
        if not isinstance(item, dict):
            yield BadRecord(ref, "papers", "not a JSON object; remove it")
            continue
        arxiv_id = try_arxiv_id(str(item.get("id") or "")) or try_arxiv_id(str(item.get("url") or ""))
        if arxiv_id is None:
            yield BadRecord(ref, "id", f"{item.get('id')!r} holds no arXiv id or HF paper URL")
            continue
        try:
            paper = Paper(
                arxiv_id=arxiv_id, title=item.get("title") or "", abstract=item.get("abstract") or "",
                authors=strings(item.get("authors")), affiliations=strings(item.get("affiliations")),
                published=fix_pub_date(item.get("pub_date"), day), hf_date=day,
                upvotes=item.get("score") if isinstance(item.get("score"), int) else None,
                sources=[Provenance(source=SOURCE, ref=ref)])
        except ValidationError as e:
            yield validation_error(ref, e)
            continue
        if first_id is None:
            first_id = paper.id
        yield Record(paper=paper, ref=ref, enrichment=enrichment_from(item.get("data"), doc, item),
                     day=day)
    # The reading block is about the day's first paper (its title is that paper's).
    src = first_id
    if isinstance(zh, dict) and doc["papers"]:
        for item in doc["papers"]:
            if isinstance(item, dict) and item.get("title") == zh.get("title"):
                src = try_arxiv_id(str(item.get("id") or ""))
                break
    yield DayInfo(day=day, source=SOURCE, reading=reading_from(zh, day, src), ref=name)
