"""Copy one store into another (SQLite <-> PostgreSQL): `papersift migrate --to TARGET`.

Built on the archive row path every backend already has (ArchiveStore.archive_rows /
restore_rows, store/rows.py), so no table is written in SQL twice: rows stream out of the
source a page at a time in key order and go into the target in transactions that add only
keys the target lacks. A re-run therefore copies nothing; a run killed midway resumes.

Before anything is written, every table of both stores is compared by a merge of the two
key-ordered streams (both backends order keys bytewise): a key held by both with different
values is a conflict, and the migration refuses unless `force` (then the target's rows stay
as they are and only missing keys are copied). Memory stays one page per stream. The
comparison counts the keys the target lacks, so the copy reads a table again only where
there is something to copy, and the target side too only when it held some of the rows
(a resumed or partial migration): a first migration and a re-run read each table once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .base import ARCHIVE_TABLES, ArchiveStore

# Papers first: the other tables refer to them (the order export and import use too).
TABLES = tuple(ARCHIVE_TABLES)
# Every other table of either backend, and why it is not copied: each is derived from the
# copied tables (the target rebuilds it as it restores them) or is state of one running
# store. tests/test_migrate.py fails on a table in neither list.
NOT_COPIED = {
    "title_blocks": "near-duplicate blocking keys, written as papers are restored",
    "papers_fts": "SQLite full-text index (and its shadow tables), written as papers are restored",
    "paper_fts": "PostgreSQL full-text rows, written as papers are restored",
    "vector_indexes": "PostgreSQL HNSW index registry, made as vectors are restored",
    "job_holder": "who holds the job lock of this database now",
    "work_items": "the work queue's claims and leases on one database's server clock",
    "papersift_schema": "PostgreSQL schema version (SQLite: PRAGMA user_version)",
}
Progress = Callable[[str, int, int], None]  # table, rows done, rows in the source table


@dataclass
class TableCount:
    source: int = 0
    target_before: int = 0
    copied: int = 0
    conflicts: int = 0
    missing: int = 0  # source keys the target lacks (what a copy adds)

    @property
    def target_after(self) -> int:
        return self.target_before + self.copied


@dataclass
class MigrateReport:
    tables: dict[str, TableCount] = field(default_factory=dict)
    example: str = ""  # the first conflicting key, for the error line

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables.values())

    @property
    def conflicts(self) -> int:
        return sum(t.conflicts for t in self.tables.values())

    def summary(self) -> str:
        return (f"migrate: {self.copied} rows copied in {len(self.tables)} tables"
                + (f"; {self.conflicts} differing rows kept as the target had them" if self.conflicts else ""))


def _key(table: str, row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in ARCHIVE_TABLES[table])


def _merge(table: str, a: Iterator[dict[str, Any]], b: Iterator[dict[str, Any]]
           ) -> Iterator[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
    """Pairs (source row, target row) by key from two key-ordered streams (None: absent)."""
    x, y = next(a, None), next(b, None)
    while x is not None or y is not None:
        if y is None or (x is not None and _key(table, x) < _key(table, y)):
            yield x, None
            x = next(a, None)
        elif x is None or _key(table, y) < _key(table, x):
            yield None, y
            y = next(b, None)
        else:
            yield x, y
            x, y = next(a, None), next(b, None)


def compare(source: ArchiveStore, target: ArchiveStore, table: str, batch: int = 5000
            ) -> tuple[TableCount, str]:
    """Counts of one table on both sides and how many shared keys differ (+ the first)."""
    count, example = TableCount(), ""
    for s, t in _merge(table, source.archive_rows(table, batch), target.archive_rows(table, batch)):
        count.source += s is not None
        count.target_before += t is not None
        count.missing += t is None
        if s is not None and t is not None and s != t:
            count.conflicts += 1
            example = example or f"{table} {_key(table, s)!r}"
    return count, example


def _missing(table: str, source: ArchiveStore, target: ArchiveStore, count: TableCount,
             batch: int, done: Callable[[int], None]) -> Iterator[dict[str, Any]]:
    """The source rows whose key the target lacks (what restore_rows would add anyway; leaving
    the others out keeps a re-run from sending every row across)."""
    n = 0
    # An empty target lacks every key: the source alone is read (a first migration).
    theirs = target.archive_rows(table, batch) if count.target_before else iter(())
    for s, t in _merge(table, source.archive_rows(table, batch), theirs):
        if s is None:
            continue
        n += 1
        if n % 1000 == 0:
            done(n)
        if t is None:
            yield s
    done(n)


def migrate(source: ArchiveStore, target: ArchiveStore, *, force: bool = False,
            batch: int = 5000, progress: Progress | None = None) -> MigrateReport:
    """Copy every archived table of `source` into `target`; InputError on differing rows
    unless `force`. Returns the counts per table on both sides."""
    tick = progress or (lambda *_: None)
    report = MigrateReport()
    for table in TABLES:
        report.tables[table], example = compare(source, target, table, batch)
        report.example = report.example or example
    if report.conflicts and not force:
        raise InputError(f"migrate: the target holds different data for {report.conflicts} keys "
                         f"(e.g. {report.example}); nothing was copied; --force copies the "
                         "missing rows and keeps the target's")
    for table in TABLES:
        count = report.tables[table]
        if not count.missing:  # a re-run: the comparison was the only read of this table
            continue
        # restore_rows commits a transaction per chunk; the target stream's later pages may
        # then show rows just copied, which sort before the source's position and are skipped.
        def done(n: int, table: str = table, total: int = count.source) -> None:
            tick(table, n, total)

        count.copied = target.restore_rows(table, _missing(table, source, target, count, batch, done))
    return report
