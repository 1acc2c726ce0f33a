"""The papers' images on the site: which stored images pages show, and their files copied
into `<site>/img/`.

Files in the data dir have content-addressed names that never change meaning, so the site
hard-links them where it can (no bytes copied) and copies them otherwise; an incremental
build adds only files it does not have yet and removes those no page shows any more. A page
only ever points at a file that is in the site (its `src` is relative: works from file://).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store.base import ImageReader, ImageRecord

IMG_DIR = "img"
PAGE_KINDS = ("title", "figure")  # what a paper page shows, whatever the card shows


def _view(rec: ImageRecord) -> dict[str, Any]:
    return {"file": rec.file, "w": rec.width, "h": rec.height, "bytes": rec.bytes,
            "caption": rec.caption}


@dataclass
class SiteImages:
    """The images a build shows: paper id -> kind -> view (file, size, caption)."""

    card_kind: str  # "title" | "figure" | "thumbnail" | "none"
    views: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    source: Path | None = None

    @classmethod
    def load(cls, store: ImageReader, images_dir: Path, card_kind: str) -> SiteImages:
        """Every stored image whose file exists in `images_dir` and that some page shows."""
        out = cls(card_kind, source=Path(images_dir))
        try:
            present = set(os.listdir(images_dir))
        except FileNotFoundError:
            return out
        kinds = set(PAGE_KINDS) | {card_kind}
        for pid, recs in store.get_images().items():
            mine = {k: _view(r) for k, r in recs.items() if k in kinds and r.file in present}
            if mine:
                out.views[pid] = mine
                out.files.update(v["file"] for v in mine.values())
        return out

    def attach(self, card: dict[str, Any]) -> None:
        """Put the card's image (`card_img`) and the paper page's (`images`) on a card."""
        mine = self.views.get(card["id"])
        if mine:
            card["images"] = mine
            # a paper without the chosen kind shows its title image rather than nothing
            card["card_img"] = (None if self.card_kind == "none"
                                else mine.get(self.card_kind) or mine.get("title"))

    def copy_into(self, site_dir: Path, prune: bool = False) -> tuple[int, int]:
        """Make `<site_dir>/img/` hold every shown file (only the missing ones are copied);
        with `prune`, remove the files no page shows. Returns (added, removed)."""
        dst = Path(site_dir) / IMG_DIR
        if not self.files and not dst.exists():
            return 0, 0
        dst.mkdir(parents=True, exist_ok=True)
        have = set(os.listdir(dst))
        added = removed = 0
        assert self.source is not None
        for name in sorted(self.files - have):
            _place(self.source / name, dst / name)
            added += 1
        if prune:
            for name in sorted(have - self.files):
                if name.endswith(".webp"):
                    (dst / name).unlink(missing_ok=True)
                    removed += 1
        return added, removed


def _place(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)  # same bytes forever (content-addressed name): sharing is safe
        return
    except FileExistsError:
        return
    except OSError:
        pass  # another file system, or links not allowed: copy
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=".tmp-")
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
