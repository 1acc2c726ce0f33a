"""Ranking a day (or the days up to it) for profiles, with the store and the index's
embedder: what `papersift profile test`, the digests and the profile feeds call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import Settings
from ..errors import EmbedderError
from ..model import Paper
from ..search.embed import Embedder, HashingEmbedder, key_for, paper_text
from ..search.engines import embedder_name, has_vectors, load_embedder, memory_bm25
from ..store.base import ProfileSource, Store
from .config import Profile
from .interests import EmbedFn, Interests, build_interests
from .lexical import LexicalSpace
from .rank import Ranking, rank_papers


@dataclass
class DayRanking:
    profile: Profile
    day: dt.date
    ranking: Ranking
    interests: Interests
    model: str | None  # the index's embedder, None when similarity could not be used
    notes: list[str] = field(default_factory=list)


class ProfileRanker:
    """Ranks days for profiles. The embedder is the index's own (search/engines.py) and is
    loaded only when something lacks a stored vector; a profile's interests are built once."""

    def __init__(self, store: Store, settings: Settings, base_dir: Path):
        self.store, self.settings, self.base_dir = store, settings, base_dir
        name = embedder_name(settings.embedder)
        if name.startswith("hash"):  # instant to make; its name carries the dimension
            name = HashingEmbedder(int(name[4:]) if name[4:].isdigit() else 256).name
        self.model: str | None = name if name != "none" and has_vectors(store, name) else None
        # where the index stores that embedder's vectors (its name plus its recipe's digest)
        self.key: str | None = key_for(name) if self.model else None
        self._embedder: Embedder | None = None
        self._embed_error: str | None = None
        self._interests: dict[str, Interests] = {}
        self._space: LexicalSpace | None = None
        self._days: dict[tuple[dt.date, int], tuple[list[Paper], dict[str, np.ndarray],
                                                    dict[str, list[str]]]] = {}

    def embed_fn(self) -> EmbedFn | None:
        if self.model is None or self._embed_error is not None:
            return None
        if self._embedder is None:
            try:
                self._embedder = load_embedder(self.settings, self.store, "query")
            except EmbedderError as e:
                self._embed_error = str(e)
                return None
            if self._embedder is None or self._embedder.name != self.model:
                self._embed_error = f"embedder {self.model!r} could not be loaded"
                self._embedder = None
                return None
        return self._embedder.embed

    def space(self) -> LexicalSpace:
        """The lexical space of the search index's BM25 terms (the index's cached file when
        the papers did not change; built once per ranker)."""
        if self._space is None:
            self._space = LexicalSpace.from_index(memory_bm25(self.store))
        return self._space

    def interests(self, profile: Profile) -> Interests:
        if profile.name not in self._interests:
            src: ProfileSource = self.store
            self._interests[profile.name] = build_interests(src, profile, self.key, self.embed_fn,
                                                            self.base_dir, self.space())
        return self._interests[profile.name]

    def candidates(self, day: dt.date, days: int = 1) -> tuple[list[Paper], dict[str, np.ndarray],
                                                               dict[str, list[str]]]:
        """The papers of `day` (or of the `days` days ending on it), their vectors and tags;
        a candidate the index has not reached yet is embedded here."""
        key = (day, days)
        if key not in self._days:
            if days <= 1:
                papers = self.store.papers_for_day(day)
            else:
                seen: dict[str, Paper] = {}
                for i in range(days):
                    for p in self.store.papers_for_day(day - dt.timedelta(days=i)):
                        seen.setdefault(p.id, p)
                papers = sorted(seen.values(), key=lambda p: p.id)
            ids = [p.id for p in papers]
            vecs = self.store.vectors_for(self.key, ids) if self.key else {}
            todo = [p for p in papers if p.id not in vecs]
            fn = self.embed_fn() if todo else None
            if fn is not None:
                for p, v in zip(todo, fn([paper_text(p.title, p.abstract) for p in todo]), strict=True):
                    vecs[p.id] = v
            tags = {pid: e.tags for pid, e in self.store.get_enrichments(ids).items()}
            self._days[key] = (papers, vecs, tags)
        return self._days[key]

    def rank(self, profile: Profile, day: dt.date, days: int = 1) -> DayRanking:
        interests = self.interests(profile)
        papers, vecs, tags = self.candidates(day, days)
        res = DayRanking(profile, day, rank_papers(profile, interests, papers, vecs, tags, self.space()),
                         interests, self.model)
        if self.model is None and (profile.seed_papers or profile.library):
            res.notes.append("the store holds no vectors (run `papersift index`): seed papers "
                             "are compared by their words only, plus the keyword/author/tag rules")
        if self._embed_error:
            res.notes.append(f"embedding skipped: {self._embed_error}")
        return res
