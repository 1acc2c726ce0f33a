"""`papersift profile add|list|show|test`: personal interest profiles in papersift.toml."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from ..profiles import Profile, ProfileRanker, find_profile, profiles_of, read_export, write_profile
from ..profiles.config import parse_profile
from .common import ConfigOpt, Ctx, DataDirOpt, fail, guarded, parse_day, say, split_csv

profile_app = typer.Typer(help="Personal interest profiles (the profiles tables in papersift.toml).",
                          no_args_is_help=True)

ListOpt = Annotated[list[str] | None, typer.Option(help="Repeat or comma-separate.")]


def add_cmd(name: Annotated[str | None, typer.Argument(help="Profile name (default: the file's).")] = None,
            from_file: Annotated[Path | None, typer.Option(
                "--from", help="A profile exported by the site's For you page (JSON).")] = None,
            keyword: ListOpt = None, author: ListOpt = None, negative: ListOpt = None,
            tag: ListOpt = None, paper: Annotated[list[str] | None, typer.Option(
                help="Seed paper (arXiv id or URL); repeat or comma-separate.")] = None,
            library: Annotated[str | None, typer.Option(
                help="BibTeX, RIS, CSL-JSON or Zotero JSON file of your papers.")] = None,
            min_score: Annotated[float | None, typer.Option("--min-score")] = None,
            max_papers: Annotated[int | None, typer.Option("--max-papers")] = None,
            language: ListOpt = None, channel: ListOpt = None,
            replace: Annotated[bool, typer.Option("--replace", help="Overwrite a profile of that name.")] = False,
            config: ConfigOpt = None) -> None:
    """Add a profile to papersift.toml (the rest of the file is kept as written)."""
    ctx = Ctx(config)
    _, _, path = profiles_of(ctx.settings)
    base = read_export(from_file).table() if from_file else {}
    if name:
        base["name"] = name
    if "name" not in base:
        fail("profile add: give a NAME (or --from an exported profile file)")
    for key, values in (("keywords", keyword), ("authors", author), ("negative_keywords", negative),
                        ("tags", tag), ("seed_papers", paper), ("languages", language),
                        ("channels", channel)):
        extra = split_csv(values)
        if extra:
            base[key] = [*base.get(key, []), *extra]
    for key, value in (("library", library), ("min_score", min_score), ("max_papers", max_papers)):
        if value is not None:
            base[key] = value
    prof = parse_profile(base, "profile add")
    replaced = write_profile(path, prof, replace=replace)
    say(f"profile {prof.name}: {'replaced' if replaced else 'added'} in {path} "
        f"({len(prof.seed_papers)} seed papers, {len(prof.keywords)} keywords, "
        f"{len(prof.authors)} authors, {len(prof.negative_keywords)} negative keywords, "
        f"{len(prof.exclude)} hidden papers)")


def list_cmd(config: ConfigOpt = None) -> None:
    """The profiles in papersift.toml."""
    ctx = Ctx(config)
    profiles, _, path = profiles_of(ctx.settings)
    if not profiles:
        say(f"no profiles in {path}; add one with `papersift profile add NAME --keyword ...`")
        return
    for p in profiles:
        say(f"{p.name}: {len(p.seed_papers)} seed papers{', library ' + p.library if p.library else ''}, "
            f"{len(p.keywords)} keywords, {len(p.authors)} authors, {len(p.negative_keywords)} negative, "
            f"{len(p.tags)} tags; min_score {p.min_score}, max {p.max_papers}; "
            f"{len(p.channels)} channels")


def _show(p: Profile) -> None:
    for k, v in p.model_dump().items():
        if k == "channels":  # channel URLs may hold tokens: show only their kind
            v = [c if "://" not in c else c.split("://", 1)[0] + "://…" for c in v]
        say(f"{k} = {v}")


def show_cmd(name: str, config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """A profile's settings and its interest clusters."""
    ctx = Ctx(config, data_dir)
    profiles, base, path = profiles_of(ctx.settings)
    p = find_profile(profiles, name, path)
    _show(p)
    interests = ProfileRanker(ctx.store, ctx.settings, base).interests(p)
    say(f"interests: {interests.summary()}")
    for n, rows in enumerate(interests.members, 1):
        titles = "; ".join(interests.seeds[i].title for i in rows[:3])
        say(f"  cluster {n} ({len(rows)} papers): {titles}{' …' if len(rows) > 3 else ''}")


def test_cmd(name: str, date: Annotated[str | None, typer.Option(
                 "--date", help="Day to rank, YYYY-MM-DD (default: the newest in the store).")] = None,
             days: Annotated[int, typer.Option("--days", min=1, max=31,
                                               help="Rank the DAYS days up to --date.")] = 1,
             config: ConfigOpt = None, data_dir: DataDirOpt = None) -> None:
    """Rank a day for a profile: each paper's score and why it matched, and what was removed."""
    ctx = Ctx(config, data_dir)
    profiles, base, path = profiles_of(ctx.settings)
    p = find_profile(profiles, name, path)
    day = parse_day("--date", date) or _newest(ctx)
    rd = ProfileRanker(ctx.store, ctx.settings, base).rank(p, day, days)
    r = rd.ranking
    span = f"{day - dt.timedelta(days=days - 1)}..{day}" if days > 1 else str(day)
    say(f"profile {p.name}, {span}: {r.considered} papers, {len(r.kept)} kept (min_score "
        f"{p.min_score}, max {p.max_papers}), {len(r.removed)} removed, {len(r.below)} below")
    say(f"interests: {rd.interests.summary()}; vectors: {rd.model or 'none'}")
    for note in rd.notes:
        say(f"note: {note}")
    for n, x in enumerate(r.kept, 1):
        say(f"{n:>3}. {x.score:.3f}  {x.paper.id}  {x.paper.title}")
        say(f"       why: {'; '.join(x.reasons) or 'no rule matched'}")
    for paper, why in r.removed:
        say(f"  removed  {paper.id}  {paper.title}  ({why})")
    for x in r.below[:5]:
        say(f"  below    {x.score:.3f}  {x.paper.id}  {x.paper.title}")


def _newest(ctx: Ctx) -> dt.date:
    days = ctx.store.days()
    if not days:
        fail("the store holds no days yet: import or collect papers first")
    return days[-1][0]


def register(app: typer.Typer) -> None:
    profile_app.command("add")(guarded(add_cmd))
    profile_app.command("list")(guarded(list_cmd))
    profile_app.command("show")(guarded(show_cmd))
    profile_app.command("test")(guarded(test_cmd))
    app.add_typer(profile_app, name="profile")
