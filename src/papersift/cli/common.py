"""What every command shares: settings + store (Ctx), one-line errors (fail), the console,
the shared options, date parsing and the progress bars. Library code never imports this."""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, NoReturn, ParamSpec

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..config import ConfigError, Settings, load_settings
from ..errors import PapersiftError
from ..store import Store, open_store

P = ParamSpec("P")

console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="papersift.toml to read.")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="Where the SQLite file lives.")]
SiteDirOpt = Annotated[Path | None, typer.Option("--site-dir", help="Where the site is written (default: site).")]


# Job locks taken by the running command; `guarded` releases them when it ends.
_held_jobs = ExitStack()


class Ctx:
    """Settings + store for one command, opened lazily. A writing command names its `job`:
    its store is then held for it (another job on the same store waits, see `job`)."""

    def __init__(self, config: Path | None = None, data_dir: Path | None = None, *,
                 job: str | None = None, **overrides: object):
        try:
            self.settings: Settings = load_settings(config, data_dir=data_dir, **overrides)
        except ConfigError as e:
            fail(str(e))
        self._store: Store | None = None
        self._job = job

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings.db_target)
            if self._job is not None:
                _held_jobs.enter_context(self.job(self._job))
        return self._store

    @contextmanager
    def job(self, name: str) -> Iterator[Store]:
        """The store, held for one writing job: a second job on the same store waits for
        this one (up to the lock_timeout setting), then stops with a one-line error."""
        def waiting(line: str) -> None:
            err_console.print(f"[yellow]{escape(line)}[/]", highlight=False)

        store = self.store
        with store.job_lock(name, self.settings.lock_timeout, waiting):
            yield store


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, then exit."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def guarded(command: Callable[P, None]) -> Callable[P, None]:
    """A command whose project errors (PapersiftError: bad settings, input, sources, models,
    store) end it with their one-line message instead of a traceback."""
    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except PapersiftError as e:
            fail(str(e))
        finally:
            _held_jobs.close()

    return run


def say(line: str) -> None:
    """Print a library line as it is (titles in it are untrusted: no markup)."""
    console.print(line, markup=False, highlight=False)


def parse_day(option: str, value: str | None) -> dt.date | None:
    """An ISO date option (None when not given); a bad one is a one-line error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: not a date; use YYYY-MM-DD, e.g. 2025-02-06")


def split_csv(values: list[str] | None) -> list[str]:
    """Repeated and comma-separated option values, as one list."""
    return [v.strip() for item in values or [] for v in item.split(",") if v.strip()]


def progress_bar(*, unit: str = "items", status: bool = False, eta: bool = False,
                 spinner: bool = False, transient: bool = True, disable: bool = False) -> Progress:
    """The progress bar every long command shows: description, bar, done/total (or bytes),
    optionally a status field, then elapsed time (or the time remaining with `eta`)."""
    cols: list[ProgressColumn | str] = [SpinnerColumn()] if spinner else []
    cols += [TextColumn("[bold]{task.description}"), BarColumn(),
             DownloadColumn() if unit == "bytes" else MofNCompleteColumn()]
    if unit not in ("items", "bytes"):
        cols.append(TextColumn(unit))
    if status:
        cols.append(TextColumn("{task.fields[status]}"))
    cols.append(TimeRemainingColumn() if eta else TimeElapsedColumn())
    return Progress(*cols, console=console, transient=transient, disable=disable)


@contextmanager
def paper_progress(name: str, total: int) -> Iterator[Callable[[str, str], None]]:
    """A bar over `total` papers that counts what became of them ("done=3 cached=1"): yields
    the (paper id, status) callback a per-paper step calls once for each paper."""
    seen: Counter[str] = Counter()
    with progress_bar(status=True, transient=False) as bar:
        task = bar.add_task(name, total=total, status="")

        def tick(pid: str, status: str) -> None:
            seen[status] += 1
            bar.update(task, advance=1, status=" ".join(f"{k}={v}" for k, v in seen.items()))

        yield tick


def print_failed(failed: dict[str, str], limit: int = 20) -> None:
    """The first `limit` papers that failed, each with why (untrusted text: no markup)."""
    for pid, why in list(failed.items())[:limit]:
        console.print(f"  [red]failed[/] {pid}: ", end="", highlight=False)
        console.print(why, markup=False, highlight=False)


def stage_progress(bar: Progress) -> Callable[[str, int, int], None]:
    """A (stage, done, total) callback that shows one task per stage on `bar`."""
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=max(total, 1))
        bar.update(tasks[stage], completed=done, total=max(total, 1))

    return update
