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
from ..store.sqlite.search import fts5_match

# FTS5 has no stopword list; these carry no topic and make OR queries match everything.
_STOPWORDS_TEXT = """
a about above after again against all am an and any are aren as at be because been before
being below between both but by can cannot could did do does doing don down during each few
for from further had has have having he her here hers herself him himself his how i if in into
is isn it its itself just let me more most my myself no nor not of off on once only or other
ought our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up very via was we
were what when where which while who whom why will with would you your yours yourself
yourselves also using based use used via vs versus towards toward within without
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

MAX_QUERY_CHARS = 2000  # longer input is cut: nobody types more, and FTS cost grows with terms
MAX_TERMS = 48

# unicode61 splits on everything that is not a letter or a digit; so do we (keeps tokens in step).
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_PART = re.compile(r'(?P<field>author|authors):(?P<aval>"[^"]*"?|\S+)|"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+)',
                   re.IGNORECASE)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens, as the FTS5 unicode61 tokenizer would split them."""
    return [t.lower() for t in _TOKEN.findall(text)]


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


def build_match(q: ParsedQuery, require_all: bool = False) -> str | None:
    """The FTS5 MATCH expression the SQLite store runs for `q` (tests check it is valid FTS5
    for any input). Phrases and author terms must match; free words are OR-ed."""
    return fts5_match(q, require_all)


def build_or_match(q: ParsedQuery) -> str | None:
    """Free words OR-ed together, ignoring required parts (lexical recall for fusion)."""
    return build_match(ParsedQuery(terms=q.terms)) if q.terms else None
