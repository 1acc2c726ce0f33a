"""Contract: one writing job at a time per store, across processes; a dead holder's lock is
free again; nested takes in one process do not deadlock; snapshots are consistent copies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from papersift.errors import StoreError
from papersift.model import Paper
from papersift.store.base import Snapshots

HOLD = """
import sys, time
from papersift.store import open_store
s = open_store(sys.argv[1])
with s.job_lock("run", 5):
    print("held", flush=True)
    time.sleep(60)
"""


def _holder(location: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.Popen([sys.executable, "-c", HOLD, location], stdout=subprocess.PIPE,
                         text=True, env=env)
    assert p.stdout is not None and p.stdout.readline().strip() == "held"
    return p


def test_second_job_waits_then_names_the_holder(make_store):
    store = make_store()
    holder = _holder(make_store.location())
    try:
        waited: list[str] = []
        t0 = time.monotonic()
        with pytest.raises(StoreError) as e, store.job_lock("import", 0.6, waited.append):
            pass
        assert time.monotonic() - t0 >= 0.6
        msg = str(e.value)
        assert "busy" in msg and "papersift run" in msg and f"pid {holder.pid}" in msg
        assert "lock_timeout" in msg
        assert len(waited) == 1 and "papersift run" in waited[0]
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_releases_the_lock_and_its_run_is_closed(make_store):
    store = make_store()
    holder = _holder(make_store.location())
    dead = store.start_run("collect-hf", {"date": "2025-02-06"})  # as if the holder's run
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with store.job_lock("import", 5):
        store.upsert_papers([Paper(arxiv_id="2502.00001", title="A")])
    assert store.count_papers() == 1
    run = next(r for r in store.recent_runs(5) if r.id == dead)
    assert run.status == "failed" and run.finished_at is not None
    assert run.errors[0].startswith("interrupted: the process died")


def test_nested_job_locks_in_one_process(make_store):
    store = make_store()
    with store.job_lock("run", 0), store.job_lock("enrich", 0), store.job_lock("index", 0):
        store.upsert_papers([Paper(arxiv_id="2502.00001", title="A")])
    # released: another process takes it at once
    holder = _holder(make_store.location())
    holder.kill()
    holder.wait()


def test_snapshot_round_trip(make_store, tmp_path):
    store = make_store()
    if not isinstance(store, Snapshots):
        pytest.skip("this backend is backed up with its own tools (pg_dump)")
    store.upsert_papers([Paper(arxiv_id="2502.00001", title="A"), Paper(arxiv_id="2502.00002", title="B")])
    size = store.backup_to(tmp_path / "snap.db")
    assert size > 0 and not list(tmp_path.glob(".snap.db.tmp-*"))
    store.upsert_papers([Paper(arxiv_id="2502.00003", title="C")])
    assert store.count_papers() == 3
    store.restore_from(tmp_path / "snap.db")
    assert store.count_papers() == 2
    assert store.get_paper("2502.00003") is None and store.get_paper("2502.00002").title == "B"
