"""`papersift index`, `search`, `similar` through the real CLI on a real SQLite file."""

import json

import pytest
from typer.testing import CliRunner

from papersift.cli import app
from papersift.model import Paper, Provenance
from papersift.store import open_store

runner = CliRunner()


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERSIFT_EMBEDDER", "hash")
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "data"
    s = open_store(d / "papersift.db")
    s.upsert_papers([
        Paper(arxiv_id="2504.00001", title="Exaggeration in distillation <script>x</script>",
              abstract="Students exaggerate [bold]teacher[/bold] confidence.",
              authors=["A. One", "B. Two"], hf_date="2025-04-02", upvotes=7,
              sources=[Provenance(source="hf")]),
        Paper(arxiv_id="2504.00002", title="Sparse mixture of experts",
              abstract="Routing tokens to experts.", authors=["C. Three"], hf_date="2025-04-03"),
    ])
    s.close()
    return d


def run(*args):
    return runner.invoke(app, [*args], catch_exceptions=False)


def test_index_then_search_json(data_dir):
    r = run("index", "--data-dir", str(data_dir))
    out = " ".join(r.output.split())  # rich wraps long lines
    assert r.exit_code == 0 and "2 embedded" in out and "BM25 index: 2 papers" in out
    assert (data_dir / "bm25-index.npz").exists()
    r = run("index", "--data-dir", str(data_dir))
    out = " ".join(r.output.split())
    assert "0 embedded" in out and "2 unchanged" in out and "up to date" in out
    r = run("search", "exaggeration", "--json", "--data-dir", str(data_dir))
    assert r.exit_code == 0
    data = json.loads(r.output)
    assert data["total"] >= 1 and data["hits"][0]["id"] == "2504.00001"
    assert data["hits"][0]["highlightedTitle"][0] == {"type": "highlight", "text": "Exaggeration"}


def test_readable_output_keeps_markup_literal(data_dir):
    r = run("search", "exaggeration", "--data-dir", str(data_dir), "--mode", "lexical")
    assert r.exit_code == 0
    assert "<script>x</script>" in r.output and "[bold]teacher[/bold]" in r.output
    assert "2 authors" in r.output and "2025-04-02" in r.output and "1-1 of 1 results" in r.output


def test_filters_and_bad_options(data_dir):
    r = run("search", "experts", "--from", "2025-04-03", "--json", "--data-dir", str(data_dir))
    assert [h["id"] for h in json.loads(r.output)["hits"]] == ["2504.00002"]
    r = run("search", "x", "--from", "yesterday", "--data-dir", str(data_dir))
    assert r.exit_code == 1 and "--from 'yesterday': not a date" in r.output
    r = run("search", "x", "--sort", "stars", "--data-dir", str(data_dir))
    assert r.exit_code == 1 and "--sort" in r.output


def test_similar(data_dir):
    run("index", "--data-dir", str(data_dir))
    r = run("similar", "arXiv:2504.00001v3", "--json", "--data-dir", str(data_dir))
    assert r.exit_code == 0 and [h["id"] for h in json.loads(r.output)["hits"]] == ["2504.00002"]
    r = run("similar", "2504.99999", "--data-dir", str(data_dir))
    assert r.exit_code == 1 and "not in" in r.output
