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

import datetime as dt
import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from .errors import InputError
from .model import Enrichment, Paper, Reading
from .store.base import ArchiveStore

# Paper columns of an archived paper line (store/sqlite COLUMNS: id, the fields, num_authors).
_PAPER_KEYS = ("id",) + tuple(f for f in Paper.model_fields if f not in ("id", "sources"))

FORMAT = "papersift-archive"
VERSION = 1
MANIFEST = "manifest.json"
_OWNED = ("papers", "days", "vectors")  # folders whose stale files an export removes
Progress = Callable[[str, int, int], None]


def _default(v: Any) -> Any:
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    raise TypeError(f"not JSON: {type(v).__name__}")


def _line(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=_default)


@dataclass
class ArchiveReport:
    direction: str  # "export" or "import"
    path: Path
    counts: dict[str, int] = field(default_factory=dict)  # per table
    files_written: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        c = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        if self.direction == "export":
            return (f"export: {c} -> {self.path} ({self.files_written} files written, "
                    f"{self.files_unchanged} unchanged, {self.files_removed} removed)")
        return (f"import: {self.path}: added {c}; {len(self.errors)} bad lines skipped"
                if self.errors else f"import: {self.path}: added {c}")


# -- export ----------------------------------------------------------------------------

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


# -- import ----------------------------------------------------------------------------

def is_archive(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def _int64(text: str) -> int:
    # The store keeps integers in 64 bits (SQLite, orjson): a bigger one would fail the
    # whole import at the write, so the line is refused here.
    v = int(text)
    if not -(2**63) <= v < 2**63:
        raise ValueError(f"number {text[:24]} is out of the 64-bit range")
    return v


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


# "\ud800".."\udfff": an escaped surrogate, which must come in a high-low pair.
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _read_lines(path: Path, errors: list[str]) -> Iterator[tuple[int, Any]]:
    with open(path, encoding="utf-8", errors="replace") as f:
        for no, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text, parse_int=_int64, parse_constant=_no_constant)
                if _SURROGATE.search(text):  # a lone one cannot be stored (it is no UTF-8)
                    json.dumps(obj, ensure_ascii=False).encode("utf-8")
            except (ValueError, UnicodeEncodeError) as e:
                errors.append(f"{path}:{no}: not JSON ({e}); line skipped")
                continue
            yield no, obj


def _need(obj: Any, where: str, fields: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object")
    for name, typ in fields.items():
        if not isinstance(obj.get(name), typ):
            want = " or ".join(t.__name__ for t in (typ if isinstance(typ, tuple) else (typ,)))
            raise InputError(f"{where}: field '{name}': expected {want}, got {obj.get(name)!r:.60}")
    return obj


_OPT_STR = (str, type(None))
_DAY_ROW = {"day": str, "paper_id": str, "source": str, "rank": (int, type(None)),
            "first_seen": str, "moved_to": _OPT_STR}
_RUN_ROW = {"id": int, "kind": str, "started_at": str, "finished_at": _OPT_STR, "status": str,
            "params": dict, "counts": dict, "errors": list}
_CACHE_ROW = {"key": str, "created_at": str}
_OPT_INT = (int, type(None))
_LINKS_ROW = {"paper_id": str, "hf_models": _OPT_INT, "hf_datasets": _OPT_INT,
              "hf_spaces": _OPT_INT, "checked_at": str}
_SENDS_ROW = {"profile": str, "day": str, "channel": str, "status": str, "attempts": int,
              "parts": int, "reason": str, "at": str}
_COVERAGE_ROW = {"source": str, "period": str, "expected": (int, type(None)), "collected": int,
                 "errors": int, "run_id": (int, type(None)), "at": str}


def _paper_rows(item: dict[str, Any], where: str, out: dict[str, list[dict[str, Any]]]) -> None:
    raw = _need(item.get("paper"), f"{where}: field 'paper'", {"id": str, "title": str,
                                                               "created_at": str, "changed_at": str})
    try:
        p = Paper.model_validate({k: raw[k] for k in _PAPER_KEYS if raw.get(k) is not None})
    except ValidationError as e:
        err = e.errors()[0]
        raise InputError(f"{where}: field 'paper.{'.'.join(map(str, err['loc']))}': {err['msg']}") from e
    if p.id != raw["id"]:
        raise InputError(f"{where}: field 'paper.id': {raw['id']!r} does not match its arXiv id "
                         f"({p.id!r})")
    rows: list[dict[str, Any]] = []
    for s in item.get("sources") or []:
        _need(s, f"{where}: field 'sources'", {"source": str, "ref": str, "first_seen": str})
        rows.append({"paper_id": p.id, **{k: s[k] for k in ("source", "ref", "first_seen")}})
    aliases = item.get("aliases") or []
    if not all(isinstance(a, str) for a in aliases):
        raise InputError(f"{where}: field 'aliases': expected a list of strings")
    enrichment = item.get("enrichment")
    if enrichment is not None:
        _need(enrichment, f"{where}: field 'enrichment'", {
            "method": str, "model": str, "prompt_version": str, "input_hash": str, "data": dict,
            "created_at": str})
        try:
            Enrichment.model_validate(enrichment["data"])
        except ValidationError as e:
            raise InputError(f"{where}: field 'enrichment.data': {e.errors()[0]['msg']}") from e
    failure = item.get("failure")
    if failure is not None:
        _need(failure, f"{where}: field 'failure'", {"reason": str, "attempts": int, "at": str})
    out["papers"].append({**{k: p.__dict__[k] for k in _PAPER_KEYS},
                          "created_at": raw["created_at"], "changed_at": raw["changed_at"]})
    out["paper_sources"] += rows
    out["aliases"] += [{"alias": a, "paper_id": p.id} for a in aliases]
    if enrichment is not None:
        out["enrichments"].append({**enrichment, "paper_id": p.id})
    if failure is not None:
        out["enrich_failures"].append({**failure, "paper_id": p.id})


def import_archive(store: ArchiveStore, root: Path,
                   progress: Progress | None = None) -> ArchiveReport:
    root = Path(root)
    try:
        manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"{root / MANIFEST}: cannot read the archive manifest ({e}); pass a "
                         "folder `papersift export` wrote") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{root / MANIFEST}: not a papersift archive; pass a folder "
                         "`papersift export` wrote")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
        raise InputError(f"{root / MANIFEST}: archive version {manifest.get('version')!r} is newer "
                         f"than this papersift reads ({VERSION}); upgrade papersift")
    rep = ArchiveReport("import", root)
    tick = progress or (lambda *_: None)
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def each(path: Path, fields: dict[str, Any] | None = None) -> Iterator[tuple[str, Any]]:
        for no, obj in _read_lines(path, rep.errors):
            where = f"{path}:{no}"
            try:
                yield where, (_need(obj, where, fields) if fields is not None else obj)
            except InputError as e:
                rep.errors.append(f"{e}; line skipped")

    files = sorted((root / "papers").rglob("*.jsonl"))
    for i, path in enumerate(files, 1):
        for where, item in each(path):
            try:
                _paper_rows(_need(item, where, {}), where, rows)
            except InputError as e:
                rep.errors.append(f"{e}; line skipped")
        tick("import papers", i, len(files))
    for path in sorted((root / "days").glob("*.jsonl")):
        rows["day_papers"] += [r for where, r in each(path, _DAY_ROW) if _is_day(r, where, rep.errors)]
    for where, r in each(root / "readings.jsonl", {"day": str, "data": dict}) \
            if (root / "readings.jsonl").is_file() else ():
        if not _is_day(r, where, rep.errors):
            continue
        try:
            Reading.model_validate(r["data"])
            rows["readings"].append(r)
        except ValidationError as e:
            rep.errors.append(f"{where}: field 'data': {e.errors()[0]['msg']}; line skipped")
    for table, rel, fields in (("runs", "runs.jsonl", _RUN_ROW), ("llm_cache", "cache.jsonl", _CACHE_ROW),
                               ("coverage", "coverage.jsonl", _COVERAGE_ROW),
                               ("paper_links", "links.jsonl", _LINKS_ROW),
                               ("digest_sends", "sends.jsonl", _SENDS_ROW)):
        if (root / rel).is_file():
            rows[table] += [r for _, r in each(root / rel, fields)]
    _vector_rows(root, manifest, rows, rep.errors)

    for table in ("papers", "paper_sources", "aliases", "enrichments", "enrich_failures",
                  "day_papers", "readings", "llm_cache", "runs", "vectors", "coverage",
                  "paper_links", "digest_sends"):
        rep.counts[table] = store.restore_rows(table, rows.get(table, []))
    return rep


