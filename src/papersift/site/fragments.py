"""The two fragments a full build renders ~90k times each, in plain Python: a listing card
and the main block of a paper page (inside base.html's shell, see Renderer.paper). Jinja
spent ~50 us a paper page and ~30 us a card, three times this code, mostly in per-value
call overhead; the rest of the site stays in templates/.

Every value from a paper, a source or a model goes through `_e` (the escaping Jinja's
autoescape applies, see below): nothing here is marked safe. The output is byte for
byte what the former _card.html / paper.html templates gave (tests/site_reference/ keeps
them; tests/test_site_render.py compares).
"""

from __future__ import annotations

from typing import Any


def _e(v: Any) -> str:
    """MarkupSafe's escape (what Jinja's autoescape applies), as MarkupSafe's own pure-Python
    version writes it: the same five replacements, without building a Markup object per
    value (half the cost of a fragment). Tests compare the output with the templates'."""
    s = v if v.__class__ is str else str(v)
    return (s.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


_LINK = '<a href="{}" rel="noopener noreferrer">{}</a>'


def _links(links: dict[str, str | None]) -> str:
    return "".join(_LINK.format(_e(url), _e(name)) for name, url in links.items() if url)


def _tags(tags: list[str], root: str) -> str:
    return "".join(f'<a class="tag" href="{_e(root)}t/{_e(t)}.html">#{_e(t)}</a>' for t in tags)


def _join(items: list[Any], sep: str) -> str:
    return _e(sep.join(map(str, items)))


def _img(v: dict[str, Any], root: str, alt: str) -> str:
    """A stored image: its size given (no layout shift), loaded only when scrolled to."""
    return (f'<img src="{_e(root)}img/{_e(v["file"])}" width="{_e(v["w"])}" height="{_e(v["h"])}" '
            f'loading="lazy" decoding="async" alt="{_e(alt)}">')


def _card_img(v: dict[str, Any], root: str, slug: str, title: str) -> str:
    return f'<a class="card-img" href="{_e(root)}p/{slug}.html" tabindex="-1">{_img(v, root, title)}</a>'


# -- code and linked resources (cards.badges): one row of badges, on cards and paper pages --

def _badges(c: dict[str, Any]) -> str:
    """`  <p class="res">...</p>\n`, or "" for a paper without code or linked resources."""
    bs = c["badges"]
    if not bs:
        return ""
    return ('  <p class="res">' + "".join(
        f'<a class="b {_e(kind)}" href="{_e(url)}" rel="noopener noreferrer">{_e(text)}</a>'
        for kind, url, text in bs) + "</p>\n")

# -- end of code and linked resources --


def card(c: dict[str, Any], root: str, rank: int | None = None, lang: str = "en") -> str:
    """One card of a listing page (day, week, month, topic)."""
    revs = c["reviews"]
    rv = revs[lang] if lang in revs else next(iter(revs.values()))
    r = _e(root)
    slug = _e(c["slug"])
    out = [f'<article class="card" id="c-{slug}" data-id="{_e(c["id"])}">\n'
           f'  <div class="card-head">\n'
           f'    <span class="emoji" aria-hidden="true">{_e(c["emoji"])}</span>\n']
    if rank:
        out.append(f'<span class="rank">#{_e(rank)}</span>')
    img = c.get("card_img")  # the card's image block (images step; see site/images.py)
    out.append(f'    <span class="up" title="Hugging Face upvotes">▲ {_e(c["upvotes"])}</span>\n'
               f'  </div>\n'
               f'{_card_img(img, root, slug, c["title"]) if img else ""}'
               f'  <h2 class="ctitle"><a href="{r}p/{slug}.html">{_e(rv["title"])}</a></h2>\n')
    if rv["title"] != c["title"]:
        out.append(f'<div class="otitle">{_e(c["title"])}</div>')
    out.append(f'  <p class="review">{_e(rv["review"])}</p>\n'
               f'  <p class="note fb"{"" if rv["fallback"] else " hidden"}>'
               'Not available in this language: shown in English.</p>\n')
    method = c["method"]
    if method == "offline":
        out.append('<p class="badge offline" title="Extractive summary made without a language model">'
                   'offline summary</p>')
    elif not method:
        out.append('<p class="badge raw">abstract (not yet enriched)</p>')
    moved = c["moved_to"]
    if moved:
        m = _e(moved)
        out.append(f'<p class="note">Hugging Face moved this paper to <a href="{r}d/{m}.html">{m}</a>.</p>')
    n = c["num_authors"]
    out.append(f'  <p class="authors">{_join(c["authors"][:8], ", ")}'
               f'{f" et al. ({_e(n)})" if n > 8 else ""}</p>\n')
    if c["affiliations"]:
        out.append(f'<p class="affil">{_join(c["affiliations"][:6], "; ")}</p>')
    pub, day = c["published"], c["day"]
    out.append(f'  <div class="tags">{_tags(c["tags"], root)}</div>\n'
               f'  <p class="meta">{f"arXiv {_e(pub)}" if pub else ""}'
               f'{f" · listed {_e(day)}" if day else ""}</p>\n'
               f'  <p class="links">{_links(c["links"])}</p>\n'
               f'{_badges(c)}</article>')
    return "".join(out)


def paper_main(c: dict[str, Any], similar: list[dict[str, Any]], root: str,
               lang_names: dict[str, str]) -> str:
    """The main block of a paper's page."""
    r = _e(root)
    out = [f'<article class="paper" data-id="{_e(c["id"])}">\n'
           f'  <p class="emoji big" aria-hidden="true">{_e(c["emoji"])}</p>\n'
           f'  <h1>{_e(c["title"])}</h1>\n']
    method = c["method"]
    if method == "offline":
        out.append('<p class="badge offline">offline summary (no language model)</p>')
    elif not method:
        out.append('<p class="badge raw">not yet enriched: abstract only</p>')
    imgs = c.get("images")
    if imgs:
        title, fig = imgs.get("title"), imgs.get("figure")
        if title:
            out.append(f'<figure class="title-img">{_img(title, root, c["title"])}</figure>')
        if fig:
            out.append(f'<figure class="teaser">{_img(fig, root, "First figure of: " + c["title"])}'
                       f'<figcaption>{_e(fig["caption"])}</figcaption></figure>')
    out.append(f'  <p class="meta">▲ {_e(c["upvotes"])}')
    if c["published"]:
        out.append(f' · arXiv {_e(c["published"])}')
    if c["day"]:
        d = _e(c["day"])
        out.append(f' · listed <a href="{r}d/{d}.html">{d}</a>')
    if c["categories"]:
        out.append(f' · {_join(c["categories"], ", ")}')
    out.append(f'</p>\n  <p class="links">{_links(c["links"])}</p>\n{_badges(c)}'
               f'  <div class="tags">{_tags(c["tags"], root)}</div>\n'
               f'  <p class="authors">{_join(c["authors"], ", ")}</p>\n')
    if c["affiliations"]:
        out.append(f'<p class="affil">{_join(c["affiliations"], "; ")}</p>')
    if c["organization"]:
        out.append(f'<p class="affil">{_e(c["organization"])}</p>')
    for lang, rv in c["reviews"].items():
        note = " <small>(not available: shown in English)</small>" if rv["fallback"] else ""
        out.append(f'  <section class="review-lang" lang="{_e(lang)}">\n'
                   f'    <h2>{_e(lang_names.get(lang, lang))}{note}</h2>\n'
                   f'    <h3>{_e(rv["title"])}</h3>\n'
                   f'    <p>{_e(rv["review"])}</p>\n'
                   '  </section>\n')
    sims = "".join(f'<li><a href="{r}p/{_e(s["slug"])}.html">{_e(s["emoji"])} {_e(s["title"])}</a></li>'
                   for s in similar)
    out.append(f'  <section><h2>Abstract</h2><p class="abstract">{_e(c["abstract"] or "No abstract.")}'
               '</p></section>\n'
               '  <section id="similar"><h2>Similar papers</h2>\n'
               f'    <ul class="similar">{sims}</ul>\n')
    if not similar:
        out.append('<p class="sub" id="similar-empty">Similar papers appear here when the site is '
                   'served (<code>papersift serve</code>).</p>')
    out.append('  </section>\n</article>\n')
    return "".join(out)
