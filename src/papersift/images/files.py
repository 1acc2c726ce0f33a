"""Image files in the data dir: one folder, names made of the paper id, the kind and the
content hash, so a file is never rewritten in place (the site can hard-link it) and a name
in the store always means the same bytes."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from ..ids import slug


class ImageFiles:
    def __init__(self, root: Path):
        self.root = Path(root)

    def name(self, paper_id: str, kind: str, digest: str) -> str:
        return f"{slug(paper_id)}.{kind}.{digest[:16]}.webp"

    def put(self, paper_id: str, kind: str, data: bytes) -> tuple[str, str]:
        """Store `data`; returns (file name, sha256). Atomic: temp file + rename."""
        digest = hashlib.sha256(data).hexdigest()
        name = self.name(paper_id, kind, digest)
        path = self.root / name
        if not path.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=".webp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return name, digest

    def path(self, name: str) -> Path:
        return self.root / name

    def exists(self, name: str) -> bool:
        return bool(name) and (self.root / name).is_file()

    def remove(self, name: str) -> None:
        if name:
            (self.root / name).unlink(missing_ok=True)
