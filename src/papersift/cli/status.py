"""`papersift status [--since D] [--json] [--check]`: is every day complete?"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..status import DayStatus, QueueStatus, check, day_statuses
from .common import ConfigOpt, Ctx, DataDirOpt, SiteDirOpt, console, err_console, guarded, parse_day


def _cell(n: int | None) -> str:
    return "-" if n is None else str(n)


def _row(d: DayStatus) -> list[str]:
    enriched = ", ".join(f"{n} {m}" for m, n in sorted(d.enriched.items())) or "0"
    failed = str(sum(d.failed.values())) if d.failed else "0"
    state = "[green]complete[/]" if d.complete else "[yellow]" + escape("; ".join(d.problems)) + "[/]"
    sent = str(d.sent) + (f" ({d.send_failed} failed)" if d.send_failed else "")
    return [d.day.isoformat(), d.day.strftime("%a"), _cell(d.expected), str(d.collected),
            enriched, failed, str(d.images), _cell(d.indexed), _cell(d.published), sent, state]


def _print_queue(q: QueueStatus) -> None:
    if q.depth:
        table = Table("queue", "pending", "in work", "done", "failed", title="work queue")
        for kind, n in sorted(q.depth.items()):
            table.add_row(kind, str(n["pending"]), str(n["leased"]), str(n["done"]), str(n["failed"]))
        console.print(table)
    else:
        console.print("work queue: empty", highlight=False)
    console.print(f"workers running: {len(q.workers)}", highlight=False)
    for w in q.workers:
        console.print(f"  {w['kind']} {w['worker']}: {w['done']} done (run #{w['run']}, since "
                      f"{w['started_at']})",
                      markup=False, highlight=False)


def _print_postings(p: dict) -> None:
    if not p:
        console.print("lexical postings: none built (`papersift index` builds them; until then "
                      "a big table's lexical search reads full text)", markup=False, highlight=False)
        return
    late = (f", {p['late']} stored since (scored from full text until `papersift index` merges them)"
            if p["late"] else ", up to date")
    console.print(f"lexical postings: {p['papers']} papers listed{late}", markup=False, highlight=False)


def status_cmd(
    since: Annotated[str | None, typer.Option("--since", help="First day, YYYY-MM-DD "
                                              "(default: 30 days ago).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    do_check: Annotated[bool, typer.Option("--check", help="Exit 1 when a recent weekday is "
                                           "incomplete or was never collected.")] = False,
    days: Annotated[int, typer.Option("--days", min=1, max=366,
                                      help="How many days before today --check looks at.")] = 7,
    site_dir: SiteDirOpt = None, config: ConfigOpt = None, data_dir: DataDirOpt = None,
) -> None:
    """Per day: expected (what HF listed), collected, enriched (by method), failed (with
    reasons), images, indexed, published and digests sent; and the last run."""
    ctx = Ctx(config, data_dir)
    today = dt.datetime.now(dt.UTC).date()
    start = parse_day("--since", since) or today - dt.timedelta(days=30)
    report = day_statuses(ctx.store, since=start, site_dir=site_dir or ctx.settings.site_dir)
    problems = check(report, today, days) if do_check else []
    if as_json:
        console.print_json(json.dumps({**report.as_json(), "check": problems if do_check else None}))
    else:
        table = Table("day", "", "expected", "collected", "enriched", "failed", "images",
                      "indexed", "published", "sent", "state", title=f"status since {start}")
        for d in report.days:
            table.add_row(*_row(d))
        console.print(table)
        for d in report.days:
            for reason, n in sorted(d.failed.items(), key=lambda kv: -kv[1])[:3]:
                console.print(f"  {d.day} failed {n}: ", end="", highlight=False)
                console.print(reason, markup=False, highlight=False)
        if report.queue is not None:
            _print_queue(report.queue)
        if report.postings is not None:
            _print_postings(report.postings)
        run = report.last_run
        if run is not None:
            console.print(f"last run: {run.kind} #{run.id} {run.status}, started "
                          f"{run.started_at.isoformat(timespec='seconds')}"
                          + (f", finished {run.finished_at.isoformat(timespec='seconds')}"
                             if run.finished_at else ""), markup=False, highlight=False)
    if do_check:
        for p in problems:
            err_console.print(f"[red]check:[/] {escape(p)}", highlight=False, soft_wrap=True)
        if problems:
            raise typer.Exit(1)
        if not as_json:
            console.print(f"check: the last {days} days are complete")


def register(app: typer.Typer) -> None:
    app.command("status")(guarded(status_cmd))
