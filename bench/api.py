"""Benchmark: `papersift serve` on loopback under a bounded search load.

    python bench/api.py PATH/arxiv-papers.jsonl.gz [--work DIR] [--seconds 30] [--concurrency 32]

Imports the papers with `papersift import` (skipped when --work already holds the store),
starts `papersift serve` on 127.0.0.1 as a separate process, then runs `concurrency` clients
for `seconds` seconds, each sending /api/search requests (queries drawn from real titles,
some with filters) one after another. Only loopback traffic; the load stops by itself.
Last line: api requests=N rps=R p99_ms=P errors=E
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
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "papersift.cli"] if not (ROOT / ".venv/bin/papersift").exists() \
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


async def load(base: str, qs: list[dict[str, str]], seconds: float, conc: int) -> tuple[list[float], int]:
    lat: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=base, timeout=10.0, limits=limits) as client:
        async def worker(k: int) -> None:
            nonlocal errors
            i = k
            while time.perf_counter() < stop:
                t = time.perf_counter()
                try:
                    r = await client.get("/api/search", params=qs[i % len(qs)])
                    if r.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                lat.append(time.perf_counter() - t)
                i += conc
        await asyncio.gather(*(worker(k) for k in range(conc)))
    return lat, errors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--concurrency", type=int, default=32)
    a = ap.parse_args()
    if not a.path.is_file():
        sys.exit(f"error: {a.path}: not found; pass the path to arxiv-papers.jsonl.gz")
    work = a.work or Path(tempfile.mkdtemp(prefix="ps-bench-api-"))
    data = work / "data"
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(data), "PAPERSIFT_SITE_DIR": str(work / "site")}
    if not (data / "papersift.db").exists():
        t = time.perf_counter()
        subprocess.run(CLI + ["import", str(a.path)], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"setup: imported {a.path.name} in {time.perf_counter() - t:.1f}s")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    proc = subprocess.Popen(CLI + ["serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
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
        print(f"setup: server up (build included) in {time.perf_counter() - t:.1f}s")
        qs = queries(a.path)
        asyncio.run(load(base, qs[:32], 2.0, 4))  # warm-up, not counted
        lat, errors = asyncio.run(load(base, qs, a.seconds, a.concurrency))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    lat.sort()
    n = len(lat)
    p50 = lat[n // 2] * 1000 if n else 0.0
    p99 = lat[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0
    print(f"latency: p50={p50:.1f}ms p99={p99:.1f}ms max={lat[-1] * 1000 if n else 0:.1f}ms "
          f"(target p99 <= 100 ms, errors = 0)")
    print(f"api requests={n} rps={n / a.seconds:.1f} p99_ms={p99:.1f} errors={errors}")


if __name__ == "__main__":
    main()
