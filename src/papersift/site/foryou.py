"""The "For you" page's data: the recent days' papers with compact vectors, for ranking in
the reader's browser against what they liked (static/foryou.js).

The build publishes, beside foryou.html:
- `foryou/index.js`: the model, the ranking weights (WEIGHTS, read by the page), and the
  window's days with a content hash each (the page loads those files; the hash busts caches
  on a static host);
- `foryou/d/<day>.js`: one file per day of the window (the newest `days` listed days): each
  paper's id, titles, authors, tags, abstract and its vector quantised to int8.

Both are scripts that hand their data to a global (window.PAPERSIFT_FORYOU, and
PAPERSIFT_FORYOU_DAY(day, papers)): a page opened from file:// may load a script beside it,
while fetch() of a JSON file is blocked there.

int8: each vector (unit length, as the index stores them) is scaled so its largest
component is 127 and rounded. Cosine similarity ignores the scale, so no per-paper scale is
stored: one byte a dimension (384 for minilm), 4/3 of that as base64 text in the file.

Incremental: a day's file is rewritten only when its papers changed (the build's dirty
days), when it enters the window, or when the index re-embedded (the store's vectors
version moved); files of days that left the window are removed. The written bytes do not
depend on the kind of build, so an incremental site equals a full rebuild.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..profiles import weights
from ..store.base import VectorStore
from .cards import script_json_bytes
from .output import SiteWriter
from .render import Renderer

FORYOU_DAYS = 30  # listed days whose papers the page can rank (settings: foryou_days)
FORMAT = 1  # of the data files; the page refuses another
QUANT = "int8"
INDEX = "foryou/index.js"
PAGE = "foryou.html"
DAY_DIR = "foryou/d"

# The ranking's constants (the same shape as the profiles' ranking, see TEAM spec): a
# candidate's score is `similarity` x its best cosine to a liked paper, plus `keyword`,
# `author` and `tag` for each rule it matches; it is shown from `min_score`, at most
# `max_papers` of them. A negative keyword removes a paper whatever its score.
# The server's ranking constants (profiles/weights.py), so the page ranks as `papersift
# profile test` does; max_papers is the page's own (it lists more than a digest).
WEIGHTS: dict[str, float] = {
    "similarity": weights.SIMILARITY,
    "keyword": weights.KEYWORD, "max_keywords": weights.MAX_KEYWORDS,
    "author": weights.AUTHOR, "max_authors": weights.MAX_AUTHORS,
    "tag": weights.TAG, "max_tags": weights.MAX_TAGS,
    "min_score": weights.DEFAULT_MIN_SCORE,
    "max_papers": 100,
}

Card = dict[str, Any]


@dataclass(frozen=True)
class VectorSource:
    """The vectors the page ranks with: the store's, of the model the embedder policy names
    (search.engines.published_vectors), at the version the index last recorded."""

    store: VectorStore
    model: str
    version: str


def quantize(mat: np.ndarray) -> np.ndarray:
    """Rows scaled to a largest |component| of 127 and rounded to int8 (zero rows stay 0)."""
    m = np.asarray(mat, dtype=np.float32)
    peak = np.abs(m).max(axis=1, keepdims=True) if m.size else np.zeros((len(m), 1), np.float32)
    peak[peak == 0] = 1.0
    return np.clip(np.rint(m * (127.0 / peak)), -127, 127).astype(np.int8)


def encode(row: np.ndarray) -> str:
    return base64.b64encode(row.astype(np.int8).tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.int8)


def _review(c: Card) -> tuple[str, str]:
    revs = c["reviews"]
    rv = revs["en"] if "en" in revs else next(iter(revs.values()), None)
    if rv is None:
        return "", ""
    return rv["title"], rv["review"]


def paper_record(c: Card, vec: str | None) -> dict[str, Any]:
    """What the page knows of one paper (short keys: the file is downloaded per day)."""
    rt, rv = _review(c)
    out: dict[str, Any] = {"id": c["id"], "s": c["slug"], "t": c["title"], "a": c["authors"],
                           "g": c["tags"], "e": c["emoji"], "u": c["upvotes"], "x": c["abstract"]}
    if rt and rt != c["title"]:
        out["rt"] = rt
    if rv and rv != c["abstract"]:
        out["r"] = rv
    if vec is not None:
        out["v"] = vec
    return out


class ForYou:
    """Publishes the page's data files; `vectors` None: papers without vectors (the page
    then ranks by rules alone)."""

    def __init__(self, vectors: VectorSource | None = None, days: int = FORYOU_DAYS):
        self.vectors = vectors
        self.days = max(0, int(days))

    def window(self, day_keys: list[str]) -> list[str]:
        return day_keys[-self.days:] if self.days else []

    def _vectors(self, ids: Iterable[str]) -> tuple[dict[str, str], int]:
        if self.vectors is None:
            return {}, 0
        got, mat = self.vectors.store.get_vectors(self.vectors.model, ids)
        if not got:
            return {}, 0
        q = quantize(mat)
        return {pid: encode(q[i]) for i, pid in enumerate(got)}, int(mat.shape[1])

    def day_file(self, day: str, cards: list[Card], vecs: dict[str, str]) -> bytes:
        seen: set[str] = set()
        uniq = [c for c in cards if not (c["id"] in seen or seen.add(c["id"]))]  # type: ignore[func-returns-value]
        uniq.sort(key=lambda c: (-c["upvotes"], c["id"]))
        papers = [paper_record(c, vecs.get(c["id"])) for c in uniq]
        return (b"PAPERSIFT_FORYOU_DAY(" + script_json_bytes(day) + b","
                + script_json_bytes(papers) + b");\n")

    def publish(self, w: SiteWriter, r: Renderer, day_keys: list[str],
                day_cards: Callable[[str], list[Card]], dirty: set[str] | None,
                state: dict[str, Any], old: dict[str, Any] | None = None) -> None:
        """Write the window's day files (all when `dirty` is None, a full build; else the
        changed ones), the index and the page, remove days that left the window, and record
        what was written in `state["foryou"]` (`old`: the previous build's state)."""
        win = self.window(day_keys)
        model = self.vectors.model if self.vectors else ""
        version = self.vectors.version if self.vectors else ""
        prev = (old or {}).get("foryou") or {}
        prev_days: dict[str, list[Any]] = prev.get("days") or {}
        same = (prev.get("format") == FORMAT and prev.get("model") == model
                and prev.get("version") == version and prev.get("window") == self.days)
        if dirty is None or not same:
            todo = list(win)
        else:
            todo = [k for k in win if k in dirty or k not in prev_days]
        days = {k: prev_days[k] for k in win if k in prev_days and k not in todo}
        dim = int(prev.get("dim") or 0) if same else 0
        by_day = {k: day_cards(k) for k in todo}
        vecs, d = self._vectors({c["id"] for cs in by_day.values() for c in cs})
        dim = d or dim
        for k in todo:
            cs = by_day[k]
            body = self.day_file(k, cs, vecs)
            w.write(f"{DAY_DIR}/{k}.js", body)
            n = len({c["id"] for c in cs})
            days[k] = [hashlib.sha256(body).hexdigest()[:12], len(body), n,
                       sum(1 for c in {c["id"]: c for c in cs} if c in vecs)]
        for k in sorted(set(prev_days) - set(win)):
            w.remove(f"{DAY_DIR}/{k}.js")
        index = {"format": FORMAT, "model": model, "quant": QUANT if model else "",
                 "dim": dim, "bytes_per_paper": dim, "weights": WEIGHTS, "window": self.days,
                 "days": [[k, *days[k]] for k in win]}
        body = b"window.PAPERSIFT_FORYOU = " + script_json_bytes(index) + b";\n"
        w.write(INDEX, body)
        # The page names the index with its digest: a static host's cached copy of an older
        # index is never used with newer day files (they carry digests too, see foryou.js).
        w.write(PAGE, r.foryou(hashlib.sha256(body).hexdigest()[:12]))
        state["foryou"] = {"format": FORMAT, "model": model, "version": version,
                           "window": self.days, "dim": dim, "days": days}
