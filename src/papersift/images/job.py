"""The image step with a user's settings: where files go, which kinds, the HTTP client."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..config import Settings
from ..enrich.llm import LLM
from ..http import HttpClient
from ..model import Paper
from ..store.base import Store
from .files import ImageFiles
from .pipeline import ImageReport, Progress, arxiv_sources, run_images


def images_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "images"


def kinds_for(settings: Settings) -> tuple[str, ...]:
    """Title crops and teaser figures always (paper pages show both); HF thumbnails only
    when cards show them (one more download per paper otherwise unused)."""
    return ("title", "figure") + (("thumbnail",) if settings.card_image == "thumbnail" else ())


def images_step(store: Store, settings: Settings, papers: list[Paper], *, llm: LLM | None = None,
                affiliations: bool = True, force: bool = False, concurrency: int = 4,
                kinds: tuple[str, ...] | None = None,
                progress: Progress | None = None) -> ImageReport:
    host = urlsplit(settings.arxiv_web_url).netloc
    # arXiv asks automated clients to go slowly; the client paces every request to it.
    pace = {host: 1.0} if host.endswith("arxiv.org") else {}
    with HttpClient(timeout=settings.request_timeout, min_interval=pace) as http:
        return run_images(store, papers, http, ImageFiles(images_dir(settings)),
                          sources=arxiv_sources(settings.arxiv_web_url, settings.hf_base_url),
                          kinds=kinds or kinds_for(settings), affiliations=affiliations, llm=llm,
                          force=force, concurrency=concurrency, progress=progress)
