"""`papersift export DIR` / `papersift import DIR`: the whole store as plain files.

Deterministic and diff-friendly, so a git branch can hold a deployment's state: one JSON
Lines file per day of papers (each line a paper with its provenance, aliases, enrichment and
failure), one per year of day memberships, then readings, runs, the LLM cache and the list
of embedded texts per vector model (`--vectors` adds the vectors themselves), coverage, the
linked-resource counts and the digests' send log. Image files are not in it: `papersift
images` renders them again from the PDFs. Keys are
sorted, lines ordered by id, no timestamps of the export itself: exporting an unchanged
store rewrites nothing, and export -> import into an empty store -> export gives the same
bytes. Files are replaced atomically and only when their content changed.

Everything read back is validated (papers, enrichments and readings through their models):
a bad line is reported as file:line and skipped, the good ones are imported, and nothing
already stored is replaced.
"""

from __future__ import annotations

from .format import ArchiveReport
from .read import import_archive, is_archive
from .write import export_store

__all__ = ["ArchiveReport", "export_store", "import_archive", "is_archive"]
