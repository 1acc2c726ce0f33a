"""`papersift serve` as a user starts it: a real subprocess on loopback, in one process and
with a worker process per core (`--workers 2`), answering the API and the site."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.serve import start_serve
from support.site_fixture import open_site_store


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces, so split after the ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_search_and_site(tmp_path, workers):
    open_site_store(tmp_path / "papersift.db").close()
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(tmp_path), "PAPERSIFT_EMBEDDER": "hash",
           "PAPERSIFT_SITE_DIR": str(tmp_path / "site")}
    proc, base = start_serve(env, tmp_path, "--workers", str(workers))
    try:
        with httpx.Client(base_url=base, timeout=10) as c:
            for _ in range(3 * workers):  # several connections: every worker answers alike
                with httpx.Client(base_url=base, timeout=10) as fresh:
                    r = fresh.get("/api/search", params={"q": "diffusion", "tags": "rl", "from": "2025-02-06"})
                    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
                    got = r.json()
                    assert got["results"] and all("rl" in x["tags"] for x in got["results"])
                    assert all(x["day"] >= "2025-02-06" for x in got["results"])
            assert c.get("/api/search", params={"q": "x" * 300}).status_code == 422
            assert "<html" in c.get("/").text.lower()
        kids = _children(proc.pid)
        if workers > 1:
            searchers = [k for k in kids if b"resource_tracker" not in Path(f"/proc/{k}/cmdline").read_bytes()]
            assert len(searchers) == workers
            # A search process that dies (OOM killer, a crash) is replaced; the others answer.
            os.kill(searchers[0], signal.SIGKILL)
            time.sleep(0.5)
            with httpx.Client(base_url=base, timeout=30) as c:
                codes = [c.get("/api/search", params={"q": f"policy {i}"}).status_code for i in range(6)]
            assert codes == [200] * 6  # the job sent to the dead process went to the other one
            deadline = time.monotonic() + 60
            while len(_children(proc.pid)) < len(kids) and time.monotonic() < deadline:
                time.sleep(0.2)
            kids = _children(proc.pid)
            assert len(kids) >= workers
            with httpx.Client(base_url=base, timeout=30) as c:
                assert all(c.get("/api/search", params={"q": "robot"}).status_code == 200 for _ in range(6))
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert f"{workers} search process" in out
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{k}").exists() for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [k for k in kids if Path(f"/proc/{k}").exists()], "search processes outlived the server"


def test_pool_replaces_a_hung_search_process(tmp_path, monkeypatch):
    """A search process that stops answering (here: SIGSTOP) is killed by the watchdog after
    REPLY_TIMEOUT; its job is retried on the other process and the slot is refilled."""
    import asyncio

    from papersift.api import pool as pool_mod
    from papersift.config import Settings

    open_site_store(tmp_path / "papersift.db").close()
    settings = Settings(data_dir=tmp_path, embedder="hash")
    monkeypatch.setattr(pool_mod, "REPLY_TIMEOUT", 1.0)
    monkeypatch.setattr(pool_mod, "RELOAD_TIMEOUT", 1.0)  # one may be stopped mid-refresh
    pool = pool_mod.SearchPool({"settings": settings.model_dump(mode="json")}, 2)
    try:
        pool.warm()
        params = {"q": "robot", "tags": [], "mode": "or", "from": None, "to": None,
                  "min_upvotes": None, "sort": "relevance", "limit": 5, "offset": 0}

        async def run() -> list[bytes]:
            first = await pool.search(params)  # starts the slot tasks and the watchdog
            os.kill(pool.slots[0][0].pid, signal.SIGSTOP)
            os.kill(pool.slots[1][0].pid, signal.SIGSTOP)  # both hung: retries must wait
            got = await asyncio.gather(*(pool.search(params) for _ in range(4)))
            return [first, *got]

        bodies = asyncio.run(run())
        assert all(b'"results"' in b for b in bodies)
        assert all(p.is_alive() for p, _ in pool.slots)  # replacements are up
    finally:
        pool.close()


def test_pool_warm_checks_what_a_search_process_says():
    """warm() raises a SearchError naming the process for a wrong first message and for a
    process that exits while loading (a check that `python -O` keeps)."""
    import multiprocessing
    from types import SimpleNamespace

    from papersift.api.pool import SearchError, SearchPool

    pool = SearchPool.__new__(SearchPool)  # no processes: the connection is ours
    mine, theirs = multiprocessing.Pipe()
    pool.slots = [(SimpleNamespace(pid=4242), mine)]
    theirs.send("hello")
    with pytest.raises(SearchError, match=r"4242 sent 'hello' instead of 'ready'"):
        pool.warm(timeout=5)
    theirs.close()
    with pytest.raises(SearchError, match="4242 exited while loading"):
        pool.warm(timeout=5)
    mine.close()


def test_serve_hybrid_in_search_processes(tmp_path):
    """With vectors indexed, every search process loads the embedder once (warmed before it
    says ready) and answers hybrid searches; a repeated query gets the same answer."""
    open_site_store(tmp_path / "papersift.db").close()
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(tmp_path), "PAPERSIFT_EMBEDDER": "hash",
           "PAPERSIFT_SITE_DIR": str(tmp_path / "site")}
    subprocess.run([sys.executable, "-m", "papersift", "index"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    proc, base = start_serve(env, tmp_path, "--workers", "2")
    try:
        answers = []
        for _ in range(4):  # fresh connections: both search processes answer
            with httpx.Client(base_url=base, timeout=10) as c:
                r = c.get("/api/search", params={"q": "diffusion policy"})
                assert r.status_code == 200
                answers.append(r.json())
        assert all(a["engine"] == "hybrid" and a["semantic_coverage"] == 1.0 and a["results"]
                   for a in answers)
        assert len({tuple((x["id"], x["score"]) for x in a["results"]) for a in answers}) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_search_process_builds_the_bm25_index_in_a_child(tmp_path):
    """A search process loads its BM25 index from the cache file a child process wrote, at
    start and after the papers changed, so the build's garbage never enters its heap."""
    import datetime as dt

    from papersift.api import pool as pool_mod
    from papersift.config import Settings
    from papersift.model import Paper
    from papersift.search.engine import SearchQuery

    store = open_site_store(tmp_path / "papersift.db")
    settings = Settings(data_dir=tmp_path, embedder="none")
    state = pool_mod._init({"settings": settings.model_dump(mode="json")})
    engine = state["engine"]
    idx = engine.bm25()
    assert (tmp_path / "bm25-index.npz").exists() and idx.build_seconds == 0  # loaded, not built
    assert pool_mod._refresh(state) is False  # nothing changed: no child, no reload
    store.upsert_papers([Paper(arxiv_id="2503.00001", title="Quokka census", abstract="Quokkas.",
                               published=dt.date(2025, 3, 1))])
    assert pool_mod._refresh(state) is True
    new = engine.bm25()
    assert len(new) == len(idx) + 1 and new.build_seconds == 0
    assert [h.paper.title for h in engine.search(SearchQuery(q="quokka")).hits] == ["Quokka census"]
    store.close()
    engine.store.close()