def _is_day(row: dict[str, Any], where: str, errors: list[str]) -> bool:
    # The store reads these back as dates (days(), readings): a bad one would break every
    # later build, not this import.
    try:
        dt.date.fromisoformat(row["day"])
        return True
    except ValueError:
        errors.append(f"{where}: field 'day': {row['day']!r:.40} is not a date (YYYY-MM-DD); "
                      "line skipped")
        return False


def _vector_rows(root: Path, manifest: dict[str, Any], rows: dict[str, list[dict[str, Any]]],
                 errors: list[str]) -> None:
    listed = manifest.get("vectors") or {}
    if not isinstance(listed, dict):
        errors.append(f"{root / MANIFEST}: field 'vectors': expected an object; vectors skipped")
        return
    for model, meta in sorted(listed.items()):
        if not isinstance(meta, dict) or not meta.get("included"):
            continue  # only the list of embedded texts: `papersift index` rebuilds them
        file, dims = meta.get("file"), meta.get("dims")
        base = (root / file).resolve() if isinstance(file, str) and file.startswith("vectors/") else None
        if base is None or (root / "vectors").resolve() not in base.parents or \
                not isinstance(dims, int) or isinstance(dims, bool):
            errors.append(f"{root / MANIFEST}: field 'vectors.{model}': needs a 'file' under "
                          "vectors/ and integer 'dims'; skipped, run `papersift index` to rebuild them")
            continue
        try:
            listing = base.with_suffix(".tsv").read_text(encoding="utf-8").splitlines()
            blob = base.with_suffix(".f32").read_bytes()
        except (OSError, UnicodeDecodeError) as e:
            errors.append(f"{base}: vectors of {model!r} not readable ({e}); skipped")
            continue
        if dims <= 0 or len(blob) != len(listing) * dims * 4 or \
                hashlib.sha256(blob).hexdigest() != meta.get("sha256"):
            errors.append(f"{base}.f32: vectors of {model!r} do not match the manifest "
                          "(size or sha256); skipped, run `papersift index` to rebuild them")
            continue
        mat = np.frombuffer(blob, dtype="<f4").reshape(len(listing), dims)
        for line, vec in zip(listing, mat, strict=True):
            pid, _, text_hash = line.partition("\t")
            rows["vectors"].append({"model": model, "paper_id": pid, "text_hash": text_hash,
                                    "vec": vec.tobytes()})
