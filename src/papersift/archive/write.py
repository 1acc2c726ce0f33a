"""`papersift export DIR`: write the store as the archive's files (see archive/__init__)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..store.base import ArchiveStore
from .format import FORMAT, MANIFEST, VERSION, ArchiveReport, Progress

_OWNED = ("papers", "days", "vectors")  # folders whose stale files an export removes


def _default(v: Any) -> Any:
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    raise TypeError(f"not JSON: {type(v).__name__}")


def _line(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=_default)


class _Writer:
    def __init__(self, root: Path, report: ArchiveReport):
        self.root, self.report, self.written = root, report, set[Path]()

    def put(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        self.written.add(path)
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            self.report.files_unchanged += 1
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        self.report.files_written += 1

    def lines(self, rel: str, objs: Iterable[Any]) -> None:
        self.put(rel, "".join(_line(o) + "\n" for o in objs).encode())

    def remove_stale(self) -> None:
        for folder in _OWNED:
            for path in sorted((self.root / folder).rglob("*")):
                if path.is_file() and path not in self.written:
                    path.unlink()
                    self.report.files_removed += 1


def _check_target(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise InputError(f"{root}: not a folder; export into an empty folder or an earlier export")
    if root.is_dir() and not (root / MANIFEST).is_file():
        others = [p.name for p in root.iterdir() if not p.name.startswith(".")]
        if others:
            raise InputError(f"{root}: holds other files ({', '.join(sorted(others)[:3])}...); "
                             "export into an empty folder or an earlier export")


def _by_paper(store: ArchiveStore, table: str, key: str = "paper_id") -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in store.archive_rows(table):
        out[r.pop(key)].append(r)
    return out


def _paper_file(p: dict[str, Any]) -> str:
    day = p.get("hf_date") or p.get("published")
    if not day:
        return "papers/undated.jsonl"
    d = day.isoformat() if isinstance(day, dt.date) else str(day)
    return f"papers/{d[:4]}/{d}.jsonl"


def export_store(store: ArchiveStore, root: Path, *, vectors: bool = False,
                 progress: Progress | None = None) -> ArchiveReport:
    root = Path(root)
    _check_target(root)
    rep = ArchiveReport("export", root)
    w = _Writer(root, rep)
    tick = progress or (lambda *_: None)

    sources = _by_paper(store, "paper_sources")
    aliases = _by_paper(store, "aliases")
    enrich = {pid: rows[0] for pid, rows in _by_paper(store, "enrichments").items()}
    fails = {pid: rows[0] for pid, rows in _by_paper(store, "enrich_failures").items()}
    files: dict[str, list[dict[str, Any]]] = defaultdict(list)
    n = 0
    for p in store.archive_rows("papers"):
        item: dict[str, Any] = {"paper": p, "sources": sources.get(p["id"], []),
                                "aliases": sorted(a["alias"] for a in aliases.get(p["id"], []))}
        if p["id"] in enrich:
            item["enrichment"] = enrich[p["id"]]
        if p["id"] in fails:
            item["failure"] = fails[p["id"]]
        files[_paper_file(p)].append(item)
        n += 1
        if n % 5000 == 0:
            tick("export papers", n, 0)
    for rel in sorted(files):
        w.lines(rel, files[rel])
    rep.counts["papers"] = n
    rep.counts["enrichments"] = len(enrich)

    years: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in store.archive_rows("day_papers"):
        years[str(r["day"])[:4]].append(r)
    for y in sorted(years):
        w.lines(f"days/{y}.jsonl", years[y])
    rep.counts["day memberships"] = sum(len(v) for v in years.values())
    for table, rel in (("readings", "readings.jsonl"), ("runs", "runs.jsonl"),
                       ("llm_cache", "cache.jsonl"), ("coverage", "coverage.jsonl"),
                       ("paper_links", "links.jsonl"), ("digest_sends", "sends.jsonl")):
        rows = list(store.archive_rows(table))
        w.lines(rel, rows)
        rep.counts[table] = len(rows)

    manifest_vectors: dict[str, Any] = {}
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in store.archive_rows("vectors"):
        by_model[r["model"]].append(r)
    for model in sorted(by_model):
        rows = by_model[model]
        name = hashlib.sha256(model.encode()).hexdigest()[:12]  # model names hold '/' and ':'
        listing = "".join(f"{r['paper_id']}\t{r['text_hash']}\n" for r in rows).encode()
        blob = b"".join(bytes(r["vec"]) for r in rows)
        dims = len(rows[0]["vec"]) // 4 if rows else 0
        manifest_vectors[model] = {"count": len(rows), "dims": dims, "file": f"vectors/{name}",
                                   "sha256": hashlib.sha256(blob).hexdigest(),
                                   "included": vectors}
        w.put(f"vectors/{name}.tsv", listing)
        if vectors:
            w.put(f"vectors/{name}.f32", blob)
    rep.counts["vectors"] = sum(len(v) for v in by_model.values())
    w.put(MANIFEST, (json.dumps({"format": FORMAT, "version": VERSION, "counts": rep.counts,
                                 "vectors": manifest_vectors}, indent=1, sort_keys=True,
                                ensure_ascii=False) + "\n").encode())
    w.remove_stale()
    return rep
