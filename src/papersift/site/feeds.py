"""RSS 2.0, Atom and JSON Feed from cards. XML is built with ElementTree (it escapes), and
characters XML 1.0 forbids are dropped first: a stray control byte in a source's title must
not make the whole feed unparseable."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from email.utils import format_datetime
from typing import Any

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
ATOM_NS = "http://www.w3.org/2005/Atom"


def _x(s: str | None) -> str:
    return _XML_BAD.sub("", s or "")


def _when(c: dict[str, Any]) -> dt.datetime:
    d = c["day"] or c["published"] or "1970-01-01"
    return dt.datetime.combine(dt.date.fromisoformat(d), dt.time(0, 0), tzinfo=dt.UTC)


def _entry_text(c: dict[str, Any]) -> tuple[str, str]:
    en = c["reviews"].get("en") or next(iter(c["reviews"].values()), None)
    title = f'{c["emoji"]} {en["title"] if en else c["title"]}'.strip()
    body = en["review"] if en else c["abstract"]
    if c["method"] == "offline":
        body = f"[offline summary] {body}"
    res = resources_text(c)
    return title, f"{body}\n\n{res}" if res else body


# -- code and linked resources, as text in every format and as fields in the JSON Feed --

def resources_text(c: dict[str, Any]) -> str:
    """One line: "code ★ 1.2k: URL · project page: URL · Hugging Face: 3 models, 1 dataset:
    URL" ("" when the paper has none of them)."""
    parts, hf, hf_url = [], [], ""
    for kind, url, text in c["badges"]:
        if kind in ("code", "project"):
            parts.append(f"{text}: {url}")
        else:
            hf.append(text)
            hf_url = url
    if hf:
        parts.append(f"Hugging Face: {', '.join(hf)}: {hf_url}")
    return " · ".join(parts)


def _resources_fields(c: dict[str, Any]) -> dict[str, Any]:
    """The JSON Feed extension object (JSON Feed 1.1: custom keys start with "_")."""
    r = c["resources"]
    fields = {"github": c["links"]["github"], "github_stars": c["github_stars"] if c["links"]["github"] else None,
              "project_page": c["links"]["project"], "hf_models": r["models"],
              "hf_datasets": r["datasets"], "hf_spaces": r["spaces"]}
    fields = {k: v for k, v in fields.items() if v is not None}
    return {"_papersift": fields} if fields else {}

# -- end of code and linked resources --


def _link(base_url: str, c: dict[str, Any]) -> str:
    return f'{base_url.rstrip("/")}/p/{c["slug"]}.html'


def _image(base_url: str, c: dict[str, Any]) -> tuple[str, str] | None:
    """(absolute URL, byte length) of the card's image: the site's own copy in img/."""
    img = c.get("card_img")
    if not img:
        return None
    return f'{base_url.rstrip("/")}/img/{img["file"]}', str(img["bytes"])


def rss(cards: list[dict[str, Any]], title: str, base_url: str, self_path: str) -> bytes:
    ET.register_namespace("atom", ATOM_NS)
    root = ET.Element("rss", {"version": "2.0"})
    ch = ET.SubElement(root, "channel")
    ET.SubElement(ch, "title").text = _x(title)
    ET.SubElement(ch, "link").text = base_url
    ET.SubElement(ch, "description").text = _x(title)
    ET.SubElement(ch, f"{{{ATOM_NS}}}link", {"href": base_url.rstrip("/") + "/" + self_path,
                                               "rel": "self", "type": "application/rss+xml"})
    if cards:
        ET.SubElement(ch, "lastBuildDate").text = format_datetime(max(_when(c) for c in cards))
    for c in cards:
        t, body = _entry_text(c)
        it = ET.SubElement(ch, "item")
        ET.SubElement(it, "title").text = _x(t)
        ET.SubElement(it, "link").text = _link(base_url, c)
        ET.SubElement(it, "guid", {"isPermaLink": "false"}).text = f'papersift:{c["id"]}'
        ET.SubElement(it, "pubDate").text = format_datetime(_when(c))
        ET.SubElement(it, "description").text = _x(body)
        for tag in c["tags"]:
            ET.SubElement(it, "category").text = tag
        img = _image(base_url, c)
        if img:
            ET.SubElement(it, "enclosure", {"url": img[0], "length": img[1], "type": "image/webp"})
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                     xml_declaration=False)


def atom(cards: list[dict[str, Any]], title: str, base_url: str, self_path: str) -> bytes:
    # Plain names + an explicit xmlns attribute: ElementTree's namespace options either act
    # process-wide (register_namespace) or reject unqualified attributes (default_namespace).
    root = ET.Element("feed", {"xmlns": ATOM_NS})

    def sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, name, attrs)
        if text is not None:
            el.text = _x(text)
        return el

    sub(root, "title", title)
    sub(root, "id", base_url.rstrip("/") + "/" + self_path)
    sub(root, "link", href=base_url.rstrip("/") + "/" + self_path, rel="self")
    sub(root, "link", href=base_url)
    updated = max((_when(c) for c in cards), default=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    sub(root, "updated", updated.isoformat())
    for c in cards:
        t, body = _entry_text(c)
        e = sub(root, "entry")
        sub(e, "title", t)
        sub(e, "id", f'urn:papersift:{c["id"]}')
        sub(e, "link", href=_link(base_url, c))
        sub(e, "updated", _when(c).isoformat())
        a = sub(e, "author")
        sub(a, "name", ", ".join(c["authors"][:5]) or "unknown")
        sub(e, "summary", body)
        for tag in c["tags"]:
            sub(e, "category", term=tag)
        img = _image(base_url, c)
        if img:
            sub(e, "link", rel="enclosure", href=img[0], length=img[1], type="image/webp")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                     xml_declaration=False)


def json_feed(cards: list[dict[str, Any]], title: str, base_url: str, self_path: str) -> bytes:
    items = []
    for c in cards:
        t, body = _entry_text(c)
        items.append({
            "id": f'papersift:{c["id"]}', "url": _link(base_url, c), "title": t,
            "content_text": body, "date_published": _when(c).isoformat(),
            "authors": [{"name": n} for n in c["authors"][:20]], "tags": c["tags"],
            **({"external_url": c["links"]["arxiv"]} if c["links"]["arxiv"] else {}),
            **({"image": img[0]} if (img := _image(base_url, c)) else {}),
            **_resources_fields(c),
        })
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": title,
            "home_page_url": base_url, "feed_url": base_url.rstrip("/") + "/" + self_path,
            "items": items}
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def all_feeds(cards: list[dict[str, Any]], title: str, base_url: str, stem: str) -> dict[str, bytes]:
    """rel path -> bytes for the three formats of one feed (stem e.g. 'feeds/all')."""
    return {f"{stem}.rss.xml": rss(cards, title, base_url, f"{stem}.rss.xml"),
            f"{stem}.atom.xml": atom(cards, title, base_url, f"{stem}.atom.xml"),
            f"{stem}.json": json_feed(cards, title, base_url, f"{stem}.json")}


# format -> (writer, media type): the site's feed files and the API's per-query feeds.
WRITERS = {"atom": (atom, "application/atom+xml"), "rss": (rss, "application/rss+xml"),
           "json": (json_feed, "application/feed+json")}
