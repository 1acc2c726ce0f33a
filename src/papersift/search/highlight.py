"""Highlight spans in Hugging Face's shape, and snippets.

A highlighted text is a list of {"type": "text"|"highlight", "text": ...} whose texts
concatenate to the original (HF's `highlightedTitle` / `highlightedSummary`). A word is
highlighted when its stem is one of the query's stems, using the BM25 index's own analyzer
(so "exaggeration" lights up "exaggerating" too, exactly the words that scored).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from .lexical import TOKEN


class Span(BaseModel):
    type: Literal["text", "highlight"]
    text: str


def plain(text: str) -> list[Span]:
    return [Span(type="text", text=text)] if text else []


def highlight(text: str, stems: set[str], stem: Callable[[str], str]) -> list[Span]:
    """Spans of `text` with every word whose stem is in `stems` highlighted."""
    if not stems or not text:
        return plain(text)
    out: list[Span] = []
    pos = 0
    for m in TOKEN.finditer(text):
        if stem(m.group()) not in stems:
            continue
        if m.start() > pos:
            out.append(Span(type="text", text=text[pos:m.start()]))
        # "deep learning": a lone run of spaces between two highlights reads as one phrase.
        if (len(out) >= 2 and out[-1].type == "text" and out[-1].text.isspace()
                and out[-2].type == "highlight"):
            gap = out.pop()
            out[-1].text += gap.text + m.group()
        elif out and out[-1].type == "highlight" and m.start() == pos:
            out[-1].text += m.group()
        else:
            out.append(Span(type="highlight", text=m.group()))
        pos = m.end()
    if pos < len(text):
        out.append(Span(type="text", text=text[pos:]))
    return out


def text_of(spans: list[Span]) -> str:
    return "".join(s.text for s in spans)


def snippet(spans: list[Span], width: int = 240) -> list[Span]:
    """A window of about `width` characters around the first highlight, cut at word
    boundaries, with an ellipsis where text was cut. Spans keep their types."""
    text = text_of(spans)
    if len(text) <= width:
        return [s.model_copy() for s in spans]
    first, pos = 0, 0
    for s in spans:
        if s.type == "highlight":
            first = pos
            break
        pos += len(s.text)
    start = max(0, first - width // 4)
    if start > 0:
        sp = text.rfind(" ", 0, start)
        start = sp + 1 if sp >= 0 and start - sp < 40 else start
    end = min(len(text), start + width)
    if end < len(text):
        sp = text.rfind(" ", start, end)
        end = sp if sp > start + width // 2 else end
    out: list[Span] = []
    pos = 0
    for s in spans:
        a, b = max(pos, start), min(pos + len(s.text), end)
        if a < b:
            out.append(Span(type=s.type, text=text[a:b]))
        pos += len(s.text)
    if start > 0:
        out.insert(0, Span(type="text", text="…"))
    if end < len(text):
        out.append(Span(type="text", text="…"))
    return out
