"""`papersift import DIR`: read an archive back, validating every line (see archive/__init__)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..errors import InputError
from ..model import Enrichment, Paper, Reading
from ..store.base import ArchiveStore
from .format import FORMAT, MANIFEST, PAPER_KEYS, VERSION, ArchiveReport, Progress


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
        p = Paper.model_validate({k: raw[k] for k in PAPER_KEYS if raw.get(k) is not None})
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
    out["papers"].append({**{k: p.__dict__[k] for k in PAPER_KEYS},
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
