"""`papersift ...`: one thin command per job. A command parses its options, calls one
library function and prints its summary; nothing below this package imports it."""

from __future__ import annotations

import typer

from . import (
    backup,
    collect,
    digest,
    enrich,
    images,
    importing,
    info,
    links,
    migrate,
    profile,
    search,
    site,
    status,
    worker,
)

app = typer.Typer(help="papersift: collect, enrich, search and publish ML/AI papers.",
                  no_args_is_help=True, add_completion=False)

for _group in (info, status, importing, collect, enrich, images, links, site, search, backup, migrate,
               profile, digest, worker):
    _group.register(app)

__all__ = ["app"]
