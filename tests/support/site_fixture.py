"""A small real store for the site, API and browser tests (no shared data, no network).

`fill_site_store` puts the same papers, enrichments and reading into any store; the
`site_store` fixture (conftest.py) is that store on every backend, `open_site_store` the
SQLite file a test that needs a path (a server, the CLI) points at.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from papersift.model import Enrichment, Paper, Reading, Review, VocabItem
from papersift.site import build_site
from papersift.store import Store, open_store

XSS_TITLE = "<script>alert(1)</script>"
XSS_REVIEW = "<img src=x onerror=alert(1)>"
# Days with papers; 2025-02-08/09 (a weekend) have none, so prev/next must skip them.
DAYS = [dt.date(2025, 2, 5), dt.date(2025, 2, 6), dt.date(2025, 2, 7), dt.date(2025, 2, 10)]
TOPICS = [["cv"], ["rl"], ["cv", "rl"], ["rag"], []]


def fill_site_store(s: Store) -> Store:
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


def open_site_store(path: Path) -> Store:
    """The site fixture's papers in a store file at `path` (open; the caller closes it)."""
    return fill_site_store(open_store(path))


def build_fixture_site(tmp: Path) -> Path:
    """`tmp` with the site fixture's store in p.db and the site built from it in site/."""
    store = open_site_store(tmp / "p.db")
    build_site(store, tmp / "site")
    store.close()
    return tmp
