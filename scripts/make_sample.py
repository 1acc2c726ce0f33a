"""Regenerate the bundled sample (src/papersift/data/sample.jsonl).

    .venv/bin/python scripts/make_sample.py ../shared/seeds ../shared/data/hf

Two kinds of real, public paper metadata go in:

- the seed listings 000, 002, 003 and 004 (saved HF search listings and a title/authors/
  abstract listing): papers spread over many days, as a search returns them;
- complete days of Hugging Face's daily list, so the demo opens on a real day:
  `daily_papers-2024-10-25.json` (an `/api/daily_papers` response: the whole day, with
  authors and upvotes), and the newest `COMPLETE_DAYS` complete days of the scraped archive
  `hf-daily-archive.jsonl.gz` that hold 20-40 papers.

The archive's scraper ran once a night (about 02:00 UTC), so a weekday's file caught the day's
list just begun. A list is taken as complete when it is the one the next file repeats unchanged
(nothing was added for a day) and it contains the previous file's list: it is the previous
file's day, grown to its end (a Saturday file holds Friday's whole list). That day is its date.

Everything goes through papersift's own importer into a throwaway store, so duplicates merge as
a user's import would merge them. Only public metadata is written (shared/data/README.md allows
no more): arXiv id, title, abstract, authors, dates and upvotes, plus where each record came
from. The archive has no upvotes and often no authors; its `abstract` is sometimes the
submitter's note, which the importer drops. One Paper JSON per line, sorted by id; the output
only depends on the input files, so re-running it gives the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from papersift.ingest import import_paths
from papersift.model import Paper, Provenance
from papersift.store import SQLiteStore

SEEDS = ("000_", "002_", "003_", "004_")
HF_DAY = "daily_papers-2024-10-25.json"
ARCHIVE = "hf-daily-archive.jsonl.gz"
COMPLETE_DAYS = 3  # from the archive (the API day makes a fourth)
DAY_SIZE = range(20, 41)
OUT = Path(__file__).resolve().parent.parent / "src" / "papersift" / "data" / "sample.jsonl"
# The fields the sample may carry (shared/data/README.md: metadata only, no other field).
KEEP = ("id", "arxiv_id", "title", "abstract", "authors", "num_authors", "published",
        "hf_date", "upvotes")


def complete_days(archive: Path) -> Iterator[tuple[dt.date, int, dict[str, object]]]:
    """(HF day, line number, the scraped file) of every complete list, oldest first."""
    lines: list[tuple[int, dict[str, object]]] = []
    with gzip.open(archive, "rt", encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                lines.append((n, json.loads(line)))
    by_date = {str(obj["date"]): (n, obj) for n, obj in lines}

    def urls(date: dt.date) -> frozenset[str] | None:
        got = by_date.get(date.isoformat())
        if got is None:
            return None
        return frozenset(str(p["paper_url"]) for p in got[1]["papers"])  # type: ignore[union-attr]

    for n, obj in lines:
        d = dt.date.fromisoformat(str(obj["date"]))
        now, before, after = urls(d), urls(d - dt.timedelta(days=1)), urls(d + dt.timedelta(days=1))
        if now and before is not None and before < now and after == now:
            yield d - dt.timedelta(days=1), n, obj


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seeds", type=Path, help="the seeds folder (../shared/seeds)")
    ap.add_argument("hf", type=Path, help="the Hugging Face data folder (../shared/data/hf)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    files = sorted(p for p in args.seeds.glob("*.txt") if p.name.startswith(SEEDS))
    if len(files) != len(SEEDS):
        print(f"error: {args.seeds}: expected seed files {', '.join(s + '*.txt' for s in SEEDS)}",
              file=sys.stderr)
        return 2
    hf_day, archive = args.hf / HF_DAY, args.hf / ARCHIVE
    for p in (hf_day, archive):
        if not p.is_file():
            print(f"error: {p}: not found (give the folder ../shared/data/hf)", file=sys.stderr)
            return 2
    days = [d for d in complete_days(archive) if len(d[2]["papers"]) in DAY_SIZE][-COMPLETE_DAYS:]  # type: ignore[arg-type]
    # Provenance time: when the inputs were saved (their newest mtime), not now.
    seen_at = dt.datetime.fromtimestamp(
        max(int(f.stat().st_mtime) for f in [*files, hf_day, archive]), dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        # The chosen days, each under its HF date, in a file the importer reads like the
        # archive; provenance refs are mapped back to the archive's own line numbers.
        picked = Path(tmp) / ARCHIVE.removesuffix(".gz")
        picked.write_text("".join(json.dumps({**obj, "date": day.isoformat()}) + "\n"
                                  for day, _, obj in days), encoding="utf-8")
        line_of = {i: n for i, (_, n, _) in enumerate(days, 1)}
        store = SQLiteStore(Path(tmp) / "sample.db")
        summaries = [import_paths(store, files, "listing"), import_paths(store, [hf_day], "hf-api"),
                     import_paths(store, [picked], "hf-archive")]
        errors = [e for s in summaries for e in s.errors]
        if errors:
            for e in errors:
                print(f"error: {e}", file=sys.stderr)
            return 1
        listed: dict[str, dt.date] = {}
        for day, pid, _ in store.day_members():
            listed.setdefault(pid, dt.date.fromisoformat(day))
        lines, per_day = [], {}
        for paper in sorted(store.iter_papers(), key=lambda p: p.id):
            keep = {k: getattr(paper, k) for k in KEEP}
            keep["hf_date"] = keep["hf_date"] or listed.get(paper.id)
            out = Paper(**keep, sources=[
                Provenance(source=s["source"], ref=_archive_ref(s["ref"], picked.name, line_of),
                           seen_at=seen_at)
                for s in sorted(store.paper_sources(paper.id), key=lambda s: s["ref"])])
            if out.hf_date:
                per_day[out.hf_date] = per_day.get(out.hf_date, 0) + 1
            lines.append(out.model_dump_json(exclude_none=True, exclude_defaults=True))
        store.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_suffix(".tmp")
    tmp_out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp_out.replace(args.out)
    records = sum(s.counts()["records"] for s in summaries)
    print(f"sample: {records} records -> {len(lines)} papers -> {args.out}")
    for day, n in sorted(per_day.items()):
        if n > 1:
            print(f"  HF day {day}: {n} papers")
    return 0


def _archive_ref(ref: str, picked: str, line_of: dict[int, int]) -> str:
    """`hf-daily-archive.jsonl:2:papers[5]` (the picked file) -> the archive's own line."""
    m = re.fullmatch(rf"{re.escape(picked)}:(\d+):(.*)", ref)
    return f"{ARCHIVE}:{line_of[int(m.group(1))]}:{m.group(2)}" if m else ref


if __name__ == "__main__":
    sys.exit(main())
