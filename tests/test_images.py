"""The image step on real generated PDFs and HTML versions served from loopback: title
images that fit and are not blank, teaser figures with captions, per-paper failures with
reasons (encrypted, image-only, truncated, missing), one PDF download shared with the
affiliations, and a re-run that downloads and renders nothing."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from support.fake_hf_arxiv import FakeServer
from support.fake_llm import FakeLLM
from support.pdfs import (
    INJECTION,
    encrypted_pdf,
    figure_png,
    html_version,
    image_only_pdf,
    paper_pdf,
    truncated_pdf,
)

from papersift.config import load_settings
from papersift.enrich.affiliations import first_page_header, trusted
from papersift.enrich.llm import llm_retry, make_llm
from papersift.http import HttpClient, RetryPolicy
from papersift.images.encode import ink_fraction
from papersift.images.files import ImageFiles
from papersift.images.pdf import read_first_page
from papersift.images.pipeline import arxiv_sources, run_images
from papersift.model import Paper

GOOD, LOCKED, SCAN, CUT, GONE, NOHTML = ("2502.00001", "2502.00002", "2502.00003", "2502.00004",
                                         "2502.00005", "2502.00006")


@pytest.fixture()
def server():
    with FakeServer() as s:
        yield s


def http() -> HttpClient:
    return HttpClient(timeout=5, retry=RetryPolicy(attempts=2, backoff=0.01))


def papers(store, ids):
    ps = [Paper(arxiv_id=i, title=f"Paper {i}", abstract="x") for i in ids]
    store.upsert_papers(ps)
    return [store.get_paper(i) for i in ids]


def load(files: ImageFiles, name: str) -> Image.Image:
    data = files.path(name).read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    return Image.open(io.BytesIO(data))


def test_title_images_figures_failures_and_a_rerun_that_does_nothing(store, server, tmp_path):
    server.add_pdf(GOOD, paper_pdf())
    server.add_html(GOOD, html_version(GOOD, "Overview: the <teacher> & the student."),
                    {"x1.png": figure_png(1)})
    server.add_pdf(LOCKED, encrypted_pdf())
    server.add_pdf(SCAN, image_only_pdf())
    server.add_pdf(CUT, truncated_pdf())
    server.add_pdf(NOHTML, paper_pdf("Another Paper Entirely", seed=2))
    ps = papers(store, [GOOD, LOCKED, SCAN, CUT, GONE, NOHTML])
    files = ImageFiles(tmp_path / "images")
    seen = []
    with http() as h:
        rep = run_images(store, ps, h, files, sources=arxiv_sources(server.url),
                         progress=lambda pid, st: seen.append((pid, st)))
    assert sorted(pid for pid, _ in seen) == sorted(p.id for p in ps)
    assert rep.made["title"] == 2 and rep.made["figure"] == 1
    imgs = store.get_images()
    t = imgs[GOOD]["title"]
    assert 0 < t.bytes <= 60_000 and t.bytes == files.path(t.file).stat().st_size
    im = load(files, t.file)
    assert im.size == (t.width, t.height) and 500 <= t.width <= 800 and t.height < t.width
    # the title block is there: ink in its top half (title line), and the crop ends above
    # the abstract (the picture is short: a third of the page at most)
    top = im.convert("L").crop((0, 0, im.width, im.height // 2))
    assert ink_fraction(top) > 0.01
    assert t.height < 0.45 * t.width
    f = imgs[GOOD]["figure"]
    assert f.caption == "Figure 1: Overview: the <teacher> & the student."
    assert f.width == 800 and load(files, f.file).size == (800, f.height)
    assert f.source_url.endswith(f"/html/{GOOD}v1/x1.png")
    why = {pid: r["title"].failure for pid, r in imgs.items()}
    assert why[LOCKED] == "encrypted PDF (needs a password)"
    assert why[SCAN].startswith("image-only PDF")
    assert why[CUT].startswith("damaged or truncated PDF")
    assert "404" in why[GONE] and not imgs[GONE]["title"].retry
    assert imgs[NOHTML]["figure"].failure == "no arXiv HTML version"
    assert set(rep.failed) == {LOCKED, SCAN, CUT, GONE, NOHTML}
    assert "title: encrypted" in rep.failed[LOCKED]
    # one PDF download per paper, shared with the affiliations read from it
    assert len([r for r in server.log if r.path.startswith("/pdf/")]) == len(ps) == rep.pdf_downloads
    assert store.get_paper(GOOD).affiliations == [
        "CMAP, Ecole Polytechnique, Institut Polytechnique de Paris", "Google Research"]
    assert rep.affiliations is not None and rep.affiliations.done == 2
    # a re-run: no request at all, nothing rendered
    n = len(server.log)
    with http() as h:
        again = run_images(store, [store.get_paper(p.id) for p in ps], h, files,
                           sources=arxiv_sources(server.url))
    assert len(server.log) == n and sum(again.made.values()) == 0 and again.kept == len(ps)
    # --force makes them again (same bytes: same file name)
    with http() as h:
        forced = run_images(store, ps[:1], h, files, sources=arxiv_sources(server.url),
                            force=True, affiliations=False)
    assert forced.made["title"] == 1 and store.get_images([GOOD])[GOOD]["title"].file == t.file


def test_a_failure_that_may_pass_is_tried_again(store, server, tmp_path):
    from support.fake_hf_arxiv import Fault

    server.add_pdf(GOOD, paper_pdf())
    server.fail_next(f"/pdf/{GOOD}", Fault.status(503), Fault.status(503))
    ps = papers(store, [GOOD])
    files = ImageFiles(tmp_path / "images")
    with http() as h:
        rep = run_images(store, ps, h, files, sources=arxiv_sources(server.url), kinds=("title",))
        rec = store.get_images()[GOOD]["title"]
        assert rep.made["title"] == 0 and rec.retry and "503" in rec.failure
        rep = run_images(store, ps, h, files, sources=arxiv_sources(server.url), kinds=("title",))
    assert rep.made["title"] == 1 and store.get_images()[GOOD]["title"].file


def test_thumbnails_are_downloaded_once_and_resized(store, server, tmp_path):
    url = server.add_file("/social-thumbnails/papers/2502.00001.png", figure_png(3, (1200, 648)), "image/png")
    p = Paper(arxiv_id=GOOD, title="T", links={"thumbnail": url})
    store.upsert_papers([p])
    files = ImageFiles(tmp_path / "images")
    with http() as h:
        # a thumbnail from anywhere but Hugging Face (here: the configured HF root) is not fetched
        run_images(store, [p], h, files, kinds=("thumbnail",), affiliations=False)
        assert store.get_images()[GOOD]["thumbnail"].failure == "the thumbnail is not on Hugging Face"
        src = arxiv_sources(server.url, hf_base=server.url)
        run_images(store, [p], h, files, sources=src, kinds=("thumbnail",), affiliations=False, force=True)
        run_images(store, [p], h, files, sources=src, kinds=("thumbnail",), affiliations=False)
    rec = store.get_images()[GOOD]["thumbnail"]
    assert (rec.width, rec.height) == (800, 432) and rec.bytes <= 60_000
    assert len(server.requests_to("/social-thumbnails/papers/2502.00001.png")) == 1


def test_invisible_text_never_reaches_the_model_and_invented_names_are_dropped(store, server, tmp_path):
    pdf = paper_pdf(affiliations=("Research Lab of Paris", "University of Tartu"), hidden=INJECTION)
    fp = read_first_page(pdf)
    assert fp.hidden > 0 and "ignore previous" not in fp.header and "DeepMind" not in fp.header
    assert "University of Tartu" in first_page_header(pdf)
    server.add_pdf(GOOD, pdf)
    server.add_pdf(LOCKED, paper_pdf(affiliations=("Lab of Light Research",)))
    ps = papers(store, [GOOD, LOCKED])
    with FakeLLM() as fake, http() as h:
        fake.script("Paper 2502.00002", "invent:Google DeepMind")  # a model that makes names up
        llm = make_llm(load_settings(None, provider="openai", model="m", base_url=fake.openai_url),
                       llm_retry(base_delay=0.01))
        rep = run_images(store, ps, h, ImageFiles(tmp_path / "images"),
                         sources=arxiv_sources(server.url), kinds=("title",), llm=llm)
        sent = [c.body["messages"][-1]["content"] for c in fake.calls("affiliations")]
    assert rep.affiliations is not None and rep.affiliations.done == 2 and len(sent) == 2
    assert all("ignore previous" not in s and "DeepMind" not in s for s in sent)
    assert store.get_paper(GOOD).affiliations == ["Research Lab of Paris", "University of Tartu"]
    assert store.get_paper(LOCKED).affiliations == ["Lab of Light Research"]
    # The same PDF without the stripping would have carried the instruction: the fake
    # model obeys it, and then only the trust check stands between it and the site.
    assert trusted(["Google DeepMind", "University of Tartu"], "1 CMAP\n2 University of Tartu\n"
                   + INJECTION[:10]) == ["University of Tartu"]


def test_trust_check_forgives_case_punctuation_and_small_slips():
    header = "Anna Li1, Bo Chen2\n1 Dept. of Computer Science, Tsinghua University\n2 ETH Zürich\nanna@x.org"
    assert trusted(["Tsinghua University", "ETH ZURICH", "Dept of Computer Science, Tsinghua Univ",
                    "Google DeepMind", "OpenAI", "Tsinghua  University."], header) == [
        "Tsinghua University", "ETH ZURICH", "Dept of Computer Science, Tsinghua Univ",
        "Tsinghua  University."]


def test_a_figure_on_another_host_is_not_fetched(store, server, tmp_path):
    server.add_html(GOOD, html_version(GOOD, image="http://169.254.169.254/latest/x.png"))
    ps = papers(store, [GOOD])
    with http() as h:
        run_images(store, ps, h, ImageFiles(tmp_path / "images"), sources=arxiv_sources(server.url),
                   kinds=("figure",), affiliations=False)
    assert store.get_images()[GOOD]["figure"].failure == "the first figure is on another host"
