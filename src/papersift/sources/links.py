"""Code and linked resources of papers: GitHub repo and stars, project page, and the counts of
Hugging Face models, datasets and Spaces that cite each paper.

Where each value comes from, first found wins:
- repo: the paper's own field (HF's `githubRepo`, an archive's link), else the first GitHub
  repository linked in its abstract, else in its arXiv comment;
- stars: the GitHub API (`GET /repos/{owner}/{repo}`; a token is optional: 60 requests an hour
  without, 5,000 with), else what HF said;
- project page: the paper's field (HF's `projectPage`), else a `*.github.io` page or a link
  introduced as the project page in the abstract or comment;
- HF counts: `GET /api/{models,datasets,spaces}?filter=arxiv:ID` (paged by the Link header).

A paper is looked up again once its last refresh is older than `max_age` (a day by default),
so a daily run costs one round of requests per new paper. GitHub's quota is read from every
answer (`X-RateLimit-Remaining`, `X-RateLimit-Reset`): when it is spent and resets later than
the client would wait, GitHub is not asked again in this run (the papers left keep their old
stars and stay due for the next run); `Retry-After` and short resets are waited out by
`http.HttpClient`. Nothing here raises for one paper: failures are reported per paper.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from ..config import Settings
from ..errors import HttpError
from ..http import BadBody, HttpClient, RetryPolicy
from ..model import Paper
from ..runs import record_run
from ..store.base import LinkStore, PaperLinks, RunStore
from . import web_url

NEVER = "1970-01-01T00:00:00+00:00"  # checked_at of a paper whose last refresh was incomplete
HF_KINDS = ("models", "datasets", "spaces")
HF_PAGE = 1000  # the Hub's largest page
HF_MAX_PAGES = 10  # 10,000 citing repos is already "very many"
WORKERS = 4

# github.com/<owner>/<repo>: owner per GitHub's rules, repo name characters; the first path
# segments below are GitHub's own pages, not users.
_GITHUB = re.compile(r"https?://(?:www\.)?github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/"
                     r"([A-Za-z0-9._-]{1,100})", re.IGNORECASE)
_NOT_OWNERS = frozenset({"about", "apps", "collections", "enterprise", "features", "login",
                         "marketplace", "orgs", "pricing", "security", "settings", "site",
                         "sponsors", "topics", "users"})
_URL = r"https?://[^\s<>\"'(){}\[\]]+"
_PAGES = re.compile(rf"{_URL}", re.IGNORECASE)
_NAMED_PAGE = re.compile(rf"(?:project\s+page|project\s+website|homepage|website)\s*[:\-]?\s*"
                         rf"(?:(?:is|at|available|can\s+be\s+found)\s+)*[:\-]?\s*({_URL})", re.IGNORECASE)
_TRAIL = ".,;:!?)]}>'\""


def _trim(url: str) -> str:
    return url.rstrip(_TRAIL)


def find_github(text: str | None) -> str | None:
    """The first GitHub repository linked in `text`, as https://github.com/owner/repo."""
    for m in _GITHUB.finditer(text or ""):
        owner, repo = m.group(1), _trim(m.group(2))
        repo = repo.removesuffix(".git")
        if owner.lower() in _NOT_OWNERS or not repo.strip("."):
            continue
        return f"https://github.com/{owner}/{repo}"
    return None


def find_project_page(text: str | None) -> str | None:
    """A project page linked in `text`: one introduced as such ("Project page: URL"), else
    the first *.github.io page."""
    text = text or ""
    m = _NAMED_PAGE.search(text)
    if m and web_url(_trim(m.group(1))):
        return _trim(m.group(1))
    for m2 in _PAGES.finditer(text):
        url = _trim(m2.group(0))
        host = url.split("/")[2].lower() if url.count("/") >= 2 else ""
        if host.endswith(".github.io"):
            return url
    return None


def repo_slug(url: str | None) -> str | None:
    """"owner/repo" of a GitHub repository URL (or of "owner/repo" itself), else None."""
    if not url:
        return None
    if not url.lower().startswith("http") and url.count("/") == 1:
        url = f"https://github.com/{url}"
    found = find_github(url)
    return found.split("github.com/", 1)[1] if found else None


class GitHubRateLimited(HttpError):
    """GitHub's quota is spent until `reset_in` seconds from now (longer than we wait)."""


