"""Contract: a bulk import (BulkLoader: prepared rows inside bulk_writes) stores what a
plain upsert stores: merges the same duplicates, and every paper is searchable once the
bulk import has ended."""

import datetime as dt

from papersift.model import Paper, Provenance
from papersift.store.base import BulkLoader, LexicalQuery

WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def papers(n):
    return [Paper(arxiv_id=f"2501.{i:05d}", title=f"Study {WORDS[i % 8]} number {i}",
                  abstract=f"We test {WORDS[(i + 3) % 8]}quux{i}.", authors=[f"Author {i}"],
                  published=dt.date(2025, 1, 1 + i % 28), sources=[Provenance(source="arxiv")])
            for i in range(n)]


def test_bulk_import_stores_merges_and_indexes_like_upsert(make_store):
    first, dup = papers(300), Paper(title="Study alpha number 8", authors=["Author 8"],
                                    sources=[Provenance(source="listing", ref="l:1")])
    bulk, plain = make_store("bulk"), make_store("plain")
    assert isinstance(bulk, BulkLoader)
    with bulk.bulk_writes():
        a = bulk.upsert_papers(first[:200], bulk.prepare_papers(first[:200]))
        b = bulk.upsert_papers(first[200:] + [dup], bulk.prepare_papers(first[200:] + [dup]))
    p = plain.upsert_papers(first + [dup])
    assert (a.inserted + b.inserted, b.merged) == (p.inserted, p.merged) == (300, 1)
    assert bulk.count_papers() == plain.count_papers() == 300
    assert bulk.resolve_id(dup.id) == plain.resolve_id(dup.id) == "2501.00008"
    for s in (bulk, plain):
        assert s.lexical_match_ids(LexicalQuery(terms=["alpha"])) == {
            f"2501.{i:05d}" for i in range(0, 300, 8)}
        assert s.lexical_match_ids(LexicalQuery(terms=["foxtrotquux2"])) == {"2501.00002"}
        assert s.lexical_match_ids(LexicalQuery(authors=[["author", "299"]])) == {"2501.00299"}
