"""Contract: HF days merge, never shrink, and remember papers HF moved to another day."""

import datetime as dt

from papersift.model import Paper, Provenance

D1, D2 = dt.date(2025, 2, 6), dt.date(2025, 2, 7)


def two_papers(store):
    store.upsert_papers([
        Paper(arxiv_id="2502.00001", title="A", upvotes=1, sources=[Provenance(source="hf")]),
        Paper(arxiv_id="2502.00002", title="B", upvotes=5, sources=[Provenance(source="hf")])])


def test_days_merge_never_shrink_and_record_moves(store):
    two_papers(store)
    st = store.record_day(D1, ["2502.00001", "2502.00002"], "hf")
    assert (st.added, st.kept, st.moved) == (2, 0, [])
    st = store.record_day(D1, ["2502.00001"], "hf")  # a later, shorter listing of the day
    assert (st.added, st.kept) == (0, 1)
    st = store.record_day(D2, ["2502.00002"], "hf")
    assert st.moved == [("2502.00002", "2025-02-06")]
    # the day keeps the moved paper (a day never shrinks), by upvotes
    assert [p.id for p in store.papers_for_day(D1)] == ["2502.00002", "2502.00001"]
    assert [p.id for p in store.papers_for_day(D2)] == ["2502.00002"]
    assert store.moved_papers(D1) == {"2502.00002": "2025-02-07"}
    assert store.moved_papers(D2) == {}
    assert store.days() == [(D1, 2), (D2, 1)]
    assert store.day_members() == [("2025-02-06", "2502.00001", None),
                                   ("2025-02-06", "2502.00002", "2025-02-07"),
                                   ("2025-02-07", "2502.00002", None)]


def test_a_paper_listed_again_on_its_old_day_is_not_moved_there(store):
    two_papers(store)
    store.record_day(D1, ["2502.00002"], "hf")
    store.record_day(D2, ["2502.00002"], "hf")
    store.record_day(D1, ["2502.00002"], "hf")
    assert store.moved_papers(D1) == {}


def test_days_of_papers_by_their_own_date(store):
    store.upsert_papers([
        Paper(arxiv_id="2502.00003", title="C", published=dt.date(2025, 2, 3)),
        Paper(arxiv_id="2502.00004", title="D", published=dt.date(2025, 2, 3), hf_date=D1),
        Paper(arxiv_id="2502.00005", title="E", published=dt.date(2025, 2, 9))])
    assert store.days() == [(dt.date(2025, 2, 3), 1), (D1, 1), (dt.date(2025, 2, 9), 1)]
    assert [p.id for p in store.papers_between(dt.date(2025, 2, 1), D1)] == ["2502.00003", "2502.00004"]
    assert [p.id for p in store.papers_for_day(D1)] == ["2502.00004"]
