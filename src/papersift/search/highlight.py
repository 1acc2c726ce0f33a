"""Highlight spans in Hugging Face's shape, and snippets.

A highlighted text is a list of {"type": "text"|"highlight", "text": ...} whose texts
concatenate to the original (HF's `highlightedTitle` / `highlightedSummary`). A word is
highlighted when its stem is one of the query's stems, using the BM25 index's own analyzer
(so "exaggeration" lights up "exaggerating" too, exactly the words that scored).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Literal

from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from ..text import WORD


class Span(TypedDict):
    """Plain dicts, not models: a query builds ~500 spans (20 hits x title + abstract +
    snippet) and validating them cost the API a fifth of its time; every span is built
    here from our own parts, so there is nothing to validate."""

    type: Literal["text", "highlight"]
    text: str


Parts = list[list[str]]  # [[kind, text], ...]: the cheap working form, mutable for merging


def to_spans(parts: Parts) -> list[Span]:
    return [{"type": k, "text": t} for k, t in parts]  # type: ignore[typeddict-item]


@lru_cache(maxsize=256)
def _heads_re(heads: frozenset[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(h) for h in sorted(heads))
    # No lookbehind and no IGNORECASE (the text is lower-cased first): a pattern that starts
    # with plain letters lets the regex engine skip ahead fast. Word starts are checked after.
    return re.compile(rf"(?:{alts})[^\W_]*")


def _heads(stem: str) -> list[str]:
    head = stem[:3]
    # Porter's y -> i ("toy" -> "toi") is the one rewrite that can reach the third letter.
    return [head, head[:-1] + "y"] if len(head) == 3 and head.endswith("i") else [head]


def _candidates(text: str, stems: set[str]) -> re.Pattern[str]:
    """Porter only rewrites endings: an ASCII word can only stem to one of `stems` if it
    starts with the stem's first three letters, so the C regex engine skips all other words.
    Text with accents is scanned word by word (its folded form may match)."""
    if not text.isascii():
        return WORD
    return _heads_re(frozenset(h for s in stems for h in _heads(s)))


def _matches(text: str, stems: set[str], stem: Callable[[str], str]) -> Iterator[tuple[int, int]]:
    """(start, end) of every word of `text` whose stem is in `stems`, in order."""
    stems = {s for s in stems if s}  # Porter stems a lone "s" to ""
    if not stems or not text:
        return
    ascii_text = text.isascii()
    scan = text.lower() if ascii_text else text  # same offsets for ASCII
    for m in _candidates(text, stems).finditer(scan):
        start = m.start()
        if ascii_text and start and scan[start - 1].isalnum():
            continue  # the head matched inside a word
        if stem(text[start:m.end()]) in stems:
            yield start, m.end()


def highlight_parts(text: str, stems: set[str], stem: Callable[[str], str]) -> Parts:
    """`text` split into parts, every word whose stem is in `stems` highlighted."""
    return _build(text, _matches(text, stems, stem), 0, len(text))


def _build(text: str, spans: Iterable[tuple[int, int]], lo: int, hi: int) -> Parts:
    """Parts of text[lo:hi], the given (start, end) spans (in order, inside [lo, hi))
    highlighted."""
    if lo >= hi:
        return []
    out: Parts = []
    pos = lo
    for start, end in spans:
        w = text[start:end]
        if start > pos:
            out.append(["text", text[pos:start]])
        # "deep learning": a lone run of spaces between two highlights reads as one phrase.
        if len(out) >= 2 and out[-1][0] == "text" and out[-1][1].isspace() and out[-2][0] == "highlight":
            gap = out.pop()
            out[-1][1] += gap[1] + w
        elif out and out[-1][0] == "highlight" and start == pos:
            out[-1][1] += w
        else:
            out.append(["highlight", w])
        pos = end
    if pos < hi:
        out.append(["text", text[pos:hi]])
    return out


def highlight(text: str, stems: set[str], stem: Callable[[str], str]) -> list[Span]:
    """Spans of `text` with every word whose stem is in `stems` highlighted."""
    return to_spans(highlight_parts(text, stems, stem))


def text_of(spans: list[Span]) -> str:
    return "".join(s["text"] for s in spans)


def _window(text: str, first: int, width: int) -> tuple[int, int]:
    """[start, end) of about `width` characters around offset `first`, cut at spaces."""
    start = max(0, first - width // 4)
    if start > 0:
        sp = text.rfind(" ", 0, start)
        start = sp + 1 if sp >= 0 and start - sp < 40 else start
    end = min(len(text), start + width)
    if end < len(text):
        sp = text.rfind(" ", start, end)
        end = sp if sp > start + width // 2 else end
    return start, end


def snippet_of_text(text: str, stems: set[str], stem: Callable[[str], str], width: int = 240) -> Parts:
    """snippet_parts(highlight_parts(text, ...)) without highlighting the whole text: only the
    first match is looked for, then only the window is highlighted (the API shows snippets,
    not whole abstracts; this is most of the highlighting cost of a search)."""
    if len(text) <= width:
        return highlight_parts(text, stems, stem)
    matches = _matches(text, stems, stem)
    head = next(matches, None)
    start, end = _window(text, head[0] if head else 0, width)
    # Matches found in the whole text, clipped to the window (a word cut at the window's
    # edge keeps its highlight, as in the full path); the scan stops at the window's end.
    inside = itertools.takewhile(lambda m: m[0] < end, itertools.chain([head] if head else [], matches))
    out = _build(text, ((max(a, start), min(b, end)) for a, b in inside if b > start), start, end)
    if start > 0:
        out.insert(0, ["text", "…"])
    if end < len(text):
        out.append(["text", "…"])
    return out


def snippet_parts(parts: Parts, width: int = 240) -> Parts:
    """A window of about `width` characters around the first highlight, cut at word
    boundaries, with an ellipsis where text was cut. Parts keep their kinds."""
    text = "".join(t for _, t in parts)
    if len(text) <= width:
        return [[k, t] for k, t in parts]
    first, pos = 0, 0
    for k, t in parts:
        if k == "highlight":
            first = pos
            break
        pos += len(t)
    start, end = _window(text, first, width)
    out: Parts = []
    pos = 0
    for k, t in parts:
        a, b = max(pos, start), min(pos + len(t), end)
        if a < b:
            out.append([k, text[a:b]])
        pos += len(t)
    if start > 0:
        out.insert(0, ["text", "…"])
    if end < len(text):
        out.append(["text", "…"])
    return out


def snippet(spans: list[Span], width: int = 240) -> list[Span]:
    return to_spans(snippet_parts([[s["type"], s["text"]] for s in spans], width))
