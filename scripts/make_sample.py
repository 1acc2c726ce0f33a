"""Regenerate the bundled sample (src/papersift/data/sample.jsonl) from the seed listings.

    .venv/bin/python scripts/make_sample.py ../shared/seeds

Runs papersift's own importer on seeds 000, 002, 003 and 004 (public paper metadata: saved
HF listings and a title/authors/abstract listing) into a throwaway store, so duplicates are
merged exactly as a user's import would merge them, then writes every stored paper as one
Paper JSON per line, sorted by id, with its provenance (seed file:line). The output only
depends on the seed files, so re-running it gives the same bytes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

from papersift.ingest import import_paths
from papersift.model import Provenance
from papersift.store import SQLiteStore

SEEDS = ("000_", "002_", "003_", "004_")
OUT = Path(__file__).resolve().parent.parent / "src" / "papersift" / "data" / "sample.jsonl"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("seeds", type=Path, help="the seeds folder (../shared/seeds)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    files = sorted(p for p in args.seeds.glob("*.txt") if p.name.startswith(SEEDS))
    if len(files) != len(SEEDS):
        print(f"error: {args.seeds}: expected seed files {', '.join(s + '*.txt' for s in SEEDS)}",
              file=sys.stderr)
        return 2
    # Provenance time: when the seed listings were saved (their newest mtime), not now.
    seen_at = dt.datetime.fromtimestamp(max(int(f.stat().st_mtime) for f in files), dt.UTC)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "sample.db")
        summary = import_paths(store, files, "listing")
        if summary.errors:
            for e in summary.errors:
                print(f"error: {e}", file=sys.stderr)
            return 1
        lines = []
        for paper in sorted(store.iter_papers(), key=lambda p: p.id):
            paper.sources = [Provenance(source=s["source"], ref=s["ref"], seen_at=seen_at)
                             for s in sorted(store.paper_sources(paper.id), key=lambda s: s["ref"])]
            lines.append(paper.model_dump_json(exclude_none=True))
        store.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    c = summary.counts()
    print(f"sample: {c['records']} listing records -> {len(lines)} papers "
          f"({c['merged']} merged as duplicates, {c['records'] - len(lines)} folded in all) "
          f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
