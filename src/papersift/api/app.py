"""`papersift serve`: the built site plus a JSON API (FastAPI; OpenAPI docs at /docs).

Bad input is answered with 422 and the field at fault, never a 500; the file server resolves
every path inside the site directory and refuses anything that lands outside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
import orjson
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response

from ..config import DEFAULT_LANGUAGES
from ..search.engines import lexical_engine
from ..site.cards import card
from ..site.feeds import WRITERS
from ..store import open_store
from ..store.base import Store
from ..taxonomy import TAGS
from .payloads import search_payload, serving_engine, similar_ids
from .pool import SearchPool, SearchUnavailable

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
MAX_POOL = 1000  # candidates fetched before filters and paging
FEED_LIMIT = 50  # entries in a per-query feed

T = TypeVar("T")

# Searches in the server process itself (`serve --workers 1`, tests; with more workers they
# run in api/pool.py's processes). They are CPU-bound (BM25 scoring, query embedding, vector
# scan): letting 40 server threads run them at once only thrashes the GIL and torch's thread
# pools, so as many run as there are cores and the rest wait in arrival order (anyio's
# limiter is first come, first served, which keeps the slowest answer close to the typical).
_slots = max(1, os.cpu_count() or 1)
_limiter: anyio.CapacityLimiter | None = None


async def run_search(fn: Callable[[], T]) -> T:
    """fn() once a search slot is free: in a worker thread, or right here in the event loop
    on a one-core machine (a thread buys nothing then, and each SQLite call in it released
    the GIL and waited up to the 5 ms switch interval to get it back from the event loop)."""
    global _limiter
    if _slots == 1:
        return fn()
    if _limiter is None:  # created inside the server's event loop
        _limiter = anyio.CapacityLimiter(_slots)
    return await anyio.to_thread.run_sync(fn, limiter=_limiter)


class FastJSON(JSONResponse):
    """JSON by orjson, straight from the dict the endpoint built: FastAPI's default path
    walks the whole result (jsonable_encoder) and validates it again, which cost more than
    the search itself (bench/api.py)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _parse_tags(tags: str | None) -> list[str]:
    if not tags:
        return []
    out = [t.strip().lstrip("#").lower() for t in tags.split(",") if t.strip()]
    bad = [t for t in out if t not in TAGS]
    if bad:
        raise HTTPException(422, detail=[{"loc": ["query", "tags"], "type": "value_error",
                                          "msg": f"unknown tag(s) {', '.join(bad[:5])}; see /api/tags"}])
    return out


