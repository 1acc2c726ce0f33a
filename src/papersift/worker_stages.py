"""The stages queue workers run (workers.py): the per-paper code `papersift run` uses
(enrich/runner.py, enrich/affiliations.py, images/pipeline.py, search/indexing.py), each
paper's write handed to the worker's `commit`, which saves it only while the worker holds
the paper's item.

The LLM enrichment is a Flow: its requests wait on the network, so the worker keeps
`concurrency` of them in flight and claims more as each one is saved. The others take a
batch at a time (the image step and the index pass work on a batch as a whole).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from .config import Settings
from .enrich.affiliations import arxiv_pdf_url, fetch_affiliations
from .enrich.llm import make_llm
from .enrich.runner import enrich_llm, enrich_offline
from .http import HttpClient
from .images.job import images_step
from .model import Paper
from .runs import Commit
from .search.indexing import run_index
from .store.base import Store

KINDS = ("enrich", "affiliations", "images", "index")
# A stage, opened once per worker: process(papers, concurrency, commit) for each batch,
# or a Flow, which takes papers as slots free up.
Process = Callable[[list[Paper], int, Commit], object]


@dataclass
class Flow:
    """A stage that keeps its papers in flight in one event loop: `start(papers, commit)`
    is a coroutine to run in `runner` (the loop that owns the stage's client), any number
    at once; the worker starts one for each claim, as slots free up."""

    runner: asyncio.Runner
    start: Callable[[list[Paper], Commit], Coroutine[Any, Any, object]]


Stage = Callable[[Store, Settings], AbstractContextManager[Process | Flow]]


def nothing() -> None:
    pass


@contextmanager
def _enrich(store: Store, s: Settings) -> Iterator[Process | Flow]:
    llm = make_llm(s)
    if llm is None:
        yield lambda papers, n, commit: enrich_offline(store, papers, commit=commit)
        return
    # One event loop and one client for the worker's life (the client's connections are
    # bound to the loop that opened them): a claim costs no new client or connections.
    with asyncio.Runner() as runner:
        try:
            yield Flow(runner, lambda papers, commit: enrich_llm(
                store, papers, llm, s.languages, len(papers), commit=commit))
        finally:
            # A stop leaves requests pending in the loop: cancel them first.
            for task in asyncio.all_tasks(runner.get_loop()):
                task.cancel()
            runner.run(llm.aclose())


def _affiliations(store: Store, s: Settings, papers: list[Paper], concurrency: int,
                  commit: Commit) -> None:
    with HttpClient(timeout=s.request_timeout, min_interval={"arxiv.org": 1.0}) as http:
        fetch_affiliations(store, papers, http, make_llm(s),
                           arxiv_pdf_url(s.arxiv_web_url.rstrip("/") + "/pdf/"), commit=commit)


def _images(store: Store, s: Settings, papers: list[Paper], concurrency: int,
            commit: Commit) -> None:
    # The image step saves each paper's records as they are made and skips what is made
    # already, so a re-claimed paper costs no second rendering. Its items are done once the
    # whole step returns: the affiliations from the same PDFs are read after the images.
    seen: dict[str, str] = {}
    rep = images_step(store, s, papers, llm=make_llm(s), concurrency=concurrency,
                      progress=lambda pid, st: seen.__setitem__(pid, st))
    for p in papers:
        st = seen.get(p.id, "done")
        commit(p.id, st, nothing, rep.failed.get(p.id, "") if st == "failed" else "")


def _index(store: Store, s: Settings, papers: list[Paper], concurrency: int,
           commit: Commit) -> None:
    # The index is one incremental pass over the store (it embeds whatever lacks a vector),
    # not per-paper work: one pass covers the batch. One index worker is enough.
    run_index(store, s)
    for p in papers:
        commit(p.id, "done", nothing, "")


def _per_batch(fn: Callable[[Store, Settings, list[Paper], int, Commit], None]) -> Stage:
    @contextmanager
    def stage(store: Store, s: Settings) -> Iterator[Process | Flow]:
        yield functools.partial(fn, store, s)
    return stage


STAGES: dict[str, Stage] = {"enrich": _enrich, "affiliations": _per_batch(_affiliations),
                            "images": _per_batch(_images), "index": _per_batch(_index)}
