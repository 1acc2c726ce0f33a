"""Parse what a user typed into words, "exact phrases" and `author:name` terms.

User text never reaches FTS5 as syntax: the parsed query (a store.base.LexicalQuery) crosses
the store interface, and the backend re-emits every word as a quoted string of its own
syntax (store/sqlite/search.py: fts5_match) with operators between them that are ours. So
quotes, NEAR/AND/OR/NOT, `*`, `^`, `:`, parentheses, emoji or 10,000 characters can never produce an FTS syntax error.

Free words are OR-ed (BM25 ranks documents by how many and how rare the words they hold,
which is what a search box wants); phrases and author terms are required (AND).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..store.base import LexicalQuery
from ..text import SEARCH_STOPWORDS as STOPWORDS
from ..text import WORD

# Longer input is cut. Pasted text (an abstract, a claim, an argument) runs to a few thousand
# characters, and cutting it at 48 words lost most of a long query (docs/search-quality.md).
MAX_QUERY_CHARS = 4000
MAX_TERMS = 256

_PART = re.compile(r'(?P<field>author|authors):(?P<aval>"[^"]*"?|\S+)|"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+)',
                   re.IGNORECASE)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, as the FTS5 unicode61 tokenizer would split them."""
    return [t.lower() for t in WORD.findall(text)]


@dataclass
class ParsedQuery(LexicalQuery):
    # LexicalQuery's terms (free words, stopwords removed), phrases (all words kept), authors
    text: str = ""
    words: list[str] = field(default_factory=list)  # every word and phrase word, in order

    @property
    def empty(self) -> bool:
        return not (self.terms or self.phrases or self.authors)

    @property
    def semantic_text(self) -> str:
        """What the embedder sees: the words and phrases in order, stopwords kept (sentence
        models read them), without author: terms and query syntax."""
        return " ".join(self.words or self.terms)

    @property
    def highlight_terms(self) -> list[str]:
        out = list(self.terms)
        for p in self.phrases + self.authors:
            out.extend(p)
        return list(dict.fromkeys(out))


def parse_query(text: str | None) -> ParsedQuery:
    """Split a user query into free terms, exact phrases and author terms."""
    raw = (text or "")[:MAX_QUERY_CHARS]
    q = ParsedQuery(text=raw)
    words: list[str] = []
    for m in _PART.finditer(raw):
        if m.group("field"):
            toks = tokens(m.group("aval"))
            if toks:
                q.authors.append(toks)
        elif m.group("phrase") is not None:
            toks = tokens(m.group("phrase"))
            q.words.extend(toks)
            if len(toks) == 1:
                words.extend(toks)
            elif toks:
                q.phrases.append(toks[:MAX_TERMS])
        else:
            words.extend(tokens(m.group("word")))
            q.words.extend(tokens(m.group("word")))
    content = [w for w in words if w not in STOPWORDS]
    # A query made only of stopwords ("the who") still means something: keep its words.
    if not content and not q.phrases and not q.authors:
        content = words
    q.terms = list(dict.fromkeys(content))[:MAX_TERMS]
    return q