class GitHubClient:
    """Stars of GitHub repositories, minding the quota every answer reports. Thread-safe."""

    def __init__(self, http: HttpClient, base_url: str = "https://api.github.com",
                 token: str | None = None, clock: Callable[[], float] = time.time):
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        # per request, never on the shared client: the token only goes to GitHub
        self._headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._lock = threading.Lock()
        self.remaining: int | None = None  # the quota left, as the last answer said
        self.reset_at: float | None = None  # epoch seconds
        self.requests = 0

    def _note(self, resp: httpx.Response) -> None:
        with self._lock:
            try:
                self.remaining = int(resp.headers["x-ratelimit-remaining"])
                self.reset_at = float(resp.headers["x-ratelimit-reset"])
            except (KeyError, ValueError):
                pass

    def check_quota(self) -> None:
        """Raise GitHubRateLimited when the quota is spent and resets later than the HTTP
        client would wait (a short wait is left to the client, which honours it)."""
        with self._lock:
            if self.remaining != 0 or self.reset_at is None:
                return
            wait = self.reset_at - self.clock()
        if wait > self.http.retry.max_wait:
            when = dt.datetime.fromtimestamp(self.reset_at, dt.UTC).strftime("%H:%M UTC")
            raise GitHubRateLimited(
                f"GitHub rate limit reached (resets at {when}, in {wait / 60:.0f} min); "
                "the papers left are looked up on the next run (set GITHUB_TOKEN for 5,000 "
                "requests an hour)", self.base_url, 429)

    def stars(self, slug: str) -> int | None:
        """Stargazers of `owner/repo`; None when GitHub does not know it (deleted, private)."""
        self.check_quota()
        url = f"{self.base_url}/repos/{slug}"

        def parse(resp: httpx.Response) -> Any:
            self._note(resp)
            try:
                return resp.json()
            except ValueError as e:
                raise BadBody(f"not valid JSON: {e}") from None

        with self._lock:
            self.requests += 1
        try:
            data = self.http.get(url, parse=parse, headers=self._headers)
        except HttpError as e:
            if e.status == 404:
                return None
            if e.status == 401:
                raise HttpError(f"GET {url}: HTTP 401: GitHub rejected the token; check "
                                "GITHUB_TOKEN / PAPERSIFT_GITHUB_TOKEN", url, 401) from None
            if e.status == 429:
                raise GitHubRateLimited(f"{e}", url, 429) from None
            raise
        n = data.get("stargazers_count") if isinstance(data, dict) else None
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise HttpError(f"GET {url}: no stargazers_count in the answer", url)
        return n


class HFResources:
    """How many HF models, datasets and Spaces cite a paper (`filter=arxiv:ID`)."""

    def __init__(self, http: HttpClient, base_url: str = "https://huggingface.co",
                 token: str | None = None):
        self.http = http
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else None
        self._lock = threading.Lock()
        self.requests = 0

    def count(self, kind: str, arxiv_id: str) -> int:
        url: str | None = f"{self.base_url}/api/{kind}"
        params: dict[str, Any] | None = {"filter": f"arxiv:{arxiv_id}", "limit": HF_PAGE}
        total = 0
        for _ in range(HF_MAX_PAGES):
            if url is None:
                break
            with self._lock:
                self.requests += 1
            items, url = self.http.get(url, params, parse=_hf_page, headers=self._headers)
            params = None  # the next link carries them
            total += len(items)
        return total

    def counts(self, arxiv_id: str) -> dict[str, int]:
        return {k: self.count(k, arxiv_id) for k in HF_KINDS}


def _hf_page(resp: httpx.Response) -> tuple[list[Any], str | None]:
    try:
        items = resp.json()
    except ValueError as e:
        raise BadBody(f"not valid JSON: {e}") from None
    if not isinstance(items, list):
        raise BadBody(f"expected a JSON list, got {type(items).__name__}")
    nxt = resp.links.get("next", {}).get("url")
    return items, str(resp.url.join(nxt)) if nxt else None


@dataclass
class LinksResult:
    selected: int = 0
    fresh: int = 0  # refreshed less than max_age ago: skipped
    refreshed: int = 0  # every lookup answered
    partial: int = 0  # saved, but some lookup failed (due again next run)
    changed: int = 0  # papers whose shown values changed
    with_code: int = 0
    with_weights: int = 0
    github_requests: int = 0
    hf_requests: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # paper id -> why (first failure)
    rate_limited: str | None = None  # GitHub's quota message, when it stopped the lookups
    seconds: float = 0.0

    def counts(self) -> dict[str, Any]:
        return {"selected": self.selected, "fresh": self.fresh, "refreshed": self.refreshed,
                "partial": self.partial, "changed": self.changed, "with_code": self.with_code,
                "with_weights": self.with_weights, "github_requests": self.github_requests,
                "hf_requests": self.hf_requests, "failed": len(self.failed)}

    def summary(self) -> str:
        s = (f"links: {self.selected} papers, {self.refreshed} refreshed, {self.partial} partial, "
             f"{self.fresh} fresh (skipped), {self.changed} changed; {self.with_code} with code, "
             f"{self.with_weights} with weights; {self.github_requests} GitHub and "
             f"{self.hf_requests} HF requests in {self.seconds:.1f}s")
        if self.failed:
            s += f"; {len(self.failed)} lookups failed"
        return s


def is_due(prev: PaperLinks | None, now: dt.datetime, max_age: dt.timedelta) -> bool:
    if prev is None or not prev.checked_at:
        return True
    try:
        when = dt.datetime.fromisoformat(prev.checked_at)
    except ValueError:
        return True
    return now - when >= max_age


