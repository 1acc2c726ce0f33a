"""Queue workers (papersift/workers.py, `papersift worker`) on a real PostgreSQL, against the
loopback OpenAI-shaped server: four worker processes, one SIGKILLed mid-batch, drain the
queue; every paper is enriched once, and what happened is in the runs.

What is exact and what is bounded: every paper ends with exactly one saved enrichment and a
done work item, none failed or lost. Server calls are one per paper, except for the papers
whose request was in flight in the killed worker (its answer died with it): those, and only
those, get a second call, from the worker that re-claimed them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.fake_hf_arxiv import FakeServer
from support.fake_llm import FakeLLM
from support.pdfs import figure_png, html_version, paper_pdf
from typer.testing import CliRunner

from papersift.cli import app
from papersift.config import Settings
from papersift.enrich.llm import make_llm
from papersift.enrich.runner import run_enrich
from papersift.jobs import import_sample, run_daily
from papersift.model import Paper
from papersift.status import queue_status
from papersift.store.rows import DIED
from papersift.workers import WorkerOptions, run_worker

SRC = str(Path(__file__).resolve().parents[1] / "src")
postgres = pytest.mark.parametrize("backend", ["postgres"])


def _env(url: str, fake: FakeLLM) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC, "PAPERSIFT_DB": url, "PAPERSIFT_PROVIDER": "openai",
            "PAPERSIFT_MODEL": "gpt-4o-mini", "PAPERSIFT_BASE_URL": fake.openai_url,
            "PAPERSIFT_LANGUAGES": "en", "PAPERSIFT_EMBEDDER": "none"}


def _settings(fake: FakeLLM, tmp_path: Path, **kw: object) -> Settings:
    return Settings(provider="openai", model="gpt-4o-mini", base_url=fake.openai_url,
                    languages=["en"], embedder="none", data_dir=tmp_path,
                    site_dir=tmp_path / "site", **kw)


def _held_by(store, pid: int) -> list[str]:
    rows = store._all("SELECT paper_id FROM work_items WHERE state = 'pending' AND "
                      "lease_until >= now() AND claimed_by LIKE %s", (f"%:{pid}:%",))
    return [r[0] for r in rows]


@postgres
def test_four_workers_one_sigkilled_every_paper_enriched_once(make_store, tmp_path):
    store = make_store()
    import_sample(store)
    papers = list(store.iter_papers())
    by_title = {p.title: p.id for p in papers}
    assert len(by_title) == len(papers)  # the server tells papers apart by title
    assert store.enqueue("enrich", [p.id for p in papers]) == len(papers)
    url = make_store.location()
    with FakeLLM(latency=0.3) as fake:
        cmd = [sys.executable, "-m", "papersift", "worker", "enrich", "--once",
               "--concurrency", "4", "--lease", "3"]
        procs = [subprocess.Popen(cmd, env=_env(url, fake), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
        victim = procs[0]
        try:
            deadline = time.monotonic() + 120
            while len(fake.calls("enrich")) < 30 and time.monotonic() < deadline:
                time.sleep(0.05)
            # Frozen, its claims can be read before the kill: they are what must come back.
            victim.send_signal(signal.SIGSTOP)
            held = _held_by(store, victim.pid)
            while not held and time.monotonic() < deadline:  # between two batches: next one
                victim.send_signal(signal.SIGCONT)
                time.sleep(0.05)
                victim.send_signal(signal.SIGSTOP)
                held = _held_by(store, victim.pid)
            killed_at = time.monotonic()
            victim.kill()
            victim.wait()
            assert held, "the killed worker held no claim"
            dead_run = next(r.id for r in store.recent_runs(20)
                            if f":{victim.pid}:" in r.params.get("worker", ""))
            while dead_run in store.live_runs() and time.monotonic() < deadline:
                time.sleep(0.05)  # the server ends a killed client's session at once, or nearly
            # A job starting now closes the dead worker's run, not the live workers' runs.
            with store.job_lock("test", 10):
                pass
            live = queue_status(store)
            assert live is not None and len(live.workers) == 3
            outs = [p.communicate(timeout=300) for p in procs[1:]]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        for p, (_out, err) in zip(procs[1:], outs, strict=True):
            assert p.returncode == 0, err
        calls = fake.calls("enrich")

    # Every paper: one saved LLM enrichment, its item done; nothing failed, held or lost.
    enrichments = store.get_enrichments(by_title.values())
    assert len(enrichments) == len(papers)
    assert {e.method for e in enrichments.values()} == {"llm"}
    assert store.queue_depth()["enrich"] == {"pending": 0, "leased": 0, "done": len(papers),
                                             "failed": 0}
    # One call per paper, but for requests in flight in the killed worker: papers it held,
    # their first call sent before the kill, a second one after.
    per_title = {}
    for c in calls:
        per_title.setdefault(by_title[c.title], []).append(c)
    assert set(per_title) == set(by_title.values())
    twice = {pid: cs for pid, cs in per_title.items() if len(cs) > 1}
    assert all(len(cs) == 2 for cs in twice.values())
    assert set(twice) <= set(held)
    assert all(cs[0].at < killed_at < cs[1].at for cs in twice.values())
    assert len(calls) == len(papers) + len(twice)

    # The runs: the killed worker's failed (closed by the job that started after it died),
    # the others ok, and between them they re-claimed what it held.
    runs = [r for r in store.recent_runs(50) if r.kind == "worker-enrich"]
    assert len(runs) == 4
    dead = [r for r in runs if f":{victim.pid}:" in r.params["worker"]]
    assert len(dead) == 1 and dead[0].status == "failed" and dead[0].errors[0] == DIED
    alive = [r for r in runs if r is not dead[0]]
    assert {r.status for r in alive} == {"ok"}
    assert sum(r.counts["reclaimed"] for r in alive) == len(held)
    dead_done = store._one("SELECT count(*) FROM work_items WHERE state = 'done' AND "
                           "claimed_by LIKE %s", (f"%:{victim.pid}:%",))[0]
    assert sum(r.counts["done"] + r.counts["skipped"] for r in alive) + dead_done == len(papers)


@postgres
def test_once_skips_done_papers_and_exits_on_an_empty_queue(make_store, tmp_path):
    store = make_store()
    import_sample(store)
    papers = list(store.iter_papers())[:5]
    with FakeLLM() as fake:
        s = _settings(fake, tmp_path)
        run_enrich(store, papers[:2], make_llm(s), ["en"])
        assert len(fake.calls("enrich")) == 2
        store.enqueue("enrich", [p.id for p in papers])
        rep = run_worker(store, s, WorkerOptions("enrich", concurrency=2, lease=5, once=True))
        assert (rep.claimed, rep.done, rep.skipped, rep.lost) == (5, 3, 2, 0)
        assert len(fake.calls("enrich")) == 5  # the two enriched before: no second call
        again = run_worker(store, s, WorkerOptions("enrich", once=True))
        assert again.claimed == 0 and len(fake.calls("enrich")) == 5
    runs = [r for r in store.recent_runs(10) if r.kind == "worker-enrich"]
    assert [r.status for r in runs] == ["ok", "ok"]
    assert runs[1].counts["done"] == 3 and runs[1].counts["skipped"] == 2


@postgres
def test_a_slow_paper_holds_one_slot_not_the_others(make_store, tmp_path):
    # No round barrier: while the first paper's request hangs, the worker's other slot
    # goes on claiming and finishing the rest of the queue.
    store = make_store()
    import_sample(store)
    papers = sorted(store.iter_papers(), key=lambda p: p.id)[:6]
    with FakeLLM() as fake:
        fake.script(papers[0].title, "slow:5")  # claimed first: the queue is claimed by id
        store.enqueue("enrich", [p.id for p in papers])
        rep = run_worker(store, _settings(fake, tmp_path),
                         WorkerOptions("enrich", concurrency=2, lease=30, once=True))
    assert (rep.claimed, rep.done, rep.lost) == (6, 6, 0) and len(fake.calls("enrich")) == 6
    done = dict(store._all("SELECT paper_id, finished_at FROM work_items WHERE kind = 'enrich'"))
    slow = done.pop(papers[0].id)
    assert all(at < slow for at in done.values())  # all saved while it was in flight


@postgres
def test_a_failing_item_is_retried_then_failed_for_good(make_store, tmp_path):
    store = make_store()
    import_sample(store)
    bad, good = list(store.iter_papers())[:2]
    with FakeLLM() as fake:
        fake.script(bad.title, *["invalid_json"] * 6)  # every try, repair included
        store.enqueue("enrich", [bad.id, good.id])
        s = _settings(fake, tmp_path, worker_max_attempts=2)
        rep = run_worker(store, s, WorkerOptions("enrich", concurrency=2, lease=5, once=True,
                                                 max_attempts=2))
    assert (rep.done, rep.retried, rep.failed) == (1, 1, 1)
    assert "invalid" in rep.failures[bad.id]
    assert store.queue_depth()["enrich"]["failed"] == 1
    assert bad.id in store.failures() and store.get_enrichment(bad.id) is None


def test_worker_on_sqlite_says_it_needs_postgresql(tmp_path):
    res = CliRunner().invoke(app, ["worker", "enrich", "--once"],
                             env={"PAPERSIFT_DB": str(tmp_path / "x.db")})
    assert res.exit_code == 1
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "PostgreSQL" in lines[0] and "papersift run" in lines[0]


@postgres
def test_run_queues_for_workers_and_status_shows_the_queue(make_store, tmp_path):
    store = make_store()
    import_sample(store)
    day = max(d for d, _ in store.days())
    todo = store.papers_for_day(day)
    with FakeLLM() as fake:
        rep = run_daily(store, _settings(fake, tmp_path), day, collect=False,
                        site_dir=tmp_path / "site")
        assert fake.calls() == []  # queued, not enriched in-process
        assert rep.published
        assert any(f"{len(todo)} newly queued" in line for line in rep.lines)
        res = CliRunner().invoke(app, ["status", "--json", "--since", str(day)],
                                 env=_env(make_store.location(), fake))
    assert res.exit_code == 0, res.output
    queue = json.loads(res.output)["queue"]
    assert queue["depth"]["enrich"] == {"pending": len(todo), "leased": 0, "done": 0, "failed": 0}
    assert queue["workers"] == []


@postgres
def test_images_worker_makes_each_papers_images_once(make_store, tmp_path):
    store = make_store()
    good, gone = "2502.00001", "2502.00005"
    store.upsert_papers([Paper(arxiv_id=i, title=f"Paper {i}", abstract="x") for i in (good, gone)])
    with FakeServer() as server:
        server.add_pdf(good, paper_pdf())
        server.add_html(good, html_version(good, "Overview."), {"x1.png": figure_png(1)})
        store.enqueue("images", [good, gone])
        s = Settings(arxiv_web_url=server.url, data_dir=tmp_path, embedder="none")
        rep = run_worker(store, s, WorkerOptions("images", concurrency=2, lease=10, once=True))
        pdfs = [r.path for r in server.log if r.path.startswith("/pdf/")]
    # the missing PDF (404) failed once, went back, and was found done (its failure is
    # recorded for good) on the next claim
    assert (rep.done, rep.retried, rep.failed, rep.lost) == (2, 1, 0, 0)
    assert store.queue_depth()["images"] == {"pending": 0, "leased": 0, "done": 2, "failed": 0}
    assert store.get_images([good])[good]["title"].file
    assert store.get_paper(good).affiliations  # read from the same download
    assert pdfs.count(f"/pdf/{good}") == 1


@postgres
def test_sigterm_gives_the_claims_back_and_ends_the_run_cleanly(make_store):
    store = make_store()
    import_sample(store)
    ids = [p.id for p in list(store.iter_papers())[:3]]
    store.enqueue("enrich", ids)
    with FakeLLM(latency=30) as fake:  # every request outlasts the test
        proc = subprocess.Popen([sys.executable, "-m", "papersift", "worker", "enrich",
                                 "--concurrency", "3", "--lease", "60"],
                                env=_env(make_store.location(), fake), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while len(fake.calls("enrich")) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sorted(_held_by(store, proc.pid)) == sorted(ids)
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 143, err
    assert "3 released" in out and "stopped: SIGTERM" in out
    rows = store._all("SELECT state, claimed_by, attempts FROM work_items WHERE kind = 'enrich'")
    assert rows == [("pending", None, 0)] * 3  # back in the queue, the try not counted
    run = next(r for r in store.recent_runs(5) if r.kind == "worker-enrich")
    assert run.status == "ok" and run.counts["released"] == 3
    assert run.counts["stopped"] == "SIGTERM"
