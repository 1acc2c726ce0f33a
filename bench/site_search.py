"""Benchmark: the static site's search in a real Chromium, on an 89k-paper site and on SciFact.

    python bench/site_search.py PATH/arxiv-papers.jsonl.gz PATH/scifact [--work DIR] [--queries 100]

1. Imports the arXiv papers as bench/site.py does (550 days, a quarter enriched; the store is
   kept in --work between runs), times a full build and an incremental one-day change, and
   prints the search index's share of each (the `search_index` phase).
2. Serves the built site from a plain loopback HTTP server (a static host: no API) and opens
   search.html in Chromium (/usr/bin/chromium, headless): the first query, a real title, is
   typed into the box; the bytes it fetched are summed from the Resource Timing entries
   (encodedBodySize: what a host without compression sends). Then 100 other real titles are
   typed, one after another; latency is measured in the page from submit to rendered cards.
   The same queries run again from file://.
3. Builds a site from the SciFact corpus, types the 300 test claims into the same search
   page (file://) and scores its top 10 with nDCG@10, beside the API's ranking of the same
   store (the /api/search payload from its lexical engine, in this process).

Last line: site_search papers=N first_query_kb=K p95_ms=P scifact_ndcg10=Q
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import gzip
import http.server
import importlib.util
import json
import math
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from papersift.api.payloads import search_payload, serving_engine
from papersift.ids import slug
from papersift.model import Enrichment, Paper, Review
from papersift.search.engines import lexical_engine
from papersift.site import build_site
from papersift.store import SQLiteStore

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
START = dt.date(2024, 6, 3)


def _bench_site():
    """bench/site.py's loader (one place for how the 89k bench store is made)."""
    spec = importlib.util.spec_from_file_location("bench_site", Path(__file__).with_name("site.py"))
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a: object) -> None:
        pass


def static_server(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_port}"


def typed(pg, q: str) -> dict:
    """Type q into the search page's box, press Enter, wait for the cards: the page's own
    measurement (PS_SEARCH.last) and the result slugs."""
    n = pg.evaluate("Number(document.getElementById('results').dataset.done || 0)")
    pg.fill("#search-page-form input[name=q]", q)
    pg.press("#search-page-form input[name=q]", "Enter")
    pg.wait_for_function(f"Number(document.getElementById('results').dataset.done || 0) > {n}", timeout=60000)
    last = pg.evaluate("PS_SEARCH.last")
    last["slugs"] = pg.eval_on_selector_all("#results li", "els => els.map(e => e.dataset.slug)")
    return last


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))]


def ndcg10(ranked: list[str], rel: set[str]) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, d in enumerate(ranked[:10]) if d in rel)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(len(rel), 10)))
    return dcg / idcg


