"""The scale-out store: one PostgreSQL database (tsvector + GIN full text, pgvector HNSW
vectors), shared by processes on many machines.

Opened by open_store() for a `postgresql://` (or `postgres://`) `db` setting. PostgreSQL
specifics live in this package, one module per concern as in store/sqlite/, and
PostgresStore composes them; the upsert decisions are store/upsert.py's, the row layout
store/rows.py's, the same code SQLite runs. Every write is a transaction. Snapshots
(papersift backup) are not offered: a PostgreSQL database is backed up with pg_dump or
its replicas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .archive import ArchiveMixin
from .bulk import BulkState, BulkWrites
from .coverage import CoverageMixin
from .days import DaysMixin
from .delivery import DeliveryMixin
from .enrichments import EnrichmentsMixin
from .fts import BACKLOG_META, repair_if_idle
from .images import ImagesMixin
from .links import LinksMixin
from .locks import LocksMixin
from .papers import PapersMixin
from .publish import PublishMixin
from .queue import QueueMixin
from .ranking import RankingMixin
from .runs import RunsMixin
from .search import SearchMixin
from .vectors import VectorsMixin

__all__ = ["PostgresStore"]


class PostgresStore(PapersMixin, DaysMixin, EnrichmentsMixin, RunsMixin, VectorsMixin,
                    SearchMixin, PublishMixin, LocksMixin, ArchiveMixin, CoverageMixin,
                    ImagesMixin, LinksMixin, DeliveryMixin, RankingMixin, QueueMixin):
    """Store backed by one PostgreSQL database. Safe to share across threads (a pool)."""

    def __init__(self, url: str):
        super().__init__(url)
        self._bulk = BulkState(self.pool)
        if self.get_meta(BACKLOG_META) is not None:  # a bulk import was killed, or runs
            repair_if_idle(self.pool)

    def bulk_writes(self) -> BulkWrites:
        """Context for a bulk import: its transactions commit without waiting for the WAL
        flush, the GIN indexes gather larger batches, and helpers write the full text (bulk.py)."""
        return BulkWrites(self._bulk)

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if TYPE_CHECKING:
    from .. import base
    from ..upsert import UpsertSource

    def _conforms(s: PostgresStore) -> tuple[
            base.PaperReader, base.DayReader, base.PaperStore, base.EnrichmentReader,
            base.EnrichmentStore, base.CacheStore, base.MetaStore, base.RunStore,
            base.VectorStore, base.ImportLedger, base.BulkLoader, base.SearchSource,
            base.PublishSource, base.JobLocks, base.ArchiveStore, base.CoverageStore,
            base.ImageReader, base.ImageStore, base.LinkReader, base.LinkStore, base.ProfileSource,
            base.SendLog, base.Store, base.RankedSearchSource, base.WorkQueue, UpsertSource]:
        """mypy: PostgresStore implements every protocol but Snapshots (a missing or
        mistyped method is an error here, not at some call site far away)."""
        return (s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s)
