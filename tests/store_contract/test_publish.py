"""Contract: what site/ reads to build the static site."""

import datetime as dt
import json

from papersift.model import Enrichment, Paper, Provenance, Reading
from papersift.store.base import PUBLISH_COLUMNS


def fill(store):
    ps = [Paper(arxiv_id=f"2502.0000{i}", title=f"Paper {i}", upvotes=u, hf_date=d,
                published=dt.date(2025, 2, 1), sources=[Provenance(source="hf")])
          for i, (u, d) in enumerate([(3, dt.date(2025, 2, 6)), (9, dt.date(2025, 2, 6)),
                                      (9, dt.date(2025, 2, 7)), (None, dt.date(2025, 3, 1))])]
    store.upsert_papers(ps)
    for p, tags in zip(ps, [["rl", "cv"], ["rl"], ["rl"], []], strict=True):
        store.save_enrichment(Enrichment(paper_id=p.id, method="offline", tags=tags))
    return [p.id for p in ps]


def test_tags(store):
    a, b, c, d = fill(store)
    assert store.tag_counts() == {"rl": 3, "cv": 1}
    # newest day first, then upvotes, then id
    assert store.tag_members() == {"rl": [c, b, a], "cv": [a]}
    assert store.tag_members(["rl"], limit=2) == {"rl": [c, b]}
    assert store.tag_members(["nothing"]) == {}
    assert store.tag_members([]) == {}


def test_top_between(store):
    a, b, c, d = fill(store)
    assert [p.id for p in store.top_between(dt.date(2025, 2, 1), dt.date(2025, 2, 28), 10)] == [b, c, a]
    assert [p.id for p in store.top_between(dt.date(2025, 2, 1), dt.date(2025, 3, 1), 2)] == [b, c]


def test_touched_since(store):
    a, b, c, d = fill(store)
    assert store.touched_since("2000-01-01") == {a, b, c, d}
    assert store.touched_since("9999-01-01") == set()
    store.save_enrichment(Enrichment(paper_id=b, method="offline",
                                     created_at=dt.datetime(9999, 6, 1, tzinfo=dt.UTC)))
    assert store.touched_since("9999-01-01") == {b}


def test_reading_hashes(store):
    day = dt.date(2025, 2, 6)
    assert store.reading_hashes() == {}
    store.save_reading(Reading(day=day, text="文本。", pinyin="wén běn", translation="Text."))
    h = store.reading_hashes()
    assert list(h) == ["2025-02-06"] and len(h["2025-02-06"]) == 12
    store.save_reading(Reading(day=day, text="新文本。", pinyin="xīn", translation="New."))
    assert store.reading_hashes()["2025-02-06"] != h["2025-02-06"]


def test_publish_rows(store):
    ids = fill(store)
    rows = list(store.publish_rows(batch=3))
    assert [r[0] for r in rows] == ids  # insertion order
    assert all(len(r) == len(PUBLISH_COLUMNS) for r in rows)
    row = dict(zip(PUBLISH_COLUMNS, next(iter(store.publish_rows([ids[1]]))), strict=True))
    assert (row["id"], row["title"], row["upvotes"], row["hf_date"]) == (ids[1], "Paper 1", 9, "2025-02-06")
    assert json.loads(row["enrichment"])["tags"] == ["rl"] and row["enriched_at"]
    assert row["created_at"] and row["changed_at"]
    assert json.loads(row["authors"]) == []
    assert list(store.publish_rows(["nope"])) == []
