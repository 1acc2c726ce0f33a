"""What profiles and digests need from PostgreSQL: library lookups and the digest send log
(a few papers' vectors: vectors.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from ..base import SendRecord
from ..rows import now
from .core import PostgresBase

_SEND = "profile, day, channel, status, attempts, parts, reason, at"


class DeliveryMixin(PostgresBase):
    def ids_by_doi(self, dois: Iterable[str]) -> dict[str, str]:
        want = sorted({d.strip().lower() for d in dois if d.strip()})
        if not want:
            return {}
        out: dict[str, str] = {}
        # ORDER BY id: with several papers on one DOI, the last (largest id) wins, as in SQLite.
        out.update(self._all("SELECT lower(doi), id FROM papers WHERE lower(doi) = ANY(%s) AND "
                             "doi IS NOT NULL ORDER BY id", (want,)))
        return out

    def ids_by_title_key(self, keys: Iterable[str]) -> dict[str, str]:
        want = sorted({k for k in keys if k})
        if not want:
            return {}
        # Several papers may share a title key: the smallest id wins, every time.
        return dict(self._all("SELECT title_key, min(id) FROM papers WHERE title_key = ANY(%s) "
                              "GROUP BY title_key", (want,)))

    # -- the digest send log ---------------------------------------------------------------

    def sends_for(self, day: dt.date) -> dict[tuple[str, str], SendRecord]:
        rows = self._all(f"SELECT {_SEND} FROM digest_sends WHERE day = %s", (day.isoformat(),))
        return {(r[0], r[2]): _record(r) for r in rows}

    def record_send(self, rec: SendRecord) -> None:
        with self._tx() as c:
            c.execute(f"INSERT INTO digest_sends ({_SEND}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                      "ON CONFLICT (day, profile, channel) DO UPDATE SET status = excluded.status, "
                      "attempts = excluded.attempts, parts = excluded.parts, "
                      "reason = excluded.reason, at = excluded.at",
                      (rec.profile, rec.day.isoformat(), rec.channel, rec.status, rec.attempts,
                       rec.parts, rec.reason, rec.at or now()))

    def recent_sends(self, limit: int = 50) -> list[SendRecord]:
        rows = self._all(f"SELECT {_SEND} FROM digest_sends ORDER BY at DESC, day DESC, profile, "
                         "channel LIMIT %s", (limit,))
        return [_record(r) for r in rows]


def _record(r: tuple[Any, ...]) -> SendRecord:
    return SendRecord(profile=r[0], day=dt.date.fromisoformat(r[1]), channel=r[2],
                      status="sent" if r[3] == "sent" else "failed", attempts=int(r[4]),
                      parts=int(r[5]), reason=r[6], at=r[7])
