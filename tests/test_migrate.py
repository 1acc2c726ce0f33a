"""papersift migrate --to: SQLite -> PostgreSQL -> a new SQLite file gives back the same
store (compared as archive exports), counts on both sides, a re-run copies nothing, and a
target holding different rows for the same keys is refused unless --force."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import numpy as np
import pytest
from support.site_fixture import fill_site_store
from typer.testing import CliRunner

from papersift.archive import export_store
from papersift.cli import app
from papersift.errors import InputError
from papersift.model import Paper
from papersift.search.query import parse_query
from papersift.store import open_store
from papersift.store.migrate import migrate


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _fill(s):
    fill_site_store(s)
    s.record_day(dt.date(2025, 2, 6), ["2502.00006", "2502.00007"], "hf")
    s.record_failure("2502.00005", "timeout")
    s.cache_put("k1", {"answer": [1, 2, "три"]})
    s.upsert_papers([Paper(arxiv_id="2502.00001", title="Robot policy paper 1", version=2)])
    run = s.start_run("collect-hf", {"date": "2025-02-06"})
    s.finish_run(run, {"fetched": 3}, ["one error"], "partial")
    vecs = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    s.put_vectors("minilm", [(p, f"h{i}", vecs[i]) for i, p in enumerate(["2502.00001", "2502.00002",
                                                                           "hep-th/9901001"])])
    return s


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
    assert again.copied == 0 and again.tables["papers"].source == again.tables["papers"].target_before == 22
    back_env = {**env, "PAPERSIFT_DB": pg_url}
    r = runner.invoke(app, ["migrate", "--to", str(tmp_path / "back.db")], env=back_env)
    assert r.exit_code == 0, r.output
    back = open_store(tmp_path / "back.db")
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
    assert rep.conflicts == 1 and pg.count_papers() == 22 and pg.cache_get("k1") == {"answer": "another"}
    src.close()
    pg.close()
