"""Where a digest goes: a profile's `channels` strings, parsed once.

- an e-mail address (optionally `mailto:` / `email:` before it): papersift's own SMTP
  sender, HTML + plain text (digest/smtp.py);
- anything else with `://`: an apprise URL (Telegram `tgram://`, Slack `slack://`, Discord,
  ntfy, Matrix, `json://`, `form://`, ...), sent as Markdown split within the service's
  message length (apprise knows each service's limit; `papersift-maxlen=N` in the URL's
  query lowers it and is removed before apprise sees the URL).

`${VAR}` in a channel is replaced from the environment, so bot tokens stay out of
papersift.toml. A channel's `label` (what the send log and every message show) never holds a
secret: the address for e-mail, the scheme and a hash of the unexpanded string otherwise.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import ConfigError

_EMAIL = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAXLEN_PARAM = "papersift-maxlen"


@dataclass(frozen=True)
class Channel:
    kind: str  # "email" or "apprise"
    target: str  # the address, or the expanded apprise URL (may hold secrets: never print it)
    label: str  # safe to print and to store
    max_length: int | None = None  # papersift-maxlen, when given


def _expand(spec: str, where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        v = os.environ.get(m.group(1))
        if v is None:
            raise ConfigError(f"{where}: channel uses ${{{m.group(1)}}} but that environment "
                              "variable is not set")
        return v
    return _VAR.sub(sub, spec)


def parse_channel(spec: str, where: str) -> Channel:
    s = spec.strip()
    low = s.lower()
    for prefix in ("mailto:", "email:"):
        if low.startswith(prefix) and "://" not in low:
            s = s[len(prefix):].strip()
            break
    if "://" not in s:
        if not _EMAIL.fullmatch(s):
            raise ConfigError(f"{where}: channel {spec!r} is neither an e-mail address nor an "
                              "apprise URL (e.g. tgram://TOKEN/CHAT_ID)")
        return Channel("email", s, f"email:{s}")
    scheme = s.split("://", 1)[0].lower()
    digest = hashlib.sha1(s.encode("utf-8")).hexdigest()[:10]
    url = _expand(s, where)
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    max_len = None
    kept = []
    for k, v in query:
        if k == MAXLEN_PARAM:
            if not v.isdigit() or int(v) < 200:
                raise ConfigError(f"{where}: {MAXLEN_PARAM}={v!r}: use a number of characters >= 200")
            max_len = int(v)
        else:
            kept.append((k, v))
    if max_len is not None:
        url = urlunsplit(parts._replace(query=urlencode(kept)))
    return Channel("apprise", url, f"{scheme}:{digest}", max_len)


def split_blocks(header: str, blocks: list[str], limit: int, sep: str = "\n\n") -> list[str]:
    """Messages of at most `limit` characters: the header, then as many whole blocks as fit;
    a block longer than a message on its own is cut at a line or word boundary."""
    limit = max(limit, 100)
    pieces: list[str] = []
    for b in blocks:
        while len(b) > limit:
            cut = b.rfind("\n", 0, limit)
            if cut < limit // 2:
                cut = b.rfind(" ", 0, limit)
            if cut < limit // 2:
                cut = limit - 1
            pieces.append(b[:cut].rstrip() + "…")
            b = b[cut:].lstrip()
        if b:
            pieces.append(b)
    out: list[str] = []
    cur = header[:limit]
    for p in pieces:
        if cur and len(cur) + len(sep) + len(p) > limit:
            out.append(cur)
            cur = p
        else:
            cur = f"{cur}{sep}{p}" if cur else p
    if cur:
        out.append(cur)
    return out
