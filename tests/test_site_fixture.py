"""A small real store for the site, API and browser tests (no shared data, no network).

Importable by test_site*.py / test_api*.py / test_browser*.py; holds one sanity test itself.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from papersift.model import Enrichment, Paper, Reading, Review, VocabItem
from papersift.store import SQLiteStore

XSS_TITLE = "<script>alert(1)</script>"
XSS_REVIEW = "<img src=x onerror=alert(1)>"
# Days with papers; 2025-02-08/09 (a weekend) have none, so prev/next must skip them.
DAYS = [dt.date(2025, 2, 5), dt.date(2025, 2, 6), dt.date(2025, 2, 7), dt.date(2025, 2, 10)]
TOPICS = [["cv"], ["rl"], ["cv", "rl"], ["rag"], []]


def make_store(path: Path) -> SQLiteStore:
    s = SQLiteStore(path)
    papers = []
    n = 0
    for d in DAYS:
        for k in range(5):
            n += 1
            papers.append(Paper(
                arxiv_id=f"2502.{n:05d}", title=f"Sparse diffusion study {n}" if k % 2 else f"Robot policy paper {n}",
                abstract=f"We study problem {n} with a new method. Results improve on baselines by {n} points.",
                authors=[f"Author {n}", "Shared Person"], affiliations=[f"Lab {n}"],
                hf_date=d, published=d - dt.timedelta(days=k + 1), upvotes=(n * 7) % 23))
    papers.append(Paper(arxiv_id="hep-th/9901001", title=XSS_TITLE, abstract="Old-style id paper.",
                        hf_date=DAYS[0], published=dt.date(1999, 1, 1), upvotes=40))
    papers.append(Paper(title="Listing only paper without arxiv id", hf_date=DAYS[1], upvotes=1))
    s.upsert_papers(papers)
    for i, p in enumerate(papers[:20]):
        tags = TOPICS[i % len(TOPICS)]
        if i % 5 == 4:
            continue  # one paper a day stays un-enriched: shows with its abstract
        if i % 5 == 3:
            s.save_enrichment(Enrichment(paper_id=p.id, method="offline", emoji="🧪", tags=tags,
                                         summary=f"Offline extract {i}."))
            continue
        reviews = {"en": Review(title=f"Catchy {i}", review=f"English review {i}.")}
        if i % 5 != 1:  # some papers lack Russian: the site falls back to English
            reviews["ru"] = Review(title=f"Заголовок {i}", review=f"Русский обзор {i}.")
        reviews["zh"] = Review(title=f"标题 {i}", review=f"中文评论 {i}。")
        s.save_enrichment(Enrichment(paper_id=p.id, method="llm", model="test-model", emoji="🚀",
                                     tags=tags, reviews=reviews))
    s.save_enrichment(Enrichment(paper_id="hep-th/9901001", method="llm", emoji="💥", tags=["cv", "security"],
                                 reviews={"en": Review(title=XSS_TITLE, review=XSS_REVIEW),
                                          "ru": Review(title="</script><b>x</b>", review=XSS_REVIEW)}))
    s.save_reading(Reading(day=DAYS[0], title="今天", text="我们研究机器学习。", pinyin="wǒmen yánjiū jīqì xuéxí",
                           translation="We study machine learning.",
                           vocab=[VocabItem(word="研究", pinyin="yánjiū", trans="research")]))
    return s


def test_fixture_store_has_days_and_enrichments(tmp_path):
    s = make_store(tmp_path / "p.db")
    assert [d for d, _ in s.days()] == DAYS
    assert s.get_enrichment("hep-th/9901001").reviews["en"].title == XSS_TITLE
    assert s.get_enrichment("2502.00005") is None


class LiveServer:
    """A real uvicorn server on 127.0.0.1 in a background thread."""

    def __init__(self, app):
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start in 20 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
