"""Profiles: what a reader follows, as `[[profiles]]` tables in papersift.toml.

    [[profiles]]
    name = "alice"                       # letters, digits, - and _: it names files and feeds
    keywords = ["diffusion", "world model"]
    authors = ["Yann LeCun"]
    negative_keywords = ["medical"]
    tags = ["cv", "rl"]                  # taxonomy tags (papersift.taxonomy)
    seed_papers = ["2502.02671"]         # arXiv ids (any pasted form)
    exclude = ["2502.00001"]             # papers never shown (the browser's "hide")
    library = "alice.bib"                # BibTeX, RIS, CSL-JSON or a Zotero JSON export
    min_score = 0.3
    max_papers = 20
    languages = ["ru", "en"]             # review language, first available wins; English last
    channels = ["alice@example.org", "tgram://${TG_TOKEN}/12345"]

`write_profile` adds or replaces one table with tomlkit, so the user's comments and other
settings stay as they were, and writes the file atomically.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import Settings, config_file
from ..errors import ConfigError, InputError
from ..ids import try_arxiv_id
from ..site.output import atomic_write
from ..taxonomy import TAGS
from .weights import DEFAULT_MAX_PAPERS, DEFAULT_MIN_SCORE

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
EXPORT_VERSION = 1  # the browser export's "papersift_profile" value (TEAM spec)


def _strings(v: Any) -> list[str]:
    out: list[str] = []
    for s in v or []:
        s = " ".join(str(s).split())
        if s and s not in out:
            out.append(s)
    return out


def _paper_id(text: str) -> str:
    return try_arxiv_id(text) or text.strip()


class Profile(BaseModel):
    """One reader's interests and where their digest goes."""

    model_config = ConfigDict(extra="forbid")

    name: str
    keywords: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    negative_keywords: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    seed_papers: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    library: str | None = None
    min_score: float = DEFAULT_MIN_SCORE
    max_papers: int = Field(DEFAULT_MAX_PAPERS, ge=1, le=500)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    channels: list[str] = Field(default_factory=list)
    feed: bool = True  # publish feeds/profile/<name>.{atom.xml,json}

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.fullmatch(v):
            raise ValueError("use 1-64 letters, digits, '-' or '_' (it names files and feeds)")
        return v

    @field_validator("keywords", "authors", "negative_keywords", "channels", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            raise ValueError("expected a list of strings, e.g. [\"a\", \"b\"]")
        return _strings(v)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            raise ValueError("expected a list of strings, e.g. [\"cv\"]")
        tags = [t.lower().lstrip("#") for t in _strings(v)]
        bad = [t for t in tags if t not in TAGS]
        if bad:
            raise ValueError(f"unknown tag(s) {', '.join(bad)}; known: {', '.join(TAGS)}")
        return tags

    @field_validator("seed_papers", "exclude", mode="before")
    @classmethod
    def _ids(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            raise ValueError("expected a list of paper ids, e.g. [\"2502.02671\"]")
        return _strings(_paper_id(str(s)) for s in v or [])

    @field_validator("languages", mode="before")
    @classmethod
    def _langs(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            v = [v]
        return [s.lower() for s in _strings(v)] or ["en"]

    def library_path(self, base: Path) -> Path | None:
        """The library file, relative paths taken from the config file's folder."""
        if not self.library:
            return None
        p = Path(self.library).expanduser()
        return p if p.is_absolute() else base / p

    def table(self) -> dict[str, Any]:
        """What write_profile stores: every set field, defaults left out."""
        return self.model_dump(exclude_defaults=True)


def _one_line(e: ValidationError) -> str:
    err = e.errors()[0]
    where = ".".join(str(x) for x in err["loc"]) or "table"
    return f"field '{where}': {err['msg']}"


def parse_profile(data: Any, where: str) -> Profile:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a profile must be a table")
    try:
        return Profile.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{where}: {_one_line(e)}") from e


def load_profiles(path: Path) -> list[Profile]:
    """The `[[profiles]]` of a papersift.toml (none when the file does not exist)."""
    if not path.exists():
        return []
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix the file") from e
    raw = doc.get("profiles", [])
    if not isinstance(raw, list):
        raise ConfigError(f"{path}: 'profiles' must be an array of tables: write [[profiles]]")
    out: list[Profile] = []
    for i, item in enumerate(raw, start=1):
        name = item.get("name", "?") if isinstance(item, dict) else "?"
        p = parse_profile(item, f"{path} [[profiles]] #{i} ({name})")
        if any(q.name == p.name for q in out):
            raise ConfigError(f"{path} [[profiles]] #{i}: a second profile named {p.name!r}; "
                              "names must be unique")
        out.append(p)
    return out


def find_profile(profiles: list[Profile], name: str, path: Path) -> Profile:
    for p in profiles:
        if p.name == name:
            return p
    known = ", ".join(p.name for p in profiles) or "none yet"
    raise InputError(f"no profile named {name!r} in {path} (profiles: {known}); "
                     "add one with `papersift profile add`")


def read_export(path: Path) -> Profile:
    """A profile from the "For you" page's export file (the TEAM spec's JSON object):
    liked -> seed papers, hidden -> excluded; unknown keys are ignored."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise InputError(f"{path}: file not found") from e
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a JSON file ({e}); export it again from the For you page") from e
    if not isinstance(data, dict) or "papersift_profile" not in data:
        raise InputError(f"{path}: not a papersift profile export (no 'papersift_profile' key)")
    if data["papersift_profile"] != EXPORT_VERSION:
        raise InputError(f"{path}: export version {data['papersift_profile']!r} is not supported "
                         f"(this papersift reads version {EXPORT_VERSION}); upgrade papersift")
    fields = {"name": str, "liked": list, "hidden": list, "keywords": list, "authors": list,
              "negative_keywords": list, "tags": list}
    for key, typ in fields.items():
        if key in data and not isinstance(data[key], typ):
            raise InputError(f"{path}: '{key}' must be a {'string' if typ is str else 'list'}, "
                             f"not {type(data[key]).__name__}")
        if typ is list and key in data and not all(isinstance(x, str) for x in data[key]):
            raise InputError(f"{path}: '{key}' must hold strings only")
    table = {"name": data.get("name") or path.stem, "seed_papers": data.get("liked", []),
             "exclude": data.get("hidden", []),
             **{k: data[k] for k in ("keywords", "authors", "negative_keywords", "tags") if k in data}}
    try:
        return Profile.model_validate(table)
    except ValidationError as e:
        raise InputError(f"{path}: {_one_line(e)}") from e


def write_profile(path: Path, profile: Profile, replace: bool = False) -> bool:
    """Add `profile` to the file's [[profiles]] (or replace the one of that name when
    `replace`); everything else in the file is kept as written. Returns True if replaced."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        doc = tomlkit.parse(text)
    except tomlkit.exceptions.ParseError as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix the file first") from e
    table = tomlkit.table()
    for k, v in profile.table().items():
        table[k] = v
    profiles = doc.get("profiles")
    if profiles is None:
        aot = tomlkit.aot()
        aot.append(table)
        doc["profiles"] = aot
        replaced = False
    else:
        if not isinstance(profiles, tomlkit.items.AoT):
            raise ConfigError(f"{path}: 'profiles' must be an array of tables: write [[profiles]]")
        at = next((i for i, t in enumerate(profiles) if t.get("name") == profile.name), None)
        if at is not None and not replace:
            raise InputError(f"{path}: a profile named {profile.name!r} exists; pass --replace "
                             "to overwrite it or choose another --name")
        if at is None:
            profiles.append(table)
        else:
            profiles[at] = table
        replaced = at is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, tomlkit.dumps(doc).encode("utf-8"))
    return replaced


def profiles_of(settings: Settings) -> tuple[list[Profile], Path, Path]:
    """(profiles, folder that relative library paths start from, the file) for settings."""
    path = settings.config_path or config_file()
    return load_profiles(path), path.resolve().parent, path
