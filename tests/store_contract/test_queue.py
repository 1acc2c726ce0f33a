"""Contract: the PostgreSQL work queue (store/postgres/queue.py): claims are exclusive,
renewable, expire into re-claims, complete once in the saving transaction, and fail for
good after N attempts. SQLite has no queue (one machine: papersift run)."""

from __future__ import annotations

import time

import pytest

from papersift.store.base import WorkQueue


@pytest.fixture
def queue(make_store, backend):
    if backend != "postgres":
        pytest.skip("the work queue is PostgreSQL's")
    store = make_store()
    assert isinstance(store, WorkQueue)
    return store


def _expire(store, kind: str, worker: str, ids: list[str]) -> None:
    # A lease of a millisecond, then a moment: the next transaction's now() is past it.
    store.renew(kind, worker, ids, 0.001)
    time.sleep(0.05)


def test_claims_are_exclusive_and_enqueue_is_idempotent(queue):
    assert queue.enqueue("enrich", ["a", "b", "c"]) == 3
    assert queue.enqueue("enrich", ["a", "d"]) == 1
    first = queue.claim("enrich", "w1", 2, 60)
    second = queue.claim("enrich", "w2", 10, 60)
    assert [c.paper_id for c in first] == ["a", "b"]
    assert [c.paper_id for c in second] == ["c", "d"]
    assert not any(c.reclaimed for c in first + second)
    assert queue.claim("enrich", "w3", 10, 60) == []
    assert queue.queue_depth()["enrich"] == {"pending": 0, "leased": 4, "done": 0, "failed": 0}


def test_renew_keeps_and_expiry_returns_claims(queue):
    queue.enqueue("enrich", ["a", "b"])
    queue.claim("enrich", "w1", 2, 60)
    assert queue.renew("enrich", "w1", ["a", "b"], 60) == {"a", "b"}
    assert queue.renew("enrich", "w2", ["a"], 60) == set()  # not w2's
    _expire(queue, "enrich", "w1", ["a"])
    again = queue.claim("enrich", "w2", 10, 60)
    assert [(c.paper_id, c.attempts, c.reclaimed) for c in again] == [("a", 2, True)]
    assert queue.renew("enrich", "w1", ["a", "b"], 60) == {"b"}  # w1 lost "a"


def test_complete_only_by_the_holder_and_once(queue):
    queue.enqueue("enrich", ["a"])
    queue.claim("enrich", "w1", 1, 60)
    _expire(queue, "enrich", "w1", ["a"])
    queue.claim("enrich", "w2", 1, 60)
    with queue.completing("enrich", "w1", "a") as mine:
        assert not mine  # its lease ran out and w2 holds it now
    with queue.completing("enrich", "w2", "a") as mine:
        assert mine
        queue.set_meta("saved", "a")  # joins the completing transaction
    with queue.completing("enrich", "w2", "a") as mine:
        assert not mine  # done already
    assert queue.get_meta("saved") == "a"
    assert queue.queue_depth()["enrich"]["done"] == 1
    assert queue.claim("enrich", "w3", 1, 60) == []


def test_a_failed_save_rolls_back_and_leaves_the_item_pending(queue):
    queue.enqueue("enrich", ["a"])
    queue.claim("enrich", "w1", 1, 60)
    with pytest.raises(RuntimeError), queue.completing("enrich", "w1", "a"):
        queue.set_meta("saved", "a")
        raise RuntimeError("save failed")
    assert queue.get_meta("saved") is None
    assert queue.queue_depth()["enrich"]["leased"] == 1


def test_failures_retry_then_fail_for_good(queue):
    queue.enqueue("images", ["a"])
    for attempt in (1, 2):
        [c] = queue.claim("images", "w1", 1, 60)
        assert c.attempts == attempt
        assert queue.fail("images", "w1", "a", f"boom {attempt}", max_attempts=3) == "pending"
    queue.claim("images", "w1", 1, 60)
    assert queue.fail("images", "w1", "a", "boom 3", max_attempts=3) == "failed"
    assert queue.claim("images", "w1", 1, 60) == []
    assert queue.fail("images", "w1", "a", "late", max_attempts=3) == "lost"
    assert queue.queue_depth()["images"]["failed"] == 1
    assert queue.requeue("images", ["a"]) == 1
    assert [c.attempts for c in queue.claim("images", "w1", 1, 60)] == [1]


def test_release_gives_claims_back_uncounted(queue):
    queue.enqueue("index", ["a", "b"])
    queue.claim("index", "w1", 2, 60)
    assert queue.release("index", "w1", ["a", "b"]) == 2
    assert [c.attempts for c in queue.claim("index", "w2", 2, 60)] == [1, 1]


def test_done_by_counts_each_workers_finished_items(queue):
    queue.enqueue("enrich", ["a", "b", "c"])
    queue.claim("enrich", "w1", 2, 60)
    queue.claim("enrich", "w2", 1, 60)
    for worker, pid in (("w1", "a"), ("w1", "b")):
        with queue.completing("enrich", worker, pid) as mine:
            assert mine
    assert queue.done_by(["w1", "w2", "w3"]) == {"w1": 2}


def test_new_and_returned_work_wakes_a_listening_worker(queue):
    with queue.work_notices() as wait:
        assert not wait(0.05)
        queue.enqueue("enrich", ["a"])
        assert wait(10)
        queue.enqueue("enrich", ["a"])  # nothing new: no notice
        assert not wait(0.05)
        queue.claim("enrich", "w1", 1, 60)
        queue.release("enrich", "w1", ["a"])  # given back: claimable again
        assert wait(10)


def test_a_held_run_stays_open_while_its_holder_lives(queue):
    from papersift.store.rows import DIED

    plain = queue.start_run("enrich", {})  # a run whose job died: the lock is free
    with queue.held_run("worker-enrich", {"worker": "w1"}) as held:
        assert held in queue.live_runs() and plain not in queue.live_runs()
        with queue.job_lock("run", 5):  # a job starting beside a live worker
            pass
        status = {r.id: r.status for r in queue.recent_runs(5)}
        assert status == {plain: "failed", held: "running"}
    # its connection closed without finishing the run: the holder is gone (once the
    # server has ended that session, which it does at once or nearly)
    deadline = time.monotonic() + 10
    while held in queue.live_runs() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert held not in queue.live_runs()
    with queue.job_lock("run", 5):
        pass
    run = next(r for r in queue.recent_runs(5) if r.id == held)
    assert run.status == "failed" and run.errors[0] == DIED
