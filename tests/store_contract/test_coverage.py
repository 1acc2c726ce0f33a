"""Contract: coverage rows and per-day summaries (what `papersift status` reads)."""

from __future__ import annotations

import datetime as dt

import numpy as np

from papersift.model import Enrichment, Paper
from papersift.store.base import ImageRecord, SendRecord

D6, D7 = dt.date(2025, 2, 6), dt.date(2025, 2, 7)


def test_coverage_rows_replace_per_source_and_period(store):
    store.record_coverage("hf", "2025-02-06", 5, 4, 1, None)
    store.record_coverage("hf", "2025-02-06", 6, 6, 0, None)  # a later collect of the day
    store.record_coverage("arxiv:cs.CL", "2025-02-01..2025-02-03", 312, 312, 0, None)
    rows = {(c.source, c.period): c for c in store.coverage()}
    assert rows[("hf", "2025-02-06")].expected == 6 and rows[("hf", "2025-02-06")].collected == 6
    assert [c.period for c in store.coverage("arxiv:cs.CL")] == ["2025-02-01..2025-02-03"]


def test_day_summaries_count_every_stage(store):
    papers = [Paper(arxiv_id=f"2502.0000{i}", title=f"Paper {i}", hf_date=D6) for i in range(4)]
    papers.append(Paper(arxiv_id="2502.00009", title="Moved paper", hf_date=D7))
    st = store.upsert_papers(papers)
    store.record_day(D6, st.ids[:4], "hf")
    store.record_day(D7, [st.ids[4]], "hf")
    store.save_enrichment(Enrichment(paper_id="2502.00000", method="llm"))
    store.save_enrichment(Enrichment(paper_id="2502.00001", method="offline"))
    store.record_failure("2502.00002", "timeout")
    store.put_vectors("m", [("2502.00000", "h", np.ones(4, dtype=np.float32))])
    store.save_images([ImageRecord("2502.00000", "title", file="a.webp", bytes=10, width=8, height=2),
                       ImageRecord("2502.00001", "title", failure="encrypted PDF")])
    store.record_send(SendRecord("alice", D6, "email:a@b.org", "sent", parts=1))
    store.record_send(SendRecord("bob", D6, "tgram:1", "failed", reason="500"))
    got = {s.day: s for s in store.day_summaries(D6, D7, "m")}
    d6 = got[D6]
    assert d6.papers == 4 and d6.enriched == {"llm": 1, "offline": 1}
    assert d6.failed == {"timeout": 1} and d6.indexed == 1 and d6.images == 1
    assert d6.sent == 1 and d6.send_failed == 1
    assert got[D7].papers == 1 and got[D7].indexed == 0
    assert [s.day for s in store.day_summaries(D7, None, None)] == [D7]
