"""Author affiliations from the first page of the arXiv PDF.

The PDF is downloaded (shared HTTP client: timeout, retries, backoff), read in memory and
dropped; only the visible text above the abstract is looked at (images/pdf.py drops white,
zero-size, off-page and invisible text, where papers hide prompt injections). The image step
(images/pipeline.py) reads the same download and hands its header here, so a paper's PDF is
fetched once for both. Affiliations come from the LLM when one is configured, else from a
heuristic that keeps university / institute / lab / company lines; an LLM's answer keeps only
names found (fuzzily) in the text it was given. Results are cached per paper; a broken PDF
fails that paper only.
"""

from __future__ import annotations

import asyncio
import functools
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from ..errors import AffiliationError, ImageError
from ..http import HttpClient, HttpError
from ..model import Paper, Provenance
from ..runs import Commit, save_now
from ..store.base import Store
from .llm import LLM, LLMError, run_closing
from .schema import PayloadError, extract_json

PROMPT_VERSION = "aff-v2"  # v2: visible text only, answers checked against it
MAX_HEADER = 4000  # characters of first-page text sent to the LLM
MIN_MATCH = 90  # rapidfuzz partial_ratio for an affiliation to count as found in the text
_ORG = re.compile(
    r"Universit|Institut|\bLab\b|Labs\b|Laborator|College|School of|Academy|Acad\.|Cent(?:er|re)\b|"
    r"Department|Dept\.|Faculty|\bInc\b|\bInc\.|\bLtd\b|\bLLC\b|\bCorp|GmbH|Research|"
    r"Google|DeepMind|Microsoft|\bMeta\b|OpenAI|Anthropic|NVIDIA|Alibaba|Tencent|ByteDance|"
    r"Baidu|Huawei|Samsung|Apple|Amazon|\bIBM\b|Hugging ?Face|Salesforce|Mila\b|INRIA|Inria|"
    r"CNRS|ETH\b|EPFL|MIT\b|KAIST|大学|研究院|实验室")
_EMAIL = re.compile(r"\S+@\S+")
_MARK = re.compile(r"^[\s\d*†‡§¶♠♣♥♦,.;:]+")


def first_page_header(pdf: bytes) -> str:
    """Visible text of page 1 above the abstract. Raises AffiliationError for a broken PDF
    or one without a text layer."""
    from ..images.pdf import read_first_page

    try:
        fp = read_first_page(pdf)
    except ImageError as e:
        raise AffiliationError(str(e)) from None
    return checked_header(fp.header, fp.chars)


def checked_header(header: str, chars: int) -> str:
    if not chars:
        raise AffiliationError("image-only PDF (no text layer): no affiliations to read")
    return header[:MAX_HEADER].strip()


def _norm(s: str) -> str:
    s = unicodedata.normalize("NFKC", s).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", s).split())


def trusted(affiliations: list[str], header: str) -> list[str]:
    """The affiliations that occur in `header` (case, punctuation and small OCR-like slips
    forgiven): a model's invented or injected names do not survive."""
    text = _norm(header)
    out = []
    for a in affiliations:
        n = _norm(a)
        if len(n) >= 2 and (n in text or (len(n) >= 6 and fuzz.partial_ratio(n, text) >= MIN_MATCH)):
            out.append(a)
    return out


def heuristic_affiliations(header: str) -> list[str]:
    """Lines of the header that name an organisation (footnote marks and emails removed)."""
    out: list[str] = []
    for line in header.splitlines():
        line = _EMAIL.sub("", line)
        # One line may list several: "1University of X 2Google Research" or "A; B".
        for part in re.split(r";|\s(?=\d{1,2}\s?[A-Z][a-z])", line):
            part = _MARK.sub("", part).strip(" ,;")
            if not part or not _ORG.search(part) or len(part) > 160 or len(part.split()) > 16:
                continue
            if part not in out:
                out.append(part)
    return out


def _validate(data: Any) -> list[str]:
    items = data.get("affiliations") if isinstance(data, dict) else None
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise PayloadError('"affiliations" must be a list of strings')
    out = []
    for x in items:
        x = " ".join(x.split())
        if 2 <= len(x) <= 200 and x not in out:
            out.append(x)
    return out[:30]


async def llm_affiliations(llm: LLM, paper: Paper, header: str) -> list[str]:
    system = ("Task: affiliations\nYou read the first page of a research paper (the text above "
              "its abstract) and list the distinct institutions the authors belong to "
              "(universities, institutes, labs, companies), each once, as written. Return JSON "
              '{"affiliations": [string]} and nothing else.')
    user = f"Title: {paper.title}\nText:\n{header}"
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"affiliations": {"type": "array", "items": {"type": "string"}}},
              "required": ["affiliations"]}
    comp = await llm.complete(system, [{"role": "user", "content": user}], schema, "affiliations")
    return trusted(_validate(extract_json(comp.text)), header)


