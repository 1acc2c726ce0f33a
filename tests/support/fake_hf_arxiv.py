"""A real HTTP server on 127.0.0.1 that speaks the Hugging Face papers API and the arXiv
export API (Atom), for tests of the real client code.

Data is what the test puts in (`add_hf_day`, `add_arxiv`); shapes follow the real APIs
(see ../shared/data/hf/ and the arXiv API manual). Faults are scripted per path and used up
one per request, in order:

    server.fail_next("/api/daily_papers", Fault.status(429, {"Retry-After": "1"}),
                     Fault.status(500), Fault.slow(2.0), Fault.truncated(), Fault.cut())

It also serves what the image step downloads: PDFs at /pdf/<id>, arXiv HTML versions at
/html/<id> with their pictures, and any other file a test adds (thumbnails) by path.

Every request is logged (monotonic time, path, query) so tests can check pacing and paging.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any
from xml.sax.saxutils import escape, quoteattr

# The tests import Fault from here too.
from support.loopback import Fault, Logged, LoopbackHandler, LoopbackServer


def hf_paper(arxiv_id: str, title: str, *, day: str, upvotes: int = 1, authors: int = 2,
             new_fields: bool = True, published: str | None = None) -> dict[str, Any]:
    """An item as /api/daily_papers returns it (2025 shape, or the 2024 one without the
    newer fields). paper.title/summary carry arXiv's hard wraps like the real API."""
    words = title.split()
    wrapped = " ".join(words[:4]) + ("\n  " + " ".join(words[4:]) if len(words) > 4 else "")
    paper: dict[str, Any] = {
        "id": arxiv_id,
        "authors": [{"_id": f"a{arxiv_id}{i}", "name": f"Author {i} of {arxiv_id}", "hidden": False}
                    for i in range(authors)],
        "publishedAt": (published or day) + "T17:59:30.000Z",
        "title": wrapped,
        "summary": f"We study {title.lower()}.\nIt is a line-wrapped\nabstract.",
        "upvotes": upvotes,
        "discussionId": "d" + arxiv_id,
    }
    if new_fields:
        paper.update({
            "submittedOnDailyAt": day + "T01:02:03.000Z",
            "ai_summary": f"AI summary of {title}.",
            "ai_keywords": ["kw one", "kw two"],
            "githubRepo": f"https://github.com/example/{arxiv_id}",
            "githubStars": 7,
            "projectPage": "https://example.org/project",
            "organization": {"_id": "o1", "name": "example-org", "fullname": "Example Org"},
        })
    return {
        "paper": paper,
        "publishedAt": day + "T00:57:09.392Z",
        "title": " ".join(words),
        "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{arxiv_id}.png",
        "numComments": 3,
        "submittedBy": {"name": "someone", "fullname": "Some One", "type": "user"},
    }


def arxiv_entry(arxiv_id: str, title: str, *, published: str, categories: list[str],
                version: int = 1, affiliations: bool = False, comment: str | None = None,
                journal_ref: str | None = None, doi: str | None = None) -> dict[str, Any]:
    return {"id": arxiv_id, "version": version, "title": title, "published": published,
            "categories": categories, "affiliations": affiliations, "comment": comment,
            "journal_ref": journal_ref, "doi": doi}


