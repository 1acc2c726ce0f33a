"""The image step: 100 generated papers (reportlab: title block, authors with affiliation
marks, abstract, figure, body text) served by the loopback arXiv server, through
`run_images` at concurrency 4 with the affiliations read from the same download (heuristic,
no model). Beside it, the seed pipeline's approach on the same PDFs from the same server:
page 1 rendered whole at 2x and saved as JPEG (PyMuPDF if it installs, else pypdfium2), its
affiliation step downloading the PDF a second time.

    python bench/images.py [--data ../shared/data/arxiv/arxiv-papers.jsonl.gz] [--work DIR]

With --data, titles, authors and abstracts are those of real arXiv records (else generated).
--work keeps the generated PDFs between runs. Prints papers/s, median and p95 WebP bytes,
peak RSS, PDF downloads per paper, the baseline's figures and the ratio; last line
`images papers=100 papers_per_s=R median_kb=M p95_kb=P pdf_downloads_per_paper=D
baseline_papers_per_s=B`.
"""

from __future__ import annotations

import argparse
import gzip
import io
import itertools
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback server and the PDF maker live there

from support.fake_hf_arxiv import FakeServer  # noqa: E402
from support.pdfs import LOREM, paper_pdf  # noqa: E402

from papersift.enrich.affiliations import first_page_header, heuristic_affiliations  # noqa: E402
from papersift.http import HttpClient  # noqa: E402
from papersift.images.files import ImageFiles  # noqa: E402
from papersift.images.pipeline import arxiv_sources, run_images  # noqa: E402
from papersift.model import Paper  # noqa: E402
from papersift.store import open_store  # noqa: E402

N = 100
CONCURRENCY = 4


def specs(data: Path | None) -> list[dict]:
    rows: list[dict] = []
    if data is not None:
        with gzip.open(data, "rt", encoding="utf-8") as f:
            for r in itertools.islice(f, 20000, 20000 + N):
                d = json.loads(r)
                rows.append({"title": d["title"], "authors": d["authors"][:12] or ["Anonymous"],
                             "abstract": d["abstract"] or LOREM})
    while len(rows) < N:
        i = len(rows)
        rows.append({"title": f"Scaling Sparse Experts for Long Context Reasoning, Part {i}",
                     "authors": [f"Author {k} Name{i}" for k in range(2 + i % 9)], "abstract": LOREM})
    for i, r in enumerate(rows):
        r["arxiv_id"] = f"2502.{20000 + i:05d}"
        r["affiliations"] = tuple(f"{u} University of {c}" for u, c in
                                  zip(("Dept. of CS,", "School of AI,", "Lab 3,"),
                                      ("Tartu", "Lyon", "Kyoto", "Lima"), strict=False))[: 1 + i % 3]
    return rows


def make_pdfs(rows: list[dict], work: Path | None) -> dict[str, bytes]:
    out = {}
    for i, r in enumerate(rows):
        cached = work / f"{r['arxiv_id']}.pdf" if work else None
        if cached is not None and cached.exists():
            out[r["arxiv_id"]] = cached.read_bytes()
            continue
        marks = tuple((a, str(1 + k % len(r["affiliations"]))) for k, a in enumerate(r["authors"]))
        pdf = paper_pdf(r["title"], marks, r["affiliations"], r["abstract"], seed=i)
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(pdf)
        out[r["arxiv_id"]] = pdf
    return out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ours(server: FakeServer, papers: list[Paper], tmp: Path) -> tuple[float, list[int], int, int]:
    store = open_store(tmp / "bench.db")
    store.upsert_papers(papers)
    ps = [store.get_paper(p.id) for p in papers]
    before = len(server.log)
    with HttpClient(timeout=30) as http:
        t0 = time.perf_counter()
        rep = run_images(store, ps, http, ImageFiles(tmp / "images"), sources=arxiv_sources(server.url),
                         kinds=("title",), affiliations=True, concurrency=CONCURRENCY)
        secs = time.perf_counter() - t0
    downloads = len([r for r in server.log[before:] if r.path.startswith("/pdf/")])
    sizes = [r["title"].bytes for r in store.get_images().values() if r["title"].file]
    failed = len(rep.failed)
    aff = rep.affiliations.done if rep.affiliations else 0
    store.close()
    print(f"papersift: {len(ps)} papers in {secs:.2f}s, {len(sizes)} title images, {failed} failed, "
          f"{aff} affiliation lists from the same downloads")
    return secs, sizes, downloads, failed


