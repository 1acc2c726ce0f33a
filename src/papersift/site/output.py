"""Writing the site: each file atomically (temp file + os.replace), and only when its bytes
changed, so a crash never leaves a half-written page and an unchanged page keeps its mtime.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = ".papersift-build.json"


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    rendered: int = 0
    paths: list[str] = field(default_factory=list)  # written, relative


class SiteWriter:
    """Writes files under one root; never outside it."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.stats = WriteStats()
        self._made: set[Path] = set()

    def path(self, rel: str) -> Path:
        p = (self.root / rel).resolve()
        if p != self.root and self.root not in p.parents:
            raise ValueError(f"refusing to write outside the site dir: {rel!r}")
        return p

    def write(self, rel: str, content: str | bytes) -> bool:
        """Write `content` at `rel` unless the file already holds exactly it."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        self.stats.rendered += 1
        target = self.path(rel)
        try:
            if target.stat().st_size == len(data) and target.read_bytes() == data:
                self.stats.unchanged += 1
                return False
        except FileNotFoundError:
            pass
        parent = target.parent
        if parent not in self._made:
            parent.mkdir(parents=True, exist_ok=True)
            self._made.add(parent)
        atomic_write(target, data)
        self.stats.written += 1
        self.stats.paths.append(rel)
        return True

    def copy_tree(self, src: Path, rel_dir: str) -> None:
        for f in sorted(src.iterdir()):
            if f.is_file():
                self.write(f"{rel_dir}/{f.name}", f.read_bytes())


def atomic_write(target: Path, data: bytes) -> None:
    # A per-process temp name beside the target (same filesystem, so os.replace is atomic);
    # cheaper than mkstemp's random names, and two builds never share one.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        # The previous version of the page stays in place; only our temp file goes.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def load_state(root: Path) -> dict[str, Any] | None:
    try:
        return json.loads((root / STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def save_state(root: Path, state: dict[str, Any]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    atomic_write(root / STATE_FILE, json.dumps(state, sort_keys=True).encode("utf-8"))


def remove_stale(root: Path, keep: set[str], prefixes: tuple[str, ...]) -> int:
    """Delete pages under `prefixes` that the last full build did not produce (e.g. a
    listing-only paper renamed to its arXiv id)."""
    removed = 0
    for prefix in prefixes:
        d = root / prefix
        if not d.is_dir():
            continue
        for f in d.iterdir():
            rel = f"{prefix}/{f.name}"
            if f.is_file() and rel not in keep and not f.name.startswith("."):
                f.unlink()
                removed += 1
    return removed
