"""The embedded default store: one SQLite file with FTS5 and float32 vectors.

SQLite specifics live in this package and nowhere else, one module per concern; SQLiteStore
composes them. Every write is a transaction; the full-text index is kept in sync inside the
same transaction (see schema.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .archive import ArchiveMixin
from .bulk import BulkWrites
from .coverage import CoverageMixin
from .days import DaysMixin
from .delivery import DeliveryMixin
from .enrichments import EnrichmentsMixin
from .images import ImagesMixin
from .links import LinksMixin
from .locks import LocksMixin
from .papers import PapersMixin
from .publish import PublishMixin
from .runs import RunsMixin
from .search import SearchMixin
from .snapshots import SnapshotsMixin
from .vectors import VectorsMixin

__all__ = ["SQLiteStore"]


class SQLiteStore(PapersMixin, DaysMixin, EnrichmentsMixin, RunsMixin, VectorsMixin,
                  SearchMixin, PublishMixin, LocksMixin, SnapshotsMixin, ArchiveMixin,
                  CoverageMixin, ImagesMixin, LinksMixin, DeliveryMixin):
    """Store backed by one SQLite file. Safe to share across threads (one lock)."""

    def bulk_writes(self) -> BulkWrites:
        """Context for a bulk import: page cache, FTS merging and checkpoints set for speed."""
        return BulkWrites(self.path, self.conn, self._lock)

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if TYPE_CHECKING:
    from .. import base
    from ..upsert import UpsertSource

    def _conforms(s: SQLiteStore) -> tuple[
            base.PaperReader, base.DayReader, base.PaperStore, base.EnrichmentReader,
            base.EnrichmentStore, base.CacheStore, base.MetaStore, base.RunStore,
            base.VectorStore, base.ImportLedger, base.BulkLoader, base.SearchSource,
            base.PublishSource, base.JobLocks, base.Snapshots, base.ArchiveStore, base.CoverageStore,
            base.ImageReader, base.ImageStore, base.LinkReader, base.LinkStore, base.ProfileSource,
            base.SendLog, base.Store, UpsertSource]:
        """mypy: SQLiteStore implements every protocol (a missing or mistyped method is an
        error here, not at some call site far away)."""
        return (s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s)
