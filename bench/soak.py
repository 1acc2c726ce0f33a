"""Benchmark: `papersift serve` keeps answering while `papersift run`'s stages write (issue 15).

    python bench/soak.py PATH/arxiv-papers.jsonl.gz [--minutes 10] [--clients 16]
                         [--papers 30000] [--work DIR]

The first `--papers` real papers are split 60/20/20: the first part is imported, enriched
(offline) and built before the server starts. `papersift serve` then takes a steady search
load from `--clients` keep-alive clients (bench/api.py's load generator) twice: first with
nothing else running (the baseline, a quarter of the time), then while a writer imports the
second part, enriches, indexes and rebuilds the site, and does it all again with the third
part (the server reloads its indexes after each). Every response is checked.

Memory is read from /proc/PID/smaps_rollup for every process of the server's tree (the
server, its search processes, multiprocessing's resource tracker, a BM25 build child if one
runs): RSS, PSS and USS (private pages; RSS counts the pages of shared libraries and of the
database file in every process that maps them). It is read before and after the writer,
and then once more from a second server started on the final data and given the same load
as the first before the writer. The writer adds two thirds more papers than the server
started with, so part of the growth is the bigger store held in memory, not a leak:
`rss_beyond_fresh_mb` is what the soaked server holds beyond a fresh one on the same data. `rss_growth_mb` (after - before, the
issue's figure) is still printed beside it.
Last line: soak requests=N errors=E p99_ms=P rss_growth_mb=M rss_beyond_fresh_mb=F
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import CLI, load, queries, summary  # noqa: E402


def tree(pid: int) -> list[int]:
    """pid and all its descendants (the server, its search processes, a BM25 build child)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += [c for c, pp in parent.items() if pp == p and c not in found]
    return found


def role(pid: int, server: int) -> str:
    if pid == server:
        return "server"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    return ("tracker" if "resource_tracker" in cmd else "bm25 build" if "build_bm25" in cmd
            else "search" if "spawn_main" in cmd else "other")


def memory(pid: int) -> dict[str, float]:
    """Rss, Pss and USS (private pages) of one process in MB, from /proc/PID/smaps_rollup."""
    got: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            key, value = line.split(":", 1)
            got[key] = int(value.split()[0]) / 1024
    except (OSError, ValueError):
        return {"rss": 0.0, "pss": 0.0, "uss": 0.0}
    return {"rss": got.get("Rss", 0.0), "pss": got.get("Pss", 0.0),
            "uss": got.get("Private_Clean", 0.0) + got.get("Private_Dirty", 0.0)}


def tree_memory(pid: int) -> list[dict[str, float]]:
    """memory() and role of the server process first, then of each process under it."""
    return [{**memory(p), "role": role(p, pid)} for p in tree(pid)]  # type: ignore[dict-item]


def tree_rss_mb(pid: int) -> float:
    return sum(m["rss"] for m in tree_memory(pid))


