"""`papersift run` (offline: collect skipped) and `papersift build` through the real CLI."""

from __future__ import annotations

from support.site_fixture import open_site_store
from typer.testing import CliRunner

from papersift.cli import app


def _env(tmp_path):
    return {"PAPERSIFT_DATA_DIR": str(tmp_path / "data"), "PAPERSIFT_SITE_DIR": str(tmp_path / "site"),
            "PAPERSIFT_PROVIDER": "offline", "PAPERSIFT_EMBEDDER": "none",
            "PAPERSIFT_CONFIG": str(tmp_path / "none.toml")}


def test_run_twice_is_idempotent(tmp_path):
    open_site_store(tmp_path / "data" / "papersift.db").close()
    runner = CliRunner()
    first = runner.invoke(app, ["run", "--offline", "--date", "2025-02-05"], env=_env(tmp_path))
    assert first.exit_code == 0, first.output
    assert "run: published" in first.output
    assert (tmp_path / "site" / "d" / "2025-02-05.html").is_file()
    # the un-enriched paper of that day got an offline enrichment, marked as such
    assert "offline summary" in (tmp_path / "site" / "p" / "2502.00005.html").read_text()
    status = tmp_path / "site" / "status.html"
    pages = {p: p.stat().st_mtime_ns for p in (tmp_path / "site").rglob("*.html") if p != status}
    second = runner.invoke(app, ["run", "--offline", "--date", "2025-02-05"], env=_env(tmp_path))
    assert second.exit_code == 0, second.output
    assert "0 enriched with 0 calls" in second.output
    assert " 0 written" in second.output
    # every page is as it was, but the status page, which reports the last run
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "site").rglob("*.html") if p != status} == pages
    assert "Last run:" in status.read_text(encoding="utf-8")


def test_run_fails_when_nothing_can_be_published(tmp_path):
    open_site_store(tmp_path / "data" / "papersift.db").close()
    (tmp_path / "site").write_text("a file where the site dir should be")
    res = CliRunner().invoke(app, ["run", "--offline", "--date", "2025-02-05"], env=_env(tmp_path))
    assert res.exit_code != 0
    assert "nothing could be published" in res.output


def test_build_command_reports_and_bad_date_is_one_line(tmp_path):
    open_site_store(tmp_path / "data" / "papersift.db").close()
    res = CliRunner().invoke(app, ["build"], env=_env(tmp_path))
    assert res.exit_code == 0, res.output
    assert "full build" in res.output and "papersift serve" in res.output
    bad = CliRunner().invoke(app, ["run", "--date", "2025-13-40"], env=_env(tmp_path))
    assert bad.exit_code == 1 and "--date" in bad.output
