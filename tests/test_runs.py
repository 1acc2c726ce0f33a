"""Every job's run record is finished exactly once, whatever stops the job."""

from __future__ import annotations

import pytest

from papersift.config import Settings
from papersift.model import Paper, Provenance
from papersift.runs import record_run
from papersift.search.indexing import run_index


def test_record_run_finishes_ok_partial_and_failed(store):
    with record_run(store, "demo", {"n": 1}) as run:
        run.counts = {"done": 1}
    with record_run(store, "demo", {}) as run:
        run.errors.append("one bad record")
    with pytest.raises(KeyboardInterrupt), record_run(store, "demo", {}) as run:
        run.errors.append("before the interrupt")
        raise KeyboardInterrupt
    failed, partial, ok = store.recent_runs(3)
    assert (ok.status, ok.counts) == ("ok", {"done": 1})
    assert (partial.status, partial.errors) == ("partial", ["one bad record"])
    assert failed.status == "failed"
    assert failed.errors == ["interrupted: KeyboardInterrupt", "before the interrupt"]


def test_interrupted_index_is_not_left_running(store, tmp_path):
    store.upsert_papers([Paper(arxiv_id=f"2501.0000{i}", title=f"Paper {i}", abstract="Words.",
                               sources=[Provenance(source="arxiv")]) for i in range(5)])
    settings = Settings(embedder="hash", data_dir=tmp_path)

    def ctrl_c(done: int, todo: int) -> None:  # Ctrl-C arrives between two batches
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_index(store, settings, batch=2, progress=ctrl_c)
    run = store.recent_runs(1)[0]
    assert (run.kind, run.status) == ("index", "failed")
    assert run.errors == ["interrupted: KeyboardInterrupt"]
    # and a finished index is recorded with its counts
    report = run_index(store, settings)
    run = store.recent_runs(1)[0]
    assert (run.status, run.counts["embedded"]) == ("ok", report.vectors.embedded)
