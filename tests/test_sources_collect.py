"""`papersift collect hf|arxiv` end to end: real CLI, loopback APIs, a real SQLite file."""

from __future__ import annotations

import datetime as dt

import pytest
from support.fake_hf_arxiv import FakeServer, Fault, arxiv_entry, hf_paper
from typer.testing import CliRunner

from papersift.cli import app
from papersift.store import Store, open_store

D6, D7 = "2025-02-06", "2025-02-07"
PATH = "/api/daily_papers"
runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray papersift.toml
    for k in ("HF_TOKEN", "PAPERSIFT_HF_TOKEN", "PAPERSIFT_CONFIG", "PAPERSIFT_DB"):
        monkeypatch.delenv(k, raising=False)
    with FakeServer() as s:
        monkeypatch.setenv("PAPERSIFT_HF_BASE_URL", s.url)
        monkeypatch.setenv("PAPERSIFT_ARXIV_BASE_URL", s.url)
        s.add_hf_day(D6, [hf_paper(f"2502.0000{i}", f"Paper {i}", day=D6, upvotes=i) for i in (1, 2, 3)])
        yield s, tmp_path / "data"


def cli(data_dir, *args: str):
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    return result


def one_message(stderr: str) -> str:
    """The single error message; rich wraps it at the terminal width, so unwrap first."""
    assert stderr.count("error:") == 1, stderr
    return " ".join(stderr.split())


def store(data_dir) -> Store:
    return open_store(data_dir / "papersift.db")


def test_collect_day_is_idempotent_and_recorded_as_a_run(env):
    server, data = env
    r = cli(data, "collect", "hf", "--date", D6)
    assert r.exit_code == 0, r.output
    with store(data) as s:
        assert {p.id for p in s.papers_for_day(dt.date(2025, 2, 6))} == {
            "2502.00001", "2502.00002", "2502.00003"}
        run = s.recent_runs(1)[0]
        assert (run.kind, run.status, run.params) == ("collect-hf", "ok", {"date": D6})
        assert run.counts["inserted"] == 3 and run.counts["fetched"] == 3
    r = cli(data, "collect", "hf", "--date", D6)
    assert r.exit_code == 0
    with store(data) as s:
        counts = s.recent_runs(1)[0].counts
        assert (counts["inserted"], counts["updated"], counts["unchanged"]) == (0, 0, 3)
    # More upvotes later: an update, not a new paper.
    server.hf_days[D6][0]["paper"]["upvotes"] = 50
    cli(data, "collect", "hf", "--date", D6)
    with store(data) as s:
        assert s.recent_runs(1)[0].counts["updated"] == 1
        assert s.get_paper("2502.00001").upvotes == 50


def test_day_that_loses_a_paper_is_not_shrunk_and_the_move_is_recorded(env):
    server, data = env
    assert cli(data, "collect", "hf", "--date", D6).exit_code == 0
    # HF moves paper 3 to the next day.
    moved = server.hf_days[D6].pop()
    server.add_hf_day(D7, [hf_paper("2502.00003", "Paper 3", day=D7, upvotes=3),
                           hf_paper("2502.00004", "Paper 4", day=D7)])
    assert moved["paper"]["id"] == "2502.00003"
    assert cli(data, "collect", "hf", "--date", D6).exit_code == 0
    with store(data) as s:
        assert len(s.papers_for_day(dt.date(2025, 2, 6))) == 3  # merged, never shrunk
    r = cli(data, "collect", "hf", "--date", D7)
    assert r.exit_code == 0, r.output
    assert "moved: 2502.00003 from 2025-02-06 to 2025-02-07" in r.output
    with store(data) as s:
        assert s.moved_papers(dt.date(2025, 2, 6)) == {"2502.00003": D7}
        assert {p.id for p in s.papers_for_day(dt.date(2025, 2, 7))} == {"2502.00003", "2502.00004"}
        assert s.recent_runs(1)[0].counts["moved"] == 1


def test_week_records_each_paper_on_its_day(env):
    server, data = env
    server.add_hf_day(D7, [hf_paper("2502.00009", "Friday", day=D7)])
    assert cli(data, "collect", "hf", "--week", "2025-W06").exit_code == 0
    with store(data) as s:
        assert [p.id for p in s.papers_for_day(dt.date(2025, 2, 7))] == ["2502.00009"]
        assert len(s.papers_for_day(dt.date(2025, 2, 6))) == 3
        assert s.recent_runs(1)[0].counts["days"] == 2