def describe(mem: list[dict]) -> str:
    """RSS of the whole tree, then RSS/PSS/USS of each process in it."""
    return f"{sum(m['rss'] for m in mem):.0f} MB RSS (" + "; ".join(
        f"{m['role']} {m['rss']:.0f}/{m['pss']:.0f}/{m['uss']:.0f}" for m in mem) + " MB RSS/PSS/USS)"


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(CLI + ["serve", "--no-build", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/tags", timeout=2).status_code == 200:
                return server, port
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.time() > deadline:
            server.kill()
            sys.exit("error: papersift serve did not come up")
        time.sleep(0.5)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=60)


def split(path: Path, work: Path, n: int) -> list[Path]:
    lines = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            lines.append(line)
            if len(lines) >= n:
                break
    cuts = [0, int(n * 0.6), int(n * 0.8), len(lines)]
    out = []
    for k in range(3):
        p = work / f"part{k}.jsonl.gz"
        with gzip.open(p, "wt", encoding="utf-8") as f:
            f.writelines(lines[cuts[k]:cuts[k + 1]])
        out.append(p)
    return out


def cli(env: dict[str, str], *args: str) -> float:
    t = time.perf_counter()
    r = subprocess.run(CLI + list(args), env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"error: papersift {' '.join(args)} failed: {r.stderr[-500:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--papers", type=int, default=30000)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="papersift-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PAPERSIFT_DATA_DIR": str(work / "data"), "PAPERSIFT_SITE_DIR": str(work / "site"),
           "PAPERSIFT_EMBEDDER": "none", "PAPERSIFT_PROVIDER": "", "PAPERSIFT_CONFIG": str(work / "none.toml"),
           "PAPERSIFT_LOCK_TIMEOUT": "3600"}
    for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PAPERSIFT_API_KEY"):
        env.pop(k, None)
    parts = split(args.path, work, args.papers)
    print(f"setup: import {cli(env, 'import', str(parts[0])):.1f}s, enrich "
          f"{cli(env, 'enrich'):.1f}s, build {cli(env, 'build'):.1f}s", flush=True)
    qs = queries(args.path)
    server, port = start_server(env)
    try:
        asyncio.run(load(port, qs[:64], 3.0, args.clients))  # warm-up
        base_s = max(30.0, args.minutes * 60 / 4)
        lat0, err0, _ = asyncio.run(load(port, qs, base_s, args.clients))
        rps0, p50_0, p99_0 = summary(lat0, base_s)
        print(f"without writer: {len(lat0)} requests in {base_s:.0f}s, rps {rps0:.1f}, "
              f"p50 {p50_0:.1f} ms, p99 {p99_0:.1f} ms, errors {err0}", flush=True)

        mem0 = tree_memory(server.pid)
        steps: list[str] = []

        def writer() -> None:
            for k in (1, 2):
                for cmd in (["import", str(parts[k])], ["enrich"], ["index"], ["build"]):
                    steps.append(f"{' '.join(cmd[:1])} {cli(env, *cmd):.1f}s")

        w = threading.Thread(target=writer)
        t0 = time.perf_counter()
        w.start()
        lat, errors = [], 0
        rest = max(30.0, args.minutes * 60 - base_s)
        while w.is_alive() or time.perf_counter() - t0 < rest:
            chunk, e, _ = asyncio.run(load(port, qs, 5.0, args.clients))
            lat += chunk
            errors += e
        w.join()
        secs = time.perf_counter() - t0
        time.sleep(5)  # let the search processes finish reloading before reading RSS
        mem1 = tree_memory(server.pid)
    finally:
        stop(server)
    # The same server started afresh on the final data, under the same load as before the
    # writer: what a server holding the grown store takes anyway.
    server, port = start_server(env)
    try:
        asyncio.run(load(port, qs[:64], 3.0, args.clients))
        asyncio.run(load(port, qs, base_s, args.clients))
        mem2 = tree_memory(server.pid)
    finally:
        stop(server)
    rss0, rss1, rss2 = (sum(m["rss"] for m in mem) for mem in (mem0, mem1, mem2))
    uss0, uss1, uss2 = (sum(m["uss"] for m in mem) for mem in (mem0, mem1, mem2))
    rps, p50, p99 = summary(lat, secs)
    print("writer: " + ", ".join(steps))
    print(f"with writer: {len(lat)} requests in {secs:.0f}s, rps {rps:.1f}, p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms, errors {errors}; p99 ratio to no writer {p99 / max(p99_0, 1e-9):.2f}x")
    print(f"server before the writer: {describe(mem0)}")
    print(f"server after the writer:  {describe(mem1)}")
    print(f"fresh server, final data: {describe(mem2)}")
    print(f"growth: RSS {rss1 - rss0:.0f} MB, USS {uss1 - uss0:.0f} MB; beyond a fresh server on the "
          f"final data: RSS {rss1 - rss2:.0f} MB, USS {uss1 - uss2:.0f} MB")
    print(f"soak requests={len(lat)} errors={errors} p99_ms={p99:.1f} rss_growth_mb={rss1 - rss0:.1f} "
          f"rss_beyond_fresh_mb={rss1 - rss2:.1f}")


if __name__ == "__main__":
    main()
