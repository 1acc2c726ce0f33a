"""Reference-manager exports as library entries: BibTeX, RIS, CSL-JSON and Zotero's JSON
(the web API's items, or an array of their `data` objects).

An entry keeps only what matching and embedding need: title, abstract, DOI, arXiv id. The
format is taken from the extension, else sniffed from the first character. A file that
cannot be read is one InputError naming it; an entry without a title is skipped and counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FormatError, InputError
from ..ids import try_arxiv_id

FORMATS = ("bibtex", "ris", "csl-json", "zotero")
_DOI = re.compile(r"10\.\d{4,9}/\S+", re.IGNORECASE)
_ARXIV_HINT = re.compile(r"(?:arxiv[:\s./]*(?:abs/)?|arxiv\.org/(?:abs|pdf)/)\s*([\w.\-/]+\d)", re.IGNORECASE)


@dataclass(frozen=True)
class LibraryEntry:
    title: str
    abstract: str = ""
    doi: str | None = None  # lower case
    arxiv_id: str | None = None


@dataclass
class Library:
    entries: list[LibraryEntry]
    format: str
    skipped: int = 0  # entries without a title


def _doi(v: Any) -> str | None:
    m = _DOI.search(str(v or ""))
    return m.group(0).rstrip(".,;}").lower() if m else None


def _arxiv(*texts: Any) -> str | None:
    for t in texts:
        if not t:
            continue
        s = str(t)
        aid = try_arxiv_id(s)
        if aid:
            return aid
        for m in _ARXIV_HINT.finditer(s):
            aid = try_arxiv_id(m.group(1))
            if aid:
                return aid
        if "10.48550/arxiv." in s.lower():  # arXiv's own DOIs
            aid = try_arxiv_id(s.lower().split("10.48550/arxiv.", 1)[1].split()[0])
            if aid:
                return aid
    return None


def _entry(title: Any, abstract: Any = "", doi: Any = None, *arxiv_hints: Any) -> LibraryEntry | None:
    t = " ".join(str(title or "").split())
    if not t:
        return None
    d = _doi(doi)
    return LibraryEntry(title=t, abstract=" ".join(str(abstract or "").split()), doi=d,
                        arxiv_id=_arxiv(*arxiv_hints, d))


# -- BibTeX ---------------------------------------------------------------------------------

def _bib_value(s: str, i: int) -> tuple[str, int]:
    """The value starting at s[i] ({...}, "..." or a bare word/number) and where it ends."""
    if s[i] == "{":
        depth, j = 0, i
        while j < len(s):
            if s[j] == "{":
                depth += 1
            elif s[j] == "}":
                depth -= 1
                if depth == 0:
                    return s[i + 1:j], j + 1
            j += 1
        raise ValueError("unbalanced braces")
    if s[i] == '"':
        j, depth = i + 1, 0
        while j < len(s):
            if s[j] == "{":
                depth += 1
            elif s[j] == "}":
                depth -= 1
            elif s[j] == '"' and depth == 0:
                return s[i + 1:j], j + 1
            j += 1
        raise ValueError("unterminated quote")
    m = re.compile(r"[^,}\s]+").match(s, i)
    return (m.group(0), m.end()) if m else ("", i)


def _bib_clean(v: str) -> str:
    v = re.sub(r"\\[a-zA-Z]+\s*\{([^{}]*)\}", r"\1", v)  # \emph{x} -> x
    return v.replace("{", "").replace("}", "").replace("\\&", "&").replace("~", " ")


def parse_bibtex(text: str) -> list[dict[str, str]]:
    records: list[dict[str, str]] = []
    for m in re.finditer(r"@\s*(\w+)\s*[{(]", text):
        kind = m.group(1).lower()
        if kind in ("comment", "preamble", "string"):
            continue
        i = text.find(",", m.end())
        if i < 0:
            break
        fields: dict[str, str] = {}
        field_re = re.compile(r"\s*([\w\-:.]+)\s*=\s*")
        i += 1
        while i < len(text):
            while i < len(text) and text[i] in " \t\r\n,":
                i += 1
            if i >= len(text) or text[i] in "})@":
                break
            fm = field_re.match(text, i)
            if not fm:
                break
            parts, j = [], fm.end()
            while True:  # "a" # "b" concatenation
                val, j = _bib_value(text, j)
                parts.append(val)
                k = j
                while k < len(text) and text[k] in " \t\r\n":
                    k += 1
                if k < len(text) and text[k] == "#":
                    j = k + 1
                    while j < len(text) and text[j] in " \t\r\n":
                        j += 1
                    continue
                break
            fields[fm.group(1).lower()] = _bib_clean("".join(parts))
            i = j
        records.append(fields)
    return records


def _from_bibtex(text: str) -> list[LibraryEntry | None]:
    return [_entry(f.get("title"), f.get("abstract"), f.get("doi"), f.get("eprint"),
                   f.get("arxivid"), f.get("url"), f.get("journal"), f.get("note"))
            for f in parse_bibtex(text)]


# -- RIS ------------------------------------------------------------------------------------

def _first(rec: dict[str, list[str]], *tags: str) -> str:
    return next((rec[t][0] for t in tags if rec.get(t)), "")


def _from_ris(text: str) -> list[LibraryEntry | None]:
    out: list[LibraryEntry | None] = []
    cur: dict[str, list[str]] = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Z][A-Z0-9])  -\s?(.*)$", line)
        if not m:
            continue
        tag, val = m.group(1), m.group(2).strip()
        if tag == "TY":
            cur = {}
        elif tag == "ER":
            out.append(_entry(_first(cur, "TI", "T1", "CT"), _first(cur, "AB", "N2"), _first(cur, "DO"),
                              *cur.get("UR", []), _first(cur, "JO", "T2", "JF"), *cur.get("N1", [])))
            cur = {}
        else:
            cur.setdefault(tag, []).append(val)
    return out


# -- CSL-JSON and Zotero --------------------------------------------------------------------

def _from_json(data: Any) -> tuple[str, list[LibraryEntry | None]]:
    items = data.get("items", data) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise ValueError("expected a JSON array of items")
    out: list[LibraryEntry | None] = []
    fmt = "csl-json"
    for it in items:
        if not isinstance(it, dict):
            continue
        if isinstance(it.get("data"), dict) or "itemType" in it:  # Zotero web API / its data
            fmt = "zotero"
            d = it.get("data", it)
            out.append(_entry(d.get("title"), d.get("abstractNote"), d.get("DOI") or d.get("extra"),
                              d.get("archiveID"), d.get("url"), d.get("extra"),
                              d.get("publicationTitle")))
        else:  # CSL-JSON
            out.append(_entry(it.get("title"), it.get("abstract"), it.get("DOI"), it.get("URL"),
                              it.get("number"), it.get("container-title"), it.get("note")))
    return fmt, out


def read_library(path: Path) -> Library:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as e:
        raise InputError(f"library file {path}: not found; fix the profile's 'library'") from e
    except UnicodeDecodeError as e:
        raise FormatError(f"library file {path}: not UTF-8 text ({e})") from e
    ext = path.suffix.lower()
    head = text.lstrip()[:1]
    try:
        if ext in (".bib", ".bibtex") or (ext not in (".ris", ".json") and head == "@"):
            fmt, raw = "bibtex", _from_bibtex(text)
        elif ext == ".ris" or (ext != ".json" and text.lstrip().startswith("TY  -")):
            fmt, raw = "ris", _from_ris(text)
        elif ext == ".json" or head in "[{":
            fmt, raw = _from_json(json.loads(text))
        else:
            raise ValueError("unknown format")
    except ValueError as e:
        raise FormatError(f"library file {path}: cannot read it ({e}); export BibTeX (.bib), "
                          "RIS (.ris), CSL-JSON or Zotero JSON (.json)") from e
    entries = [e for e in raw if e is not None]
    return Library(entries, fmt, skipped=len(raw) - len(entries))
