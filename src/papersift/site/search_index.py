"""The static site's search index: every paper searchable from the published pages, with no
server and from file:// too.

Why not Pagefind: its loader is an ES module that fetch()es its wasm and index files, and
Chromium refuses both on file:// (origin null). Classic <script> tags do load from file://,
so every index file here is a small script that hands its data to `PS_SEARCH` in
static/search.js.

Layout (all under search/):
  index.js              the manifest: segments, dead documents, stopwords, tags (rewritten
                        by each build that changes the index; everything else is immutable)
  <seg>/t/<shard>.js    term -> [df, postings]; a term's shard is fnv1a(term) % shards
  <seg>/d/<chunk>.js    the result cards of CHUNK consecutive documents

Postings are precomputed BM25 impacts (the same scoring and column weights as
search/lexical.py, Porter stems, quantized to 6 bits) as text: per document, its doc-number
gap as a base-64 varint (5 bits a character, the 6th says "more follows") then one impact
character. Tag filters are terms too ("#cv", impact 0); base documents are numbered by day,
so a date filter is a range of document numbers.

Incremental: a full build writes one base segment. Later builds put the papers they touched
into a delta segment (rebuilt each time from its papers: it is small) and mark their old
base documents dead; once the delta outgrows DELTA_SHARE of the base, the base is rebuilt
over every paper and the delta emptied. Segment names are digests of their bytes, so a
segment's files never change once written and old ones are deleted after the manifest moves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ..search.lexical import Analyzer, BM25Params
from ..taxonomy import TAGS
from ..text import SEARCH_STOPWORDS, WORD, strip_accents
from .cards import script_json_bytes
from .data import Cards
from .output import SiteWriter, load_state

# The site's index ranks like the server's lexical search: the same k1, b and column weights.
_BM25 = BM25Params()
COLUMN_WEIGHTS, K1, B = _BM25.weights, _BM25.k1, _BM25.b
FORMAT = 1
DIR = "search"
CHUNK = 8  # documents per card file: a query shows 10 results, from up to 10 files
CARD_TEXT = 480  # characters of abstract (and review) a result card carries for its snippet
SHARD_BYTES = 8192  # target size of a term shard
DELTA_MIN, DELTA_SHARE = 1000, 0.05  # the base is rebuilt when the delta holds more papers
ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALPHA = np.frombuffer(ALPHABET, dtype=np.uint8)
_EPOCH = dt.date(1970, 1, 1)
# ASCII fast path of text.WORD ([^\W_]+): every other ASCII character separates words.
_ASCII_SPLIT = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()}
                             | {chr(c): chr(c + 32) for c in range(65, 91)})


def words(text: str) -> list[str]:
    """text.WORD tokens of `text`, lower-cased and accent-folded as search/lexical.py does."""
    if text.isascii():
        return text.translate(_ASCII_SPLIT).split()
    return WORD.findall(strip_accents(text.lower()))


def day_number(day: str) -> int:
    try:
        return (dt.date.fromisoformat(day[:10]) - _EPOCH).days
    except ValueError:
        return 0


def fnv1a(s: str) -> int:
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def _review_texts(c: dict[str, Any]) -> list[str]:
    """Review titles and texts a model wrote (not the title/abstract standing in for them)."""
    if not c["method"]:
        return []
    own = {c["title"], c["abstract"]}
    out: list[str] = []
    for r in c["reviews"].values():
        for t in (r["title"], r["review"]):
            if t and t not in own and t not in out:
                out.append(t)
    return out


def _doc_record(c: dict[str, Any]) -> list[Any]:
    en = c["reviews"].get("en") or {}
    review = en.get("review", "") if c["method"] else ""
    catchy = en.get("title", "") if c["method"] and en.get("title") != c["title"] else ""
    return [c["slug"], c["title"], ", ".join(c["authors"][:8]) + (" et al." if len(c["authors"]) > 8 else ""),
            c["day"], c["tags"], c["emoji"], catchy, _cut(c["abstract"]),
            _cut(review) if review != c["abstract"] else "", c["upvotes"]]


def _doc_hash(c: dict[str, Any]) -> str:
    """What the index holds of a paper: a touched paper whose hash is unchanged stays put."""
    data = [_doc_record(c), c["abstract"], c["authors"], _review_texts(c)]
    return hashlib.blake2b(orjson.dumps(data), digest_size=6).hexdigest()


def _cut(text: str) -> str:
    """The start of `text`, cut at a word: the whole abstract is on the paper page, and the
    cards of a query's results are most of what it fetches."""
    if len(text) <= CARD_TEXT:
        return text
    return text[:CARD_TEXT].rsplit(" ", 1)[0] + " …"


