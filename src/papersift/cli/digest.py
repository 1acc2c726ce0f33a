"""`papersift digest`: rank the day for each profile and send it (or write it: --dry-run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..digest.send import digest_day, send_digests
from ..profiles import find_profile, profiles_of
from .common import ConfigOpt, Ctx, DataDirOpt, fail, guarded, parse_day, say


def digest_cmd(profile: Annotated[str | None, typer.Option("--profile", help="Only this profile.")] = None,
               date: Annotated[str | None, typer.Option(
                   "--date", help="Day, YYYY-MM-DD (default: the newest in the store).")] = None,
               dry_run: Annotated[Path | None, typer.Option(
                   "--dry-run", help="Write each digest (.html, .txt, .eml, .md) into this folder; "
                                     "send nothing.")] = None,
               config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Send each profile's digest of a day by e-mail and apprise channels, once per channel."""
    ctx = Ctx(config, data_dir, job=None if dry_run else "digest")
    profiles, base, path = profiles_of(ctx.settings)
    if profile:
        profiles = [find_profile(profiles, profile, path)]
    if not profiles:
        fail(f"no profiles in {path}: add one with `papersift profile add NAME ...`")
    day = digest_day(ctx.store, parse_day("--date", date))
    rep = send_digests(ctx.store, ctx.settings, profiles, day, base_dir=base, dry_run=dry_run, on_line=say)
    say(rep.summary())
    for f in rep.written:
        say(f"  wrote {f}")
    if rep.failed:
        fail(f"{len(rep.failed)} deliveries failed (recorded; the next run retries them): "
             + rep.failed[0])


def register(app: typer.Typer) -> None:
    app.command("digest")(guarded(digest_cmd))