def create_app(db: str | Path, site_dir: str | Path, *, languages: list[str] | None = None,
               engine_factory: Callable[[Store], Any] | None = None,
               pool: SearchPool | None = None) -> FastAPI:
    """The API over the store at `db`, serving the static site from `site_dir`. Searches run
    in `pool`'s processes when given, else in this process (engine from engine_factory)."""
    langs = languages or list(DEFAULT_LANGUAGES)
    site_root = Path(site_dir).resolve()
    local = threading.local()  # one SQLite connection per server thread
    engine_lock = threading.Lock()
    shared: dict[str, Any] = {}
    make_engine = engine_factory or lexical_engine

    def store() -> Store:
        s = getattr(local, "store", None)
        if s is None:
            s = local.store = open_store(db)
        return s

    def engine() -> Any:
        # One engine (indexes in memory) per process, built on first use and shared.
        if "engine" not in shared:
            with engine_lock:
                if "engine" not in shared:
                    shared["engine"] = serving_engine(make_engine, open_store(db))
        return shared["engine"]

    def warm() -> None:
        """Load the search indexes before the first request: building the BM25 cache over a
        large store takes seconds, and requests arriving meanwhile would queue behind it."""
        if pool is not None:
            pool.warm()
        else:
            engine()

    def cards_for(ids: list[str]) -> list[dict[str, Any]]:
        s = store()
        papers = s.get_papers(ids)
        enr = s.get_enrichments(list(papers))
        links = s.get_links(list(papers))
        return [card(papers[i], enr.get(i), langs, links=links.get(i)) for i in ids if i in papers]

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        # On shutdown, before uvicorn re-raises the SIGTERM that stopped it (which ends the
        # process): stop the search processes, or they outlive the server.
        if pool is not None:
            pool.close()

    app = FastAPI(title="papersift API", version="1", lifespan=lifespan,
                  description="Search and read the papers papersift has collected and enriched.")
    app.state.warm = warm

    @app.get("/api/search", summary="Search papers (hybrid when indexed, else BM25)",
             response_class=FastJSON)
    async def api_search(
        q: Annotated[str, Query(min_length=1, max_length=256, description="query text")],
        tags: Annotated[str | None, Query(max_length=1000, description="comma-separated tags")] = None,
        tag_mode: Annotated[Literal["and", "or"] | None, Query(
            description='how tags combine: "and" (all of them) or "or" (any of them; the default)')] = None,
        mode: Annotated[Literal["and", "or"] | None, Query(description="alias of tag_mode")] = None,
        from_: Annotated[dt.date | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
        to: Annotated[dt.date | None, Query(description="last day, YYYY-MM-DD")] = None,
        min_upvotes: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
        sort: Annotated[Literal["relevance", "upvotes", "date"], Query()] = "relevance",
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0, le=MAX_POOL)] = 0,
    ) -> Response:
        tag_list = _parse_tags(tags)
        if tag_mode and mode and tag_mode != mode:
            raise HTTPException(422, detail=[{"loc": ["query", "tag_mode"], "type": "value_error",
                                              "msg": f"tag_mode={tag_mode} and its alias mode={mode} "
                                                     "disagree; give one of them"}])
        if from_ and to and from_ > to:
            raise HTTPException(422, detail=[{"loc": ["query", "from"], "type": "value_error",
                                              "msg": "'from' is after 'to'"}])
        params = {"q": q, "tags": tag_list, "mode": tag_mode or mode or "or",
                  "from": from_.isoformat() if from_ else None,
                  "to": to.isoformat() if to else None, "min_upvotes": min_upvotes, "sort": sort,
                  "limit": limit, "offset": offset}
        if pool is not None:
            try:
                return Response(await pool.search(params), media_type="application/json")
            except SearchUnavailable as e:
                return _unavailable(e)
        return await run_search(lambda: FastJSON(search_payload(engine(), langs, params)))

    @app.get("/api/feed", summary="A search as a feed (Atom, RSS or JSON Feed): follow it to get new matches",
             response_class=Response)
    async def api_feed(
        request: Request,
        q: Annotated[str, Query(max_length=256, description="query text (empty: every paper)")] = "",
        tags: Annotated[str | None, Query(max_length=1000, description="comma-separated tags")] = None,
        tag_mode: Annotated[Literal["and", "or"], Query(description='"and": all the tags, "or": any')] = "or",
        from_: Annotated[dt.date | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
        min_upvotes: Annotated[int | None, Query(ge=0, le=1_000_000)] = None,
        format: Annotated[Literal["atom", "rss", "json"], Query(description="feed format")] = "atom",
        limit: Annotated[int, Query(ge=1, le=100, description="entries")] = FEED_LIMIT,
    ) -> Response:
        tag_list = _parse_tags(tags)
        # The best matches (the search's relevance pool), newest first: a reader polling the
        # feed sees new papers that match at the top.
        params = {"q": q.strip() or "*", "tags": tag_list, "mode": tag_mode,
                  "from": from_.isoformat() if from_ else None, "to": None, "min_upvotes": min_upvotes,
                  "sort": "date", "limit": limit, "offset": 0}
        if pool is not None:
            try:
                payload = orjson.loads(await pool.search(params))
            except SearchUnavailable as e:
                return _unavailable(e)
        else:
            payload = await run_search(lambda: search_payload(engine(), langs, params))
        cards = cards_for([r["id"] for r in payload["results"]])
        what = " ".join([f"“{q.strip()}”" if q.strip() else "all papers", *(f"#{t}" for t in tag_list)])
        if from_:
            what += f" from {from_.isoformat()}"
        if min_upvotes:
            what += f" ▲{min_upvotes}+"
        write, media = WRITERS[format]
        self_path = "api/feed" + (f"?{request.url.query}" if request.url.query else "")
        body = write(cards, f"papersift search: {what}", str(request.base_url), self_path)
        return Response(body, media_type=f"{media}; charset=utf-8")

    def _paper_or_404(paper_id: str) -> dict[str, Any]:
        if len(paper_id) > 200:
            raise HTTPException(422, detail=[{"loc": ["path", "paper_id"], "type": "value_error",
                                              "msg": "paper id is too long"}])
        pid = store().resolve_id(paper_id)
        got = cards_for([pid]) if pid else []
        if not got:
            raise HTTPException(404, detail=f"no paper {paper_id!r}; use an arXiv id like 2502.02671")
        return got[0]

    @app.get("/api/papers/{paper_id:path}/similar", summary="Papers similar to one paper")
    async def api_similar(paper_id: str, limit: Annotated[int, Query(ge=1, le=50)] = 8) -> Any:
        c = _paper_or_404(paper_id)
        if pool is not None:
            try:
                ids = await pool.similar(c["id"], limit)
            except SearchUnavailable as e:
                return _unavailable(e)
        else:
            ids = await run_search(lambda: similar_ids(engine(), c["id"], limit))
        return {"id": c["id"], "results": [
            {"id": x["id"], "slug": x["slug"], "title": x["title"], "emoji": x["emoji"],
             "tags": x["tags"], "upvotes": x["upvotes"], "day": x["day"]} for x in cards_for(ids)]}

    @app.get("/api/papers/{paper_id:path}", summary="One paper with its enrichment")
    def api_paper(paper_id: str) -> dict[str, Any]:
        return _paper_or_404(paper_id)

    @app.get("/api/days/{day}", summary="The papers of one day, by upvotes")
    def api_day(day: dt.date) -> dict[str, Any]:
        s = store()
        papers = s.papers_for_day(day)
        enr = s.get_enrichments([p.id for p in papers])
        links = s.get_links([p.id for p in papers])
        return {"day": day.isoformat(), "count": len(papers),
                "papers": [card(p, enr.get(p.id), langs, links=links.get(p.id)) for p in papers]}

    @app.get("/api/tags", summary="The topic taxonomy")
    def api_tags() -> dict[str, str]:
        return TAGS

    @app.get("/api/{rest:path}", include_in_schema=False)
    def api_unknown(rest: str) -> Response:
        return JSONResponse({"detail": f"no API endpoint /api/{rest}; see /docs"}, status_code=404)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug must not leak a traceback; the message names the path so it can be reported.
        return JSONResponse({"detail": f"internal error while serving {request.url.path}"}, status_code=500)

    @app.get("/{path:path}", include_in_schema=False)
    def site_file(path: str) -> Response:
        target = _safe_path(site_root, path)
        if target is None:
            return JSONResponse({"detail": "not found"}, status_code=404)
        return FileResponse(target, headers={"Content-Security-Policy": CSP,
                                             "X-Content-Type-Options": "nosniff",
                                             "Cache-Control": "no-cache"})

    return app


def _unavailable(e: Exception) -> JSONResponse:
    """No search process could answer (one died twice under this request, or all are being
    replaced): say so, and when to retry, instead of a bare 500."""
    return JSONResponse({"detail": f"search is restarting ({e}); retry in a few seconds"},
                        status_code=503, headers={"Retry-After": "5"})


def _safe_path(root: Path, rel: str) -> Path | None:
    """The file under root that `rel` names, or None. Decoded '..', absolute paths, NUL bytes
    and symlinks leading out of root are all refused."""
    if "\x00" in rel or "\\" in rel:
        return None
    try:
        target = (root / rel.lstrip("/")).resolve()
    except (OSError, ValueError):
        return None
    if target != root and root not in target.parents:
        return None
    try:  # a name the filesystem refuses (too long: ENAMETOOLONG) is a file that is not there
        if target.is_dir():
            target = target / "index.html"
        return target if target.is_file() else None
    except OSError:
        return None
