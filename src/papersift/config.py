"""Settings: defaults, then papersift.toml, then PAPERSIFT_* environment variables.

Secrets (API keys) are read from the environment only and never printed: `Settings.public()`
is what logs and `papersift config` show.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError

from .errors import ConfigError

DEFAULT_LANGUAGES = ("en", "ru", "zh")  # what reviews are written in and pages offer

# Secret settings -> the environment variables they are read from, first found wins. Only
# the environment holds them (never papersift.toml); the API's search processes drop them all.
SECRET_ENV: dict[str, tuple[str, ...]] = {
    "api_key": ("PAPERSIFT_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"),
    "hf_token": ("PAPERSIFT_HF_TOKEN", "HF_TOKEN"),
    "github_token": ("PAPERSIFT_GITHUB_TOKEN", "GITHUB_TOKEN"),
    "smtp_user": ("PAPERSIFT_SMTP_USER",),
    "smtp_password": ("PAPERSIFT_SMTP_PASSWORD",),
}
SECRET_ENV_VARS = tuple(var for names in SECRET_ENV.values() for var in names)


class Settings(BaseModel):
    data_dir: Path = Path("papersift-data")
    db: str = ""  # SQLite path or database URL; default <data_dir>/papersift.db
    site_dir: Path = Path("site")
    site_url: str = "http://localhost:8000/"
    site_title: str = "papersift"
    foryou_days: int = Field(default=30, ge=0, le=3650)  # newest listed days on the For-you page
    languages: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGES))
    # enrichment
    provider: str = ""  # "" / "offline" / "openai" / "anthropic"
    model: str = ""
    base_url: str = ""  # OpenAI-compatible endpoint (vLLM, Ollama, DeepSeek, Mistral...)
    api_key: SecretStr | None = None
    concurrency: int = 8
    requests_per_minute: int = 0  # 0 = unlimited
    tokens_per_minute: int = 0
    request_timeout: float = 60.0
    # search
    embedder: str = "auto"  # auto / minilm / model2vec / none
    # sources
    hf_base_url: str = "https://huggingface.co"
    arxiv_base_url: str = "https://export.arxiv.org"
    hf_token: SecretStr | None = None
    # jobs: how long a writing command waits for another one on the same store (seconds)
    lock_timeout: float = Field(600.0, ge=0)
    # workers (PostgreSQL only): true, `papersift run` collects and enqueues the papers to
    # enrich and to image for `papersift worker` processes (any number, any machine); false,
    # it does the work itself, as it always does on SQLite
    workers: bool = True
    # seconds a worker's claim lasts unless renewed (a killed worker's come back after it)
    worker_lease: float = Field(120.0, gt=0, le=86400)
    # tries of one work item before it is failed for good, with its reason
    worker_max_attempts: int = Field(3, ge=1, le=100)
    # run: how many days back a run fills in days it missed (0: only the day asked for)
    backfill_days: int = Field(7, ge=0, le=366)
    # serve: seconds a client may take to send a request's headers (slower ones get 408)
    serve_header_timeout: float = Field(15.0, gt=0, le=3600)
    # images
    arxiv_web_url: str = "https://arxiv.org"  # where /pdf/<id> and /html/<id> are fetched
    card_image: Literal["title", "figure", "thumbnail", "none"] = "title"  # the one a card shows
    # code and linked resources (papersift links)
    github_api_url: str = "https://api.github.com"
    github_token: SecretStr | None = None  # optional: 5,000 requests an hour instead of 60
    links_max_age_hours: float = 24.0  # a paper's links are looked up again after this long
    # digests (digest/): the SMTP server; user and password come from the environment only
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls / ssl / none
    smtp_from: str = ""  # the From: address; default papersift@<smtp_host>
    smtp_timeout: float = 30.0
    smtp_user: SecretStr | None = None
    smtp_password: SecretStr | None = None
    # the papersift.toml these settings were read from (its [[profiles]] are read from it too)
    config_path: Path | None = Field(default=None, exclude=True)

    @property
    def db_target(self) -> str:
        return self.db or str(self.data_dir / "papersift.db")

    def public(self) -> dict[str, Any]:
        d = self.model_dump(mode="json")
        for k in SECRET_ENV:
            d[k] = "***" if getattr(self, k) else None
        return d


def config_file(config_path: Path | None = None) -> Path:
    """The papersift.toml a command reads: --config, else $PAPERSIFT_CONFIG, else ./papersift.toml."""
    return config_path or Path(os.environ.get("PAPERSIFT_CONFIG", "papersift.toml"))


def load_settings(config_path: Path | None = None, **overrides: Any) -> Settings:
    """Build settings from papersift.toml (if present), env vars and explicit overrides."""
    values: dict[str, Any] = {}
    path = config_file(config_path)
    if path.exists():
        try:
            values.update(tomllib.loads(path.read_text(encoding="utf-8")).get("papersift", {}))
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e}); fix the file or remove it") from e
    elif config_path is not None:
        raise ConfigError(f"{path}: config file not found")
    for name in Settings.model_fields:
        env = os.environ.get(f"PAPERSIFT_{name.upper()}")
        if env is not None and name not in SECRET_ENV:
            values[name] = env.split(",") if name == "languages" else env
    for name, keys in SECRET_ENV.items():
        for k in keys:
            if os.environ.get(k):
                values[name] = os.environ[k]
                break
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["config_path"] = path
    try:
        return Settings.model_validate(values)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise ConfigError(
            f"setting '{field}' ({path} [papersift] or PAPERSIFT_{field.upper()}): {err['msg']}"
        ) from e
