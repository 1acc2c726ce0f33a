"""What the templates see: a paper + its enrichment turned into one plain 'card' dict.

Everything here is data, never markup: Jinja escapes it on the way into HTML and
`script_json` escapes it on the way into a <script> block. The language fallback lives
here, once, so the static pages, the JS and the API all show the same text.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import orjson

from ..ids import slug
from ..model import Enrichment, Paper
from ..store.base import PaperLinks
from ..taxonomy import TAGS

LANG_NAMES = {"en": "English", "ru": "Русский", "zh": "中文"}
_ABS, _PDF, _HF = (getattr(Paper, n).fget for n in ("abs_url", "pdf_url", "hf_url"))


def iso_week(day: dt.date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def month_key(day: dt.date) -> str:
    return f"{day.year}-{day.month:02d}"


def week_range(key: str) -> tuple[dt.date, dt.date]:
    y, w = key.split("-W")
    start = dt.date.fromisocalendar(int(y), int(w), 1)
    return start, start + dt.timedelta(days=6)


def month_range(key: str) -> tuple[dt.date, dt.date]:
    y, m = (int(x) for x in key.split("-"))
    start = dt.date(y, m, 1)
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return start, nxt - dt.timedelta(days=1)


def known_tags(tags: list[str]) -> list[str]:
    """Only taxonomy tags become links and file names (a model may write anything)."""
    out: list[str] = []
    for t in tags:
        if t in TAGS and t not in out:
            out.append(t)
    return out


def _safe_url(url: str | None) -> str | None:
    # Source-provided URLs go into href: only http(s), never javascript: or data:.
    if url and url.strip().lower().startswith(("https://", "http://")):
        return url.strip()
    return None


def _github(repo: str | None) -> str | None:
    if repo and not repo.startswith("http") and repo.count("/") == 1:
        repo = f"https://github.com/{repo}"
    return _safe_url(repo)


def stars_text(n: int) -> str:
    """GitHub's own short form: 950, 1.2k, 12k."""
    if n < 1000:
        return str(n)
    k = n / 1000
    return f"{k:.1f}k".replace(".0k", "k") if k < 10 else f"{round(k)}k"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def badges(links: dict[str, str | None], stars: int | None,
           res: dict[str, int | None]) -> list[tuple[str, str, str]]:
    """(kind, url, text) of a paper's code / project / HF resource badges, in that order:
    code (with its GitHub stars when known), project page, and the HF models, datasets and
    Spaces that cite it (those counted above zero; they link to the HF paper page, which
    lists them). Only http(s) URLs reach here (see _safe_url)."""
    out: list[tuple[str, str, str]] = []
    if links["github"]:
        out.append(("code", links["github"], f"code ★ {stars_text(stars)}" if stars is not None else "code"))
    if links["project"]:
        out.append(("project", links["project"], "project page"))
    hf = links["hf"]
    if hf:
        for key, one, many in (("models", "model", "models"), ("datasets", "dataset", "datasets"),
                               ("spaces", "Space", "Spaces")):
            n = res[key]
            if n:
                out.append((key, hf, _plural(n, one, many)))
    return out


def reviews_with_fallback(f: dict[str, Any], e: dict[str, Any] | None,
                          langs: list[str]) -> dict[str, dict[str, Any]]:
    """lang -> {title, review, fallback}: every language gets text, English (or the
    abstract) standing in where a language is missing, and says so."""
    title = f["title"]
    own = {k: v for k, v in (e["reviews"] if e else {}).items()
           if v["title"].strip() or v["review"].strip()}
    base_review = (e["summary"] if e and e["summary"] else "") or f["abstract"] or f["ai_summary"] or ""
    out: dict[str, dict[str, Any]] = {}
    for lang in langs:
        r = own.get(lang)
        if r is not None:
            out[lang] = {"title": r["title"] or title, "review": r["review"] or base_review,
                         "fallback": None}
            continue
        en = own.get("en")
        if en is not None:
            out[lang] = {"title": en["title"] or title, "review": en["review"] or base_review,
                         "fallback": None if lang == "en" else "en"}
        else:
            out[lang] = {"title": title, "review": base_review,
                         "fallback": None if lang == "en" else "en"}
    return out


