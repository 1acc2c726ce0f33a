"""Upsert planning, shared by every backend: for one chunk of incoming papers, which are
new, which merge into which stored paper (same id, alias, title key or near-duplicate),
which stored listing papers are re-keyed to their arXiv id, and which aliases, provenance
rows and blocking keys are written.

A backend supplies only the primitives (`UpsertSource`: batch fetches by ids, title keys
and blocking keys, and a full-text title lookup) and applies the resulting `UpsertPlan`
in one transaction. The fetches are batched per chunk: a bulk import makes a few queries
per 20,000 papers, not one per paper.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..dedup import same_paper, surname, title_keys
from ..ids import local_paper_id, normalize_text, title_key
from ..model import PAPER_FIELDS, Paper
from .base import UpsertStats
from .merge import is_empty, merge_papers, paper_row_equal

SourceRow = tuple[str, str, str, str]  # (paper_id, source, ref, first_seen ISO)
# prepare_papers() output per paper: (title key, backend row values, provenance rows).
Prepared = tuple[str, Any, list[SourceRow]]


class UpsertSource(Protocol):
    """What the planner reads from a backend, inside the chunk's write transaction."""

    def has_blocking_keys(self) -> bool: ...  # any stored paper without arXiv id has keys
    def has_arxiv_papers(self) -> bool: ...  # any stored paper has an arXiv id
    def aliases_of(self, ids: list[str]) -> dict[str, str]: ...  # alias -> paper id
    def papers_by_id(self, ids: list[str]) -> list[Paper]: ...
    def papers_by_title_key(self, keys: list[str]) -> list[Paper]: ...
    def block_members(self, keys: list[str]) -> list[tuple[str, str]]: ...  # (key, paper id)
    # ids of at most 20 stored papers whose title holds one of these phrases (each a few
    # normalised words); [] when the backend cannot say
    def title_phrase_ids(self, phrases: list[str]) -> list[str]: ...


# A paper to store as a new row: (paper, prepare_papers() of this very object or None,
# its title key when planning computed it, else None). A tuple: 20,000 per import chunk.
NewRow = tuple[Paper, Prepared | None, str | None]


@dataclass
class UpsertPlan:
    """What to write, in this order: renames, inserts, updates, aliases, sources, blocks."""

    renames: list[tuple[str, str]] = field(default_factory=list)  # stored (old id, new id)
    inserts: list[NewRow] = field(default_factory=list)  # renamed rows come back as inserts
    updates: list[Paper] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (alias, paper id)
    sources: list[SourceRow] = field(default_factory=list)
    blocks: list[tuple[str, str]] = field(default_factory=list)  # (blocking key, paper id)
    stats: UpsertStats = field(default_factory=UpsertStats)


def source_rows(paper_id: str, p: Paper) -> list[SourceRow]:
    return [(paper_id, s.source, s.ref, s.seen_at.isoformat(timespec="seconds")) for s in p.sources]


def adds_anything(old: Paper, new: Paper) -> bool:
    """Cheap pre-check: does `new` carry any value `old` lacks or differs on?"""
    for name in PAPER_FIELDS:
        nv = getattr(new, name)
        if not is_empty(nv) and nv != getattr(old, name):
            return True
    return bool(new.num_authors and new.num_authors != old.num_authors)


