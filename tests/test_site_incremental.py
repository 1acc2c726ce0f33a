"""Incremental builds equal full rebuilds; full builds (helper process, directory swap) are
atomic and produce the same bytes in one or two processes. Real stores (each backend) in tmp_path."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from support.site_fixture import DAYS

from papersift.model import Enrichment, Paper, Review
from papersift.site import build as build_mod
from papersift.site import build_site
from papersift.site import incremental as incremental_mod
from papersift.site import output as output_mod
from papersift.site import pages as pages_mod
from papersift.site.pages import Pages


@pytest.fixture
def store(site_store):
    """Every test here starts from the site fixture's papers."""
    return site_store


def tree(root: Path) -> dict[str, bytes]:
    # search/ holds a base and a delta segment after incremental builds where a full build
    # writes one base: what they answer is compared in test_site_search_index.py.
    return {str(f.relative_to(root)): f.read_bytes() for f in root.rglob("*")
            if f.is_file() and not f.name.startswith(".") and f.relative_to(root).parts[0] != "search"}


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


NEW_ID = "2502.09999"


def listing_paper(store, tags: list[str]) -> Paper:
    """The fixture's listing-only paper (a ps- key), enriched with `tags`."""
    p = next(p for p in store.iter_papers() if p.id.startswith("ps-"))
    store.save_enrichment(Enrichment(paper_id=p.id, method="llm", emoji="📄", tags=tags,
                                     reviews={"en": Review(title="Listed", review="Listing only.")}))
    return p


def rename_to_arxiv_id(store, p: Paper) -> None:
    """The same paper arrives with its arXiv id: the store renames its ps- key."""
    store.upsert_papers([Paper(arxiv_id=NEW_ID, title=p.title, hf_date=p.hf_date, upvotes=p.upvotes)])
    assert store.resolve_id(p.id) == NEW_ID and store.get_paper(p.id).id == NEW_ID


def test_paper_renamed_to_its_arxiv_id_leaves_no_page_behind(store, tmp_path):
    """An incremental build after the store renamed a listing-only paper to its arXiv id
    equals a full build: the old id's page is removed, and the pages that showed it as a
    similar paper are redrawn."""
    listing = listing_paper(store, ["cv"])
    before = similar_by_order(store)
    # built_at has 1 s steps: 2 s on, the second build sees only the renamed paper as
    # touched, so the pages that listed the old id must be found through it.
    time.sleep(2)
    site = tmp_path / "site"
    build_site(store, site, similar=before)
    old_page = site / f"p/{listing.id}.html"
    assert old_page.is_file()

    rename_to_arxiv_id(store, listing)

    def after(pid: str, k: int) -> list[str]:  # the same vector, now under the new id
        return [NEW_ID if s == listing.id else s for s in before(listing.id if pid == NEW_ID else pid, k)]
    res = build_site(store, site, similar=after)
    assert res.mode == "incremental" and res.removed == 1
    assert not old_page.exists() and (site / f"p/{NEW_ID}.html").is_file()

    full = tmp_path / "full"
    build_site(store, full, full=True, similar=after)
    assert_same_site(site, full)


def test_full_topic_list_that_named_a_renamed_paper_stays_full(store, tmp_path, monkeypatch):
    """A topic list as long as a page shows (TAG_PAGE_N, 2 here) that named the renamed
    paper: the old entry must not take a place, so the last paper stays on the page."""
    for mod in (build_mod, incremental_mod, pages_mod):
        monkeypatch.setattr(mod, "TAG_PAGE_N", 2)
    # #security: the listing paper (2025-02-06), then hep-th/9901001 (2025-02-05).
    listing = listing_paper(store, ["security"])
    site = tmp_path / "site"
    build_site(store, site)
    rename_to_arxiv_id(store, listing)
    build_site(store, site)
    assert "hep-th/9901001" in (site / "t/security.html").read_text()
    full = tmp_path / "full"
    build_site(store, full, full=True)
    assert_same_site(site, full)


def test_state_without_the_list_of_paper_pages_gets_a_full_build(store, tmp_path):
    """A site built before the state listed its paper pages cannot tell which are gone."""
    site = tmp_path / "site"
    build_site(store, site)
    state = output_mod.load_state(site)
    del state["papers"]
    output_mod.save_state(site, state)
    assert build_site(store, site).mode == "full"
    assert build_site(store, site).mode == "incremental"
