"""Coverage and backfill end to end: what HF listed beside what was stored, per day; `status`,
`status --check` and status.html tell the truth; a run after a 3-day outage fills the
3 days in; a kill midway is completed by the next run. Real CLI, loopback HF server."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from support.fake_hf_arxiv import FakeServer, hf_paper
from typer.testing import CliRunner

from papersift.cli import app
from papersift.store import open_store

runner = CliRunner()
# Mon 2025-02-03 .. Fri 2025-02-07, then Mon 2025-02-10
WEEK = ["2025-02-03", "2025-02-04", "2025-02-05", "2025-02-06", "2025-02-07", "2025-02-10"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for k in ("HF_TOKEN", "PAPERSIFT_HF_TOKEN", "PAPERSIFT_CONFIG", "PAPERSIFT_DB",
              "PAPERSIFT_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("PAPERSIFT_EMBEDDER", "none")
    with FakeServer() as s:
        monkeypatch.setenv("PAPERSIFT_HF_BASE_URL", s.url)
        # images and links of the collected days go to the same loopback server, never out
        monkeypatch.setenv("PAPERSIFT_ARXIV_WEB_URL", s.url)
        monkeypatch.setenv("PAPERSIFT_GITHUB_API_URL", s.url)
        for n, day in enumerate(WEEK):
            s.add_hf_day(day, [hf_paper(f"2502.{n}{i:04d}", f"Paper {n}-{i} on topic {i}", day=day,
                                        upvotes=i) for i in range(3 + n)])
        yield s, tmp_path


def cli(tmp, *args: str):
    return runner.invoke(app, [*args, "--data-dir", str(tmp / "data")],
                         env={"PAPERSIFT_SITE_DIR": str(tmp / "site"), "COLUMNS": "250"})


def test_status_tells_expected_collected_enriched_and_published(env):
    server, tmp = env
    server.hf_days["2025-02-04"].append({"paper": {"title": "no id"}, "title": "no id"})  # bad record
    r = cli(tmp, "run", "--date", "2025-02-04")
    assert r.exit_code == 0, r.output
    r = cli(tmp, "status", "--since", "2025-02-01", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    day = {d["day"]: d for d in data["days"]}["2025-02-04"]
    # HF listed 5 records, one unusable: 4 collected, all enriched offline and published
    assert day["expected"] == 5 and day["collected"] == 4
    assert day["enriched"] == {"offline": 4} and day["published"] == 4
    assert day["complete"] is False and day["problems"] == ["collected 4 of the 5 HF listed"]
    with open_store(tmp / "data" / "papersift.db") as st:
        newest = st.recent_runs(1)[0]
    assert (data["last_run"]["id"], data["last_run"]["kind"]) == (newest.id, newest.kind)
    html = (tmp / "site" / "status.html").read_text(encoding="utf-8")
    assert "2025-02-04" in html and "collected 4 of the 5 HF listed" in html


def test_check_flags_a_missed_weekday_and_run_backfills_it(env):
    server, tmp = env
    assert cli(tmp, "run", "--date", "2025-02-04").exit_code == 0
    # the schedule is down Wed-Fri; Monday's run fills in the 3 days
    r = cli(tmp, "run", "--date", "2025-02-10")
    assert r.exit_code == 0, r.output
    assert "collect: 6 days (2025-02-05 .. 2025-02-10)" in " ".join(r.output.split())
    asked = [q.query.get("date") for q in server.requests_to("/api/daily_papers")]
    assert asked == ["2025-02-04", "2025-02-05", "2025-02-06", "2025-02-07", "2025-02-08",
                     "2025-02-09", "2025-02-10"]
    with open_store(tmp / "data" / "papersift.db") as s:
        for n, day in enumerate(WEEK[1:], 1):
            assert len(s.papers_for_day(dt.date.fromisoformat(day))) == 3 + n
    r = cli(tmp, "status", "--since", "2025-02-04", "--json")
    days = {d["day"]: d for d in json.loads(r.output)["days"]}
    assert all(days[d]["complete"] for d in WEEK[1:]), days
    # a third run has nothing left to fill in: only its own day is asked for
    before = len(server.requests_to("/api/daily_papers"))
    assert cli(tmp, "run", "--date", "2025-02-10").exit_code == 0
    assert [q.query.get("date") for q in server.requests_to("/api/daily_papers")[before:]] == ["2025-02-10"]


def test_check_exit_code(env, monkeypatch):
    server, tmp = env
    assert cli(tmp, "run", "--date", "2025-02-04").exit_code == 0
    today = dt.datetime.now(dt.UTC).date()
    r = cli(tmp, "status", "--check", "--days", "3")
    # nothing was collected in the last 3 days before today (the fixture's days are in 2025)
    weekdays = [today - dt.timedelta(days=i) for i in (1, 2, 3)]
    if any(d.weekday() < 5 for d in weekdays):
        assert r.exit_code == 1
        assert "never collected from Hugging Face" in r.output
    # collect the recent days (copies of the fixture's day): then the check passes
    for d in weekdays:
        server.add_hf_day(d.isoformat(), [hf_paper(f"2601.{d.day:02d}{i:03d}", f"Recent {d} {i}",
                                                   day=d.isoformat()) for i in range(2)])
    r = cli(tmp, "run", "--date", today.isoformat(), "--since", weekdays[-1].isoformat())
    assert r.exit_code == 0, r.output
    r = cli(tmp, "status", "--check", "--days", "3")
    assert r.exit_code == 0, r.output
    assert "the last 3 days are complete" in r.output


def test_a_failed_listing_records_no_coverage_and_the_next_run_fills_it(env):
    from support.fake_hf_arxiv import Fault
    server, tmp = env
    assert cli(tmp, "run", "--date", "2025-02-03").exit_code == 0
    server.fail_next("/api/daily_papers", *[Fault.status(500)] * 12)  # 2025-02-04 is down for good
    r = cli(tmp, "run", "--date", "2025-02-04")
    assert r.exit_code == 0  # published what it had
    assert "warning: collect 2025-02-04" in " ".join(r.output.split())
    data = json.loads(cli(tmp, "status", "--since", "2025-02-03", "--json").output)
    assert "2025-02-04" not in {d["day"] for d in data["days"]}
    server.faults.clear()
    r = cli(tmp, "run", "--date", "2025-02-05")
    assert r.exit_code == 0, r.output
    data = json.loads(cli(tmp, "status", "--since", "2025-02-03", "--json").output)
    days = {d["day"]: d for d in data["days"]}
    assert days["2025-02-04"]["collected"] == 4 and days["2025-02-04"]["complete"]
