"""Writing the site. Incremental builds write each file atomically (temp file + os.replace)
and only when its bytes changed, so a crash never leaves a half-written page and an unchanged
page keeps its mtime. Full builds write plain files into a fresh directory beside the site
and swap it in at the end (swap_in), so the per-file temp/rename/compare is not needed: the
new site appears whole or not at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

STATE_FILE = ".papersift-build.json"


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    rendered: int = 0
    removed: int = 0
    paths: list[str] = field(default_factory=list)  # written, relative


class SiteWriter:
    """Writes files under one root; never outside it."""

    def __init__(self, root: Path, fresh: bool = False):
        """fresh: root is a new, private directory (a full build's): files are written
        directly, without comparing or a temp file each."""
        self.root = root.resolve()
        self.fresh = fresh
        self.stats = WriteStats()
        self._made: set[Path] = set()
        self._root_s = str(self.root)
        self._made_s: set[str] = set()  # parents made, as strings (fresh mode)

    def path(self, rel: str) -> Path:
        p = (self.root / rel).resolve()
        if p != self.root and self.root not in p.parents:
            raise ValueError(f"refusing to write outside the site dir: {rel!r}")
        return p

    def write(self, rel: str, content: str | bytes) -> bool:
        """Write `content` at `rel` unless the file already holds exactly it."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        self.stats.rendered += 1
        if self.fresh:
            # A fresh private directory holds no symlinks: a string check keeps `rel` inside
            # it without resolve()'s lstat of every path component, and plain strings skip
            # pathlib's per-path objects (90k pages a build).
            norm = os.path.normpath(rel)
            if norm.startswith(("..", "/")) or os.path.isabs(norm):
                raise ValueError(f"refusing to write outside the site dir: {rel!r}")
            target = f"{self._root_s}/{norm}"
            parent = target.rpartition("/")[0]
            if parent not in self._made_s:
                os.makedirs(parent, exist_ok=True)
                self._made_s.add(parent)
            _write_new(target, data)
            return self._written(rel)
        path = self.path(rel)
        try:
            if path.stat().st_size == len(data) and path.read_bytes() == data:
                self.stats.unchanged += 1
                return False
        except FileNotFoundError:
            pass
        self._make_parent(path)
        atomic_write(path, data)
        return self._written(rel)

    def remove(self, rel: str) -> bool:
        """Delete the file at `rel` (a page whose paper is gone); False if there was none."""
        try:
            self.path(rel).unlink()
        except FileNotFoundError:
            return False
        self.stats.removed += 1
        return True

    def _make_parent(self, target: Path) -> None:
        parent = target.parent
        if parent not in self._made:
            parent.mkdir(parents=True, exist_ok=True)
            self._made.add(parent)

    def _written(self, rel: str) -> bool:
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
        _write_fd(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), data)
        os.replace(tmp, target)
    except BaseException:
        # The previous version of the page stays in place; only our temp file goes.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _write_new(target: str | Path, data: bytes) -> None:
    _write_fd(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), data)


def _write_fd(fd: int, data: bytes) -> None:
    """Write all of `data` to an open descriptor (os.write may write less), then close it."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def fresh_dir(site: Path) -> Path:
    """A new empty directory beside `site` (same filesystem, so it can be renamed into place)."""
    site = site.resolve()
    site.parent.mkdir(parents=True, exist_ok=True)
    tmp = site.parent / f".{site.name}.new-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)  # left over from a crashed build of this pid
    tmp.mkdir()
    return tmp


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the filesystem cannot; fall back
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(new: Path, site: Path) -> None:
    """Put the freshly built directory `new` at `site`: one atomic exchange where the OS
    supports it (readers see the old site or the new one, never neither), else two renames.
    The old site is deleted afterwards."""
    site = site.resolve()
    if not site.exists():
        os.replace(new, site)
        return
    if _exchange(new, site):
        old = new  # after the exchange `new` holds the previous site
    else:
        old = site.parent / f".{site.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(site, old)
        os.replace(new, site)
    shutil.rmtree(old, ignore_errors=True)


def check_replaceable(site: Path) -> None:
    """A full build replaces the whole directory: refuse one papersift did not build."""
    if site.is_dir() and not (site / STATE_FILE).exists() and any(site.iterdir()):
        raise FileExistsError(f"{site}: not empty and not a papersift site (no {STATE_FILE}); "
                              "empty it or choose another site directory")


def load_state(root: Path) -> dict[str, Any] | None:
    try:
        return orjson.loads((root / STATE_FILE).read_bytes())
    except (FileNotFoundError, ValueError):  # orjson.JSONDecodeError is a ValueError
        return None


def save_state(root: Path, state: dict[str, Any]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    # orjson: the state lists every paper page and its similar papers (megabytes at 89k papers),
    # read and written by every incremental build.
    atomic_write(root / STATE_FILE, orjson.dumps(state, option=orjson.OPT_SORT_KEYS))
