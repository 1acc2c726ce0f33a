"""Faults injected end to end (issue: never lose a day).

- SIGKILL at seeded random moments of import, collect, enrich, images, index and build, then a
  rerun: the SQLite file is intact, no paper lost or doubled, nothing enriched before the
  kill bought again, the site equal to a clean build (support/faults.py).
- A write that fails with ENOSPC or EIO, in the site's files or in the database: one clear
  line, the previous site and store intact.
- HF and LLM servers that fail at random for a whole `run`: the run publishes what it got and
  says what it missed; the next run fills it in.
"""

from __future__ import annotations

import errno
import json
import os
import random
import sqlite3

import pytest
from support.fake_hf_arxiv import FakeServer, Fault, hf_paper
from support.fake_llm import FakeLLM
from support.faults import Harness, table
from typer.testing import CliRunner

from papersift.cli import app
from papersift.site import output
from papersift.store import open_store

TRIALS = 20
SEED = 7
runner = CliRunner()


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    h = Harness(tmp_path_factory.mktemp("faults"))
    try:
        h.prepare()
        yield h
    finally:
        h.close()


@pytest.mark.timeout(2400)
def test_sigkill_then_rerun_recovers(harness):
    outcomes = [harness.trial(i, SEED) for i in range(TRIALS)]
    print("\n" + table(outcomes))
    assert sum(o.killed for o in outcomes) >= TRIALS // 2  # most kills land mid-work
    assert {o.stage for o in outcomes} == {"import", "collect", "enrich", "images", "index", "build"}
    bad = [o for o in outcomes if not o.recovered]
    assert not bad, table(bad)


# -- ENOSPC / EIO ------------------------------------------------------------------------

def _env(tmp, **extra):
    return {"PAPERSIFT_DATA_DIR": str(tmp / "data"), "PAPERSIFT_SITE_DIR": str(tmp / "site"),
            "PAPERSIFT_EMBEDDER": "none", "PAPERSIFT_PROVIDER": "", "COLUMNS": "200", **extra}


def _site_tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
def test_a_failing_site_write_leaves_the_previous_site(tmp_path, monkeypatch, code):
    from support.site_fixture import open_site_store
    open_site_store(tmp_path / "data" / "papersift.db").close()
    assert runner.invoke(app, ["build"], env=_env(tmp_path)).exit_code == 0
    before = _site_tree(tmp_path / "site")
    with open_store(tmp_path / "data" / "papersift.db") as s:  # a change the next build writes
        s.upsert_papers([s.get_paper("2502.00001").model_copy(update={"title": "Retitled paper"})])
    real = output._write_fd  # every page write of the site goes through it
    calls = {"n": 0}

    def failing(fd, data):
        calls["n"] += 1
        if calls["n"] == 30:
            os.close(fd)
            raise OSError(code, os.strerror(code))
        return real(fd, data)

    monkeypatch.setattr(output, "_write_fd", failing)
    r = runner.invoke(app, ["build", "--full"], env=_env(tmp_path))
    assert r.exit_code == 1
    err = " ".join(r.output.split())
    assert err.count("error:") == 1 and "cannot write the site" in err and "Traceback" not in r.output
    assert calls["n"] >= 30
    assert _site_tree(tmp_path / "site") == before  # a full build replaces all or nothing
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]  # no debris


def test_a_full_database_fails_the_import_and_keeps_the_store(tmp_path, monkeypatch):
    from papersift.jobs import sample_path
    from papersift.store.sqlite import core
    data = tmp_path / "data"
    r = runner.invoke(app, ["import", str(sample_path())], env=_env(tmp_path))
    assert r.exit_code == 0
    db = data / "papersift.db"
    conn = sqlite3.connect(db)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    before = conn.execute("SELECT count(*) FROM papers").fetchone()[0]
    conn.close()
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps({"id": f"2502.{i:05d}", "title": f"New paper {i}",
                                       "summary": "x " * 2000, "date": "2025-02-03"}) + "\n"
                           for i in range(3000)))
    # SQLite says "database or disk is full" (SQLITE_FULL) exactly as on ENOSPC: cap the file
    # a few pages above its size, on every connection the import opens.
    real_init = core.SQLiteBase.__init__

    def capped(self, path):
        real_init(self, path)
        self.conn.execute(f"PRAGMA max_page_count={pages + 20}")

    monkeypatch.setattr(core.SQLiteBase, "__init__", capped)
    r = runner.invoke(app, ["import", str(big)], env=_env(tmp_path))
    monkeypatch.undo()
    assert r.exit_code == 1, r.output
    err = " ".join(r.output.split())
    assert "error:" in err and "full" in err and "Traceback" not in r.output
    with open_store(db) as s:
        assert s.count_papers() == before  # the sample, not one paper of the failed import
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- flaky servers for a whole run ---------------------------------------------------------

def test_flaky_servers_for_a_whole_run_then_the_next_run_fills_in(tmp_path):
    rng = random.Random(11)
    days = ["2025-03-03", "2025-03-04", "2025-03-05"]
    with FakeServer() as hf, FakeLLM() as llm:
        for n, day in enumerate(days):
            hf.add_hf_day(day, [hf_paper(f"2503.{n}{i:04d}", f"Flaky day paper {n}-{i}", day=day)
                                for i in range(6)])
        faults = [Fault.status(429, {"Retry-After": "0"}), Fault.status(503), Fault.truncated(),
                  Fault.raw(b'{"not": "a list"'), Fault.slow(0.3)]
        hf.fail_next("/api/daily_papers", *[rng.choice(faults) for _ in range(40)])
        for n in range(3):
            for i in range(6):
                llm.script(f"Flaky day paper {n}-{i}", *rng.choices(["500", "invalid_json", "truncated",
                                                                      "valid"], k=rng.randint(0, 6)))
        env = _env(tmp_path, PAPERSIFT_HF_BASE_URL=hf.url, PAPERSIFT_ARXIV_WEB_URL=hf.url, PAPERSIFT_PROVIDER="openai",
                   PAPERSIFT_BASE_URL=llm.openai_url, PAPERSIFT_API_KEY="k", PAPERSIFT_MODEL="gpt-4o-mini",
                   PAPERSIFT_LANGUAGES="en", PAPERSIFT_BACKFILL_DAYS="3")
        first = runner.invoke(app, ["run", "--date", days[-1], "--since", days[0]], env=env)
        assert first.exit_code == 0, first.output  # published what it could
        status = json.loads(runner.invoke(app, ["status", "--since", days[0], "--json"], env=env).output)
        hf.faults.clear()
        llm._scripts.clear()
        second = runner.invoke(app, ["run", "--date", days[-1]], env=env)
        assert second.exit_code == 0, second.output
        after = json.loads(runner.invoke(app, ["status", "--since", days[0], "--json"], env=env).output)
    first_out = " ".join(first.output.split())
    incomplete = [d for d in status["days"] if not d["complete"]]
    # the faults cost the first run something, and it said so
    assert incomplete or "warning:" in first_out or "failed" in first_out
    by_day = {d["day"]: d for d in after["days"]}
    assert [by_day[d]["complete"] for d in days] == [True, True, True], after["days"]
    assert all(by_day[d]["collected"] == 6 for d in days)