@dataclass
class AffiliationReport:
    done: int = 0
    cached: int = 0
    skipped: int = 0  # already had affiliations (e.g. from an HFday archive)
    failed: dict[str, str] = field(default_factory=dict)


def arxiv_pdf_url(base: str = "https://arxiv.org/pdf/") -> Callable[[Paper], str | None]:
    def url(p: Paper) -> str | None:
        return f"{base.rstrip('/')}/{p.arxiv_id}" if p.arxiv_id else p.links.get("pdf")
    return url


HeaderFn = Callable[[Paper], Awaitable[str]]  # a paper's checked header, or raises


def cache_key(p: Paper, llm: LLM | None) -> str:
    return f"aff:{PROMPT_VERSION}:{llm.model if llm else 'heuristic'}:{p.id}"


def wants_pdf(store: Store, p: Paper, llm: LLM | None, force: bool) -> bool:
    """Would reading `p`'s affiliations need its PDF (not known, not cached)?"""
    return force or (not p.affiliations and store.cache_get(cache_key(p, llm)) is None)


def _for_good(e: Exception) -> bool:
    if isinstance(e, AffiliationError):
        return True
    return isinstance(e, HttpError) and e.status is not None and 400 <= e.status < 500 and e.status != 429


def fetch_affiliations(store: Store, papers: list[Paper], http: HttpClient,
                       llm: LLM | None = None,
                       pdf_url: Callable[[Paper], str | None] | None = None,
                       force: bool = False,
                       progress: Callable[[str, str], None] | None = None,
                       commit: Commit = save_now) -> AffiliationReport:
    """Fill `Paper.affiliations` for papers that lack them, downloading their PDFs (one
    event loop for the LLM). `papersift images` does the same from its own download.
    `commit` receives each paper's outcome and the write that stores it (runs.Commit)."""
    url_of = pdf_url or arxiv_pdf_url()

    async def download(p: Paper) -> str:
        url = url_of(p)
        if not url:
            raise AffiliationError("no PDF link")
        pdf = await asyncio.to_thread(http.get, url, parse=lambda r: r.content)
        return first_page_header(pdf)

    return affiliations_from(store, papers, download, llm, url_of, force, progress, commit)


def affiliations_from(store: Store, papers: list[Paper], header: HeaderFn, llm: LLM | None,
                      pdf_url: Callable[[Paper], str | None], force: bool = False,
                      progress: Callable[[str, str], None] | None = None,
                      commit: Commit = save_now) -> AffiliationReport:
    """Affiliations for `papers` from the header text `header` gives for each."""
    return run_closing(llm, _fetch_all(store, papers, header, llm, pdf_url, force, progress,
                                       commit))


def _nothing() -> None:
    pass


async def _fetch_all(store: Store, papers: list[Paper], header_of: HeaderFn, llm: LLM | None,
                     pdf_url: Callable[[Paper], str | None], force: bool,
                     progress: Callable[[str, str], None] | None,
                     commit: Commit) -> AffiliationReport:
    # Sequential on purpose: arXiv asks robots to go slowly; the HTTP client paces per host.
    rep = AffiliationReport()
    model = llm.model if llm else "heuristic"

    def note(pid: str, status: str) -> None:
        if progress:
            progress(pid, status)

    for p in papers:
        key = cache_key(p, llm)
        if p.affiliations and not force:
            rep.skipped += 1
            commit(p.id, "skipped", _nothing, "")
            note(p.id, "skipped")
            continue
        hit = None if force else store.cache_get(key)
        url = pdf_url(p)
        if hit is not None:
            affs = hit["affiliations"]
            rep.cached += 1
            status = "cached"
        else:
            try:
                header = await header_of(p)
                affs = (await llm_affiliations(llm, p, header) if llm is not None
                        else heuristic_affiliations(header))
            except (AffiliationError, HttpError, LLMError, PayloadError) as e:
                rep.failed[p.id] = str(e)[:300]
                if _for_good(e):  # a broken or missing PDF stays so: not asked again
                    store.cache_put(key, {"affiliations": [], "method": model, "failed": str(e)[:300]})
                commit(p.id, "failed", _nothing, str(e)[:300])
                note(p.id, "failed")
                continue
            store.cache_put(key, {"affiliations": affs, "method": model})
            rep.done += 1
            status = "done"
        write: Callable[[], object] = _nothing
        if affs:
            data = p.model_dump()
            data.update(affiliations=affs, sources=[Provenance(source="pdf", ref=url or "")])
            write = functools.partial(store.upsert_papers, [Paper.model_validate(data)])
        commit(p.id, status, write, "")
        note(p.id, status)
    return rep
