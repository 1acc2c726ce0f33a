"""arXiv id normalisation and dedup keys.

Users paste ids in every form (bare, versioned, `arXiv:` prefix, abs/pdf URLs, HF paper
URLs, old-style `hep-th/9901001`); everything in papersift keys papers by the bare id
without version, so this is the one place that turns any of those into it.
"""

from __future__ import annotations

import hashlib
import re

from .errors import InvalidArxivId
from .text import strip_accents

# New-style ids: YYMM.NNNN (2007-2014) or YYMM.NNNNN (2015-), optional version.
_NEW = r"(?P<new>\d{4}\.\d{4,5})"
# Old-style ids: archive(.SUBJECT)/YYMMNNN, e.g. hep-th/9901001, math.GT/0309136.
_OLD = r"(?P<old>[a-z][a-z\-]*(?:\.[A-Za-z]{2})?/\d{7})"
_ID_RE = re.compile(rf"(?:{_NEW}|{_OLD})(?:v(?P<version>\d+))?", re.IGNORECASE)
_PREFIX_RE = re.compile(
    r"^(?:https?://)?(?:www\.|export\.)?"
    r"(?:arxiv\.org/(?:abs|pdf|html|format)/|huggingface\.co/papers/|hf\.co/papers/)",
    re.IGNORECASE,
)


_BARE_NEW = re.compile(r"(\d{4}\.\d{4,5})(?:v(\d+))?")


def parse_arxiv_id(text: str) -> tuple[str, int | None]:
    """Return (bare id, version or None) for any pasted form of an arXiv id.

    >>> parse_arxiv_id("https://arxiv.org/pdf/2502.02671v3.pdf")
    ('2502.02671', 3)
    """
    s = text.strip()
    m = _BARE_NEW.fullmatch(s)
    if m:  # the common case (bulk imports): a bare new-style id
        return m.group(1), int(m.group(2)) if m.group(2) else None
    s = _PREFIX_RE.sub("", s)
    if s.lower().startswith("arxiv:"):
        s = s[6:].strip()
    s = s.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if s.lower().endswith(".pdf"):
        s = s[:-4]
    m = _ID_RE.fullmatch(s)
    if not m:
        raise InvalidArxivId(f"not an arXiv id: {text!r} (expected e.g. 2502.02671 or hep-th/9901001)")
    version = int(m.group("version")) if m.group("version") else None
    if m.group("new"):
        return m.group("new"), version
    archive, num = m.group("old").split("/")
    # The subject class (math.GT/0309136) is not part of an old-style id: arXiv's canonical
    # form, and what its API returns, is math/0309136. Keeping it would split one paper in two.
    return f"{archive.split('.', 1)[0].lower()}/{num}", version


def normalize_arxiv_id(text: str) -> str:
    """The bare id (no version) for any pasted form; raises InvalidArxivId."""
    return parse_arxiv_id(text)[0]


def try_arxiv_id(text: str | None) -> str | None:
    """Like normalize_arxiv_id, but None instead of an exception."""
    if not text:
        return None
    try:
        return normalize_arxiv_id(text)
    except InvalidArxivId:
        return None


# With "_" replaced first, the words left are text.WORD's (letter/digit runs); one sub and one
# split are faster than joining WORD.findall on this bulk-import path.
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalize_text(text: str) -> str:
    """Lower-case, accent-free, punctuation-free, single-spaced text for matching."""
    # ASCII has nothing to decompose: skipping NFKD makes bulk imports ~8x faster here.
    s = text if text.isascii() else strip_accents(text)
    s = _NON_WORD.sub(" ", s.lower().replace("_", " "))
    return " ".join(s.split())


def title_key(title: str) -> str:
    """Exact-match blocking key for titles: normalised text without spaces."""
    return normalize_text(title).replace(" ", "")


def local_paper_id(title: str) -> str:
    """A stable key for a paper that has no arXiv id yet (from its normalised title)."""
    digest = hashlib.sha1(title_key(title).encode("utf-8")).hexdigest()[:12]
    return f"ps-{digest}"


def is_arxiv_key(paper_id: str) -> bool:
    return not paper_id.startswith("ps-")


def slug(paper_id: str) -> str:
    """A file-name-safe form of a paper id (old-style ids hold a slash)."""
    return paper_id.replace("/", "_")
