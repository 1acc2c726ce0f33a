"""Search hits: the ranked papers with their enrichments and highlighted title and summary."""

from __future__ import annotations

from ..store.base import SearchSource
from .highlight import highlight_parts, snippet_of_text, snippet_parts, to_spans
from .lexical import Analyzer
from .models import SearchHit
from .query import ParsedQuery


def make_hits(store: SearchSource, analyzer: Analyzer, ids: list[str], score: dict[str, float],
              found: dict[str, list[str]], dups: dict[str, list[str]], parsed: ParsedQuery,
              summaries: bool = True) -> list[SearchHit]:
    """One hit per id still stored, in order; matches of the query's words highlighted
    (stems by the analyzer that ranked them)."""
    papers = store.get_papers(ids)
    enr = store.get_enrichments(ids)
    stems = set(analyzer(" ".join(parsed.highlight_terms)))
    hits = []
    for pid in ids:
        p = papers.get(pid)
        if p is None:  # deleted between ranking and fetching
            continue
        title = to_spans(highlight_parts(p.title, stems, analyzer.stem_word))
        if summaries:
            summary_parts = highlight_parts(p.abstract, stems, analyzer.stem_word)
            summary, snip = to_spans(summary_parts), to_spans(snippet_parts(summary_parts))
        else:
            summary, snip = [], to_spans(snippet_of_text(p.abstract, stems, analyzer.stem_word))
        e = enr.get(pid)
        # Every field is ours or already validated (the paper on its way into the store,
        # the spans by to_spans): skip a second validation of ~30 objects per hit.
        hits.append(SearchHit.model_construct(
            id=pid, score=round(score.get(pid, 0.0), 6), found_by=found.get(pid, []), paper=p,
            tags=list(e.tags) if e else [], enrichment=e, highlightedTitle=title, highlightedSummary=summary,
            snippet=snip, duplicates=dups.get(pid, [])))
    return hits
