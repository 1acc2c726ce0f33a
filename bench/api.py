"""Benchmark: `papersift serve` on loopback under a bounded search load.

    python bench/api.py PATH/arxiv-papers.jsonl.gz [--work DIR] [--mode lexical|hybrid]
                        [--seconds 30] [--concurrency 32] [--workers N] [--embedder minilm]
                        [--baseline/--no-baseline] [--index/--no-index]

Imports the papers with `papersift import` (skipped when --work already holds the store),
starts `papersift serve` on 127.0.0.1 as a separate process, then runs `concurrency` clients
for `seconds` seconds, each sending /api/search requests (queries drawn from real titles,
some with filters) one after another on its own keep-alive connection. Only loopback
traffic; the load stops by itself.

The load generator shares the machine's cores with the server, so it is kept light: HTTP/1.1
requests are pre-encoded and responses read by Content-Length on raw asyncio streams (httpx
spent about as much CPU per request as the search itself). Every response's status line is
checked, and one in 25 bodies is parsed as JSON and checked for results (and, in hybrid
mode, that the engine answered "hybrid").

--mode lexical: the server has no embedder (BM25). --mode hybrid: `papersift index` first
brings the `--embedder` vectors up to date (incremental: with --work a second run reuses
them; --no-index serves what is there), and every search process loads the model once,
warms it, and encodes each query (a query-vector cache repeats no encode).

Side by side in one run: the server as `papersift serve` starts it (one search process per
core) in the chosen mode, the same server in one process (`--workers 1`) in that mode as
baseline, and, in hybrid mode, the default server in lexical mode.
Last line (hybrid): api mode=hybrid requests=N rps=R p99_ms=P errors=E baseline_rps=R0
baseline_p99_ms=P0 lexical_p99_ms=L; (lexical): api mode=lexical requests=N rps=R p99_ms=P
errors=E baseline_rps=R0 baseline_p99_ms=P0
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "papersift"] if not (ROOT / ".venv/bin/papersift").exists() \
    else [str(ROOT / ".venv/bin/papersift")]


def queries(path: Path, n: int = 400) -> list[dict[str, str]]:
    rng = random.Random(7)
    words: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % 97 == 0:
                words += [w for w in json.loads(line)["title"].lower().split() if w.isalpha() and len(w) > 4]
    out = []
    for _ in range(n):
        q = {"q": " ".join(rng.sample(words, rng.choice([1, 2, 2, 3]))), "limit": "20"}
        r = rng.random()
        if r < 0.2:
            q["sort"] = "upvotes"
        elif r < 0.3:
            q["from"], q["to"] = "2025-06-01", "2025-12-31"
        out.append(q)
    return out


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
               ) -> tuple[int, bytes]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding":
            raise ValueError("chunked response: the benchmark expects Content-Length")
    return status, await reader.readexactly(length)


def _good(payload: dict, engine: str | None) -> bool:
    return "results" in payload and (engine is None or payload.get("engine") == engine)


async def load(port: int, qs: list[dict[str, str]], seconds: float, conc: int,
               engine: str | None = None) -> tuple[list[float], int, list[float]]:
    """`conc` clients, each on one keep-alive connection, sending requests back to back;
    (latencies, errors, when each request ended, in seconds from the start)."""
    reqs = [(f"GET /api/search?{urllib.parse.urlencode(q)} HTTP/1.1\r\n"
             f"Host: 127.0.0.1:{port}\r\n\r\n").encode() for q in qs]
    lat: list[float] = []
    ends: list[float] = []
    errors = 0
    start = time.perf_counter()
    stop = start + seconds

    async def worker(k: int) -> None:
        nonlocal errors
        i, conn = k, None
        while time.perf_counter() < stop:
            t = time.perf_counter()
            try:
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", port)
                status, body = await asyncio.wait_for(_get(*conn, reqs[i % len(reqs)]), 10.0)
                if status != 200 or (i % 25 == 0 and not _good(json.loads(body), engine)):
                    errors += 1
            except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError):
                errors += 1
                if conn is not None:
                    conn[1].close()
                conn = None
            lat.append(time.perf_counter() - t)
            ends.append(time.perf_counter() - start)
            i += conc
        if conn is not None:
            conn[1].close()

    await asyncio.gather(*(worker(k) for k in range(conc)))
    return lat, errors, ends


def server_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants: a
    figure that, unlike latency, hardly moves when other work shares the machine."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])  # utime + stime
    tree, todo = set(), [pid]
    while todo:
        p = todo.pop()
        tree.add(p)
        todo += [c for c, pp in parent.items() if pp == p and c not in tree]
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


def run_server(env: dict[str, str], workers: int | None, qs: list[dict[str, str]], seconds: float,
               conc: int, engine: str | None = None
               ) -> tuple[list[float], int, float, float, list[float]]:
    """Start `papersift serve`, wait until it answers, load it; (latencies, errors, startup s,
    server CPU seconds during the load, when each request ended)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    extra = ["--workers", str(workers)] if workers else []
    t = time.perf_counter()
    proc = subprocess.Popen(CLI + ["serve", "--host", "127.0.0.1", "--port", str(port), *extra], env=env,
                            stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 900
        while True:
            try:
                if httpx.get(base + "/api/tags", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                sys.exit("error: papersift serve did not come up")
            time.sleep(0.5)
        startup = time.perf_counter() - t
        asyncio.run(load(port, qs[:64], 3.0, conc))  # warm-up (every worker process), not counted
        cpu0 = server_cpu_seconds(proc.pid)
        lat, errors, ends = asyncio.run(load(port, qs, seconds, conc, engine))
        cpu = server_cpu_seconds(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return lat, errors, startup, cpu, ends


WARM = 5.0  # seconds: the steady-state p99 is taken over the requests that end after this


def summary(lat: list[float], seconds: float) -> tuple[float, float, float]:
    lat = sorted(lat)
    n = len(lat)
    if not n:
        return 0.0, 0.0, 0.0
    return n / seconds, lat[n // 2] * 1000, lat[min(n - 1, int(n * 0.99))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--mode", choices=["lexical", "hybrid"], default="lexical")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=None, help="serve --workers (default: serve's own)")
    ap.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True,
                    help="also load a one-process server, side by side")
    ap.add_argument("--embedder", default="minilm", help="the hybrid mode's embedder")
    ap.add_argument("--index", action=argparse.BooleanOptionalAction, default=True,
                    help="hybrid: run papersift index first (--no-index: serve the vectors there)")
    a = ap.parse_args()
    if not a.path.is_file():
        sys.exit(f"error: {a.path}: not found; pass the path to arxiv-papers.jsonl.gz")
    work = a.work or Path(tempfile.mkdtemp(prefix="ps-bench-api-"))
    data = work / "data"
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(data), "PAPERSIFT_SITE_DIR": str(work / "site"),
           "PAPERSIFT_EMBEDDER": "none"}
    if not (data / "papersift.db").exists():
        t = time.perf_counter()
        subprocess.run(CLI + ["import", str(a.path)], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"setup: imported {a.path.name} in {time.perf_counter() - t:.1f}s")
    hybrid_env = {**env, "PAPERSIFT_EMBEDDER": a.embedder}
    if a.mode == "hybrid":
        if a.index:
            t = time.perf_counter()
            subprocess.run(CLI + ["index"], env=hybrid_env, check=True, stdout=subprocess.DEVNULL)
            print(f"setup: vectors ({a.embedder}) up to date in {time.perf_counter() - t:.1f}s")
        status = subprocess.run(CLI + ["stats"], env=hybrid_env, check=True, capture_output=True,
                                text=True).stdout
        print("setup: " + next((ln for ln in status.splitlines() if ln.startswith("vectors")), "?"))
    qs = queries(a.path)
    print(f"load: {a.concurrency} clients x {a.seconds:.0f}s, {len(qs)} distinct queries, "
          f"{a.mode} search{' (' + a.embedder + ' query encoding in the search processes)' if a.mode == 'hybrid' else ''}; "
          f"load average {os.getloadavg()[0]:.2f}")
    mode_env = hybrid_env if a.mode == "hybrid" else env
    runs = [("ours " + a.mode, a.workers, mode_env, a.mode)]
    if a.baseline:
        runs.append((f"baseline 1 process {a.mode}", 1, mode_env, a.mode))
    if a.mode == "hybrid":
        runs.append(("ours lexical", a.workers, env, "lexical"))
    figures = {}
    for name, workers, run_env, engine in runs:
        lat, errors, startup, cpu, ends = run_server(run_env, workers, qs, a.seconds, a.concurrency, engine)
        rps, p50, p99 = summary(lat, a.seconds)
        figures[name] = (len(lat), rps, p99, errors)
        # The first requests of each distinct query find no cached query vector (each search
        # process has its own cache): the p99 after WARM seconds shows the steady state apart.
        late = [x for x, e in zip(lat, ends, strict=True) if e >= WARM]
        print(f"{name:<26} startup={startup:5.1f}s requests={len(lat):6d} rps={rps:7.1f} "
              f"p50={p50:7.1f}ms p99={p99:7.1f}ms errors={errors} "
              f"server_cpu={cpu * 1000 / max(len(lat), 1):.2f}ms/request "
              f"p99_after_{WARM:.0f}s={summary(late, a.seconds - WARM)[2]:.1f}ms")
    n, rps, p99, errors = figures["ours " + a.mode]
    errors_all = sum(f[3] for f in figures.values())
    b = figures.get(f"baseline 1 process {a.mode}", (0, 0.0, 0.0, 0))
    if a.baseline:
        print(f"ratio vs one process: rps {rps / max(b[1], 1e-9):.2f}x, p99 {b[2] / max(p99, 1e-9):.2f}x lower "
              f"(targets: both ahead, 0 errors in every mode; errors in all runs: {errors_all})")
    last = (f"api mode={a.mode} requests={n} rps={rps:.1f} p99_ms={p99:.1f} errors={errors} "
            f"baseline_rps={b[1]:.1f} baseline_p99_ms={b[2]:.1f}")
    if a.mode == "hybrid":
        lex_p99 = figures["ours lexical"][2]
        print(f"hybrid p99 / lexical p99: {p99 / max(lex_p99, 1e-9):.2f} (target <= 2)")
        last += f" lexical_p99_ms={lex_p99:.1f}"
    print(last)


if __name__ == "__main__":
    main()