class _Segment:
    """One segment's files from its cards (in document order)."""

    def __init__(self, kind: str, cards: list[dict[str, Any]], avgdl: float | None):
        self.kind, self.n = kind, len(cards)
        self.files: dict[str, bytes] = {}
        terms, docs, tfs, lengths = self._tokenize(cards)
        self.avgdl = avgdl or (float(lengths.mean()) if len(lengths) and lengths.mean() > 0 else 1.0)
        shards = self._postings(terms, docs, tfs, lengths)
        self.shards = len(shards)
        body: dict[str, bytes] = {}
        for i, entries in enumerate(shards):
            body[f"t/{i}.js"] = b"PS_SEARCH.t(%s,%d,%s);\n" % (b"@SEG@", i, script_json_bytes(entries))
        for i in range(0, len(cards), CHUNK):
            recs = [_doc_record(c) for c in cards[i:i + CHUNK]]
            body[f"d/{i // CHUNK}.js"] = b"PS_SEARCH.d(%s,%d,%s);\n" % (b"@SEG@", i // CHUNK, script_json_bytes(recs))
        digest = hashlib.sha256()
        for rel in sorted(body):
            digest.update(rel.encode() + b"\0" + body[rel])
        self.id = f"{kind}-{digest.hexdigest()[:12]}"
        quoted = b'"%s"' % self.id.encode()
        self.files = {f"{DIR}/{self.id}/{rel}": data.replace(b"@SEG@", quoted, 1) for rel, data in body.items()}

    def _tokenize(self, cards: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        analyze = Analyzer()
        self.vocab: dict[str, int] = {}
        word_id: dict[str, int | None] = dict.fromkeys(SEARCH_STOPWORDS)
        tw = [int(w) for w in COLUMN_WEIGHTS]  # integral weights: a title word counts 4 times
        terms: list[int] = []
        docs: list[int] = []
        tfs: list[int] = []
        lengths = np.zeros(len(cards), dtype=np.float32)
        tag_terms = {t: self._term("#" + t) for t in TAGS}
        for d, c in enumerate(cards):
            title, abstract = words(c["title"]), words(c["abstract"])
            authors = words(" ".join(c["authors"]))
            extra = [w for t in _review_texts(c) for w in words(t)]
            toks = title * tw[0] + abstract * tw[1] + authors * tw[2] + extra
            new = list(set(toks).difference(word_id))
            if new:
                for w, stem in zip(new, analyze.stem(new), strict=True):
                    word_id[w] = self._term(stem)
            counts = Counter(map(word_id.__getitem__, toks))
            counts.pop(None, None)
            for t in c["tags"]:
                counts[tag_terms[t]] = 0
            terms.extend(counts.keys())  # type: ignore[arg-type]
            tfs.extend(counts.values())
            docs.extend([d] * len(counts))
            lengths[d] = len(title) + len(abstract) + len(authors) + len(extra)
        return (np.array(terms, dtype=np.int64), np.array(docs, dtype=np.int64),
                np.array(tfs, dtype=np.float32), lengths)

    def _term(self, s: str) -> int:
        return self.vocab.setdefault(s, len(self.vocab))

    def _postings(self, terms: np.ndarray, docs: np.ndarray, tfs: np.ndarray,
                  lengths: np.ndarray) -> list[dict[str, list[Any]]]:
        names = list(self.vocab)
        if not len(terms):
            return [{}]
        order = np.argsort(terms, kind="stable")  # documents stay ascending within a term
        terms, docs, tfs = terms[order], docs[order], tfs[order]
        norm = K1 * (1 - B + B * lengths[docs] / self.avgdl)
        sat = tfs * (K1 + 1) / (tfs + norm)
        impact = np.where(tfs > 0, np.clip(np.rint(sat / (K1 + 1) * 63), 1, 63), 0).astype(np.int64)
        start = np.concatenate([[True], terms[1:] != terms[:-1]])
        gaps = np.where(start, docs, docs - np.concatenate([[0], docs[:-1]]))
        nc = 1 + (gaps >= 32) + (gaps >= 1 << 10) + (gaps >= 1 << 15) + (gaps >= 1 << 20) + (gaps >= 1 << 25)
        width = nc + 1
        pos = np.concatenate([[0], np.cumsum(width)[:-1]])
        out = np.zeros(int(width.sum()), dtype=np.int64)
        for k in range(int(nc.max())):
            m = nc > k
            shift = 5 * (nc[m] - 1 - k)
            out[pos[m] + k] = ((gaps[m] >> shift) & 31) | np.where(k < nc[m] - 1, 32, 0)
        out[pos + nc] = impact
        text = _ALPHA[out].tobytes().decode("ascii")
        firsts = np.flatnonzero(start)
        bounds = np.concatenate([pos[firsts], [len(text)]])
        df = np.diff(np.concatenate([firsts, [len(terms)]]))
        tids = terms[firsts]
        n_shards = 1
        while len(text) / n_shards > SHARD_BYTES and n_shards < 1 << 16:
            n_shards *= 2
        shards: list[dict[str, list[Any]]] = [{} for _ in range(n_shards)]
        for j, tid in enumerate(tids.tolist()):
            name = names[tid]
            shards[fnv1a(name) % n_shards][name] = [int(df[j]), text[bounds[j]:bounds[j + 1]]]
        return shards


def _manifest(base: dict[str, Any], delta: _Segment | None, delta_days: list[int], dead: list[int]) -> bytes:
    segs: list[dict[str, Any]] = [{"id": base["id"], "n": base["n"], "shards": base["shards"], "days": base["days"]}]
    if delta is not None:
        segs.append({"id": delta.id, "n": delta.n, "shards": delta.shards, "day": delta_days})
    data = {"v": FORMAT, "chunk": CHUNK, "segments": segs, "dead": dead,
            "stopwords": sorted(SEARCH_STOPWORDS), "tags": TAGS}
    return b"PS_SEARCH.m(%s);\n" % script_json_bytes(data)


def _order(cards: dict[str, dict[str, Any]], ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda i: (cards[i]["day"], i))


def _write(w: SiteWriter, seg: _Segment) -> None:
    for rel, data in seg.files.items():
        w.write(rel, data)


def _prune(w: SiteWriter, keep: set[str]) -> None:
    """Delete segment directories the manifest no longer names."""
    top = w.path(DIR)
    if not top.is_dir():
        return
    for p in top.iterdir():
        if p.is_dir() and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)


def _base(w: SiteWriter, cc: dict[str, dict[str, Any]], ids: list[str]) -> dict[str, Any]:
    order = _order(cc, ids)
    seg = _Segment("b", [cc[i] for i in order], None)
    days: list[list[int]] = []
    for k, pid in enumerate(order):
        dn = day_number(cc[pid]["day"])
        if not days or days[-1][1] != dn:
            days.append([k, dn])
    _write(w, seg)
    st = {"v": FORMAT, "id": seg.id, "n": seg.n, "shards": seg.shards, "days": days,
          "avgdl": seg.avgdl, "docs": order, "hashes": [_doc_hash(cc[i]) for i in order],
          "delta": [], "removed": [], "delta_id": None}
    w.write(f"{DIR}/index.js", _manifest(st, None, [], []))
    _prune(w, {seg.id})
    return st


def write_full(w: SiteWriter, cards: Cards, ids: list[str], previous: Path | None = None) -> dict[str, Any]:
    """A full build's index over `ids` (loaded in `cards`) into w's fresh directory; returns
    the state to keep. A full build is mostly a template or settings change: when the site
    at `previous` has an index whose delta would stay small, its segments are copied over
    and only the papers whose searchable data changed are indexed again (as a delta)."""
    old = (load_state(previous) or {}).get("search") if previous is not None else None
    if not old or old.get("v") != FORMAT or "hashes" not in old or previous is None:
        return _base(w, cards.cards, ids)
    base = previous / DIR / old["id"]
    if not base.is_dir():
        return _base(w, cards.cards, ids)
    live = set(ids)
    gone = (set(old["docs"]) | set(old["delta"])) - live
    known = set(old["docs"])
    touched = {i for i in ids if i not in known} | set(old["delta"]) | {
        i for k, i in enumerate(old["docs"]) if i in live and _doc_hash(cards.cards[i]) != old["hashes"][k]}
    if len(touched) > max(DELTA_MIN, DELTA_SHARE * old["n"]):
        return _base(w, cards.cards, ids)
    for f in base.rglob("*.js"):  # the base is copied; the delta is rebuilt from its papers
        w.write(str(f.relative_to(previous)), f.read_bytes())
    new = _update(w, cards, old, touched, gone)
    if new is old:  # nothing changed: the same manifest
        w.write(f"{DIR}/index.js", (previous / DIR / "index.js").read_bytes())
    return new


def write_incremental(w: SiteWriter, cards: Cards, old: dict[str, Any] | None,
                      touched: set[str], gone: set[str]) -> dict[str, Any]:
    """Update the index for the papers touched or gone since the last build; returns the new
    state (unchanged when nothing searchable changed)."""
    if old is None or old.get("v") != FORMAT or "hashes" not in old or not w.path(f"{DIR}/index.js").is_file():
        return _base(w, cards.cards, _all_ids(cards))
    return _update(w, cards, old, touched, gone)


def _update(w: SiteWriter, cards: Cards, old: dict[str, Any], touched: set[str], gone: set[str]) -> dict[str, Any]:
    row = {pid: k for k, pid in enumerate(old["docs"])}
    in_delta = set(old["delta"])
    hashes = old["hashes"]
    # Touched but holding the same searchable data (e.g. a listing re-imported): left alone.
    changed = sorted(i for i in touched if i in cards.cards and (
        i in in_delta or i not in row or _doc_hash(cards.cards[i]) != hashes[row[i]]))
    gone = {i for i in gone if i in row or i in in_delta} - set(old["removed"])
    if not changed and not gone:
        return old
    delta = [i for i in dict.fromkeys([*old["delta"], *changed]) if i not in gone]
    if len(delta) > max(DELTA_MIN, DELTA_SHARE * old["n"]):
        return _base(w, cards.cards, _all_ids(cards))
    cards.load(delta)
    cc = cards.cards
    delta = _order(cc, [i for i in delta if i in cc])
    # Base documents stay dead while the base lasts: papers now in the delta, and papers
    # gone from the store in this build or an earlier one.
    removed = sorted((set(old["removed"]) | gone) & row.keys())
    dead = sorted(row[i] for i in set(delta) | set(removed) if i in row)
    seg = _Segment("d", [cc[i] for i in delta], old["avgdl"]) if delta else None
    if seg is not None:
        _write(w, seg)
    w.write(f"{DIR}/index.js", _manifest(old, seg, [day_number(cc[i]["day"]) for i in delta], dead))
    _prune(w, {old["id"]} | ({seg.id} if seg else set()))
    return {**old, "delta": delta, "removed": removed, "delta_id": seg.id if seg else None}


def _all_ids(cards: Cards) -> list[str]:
    """Every paper's card (loading those not loaded yet)."""
    cards.load(None)
    return list(cards.cards)
