"""Enrich papers: decide what needs doing, do it once, save each result as it completes.

- One structured LLM call per paper (plus at most one repair call when the answer does not
  validate). Invalid after repair, or a request that failed for good: the paper is recorded
  as failed with the reason and the run goes on.
- Done means: an HFday import, or an LLM enrichment of the same input, prompt and model.
  The LLM cache (keyed by input hash, prompt version, model, languages) answers re-runs
  with zero calls; --force skips both.
- Each paper's result is committed to the store the moment it completes, so a run killed
  midway loses at most the calls in flight and a re-run resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError, InputError
from ..model import Enrichment, Paper, Review, Usage
from ..runs import Commit, record_run, save_now
from ..store.base import Store
from .llm import LLM, LLMError, complete_checked, estimate_cost, price_for, run_closing
from .offline import OfflineEnricher
from .schema import (
    PROMPT_VERSION,
    SUPPORTED_LANGS,
    PayloadError,
    json_schema,
    system_prompt,
    user_prompt,
    validate_payload,
)

Progress = Callable[[str, str], None]  # (paper_id, status) after each paper


@dataclass
class EnrichReport:
    method: str = "llm"
    model: str = ""
    selected: int = 0
    done: int = 0  # enriched by this run with calls
    cached: int = 0  # answered from the LLM cache: zero calls
    skipped: int = 0  # already done before this run
    repaired: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    price_known: bool = True
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        return {"method": self.method, "model": self.model, "selected": self.selected,
                "done": self.done, "cached": self.cached, "skipped": self.skipped,
                "repaired": self.repaired, "failed": len(self.failed), "calls": self.calls,
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost_usd": round(self.cost_usd, 6), "seconds": round(self.seconds, 2)}


def select_papers(store: Store, date: dt.date | None = None, since: dt.date | None = None,
                  ids: list[str] | None = None) -> list[Paper]:
    """The papers a command names: a day, a range up to today, explicit ids, or all."""
    if ids:
        found, missing = [], []
        for raw in ids:
            p = store.get_paper(raw)
            (found.append(p) if p else missing.append(raw))
        if missing:
            raise InputError(f"unknown paper id(s): {', '.join(missing[:5])}; "
                             "check `papersift stats` or collect them first")
        return found
    if date:
        return store.papers_for_day(date)
    if since:
        return store.papers_between(since, dt.date.today() + dt.timedelta(days=1))
    return list(store.iter_papers())


def cache_key(paper: Paper, model: str, languages: list[str]) -> str:
    raw = "|".join([paper.content_hash(), PROMPT_VERSION, model, ",".join(languages)])
    return "enrich:" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def _is_done(e: Enrichment | None, paper: Paper, model: str | None) -> bool:
    """Does `e` make another enrichment of `paper` unnecessary? (model None = offline run)"""
    if e is None:
        return False
    if e.method == "hfday":
        return True
    if model is None:  # offline never replaces an LLM result; redoes a stale offline one
        return e.method == "llm" or e.input_hash == paper.content_hash()
    return (e.method == "llm" and e.input_hash == paper.content_hash()
            and e.prompt_version == PROMPT_VERSION and e.model == model)


def needing_enrichment(store: Store, papers: list[Paper], model: str | None) -> list[Paper]:
    """Those of `papers` without a current enrichment by `model` (None: offline)."""
    existing = store.get_enrichments(p.id for p in papers)
    return [p for p in papers if not _is_done(existing.get(p.id), p, model)]


def check_languages(languages: list[str]) -> list[str]:
    bad = [x for x in languages if x not in SUPPORTED_LANGS]
    if bad or not languages:
        raise ConfigError(f"languages {bad or languages}: use some of {', '.join(SUPPORTED_LANGS)} "
                         "(setting 'languages' / PAPERSIFT_LANGUAGES)")
    return list(dict.fromkeys(languages))


# -- offline ----------------------------------------------------------------------------

def _nothing() -> None:
    pass


def enrich_offline(store: Store, papers: list[Paper], force: bool = False,
                   progress: Progress | None = None, commit: Commit = save_now) -> EnrichReport:
    """`commit` receives each paper's outcome and its write (runs.Commit; default: at once)."""
    rep = EnrichReport(method="offline", model="offline", selected=len(papers))
    t0 = time.monotonic()
    existing = store.get_enrichments(p.id for p in papers)
    todo = []
    for p in papers:
        e = existing.get(p.id)
        # --force redoes offline results but never overwrites an LLM or HFday enrichment.
        if _is_done(e, p, None) and not (force and e is not None and e.method == "offline"):
            rep.skipped += 1
            commit(p.id, "skipped", _nothing, "")
            if progress:
                progress(p.id, "skipped")
        else:
            todo.append(p)
    for e in OfflineEnricher().enrich(todo):
        commit(e.paper_id, "done", functools.partial(store.save_enrichment, e), "")
        rep.done += 1
        if progress:
            progress(e.paper_id, "done")
    rep.seconds = time.monotonic() - t0
    return rep


# -- LLM --------------------------------------------------------------------------------

