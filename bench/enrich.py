"""Enrichment throughput: papersift (one validated call per paper, concurrency 8, cache)
vs the seed log's pattern (5 sequential calls per paper), both against a loopback
OpenAI-compatible server that takes LATENCY seconds per call.

    python bench/enrich.py [--data ../shared/data] [--latency 1.0] [--baseline-papers 10]

With --data, the 50 papers are real arXiv records from <data>/arxiv/arxiv-papers.jsonl.gz;
without it, generated ones. The baseline runs on a subset and is extrapolated to 50 papers
(it says so). Last line: `enrich papers=50 calls=N calls_per_paper=X seconds=S
rerun_calls=M baseline_seconds=B speedup=R`.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback server lives with the tests

from support.fake_llm import FakeLLM  # noqa: E402

from papersift import taxonomy  # noqa: E402
from papersift.config import load_settings  # noqa: E402
from papersift.enrich.llm import make_llm  # noqa: E402
from papersift.enrich.runner import run_enrich  # noqa: E402
from papersift.model import Paper  # noqa: E402
from papersift.store import open_store  # noqa: E402

N = 50


def load_papers(data: Path | None) -> list[Paper]:
    if data is not None:
        path = data / "arxiv" / "arxiv-papers.jsonl.gz"
        with gzip.open(path, "rt", encoding="utf-8") as f:
            rows = [json.loads(x) for x in itertools.islice(f, 40000, 40000 + N)]
        return [Paper(id=r["id"], title=r["title"], abstract=r["abstract"],
                      authors=r["authors"], categories=r["categories"]) for r in rows]
    return synthetic_papers(N)


def synthetic_papers(n: int) -> list[Paper]:
    """n generated papers with distinct ids and titles (also bench/workers.py's queue)."""
    topics = ["reward models", "video diffusion", "long-context retrieval", "robot policies",
              "speech tokenizers", "math reasoning", "multilingual evaluation"]
    return [Paper(id=f"2502.{i:05d}", title=f"Scaling {topics[i % 7]} with sparse experts ({i})",
                  abstract=(f"We study {topics[i % 7]} at scale. Our method routes tokens to "
                            "sparse experts and trains with a curriculum. It improves accuracy "
                            "by 4.1 points on five benchmarks while halving inference cost. "
                            "Code and weights are released."))
            for i in range(n)]


async def seed_pattern(client, papers: list[Paper]) -> int:
    """The seed log's per-paper sequence: ru review, two tag calls (each half of the
    taxonomy), en review, zh review; one after another."""
    names = list(taxonomy.TAGS)
    halves = [names[:21], names[21:]]
    calls = 0
    for p in papers:
        text = f"Title: {p.title}\n{p.abstract}"
        prompts = [
            "Read an abstract of the ML paper and return a JSON with fields: 'desc': "
            "explanation of the paper in Russian (4 sentences), 'emoji', 'title'.\n\n" + text,
            *[("Classify the paper into topics from the list below. Topics:\n"
               + "\n".join(f"{n.upper()}: {taxonomy.TAGS[n]}" for n in half)
               + "\n\nReturn only a Python flat list.\n\n" + text) for half in halves],
            "Write a 4-sentence English review of this paper as JSON {desc, title}.\n\n" + text,
            "Write a 4-sentence Chinese review of this paper as JSON {desc, title}.\n\n" + text,
        ]
        for prompt in prompts:
            await client.chat.completions.create(
                model="bench-model", messages=[{"role": "user", "content": prompt}])
            calls += 1
    return calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="path to shared/data (optional)")
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--baseline-papers", type=int, default=10)
    a = ap.parse_args()
    papers = load_papers(a.data)
    print(f"papers: {len(papers)} ({'real arXiv records' if a.data else 'generated'}), "
          f"server latency {a.latency:.1f}s per call, concurrency {a.concurrency}")
    with FakeLLM(latency=a.latency) as fake, tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "bench.db")
        store.upsert_papers(papers)
        settings = load_settings(None, provider="openai", model="bench-model",
                                 base_url=fake.openai_url, concurrency=a.concurrency)
        t0 = time.perf_counter()
        rep = run_enrich(store, papers, make_llm(settings), ["en", "ru", "zh"], a.concurrency)
        seconds = time.perf_counter() - t0
        calls = len(fake.calls())
        print(f"papersift: {rep.done} done, {len(rep.failed)} failed, {calls} calls, "
              f"{seconds:.2f}s, tokens {rep.input_tokens} in / {rep.output_tokens} out")
        before = len(fake.calls())
        t1 = time.perf_counter()
        rep2 = run_enrich(store, papers, make_llm(settings), ["en", "ru", "zh"], a.concurrency)
        rerun_calls = len(fake.calls()) - before
        print(f"re-run: {rep2.skipped} already done, {rerun_calls} calls, "
              f"{time.perf_counter() - t1:.2f}s")
        store.close()

        import openai

        sub = papers[: a.baseline_papers]
        client = openai.AsyncOpenAI(api_key="x", base_url=fake.openai_url, max_retries=0)

        async def baseline() -> tuple[int, float]:
            t = time.perf_counter()
            try:
                n = await seed_pattern(client, sub)
            finally:
                await client.close()
            return n, time.perf_counter() - t

        b_calls, b_sec = asyncio.run(baseline())
        b_total = b_sec * len(papers) / len(sub)
        print(f"baseline (seed pattern, 5 sequential calls/paper): {b_calls} calls on "
              f"{len(sub)} papers in {b_sec:.1f}s, extrapolated to {len(papers)} papers: "
              f"{b_total:.1f}s")
    print(f"{'':12}{'papersift':>12}{'baseline':>12}{'ratio':>10}")
    print(f"{'calls':12}{calls:>12}{b_calls * len(papers) // len(sub):>12}"
          f"{b_calls * len(papers) / len(sub) / max(calls, 1):>9.1f}x")
    print(f"{'seconds':12}{seconds:>12.2f}{b_total:>12.1f}{b_total / seconds:>9.1f}x")
    print(f"enrich papers={len(papers)} calls={calls} calls_per_paper={calls / len(papers):.2f} "
          f"seconds={seconds:.2f} rerun_calls={rerun_calls} baseline_seconds={b_total:.1f} "
          f"speedup={b_total / seconds:.1f}")


if __name__ == "__main__":
    main()
