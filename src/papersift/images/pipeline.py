"""`papersift images`: for each paper, its title image (page 1 of the arXiv PDF), its teaser
figure (the arXiv HTML version's first figure, with its caption) and, when asked, its Hugging
Face thumbnail, each made once into a small WebP file.

The PDF is downloaded once per paper and read once: the same pass gives the title image and
the visible header text the affiliation step reads (enrich/affiliations.py), and the PDF is
dropped. A paper whose records are all present (made, or failed for good) is skipped without
a request, so a re-run renders nothing; failures that may pass (network, 5xx) are tried again
next time. Downloads overlap in `concurrency` threads; PDFium itself runs one page at a time
(images/pdf.py), and the HTTP client paces each host.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..enrich.affiliations import (
    AffiliationReport,
    affiliations_from,
    checked_header,
    wants_pdf,
)
from ..enrich.llm import LLM
from ..errors import AffiliationError, HttpError, ImageError
from ..http import HttpClient
from ..model import Paper
from ..runs import record_run
from ..store.base import ImageRecord, Store
from .encode import decode, ink_fraction, to_webp, trim
from .figures import first_figure
from .files import ImageFiles
from .pdf import read_first_page

KINDS = ("title", "figure", "thumbnail")
RECIPE = "img-v1"  # bump when the crop or the encoding changes: every image is made again
RENDER_WIDTH = 800
MAX_DOWNLOAD = 60 * 1024 * 1024
_MIN_INK = 0.001  # a title block with less ink than this is blank (white page, lost fonts)

Progress = Callable[[str, str], None]  # (paper id, status)


@dataclass
class ImageSources:
    """Where a paper's PDF and HTML version are (arXiv by default; tests use loopback), and
    which hosts a thumbnail may come from (a URL in a record is untrusted: no fetching of
    arbitrary addresses)."""

    pdf_url: Callable[[Paper], str | None]
    html_url: Callable[[Paper], str | None]
    thumbnail_hosts: tuple[str, ...] = ("huggingface.co", "hf.co")

    def thumbnail_ok(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == h or host.endswith("." + h) for h in self.thumbnail_hosts)


def arxiv_sources(base: str = "https://arxiv.org", hf_base: str | None = None) -> ImageSources:
    b = base.rstrip("/")
    extra = (urlsplit(hf_base).hostname or "",) if hf_base else ()
    return ImageSources(
        pdf_url=lambda p: f"{b}/pdf/{p.arxiv_id}" if p.arxiv_id else _web(p.links.get("pdf")),
        html_url=lambda p: f"{b}/html/{p.arxiv_id}" if p.arxiv_id else None,
        thumbnail_hosts=("huggingface.co", "hf.co", *extra))


def _web(url: str | None) -> str | None:
    return url if url and url.lower().startswith(("http://", "https://")) else None


@dataclass
class ImageReport:
    selected: int = 0
    made: Counter[str] = field(default_factory=Counter)  # kind -> images made
    kept: int = 0  # papers that needed nothing
    failed: dict[str, str] = field(default_factory=dict)  # paper id -> "kind: reason; ..."
    pdf_downloads: int = 0
    affiliations: AffiliationReport | None = None
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        c: dict[str, Any] = {"selected": self.selected, "kept": self.kept,
                             "failed": len(self.failed), "pdf_downloads": self.pdf_downloads}
        c.update({f"made_{k}": n for k, n in sorted(self.made.items())})
        if self.affiliations is not None:
            a = self.affiliations
            c.update(affiliations_done=a.done, affiliations_cached=a.cached,
                     affiliations_failed=len(a.failed))
        return c

    def summary(self) -> str:
        made = ", ".join(f"{n} {k}" for k, n in sorted(self.made.items())) or "nothing new"
        line = (f"images: {self.selected} papers: made {made}; {self.kept} already done, "
                f"{len(self.failed)} with failures; {self.pdf_downloads} PDF downloads")
        if self.affiliations is not None:
            a = self.affiliations
            line += (f"; affiliations {a.done} read, {a.cached} cached, {a.skipped} known, "
                     f"{len(a.failed)} failed")
        return line + f" in {self.seconds:.1f}s"


@dataclass
class _Result:
    paper: Paper
    records: list[ImageRecord] = field(default_factory=list)
    header: str | None = None
    header_error: Exception | None = None  # why there is no header (kept for affiliations)
    downloaded: bool = False


def _retry(e: HttpError) -> bool:
    return e.status is None or e.status >= 500 or e.status == 429


def _failed(pid: str, kind: str, why: str, retry: bool = False, url: str = "") -> ImageRecord:
    return ImageRecord(pid, kind, failure=why[:300], retry=retry, source_url=url)


class _Maker:
    def __init__(self, http: HttpClient, files: ImageFiles, sources: ImageSources):
        self.http, self.files, self.sources = http, files, sources

    def get(self, url: str) -> bytes:
        data = self.http.get(url, parse=lambda r: r.content)
        if len(data) > MAX_DOWNLOAD:
            raise ImageError(f"download too large ({len(data) // 1048576} MB)")
        return data

    def store(self, p: Paper, kind: str, img: Any, source: bytes, url: str,
              caption: str = "") -> ImageRecord:
        data, w, h = to_webp(img, RENDER_WIDTH)
        name, digest = self.files.put(p.id, kind, data)
        src = f"{RECIPE}:{hashlib.sha256(source).hexdigest()[:16]}"
        return ImageRecord(p.id, kind, name, len(data), w, h, digest, src, url, caption)

    def work(self, p: Paper, kinds: set[str], need_header: bool) -> _Result:
        res = _Result(p)
        url = self.sources.pdf_url(p)
        if "title" in kinds or need_header:
            res.records += self.title(p, url, "title" in kinds, res)
        if "figure" in kinds:
            res.records.append(self.figure(p))
        if "thumbnail" in kinds:
            res.records.append(self.thumbnail(p))
        return res

    def title(self, p: Paper, url: str | None, want_image: bool, res: _Result) -> list[ImageRecord]:
        out = []
        try:
            if not url:
                raise ImageError("no PDF link")
            res.downloaded = True
            pdf = self.get(url)
            fp = read_first_page(pdf, render_width=RENDER_WIDTH if want_image else None)
            try:
                res.header = checked_header(fp.header, fp.chars)
            except AffiliationError as e:
                res.header_error = e
            if want_image:
                img = trim(fp.image)
                if ink_fraction(img) < _MIN_INK:
                    raise ImageError("the title block renders blank")
                out.append(self.store(p, "title", img, pdf, url))
        except HttpError as e:
            res.header_error = e
            if want_image:
                out.append(_failed(p.id, "title", str(e), _retry(e), url or ""))
        except ImageError as e:
            res.header_error = res.header_error or AffiliationError(str(e))
            if want_image:
                out.append(_failed(p.id, "title", str(e), False, url or ""))
        return out

    def figure(self, p: Paper) -> ImageRecord:
        page = self.sources.html_url(p)
        if not page:
            return _failed(p.id, "figure", "no arXiv HTML version (no arXiv id)")
        try:
            try:
                final, html = self.http.get(page, parse=lambda r: (str(r.url), r.text))
            except HttpError as e:
                if e.status == 404:
                    return _failed(p.id, "figure", "no arXiv HTML version", False, page)
                raise
            fig = first_figure(html, final)
            if fig is None:
                return _failed(p.id, "figure", "the HTML version has no figure with a picture",
                               False, page)
            src, caption = fig
            if urlsplit(src).netloc != urlsplit(final).netloc:
                return _failed(p.id, "figure", "the first figure is on another host", False, page)
            raw = self.get(src)
            return self.store(p, "figure", trim(decode(raw)), raw, src, caption)
        except HttpError as e:
            return _failed(p.id, "figure", str(e), _retry(e), page)
        except ImageError as e:
            return _failed(p.id, "figure", str(e), False, page)

    def thumbnail(self, p: Paper) -> ImageRecord:
        url = _web(p.links.get("thumbnail"))
        if not url:
            return _failed(p.id, "thumbnail", "no Hugging Face thumbnail")
        if not self.sources.thumbnail_ok(url):
            return _failed(p.id, "thumbnail", "the thumbnail is not on Hugging Face", False, url)
        try:
            raw = self.get(url)
            return self.store(p, "thumbnail", decode(raw), raw, url)
        except HttpError as e:
            return _failed(p.id, "thumbnail", str(e), _retry(e), url)
        except ImageError as e:
            return _failed(p.id, "thumbnail", str(e), False, url)


def _require() -> None:
    try:
        import PIL  # noqa: F401
        import pypdfium2  # noqa: F401
    except ImportError as e:
        raise ImageError(f"images need {e.name}: pip install 'papersift[images]'") from None


def _needed(rec: ImageRecord | None, files: ImageFiles, force: bool) -> bool:
    if force or rec is None or rec.retry:
        return True
    if rec.failure:
        return False
    return not rec.source_hash.startswith(RECIPE + ":") or not files.exists(rec.file)


def run_images(store: Store, papers: list[Paper], http: HttpClient, files: ImageFiles, *,
               sources: ImageSources | None = None, kinds: tuple[str, ...] = ("title", "figure"),
               affiliations: bool = True, llm: LLM | None = None, force: bool = False,
               concurrency: int = 4, progress: Progress | None = None) -> ImageReport:
    """Make the missing images of `papers` (and, with `affiliations`, read the affiliations
    from the same PDF downloads); record the run. One paper's failure never stops the rest."""
    src = sources or arxiv_sources()
    _require()
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ImageError(f"unknown image kind {bad[0]!r}: use {', '.join(KINDS)}")
    t0 = time.perf_counter()
    rep = ImageReport(selected=len(papers))
    params = {"n": len(papers), "kinds": list(kinds), "affiliations": affiliations,
              "force": force, "concurrency": concurrency}
    with record_run(store, "images", params) as run:
        have = store.get_images([p.id for p in papers])
        todo: list[tuple[Paper, set[str], bool]] = []
        for p in papers:
            mine = have.get(p.id, {})
            want = {k for k in kinds if _needed(mine.get(k), files, force)}
            need_header = affiliations and wants_pdf(store, p, llm, force)
            if want or need_header:
                todo.append((p, want, need_header))
            else:
                rep.kept += 1
                if progress:
                    progress(p.id, "kept")
        maker = _Maker(http, files, src)
        headers: dict[str, str | Exception] = {}
        with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="images") as pool:
            futures = [pool.submit(maker.work, p, want, nh) for p, want, nh in todo]
            for fut in as_completed(futures):
                res = fut.result()
                pid = res.paper.id
                rep.pdf_downloads += res.downloaded
                store.save_images(res.records)
                old = have.get(pid, {})
                for r in res.records:
                    prev = old.get(r.kind)
                    if r.file:
                        rep.made[r.kind] += 1
                        if prev is not None and prev.file and prev.file != r.file:
                            files.remove(prev.file)
                fails = [f"{r.kind}: {r.failure}" for r in res.records if r.failure]
                if fails:
                    rep.failed[pid] = "; ".join(fails)
                headers[pid] = (res.header if res.header is not None
                                else res.header_error or AffiliationError("no PDF text"))
                if progress:
                    progress(pid, "failed" if fails else "done")
        if affiliations:
            async def header(p: Paper) -> str:
                h = headers.get(p.id)
                if h is None:  # not fetched: nothing needed it (known or cached)
                    raise AffiliationError("no PDF text")
                if isinstance(h, Exception):
                    raise h
                return h

            rep.affiliations = affiliations_from(store, papers, header, llm, src.pdf_url, force)
        rep.seconds = time.perf_counter() - t0
        run.counts = rep.counts()
        run.errors = [f"{pid}: {why}" for pid, why in list(rep.failed.items())[:200]]
    return rep
