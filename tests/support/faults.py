"""Kill/rerun trials for tests/test_faults.py and bench/faults.py.

A trial runs one stage of the pipeline (import, collect, enrich, images, index, build) as a real
`papersift` process against loopback HF and LLM servers, SIGKILLs it at a seeded random
moment, runs the same command again to completion, and checks what a user relies on: the
SQLite file is intact, no paper is lost or stored twice, nothing enriched before the kill is
bought again, and the site equals a clean build of the same store.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from support.archives import daily_arxiv_archive
from support.fake_hf_arxiv import FakeServer, hf_paper
from support.fake_llm import FakeLLM
from support.pdfs import paper_pdf

STAGES = ("import", "collect", "enrich", "images", "index", "build")
MONTH = "2025-03"
HF_DAYS = [f"{MONTH}-{d:02d}" for d in (3, 4, 5, 6, 7, 10, 11, 12)]
HF_PER_DAY = 12
ARCHIVE_PAPERS = 300


@dataclass
class Outcome:
    trial: int
    stage: str
    kill_after_s: float
    killed: bool  # the process was still running when the kill came
    recovered: bool = False
    lost: int = 0
    duplicated: int = 0
    paid_twice: int = 0
    problems: list[str] = field(default_factory=list)


class Harness:
    """Loopback servers and one prepared store per stage (the state before that stage),
    copied for each trial."""

    def __init__(self, root: Path, llm_latency: float = 0.02):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.hf = FakeServer().__enter__()
        for n, day in enumerate(HF_DAYS):
            self.hf.add_hf_day(day, [hf_paper(f"2503.{n:01d}{i:04d}", f"Listed paper {n}-{i} about topic {i}",
                                              day=day, upvotes=i) for i in range(HF_PER_DAY)])
            for i in range(HF_PER_DAY):  # what the image step downloads: one PDF a paper
                self.hf.add_pdf(f"2503.{n:01d}{i:04d}", paper_pdf(
                    f"Listed paper {n}-{i} about topic {i}", ((f"Author {i}", "1"),),
                    (f"University {n}",), seed=n * 100 + i, pages=1))
        self.llm = FakeLLM(latency=llm_latency)
        self.archive = daily_arxiv_archive(root / "archive.jsonl.gz", ARCHIVE_PAPERS, topics=89, summary_repeats=6,
                                           title="Archived study {i} of sparse topic {topic}")
        self.bases: dict[str, Path] = {}
        self.durations: dict[str, float] = {}
        self.papers_after: dict[str, int] = {}  # papers the store holds once the stage is done

    def close(self) -> None:
        self.hf.__exit__(None, None, None)
        self.llm.close()

    def env(self, data: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PAPERSIFT_") and k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
        env.update(PYTHONPATH=os.pathsep.join(sys.path), PAPERSIFT_DATA_DIR=str(data / "data"),
                   PAPERSIFT_SITE_DIR=str(data / "site"), PAPERSIFT_CONFIG=str(data / "none.toml"),
                   PAPERSIFT_HF_BASE_URL=self.hf.url, PAPERSIFT_ARXIV_WEB_URL=self.hf.url, PAPERSIFT_PROVIDER="openai",
                   PAPERSIFT_BASE_URL=self.llm.openai_url, PAPERSIFT_MODEL="gpt-4o-mini",
                   PAPERSIFT_API_KEY="test-key", PAPERSIFT_EMBEDDER="hash", PAPERSIFT_LOCK_TIMEOUT="30",
                   PAPERSIFT_LANGUAGES="en", COLUMNS="200")
        return env

    def argv(self, stage: str) -> list[str]:
        return {"import": ["import", str(self.archive)],
                "collect": ["collect", "hf", "--month", MONTH, "--page-size", "4"],
                "enrich": ["enrich", "--concurrency", "4"],
                "images": ["images", "--since", HF_DAYS[0]],
                "index": ["index", "--batch", "64"],
                "build": ["build"]}[stage]

    def run(self, data: Path, stage: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "papersift", *self.argv(stage)],
                              env=self.env(data), capture_output=True, text=True, timeout=timeout)

    def prepare(self) -> None:
        """The store before each stage, and how long each stage takes here."""
        work = self.root / "prep"
        for stage in STAGES:
            self.bases[stage] = self.root / f"base-{stage}"
            if work.exists():
                shutil.copytree(work, self.bases[stage])
            else:
                self.bases[stage].mkdir()
            t0 = time.monotonic()
            r = self.run(work, stage)
            if r.returncode != 0:
                raise RuntimeError(f"{stage} failed while preparing: {r.stdout}{r.stderr}")
            self.durations[stage] = time.monotonic() - t0
            self.papers_after[stage] = _count(work / "data/papersift.db", "SELECT count(*) FROM papers")

    def trial(self, i: int, seed: int) -> Outcome:
        rng = random.Random(seed * 1000 + i)
        stage = STAGES[i % len(STAGES)]  # every stage gets its share of the trials
        data = self.root / f"trial-{i}"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(self.bases[stage], data)
        delay = rng.uniform(0.15, 1.0) * self.durations[stage]
        proc = subprocess.Popen([sys.executable, "-m", "papersift", *self.argv(stage)],
                                env=self.env(data), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        killed = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        out = Outcome(i, stage, round(delay, 2), killed)
        db = data / "data/papersift.db"
        enriched_before = _ids(db, "SELECT paper_id FROM enrichments") if db.exists() else set()
        calls_before = len(self.llm.calls("enrich"))
        r = self.run(data, stage)
        if r.returncode != 0:
            out.problems.append(f"rerun of {stage} exited {r.returncode}: {(r.stderr or r.stdout)[-300:]}")
            return out
        self._check(out, data, db, stage, enriched_before, calls_before)
        out.recovered = not out.problems and not out.lost and not out.duplicated and not out.paid_twice
        return out

    def _check(self, out: Outcome, data: Path, db: Path, stage: str, enriched_before: set[str],
               calls_before: int) -> None:
        ok = _count(db, "PRAGMA integrity_check", text=True)
        if ok != "ok":
            out.problems.append(f"integrity_check: {ok}")
        want = self.papers_after[stage]
        n = _count(db, "SELECT count(*) FROM papers")
        titles = _count(db, "SELECT count(DISTINCT title) FROM papers")
        out.lost = max(0, want - n)
        out.duplicated = max(0, n - titles) + max(0, n - want)
        fts = _count(db, "SELECT count(*) FROM papers_fts")
        if fts != n:
            out.problems.append(f"full-text index holds {fts} rows for {n} papers")
        if _count(db, "SELECT count(*) FROM runs WHERE status = 'running'"):
            out.problems.append("a run is still marked running after the rerun")
        if stage == "enrich":
            titles_before = _titles(db, enriched_before)
            again = [c for c in self.llm.calls("enrich")[calls_before:] if c.title in titles_before]
            out.paid_twice = len({c.title for c in again})
            missing = n - _count(db, "SELECT count(*) FROM enrichments")
            if missing:
                out.problems.append(f"{missing} papers not enriched after the rerun")
        if stage == "images":
            listed = len(HF_DAYS) * HF_PER_DAY
            files = [r[0] for r in _rows(db, "SELECT file FROM paper_images WHERE kind = 'title' "
                                            "AND file != ''")]
            if len(set(files)) != listed:
                out.problems.append(f"{len(set(files))} title images for {listed} papers after the rerun")
            folder = data / "data" / "images"
            missing = [f for f in files if not (folder / f).is_file()]
            debris = [p.name for p in folder.glob("*") if ".tmp" in p.name] if folder.is_dir() else []
            if missing or debris:
                out.problems.append(f"image files missing {missing[:3]} or left half-written {debris[:3]}")
        if stage == "index":
            v = _count(db, "SELECT count(*) FROM vectors")
            if v != n:
                out.problems.append(f"{v} vectors for {n} papers after the rerun")
        if stage == "build":
            clean = data / "clean-site"
            env = self.env(data)
            env["PAPERSIFT_SITE_DIR"] = str(clean)
            r = subprocess.run([sys.executable, "-m", "papersift", "build", "--full"], env=env,
                               capture_output=True, text=True, timeout=300)
            if r.returncode != 0:
                out.problems.append(f"clean build failed: {r.stderr[-200:]}")
            else:
                diff = _tree_diff(data / "site", clean)
                if diff:
                    out.problems.append(f"site differs from a clean build: {diff[:3]}")


def _count(db: Path, sql: str, text: bool = False):  # type: ignore[no-untyped-def]
    conn = sqlite3.connect(db)
    try:
        v = conn.execute(sql).fetchone()[0]
        return str(v) if text else int(v)
    finally:
        conn.close()


def _rows(db: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _ids(db: Path, sql: str) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute(sql)}
    except sqlite3.OperationalError:  # killed before the tables existed
        return set()
    finally:
        conn.close()


def _titles(db: Path, ids: set[str]) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {t for pid, t in conn.execute("SELECT id, title FROM papers") if pid in ids}
    finally:
        conn.close()


# The build's own state and the status page (it reports the last run) are not the site.
_NOT_SITE = {".papersift-build.json", "status.html"}


def _tree_diff(a: Path, b: Path) -> list[str]:
    def tree(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
                if p.is_file() and p.name not in _NOT_SITE}
    ta, tb = tree(a), tree(b)
    return sorted(k for k in set(ta) | set(tb) if ta.get(k) != tb.get(k))


def table(outcomes: list[Outcome]) -> str:
    lines = [f"{'trial':>5} {'stage':8} {'kill_s':>6} {'killed':6} {'recovered':9} lost dup paid2  problems"]
    for o in outcomes:
        lines.append(f"{o.trial:>5} {o.stage:8} {o.kill_after_s:>6.2f} {str(o.killed):6} "
                     f"{str(o.recovered):9} {o.lost:>4} {o.duplicated:>3} {o.paid_twice:>5}  "
                     + "; ".join(o.problems)[:160])
    return "\n".join(lines)
