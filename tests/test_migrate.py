"""papersift migrate --to: SQLite -> PostgreSQL -> a new SQLite file gives back the same
store (compared as archive exports), counts on both sides, a re-run copies nothing, and a
target holding different rows for the same keys is refused unless --force."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import psycopg
import pytest
from support.site_fixture import fill_site_store
from typer.testing import CliRunner

from papersift.archive import export_store
from papersift.cli import app
from papersift.errors import InputError
from papersift.model import Paper, Provenance
from papersift.search.query import parse_query
from papersift.store import open_store
from papersift.store.base import ImageRecord, PaperLinks, SendRecord
from papersift.store.migrate import NOT_COPIED, TABLES, migrate


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _fill(s):
    fill_site_store(s)
    s.record_day(dt.date(2025, 2, 6), ["2502.00006", "2502.00007"], "hf")
    s.record_failure("2502.00005", "timeout")
    s.cache_put("k1", {"answer": [1, 2, "три"]})
    s.upsert_papers([Paper(arxiv_id="2502.00001", title="Robot policy paper 1", version=2)])
    # provenance, and an alias: an id-less listing copy merged into its arXiv paper
    s.upsert_papers([Paper(arxiv_id="2502.00030", title="Aliased Papers Survive Migration",
                           authors=["Ada Lovelace"], sources=[Provenance(source="arxiv", ref="q:1")]),
                     Paper(title="Aliased papers survive migration", authors=["Lovelace, Ada"],
                           sources=[Provenance(source="listing", ref="l.txt:3")])])
    run = s.start_run("collect-hf", {"date": "2025-02-06"})
    s.finish_run(run, {"fetched": 3}, ["one error"], "partial")
    vecs = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    s.put_vectors("minilm", [(p, f"h{i}", vecs[i]) for i, p in enumerate(["2502.00001", "2502.00002",
                                                                           "hep-th/9901001"])])
    s.save_images([ImageRecord("2502.00001", "title", "ab/cd.webp", 2048, 600, 200, "h1", "s1",
                               "https://arxiv.org/pdf/2502.00001", "", "", False),
                   ImageRecord("2502.00002", "figure", failure="timed out", retry=True)])
    s.mark_records([7, -2**63, 2**63 - 1])  # import fingerprints are signed 64-bit
    s.set_meta("vectors_key:minilm", "minilm@recipe1")
    s.record_coverage("hf", "2025-02-06", 3, 3, 0, run)
    s.save_links([PaperLinks("2502.00001", hf_models=2, hf_datasets=0, hf_spaces=1,
                             checked_at="2025-02-07T00:00:00Z")])
    s.record_send(SendRecord("default", dt.date(2025, 2, 6), "email:a@b.org", "failed",
                             attempts=2, reason="refused"))
    return s


def _rows(s) -> dict[str, list]:
    return {t: list(s.archive_rows(t)) for t in TABLES}


@pytest.fixture
def pg_url(pg_databases):
    name = pg_databases.create()
    yield pg_databases.url(name)
    pg_databases.drop(name)


def test_sqlite_postgres_sqlite_round_trip(tmp_path, pg_url):
    src = _fill(open_store(tmp_path / "src.db"))
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(tmp_path), "PAPERSIFT_DB": str(tmp_path / "src.db"),
           "PAPERSIFT_CONFIG": str(tmp_path / "none.toml"), "COLUMNS": "200"}
    runner = CliRunner()
    r = runner.invoke(app, ["migrate", "--to", pg_url], env=env)
    assert r.exit_code == 0, r.output
    assert "papers" in r.output and "rows copied" in r.output
    pg = open_store(pg_url)
    again = migrate(src, pg)
    assert again.copied == 0 and again.tables["papers"].source == again.tables["papers"].target_before == 23
    back_env = {**env, "PAPERSIFT_DB": pg_url}
    r = runner.invoke(app, ["migrate", "--to", str(tmp_path / "back.db")], env=back_env)
    assert r.exit_code == 0, r.output
    back = open_store(tmp_path / "back.db")
    # every copied table, row for row, on all three stores (and _fill wrote to each table)
    before = _rows(src)
    assert [t for t, rows in before.items() if not rows] == []
    assert _rows(pg) == before
    assert _rows(back) == before
    assert back.get_images(["2502.00002"])["2502.00002"]["figure"].retry is True
    assert back.seen_records([7, -2**63, 2**63 - 1, 8]) == {7, -2**63, 2**63 - 1}
    assert back.get_meta("vectors_key:minilm") == "minilm@recipe1"
    assert migrate(pg, back).copied == 0
    export_store(src, tmp_path / "a", vectors=True)
    export_store(back, tmp_path / "b", vectors=True)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert back.search_filter_ids(None) >= {"2502.00006"}
    # the PostgreSQL copy is searchable in the database at once
    assert pg.lexical_ranked(parse_query("robot policy"), None, 5)[1] > 0
    for s in (src, pg, back):
        s.close()


def test_differing_rows_are_refused_unless_forced(tmp_path, pg_url):
    src = _fill(open_store(tmp_path / "src.db"))
    pg = open_store(pg_url)
    pg.cache_put("k1", {"answer": "another"})
    with pytest.raises(InputError, match="different data for 1 keys"):
        migrate(src, pg)
    assert pg.count_papers() == 0  # nothing was copied
    rep = migrate(src, pg, force=True)
    assert rep.conflicts == 1 and pg.count_papers() == 23 and pg.cache_get("k1") == {"answer": "another"}
    src.close()
    pg.close()


def test_every_table_is_copied_or_skipped_for_a_reason(tmp_path, pg_url):
    """A table added to either schema fails here until migrate copies it (store/records.py
    ARCHIVE_TABLES) or names why not (store/migrate.py NOT_COPIED)."""
    s = open_store(tmp_path / "s.db")
    sqlite_tables = {r[0] for r in s.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    s.close()
    # FTS5's own shadow tables come and go with papers_fts
    sqlite_tables = {t for t in sqlite_tables if not t.startswith("papers_fts_")}
    open_store(pg_url).close()
    with psycopg.connect(pg_url) as c:
        pg_tables = {r[0] for r in c.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE'")}
    assert not set(TABLES) & set(NOT_COPIED)
    assert (sqlite_tables | pg_tables) - set(TABLES) - set(NOT_COPIED) == set()
    assert set(NOT_COPIED) - (sqlite_tables | pg_tables) == set()  # no stale reasons
    assert set(TABLES) <= sqlite_tables & pg_tables
