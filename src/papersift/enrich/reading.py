"""The daily Chinese reading task.

The LLM writes 4-5 simple Chinese sentences about the day's top paper, an English
translation and glosses for the content words. Segmentation (jieba) and pinyin with tone
marks (pypinyin) are computed here, deterministically: never an LLM's guess. The vocabulary
leaves out the most common words. Without an LLM there is no reading (never a fake one).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from functools import lru_cache
from typing import Any

from ..errors import ReadingUnavailable
from ..model import Paper, Reading, VocabItem
from ..store.base import Store
from .llm import LLM, complete_checked, run_closing
from .schema import PayloadError, check_language

PROMPT_VERSION = "reading-v1"
COMMON_WORDS = 1500  # the most frequent words of jieba's dictionary are not vocabulary
_HAN = re.compile(r"[\u3400-\u9fff]")
_SENT_END = re.compile(r"[。！？!?]")


SYSTEM = (
    "Task: reading\nYou write short Chinese reading exercises for learners at HSK 3-4 level. "
    "Given a research paper, write 4 or 5 short, simple Chinese sentences (Simplified "
    "characters) that explain its main idea to a learner. Return JSON with: \"title\" (a short "
    "Chinese title), \"text\" (the 4-5 sentences), \"translation\" (their English "
    "translation), \"glosses\" (a list of {\"word\", \"trans\"}: every content word of the text "
    "exactly as written there, with a short English gloss). Return the JSON object only."
)
SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "title": {"type": "string"}, "text": {"type": "string"},
        "translation": {"type": "string"},
        "glosses": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "properties": {"word": {"type": "string"}, "trans": {"type": "string"}},
            "required": ["word", "trans"]}},
    },
    "required": ["title", "text", "translation", "glosses"],
}


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs the dictionary build on first use
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    freq = _jieba().dt.FREQ
    return frozenset(sorted(freq, key=freq.__getitem__, reverse=True)[:COMMON_WORDS])


def word_pinyin(word: str, sep: str = "") -> str:
    from pypinyin import Style, pinyin

    return sep.join(s[0] for s in pinyin(word, style=Style.TONE, errors="default"))


def segment(text: str) -> list[str]:
    return [w for w in _jieba().lcut(text) if w.strip()]


def pinyin_line(text: str) -> str:
    """Word-by-word pinyin with tone marks; punctuation and Latin words kept as they are."""
    parts: list[str] = []
    for w in segment(text):
        if _HAN.search(w):
            parts.append(word_pinyin(w))
        elif parts and not w[0].isalnum():
            parts[-1] += w  # punctuation sticks to the word before it
        else:
            parts.append(w)
    return " ".join(parts)


def validate_reading(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise PayloadError("the answer must be a JSON object")
    problems = []
    for k in ("title", "text", "translation"):
        if not isinstance(data.get(k), str) or not data[k].strip():
            problems.append(f'"{k}" must be a non-empty string')
    glosses = data.get("glosses")
    if not isinstance(glosses, list) or not all(
            isinstance(g, dict) and isinstance(g.get("word"), str) and isinstance(g.get("trans"), str)
            for g in glosses):
        problems.append('"glosses" must be a list of {"word", "trans"} strings')
    if problems:
        raise PayloadError("; ".join(problems))
    text = "".join(data["text"].split())
    n = len([s for s in _SENT_END.split(text) if s.strip()])
    if not 3 <= n <= 6:
        problems.append(f'"text" must have 4-5 sentences, has {n}')
    if (why := check_language(text, "zh")) is not None:
        problems.append(f'"text" {why}')
    if (why := check_language(data["translation"], "en")) is not None:
        problems.append(f'"translation" {why}')
    if problems:
        raise PayloadError("; ".join(problems))
    return {**data, "text": text}


def build_reading(day: dt.date, paper: Paper, data: dict[str, Any], model: str) -> Reading:
    """Turn a validated answer into a Reading: pinyin line and vocabulary computed here."""
    text = data["text"]
    glosses = {" ".join(g["word"].split()): g["trans"].strip() for g in data["glosses"]}
    common = common_words()
    vocab: list[VocabItem] = []
    seen: set[str] = set()
    # jieba's words first (text order), then glossed words jieba split differently.
    for w in segment(text) + [g for g in glosses if g in text]:
        if w in seen or not _HAN.search(w) or w in common or w not in glosses:
            continue
        seen.add(w)
        vocab.append(VocabItem(word=w, pinyin=word_pinyin(w, " "), trans=glosses[w][:80]))
    return Reading(day=day, title=data["title"].strip(), text=text, pinyin=pinyin_line(text),
                   translation=" ".join(data["translation"].split()), vocab=vocab,
                   source_paper_id=paper.id, method=f"llm:{model}")


async def write_reading(llm: LLM, day: dt.date, paper: Paper) -> Reading:
    user = f"Title: {paper.title}\nAbstract: {paper.abstract[:2500]}"
    reading, _ = await complete_checked(
        llm, SYSTEM, [{"role": "user", "content": user}], SCHEMA, "reading",
        lambda data: build_reading(day, paper, validate_reading(data), llm.model),
        failure="reading invalid after repair")
    return reading


def make_reading(store: Store, day: dt.date, llm: LLM | None, force: bool = False) -> Reading:
    """The reading for `day` (stored). Raises ReadingUnavailable with the reason."""
    if llm is None:
        raise ReadingUnavailable("the reading task needs an LLM (set provider/model, e.g. "
                                 "--provider openai --model gpt-4o-mini); none is made offline")
    if not force and (old := store.get_reading(day)) is not None:
        return old
    papers = store.papers_for_day(day)
    if not papers:
        raise ReadingUnavailable(f"no papers for {day}: collect that day first")
    reading = run_closing(llm, write_reading(llm, day, papers[0]))
    store.save_reading(reading)
    return reading
