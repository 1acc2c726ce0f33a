"""Daily-arXiv style archives (gzipped JSON lines) written for the import tests and trials."""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def daily_arxiv_archive(path: Path, n: int, *, title: str = "Paper number {i} on topic {topic}",
                        topics: int = 97, summary_repeats: int = 8) -> Path:
    """Writes n distinct papers (ids 2501.00000 on, January 2025, cs.CL) to `path`; a paper's
    title is `title` with its number i and topic = i % topics, its abstract one sentence
    `summary_repeats` times (more repeats: a bigger file that takes longer to import)."""
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({
                "id": f"2501.{i:05d}", "title": title.format(i=i, topic=i % topics),
                "summary": f"We study problem {i} with method {i % 13}. " * summary_repeats,
                "authors": [f"Author {i % 50}", f"Coauthor {i % 31}"], "categories": ["cs.CL"],
                "date": f"2025-01-{1 + i % 28:02d}"}) + "\n")
    return path
