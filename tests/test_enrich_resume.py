"""A real `papersift enrich` process killed mid-run, then run again: it resumes, enriching
each paper once (only calls that were in flight at the kill are repeated) and losing none."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter

from support.fake_llm import FakeLLM

from papersift.model import Paper
from papersift.store import open_store

N = 12
CONCURRENCY = 2


def _cmd(data_dir, url):
    return [sys.executable, "-c", "from papersift.cli import app; app()", "enrich",
            "--data-dir", str(data_dir), "--provider", "openai", "--model", "fake-model",
            "--base-url", url, "--concurrency", str(CONCURRENCY)]


def _env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PAPERSIFT_") and k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    return env


def _enriched(db) -> set[str]:
    con = sqlite3.connect(db, timeout=30)
    try:
        return {r[0] for r in con.execute("SELECT paper_id FROM enrichments")}
    finally:
        con.close()


def test_killed_run_resumes_without_redoing_or_losing_papers(tmp_path):
    data = tmp_path / "d"
    s = open_store(data / "papersift.db")
    papers = [Paper(id=f"2504.{i:05d}", title=f"Resumable paper {i} on agents",
                    abstract="We build agents that plan with tools. They beat baselines.")
              for i in range(N)]
    s.upsert_papers(papers)
    s.close()
    with FakeLLM(latency=0.4) as fake:
        proc = subprocess.Popen(_cmd(data, fake.openai_url), cwd=tmp_path, env=_env(),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        before: set[str] = set()
        while time.monotonic() < deadline and len(before) < 4:
            time.sleep(0.1)
            before = _enriched(data / "papersift.db")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        before = _enriched(data / "papersift.db")
        assert 4 <= len(before) < N, "the kill should land mid-run"
        calls_before = len(fake.calls("enrich"))

        out = subprocess.run(_cmd(data, fake.openai_url), cwd=tmp_path, env=_env(),
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        assert _enriched(data / "papersift.db") == {p.id for p in papers}
        per_title = Counter(r.title for r in fake.calls("enrich"))
        done_titles = {p.title for p in papers if p.id in before}
        # Papers saved before the kill were not asked again.
        assert all(per_title[t] == 1 for t in done_titles)
        # At most the requests in flight at the kill were repeated.
        assert len(fake.calls("enrich")) <= N + CONCURRENCY
        assert len(fake.calls("enrich")) - calls_before == N - len(before)
        assert f"{len(before)} already done" in out.stdout
