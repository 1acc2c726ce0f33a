"""The first figure of a paper's arXiv HTML version (LaTeXML markup: <figure> with an
<img> and a <figcaption>), found with the standard library's HTML parser. Everything in the
page is untrusted: only http(s) picture URLs are followed, captions are plain text, cut."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

MAX_CAPTION = 400


class _FirstFigure(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.base = page_url
        self.depth = 0  # inside how many <figure>s
        self.img: str | None = None
        self.caption: list[str] = []
        self.in_caption = 0
        self.found: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.found:
            return
        a = dict(attrs)
        if tag == "base" and a.get("href"):
            self.base = urljoin(self.base, a["href"] or "")
        elif tag == "figure":
            if self.depth == 0:
                self.img, self.caption = None, []
            self.depth += 1
        elif tag == "img" and self.depth and self.img is None and a.get("src"):
            self.img = urljoin(self.base, a["src"] or "")
        elif tag == "figcaption" and self.depth:
            self.in_caption += 1

    def handle_endtag(self, tag: str) -> None:
        if self.found:
            return
        if tag == "figcaption" and self.in_caption:
            self.in_caption -= 1
        elif tag == "figure" and self.depth:
            self.depth -= 1
            if self.depth == 0 and self.img and self.img.lower().startswith(("http://", "https://")):
                text = " ".join("".join(self.caption).split())
                if len(text) > MAX_CAPTION:
                    text = text[: MAX_CAPTION - 1].rsplit(" ", 1)[0] + "…"
                self.found = (self.img, text)

    def handle_data(self, data: str) -> None:
        if self.in_caption and not self.found:
            self.caption.append(data)


def first_figure(html: str, page_url: str) -> tuple[str, str] | None:
    """(absolute picture URL, caption text) of the first figure that has a picture."""
    p = _FirstFigure(page_url)
    p.feed(html)
    p.close()
    return p.found
