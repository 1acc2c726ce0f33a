"""What importers yield: good records, day blocks, and one-line errors.

A parser never raises on one bad record: it yields a BadRecord naming file:line and the
field, and goes on, so the good records of the same file are kept. (BadRecord is a report,
not an exception; `papersift.errors.RecordError` is the exception a collector raises.)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..errors import FormatError as FormatError  # raised by the importers that use Record
from ..model import Enrichment, Paper, Reading


@dataclass
class Record:
    """One paper as a source gave it, plus what hangs on it."""

    paper: Paper
    ref: str  # file:line
    # An enrichment the source carried (HFday); its paper_id is set once the store has
    # decided the paper's id (a listing paper may merge into an arXiv one).
    enrichment: Enrichment | None = None
    day: dt.date | None = None  # the HF Daily Papers day this record lists the paper on
    fp: int | None = None  # 64-bit fingerprint of the raw record (one-record-per-line formats)
    # The store's prepare_papers() of `paper`, computed on the import's reader thread.
    prepared: Any = None


@dataclass
class Skipped:
    """Raw records the caller said were imported before: not parsed again."""

    count: int


@dataclass
class DayInfo:
    """Something a source says about a whole day (HFday issues)."""

    day: dt.date
    source: str
    reading: Reading | None = None
    ref: str = ""


@dataclass
class BadRecord:
    """A record that could not be read: where, which field, what to do."""

    ref: str  # file:line
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.ref}: field '{self.field}': {self.message}"


def validation_error(ref: str, e: ValidationError) -> BadRecord:
    """A pydantic error as a BadRecord naming the field (model-level checks such as the
    arXiv id say the field first in their message: 'arxiv_id ... is not an arXiv id')."""
    err = e.errors()[0]
    msg = str(err["msg"]).removeprefix("Value error, ")
    field = ".".join(str(x) for x in err["loc"])
    if not field:
        first = msg.split(" ", 1)[0]
        field = first if first in Paper.model_fields else "record"
    return BadRecord(ref, field, f"{msg}; fix or remove this record")


def strings(v: Any) -> list[str]:
    """The strings of a list a source gave; anything else (a damaged field) is no strings."""
    return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []
