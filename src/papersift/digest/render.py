"""A profile's ranked day as a digest: an HTML email (inline CSS, readable in dark mode),
its plain-text part, and Markdown items for chat channels.

Every value from a paper, a model or a source is untrusted: it is escaped with MarkupSafe
in HTML and left as plain text in the text part. Links are absolute: the site's page of each
paper (site_url) and arXiv.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import escape

from ..enrich.schema import LANG_NAMES
from ..model import Enrichment
from ..profiles.daily import DayRanking
from ..site.cards import card
from ..taxonomy import TAG_EMOJI

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#+\-.!|>~<])")


@dataclass
class Item:
    """One paper of a digest, resolved to display text in the profile's language."""

    id: str
    emoji: str
    title: str  # the catchy title (or the paper's own)
    paper_title: str
    review: str
    lang: str  # the language the review is in
    tags: list[str]
    score: float
    reasons: list[str]
    page_url: str
    arxiv_url: str | None
    image_url: str | None = None


@dataclass
class Digest:
    profile: str
    day: dt.date
    subject: str
    html: str
    text: str
    items: list[Item] = field(default_factory=list)
    heading: str = ""

    def markdown_items(self) -> list[str]:
        """One Markdown block per paper, for chat channels (split between blocks)."""
        return [markdown_item(i) for i in self.items]


def site_base(site_url: str) -> str:
    return site_url.rstrip("/") + "/"


def _pick_review(c: dict[str, Any], langs: list[str]) -> tuple[str, str, str]:
    """(lang, title, review): the first of the profile's languages that has its own text,
    else English (the card's own fallback)."""
    for lang in langs:
        r = c["reviews"].get(lang)
        if r is not None and r["fallback"] is None:
            return lang, r["title"], r["review"]
    r = c["reviews"]["en"]
    return "en", r["title"], r["review"]


def make_items(rd: DayRanking, enrichments: dict[str, Enrichment], site_url: str) -> list[Item]:
    langs = [lang for lang in rd.profile.languages] + ["en"]
    base = site_base(site_url)
    out: list[Item] = []
    for r in rd.ranking.kept:
        c = card(r.paper, enrichments.get(r.paper.id), list(dict.fromkeys(langs)))
        lang, title, review = _pick_review(c, rd.profile.languages)
        img = c.get("image")  # a site-relative image path, when the build publishes one
        out.append(Item(
            id=c["id"], emoji=c["emoji"], title=title, paper_title=c["title"], review=review,
            lang=lang, tags=c["tags"], score=r.score, reasons=list(r.reasons),
            page_url=f"{base}p/{c['slug']}.html", arxiv_url=c["links"]["arxiv"],
            image_url=f"{base}{img.lstrip('/')}" if isinstance(img, str) and img else None))
    return out


def subject_line(profile: str, day: dt.date, items: list[Item]) -> str:
    if not items:
        return f"papersift for {profile}, {day}: nothing new above your threshold"
    top = items[0]
    more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
    title = top.title if len(top.title) <= 90 else top.title[:89] + "…"
    return f"{top.emoji} {title}{more} · papersift for {profile}, {day:%b %d}"


def _reasons_text(r: list[str]) -> str:
    return "; ".join(r) if r else "no rule matched"


# -- HTML -----------------------------------------------------------------------------------

# Inline styles carry the light look (clients strip <style>); the <style> block (kept by
# Apple Mail, iOS, Outlook.com, Thunderbird) switches to dark colours under
# prefers-color-scheme: dark, and the colours chosen read on either background when a client
# inverts them itself (Gmail).
_CSS = """
@media (prefers-color-scheme: dark) {
  .ps-body { background: #111418 !important; color: #e6e6e6 !important; }
  .ps-card { background: #1b2027 !important; border-color: #2d3440 !important; }
  .ps-muted { color: #a9b1bc !important; }
  .ps-tag { background: #24303d !important; color: #cfe3ff !important; }
  a { color: #8ab4ff !important; }
}
"""
_BODY = ("margin:0;padding:16px;background:#f5f6f8;color:#1d2329;"
         "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;line-height:1.45")
_CARD = ("max-width:680px;margin:0 auto 14px auto;padding:14px 16px;background:#ffffff;"
         "border:1px solid #dde1e6;border-radius:10px")
_TAG = ("display:inline-block;margin:0 4px 4px 0;padding:1px 8px;border-radius:10px;"
        "background:#e8f0fe;color:#1a4b8c;font-size:12px")
_MUTED = "color:#5b6570;font-size:13px"
_LINK = "color:#1a5fd0;text-decoration:none"


