"""status.html: the last 30 days' coverage (papersift status) on the published site."""

from __future__ import annotations

from pathlib import Path

from ..status import StatusReport
from .output import atomic_write
from .render import Renderer


def write_status_page(site_dir: Path, report: StatusReport, *, site_title: str,
                      langs: list[str]) -> None:
    run = report.last_run
    html = Renderer(site_title, langs).page(
        "status.html", root="", title="Status", page_kind="status", days=report.days[::-1],
        built_at=report.site_built_at or "never",
        run=None if run is None else {
            "kind": run.kind, "id": run.id, "status": run.status,
            "started_at": run.started_at.isoformat(timespec="seconds"),
            "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
            "errors": run.errors[:1]})
    atomic_write(Path(site_dir) / "status.html", html)
