"""The ranking's constants, in one place (docs/profiles.md explains each; the "For you"
page reads the same numbers from the JSON the site build publishes).

    score = SIMILARITY * similarity + LEXICAL * lexical
                       + KEYWORD * keywords matched (at most MAX_KEYWORDS)
                       + AUTHOR * authors matched (at most MAX_AUTHORS)
                       + TAG * tags matched (at most MAX_TAGS)
    similarity = max over interest clusters of cos(candidate, cluster centroid)
    lexical = tf-idf cosine to the nearest seed paper + tf-idf cosine to the profile's
              centroid (profiles/lexical.py)
    (a profile of at most MAX_CLUSTERS seed papers: one cluster per paper)

A negative keyword removes the paper whatever its score; excluded and seed papers never
show; a paper is kept when score >= the profile's min_score.
"""

from __future__ import annotations

# The similarity: an embedding part and a lexical part (profiles/lexical.py), weighted sum
# chosen on dev proxy users (bench/recommend.py --seed 7; docs/profiles.md has the figures).
# The embedding cosine keeps weight 1 (as on the For you page, which has no lexical part);
# the lexical part weighs twice that: on the dev users minilm's cosine helps the top of the
# list at half the lexical weight and hurts recall at more; model2vec's is flat there.
SIMILARITY = 1.0  # x the best cosine to an interest cluster (index vectors)
LEXICAL = 2.0  # x (tf-idf cosine to the nearest seed paper + to the profile's centroid)
LEX_TITLE = 2  # title words count this many times
LEX_K1 = 1.2  # term frequency saturation, as BM25's k1
# Words in fewer than this share of the stored papers (at least one paper) are dropped:
# typos and one-off names. 5e-5: 5 papers of the benchmark's 89k, 1 in a store under 20k.
LEX_MIN_DF_SHARE = 5e-5
LEX_EXPLAIN = 0.05  # "words shared with your papers" from this lexical similarity
LEX_WORDS = 4  # words named in that explanation

KEYWORD = 0.25
AUTHOR = 0.35
TAG = 0.1
MAX_KEYWORDS = 2
MAX_AUTHORS = 2
MAX_TAGS = 2

# Up to this many seed papers each is its own interest cluster; a larger profile (a library
# export) is clustered down to this many (profiles/interests.py: cluster).
MAX_CLUSTERS = 64
JOIN_STEPS = 12  # bisection steps for the join cosine of a large profile's clusters

DEFAULT_MIN_SCORE = 0.3
DEFAULT_MAX_PAPERS = 20


def as_dict() -> dict[str, float]:
    """The weights as published for the browser's mirror of the ranking."""
    return {"similarity": SIMILARITY, "lexical": LEXICAL, "keyword": KEYWORD, "author": AUTHOR, "tag": TAG, "max_keywords": MAX_KEYWORDS,
            "max_authors": MAX_AUTHORS, "max_tags": MAX_TAGS, "max_clusters": MAX_CLUSTERS,
            "min_score": DEFAULT_MIN_SCORE}
