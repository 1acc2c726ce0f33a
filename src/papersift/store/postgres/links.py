"""Code and linked resources in PostgreSQL: repo, stars and project page on the paper's row,
the HF resource counts and the refresh time in paper_links."""

from __future__ import annotations

from collections.abc import Iterable

from ..base import PaperLinks
from ..rows import now
from .core import PostgresBase


class LinksMixin(PostgresBase):
    def get_links(self, ids: Iterable[str]) -> dict[str, PaperLinks]:
        """The stored links of those of `ids` refreshed at least once."""
        want = list(ids)
        if not want:
            return {}
        return {r[0]: PaperLinks(*r) for r in self._all(
            "SELECT p.id, p.github_repo, p.github_stars, p.project_page, l.hf_models, "
            "l.hf_datasets, l.hf_spaces, l.checked_at FROM paper_links l "
            "JOIN papers p ON p.id = l.paper_id WHERE l.paper_id = ANY(%s)", (want,))}

    def save_links(self, items: Iterable[PaperLinks]) -> int:
        """Write each item in one transaction; returns how many papers' values changed.
        Papers not in the store are skipped."""
        changed = 0
        ts = now()
        with self._tx() as c:
            for it in items:
                row = c.execute(
                    "SELECT p.github_repo, p.github_stars, p.project_page, l.hf_models, "
                    "l.hf_datasets, l.hf_spaces FROM papers p LEFT JOIN paper_links l "
                    "ON l.paper_id = p.id WHERE p.id = %s FOR UPDATE OF p", (it.paper_id,)).fetchone()
                if row is None:
                    continue
                new = (it.github_repo, it.github_stars, it.project_page, it.hf_models,
                       it.hf_datasets, it.hf_spaces)
                c.execute(
                    "INSERT INTO paper_links (paper_id, hf_models, hf_datasets, hf_spaces, "
                    "checked_at) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (paper_id) DO UPDATE SET "
                    "hf_models = excluded.hf_models, hf_datasets = excluded.hf_datasets, "
                    "hf_spaces = excluded.hf_spaces, checked_at = excluded.checked_at",
                    (it.paper_id, it.hf_models, it.hf_datasets, it.hf_spaces, it.checked_at or ts))
                if tuple(row) != new:
                    # changed_at moves: the incremental build and the search engine see it
                    c.execute("UPDATE papers SET github_repo = %s, github_stars = %s, "
                              "project_page = %s, changed_at = %s WHERE id = %s",
                              (it.github_repo, it.github_stars, it.project_page, ts, it.paper_id))
                    changed += 1
        return changed
