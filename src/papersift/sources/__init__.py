"""Collectors and importers: each yields Paper records and knows nothing of storage.

`hf` (Hugging Face Daily Papers API) and `arxiv` (arXiv export API) share one HTTP client
(`papersift.http.HttpClient`). Results come back a page at a time, as `Page`, so that callers can store
and show progress as they go; a bad record is reported in `Page.errors` and never stops the
good ones.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import RecordError
from ..model import Paper


@dataclass
class Page:
    """One response's worth of papers."""

    ref: str  # the request, as the user could repeat it (URL or endpoint + parameters)
    papers: list[Paper] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    total: int | None = None  # results the server says the whole query has, when it says
    # What the source listed on this page (records that failed to parse included), and the
    # one day they were all listed on when the request was for a day: coverage (status).
    listed: int | None = None
    day: dt.date | None = None


_WEB_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)


def web_url(v: Any) -> str | None:
    """`v` if it is an http(s) URL, else None.

    Sources are untrusted: a `javascript:` or `data:` link must never reach a page.
    """
    if isinstance(v, str) and _WEB_URL.match(v.strip()):
        return v.strip()
    return None


def one_line(v: Any) -> str | None:
    """A string with whitespace runs (arXiv's hard wraps) collapsed; None if not a string."""
    if not isinstance(v, str):
        return None
    return " ".join(v.split()) or None


__all__ = ["Page", "RecordError", "one_line", "web_url"]