def _from_cache(paper: Paper, value: dict[str, Any], model: str) -> Enrichment:
    return Enrichment(
        paper_id=paper.id, method="llm", model=model, prompt_version=PROMPT_VERSION,
        input_hash=paper.content_hash(), emoji=value["emoji"], tags=value["tags"],
        reviews={k: Review(**v) for k, v in value["reviews"].items()},
        usage=Usage(**value.get("usage", {})), extra={"from_cache": True})


def _save_answer(store: Store, key: str, value: dict[str, Any], e: Enrichment) -> None:
    # Cache first, then the enrichment: a kill between the two costs no call later. Under a
    # queue worker both join its completing transaction (no round trips of their own).
    store.cache_put(key, value)
    store.save_enrichment(e)


async def enrich_one(llm: LLM, paper: Paper, languages: list[str],
                     usage: Usage | None = None) -> Enrichment:
    """One call (+ one repair call if needed). Raises PayloadError / LLMError on failure;
    `usage` is filled in either way (failed calls cost too)."""
    system = system_prompt(languages)
    messages = [{"role": "user", "content": user_prompt(paper, languages)}]
    schema = json_schema(languages)
    usage = usage if usage is not None else Usage()
    (emoji, tags, reviews), repaired = await complete_checked(
        llm, system, messages, schema, "enrichment", lambda data: validate_payload(data, languages),
        repair_ask="Return the corrected JSON object only, with every field.",
        truncated="the answer was cut off at the token limit: keep each review to about 4 "
                  "sentences and return the complete JSON object",
        usage=usage)
    usage.cost_usd = estimate_cost(llm.model, usage.input_tokens, usage.output_tokens)
    return Enrichment(paper_id=paper.id, method="llm", model=llm.model,
                      prompt_version=PROMPT_VERSION, input_hash=paper.content_hash(), emoji=emoji,
                      tags=tags, reviews=reviews, usage=usage,
                      extra={"provider": llm.provider, "repaired": repaired})


async def enrich_llm(store: Store, papers: list[Paper], llm: LLM, languages: list[str],
                     concurrency: int = 8, force: bool = False,
                     progress: Progress | None = None, commit: Commit = save_now) -> EnrichReport:
    """Papers done already are skipped (a current enrichment of the same input, prompt and
    model), the others answered from the cache or with calls, `concurrency` at a time.
    `commit` receives each paper's outcome and the write that stores it (runs.Commit)."""
    languages = check_languages(languages)
    rep = EnrichReport(method="llm", model=llm.model, selected=len(papers),
                       price_known=price_for(llm.model) is not None)
    t0 = time.monotonic()
    existing = store.get_enrichments(p.id for p in papers)
    queue: asyncio.Queue[Paper] = asyncio.Queue()
    for p in papers:
        if not force and _is_done(existing.get(p.id), p, llm.model):
            rep.skipped += 1
            commit(p.id, "skipped", _nothing, "")
            if progress:
                progress(p.id, "skipped")
            continue
        queue.put_nowait(p)

    def finish(pid: str, status: str) -> None:
        if progress:
            progress(pid, status)

    async def worker() -> None:
        while True:
            try:
                p = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            key = cache_key(p, llm.model, languages)
            hit = None if force else store.cache_get(key)
            if hit is not None:
                commit(p.id, "cached",
                       functools.partial(store.save_enrichment, _from_cache(p, hit, llm.model)), "")
                rep.cached += 1
                finish(p.id, "cached")
                continue
            usage = Usage()
            try:
                e = await enrich_one(llm, p, languages, usage)
            except (PayloadError, LLMError) as err:
                why = str(err)[:500]
                commit(p.id, "failed", functools.partial(store.record_failure, p.id, why), why)
                rep.failed[p.id] = why
                finish(p.id, "failed")
                continue
            finally:
                rep.calls += usage.calls
                rep.input_tokens += usage.input_tokens
                rep.output_tokens += usage.output_tokens
                rep.cost_usd += estimate_cost(llm.model, usage.input_tokens, usage.output_tokens)
            rep.repaired += int(bool(e.extra.get("repaired")))
            value = {"emoji": e.emoji, "tags": e.tags, "usage": usage.model_dump(),
                     "reviews": {k: v.model_dump() for k, v in e.reviews.items()}}
            commit(p.id, "done", functools.partial(_save_answer, store, key, value, e), "")
            rep.done += 1
            finish(p.id, "done")

    n = max(1, min(concurrency, queue.qsize() or 1))
    await asyncio.gather(*(worker() for _ in range(n)))
    rep.seconds = time.monotonic() - t0
    return rep


def run_enrich(store: Store, papers: list[Paper], llm: LLM | None, languages: list[str],
               concurrency: int = 8, force: bool = False,
               progress: Progress | None = None) -> EnrichReport:
    """Enrich `papers` with `llm` (offline when None) and record the run in the store."""
    params = {"n": len(papers), "model": llm.model if llm else "offline", "force": force,
              "languages": languages, "concurrency": concurrency}
    with record_run(store, "enrich", params) as run:
        if llm is None:
            rep = enrich_offline(store, papers, force, progress)
        else:
            rep = run_closing(llm, enrich_llm(store, papers, llm, languages, concurrency, force,
                                              progress))
        run.counts = rep.counts()
        run.errors = [f"{pid}: {why}" for pid, why in rep.failed.items()]
    return rep