def plan_upsert(db: UpsertSource, chunk: list[Paper], prep: list[Prepared | None]) -> UpsertPlan:
    """Decide how `chunk` (with its prepare_papers() items, or None each) is stored."""
    plan = UpsertPlan()
    stats = plan.stats
    ids = list({p.id for p in chunk})
    alias = db.aliases_of(ids)
    wanted = list({alias.get(k, k) for k in ids})
    known: dict[str, Paper] = {p.id: p for p in db.papers_by_id(wanted)}
    chunk, prep = _rekey_title_collisions(db, chunk, prep, alias, known)
    # One normalisation per title: the exact key and the near-duplicate blocking keys.
    # Blocking keys matter only where a near-duplicate can exist: papers without an
    # arXiv id, and arXiv papers while some stored or incoming paper lacks one.
    need_blocks = any(not p.arxiv_id for p in chunk) or db.has_blocking_keys()
    keys = [title_keys(p.title) if need_blocks else (r[0] if r else title_key(p.title), [])
            for p, r in zip(chunk, prep, strict=True)]
    key_of = {id(p): k[0] for p, k in zip(chunk, keys, strict=True)}
    # Keyed by object: a merged paper is a new object and gets its row computed below.
    prep_of = {id(p): r for p, r in zip(chunk, prep, strict=True) if r is not None}
    missing = [i for i, p in enumerate(chunk) if alias.get(p.id, p.id) not in known]
    by_title: dict[str, list[str]] = {}  # exact title key -> paper ids
    by_block: dict[str, list[str]] = {}  # blocking key -> ids of papers without arXiv id
    if missing:
        tks = list({keys[i][0] for i in missing})
        for p in db.papers_by_title_key(tks):
            known.setdefault(p.id, p)
            by_title.setdefault(title_key(p.title), []).append(p.id)
        bks = list({b for i in missing for b in keys[i][1]})
        rows = db.block_members(bks)
        need = list({pid for _, pid in rows if pid not in known})
        if need:
            for p in db.papers_by_id(need):
                known.setdefault(p.id, p)
        for k, pid in rows:
            by_block.setdefault(k, []).append(pid)
    original = dict(known)  # what is stored now, by id
    arxiv_state: list[bool] = []  # asked once per chunk, when first needed

    def arxiv_stored() -> bool:
        if not arxiv_state:
            arxiv_state.append(db.has_arxiv_papers())
        return arxiv_state[0]

    renames: dict[str, str] = {}  # old id -> new id
    sources: list[SourceRow] = []
    block_rows: list[tuple[str, str]] = []
    for p, (tk, bks) in zip(chunk, keys, strict=True):
        target = alias.get(p.id, p.id)
        target = renames.get(target, target)
        old = known.get(target)
        if old is not None and _title_derived(p) and not same_paper(old, p):
            # An earlier paper of this chunk took the id this title gives: another paper.
            p = p.model_copy(update={"id": distinct_local_id(p)})
            key_of[id(p)] = tk
            old = known.get(p.id)
            if old is not None and not same_paper(old, p):
                old = None
        # An arXiv paper with no title or blocking-key candidate has no duplicate:
        # _find_duplicate would say so, at a call per paper of a bulk import.
        if old is None and (not p.arxiv_id or tk in by_title
                            or any(b in by_block for b in bks)):
            old = _find_duplicate(db, p, tk, bks, known, original, renames, by_title, by_block,
                                  arxiv_stored)
            if old is not None:
                stats.merged += 1
        if old is None:
            known[p.id] = p
            by_title.setdefault(tk, []).append(p.id)
            if not p.arxiv_id:
                for b in bks:
                    by_block.setdefault(b, []).append(p.id)
                    block_rows.append((b, p.id))
            stats.ids.append(p.id)
            r = prep_of.get(id(p))
            sources.extend(r[2] if r is not None else source_rows(p.id, p))
            continue
        if not p.arxiv_id and not old.arxiv_id:
            block_rows.extend((b, old.id) for b in bks)  # the variant title finds it too
        if not adds_anything(old, p):
            stats.ids.append(old.id)
            sources.extend(source_rows(old.id, p))
            if p.id != old.id:
                alias[p.id] = old.id
            continue
        merged = merge_papers(old, p)
        if merged.id != old.id:  # a listing-only paper just gained its arXiv id
            renames[old.id] = merged.id
            known.pop(old.id, None)
            if p.id != merged.id and p.id != old.id:
                alias[p.id] = merged.id
        elif p.id != old.id:
            alias[p.id] = old.id
        known[merged.id] = merged
        stats.ids.append(merged.id)
        sources.extend(source_rows(merged.id, p))
    moved: set[str] = set()  # stored rows re-keyed to their arXiv id: updates, not new
    for old_id, new_id in renames.items():
        if old_id in original:
            plan.renames.append((old_id, new_id))  # the row goes: re-inserted below
            original.pop(old_id)
            moved.add(new_id)
        alias[old_id] = new_id
        sources = [(new_id if r[0] == old_id else r[0], *r[1:]) for r in sources]
    for pid, paper in known.items():
        before = original.get(pid)
        if before is None:
            plan.inserts.append((paper, prep_of.get(id(paper)), key_of.get(id(paper))))
        elif before is not paper and not paper_row_equal(before, paper):
            plan.updates.append(paper)
    plan.aliases = [(a, t) for a, t in alias.items() if a != t]
    plan.sources = sources
    # Blocking keys are kept only for papers without an arXiv id (the ones a
    # near-duplicate can still merge into); a paper renamed to its arXiv id drops them.
    plan.blocks = [(b, pid) for b, pid in block_rows if renames.get(pid, pid) == pid and pid in known]
    stats.inserted += len(plan.inserts) - len(moved)
    stats.updated += len(plan.updates) + len(moved)
    stats.unchanged = max(0, len(set(stats.ids)) - stats.inserted - stats.updated)
    return plan


