"""How a paper and the other archived records lie in a table, for every SQL backend: the
columns, the conversions between Paper fields and column values, and the column lists of
the archive tables. Kept out of the backends so that SQLite and PostgreSQL store (and
export) the very same values; each backend only says how to move them.

Dates and timestamps are ISO text and JSON fields are JSON text in both backends: they
compare, sort and come back identically, and an export from one is byte-identical to an
export from the other.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import InputError
from ..model import PAPER_FIELDS, Paper
from .records import ARCHIVE_TABLES

JSON_FIELDS = frozenset({"authors", "affiliations", "categories", "ai_keywords", "links"})
DATE_FIELDS = frozenset({"published", "updated", "hf_date"})
COLUMNS = ("id",) + PAPER_FIELDS + ("num_authors",)
_CONVERTED = JSON_FIELDS | DATE_FIELDS
# A new paper row: COLUMNS, the derived columns, then the two timestamps (in that order:
# new_row() leaves the timestamps to the writer, which knows whether a row was renamed).
ROW_COLUMNS = COLUMNS + ("title_key", "content_hash", "day", "created_at", "changed_at")
PAPER_OUT = COLUMNS + ("created_at", "changed_at")  # an archived paper

loads: Callable[[str | bytes], Any]
try:  # orjson: same JSON text as json.dumps(ensure_ascii=False), minus spaces, 5x faster.
    import orjson

    def dumps(v: Any) -> str:
        return orjson.dumps(v).decode()

    loads = orjson.loads
except ImportError:  # pragma: no cover
    def dumps(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    loads = json.loads


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def to_db(name: str, v: Any) -> Any:
    if name in JSON_FIELDS:
        return dumps(v)
    if name in DATE_FIELDS:
        return v.isoformat() if v else None
    return v


def from_db(name: str, v: Any) -> Any:
    if name in JSON_FIELDS:
        return loads(v)
    if name in DATE_FIELDS:
        return dt.date.fromisoformat(v) if v else None
    return v


def paper_values(p: Paper) -> list[Any]:
    """The values of COLUMNS for `p`."""
    d = p.__dict__  # hot path of bulk imports: plain attribute reads
    return [to_db(n, d[n]) if n in _CONVERTED else d[n] for n in COLUMNS]


def day_of(p: Paper) -> str | None:
    d = p.hf_date or p.published
    return d.isoformat() if d else None


def new_row(p: Paper, tk: str) -> list[Any]:
    """ROW_COLUMNS values of `p` as a new row, except created_at/changed_at."""
    return paper_values(p) + [tk, p.content_hash(), day_of(p)]


# Columns of the archive tables other than papers, and those of them holding JSON text.
ARCHIVE_COLUMNS: dict[str, tuple[str, ...]] = {
    "paper_sources": ("paper_id", "source", "ref", "first_seen"),
    "aliases": ("alias", "paper_id"),
    "day_papers": ("day", "paper_id", "source", "rank", "first_seen", "moved_to"),
    "enrichments": ("paper_id", "method", "model", "prompt_version", "input_hash", "data",
                    "created_at"),
    "enrich_failures": ("paper_id", "reason", "attempts", "at"),
    "readings": ("day", "data"),
    "llm_cache": ("key", "value", "created_at"),
    "runs": ("id", "kind", "started_at", "finished_at", "status", "params", "counts", "errors"),
    "vectors": ("model", "paper_id", "text_hash", "vec"),
    "coverage": ("source", "period", "expected", "collected", "errors", "run_id", "at"),
    "paper_links": ("paper_id", "hf_models", "hf_datasets", "hf_spaces", "checked_at"),
    "digest_sends": ("profile", "day", "channel", "status", "attempts", "parts", "reason", "at"),
    "paper_images": ("paper_id", "kind", "file", "bytes", "width", "height", "hash", "source_hash",
                     "source_url", "caption", "failure", "retry", "updated_at"),
    "import_seen": ("fp",),
    "meta": ("key", "value"),
}
# Meta rows a backend keeps for itself, never copied: SQLite's enrichment write counter
# (schema migration 8) and PostgreSQL's mark of an unfinished full-text backlog (fts.py).
DERIVED_META = frozenset({"enrichments_version", "fts_backlog"})
ARCHIVE_JSON: dict[str, frozenset[str]] = {
    "enrichments": frozenset({"data"}), "readings": frozenset({"data"}),
    "llm_cache": frozenset({"value"}), "runs": frozenset({"params", "counts", "errors"}),
}


def archive_keys(table: str) -> tuple[str, ...]:
    """The key columns of an archive table; InputError for a table no archive holds."""
    if table not in ARCHIVE_TABLES:
        raise InputError(f"archive table {table!r} is not known; known: {', '.join(ARCHIVE_TABLES)}")
    return ARCHIVE_TABLES[table]


def archive_columns(table: str) -> tuple[str, ...]:
    return PAPER_OUT if table == "papers" else ARCHIVE_COLUMNS[table]


# What a job that died left behind: the next job to take the lock closes its runs so.
DIED = "interrupted: the process died before finishing this run (killed or crashed)"


def died_errors(errors_json: str | None) -> str:
    """The errors column of a run closed because its job died."""
    return json.dumps([DIED, *json.loads(errors_json or "[]")])


def holder_text(info: dict[str, Any]) -> str:
    """Who holds a job lock, as a waiting job says it."""
    if not info:
        return "another papersift job"
    return (f"papersift {info.get('job', '?')} (pid {info.get('pid', '?')} on "
            f"{info.get('host', '?')}, since {info.get('since', '?')})")


def busy_error(where: str, holder: str, timeout: float) -> str:
    return (f"{where}: busy: {holder} is writing to this store (waited {timeout:g} s); run "
            "again when it has finished, or wait longer with setting 'lock_timeout' "
            "(PAPERSIFT_LOCK_TIMEOUT)")


def archive_pages(table: str, batch: int, mark: str,
                  fetch: Callable[[str, list[Any]], list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """ArchiveStore.archive_rows for any backend: `table`'s rows in key order, decoded to plain
    values, a page at a time. Keyset pagination: a long export never holds one read
    transaction open. `mark` is the backend's parameter placeholder; `fetch(sql, params)`
    runs the page's query and returns its rows as column -> stored value."""
    keys, cols = archive_keys(table), archive_columns(table)
    json_cols = ARCHIVE_JSON.get(table, frozenset())
    order = ", ".join(keys)
    last: tuple[Any, ...] | None = None
    while True:
        where, params = "", []
        if last is not None:
            where = f"WHERE ({order}) > ({', '.join(mark for _ in keys)})"
            params = list(last)
        rows = fetch(f"SELECT {', '.join(cols)} FROM {table} {where} ORDER BY {order} LIMIT {mark}",
                     [*params, batch])
        for d in rows:
            if table == "meta" and d["key"] in DERIVED_META:
                continue
            if table == "paper_images":  # SQLite keeps the flag as 0/1
                d["retry"] = bool(d["retry"])
            if table == "papers":
                yield {c: (from_db(c, v) if c in PAPER_FIELDS else v) for c, v in d.items()}
            else:
                yield {c: (loads(v) if c in json_cols else v) for c, v in d.items()}
        if len(rows) < batch:
            return
        last = tuple(rows[-1][k] for k in keys)
