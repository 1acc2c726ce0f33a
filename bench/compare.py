"""Run benchmarks of two checkouts side by side, alternating, on the same machine.

    python bench/compare.py --old ../baseline ../shared/data [--rounds 2] [--only ingest,api]

`--old` is another checkout of papersift (e.g. `git worktree add ../baseline <commit>`). Each
round runs every chosen benchmark once for the old checkout, then once for this one (the
order flips every round, so a machine that slows down over time favours neither). Each run
is the checkout's own `bench/*.py` with that checkout's `src/` first on PYTHONPATH, in a
fresh process; the benchmark's figure lines are printed under the checkout's name, then a
table of the medians. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

# name -> (arguments after the data path is substituted, the figures to compare: regexes)
BENCHES: dict[str, tuple[list[str], list[str]]] = {
    "ingest": (["{data}/arxiv/arxiv-papers.jsonl.gz"], [r"^ingest papers=\d+ seconds=([\d.]+)"]),
    "site": (["{data}/arxiv/arxiv-papers.jsonl.gz", "--work", "{work}"],
             [r"full_s=([\d.]+)", r"incremental_s=([\d.]+)"]),
    "api": (["{data}/arxiv/arxiv-papers.jsonl.gz", "--work", "{work}", "--no-baseline"],
            [r"^api requests=\d+ rps=([\d.]+)", r"^api .*p99_ms=([\d.]+)"]),
    "search_speed": (["{data}/arxiv/arxiv-papers.jsonl.gz", "--work", "{work}", "--minilm-sample", "0"],
                     [r"lexical_p95_ms=([\d.]+)", r"hybrid_p95_ms=([\d.]+)"]),
    "enrich": (["--data", "{data}", "--baseline-papers", "1"], [r"^enrich .* seconds=([\d.]+)"]),
}


def run(checkout: Path, name: str, data: Path, work: Path) -> tuple[list[float | None], str]:
    args, patterns = BENCHES[name]
    argv = [a.format(data=data, work=work / f"{checkout.name}-{name}") for a in args]
    env = {**os.environ, "PYTHONPATH": str(checkout / "src")}
    proc = subprocess.run([sys.executable, str(checkout / "bench" / f"{name}.py"), *argv], cwd=checkout,
                          env=env, capture_output=True, text=True)
    out = proc.stdout + (f"\n[exit {proc.returncode}] {proc.stderr[-500:]}" if proc.returncode else "")
    figures: list[float | None] = []
    for pat in patterns:
        m = next((m for line in out.splitlines() if (m := re.search(pat, line))), None)
        figures.append(float(m.group(1)) if m else None)
    return figures, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="the shared data folder (holds arxiv/)")
    ap.add_argument("--old", type=Path, required=True, help="the other checkout")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--only", default=",".join(BENCHES), help="comma-separated: " + ", ".join(BENCHES))
    a = ap.parse_args()
    names = [n for n in a.only.split(",") if n]
    sides = {"old": a.old.resolve(), "new": HERE}
    results: dict[tuple[str, str], list[list[float | None]]] = {}
    with tempfile.TemporaryDirectory(prefix="papersift-compare-") as tmp:
        for r in range(a.rounds):
            order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
            for name in names:
                for side in order:
                    figs, out = run(sides[side], name, a.data.resolve(), Path(tmp))
                    results.setdefault((name, side), []).append(figs)
                    print(f"--- round {r + 1} {name} {side} ({sides[side]}): {figs}", flush=True)
                    for line in out.strip().splitlines()[-4:]:
                        print(f"    {line}", flush=True)
    print("\nmedians (old -> new, new/old):")
    for name in names:
        for i, pat in enumerate(BENCHES[name][1]):
            med = {}
            for side in ("old", "new"):
                vals = [f[i] for f in results[(name, side)] if f[i] is not None]
                med[side] = statistics.median(vals) if vals else None
            ratio = f"{med['new'] / med['old']:.3f}" if med["old"] and med["new"] else "n/a"
            label = re.sub(r"[^a-z_0-9]+", "", pat.split("=")[0].split()[-1])
            print(f"  {name:13} {label:16} {med['old']} -> {med['new']}  ({ratio})")


if __name__ == "__main__":
    main()
