"""One job at a time on a store, through the real CLI in separate processes; backups of a
store that another process is writing; restore keeps what it replaces."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.archives import daily_arxiv_archive

from papersift.jobs import sample_path
from papersift.store import open_store

SAMPLE_PAPERS = 271  # the bundled sample's papers (tests/test_sample.py checks the file)


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERSIFT_")}
    env.update(PYTHONPATH=os.pathsep.join(sys.path), PAPERSIFT_DATA_DIR=str(data_dir),
               PAPERSIFT_CONFIG=str(data_dir / "none.toml"), COLUMNS="200", **extra)
    return env


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "papersift", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_two_imports_at_once_run_one_after_the_other(tmp_path):
    env = _env(tmp_path)
    a = _cli("import", str(sample_path()), env=env)
    b = _cli("import", str(sample_path()), env=env)
    outs = [p.communicate(timeout=240) for p in (a, b)]
    assert a.returncode == 0 and b.returncode == 0, outs
    with open_store(tmp_path / "papersift.db") as s:
        runs = sorted((r for r in s.recent_runs(10) if r.kind == "import"), key=lambda r: r.id)
        alone = sum(1 for _ in sample_path().open(encoding="utf-8") if _.strip())
        assert s.count_papers() <= alone and s.count_papers() > 100
        assert len(runs) == 2
        # serialised: the second started after the first finished
        assert runs[0].finished_at is not None and runs[1].started_at >= runs[0].finished_at
        assert runs[1].counts["inserted"] == 0  # nothing done twice
    db = sqlite3.connect(tmp_path / "papersift.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_busy_store_is_one_clear_line(tmp_path):
    hold = ("import sys, time\nfrom papersift.store import open_store\n"
            "s = open_store(sys.argv[1])\nwith s.job_lock('run', 5):\n"
            "    print('held', flush=True)\n    time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path / "papersift.db")],
                              env=_env(tmp_path), text=True, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        p = _cli("import", str(sample_path()), env=_env(tmp_path, PAPERSIFT_LOCK_TIMEOUT="1"))
        out, err = p.communicate(timeout=60)
        assert p.returncode == 1
        lines = [x for x in err.splitlines() if x.strip()]
        assert lines[0].startswith("waiting for papersift run")
        assert lines[-1].startswith("error:") and "busy: papersift run" in lines[-1]
        assert f"pid {holder.pid}" in lines[-1] and "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()
    with open_store(tmp_path / "papersift.db") as s:
        assert s.count_papers() == 0 and not s.recent_runs(5)  # the waiting import did nothing


def test_backup_while_another_process_imports_then_restore(tmp_path):
    data = tmp_path / "data"
    env = _env(data)
    assert subprocess.run([sys.executable, "-m", "papersift", "import", str(sample_path())],
                          env=env, capture_output=True, timeout=120).returncode == 0
    big = daily_arxiv_archive(tmp_path / "big.jsonl.gz", 6000)  # big enough to take a while
    writer = _cli("import", str(big), env=env)
    sizes = []
    for i in range(3):  # backups are not jobs: they never wait for the writer
        r = subprocess.run([sys.executable, "-m", "papersift", "backup", str(tmp_path / f"b{i}.db")],
                           env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        snap = sqlite3.connect(tmp_path / f"b{i}.db")
        assert snap.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        sizes.append(snap.execute("SELECT count(*) FROM papers").fetchone()[0])
        # every snapshot is one moment: the FTS index agrees with the papers table
        assert snap.execute("SELECT count(*) FROM papers_fts").fetchone()[0] == sizes[-1]
        snap.close()
    assert writer.wait(timeout=300) == 0, writer.communicate()
    assert sizes == sorted(sizes) and sizes[0] >= SAMPLE_PAPERS
    print("papers in the snapshots taken during the import:", sizes)

    with open_store(data / "papersift.db") as s:
        total = s.count_papers()
    assert total == SAMPLE_PAPERS + 6000
    r = subprocess.run([sys.executable, "-m", "papersift", "restore", str(tmp_path / "b0.db")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"was {total} papers" in r.stdout
    with open_store(data / "papersift.db") as s:
        assert s.count_papers() == sizes[0]
    saved = list(data.glob("papersift.db.pre-restore-*"))
    assert len(saved) == 1  # what the restore replaced is kept
    with open_store(saved[0]) as s:
        assert s.count_papers() == total


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100])
def test_restoring_a_bad_file_changes_nothing(tmp_path, content):
    data = tmp_path / "data"
    env = _env(data)
    assert subprocess.run([sys.executable, "-m", "papersift", "import", str(sample_path())],
                          env=env, capture_output=True, timeout=120).returncode == 0
    bad = tmp_path / "bad.db"
    bad.write_bytes(content)
    r = subprocess.run([sys.executable, "-m", "papersift", "restore", str(bad)],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    err = r.stderr.strip()
    assert err.startswith("error:") and str(bad) in err.replace("\n", "") and "Traceback" not in err
    with open_store(data / "papersift.db") as s:
        assert s.count_papers() == SAMPLE_PAPERS
