"""Incremental builds equal full rebuilds; full builds (helper process, directory swap) are
atomic and produce the same bytes in one or two processes. Real stores (each backend) in tmp_path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from support.site_fixture import DAYS

from papersift.model import Enrichment, Paper, Review
from papersift.site import build_site
from papersift.site import output as output_mod
from papersift.site.pages import Pages


@pytest.fixture
def store(site_store):
    """Every test here starts from the site fixture's papers."""
    return site_store


def tree(root: Path) -> dict[str, bytes]:
    return {str(f.relative_to(root)): f.read_bytes() for f in root.rglob("*")
            if f.is_file() and not f.name.startswith(".")}


def assert_same_site(a: Path, b: Path) -> None:
    ta, tb = tree(a), tree(b)
    assert sorted(ta) == sorted(tb)
    differ = [k for k in ta if ta[k] != tb[k]]
    assert not differ, f"pages differ from a full rebuild: {differ[:5]}"


def similar_by_order(store):
    ids = sorted(p.id for p in store.iter_papers())

    def similar(pid: str, k: int) -> list[str]:
        i = ids.index(pid)
        return [ids[(i + j) % len(ids)] for j in range(1, 3)]
    return similar


def test_removed_tag_moved_day_and_new_paper_match_a_full_rebuild(store, tmp_path):
    # A paper known only from arXiv (its day is its arXiv date) that HF lists later.
    store.upsert_papers([Paper(arxiv_id="2502.07777", title="Arrives on HF later",
                               published=DAYS[1], upvotes=3)])
    store.save_enrichment(Enrichment(paper_id="2502.07777", method="llm", emoji="🛰", tags=["cv"],
                                     reviews={"en": Review(title="Later", review="Later review.")}))
    site = tmp_path / "site"
    build_site(store, site)
    assert "2502.07777" in (site / "d/2025-02-06.html").read_text()
    assert "2502.00001" in (site / "t/cv.html").read_text()

    # 2502.00001 loses #cv; 2502.07777 moves to the HF day; a new paper arrives.
    store.save_enrichment(Enrichment(paper_id="2502.00001", method="llm", emoji="🎯", tags=["rag"],
                                     reviews={"en": Review(title="Retagged", review="Now about RAG.")}))
    store.upsert_papers([Paper(arxiv_id="2502.07777", title="Arrives on HF later", hf_date=DAYS[3])])
    assert store.get_paper("2502.07777").day == DAYS[3]
    store.upsert_papers([Paper(arxiv_id="2502.08888", title="Brand new", hf_date=DAYS[3], upvotes=9)])
    res = build_site(store, site)
    assert res.mode == "incremental"
    assert "2502.00001" not in (site / "t/cv.html").read_text()
    assert "2502.00001" in (site / "t/rag.html").read_text()
    assert "2502.07777" not in (site / "d/2025-02-06.html").read_text()
    assert "2502.07777" in (site / "d/2025-02-10.html").read_text()

    full = tmp_path / "full"
    build_site(store, full, full=True)
    assert_same_site(site, full)


def test_similar_lists_follow_a_changed_paper(store, tmp_path):
    sim = similar_by_order(store)
    site = tmp_path / "site"
    build_site(store, site, similar=sim)
    lister = "2502.00001"
    listed = sim(lister, 6)[0]
    assert listed in (site / "p/2502.00001.html").read_text()

    store.save_enrichment(Enrichment(paper_id=listed, method="llm", emoji="🦄", tags=[],
                                     reviews={"en": Review(title="Unicorn", review="Changed.")}))
    res = build_site(store, site, similar=sim)
    assert res.mode == "incremental"
    assert "p/2502.00001.html" in res.written_paths
    assert "🦄" in (site / "p/2502.00001.html").read_text()

    full = tmp_path / "full"
    build_site(store, full, full=True, similar=sim)
    assert_same_site(site, full)


def test_second_incremental_build_after_topic_changes_rewrites_nothing(store, tmp_path):
    site = tmp_path / "site"
    build_site(store, site)
    store.save_enrichment(Enrichment(paper_id="2502.00003", method="llm", emoji="🎯", tags=["rl"],
                                     reviews={"en": Review(title="Only RL now", review="x")}))
    first = build_site(store, site)
    assert "t/cv.html" in first.written_paths
    again = build_site(store, site)
    assert again.written == 0


def test_helper_process_gives_the_same_site_as_one_process(store, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    r1 = build_site(store, one, workers=1, similar=similar_by_order(store))
    r2 = build_site(store, two, workers=2, similar=similar_by_order(store))
    assert r1.mode == r2.mode == "full"
    assert sorted(r1.written_paths) == sorted(r2.written_paths)
    assert_same_site(one, two)


def test_full_build_refuses_a_directory_it_did_not_build(store, tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not a papersift site"):
        build_site(store, foreign)
    assert (foreign / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("where", ["helper", "parent"])
def test_failed_full_build_leaves_the_previous_site(store, tmp_path, monkeypatch, where):
    site = tmp_path / "site"
    build_site(store, site)
    before = tree(site)
    store.upsert_papers([Paper(arxiv_id="2502.00016", title="Robot policy paper 16", upvotes=777)])
    if where == "helper":  # topic pages are rendered by the helper process
        def boom(self, tag, cards):
            raise OSError("disk full")
        monkeypatch.setattr(Pages, "topic", boom)
    else:  # the parent writes the paper pages
        real, calls = output_mod._write_new, {"n": 0}

        def flaky(target, data):
            calls["n"] += 1
            if calls["n"] == 5:
                raise OSError("disk full")
            real(target, data)
        monkeypatch.setattr(output_mod, "_write_new", flaky)
    with pytest.raises((OSError, RuntimeError), match="disk full"):
        build_site(store, site, full=True, workers=2)
    assert tree(site) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []


def test_day_counts_catch_a_paper_leaving_its_day(store, tmp_path):
    site = tmp_path / "site"
    build_site(store, site)
    # An HF listing moves a paper from 2025-02-05 to 2025-02-07: both days are redrawn.
    store.record_day(dt.date(2025, 2, 7), ["2502.00001"], "hf")
    build_site(store, site)
    full = tmp_path / "full"
    build_site(store, full, full=True)
    assert_same_site(site, full)