def test_weekend_is_not_an_error(env):
    _, data = env
    r = cli(data, "collect", "hf", "--date", "2025-02-08")
    assert r.exit_code == 0
    assert "no papers for this period" in r.output
    with store(data) as s:
        assert s.recent_runs(1)[0].status == "ok" and s.count_papers() == 0


def test_failure_keeps_what_was_fetched_and_says_one_line(env):
    server, data = env
    server.fail_next(PATH, Fault.ok(), Fault.status(500), Fault.status(500))
    r = cli(data, "collect", "hf", "--date", D6, "--page-size", "2", "--retries", "1")
    assert r.exit_code == 1
    err = one_message(r.stderr)
    assert err.startswith("error: GET ") and "failed after 2 attempts: HTTP 500" in err
    assert "p=1" in err
    with store(data) as s:
        run = s.recent_runs(1)[0]
        assert run.status == "failed" and "HTTP 500" in run.errors[0]
        # The first page arrived whole and stays, with its day.
        assert {p.id for p in s.papers_for_day(dt.date(2025, 2, 6))} == {"2502.00001", "2502.00002"}


def test_bad_record_is_skipped_and_named(env):
    server, data = env
    del server.hf_days[D6][1]["paper"]["id"]
    r = cli(data, "collect", "hf", "--date", D6)
    assert r.exit_code == 0
    assert "skipped:" in r.output and "item 1: no paper id" in r.output
    with store(data) as s:
        assert s.count_papers() == 2 and s.recent_runs(1)[0].status == "partial"


@pytest.mark.parametrize("args,msg", [
    (["collect", "hf", "--date", "2025-02-31"], "--date '2025-02-31': not a date"),
    (["collect", "hf"], "exactly one of"),
    (["collect", "hf", "--week", "W6"], "YYYY-Www"),
    (["collect", "arxiv", "--ids", "2502.00001", "nonsense"], "not an arXiv id: 'nonsense'"),
    (["collect", "arxiv", "--category", "cs.CL"], "--from YYYY-MM-DD is required"),
])
def test_bad_arguments_are_one_clear_line(env, args, msg):
    server, data = env
    r = cli(data, *args)
    assert r.exit_code != 0
    assert msg in one_message(r.stderr)
    assert server.log == []


def test_hf_search_and_paper(env):
    server, data = env
    assert cli(data, "collect", "hf", "--search", "paper 2").exit_code == 0
    r = cli(data, "collect", "hf", "--paper", "https://huggingface.co/papers/2502.00003",
            "--paper", "2502.99999")
    assert r.exit_code == 0 and "not found on Hugging Face" in r.output
    with store(data) as s:
        assert {p.id for p in s.iter_papers()} == {"2502.00002", "2502.00003"}


def test_collect_arxiv_ids_and_category(env):
    server, data = env
    server.add_arxiv(arxiv_entry("2502.02671", "Some language paper", published="2025-02-04",
                                 categories=["cs.CL"]),
                     arxiv_entry("hep-th/9901001", "Old paper", published="1999-01-04",
                                 categories=["hep-th"]),
                     arxiv_entry("2502.00001", "Paper 1", published="2025-02-02",
                                 categories=["cs.CL"]))
    r = cli(data, "collect", "arxiv", "--ids", "arXiv:2502.02671v2", "hep-th/9901001",
            "--min-interval", "0")
    assert r.exit_code == 0, r.output
    r = cli(data, "collect", "arxiv", "--category", "cs.CL", "--from", "2025-02-01", "--to",
            "2025-02-03", "--min-interval", "0")
    assert r.exit_code == 0, r.output
    with store(data) as s:
        assert s.get_paper("hep-th/9901001").title == "Old paper"
        assert s.get_paper("2502.02671").primary_category == "cs.CL"
        runs = s.recent_runs(2)
        assert [r.kind for r in runs] == ["collect-arxiv", "collect-arxiv"]
        assert runs[0].params == {"category": "cs.CL", "from": "2025-02-01", "to": "2025-02-03"}
        assert runs[0].counts["inserted"] == 1
