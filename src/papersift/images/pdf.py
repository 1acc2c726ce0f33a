"""Page 1 of a paper's PDF, read once with PDFium: the text a reader can see (for the
affiliations prompt) and the title block rendered as an image.

Text a reader cannot see is dropped before anything is sent to a model: invisible render
modes, transparent or white fill, text too small to read and text placed off the page (the
places where papers hide prompt injections). The title block ends where the abstract starts
when the text layer says so, else at about a third of the page.

PDFium is not thread-safe: every call into it holds `PDFIUM_LOCK` (the caller's threads
still overlap downloads and image encoding).
"""

from __future__ import annotations

import ctypes
import re
import threading
from dataclasses import dataclass
from typing import Any

from ..errors import ImageError

PDFIUM_LOCK = threading.Lock()

ABSTRACT = re.compile(r"\bA\s?BSTRACT\b|\bAbstract\b|^\s*摘要", re.M)
_INVISIBLE_MODES = (3, 7)  # PDF text render modes: invisible, clip only
_STROKE_ONLY = (1, 5)
_WHITE = 235  # fill at or above this on all channels reads as white paper
_MIN_FONT = 1.0  # points
_MIN_GLYPH = 0.5  # points: the height of a letter below which nobody can read it
_MAX_CHARS = 20000  # of page 1; a real first page has a few thousand
_MARGIN = 10.0  # points kept around the title block's text when rendering
_HEADER_CHARS = 6000  # looked at when no abstract heading is found


@dataclass
class FirstPage:
    width: float  # points
    height: float
    header: str  # visible text above the abstract (all visible text when none is found)
    abstract_top: float | None  # points from the top of the page to the abstract heading
    chars: int  # characters in the text layer
    hidden: int  # of which a reader cannot see
    image: Any = None  # PIL image of the title block, when rendered


def _open(pdf: bytes) -> Any:
    import pypdfium2 as pdfium

    if not pdf.lstrip()[:5].startswith(b"%PDF"):
        raise ImageError("the download is not a PDF")
    try:
        doc = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as e:
        msg = str(e).lower()
        if "password" in msg:
            raise ImageError("encrypted PDF (needs a password)") from None
        raise ImageError(f"damaged or truncated PDF ({str(e)[:80]})") from None
    if len(doc) == 0:
        doc.close()
        raise ImageError("the PDF has no pages")
    return doc


def read_first_page(pdf: bytes, *, render_width: int | None = None) -> FirstPage:
    """Visible text of page 1 and, with `render_width`, the title block rendered about that
    many pixels wide (margins trimmed later, see encode.py). Raises ImageError."""
    with PDFIUM_LOCK:
        doc = _open(pdf)
        try:
            try:
                page = doc[0]
            except Exception as e:  # PDFium refuses a page it cannot parse
                raise ImageError(f"damaged PDF: page 1 cannot be read ({str(e)[:80]})") from None
            try:
                return _read(page, render_width)
            finally:
                page.close()
        finally:
            doc.close()


def _read(page: Any, render_width: int | None) -> FirstPage:
    import pypdfium2.raw as raw

    left, bottom, right, top = page.get_cropbox()
    width, height = right - left, top - bottom
    tp = page.get_textpage()
    try:
        n = min(tp.count_chars(), _MAX_CHARS)
        # Only the characters up to the abstract are looked at one by one (the header is all
        # that is sent anywhere); the raw text says where that is, the visible text confirms.
        m = ABSTRACT.search(tp.get_text_range(0, n)) if n else None
        n = min(n, m.end() + 16 if m else _HEADER_CHARS)
        r, g, b, a = (ctypes.c_uint() for _ in range(4))
        cl, cr, cb, ct = (ctypes.c_double() for _ in range(4))
        text: list[str] = []
        tops: list[float] = []  # per kept character: its top, in points from the page top
        xs: list[tuple[float, float, float]] = []  # left, right, top of each visible char
        hidden = 0
        for i in range(n):
            ch = chr(raw.FPDFText_GetUnicode(tp.raw, i) or 32)
            if ch.isspace() or raw.FPDFText_IsGenerated(tp.raw, i) == 1:
                text.append(ch)
                tops.append(tops[-1] if tops else 0.0)
                continue
            raw.FPDFText_GetCharBox(tp.raw, i, cl, cr, cb, ct)
            obj = raw.FPDFText_GetTextObject(tp.raw, i)
            mode = raw.FPDFTextObj_GetTextRenderMode(obj) if obj else 0
            raw.FPDFText_GetFillColor(tp.raw, i, r, g, b, a)
            size = raw.FPDFText_GetFontSize(tp.raw, i)
            off_page = cr.value < left or cl.value > right or ct.value < bottom or cb.value > top
            white = mode not in _STROKE_ONLY and min(r.value, g.value, b.value) >= _WHITE
            tiny = size < _MIN_FONT or (ch.isalnum() and ct.value - cb.value < _MIN_GLYPH)
            if mode in _INVISIBLE_MODES or a.value == 0 or white or tiny or off_page:
                hidden += 1
                continue
            text.append(ch)
            tops.append(top - ct.value)
            xs.append((cl.value - left, cr.value - left, top - ct.value))
    finally:
        tp.close()
    visible = "".join(text)
    m = ABSTRACT.search(visible)
    abstract_top = tops[m.start()] if m else None
    header = (visible[: m.start()] if m else visible).replace("\r\n", "\n").replace("\r", "\n")
    header = re.sub(r"[ \t]+", " ", header)
    header = re.sub(r"\n\s*\n+", "\n", header).strip()
    fp = FirstPage(width, height, header, abstract_top, n, hidden)
    if render_width is not None:
        if not xs:
            # Scanned pages: nothing says where the title block is or what it says.
            raise ImageError("image-only PDF (no text layer): no title block to find")
        fp.image = _render_title(page, fp, xs, render_width)
    return fp


def title_bottom(fp: FirstPage) -> float:
    """Points from the page top where the title block ends: just above the abstract when
    it sits where abstracts sit, else about a third of the page."""
    at = fp.abstract_top
    if at is not None and 0.1 * fp.height <= at <= 0.6 * fp.height:
        return at - 3.0
    return fp.height / 3


def _render_title(page: Any, fp: FirstPage, xs: list[tuple[float, float, float]],
                  render_width: int) -> Any:
    bottom = title_bottom(fp)
    # Only the text's own box (plus a margin) is rendered, at the scale that makes it about
    # render_width pixels wide: no pixels drawn only to be trimmed or scaled down later.
    above = [x for x in xs if x[2] < bottom] or xs
    x0 = max(0.0, min(x[0] for x in above) - _MARGIN)
    x1 = min(fp.width, max(x[1] for x in above) + _MARGIN)
    y0 = max(0.0, min(x[2] for x in above) - 2 * _MARGIN)
    if x1 - x0 < fp.width / 3:  # a narrow header (one short line): keep the page's width
        x0, x1 = 0.0, fp.width
    scale = max(1.0, min(3.0, render_width / (x1 - x0)))
    # crop = (left, bottom, right, top) amounts to cut, in points
    bm = page.render(scale=scale, crop=(x0, fp.height - bottom, fp.width - x1, y0),
                     may_draw_forms=False)
    try:
        return bm.to_pil().convert("RGB")
    finally:
        bm.close()