def baseline(server: FakeServer, papers: list[Paper]) -> tuple[str, float, list[int], int]:
    """The seed's way: whole page 1 at 2x as JPEG; affiliations fetch the PDF again."""
    try:
        import pymupdf

        def render(pdf: bytes) -> bytes:
            with pymupdf.open(stream=pdf, filetype="pdf") as doc:
                return doc[0].get_pixmap(matrix=pymupdf.Matrix(2, 2)).tobytes("jpeg")
        name = f"PyMuPDF {pymupdf.__version__} 2x JPEG"
    except ImportError:
        import pypdfium2 as pdfium

        def render(pdf: bytes) -> bytes:
            doc = pdfium.PdfDocument(pdf)
            buf = io.BytesIO()
            doc[0].render(scale=2).to_pil().save(buf, "JPEG")
            doc.close()
            return buf.getvalue()
        name = "pypdfium2 full page 2x JPEG (PyMuPDF not installed)"
    lock = threading.Lock()  # neither library is safe to call from several threads at once
    before = len(server.log)
    src = arxiv_sources(server.url)

    def one(http: HttpClient, p: Paper) -> int:
        url = src.pdf_url(p) or ""
        pdf = http.get(url, parse=lambda r: r.content)
        with lock:
            jpg = render(pdf)
        pdf2 = http.get(url, parse=lambda r: r.content)  # the affiliation step's own download
        heuristic_affiliations(first_page_header(pdf2))
        return len(jpg)

    with HttpClient(timeout=30) as http, ThreadPoolExecutor(CONCURRENCY) as pool:
        t0 = time.perf_counter()
        sizes = list(pool.map(lambda p: one(http, p), papers))
        secs = time.perf_counter() - t0
    downloads = len([r for r in server.log[before:] if r.path.startswith("/pdf/")])
    return name, secs, sizes, downloads


def pct(xs: list[int], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="arxiv-papers.jsonl.gz for real titles and authors")
    ap.add_argument("--work", type=Path, help="keep the generated PDFs here between runs")
    a = ap.parse_args()
    rows = specs(a.data)
    t = time.perf_counter()
    pdfs = make_pdfs(rows, a.work)
    print(f"{len(pdfs)} PDFs ready ({sum(map(len, pdfs.values())) / len(pdfs) / 1024:.1f} KB each) "
          f"in {time.perf_counter() - t:.1f}s")
    papers = [Paper(arxiv_id=r["arxiv_id"], title=r["title"], authors=r["authors"]) for r in rows]
    with FakeServer() as server, tempfile.TemporaryDirectory() as tmp:
        for pid, pdf in pdfs.items():
            server.add_pdf(pid, pdf)
        rss0 = peak_rss_mb()
        secs, sizes, downloads, failed = ours(server, papers, Path(tmp))
        rss = peak_rss_mb()
        name, bsecs, bsizes, bdown = baseline(server, papers)
    rate, brate = N / secs, N / bsecs
    med, p95 = statistics.median(sizes) / 1024, pct(sizes, 0.95) / 1024
    d = downloads / N
    print(f"papersift: {rate:.1f} papers/s, WebP median {med:.1f} KB, p95 {p95:.1f} KB, "
          f"max {max(sizes) / 1024:.1f} KB, peak RSS {rss:.0f} MB (before the step {rss0:.0f} MB), "
          f"{d:.2f} PDF downloads per paper")
    print(f"baseline ({name}): {brate:.1f} papers/s, JPEG median "
          f"{statistics.median(bsizes) / 1024:.1f} KB, p95 {pct(bsizes, 0.95) / 1024:.1f} KB, "
          f"{bdown / N:.2f} PDF downloads per paper")
    print(f"ratio: papersift {rate / brate:.2f}x the baseline's papers/s, "
          f"{statistics.median(bsizes) / max(1, statistics.median(sizes)):.1f}x smaller files")
    if failed:
        print(f"warning: {failed} papers failed")
    print(f"images papers={N} papers_per_s={rate:.1f} median_kb={med:.1f} p95_kb={p95:.1f} "
          f"pdf_downloads_per_paper={d:.2f} baseline_papers_per_s={brate:.1f}")


if __name__ == "__main__":
    main()
