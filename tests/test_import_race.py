"""Concurrent writers (issue 11): four processes importing overlapping files into one store
at once end with the store a single import of the same files gives (same papers, same
merges of id-less near-duplicates into their arXiv paper, distinct look-alike titles kept
apart, no duplicates), and concurrent record_day calls of one day never shrink it.

On both backends: PostgreSQL plans upsert chunks under an advisory lock, SQLite writes
under BEGIN IMMEDIATE. The workers (support/race.py) call the library without the CLI's
job lock, which would serialise whole imports and prove nothing about the store.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from conftest import BACKENDS
from support.race import day_worker, import_worker

from papersift.ingest import import_paths
from papersift.model import Paper

WORKERS = 4
_SPAWN = multiprocessing.get_context("spawn")

ONTOLOGY = ("Large language models hallucinate when they align ontologies. We build a benchmark of "
            "ontology matching tasks with hallucination labels, and measure how often systems "
            "built on LLMs propose matches that no expert would accept.")
BIELIK = ("We present Bielik, a family of generative text models for the Polish language. The models "
          "were trained on a curated Polish corpus and evaluated on Polish benchmarks, where they "
          "reach the quality of much larger models while staying cheap to deploy.")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _listing(title: str, authors: list[str], abstract: str, ref: str, **kw: Any) -> dict[str, Any]:
    return {"title": title, "authors": authors, "abstract": abstract,
            "sources": [{"source": kw.pop("source", "listing"), "ref": ref,
                         "seen_at": "2026-01-05T10:00:00Z"}], **kw}


def _variant(title: str, n: int) -> str:
    """The same title as another listing spells it: case, punctuation, spacing."""
    return [title.lower(), title.upper(), title.replace(":", " -"), title + ".",
            title.replace(" ", "  ")][n % 5]


def _records() -> tuple[list[dict[str, Any]], list[tuple[int, int]], list[tuple[int, int]]]:
    """The bundled sample plus look-alikes: (records, (arXiv record, id-less copy) pairs that
    must merge, (record, record) pairs of distinct papers that must not)."""
    text = resources.files("papersift.data").joinpath("sample.jsonl").read_text("utf-8")
    recs = [json.loads(line) for line in text.splitlines() if line.strip()]
    merge: list[tuple[int, int]] = []
    # Copies without an id of papers whose title an authoritative source (HF) gave: the
    # stored title is then HF's whichever copy arrives first.
    hf = [i for i, r in enumerate(recs) if r.get("arxiv_id")
          and {s["source"] for s in r["sources"]} == {"hf"}]
    for n, i in enumerate(hf[:15]):
        r = recs[i]
        recs.append(_listing(_variant(r["title"], n), r["authors"], r["abstract"], f"copies.txt:{n}"))
        merge.append((i, len(recs) - 1))
    # An edited title: neither its title key nor its blocking keys meet the arXiv record's.
    recs.append(_listing("Understanding LLM Hallucinations in Ontology Matching Systems: A Benchmark",
                         ["Zhangcheng Qiang", "Kerry Taylor", "Weiqing Wang"], ONTOLOGY, "arxiv:1",
                         source="arxiv", arxiv_id="2503.21813", published="2025-03-27"))
    recs.append(_listing("Understanding Large Language Model Hallucinations in Ontology Matching "
                         "Systems: A Benchmark", ["Qiang, Zhangcheng", "Taylor, Kerry"], ONTOLOGY,
                         "edited.txt:1"))
    merge.append((len(recs) - 2, len(recs) - 1))
    apart: list[tuple[int, int]] = []
    for a, b, authors_b in [
            ("Bielik v3 Small: Technical Report", "Bielik 11B v2 Technical Report", None),
            ("PolGS: Polarimetric Gaussian Splatting", "PolGS++: Polarimetric Gaussian Splatting", None),
            # one title, other people: two papers (the second gets an id of its own)
            ("Book Review Column", "Book Review Column", ["Mary Jones", "Wei Zhang", "Joe Bloggs"])]:
        authors = ["Krzysztof Ociepa", "Lukasz Flis", "Karl Aberer"]
        recs.append(_listing(a, authors, BIELIK, f"alike.txt:{len(apart)}a"))
        recs.append(_listing(b, authors_b or authors, BIELIK if authors_b is None else "",
                             f"alike.txt:{len(apart)}b"))
        apart.append((len(recs) - 2, len(recs) - 1))
    return recs, merge, apart


def _write_files(root: Path, recs: list[dict[str, Any]], merge: list[tuple[int, int]],
                 apart: list[tuple[int, int]]) -> list[Path]:
    """Four files, every record in two of them; a merging pair's copies and a distinct
    pair's papers in the other two files than their partner, so that which of them lands
    first is up to the race."""
    files: list[list[int]] = [[] for _ in range(WORKERS)]
    partner = {b: a for a, b in merge} | {b: a for a, b in apart}
    for i in range(len(recs)):
        home = partner.get(i, i)
        shift = 2 if i in partner else 0
        for k in (home + shift, home + shift + 1):
            files[k % WORKERS].append(i)
    rng = random.Random(11)
    paths = []
    for k, members in enumerate(files):
        rng.shuffle(members)
        path = root / f"part{k}.jsonl"
        path.write_text("".join(json.dumps(recs[i]) + "\n" for i in members), "utf-8")
        paths.append(path)
    return paths


def _state(store: Any) -> dict[str, Any]:
    """Everything the race could get wrong: each paper's row, its aliases, its provenance.

    Papers are named by their arXiv id, or, without one, by their content: an id-less
    paper's id comes from its title, and of two papers with one title (other people, or
    titles that differ only in punctuation) the one stored first gets it. Which is first
    is import order, as in one process importing the files in another order, not a race."""
    papers = {p.id: p for p in store.iter_papers()}

    def name(pid: str) -> Any:
        p = papers[pid]
        return pid if p.arxiv_id else (p.title, tuple(p.authors), p.abstract)

    aliases: dict[Any, set[str]] = {}
    for a in store.archive_rows("aliases"):
        aliases.setdefault(name(a["paper_id"]), set()).add(a["alias"])
    sources: dict[Any, set[tuple[str, str]]] = {}
    for s in store.archive_rows("paper_sources"):
        sources.setdefault(name(s["paper_id"]), set()).add((s["source"], s["ref"]))
    rows = {name(pid): p.model_dump(exclude={"sources", "id"}) for pid, p in papers.items()}
    assert len(rows) == len(papers)  # no two stored papers alike: no missed merge
    return {"papers": rows, "aliases": aliases, "sources": sources}


def _run(target: Any, args_list: list[tuple[Any, ...]]) -> None:
    procs = [_SPAWN.Process(target=target, args=args) for args in args_list]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0] * len(procs)


def test_four_racing_importers_store_what_one_import_stores(tmp_path, make_store):
    recs, merge, apart = _records()
    files = _write_files(tmp_path, recs, merge, apart)
    for round_ in range(3):  # a race a single run might miss, the next may hit
        name = f"race{round_}"
        location = make_store.location(name)
        make_store(name)  # migrated before the importers connect
        barrier = _SPAWN.Barrier(WORKERS)
        _run(import_worker, [(location, str(f), barrier) for f in files])
        raced = make_store(name)
        single = make_store(f"single{round_}")
        import_paths(single, files, "papers")
        assert _state(raced) == _state(single)
    # ... and that one state is the right one: merges made, look-alikes kept apart
    ids = [Paper.model_validate(r).id for r in recs]
    for a, b in merge:
        assert raced.resolve_id(ids[b]) == ids[a] == recs[a]["arxiv_id"]
    stored = _state(raced)["papers"]
    for a, b in apart:  # two stored papers (named by content: they may share a title id)
        pa, pb = (Paper.model_validate(recs[i]) for i in (a, b))
        assert {(p.title, tuple(p.authors), p.abstract) for p in (pa, pb)} <= set(stored)
    assert raced.count_papers() == len(recs) - len(merge)
    assert raced.count_papers() == len({p.id for p in raced.iter_papers()})


def test_four_racing_import_commands_wait_for_each_other(tmp_path, make_store):
    """`papersift import` holds the job lock: commands started at once run one after
    another (none fails busy, lock_timeout is minutes) and store what one import stores."""
    recs, merge, apart = _records()
    files = _write_files(tmp_path, recs, merge, apart)
    make_store("race")
    env = {**os.environ, "PAPERSIFT_DB": make_store.location("race"),
           "PAPERSIFT_DATA_DIR": str(tmp_path), "PAPERSIFT_CONFIG": str(tmp_path / "none.toml"),
           "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, "-m", "papersift", "import", "--format", "papers",
                               str(f)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for f in files]
    outs = [p.communicate()[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * WORKERS, outs
    single = make_store("single")
    import_paths(single, files, "papers")
    assert _state(make_store("race")) == _state(single)


def test_concurrent_record_day_never_shrinks(make_store):
    store = make_store()
    day = "2025-02-06"
    pool = [f"2502.{i:05d}" for i in range(60)]
    rng = random.Random(6)
    rounds = 8
    plans = [[rng.sample(pool, 15) for _ in range(rounds)] for _ in range(WORKERS)]
    barrier = _SPAWN.Barrier(WORKERS + 1)  # the workers and this test, twice a round
    procs = [_SPAWN.Process(target=day_worker, args=(make_store.location(), day, plan, barrier))
             for plan in plans]
    for p in procs:
        p.start()
    expected: set[str] = set()
    try:
        for r in range(rounds):
            barrier.wait()  # round r starts
            barrier.wait()  # and every worker has written it
            expected |= {pid for plan in plans for pid in plan[r]}
            members = {pid for d, pid, _ in store.day_members() if d == day}
            assert members == expected, f"round {r}"
    except BaseException:
        barrier.abort()  # a failed check releases the workers instead of leaving them waiting
        raise
    finally:
        for p in procs:
            p.join()
    assert [p.exitcode for p in procs] == [0] * WORKERS
