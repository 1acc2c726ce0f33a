"""Benchmark: SIGKILL at seeded random moments of every stage, then a rerun (issue 15).

    python bench/faults.py [--trials N] [--seed S] [--work DIR]

Each trial copies a store prepared up to one stage (import, collect, enrich, index, build),
runs that stage as a real `papersift` process against loopback Hugging Face and LLM servers,
SIGKILLs it at a random moment, runs it again, and checks: SQLite integrity, papers neither
lost nor doubled, the full-text index in step, no run left `running`, nothing enriched
before the kill bought again (counted on the LLM server), and, for build, the site equal to
a clean full build. Same harness as tests/test_faults.py (tests/support/faults.py).
Last line: faults trials=N recovered=R lost=L duplicated=D paid_twice=P
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback servers and the harness live with the tests

from support.faults import Harness, table  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="papersift-faults-"))
    t0 = time.perf_counter()
    h = Harness(work)
    try:
        h.prepare()
        print("stage durations (s): " + ", ".join(f"{k} {v:.1f}" for k, v in h.durations.items()))
        outcomes = []
        for i in range(args.trials):
            outcomes.append(h.trial(i, args.seed))
            o = outcomes[-1]
            print(f"trial {i}: {o.stage} killed after {o.kill_after_s:.2f}s "
                  f"({'mid-run' if o.killed else 'after it ended'}): "
                  f"{'recovered' if o.recovered else 'NOT recovered: ' + '; '.join(o.problems)}", flush=True)
    finally:
        h.close()
    print(table(outcomes))
    killed = sum(o.killed for o in outcomes)
    print(f"{killed} of {len(outcomes)} kills landed while the stage was running; "
          f"{time.perf_counter() - t0:.0f}s in all")
    print(f"faults trials={len(outcomes)} recovered={sum(o.recovered for o in outcomes)} "
          f"lost={sum(o.lost for o in outcomes)} duplicated={sum(o.duplicated for o in outcomes)} "
          f"paid_twice={sum(o.paid_twice for o in outcomes)}")


if __name__ == "__main__":
    main()