def card_from_fields(f: dict[str, Any], e: dict[str, Any] | None, langs: list[str],
                     added: str = "", moved_to: str | None = None) -> dict[str, Any]:
    """The one view of a paper used by every page, feed and the page's JSON.

    `f` holds a paper's stored fields (dates as ISO text, lists/dicts decoded), `e` the
    stored enrichment (Enrichment.model_dump() shape) or None. The site build feeds raw
    store rows here without building model objects; the API goes through card()."""
    day = f["hf_date"] or f["published"] or ""
    # The model's URL properties read only arxiv_id and links: reuse them on the raw fields.
    urls = SimpleNamespace(arxiv_id=f["arxiv_id"], links=f["links"] or {})
    links = {
        "arxiv": _safe_url(_ABS(urls)), "pdf": _safe_url(_PDF(urls)), "hf": _safe_url(_HF(urls)),
        "github": _github(f["github_repo"]),
        "project": _safe_url(f["project_page"]),
    }
    res = {"models": f.get("hf_models"), "datasets": f.get("hf_datasets"), "spaces": f.get("hf_spaces")}
    stars = f["github_stars"]
    return {
        "id": f["id"],
        "slug": slug(f["id"]),
        "title": f["title"],
        "emoji": (e["emoji"] if e and e["emoji"] else "📄")[:8],
        "method": e["method"] if e else None,
        "model": e["model"] if e else "",
        "tags": known_tags(e["tags"]) if e else [],
        "reviews": reviews_with_fallback(f, e, langs),
        "abstract": f["abstract"],
        "upvotes": f["upvotes"] or 0,
        "authors": f["authors"],
        "num_authors": f["num_authors"] or len(f["authors"]),
        "affiliations": f["affiliations"],
        "organization": f["organization"],
        "published": f["published"] or "",
        "day": day,
        "added": added or day,
        "moved_to": moved_to,
        "categories": f["categories"],
        "links": links,
        "github_stars": stars,
        "resources": res,  # counts of HF models / datasets / Spaces citing it (None: unknown)
        "badges": badges(links, stars, res) if (links["github"] or links["project"] or any(res.values())) else [],
    }


def card(p: Paper, e: Enrichment | None, langs: list[str], added: str = "",
         moved_to: str | None = None, links: PaperLinks | None = None) -> dict[str, Any]:
    """card_from_fields() for model objects (the API's path); `links`: the paper's stored
    links (for the HF resource counts)."""
    f = dict(p.__dict__)
    if links is not None:
        f.update(hf_models=links.hf_models, hf_datasets=links.hf_datasets, hf_spaces=links.hf_spaces)
    f["published"] = p.published.isoformat() if p.published else ""
    f["hf_date"] = p.hf_date.isoformat() if p.hf_date else ""
    ed = None
    if e is not None:
        ed = {"emoji": e.emoji, "method": e.method, "model": e.model, "tags": e.tags,
              "summary": e.summary,
              "reviews": {k: {"title": v.title, "review": v.review} for k, v in e.reviews.items()}}
    return card_from_fields(f, ed, langs, added, moved_to)


def script_json(data: Any) -> str:
    """JSON that is safe inside <script type="application/json">: no '</script>', no
    '<!--', no HTML-significant characters, no JS line separators."""
    return script_json_bytes(data).decode("utf-8")


def script_json_bytes(data: Any) -> bytes:
    """script_json() as UTF-8 bytes. A day page's data is ~0.5 MB: orjson's bytes are
    escaped in place (bytes.replace is a memchr scan; U+2028/9 have one UTF-8 form each)
    instead of decoded first into a 4-byte-per-character string (cards carry emoji)."""
    try:  # orjson writes the same text as the json.dumps below, ~10x faster (day pages)
        b = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a value orjson refuses (e.g. an int over 64 bits): json.dumps decides
        b = json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return (b.replace(b"&", b"\\u0026").replace(b"<", b"\\u003c").replace(b">", b"\\u003e")
            .replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029"))


def page_data(cards: list[dict[str, Any]]) -> dict[str, Any]:
    """The compact per-card data the page's JS needs (sorting, filters, languages)."""
    # st: GitHub stars (-1: no repo, 0: repo with unknown stars), code / w: has code / weights
    return {c["id"]: {"up": c["upvotes"], "pub": c["published"], "added": c["added"],
                      "tags": c["tags"], "st": (c["github_stars"] or 0) if c["links"]["github"] else -1,
                      "code": bool(c["links"]["github"]), "w": bool(c["resources"]["models"]),
                      "rv": {k: [v["title"], v["review"], v["fallback"]] for k, v in c["reviews"].items()}}
            for c in cards}


def tag_counts(cards: list[dict[str, Any]]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for c in cards:
        for t in c["tags"]:
            counts[t] = counts.get(t, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