def refresh_links(store: LinkStore, papers: Iterable[Paper], github: GitHubClient | None,
                  hf: HFResources | None, *, force: bool = False,
                  max_age: dt.timedelta = dt.timedelta(hours=24),
                  on_paper: Callable[[str, str], None] | None = None,
                  workers: int = WORKERS) -> LinksResult:
    """Look up and store the links of every paper that is due (all of them with `force`).
    `github` / `hf` None: that lookup is not made (the other values are still stored).
    `on_paper(paper_id, status)` is told each paper as it is done ("ok", "partial",
    "fresh", "failed")."""
    t0 = time.perf_counter()
    papers = list(papers)
    res = LinksResult(selected=len(papers))
    prev = store.get_links([p.id for p in papers])
    now = dt.datetime.now(dt.UTC)
    due = []
    for p in papers:
        if force or is_due(prev.get(p.id), now, max_age):
            due.append(p)
        else:
            res.fresh += 1
            _tally(res, prev[p.id])
            if on_paper:
                on_paper(p.id, "fresh")
    stop = threading.Event()  # GitHub's quota is spent for this run
    lock = threading.Lock()

    def one(p: Paper) -> tuple[PaperLinks, list[str]]:
        return _lookup(p, prev.get(p.id), github, hf, stop, lock, res)

    done: list[PaperLinks] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for p, (links, errors) in zip(due, pool.map(one, due), strict=True):
            done.append(links)
            _tally(res, links)
            if errors:
                res.partial += 1
                res.failed.setdefault(p.id, errors[0])
            else:
                res.refreshed += 1
            if on_paper:
                on_paper(p.id, "partial" if errors else "ok")
            if len(done) >= 50:  # a killed run keeps what it looked up
                res.changed += store.save_links(done)
                done = []
    if done:
        res.changed += store.save_links(done)
    res.github_requests = github.requests if github else 0
    res.hf_requests = hf.requests if hf else 0
    res.seconds = time.perf_counter() - t0
    return res


class LinksStore(LinkStore, RunStore, Protocol):
    """What run_links needs: the links and the run log."""


def run_links(store: LinksStore, settings: Settings, papers: Iterable[Paper], *, force: bool = False,
              on_paper: Callable[[str, str], None] | None = None, timeout: float = 20.0,
              params: dict[str, Any] | None = None) -> LinksResult:
    """refresh_links() with the clients the settings describe, recorded as a `links` run."""
    gh_token = settings.github_token.get_secret_value() if settings.github_token else None
    hf_token = settings.hf_token.get_secret_value() if settings.hf_token else None
    with HttpClient(timeout=timeout, retry=RetryPolicy(attempts=3)) as http, \
            record_run(store, "links", {**(params or {}), "force": force}) as run:
        res = refresh_links(store, papers, GitHubClient(http, settings.github_api_url, gh_token),
                            HFResources(http, settings.hf_base_url, hf_token), force=force,
                            max_age=dt.timedelta(hours=settings.links_max_age_hours),
                            on_paper=on_paper)
        run.counts = res.counts()
        run.errors = [f"{pid}: {why}" for pid, why in list(res.failed.items())[:50]]
    return res


def _tally(res: LinksResult, links: PaperLinks) -> None:
    res.with_code += bool(links.github_repo)
    res.with_weights += bool(links.hf_models)


def _lookup(p: Paper, prev: PaperLinks | None, github: GitHubClient | None,
            hf: HFResources | None, stop: threading.Event, lock: threading.Lock,
            res: LinksResult) -> tuple[PaperLinks, list[str]]:
    errors: list[str] = []
    repo = p.github_repo or find_github(p.abstract) or find_github(p.comment)
    project = p.project_page or find_project_page(p.abstract) or find_project_page(p.comment)
    if project and repo_slug(project) and repo_slug(project) == repo_slug(repo):
        project = None  # the repo itself is not a project page
    out = PaperLinks(p.id, github_repo=repo, github_stars=p.github_stars, project_page=project,
                     hf_models=prev.hf_models if prev else None,
                     hf_datasets=prev.hf_datasets if prev else None,
                     hf_spaces=prev.hf_spaces if prev else None)
    slug = repo_slug(repo)
    if slug and github is not None:
        if stop.is_set():
            errors.append("GitHub rate limit reached earlier in this run")
        else:
            try:
                out.github_stars = github.stars(slug)
            except GitHubRateLimited as e:
                stop.set()
                with lock:
                    res.rate_limited = res.rate_limited or str(e)
                errors.append(str(e))
            except HttpError as e:
                errors.append(str(e))
    if hf is not None and p.arxiv_id:
        try:
            c = hf.counts(p.arxiv_id)
            out.hf_models, out.hf_datasets, out.hf_spaces = c["models"], c["datasets"], c["spaces"]
        except HttpError as e:
            errors.append(str(e))
    out.checked_at = (prev.checked_at if prev and prev.checked_at else NEVER) if errors else ""
    return out, errors


__all__ = ["GitHubClient", "GitHubRateLimited", "HFResources", "LinksResult", "find_github",
           "find_project_page", "is_due", "refresh_links", "repo_slug", "run_links"]