class FakeServer(LoopbackServer):
    """ThreadingHTTPServer in a daemon thread; use as a context manager."""

    def __init__(self) -> None:
        super().__init__(_Handler)
        self.hf_days: dict[str, list[dict[str, Any]]] = {}
        self.arxiv: dict[str, dict[str, Any]] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # path -> (content type, body)

    # -- scripting ----------------------------------------------------------------------

    def add_hf_day(self, day: str, items: list[dict[str, Any]]) -> None:
        self.hf_days[day] = list(items)

    def add_arxiv(self, *entries: dict[str, Any]) -> None:
        for e in entries:
            self.arxiv[e["id"]] = e

    def add_file(self, path: str, body: bytes, content_type: str) -> str:
        """Serve `body` at `path`; returns its full URL."""
        self.files[path] = (content_type, body)
        return self.url + path

    def add_pdf(self, arxiv_id: str, pdf: bytes) -> str:
        """The paper's PDF at /pdf/<id> (also answered for /pdf/<id>v<n>, as arXiv does)."""
        return self.add_file(f"/pdf/{arxiv_id}", pdf, "application/pdf")

    def add_html(self, arxiv_id: str, html: str, pictures: dict[str, bytes] | None = None) -> str:
        """The paper's HTML version at /html/<id>; its pictures under /html/<id>v1/."""
        for name, data in (pictures or {}).items():
            self.add_file(f"/html/{arxiv_id}v1/{name}", data, "image/png")
        return self.add_file(f"/html/{arxiv_id}", html.encode(), "text/html; charset=utf-8")

    def requests_to(self, path: str) -> list[Logged]:
        return [r for r in self.log if r.path == path]

    # -- the APIs -------------------------------------------------------------------------

    def answer(self, path: str, q: dict[str, str]) -> tuple[int, str, bytes]:
        if path in self.files:
            ctype, body = self.files[path]
            return 200, ctype, body
        m = re.fullmatch(r"/pdf/(.+?)v\d+", path)
        if m and f"/pdf/{m.group(1)}" in self.files:
            ctype, body = self.files[f"/pdf/{m.group(1)}"]
            return 200, ctype, body
        if path.startswith(("/pdf/", "/html/")):
            return 404, "text/html", b"<html><body>Not found</body></html>"
        if path == "/api/daily_papers":
            return 200, "application/json", json.dumps(self._daily(q)).encode()
        if path == "/api/papers/search":
            needle = q.get("q", "").lower()
            hits = [dict(it, summary=it["paper"]["summary"]) for items in self.hf_days.values()
                    for it in items if needle in it["title"].lower()]
            return 200, "application/json", json.dumps(hits).encode()
        m = re.fullmatch(r"/api/papers/(.+)", path)
        if m:
            for items in self.hf_days.values():
                for it in items:
                    if it["paper"]["id"] == m.group(1):
                        return 200, "application/json", json.dumps(it["paper"]).encode()
            return 404, "application/json", b'{"error":"Paper not found"}'
        if path == "/api/query":
            return 200, "application/atom+xml; charset=utf-8", self._atom(q).encode()
        return 404, "text/plain", b"no such endpoint"

    def _daily(self, q: dict[str, str]) -> list[dict[str, Any]]:
        if "date" in q:
            items = list(self.hf_days.get(q["date"], []))
        elif "week" in q:
            items = [it for d, its in sorted(self.hf_days.items())
                     if _iso_week(d) == q["week"]
                     for it in its]
        elif "month" in q:
            items = [it for d, its in sorted(self.hf_days.items()) if d.startswith(q["month"])
                     for it in its]
        else:
            items = [it for d in sorted(self.hf_days)[-1:] for it in self.hf_days[d]]
        if q.get("sort") == "trending":
            items.sort(key=lambda it: -it["paper"]["upvotes"])
        p, limit = int(q.get("p", 0)), int(q.get("limit", 50))
        return items[p * limit:(p + 1) * limit]

    def _atom(self, q: dict[str, str]) -> str:
        start, size = int(q.get("start", 0)), int(q.get("max_results", 10))
        if "id_list" in q:
            found: list[dict[str, Any] | str] = []
            for raw in q["id_list"].split(","):
                if raw in self.arxiv:
                    found.append(self.arxiv[raw])
                elif not re.fullmatch(r"\d{4}\.\d{4,5}|[a-z\-]+(\.[A-Z]{2})?/\d{7}", raw):
                    found.append(raw)  # arXiv answers a malformed id with an error entry
            matches = found
        else:
            query = q.get("search_query", "")
            cat = re.search(r"cat:(\S+)", query)
            rng = re.search(r"submittedDate:\[(\d{8})\d{4} TO (\d{8})\d{4}\]", query)
            matches = sorted(
                (e for e in self.arxiv.values()
                 if (not cat or cat.group(1) in e["categories"])
                 and (not rng or rng.group(1) <= e["published"].replace("-", "") <= rng.group(2))),
                key=lambda e: (e["published"], e["id"]))
        page = matches[start:start + size]
        body = "".join(atom_entry(e) for e in page)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n'
                '<feed xmlns="http://www.w3.org/2005/Atom" '
                'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
                'xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
                f"<title>arXiv Query</title>\n<id>http://arxiv.org/api/x</id>\n"
                f"<opensearch:totalResults>{len(matches)}</opensearch:totalResults>\n"
                f"<opensearch:startIndex>{start}</opensearch:startIndex>\n"
                f"<opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>\n{body}</feed>\n")


def _iso_week(day: str) -> str:
    year, week, _ = dt.date.fromisoformat(day).isocalendar()
    return f"{year}-W{week:02d}"


def atom_entry(e: dict[str, Any] | str) -> str:
    if isinstance(e, str):
        return (f"<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_{escape(e)}</id>"
                f"<title>Error</title><summary>incorrect id format for {escape(e)}</summary></entry>\n")
    vid = f"{e['id']}v{e['version']}"
    words = e["title"].split()
    title = " ".join(words[:3]) + ("\n  " + " ".join(words[3:]) if len(words) > 3 else "")
    authors = "".join(
        f"<author><name>Author {i}</name>"
        + (f"<arxiv:affiliation>Univ {i}</arxiv:affiliation>" if e["affiliations"] else "")
        + "</author>" for i in range(2))
    extra = ""
    for tag in ("comment", "journal_ref", "doi"):
        if e.get(tag):
            extra += f"<arxiv:{tag}>{escape(e[tag])}</arxiv:{tag}>"
    if e.get("doi"):
        extra += f'<link title="doi" href={quoteattr("http://dx.doi.org/" + e["doi"])} rel="related"/>'
    cats = "".join(f'<category term={quoteattr(c)} scheme="http://arxiv.org/schemas/atom"/>'
                   for c in e["categories"])
    return (f"<entry><id>http://arxiv.org/abs/{vid}</id>"
            f"<updated>{e['published']}T18:00:00Z</updated>"
            f"<published>{e['published']}T17:59:51Z</published>"
            f"<title>{escape(title)}</title>"
            f"<summary>  An abstract about\n{escape(e['title'])}.\n</summary>{authors}{extra}"
            f'<link href="http://arxiv.org/abs/{vid}" rel="alternate" type="text/html"/>'
            f'<link title="pdf" href="http://arxiv.org/pdf/{vid}" rel="related" type="application/pdf"/>'
            f'<arxiv:primary_category term={quoteattr(e["categories"][0])} '
            f'scheme="http://arxiv.org/schemas/atom"/>{cats}</entry>\n')


class _Handler(LoopbackHandler):
    fake: FakeServer

    def reply(self, path: str, q: dict[str, str], fault: Fault | None) -> None:
        if fault and fault.kind == "status":
            self.send_body(fault.code, "application/json", fault.body, fault.headers)
            return
        if fault and fault.kind == "raw":
            self.send_body(200, fault.headers["Content-Type"], fault.body)
            return
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)
        status, ctype, body = self.fake.answer(path, q)
        if fault and fault.kind == "truncated":
            self.send_body(status, ctype, body[: len(body) // 2])
        elif fault and fault.kind == "cut":
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_body(status, ctype, body)
