"""A profile's papers as interest clusters: seed papers and library entries, matched to
stored papers (arXiv id, then DOI, then title) and turned into unit vectors.

Stored papers use the vectors the search index already holds; a stored paper the index has
not reached yet, and a library entry the store lacks, are embedded from title + abstract by
the same embedder (search/engines.py's policy), so every vector comes from one model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..ids import title_key
from ..search.embed import paper_text
from ..store.base import ProfileSource
from .config import Profile
from .lexical import LexicalSpace, TermVec, centroid
from .library import LibraryEntry, read_library
from .weights import JOIN_STEPS, MAX_CLUSTERS

EmbedFn = Callable[[list[str]], np.ndarray]  # texts -> unit rows


@dataclass
class Seed:
    id: str | None  # stored paper id; None for a library entry the store lacks
    title: str


@dataclass
class Interests:
    """The profile's seeds, their unit vectors (rows of `vectors`) and the clusters."""

    seeds: list[Seed] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    centroids: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    members: list[list[int]] = field(default_factory=list)  # seed rows per cluster
    # tf-idf vectors of every seed, in seed order (also those without an embedding), and
    # their unit-length sum (None: no lexical space, or no seed)
    terms: list[TermVec] = field(default_factory=list)
    profile_terms: TermVec | None = None
    seed_ids: set[str] = field(default_factory=set)  # stored papers among the seeds
    library: int = 0  # library entries read
    matched: int = 0  # ... found in the store
    embedded: int = 0  # seeds embedded here (not in the index)
    unknown: list[str] = field(default_factory=list)  # seed_papers the store does not hold
    no_vector: int = 0  # seeds left without a vector (no embedder)

    def summary(self) -> str:
        parts = [f"{len(self.seeds)} seed papers in {len(self.members)} interest clusters"]
        if self.library:
            parts.append(f"library: {self.library} entries, {self.matched} matched in the store")
        if self.embedded:
            parts.append(f"{self.embedded} embedded from title+abstract")
        if self.unknown:
            parts.append(f"not in the store: {', '.join(self.unknown[:5])}")
        if self.no_vector:
            parts.append(f"{self.no_vector} without a vector (no embedder: compared by words only)")
        return "; ".join(parts)


def _leader(vectors: np.ndarray, join: float, cap: int) -> tuple[np.ndarray, list[list[int]]] | None:
    """Leader clustering in seed order: a seed joins the nearest cluster when its cosine to
    that centroid is >= `join`, else it starts a new one; None once more than `cap` clusters
    would be needed. Centroids are the unit-length means of their members."""
    sums = np.zeros((0, vectors.shape[1]), dtype=np.float32)
    cents = np.zeros((0, vectors.shape[1]), dtype=np.float32)
    members: list[list[int]] = []
    for i, v in enumerate(vectors):
        if members:
            sims = cents @ v
            j = int(np.argmax(sims))
            if sims[j] >= join:
                members[j].append(i)
                sums[j] += v
                cents[j] = sums[j] / max(float(np.linalg.norm(sums[j])), 1e-12)
                continue
        if len(members) == cap:
            return None
        members.append([i])
        sums = np.vstack([sums, v[None, :]])
        cents = np.vstack([cents, v[None, :]])
    return cents, members


