"""A real HTTP server on 127.0.0.1 that speaks the two APIs `papersift links` reads: GitHub's
`GET /repos/{owner}/{repo}` (with its rate-limit headers) and the Hugging Face Hub listings
`GET /api/{models,datasets,spaces}?filter=arxiv:ID` (paged with a Link header, as the Hub does).

GitHub's quota is real: every answer carries X-RateLimit-Limit/-Remaining/-Reset; when it is
spent the server answers 403 "API rate limit exceeded" with Remaining 0, as GitHub does, until
`reset_in` seconds have passed. Scripted faults (loopback.Fault) are used up one per
request on a path, e.g. a secondary limit: `fail_next("/repos/o/r", Fault.status(403,
{"Retry-After": "1"}))`. Every request is logged with its headers.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

from support.loopback import Fault, Logged, LoopbackHandler, LoopbackServer

JSON = "application/json; charset=utf-8"


class FakeLinks(LoopbackServer):
    """ThreadingHTTPServer in a daemon thread; use as a context manager."""

    def __init__(self, quota: int = 60, reset_in: float = 3600.0, page_size_cap: int = 1000) -> None:
        super().__init__(_Handler)
        self.repos: dict[str, int] = {}  # "owner/repo" (lower case) -> stars
        self.cited: dict[tuple[str, str], int] = {}  # (kind, arxiv id) -> how many repos cite it
        self.quota, self.remaining, self.reset_in = quota, quota, reset_in
        self.reset_at = time.time() + reset_in
        self.page_size_cap = page_size_cap  # the Hub pages whatever `limit` asks beyond this

    # -- scripting ----------------------------------------------------------------------

    def add_repo(self, slug: str, stars: int) -> None:
        self.repos[slug.lower()] = stars

    def add_cited(self, arxiv_id: str, models: int = 0, datasets: int = 0, spaces: int = 0) -> None:
        for kind, n in (("models", models), ("datasets", datasets), ("spaces", spaces)):
            self.cited[(kind, arxiv_id)] = n

    def requests_to(self, prefix: str) -> list[Logged]:
        return [r for r in self.log if r.path.startswith(prefix)]

    # -- the APIs -------------------------------------------------------------------------

    def github(self, slug: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            if time.time() >= self.reset_at:
                self.remaining, self.reset_at = self.quota, time.time() + self.reset_in
            spent = self.remaining <= 0
            if not spent:
                self.remaining -= 1
            headers = {"X-RateLimit-Limit": str(self.quota), "X-RateLimit-Remaining": str(max(self.remaining, 0)),
                       "X-RateLimit-Reset": str(int(self.reset_at)), "X-RateLimit-Resource": "core"}
        if spent:
            body = {"message": "API rate limit exceeded for 127.0.0.1. (But here's the good news: "
                               "Authenticated requests get a higher rate limit.)",
                    "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}
            return 403, headers, json.dumps(body).encode()
        stars = self.repos.get(slug.lower())
        if stars is None:
            return 404, headers, b'{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}'
        owner, name = slug.split("/")
        body = {"id": 1, "name": name, "full_name": slug, "owner": {"login": owner},
                "html_url": f"https://github.com/{slug}", "stargazers_count": stars,
                "watchers_count": stars, "forks_count": 3, "archived": False}
        return 200, headers, json.dumps(body).encode()

    def hub(self, kind: str, q: dict[str, str], base: str) -> tuple[int, dict[str, str], bytes]:
        m = re.fullmatch(r"arxiv:(.+)", q.get("filter", ""))
        if not m:
            return 400, {}, b'{"error":"this fake only knows filter=arxiv:ID"}'
        n = self.cited.get((kind, m.group(1)), 0)
        limit = min(int(q.get("limit", self.page_size_cap)), self.page_size_cap)
        start = int(q.get("cursor", 0))
        items = [{"_id": f"{kind}{i}", "id": f"user{i}/{kind}-{m.group(1)}-{i}",
                  "tags": [f"arxiv:{m.group(1)}"]} for i in range(start, min(n, start + limit))]
        headers = {}
        if start + limit < n:
            nxt = f"{base}/api/{kind}?" + urlencode({"filter": q["filter"], "limit": limit, "cursor": start + limit})
            headers["Link"] = f'<{nxt}>; rel="next"'
        return 200, headers, json.dumps(items).encode()

    def answer(self, path: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)", path)
        if m:
            return self.github(m.group(1))
        m = re.fullmatch(r"/api/(models|datasets|spaces)", path)
        if m:
            return self.hub(m.group(1), q, self.url)
        return 404, {}, b"no such endpoint"


class _Handler(LoopbackHandler):
    fake: FakeLinks

    def reply(self, path: str, q: dict[str, str], fault: Fault | None) -> None:
        if fault and fault.kind == "status":
            self.send_body(fault.code, JSON, fault.body or b'{"message":"scripted"}', fault.headers)
            return
        status, headers, body = self.fake.answer(path, q)
        self.send_body(status, JSON, body, headers)
