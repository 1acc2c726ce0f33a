"""How papersift splits text into words, and which words carry no topic: one place for each.

Two tokenizations exist on purpose:

- `WORD` (letter/digit runs, any script) is how SQLite FTS5's unicode61 tokenizer splits.
  Query parsing, the in-memory BM25 index and highlighting all use it, so the words a query
  is made of, the words that scored and the words lit up in a result are the same words.
- `KEYWORD` (ASCII words of two or more characters starting with a letter, plus "3d"-style
  terms) is what the offline enricher weighs with TF-IDF: numbers, single letters and
  non-English text say nothing about an English abstract's topic there.

The two stopword lists differ on purpose as well: `SEARCH_STOPWORDS` are function words a
typed query can drop (FTS5 has none, and they make OR queries match everything), while
`KEYWORD_STOPWORDS` also drop the words every abstract uses ("propose", "results",
"models"...), which would otherwise dominate offline summaries and tag similarity.
"""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W_]+")  # letter/digit runs, as FTS5 unicode61 splits
# The hashing test embedder's features: \w runs (underscores included). Kept as it was: the
# features, and so every hash vector, depend on it.
HASH_WORD = re.compile(r"\w+")
KEYWORD = re.compile(r"[a-z][a-z0-9]+|\d+d\b")  # applied to lower-cased text


def strip_accents(text: str) -> str:
    """`text` decomposed (NFKD) without its combining marks: "Naïve" -> "Naive"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


SEARCH_STOPWORDS = frozenset(["a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "aren", "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "cannot", "could", "did", "do", "does", "doing", "don", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "isn", "it", "its", "itself", "just", "let", "me", "more", "most", "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only", "or", "other", "ought", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "via", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "also", "using", "based", "use", "used", "via", "vs", "versus", "towards", "toward", "within", "without"])

KEYWORD_STOPWORDS = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "can", "for", "from", "has", "have", "in", "into", "is", "it", "its", "of", "on", "or", "our", "such", "that", "the", "their", "these", "this", "those", "to", "was", "we", "were", "which", "with", "while", "within", "without", "via", "using", "use", "used", "based", "new", "also", "both", "between", "more", "most", "than", "then", "there", "they", "through", "when", "where", "who", "how", "what", "paper", "papers", "approach", "method", "methods", "propose", "proposed", "show", "shows", "results", "result", "model", "models", "performance", "task", "tasks", "work", "however", "demonstrate", "existing", "significantly", "first", "study", "present", "furthermore", "moreover", "including", "including", "across", "over", "under", "not", "only", "each", "other", "well", "may", "allow", "allows", "enable", "enables", "achieve", "achieves", "different", "large", "recent", "further"])
