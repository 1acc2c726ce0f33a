"""The ranking's constants, in one place (docs/profiles.md explains each; the "For you"
page reads the same numbers from the JSON the site build publishes).

    score = similarity + KEYWORD * keywords matched (at most MAX_KEYWORDS)
                       + AUTHOR * authors matched (at most MAX_AUTHORS)
                       + TAG * tags matched (at most MAX_TAGS)
    similarity = max over interest clusters of cos(candidate, cluster centroid)
    (a profile of at most MAX_CLUSTERS seed papers: one cluster per paper)

A negative keyword removes the paper whatever its score; excluded and seed papers never
show; a paper is kept when score >= the profile's min_score.
"""

from __future__ import annotations

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
    return {"keyword": KEYWORD, "author": AUTHOR, "tag": TAG, "max_keywords": MAX_KEYWORDS,
            "max_authors": MAX_AUTHORS, "max_tags": MAX_TAGS, "max_clusters": MAX_CLUSTERS,
            "min_score": DEFAULT_MIN_SCORE}