def arxiv_site(path: Path, work: Path) -> tuple[SQLiteStore, Path, list[str]]:
    bs = _bench_site()
    db, site = work / "arxiv.db", work / "arxiv-site"
    papers, enr = bs.load(path, 550, START)
    titles = [p.title for p in papers]
    if db.exists():
        store = SQLiteStore(db)
        if store.count_papers() != len(papers):
            store.close()
            for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                p.unlink(missing_ok=True)
    if not db.exists():
        t = time.perf_counter()
        store = SQLiteStore(db)
        store.upsert_papers(papers)
        with store._tx():  # setup, not measured
            for e in enr:
                store.save_enrichment(e)
        print(f"setup: {len(papers)} papers, {len(enr)} enrichments in {time.perf_counter() - t:.1f}s")
    shutil.rmtree(site, ignore_errors=True)

    def phases(res) -> str:
        return ", ".join(f"{k} {v:.2f}s" for k, v in res.timings.items())

    full = build_site(store, site)
    print(f"full build:        {full.summary()} [{phases(full)}]")
    time.sleep(1.1)  # the change lands after the build's timestamp (1 s resolution)
    day = START + dt.timedelta(days=275)
    ps = store.papers_for_day(day)
    store.upsert_papers([Paper(arxiv_id=p.id, title=p.title, upvotes=(p.upvotes or 0) + 1000) for p in ps[:5]])
    store.save_enrichment(Enrichment(paper_id=ps[-1].id, method="llm", emoji="🎯", tags=["rag"],
                                     reviews={"en": Review(title="Changed", review="a review about zebrafish")}))
    inc = build_site(store, site)
    print(f"incremental build: {inc.summary()} [{phases(inc)}]")
    idx = site / "search"
    files = [f for f in idx.rglob("*") if f.is_file()]
    print(f"search index: {len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB")
    return store, site, titles


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("arxiv", type=Path, help="arxiv-papers.jsonl.gz")
    ap.add_argument("scifact", type=Path, help="SciFact folder (corpus.jsonl.gz, queries.jsonl, qrels/)")
    ap.add_argument("--work", type=Path, default=None, help="keeps the 89k store between runs")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--reuse-site", action="store_true",
                    help="search the 89k site already built in --work (no build figures); its "
                         "static/ files are refreshed from this checkout")
    a = ap.parse_args()
    if not a.arxiv.is_file():
        sys.exit(f"error: {a.arxiv}: not found; pass the path to arxiv-papers.jsonl.gz")
    if not (a.scifact / "corpus.jsonl.gz").is_file():
        sys.exit(f"error: {a.scifact}: no corpus.jsonl.gz; pass the SciFact folder")
    if not Path(CHROMIUM).exists():
        sys.exit(f"error: {CHROMIUM} not found; apt-get install chromium")
    work = a.work or Path(tempfile.mkdtemp(prefix="ps-bench-sitesearch-"))
    work.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    if a.reuse_site and (work / "arxiv-site" / "search" / "index.js").is_file():
        from papersift.site.render import STATIC
        site = work / "arxiv-site"
        for f in STATIC.iterdir():
            shutil.copyfile(f, site / "static" / f.name)
        store = SQLiteStore(work / "arxiv.db")
        titles = [p.title for p in _bench_site().load(a.arxiv, 550, START)[0]]
        print("builds: skipped (--reuse-site)")
    else:
        store, site, titles = arxiv_site(a.arxiv, work)
    n_papers = store.count_papers()
    store.close()
    rnd = random.Random(12)
    qs = rnd.sample(titles, a.queries + 1)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        srv, base = static_server(site)
        try:
            pg = browser.new_page()
            pg.goto(base + "/search.html")
            pg.wait_for_selector("#results[data-done]", state="attached")
            pg.evaluate("performance.clearResourceTimings(); performance.setResourceTimingBufferSize(100000)")
            first = typed(pg, qs[0])
            entries = pg.evaluate("performance.getEntriesByType('resource').map(e => [e.name, e.encodedBodySize])")
            page_bytes = pg.evaluate("performance.getEntriesByType('navigation')[0].encodedBodySize")
            q_bytes = sum(b for _, b in entries)
            kinds: dict[str, int] = {}
            for name, b in entries:
                k = "cards" if "/d/" in name else "terms" if "/t/" in name else "manifest" if "index.js" in name else "other"
                kinds[k] = kinds.get(k, 0) + b
            print(f"first query {qs[0][:60]!r}: {first['total']} results in {first['ms']:.0f} ms; fetched "
                  f"{q_bytes / 1024:.0f} KB in {len(entries)} files ({', '.join(f'{k} {v / 1024:.0f} KB' for k, v in kinds.items())}); "
                  f"page load before it: {page_bytes / 1024:.0f} KB html + static scripts")
            http_ms = [typed(pg, q)["ms"] for q in qs[1:]]
            pg.close()
            pg = browser.new_page()
            pg.goto((site / "search.html").as_uri())
            pg.wait_for_selector("#results[data-done]", state="attached")
            typed(pg, qs[0])
            file_ms = [typed(pg, q)["ms"] for q in qs[1:]]
            pg.close()
        finally:
            srv.shutdown()
        for name, ms in (("http (static host)", http_ms), ("file://", file_ms)):
            print(f"{len(ms)} title queries after the first, {name}: p50 {pct(ms, 50):.0f} ms, "
                  f"p95 {pct(ms, 95):.0f} ms, max {max(ms):.0f} ms (target p95 <= 150)")
        p95 = max(pct(http_ms, 95), pct(file_ms, 95))

        # SciFact: the same page over a site built from its corpus, beside the API's ranking.
        with gzip.open(a.scifact / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
            corpus = [json.loads(x) for x in f]
        with open(a.scifact / "queries.jsonl", encoding="utf-8") as f:
            texts = {q["_id"]: q["text"] for q in map(json.loads, f)}
        qrels: dict[str, set[str]] = {}
        with open(a.scifact / "qrels" / "test.tsv", encoding="utf-8") as f:
            next(f)
            for line in f:
                qid, did, score = line.rstrip("\n").split("\t")
                if int(score) > 0:
                    qrels.setdefault(qid, set()).add(did)
        sdir = work / "scifact"
        shutil.rmtree(sdir, ignore_errors=True)
        sdir.mkdir()
        sstore = SQLiteStore(sdir / "scifact.db")
        stats = sstore.upsert_papers(Paper(id=f"ps-sf{d['_id']}", title=d["title"], abstract=d["text"],
                                           published=START) for d in corpus)
        to_doc: dict[str, list[str]] = {}
        for d, sid in zip(corpus, stats.ids, strict=True):
            to_doc.setdefault(slug(sid), []).append(d["_id"])
        build_site(sstore, sdir / "site")
        engine = serving_engine(lexical_engine, sstore)
        api_nd, site_nd = [], []
        pg = browser.new_page()
        pg.goto((sdir / "site" / "search.html").as_uri())
        pg.wait_for_selector("#results[data-done]", state="attached")
        for qid, rel in sorted(qrels.items()):
            got = typed(pg, texts[qid])
            site_nd.append(ndcg10([d for s in got["slugs"] for d in to_doc.get(s, [])], rel))
            res = search_payload(engine, ["en"], {"q": texts[qid], "tags": [], "mode": "or", "from": None,
                                                  "to": None, "min_upvotes": None, "sort": "relevance",
                                                  "limit": 10, "offset": 0})
            api_nd.append(ndcg10([d for r in res["results"] for d in to_doc.get(r["slug"], [])], rel))
        pg.close()
        sstore.close()
        browser.close()
    site_ndcg, api_ndcg = sum(site_nd) / len(site_nd), sum(api_nd) / len(api_nd)
    print(f"SciFact test ({len(site_nd)} claims typed into the page): static site nDCG@10 {site_ndcg:.4f} "
          f"vs API (lexical engine) {api_ndcg:.4f} (target >= 0.60)")
    print(f"targets: first query <= 1024 KB: {q_bytes / 1024:.0f}; p95 <= 150 ms: {p95:.0f}; nDCG@10 >= 0.60: {site_ndcg:.3f}")
    if a.work is None:
        shutil.rmtree(work, ignore_errors=True)
    print(f"site_search papers={n_papers} first_query_kb={q_bytes / 1024:.0f} p95_ms={p95:.0f} "
          f"scifact_ndcg10={site_ndcg:.4f}")


if __name__ == "__main__":
    main()