def _html_item(i: Item) -> str:
    tags = "".join(f'<span class="ps-tag" style="{_TAG}">{escape(TAG_EMOJI.get(t, ""))} #{escape(t)}</span>'
                   for t in i.tags)
    img = (f'<img src="{escape(i.image_url)}" alt="" width="640" style="max-width:100%;height:auto;'
           f'border-radius:6px;margin:8px 0" loading="lazy">' if i.image_url else "")
    arxiv = (f' · <a href="{escape(i.arxiv_url)}" style="{_LINK}">arXiv</a>' if i.arxiv_url else "")
    lang = "" if i.lang == "en" else f' lang="{escape(i.lang)}"'
    return (
        f'<div class="ps-card" style="{_CARD}">'
        f'<div style="font-size:18px;font-weight:600;margin:0 0 4px 0"{lang}>'
        f'<span style="font-size:22px">{escape(i.emoji)}</span> '
        f'<a href="{escape(i.page_url)}" style="{_LINK}">{escape(i.title)}</a></div>'
        f'<div class="ps-muted" style="{_MUTED}">{escape(i.paper_title)}</div>'
        f'{img}<p style="margin:8px 0"{lang}>{escape(i.review)}</p>'
        f'<div>{tags}</div>'
        f'<div class="ps-muted" style="{_MUTED}">why: {escape(_reasons_text(i.reasons))} '
        f'· score {i.score:.2f}</div>'
        f'<div style="margin-top:6px;font-size:14px"><a href="{escape(i.page_url)}" style="{_LINK}">'
        f'read on papersift</a>{arxiv}</div></div>')


def render_html(heading: str, intro: str, items: list[Item], footer: str, site_url: str) -> str:
    body = "".join(_html_item(i) for i in items) or (
        f'<div class="ps-card" style="{_CARD}">Nothing above your threshold today.</div>')
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        '<meta name="supported-color-schemes" content="light dark">'
        f"<title>{escape(heading)}</title><style>{_CSS}</style></head>"
        f'<body class="ps-body" style="{_BODY}">'
        f'<div style="max-width:680px;margin:0 auto 12px auto"><h1 style="font-size:22px;margin:0 0 4px 0">'
        f'{escape(heading)}</h1><div class="ps-muted" style="{_MUTED}">{escape(intro)}</div></div>'
        f"{body}"
        f'<div class="ps-muted" style="max-width:680px;margin:0 auto;{_MUTED}">{escape(footer)} '
        f'<a href="{escape(site_base(site_url))}" style="{_LINK}">{escape(site_base(site_url))}</a></div>'
        "</body></html>")


# -- plain text and Markdown ----------------------------------------------------------------

def _text_item(n: int, i: Item) -> str:
    lines = [f"{n}. {i.emoji} {i.title}", f"   {i.paper_title}", "", f"   {i.review}"]
    if i.tags:
        lines.append("   " + " ".join(f"#{t}" for t in i.tags))
    lines.append(f"   why: {_reasons_text(i.reasons)} (score {i.score:.2f})")
    lines.append(f"   {i.page_url}")
    if i.arxiv_url:
        lines.append(f"   {i.arxiv_url}")
    return "\n".join(lines)


def render_text(heading: str, intro: str, items: list[Item], footer: str, site_url: str) -> str:
    parts = [heading, intro, ""]
    parts += [_text_item(n, i) + "\n" for n, i in enumerate(items, 1)] or ["Nothing above your threshold today.\n"]
    parts.append(f"{footer} {site_base(site_url)}")
    return "\n".join(parts) + "\n"


def md_escape(s: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", s)


def markdown_item(i: Item) -> str:
    links = f"[papersift]({i.page_url})" + (f" · [arXiv]({i.arxiv_url})" if i.arxiv_url else "")
    tags = " ".join(f"#{t}" for t in i.tags)
    return (f"{i.emoji} **{md_escape(i.title)}**\n{md_escape(i.review)}\n"
            + (f"{md_escape(tags)}\n" if tags else "")
            + f"_why: {md_escape(_reasons_text(i.reasons))}_\n{links}")


def render_digest(rd: DayRanking, enrichments: dict[str, Enrichment], site_url: str,
                  site_title: str = "papersift") -> Digest:
    items = make_items(rd, enrichments, site_url)
    heading = f"{site_title} for {rd.profile.name}: {rd.day:%A, %B %d, %Y}"
    lang_names = ", ".join(LANG_NAMES.get(x, x) for x in rd.profile.languages)
    intro = (f"{len(items)} of {rd.ranking.considered} papers matched your profile"
             + (f", {len(rd.ranking.removed)} removed by negative keywords" if rd.ranking.removed else "")
             + f". Reviews in {lang_names} (English where missing).")
    footer = f"Profile '{rd.profile.name}' in papersift.toml decides what you get. Everything is on"
    return Digest(profile=rd.profile.name, day=rd.day, subject=subject_line(rd.profile.name, rd.day, items),
                  html=render_html(heading, intro, items, footer, site_url),
                  text=render_text(heading, intro, items, footer, site_url), items=items, heading=heading)


__all__ = ["Digest", "Item", "markdown_item", "md_escape", "render_digest", "subject_line"]