def cluster(vectors: np.ndarray, max_clusters: int = MAX_CLUSTERS) -> tuple[np.ndarray, list[list[int]]]:
    """Interest clusters of unit seed vectors, deterministic. Up to `max_clusters` seeds each
    seed is its own cluster (what the browser does with liked papers); a larger profile (a
    library export) gets at most `max_clusters` clusters, from leader clustering at the
    highest join cosine that needs no more (found by bisection, so it adapts to how close the
    embedder puts papers: model2vec's cosines run much higher than minilm's)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    if n <= max_clusters:
        return vectors.copy().reshape(n, -1), [[i] for i in range(n)]
    lo, hi = -1.0, 1.0  # leader(lo) always fits (one cluster); leader(hi) needs one per seed
    best = _leader(vectors, lo, max_clusters)
    for _ in range(JOIN_STEPS):
        mid = (lo + hi) / 2
        got = _leader(vectors, mid, max_clusters)
        if got is None:
            hi = mid
        else:
            lo, best = mid, got
    assert best is not None
    return best


def _match(store: ProfileSource, entries: list[LibraryEntry]) -> tuple[list[str], list[LibraryEntry]]:
    """Stored ids of the entries the store holds (arXiv id, then DOI, then title) and the
    entries it lacks."""
    by_doi = store.ids_by_doi([e.doi for e in entries if e.doi])
    by_title = store.ids_by_title_key([title_key(e.title) for e in entries])
    found: list[str] = []
    missing: list[LibraryEntry] = []
    for e in entries:
        pid = (store.resolve_id(e.arxiv_id) if e.arxiv_id else None) \
            or (by_doi.get(e.doi) if e.doi else None) or by_title.get(title_key(e.title))
        if pid:
            found.append(pid)
        else:
            missing.append(e)
    return found, missing


def build_interests(store: ProfileSource, profile: Profile, model: str | None,
                    embed: Callable[[], EmbedFn | None], base_dir: Path,
                    space: LexicalSpace | None = None) -> Interests:
    """The profile's interests. `model`: the index's embedder name (None: no vectors);
    `embed()` gives the embedding function, called only when something needs embedding;
    `space`: the lexical space the seeds' tf-idf vectors are made in (None: none)."""
    out = Interests()
    ids: list[str] = []
    for s in profile.seed_papers:
        pid = store.resolve_id(s)
        if pid is None:
            out.unknown.append(s)
        elif pid not in ids:
            ids.append(pid)
    extra: list[LibraryEntry] = []
    lib_path = profile.library_path(base_dir)
    if lib_path is not None:
        lib = read_library(lib_path)
        out.library = len(lib.entries)
        found, extra = _match(store, lib.entries)
        out.matched = len(found)
        ids.extend(p for p in dict.fromkeys(found) if p not in ids)
    papers = store.get_papers(ids)
    ids = [p for p in ids if p in papers]
    out.seed_ids = set(ids)
    have = store.vectors_for(model, ids) if model else {}
    todo: list[tuple[Seed, str]] = [(Seed(p, papers[p].title), paper_text(papers[p].title, papers[p].abstract))
                                    for p in ids if p not in have]
    todo += [(Seed(None, e.title), paper_text(e.title, e.abstract)) for e in extra]
    texts = {p: (p, papers[p].title, papers[p].abstract) for p in ids}
    seeds = [Seed(p, papers[p].title) for p in ids if p in have]
    rows = [np.asarray(have[p], dtype=np.float32) for p in ids if p in have]
    fn = embed() if todo and model else None
    if fn is not None:
        vecs = fn([t for _, t in todo])
        seeds += [s for s, _ in todo]
        rows += list(np.asarray(vecs, dtype=np.float32))
        out.embedded = len(todo)
    else:
        out.no_vector = len(todo)
        seeds += [s for s, _ in todo]  # still listed: keyword rules apply, similarity cannot
    out.seeds = seeds
    if space is not None:
        abstracts = {e.title: e.abstract for e in extra}
        set_terms(out, space, [texts[s.id] if s.id is not None else (None, s.title, abstracts[s.title])
                               for s in seeds])
    if rows:
        out.vectors = np.vstack(rows).astype(np.float32)
        out.centroids, out.members = cluster(out.vectors)
    return out


def set_terms(interests: Interests, space: LexicalSpace, items: list[tuple[str | None, str, str]]) -> None:
    """The seeds' tf-idf vectors ((paper id, title, abstract) in seed order) and their
    centroid."""
    interests.terms = space.vectors(items)
    interests.profile_terms = centroid(interests.terms) if interests.terms else None
