"""papersift export / import DIR: deterministic files, a byte-identical round trip, bad lines
reported as file:line and skipped, and a restored store that builds the same site."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from support.site_fixture import fill_site_store
from typer.testing import CliRunner

from papersift.archive import export_store, import_archive
from papersift.cli import app
from papersift.errors import InputError
from papersift.model import Paper
from papersift.site.build import build_site
from papersift.store import open_store


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def full_store(make_store):
    """Every kind of row an archive carries."""
    s = fill_site_store(make_store("src"))
    s.record_day(dt.date(2025, 2, 6), ["2502.00006", "2502.00007"], "hf")
    s.record_day(dt.date(2025, 2, 7), ["2502.00006"], "hf")  # moved on HF
    s.record_failure("2502.00005", "timeout")
    s.cache_put("k1", {"answer": [1, 2, "три"]})
    with_alias = Paper(arxiv_id="2502.00001", title="Robot policy paper 1", version=2)
    s.upsert_papers([with_alias])
    run = s.start_run("collect-hf", {"date": "2025-02-06"})
    s.finish_run(run, {"fetched": 3}, ["one error"], "partial")
    ids = ["2502.00001", "2502.00002", "hep-th/9901001"]
    vecs = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    s.put_vectors("minilm", [(pid, f"h{i}", vecs[i]) for i, pid in enumerate(ids)])
    return s


def test_round_trip_is_byte_identical(full_store, make_store, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    rep = export_store(full_store, a, vectors=True)
    assert rep.counts["papers"] == 22 and rep.counts["vectors"] == 3
    assert (a / "papers/2025/2025-02-06.jsonl").is_file() and (a / "days/2025.jsonl").is_file()
    empty = make_store("empty")
    got = import_archive(empty, a)
    assert got.errors == [] and got.counts["papers"] == 22 and got.counts["vectors"] == 3
    export_store(empty, b, vectors=True)
    assert _tree(a) == _tree(b)
    # what the files hold is what the store holds
    assert empty.get_paper("2502.00006") == full_store.get_paper("2502.00006")
    assert empty.get_enrichment("hep-th/9901001") == full_store.get_enrichment("hep-th/9901001")
    assert empty.failures() == full_store.failures() and empty.cache_get("k1") == {"answer": [1, 2, "три"]}
    assert empty.moved_papers(dt.date(2025, 2, 6)) == full_store.moved_papers(dt.date(2025, 2, 6))
    ids, mat = empty.load_vectors("minilm")
    ids0, mat0 = full_store.load_vectors("minilm")
    assert ids == ids0 and np.array_equal(mat, mat0)
    # full-text search works on the restored papers (the index is rebuilt, not copied)
    assert empty.search_filter_ids(None) >= {"2502.00006"}


def test_unchanged_store_rewrites_nothing_and_reimport_adds_nothing(full_store, tmp_path):
    a = tmp_path / "a"
    export_store(full_store, a)
    again = export_store(full_store, a)
    assert again.files_written == 0 and again.files_removed == 0 and again.files_unchanged > 5
    rep = import_archive(full_store, a)
    assert rep.errors == [] and set(rep.counts.values()) == {0}
    # a paper that leaves its day: its old day file is rewritten, a vanished day removed
    (a / "papers/1999").mkdir(exist_ok=True)
    (a / "papers/1999/1999-01-01.jsonl").write_text("stale\n")
    rep = export_store(full_store, a)
    assert rep.files_removed == 1 and not (a / "papers/1999/1999-01-01.jsonl").exists()


def test_vectors_left_out_are_listed_not_lost(full_store, make_store, tmp_path):
    a = tmp_path / "a"
    export_store(full_store, a)  # no --vectors: the list of embedded texts only
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["vectors"]["minilm"]["count"] == 3 and not manifest["vectors"]["minilm"]["included"]
    empty = make_store("empty")
    rep = import_archive(empty, a)
    assert rep.counts["vectors"] == 0 and rep.counts["papers"] == 22


def test_bad_lines_are_named_and_skipped(full_store, make_store, tmp_path):
    a = tmp_path / "a"
    export_store(full_store, a)
    day = a / "papers/2025/2025-02-06.jsonl"
    lines = day.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["paper"]["title"] = "   "
    second = json.loads(lines[1])
    second["paper"]["upvotes"] = "many"
    lines[0], lines[1] = json.dumps(first), json.dumps(second)
    lines.insert(2, "{not json")
    day.write_text("\n".join(lines) + "\n", encoding="utf-8")
    days = a / "days/2025.jsonl"
    days.write_text(days.read_text() + json.dumps({"day": 20250206, "paper_id": "x"}) + "\n")
    empty = make_store("empty")
    rep = import_archive(empty, a)
    assert len(rep.errors) == 4
    assert any(f"{day}:1: field 'paper.title'" in e for e in rep.errors)
    assert any(f"{day}:2: field 'paper.upvotes'" in e for e in rep.errors)
    assert any(f"{day}:3: not JSON" in e for e in rep.errors)
    assert any(f"{days}:" in e and "field 'day'" in e for e in rep.errors)
    assert rep.counts["papers"] == 20  # the good lines of the same file are kept


def test_not_an_archive_or_a_foreign_folder(full_store, tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x/notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds other files"):
        export_store(full_store, tmp_path / "x")
    (tmp_path / "y").mkdir()
    (tmp_path / "y/manifest.json").write_text('{"format": "other"}')
    with pytest.raises(InputError, match="not a papersift archive"):
        import_archive(full_store, tmp_path / "y")


def test_restored_state_builds_the_same_site(tmp_path):
    """The durable-deployment path: a fresh folder plus the exported state gives the site a
    clean build of the original store gives."""
    src = fill_site_store(open_store(tmp_path / "src.db"))
    export_store(src, tmp_path / "state")
    fresh = open_store(tmp_path / "fresh/papersift.db")
    import_archive(fresh, tmp_path / "state")
    build_site(src, tmp_path / "site-a")
    build_site(fresh, tmp_path / "site-b")
    a, b = _tree(tmp_path / "site-a"), _tree(tmp_path / "site-b")
    assert a.keys() == b.keys() and len(a) > 20
    # every published file is the same; the build's own state (store versions) is not published
    assert [k for k in a if a[k] != b[k]] == [".papersift-build.json"]
    src.close()
    fresh.close()


def test_cli_export_then_import(tmp_path):
    src = fill_site_store(open_store(tmp_path / "d1/papersift.db"))
    src.close()
    r = CliRunner().invoke(app, ["export", str(tmp_path / "state"), "--data-dir", str(tmp_path / "d1")])
    assert r.exit_code == 0, r.output
    assert "22 papers" in r.output
    r = CliRunner().invoke(app, ["import", str(tmp_path / "state"), "--data-dir", str(tmp_path / "d2")])
    assert r.exit_code == 0, r.output
    assert "added 22 papers" in r.output
    with open_store(tmp_path / "d2/papersift.db") as s:
        assert s.count_papers() == 22