def _title_derived(p: Paper) -> bool:
    """A paper without arXiv id whose id is the one its title gives (no id of its own)."""
    return not p.arxiv_id and p.id == local_paper_id(p.title)


def distinct_local_id(p: Paper) -> str:
    """The id of an id-less paper whose title another paper already holds: from its title,
    abstract and authors, so the same record gets the same id on every import."""
    text = "\n".join([title_key(p.title), normalize_text(p.abstract),
                      " ".join(sorted(surname(a) for a in p.authors))])
    return f"ps-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:12]}"


def _rekey_title_collisions(db: UpsertSource, chunk: list[Paper], prep: list[Prepared | None],
                            alias: dict[str, str], known: dict[str, Paper]
                            ) -> tuple[list[Paper], list[Prepared | None]]:
    """Papers whose title-derived id is held by a stored paper that is *not* the same
    paper (one title, two papers) get their own id; the rows under those ids are fetched."""
    moved = {i: distinct_local_id(p) for i, p in enumerate(chunk)
             if _title_derived(p) and (old := known.get(alias.get(p.id, p.id))) is not None
             and not same_paper(old, p)}
    if not moved:
        return chunk, prep
    chunk, prep = list(chunk), list(prep)
    for i, nid in moved.items():
        chunk[i] = chunk[i].model_copy(update={"id": nid})
        prep[i] = None  # its prepared row carries the old id
    new_ids = list(set(moved.values()))
    alias.update(db.aliases_of(new_ids))
    for q in db.papers_by_id(list({alias.get(k, k) for k in new_ids})):
        known.setdefault(q.id, q)
    return chunk, prep


def _find_duplicate(db: UpsertSource, p: Paper, tk: str, bks: list[str], known: dict[str, Paper],
                    original: dict[str, Paper], renames: dict[str, str],
                    by_title: dict[str, list[str]], by_block: dict[str, list[str]],
                    arxiv_stored: Callable[[], bool]) -> Paper | None:
    """A stored (or earlier in this chunk) paper that `p` duplicates, via blocking."""
    seen: set[str] = set()
    cands = [*by_title.get(tk, ()), *(pid for b in bks for pid in by_block.get(b, ()))]
    for cid in cands:
        cid = renames.get(cid, cid)
        cand = known.get(cid)
        if cid in seen or cand is None:
            continue
        seen.add(cid)
        if not (p.arxiv_id and cand.arxiv_id) and same_paper(cand, p):
            return cand
    if p.arxiv_id or not arxiv_stored():
        return None
    # A paper without arXiv id may duplicate an arXiv paper whose title was edited (arXiv
    # papers have no blocking keys): ask the full-text index for titles sharing the first
    # or last words. An id-less import into a store without arXiv papers skips this query.
    words = normalize_text(p.title).split()
    phrases = {" ".join(words[:4]), " ".join(words[-4:])} - {""}
    if not phrases:
        return None
    ids = [i for i in db.title_phrase_ids(sorted(phrases)) if i not in seen]
    for cand in [known.get(i) or q for i in ids for q in db.papers_by_id([i])]:
        if same_paper(cand, p):
            if cand.id not in known:  # fetched from the database just now
                known[cand.id] = original[cand.id] = cand
            return known[cand.id]
    return None
