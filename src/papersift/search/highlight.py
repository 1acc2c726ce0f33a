"""Highlight spans in Hugging Face's shape, and snippets.

A highlighted text is a list of {"type": "text"|"highlight", "text": ...} whose texts
concatenate to the original (HF's `highlightedTitle` / `highlightedSummary`). The matched
words come from FTS5's own highlight() (same tokenizer and stemmer as the ranking, so
"exaggeration" lights up "exaggerating" too); this module only turns marked text into spans
and cuts snippets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

START, END = "\ue000", "\ue001"  # private-use characters: never in real titles/abstracts


class Span(BaseModel):
    type: Literal["text", "highlight"]
    text: str


def plain(text: str) -> list[Span]:
    return [Span(type="text", text=text)] if text else []


def spans_from_marked(marked: str) -> list[Span]:
    """Split text carrying START/END markers into spans (adjacent highlights merged)."""
    out: list[Span] = []
    for i, chunk in enumerate(marked.split(START)):
        # Each chunk after the first starts inside a highlight that ends at END.
        inner, _, rest = chunk.partition(END) if i else ("", "", chunk)
        for kind, text in (("highlight", inner), ("text", rest)):
            if not text:
                continue
            if out and out[-1].type == kind:
                out[-1].text += text
            else:
                out.append(Span(type=kind, text=text))  # type: ignore[arg-type]
    # "deep" + " " + "learning": a lone space between two highlights reads as one phrase.
    merged: list[Span] = []
    for s in out:
        if (len(merged) >= 2 and s.type == "highlight" and merged[-1].type == "text"
                and merged[-1].text.isspace() and merged[-2].type == "highlight"):
            gap = merged.pop()
            merged[-1].text += gap.text + s.text
        else:
            merged.append(s)
    return merged


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
