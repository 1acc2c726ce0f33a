"""Affiliations from a real PDF (made with reportlab, served from loopback) and the Chinese
reading task written through the real SDK against the loopback LLM server."""

from __future__ import annotations

import datetime as dt
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support.fake_llm import FakeLLM

from papersift.config import load_settings
from papersift.enrich.affiliations import (
    arxiv_pdf_url,
    fetch_affiliations,
    first_page_header,
    heuristic_affiliations,
)
from papersift.enrich.llm import llm_retry as RetryPolicy
from papersift.enrich.llm import make_llm
from papersift.enrich.reading import ReadingUnavailable, make_reading, pinyin_line
from papersift.http import HttpClient
from papersift.http import RetryPolicy as HttpRetry
from papersift.model import Paper

HEADER = [
    "Teacher Hacking in Language Model Distillation",
    "Daniil Tiapkin 1 2  Daniele Calandriello 2  Mathieu Blondel 2",
    "1 CMAP, Ecole Polytechnique, Institut Polytechnique de Paris",
    "2 Google DeepMind",
    "daniil.tiapkin@polytechnique.edu",
    "Abstract",
    "Post-training of language models relies on distillation. The University of Nowhere "
    "is not an author affiliation because it is below the abstract.",
]


def make_pdf(lines: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = 800
    for line in lines:
        c.drawString(60, y, line)
        y -= 22
    c.showPage()
    c.save()
    return buf.getvalue()


class PdfServer:
    """Serves /pdf/<id> from a dict on 127.0.0.1; unknown ids get 404."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.hits = files, []
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                key = self.path.rsplit("/", 1)[-1]
                srv.hits.append(key)
                body = srv.files.get(key)
                self.send_response(200 if body is not None else 404)
                self.send_header("content-type", "application/pdf")
                self.send_header("content-length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/pdf/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_header_and_heuristic_on_a_real_pdf():
    header = first_page_header(make_pdf(HEADER))
    assert "Google DeepMind" in header and "Nowhere" not in header
    affs = heuristic_affiliations(header)
    assert affs == ["CMAP, Ecole Polytechnique, Institut Polytechnique de Paris", "Google DeepMind"]


def test_fetch_affiliations_heuristic_llm_cache_and_broken_pdf(store):
    good = Paper(id="2502.11111", title="Teacher hacking", abstract="x")
    broken = Paper(id="2502.22222", title="Broken file", abstract="x")
    missing = Paper(id="2502.33333", title="Missing file", abstract="x")
    store.upsert_papers([good, broken, missing])
    pdfs = PdfServer({good.arxiv_id: make_pdf(HEADER), broken.arxiv_id: b"%PDF-1.4 garbage"})
    http = HttpClient(timeout=5, retry=HttpRetry(attempts=2, backoff=0.01))
    try:
        rep = fetch_affiliations(store, [good, broken, missing], http, None, arxiv_pdf_url(pdfs.url))
        assert rep.done == 1 and set(rep.failed) == {broken.id, missing.id}
        assert "PDF" in rep.failed[broken.id] and "404" in rep.failed[missing.id]
        assert store.get_paper(good.id).affiliations[-1] == "Google DeepMind"
        hits = len(pdfs.hits)
        # Cached per paper: with --force-free re-runs, a paper that has them is skipped, and
        # one that lost them is answered from the cache without a download.
        rep2 = fetch_affiliations(store, [good.model_copy(update={"affiliations": []})], http,
                                  None, arxiv_pdf_url(pdfs.url))
        assert rep2.cached == 1 and len(pdfs.hits) == hits
        with FakeLLM() as fake:
            s = load_settings(None, provider="openai", model="m", base_url=fake.openai_url)
            llm = make_llm(s, RetryPolicy(base_delay=0.01))
            rep3 = fetch_affiliations(store, [good], http, llm, arxiv_pdf_url(pdfs.url), force=True)
            assert rep3.done == 1 and len(fake.calls("affiliations")) == 1
            sent = fake.calls("affiliations")[0].body["messages"][-1]["content"]
            assert "Google DeepMind" in sent and "Nowhere" not in sent
    finally:
        http.close()
        pdfs.close()


def test_reading_needs_an_llm_and_computes_pinyin_and_vocab(store):
    day = dt.date(2025, 2, 6)
    top = Paper(id="2502.44444", title="Top paper", abstract="About language models.",
                hf_date=day, upvotes=50)
    low = Paper(id="2502.55555", title="Other paper", abstract="Other.", hf_date=day, upvotes=3)
    store.upsert_papers([top, low])
    with pytest.raises(ReadingUnavailable, match="needs an LLM"):
        make_reading(store, day, None)
    assert store.get_reading(day) is None
    with FakeLLM() as fake:
        llm = make_llm(load_settings(None, provider="openai", model="m", base_url=fake.openai_url))
        r = make_reading(store, day, llm)
        assert fake.calls("reading")[0].title == top.title
    assert store.get_reading(day) == r
    assert r.source_paper_id == top.id and r.translation.startswith("Today")
    assert "yǔyán" in r.pinyin and "móxíng" in r.pinyin and "lùnwén" in r.pinyin
    words = {v.word: v for v in r.vocab}
    assert words["论文"].pinyin == "lùn wén" and words["论文"].trans == "paper"
    assert "今天" not in words  # one of the most common words: left out
    with pytest.raises(ReadingUnavailable, match="no papers"):
        make_reading(store, dt.date(2020, 1, 1), make_llm(load_settings(
            None, provider="openai", model="m", base_url="http://127.0.0.1:9/v1")))


def test_pinyin_line_keeps_latin_and_punctuation():
    assert pinyin_line("我们用LLM。") == "wǒmen yòng LLM。"
