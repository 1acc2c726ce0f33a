"""Is a day complete? `papersift status`, `status --check` and the site's status page.

Per day: what the source said it has (coverage recorded by the collect), what the store holds
(listed papers, enrichments by method, failures with their reasons, vectors of the model the
last index run used) and what the last site build published. A day is complete when nothing
is missing at any stage; `check` also flags recent weekdays that were never collected (HF
Daily Papers lists papers on weekdays), which is what a silently skipped schedule looks like.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .model import RunRecord
from .site.output import load_state
from .store.base import RankedSearchSource, Store, WorkQueue


@dataclass
class DayStatus:
    day: dt.date
    expected: int | None  # what HF listed at the last collect (None: never collected from HF)
    collected: int  # papers the store holds for the day
    enriched: dict[str, int] = field(default_factory=dict)  # method -> papers
    failed: dict[str, int] = field(default_factory=dict)  # reason -> papers
    indexed: int | None = None  # None: no vector index
    images: int = 0  # papers with a title image, figure or thumbnail
    sent: int = 0  # digests sent for the day (profile x channel)
    send_failed: int = 0
    published: int | None = None  # cards on the day's page at the last build; None: not built
    collected_at: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["day"] = self.day.isoformat()
        d["complete"] = self.complete
        return d


@dataclass
class QueueStatus:
    """The PostgreSQL work queue: items per kind and state, and the workers alive now."""

    depth: dict[str, dict[str, int]]  # kind -> pending / leased / done / failed
    workers: list[dict[str, Any]]  # run id, kind, worker name, started_at, items done

    def as_json(self) -> dict[str, Any]:
        return {"depth": self.depth, "workers": self.workers}


def queue_status(store: Store) -> QueueStatus | None:
    """None on a store without a queue (SQLite)."""
    if not isinstance(store, WorkQueue):
        return None
    alive = store.live_runs()
    workers = [{"run": r.id, "kind": r.kind.removeprefix("worker-"),
                "worker": r.params.get("worker", ""), "started_at": r.started_at.isoformat()}
               for r in store.recent_runs(500)
               if r.id in alive and r.kind.startswith("worker-") and r.status == "running"]
    done = store.done_by(w["worker"] for w in workers)
    for w in workers:
        w["done"] = done.get(w["worker"], 0)
    return QueueStatus(store.queue_depth(), workers)


@dataclass
class StatusReport:
    days: list[DayStatus]
    last_run: RunRecord | None
    vector_model: str | None
    site_built_at: str | None
    queue: QueueStatus | None = None
    # PostgreSQL's lexical postings: {"papers", "late", ...}; {} when none are built; None
    # for a store that ranks in memory
    postings: dict[str, Any] | None = None

    def incomplete(self) -> list[DayStatus]:
        return [d for d in self.days if not d.complete]

    def as_json(self) -> dict[str, Any]:
        run = self.last_run
        return {"days": [d.as_json() for d in self.days], "vector_model": self.vector_model,
                "site_built_at": self.site_built_at,
                "last_run": None if run is None else {
                    "id": run.id, "kind": run.kind, "status": run.status,
                    "started_at": run.started_at.isoformat(),
                    "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                    "errors": run.errors[:5]},
                "queue": self.queue.as_json() if self.queue else None,
                "lexical_postings": self.postings}


def last_vector_model(store: Store) -> str | None:
    """The model the latest successful index run embedded with (what `indexed` counts)."""
    for r in store.recent_runs(200):
        if r.kind == "index" and r.status in ("ok", "partial") and r.params.get("embedder"):
            return str(r.params["embedder"])
    return None


def _problems(d: DayStatus) -> list[str]:
    out = []
    if d.expected is not None and d.collected < d.expected:
        out.append(f"collected {d.collected} of the {d.expected} HF listed")
    failed = sum(d.failed.values())
    if failed:
        top = max(d.failed, key=lambda k: d.failed[k])
        out.append(f"{failed} enrichment failures (e.g. {top})")
    missing = d.collected - sum(d.enriched.values()) - failed
    if missing > 0:
        out.append(f"{missing} not enriched")
    if d.indexed is not None and d.indexed < d.collected:
        out.append(f"{d.collected - d.indexed} not indexed")
    if d.send_failed:
        out.append(f"{d.send_failed} digests not sent")
    if d.published is None:
        out.append("not published")
    elif d.published < d.collected:
        out.append(f"{d.collected - d.published} not published")
    return out


def day_statuses(store: Store, *, since: dt.date | None = None, until: dt.date | None = None,
                 site_dir: Path | None = None) -> StatusReport:
    model = last_vector_model(store)
    state = load_state(site_dir) if site_dir is not None else None
    published: dict[str, int] | None = state.get("day_counts") if state else None
    coverage = {c.period: c for c in store.coverage("hf")}
    days: dict[dt.date, DayStatus] = {}
    for s in store.day_summaries(since, until, model):
        days[s.day] = DayStatus(s.day, None, s.papers, dict(s.enriched), dict(s.failed),
                                s.indexed if model else None, s.images, s.sent, s.send_failed)
    for period, c in coverage.items():
        try:
            day = dt.date.fromisoformat(period)
        except ValueError:
            continue
        if (since and day < since) or (until and day > until):
            continue
        st = days.setdefault(day, DayStatus(day, None, 0, indexed=0 if model else None))
        st.expected, st.collected_at = c.expected, c.at
    for st in days.values():
        if published is not None:
            st.published = published.get(st.day.isoformat(), 0)
        st.problems = _problems(st)
    runs = store.recent_runs(1)
    postings = ((store.impacts_status() or {}) if isinstance(store, RankedSearchSource) else None)
    return StatusReport([days[k] for k in sorted(days)], runs[0] if runs else None, model,
                        state.get("built_at") if state else None, queue_status(store), postings)


def check(report: StatusReport, today: dt.date, days: int = 7) -> list[str]:
    """What is wrong with the last `days` days before `today`: incomplete days, and weekdays
    no HF collect ever recorded. Empty when all is well."""
    start = today - dt.timedelta(days=days)
    by_day = {d.day: d for d in report.days}
    out = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        st = by_day.get(day)
        if st is None or st.expected is None:
            if day.weekday() < 5:
                out.append(f"{day}: never collected from Hugging Face (run `papersift run "
                           f"--since {day}` to fill it in)")
            continue
        if st.problems:
            out.append(f"{day}: incomplete: {'; '.join(st.problems)}")
    return out
