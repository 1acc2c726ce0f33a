"""What the archive's two directions share: its format marker, the manifest's name, the
columns of an archived paper line and the report both return."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..model import Paper

# Paper columns of an archived paper line (store/sqlite COLUMNS: id, the fields, num_authors).
PAPER_KEYS = ("id",) + tuple(f for f in Paper.model_fields if f not in ("id", "sources"))

FORMAT = "papersift-archive"
VERSION = 1
MANIFEST = "manifest.json"
Progress = Callable[[str, int, int], None]


@dataclass
class ArchiveReport:
    direction: str  # "export" or "import"
    path: Path
    counts: dict[str, int] = field(default_factory=dict)  # per table
    files_written: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        c = ", ".join(f"{v} {k}" for k, v in self.counts.items())
        if self.direction == "export":
            return (f"export: {c} -> {self.path} ({self.files_written} files written, "
                    f"{self.files_unchanged} unchanged, {self.files_removed} removed)")
        return (f"import: {self.path}: added {c}; {len(self.errors)} bad lines skipped"
                if self.errors else f"import: {self.path}: added {c}")
