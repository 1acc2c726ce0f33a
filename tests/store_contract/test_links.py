"""Contract: code and linked resources (LinkStore): what sources/links.py writes and the site,
the API and the next refresh read."""

import time

from papersift.model import Paper, Provenance
from papersift.store.base import PUBLISH_COLUMNS, PaperLinks


def _two(store):
    store.upsert_papers([Paper(arxiv_id="2608.00001", title="One", github_repo="https://github.com/o/one",
                               github_stars=5, sources=[Provenance(source="hf")]),
                         Paper(arxiv_id="2608.00002", title="Two", sources=[Provenance(source="hf")])])


def _row(store, pid):
    (row,) = store.publish_rows([pid])
    return dict(zip(PUBLISH_COLUMNS, row, strict=True))


def test_save_and_get_links(store):
    _two(store)
    assert store.get_links(["2608.00001", "2608.00002"]) == {}  # never refreshed
    n = store.save_links([PaperLinks("2608.00001", "https://github.com/o/one", 77, "https://p.example/",
                                     3, 0, 1),
                          PaperLinks("2608.00002", hf_models=0, hf_datasets=0, hf_spaces=0,
                                     checked_at="1970-01-01T00:00:00+00:00"),
                          PaperLinks("9999.99999", hf_models=9)])  # not stored: skipped
    assert n == 2  # paper 2 changed too: its counts went from unknown to 0
    got = store.get_links(["2608.00001", "2608.00002", "9999.99999"])
    assert set(got) == {"2608.00001", "2608.00002"}
    one = got["2608.00001"]
    assert (one.github_repo, one.github_stars, one.project_page) == ("https://github.com/o/one", 77, "https://p.example/")
    assert (one.hf_models, one.hf_datasets, one.hf_spaces) == (3, 0, 1)
    assert one.checked_at[:4] >= "2026" and got["2608.00002"].checked_at == "1970-01-01T00:00:00+00:00"
    # the repo, stars and project page are the paper's own fields
    p = store.get_paper("2608.00001")
    assert (p.github_repo, p.github_stars, p.project_page) == ("https://github.com/o/one", 77, "https://p.example/")
    row = _row(store, "2608.00001")
    assert (row["hf_models"], row["hf_datasets"], row["hf_spaces"], row["github_stars"]) == (3, 0, 1, 77)
    assert _row(store, "2608.00002")["hf_models"] == 0


def test_only_a_change_touches_the_paper(store):
    _two(store)
    store.save_links([PaperLinks("2608.00001", "https://github.com/o/one", 5, None, 1, 0, 0)])
    changed = _row(store, "2608.00001")["changed_at"]
    version = store.papers_version()
    time.sleep(1.1)  # changed_at has second resolution
    assert store.save_links([PaperLinks("2608.00001", "https://github.com/o/one", 5, None, 1, 0, 0)]) == 0
    assert _row(store, "2608.00001")["changed_at"] == changed and store.papers_version() == version
    # the refresh time moved, the paper did not
    assert store.get_links(["2608.00001"])["2608.00001"].checked_at > changed
    assert store.save_links([PaperLinks("2608.00001", "https://github.com/o/one", 5, None, 2, 0, 0)]) == 1
    assert _row(store, "2608.00001")["changed_at"] > changed and store.papers_version() != version
    assert store.touched_since(_row(store, "2608.00001")["changed_at"]) == {"2608.00001"}


def test_publish_rows_without_links_have_no_counts(store):
    _two(store)
    row = _row(store, "2608.00002")
    assert (row["hf_models"], row["hf_datasets"], row["hf_spaces"]) == (None, None, None)
