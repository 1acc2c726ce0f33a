"""The one HTTP client every collector uses, and the retry rules the LLM client shares.

Remote APIs fail in a handful of ways, and each has one right answer, decided here once:

- 5xx, timeouts, dropped connections, truncated or unparsable bodies: retry with exponential
  backoff plus jitter (jitter so that several cron jobs do not retry in lockstep);
- 429: wait what the server asked for (`Retry-After`, else the IETF `RateLimit` header's
  `t=` reset, else the `RateLimit-Policy` window) and try again;
- a response that says the quota is used up (`RateLimit: ...;r=0;t=N`, or GitHub's
  `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset`) pauses that host before the next
  request instead of earning a 429;
- GitHub answers a spent quota with 403 (primary: `X-RateLimit-Remaining: 0`; secondary:
  `Retry-After`): that 403 is a rate limit like a 429, not a refusal;
- other 4xx: fail at once (retrying a 404 or a 401 cannot help);
- every host can have a minimum interval between requests (arXiv asks for one per 3 s).

After the last attempt the caller gets an HttpError whose message is one line: the URL,
what went wrong, how many attempts were made and what to do.

`RetryPolicy` (how many tries, how long between them) and `server_wait` (what the server
asked for) are also what enrich/llm.py applies to model requests.
"""

from __future__ import annotations

import email.utils
import json
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from .errors import HttpError, PapersiftError

T = TypeVar("T")

USER_AGENT = "papersift/0.1 (+https://github.com/papersift/papersift)"


class BadBody(PapersiftError, ValueError):
    """The body arrived but cannot be used (truncated, not JSON/XML): worth another try."""


@dataclass
class RetryPolicy:
    """How often, and how far apart, a request that may succeed later is tried again."""

    attempts: int = 4  # total tries, including the first
    backoff: float = 1.0  # first backoff in seconds; doubles each try
    max_backoff: float = 30.0
    jitter: float = 0.25  # +- fraction of the backoff, randomised
    max_wait: float = 600.0  # longest server-requested wait we accept before giving up

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number `attempt` (1 = the first try)."""
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return max(0.0, base * (1 + random.uniform(-self.jitter, self.jitter)))


@dataclass
class HttpClient:
    """httpx.Client + timeouts, retries, rate limits and per-host pacing. Thread-safe."""

    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # host -> minimum seconds between the start of two requests to it
    min_interval: dict[str, float] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    # Called with (url, attempt, reason, wait_seconds) before each retry; the CLI shows it.
    on_retry: Callable[[str, int, str, float], None] | None = None

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            headers={"User-Agent": USER_AGENT, **self.headers},
            follow_redirects=True,
        )
        self._lock = threading.Lock()
        self._next_ok: dict[str, float] = {}  # host -> monotonic time of the next allowed start
        self.requests = 0  # requests actually sent (for summaries and tests)
        self.retries = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public -----------------------------------------------------------------------

    def get_json(self, url: str, params: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None) -> Any:
        """GET and decode JSON; an invalid or truncated body is retried like a 5xx."""
        return self.get(url, params, parse=_parse_json, headers=headers)

    def get(self, url: str, params: Mapping[str, Any] | None = None, *,
            parse: Callable[[httpx.Response], T],
            headers: Mapping[str, str] | None = None) -> T:
        """GET `url`, retrying what is worth retrying, and return `parse(response)`.

        `parse` may raise BadBody to ask for another attempt (e.g. an empty page that the
        server's own counts say cannot be empty).
        """
        host = urlsplit(url).netloc
        policy = self.retry
        shown = _show(url, params)
        last = ""
        for attempt in range(1, policy.attempts + 1):
            self._pace(host)
            wait: float | None = None
            try:
                self.requests += 1
                try:
                    resp = self._client.get(url, params=params, headers=headers)
                finally:
                    self._finished(host)
                self._note_quota(host, resp.headers)
                if resp.status_code == 429 or (resp.status_code == 403 and _quota_spent(resp.headers)):
                    wait = server_wait(resp.headers)
                    last = f"HTTP {resp.status_code} rate limited"
                    if wait is not None and wait > policy.max_wait:
                        raise HttpError(
                            f"GET {shown}: rate limited, server asks to wait {wait:.0f}s "
                            f"(more than {policy.max_wait:.0f}s); try later or set a token",
                            url, 429)
                elif resp.status_code >= 500:
                    last = f"HTTP {resp.status_code} {resp.reason_phrase}".strip()
                    wait = server_wait(resp.headers) if resp.status_code == 503 else None
                elif resp.status_code >= 400:
                    raise HttpError(
                        f"GET {shown}: HTTP {resp.status_code} {resp.reason_phrase}"
                        f"{_hint(resp.status_code)}", url, resp.status_code)
                else:
                    return parse(resp)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout:g}s"
            except httpx.TransportError as e:
                # Connection refused/reset, or a body cut short of its Content-Length.
                last = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            except BadBody as e:
                last = f"bad response body ({e})"
            if attempt == policy.attempts:
                break
            if wait is None:
                wait = policy.delay(attempt)
            self.retries += 1
            if self.on_retry:
                self.on_retry(shown, attempt, last, wait)
            self.sleep(wait)
        raise HttpError(
            f"GET {shown} failed after {policy.attempts} attempts: {last}; "
            "check the network or the service status and re-run (collected data is kept)",
            url)

    # -- pacing -----------------------------------------------------------------------

    def _pace(self, host: str) -> None:
        """Wait until `host` may be asked again, then book the next slot."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_ok.get(host, 0.0))
            self._next_ok[host] = start + self.min_interval.get(host, 0.0)
        if start > now:
            self.sleep(start - now)

    def _finished(self, host: str) -> None:
        """Count the interval from the end of a request too: the server sees the gap
        between arrivals, and a slow request must not let the next one in early."""
        interval = self.min_interval.get(host, 0.0)
        if interval:
            with self._lock:
                self._next_ok[host] = max(self._next_ok.get(host, 0.0), time.monotonic() + interval)

    def _note_quota(self, host: str, headers: httpx.Headers) -> None:
        """When the server says the window's quota is spent, hold off until it resets."""
        limit = parse_ratelimit(headers.get("ratelimit", ""))
        wait = limit["t"] if limit and limit.get("r") == 0 and limit.get("t") else _reset_wait(headers)
        if wait:
            with self._lock:
                until = time.monotonic() + min(wait, self.retry.max_wait)
                self._next_ok[host] = max(self._next_ok.get(host, 0.0), until)


def _parse_json(resp: httpx.Response) -> Any:
    try:
        return json.loads(resp.content)
    except (ValueError, UnicodeDecodeError) as e:
        raise BadBody(f"not valid JSON: {e}") from None


def parse_ratelimit(value: str) -> dict[str, int] | None:
    """`"api";r=0;t=120` (IETF draft v9, as Hugging Face sends it) -> {"r": 0, "t": 120}.

    Several policies may be listed, comma-separated; the most restrictive one wins.
    """
    if not value:
        return None
    best: dict[str, int] | None = None
    for item in value.split(","):
        params: dict[str, int] = {}
        for part in item.split(";")[1:]:
            k, _, v = part.strip().partition("=")
            try:
                params[k.strip().lower()] = int(float(v.strip().strip('"')))
            except ValueError:
                continue
        if ("r" in params or "t" in params) and (
                best is None or (params.get("r", 1) == 0 and params.get("t", 0) > best.get("t", 0))):
            best = params
    return best


def _reset_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds until GitHub's quota resets when it is spent (`X-RateLimit-Remaining: 0`,
    `X-RateLimit-Reset`: epoch seconds), else None."""
    if (headers.get("x-ratelimit-remaining") or "").strip() != "0":
        return None
    try:
        return max(0.0, float(headers.get("x-ratelimit-reset") or "") - time.time())
    except ValueError:
        return None


def _quota_spent(headers: Mapping[str, str]) -> bool:
    """A 403 that is GitHub's rate limit (primary or secondary), not a refusal."""
    return (headers.get("x-ratelimit-remaining") or "").strip() == "0" or bool(headers.get("retry-after"))


def _policy_window(value: str) -> int | None:
    """`"fixed window";"api";q=500;w=300` -> 300 (the longest wait a window can need)."""
    m = re.search(r";\s*w\s*=\s*(\d+)", value or "")
    return int(m.group(1)) if m else None


def server_wait(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked us to wait (None: it did not say): `retry-after-ms` (OpenAI
    sends it), `Retry-After` (seconds or an HTTP date), else the RateLimit header's `t=`
    reset, else GitHub's X-RateLimit-Reset (when the quota is spent), else the
    RateLimit-Policy window. `headers` is httpx.Headers (any
    case, as both clients get them) or a mapping with lower-case names."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass  # unreadable: fall back to Retry-After
    ra = headers.get("retry-after")
    if ra:
        ra = ra.strip()
        if re.fullmatch(r"\d+(\.\d+)?", ra):
            return float(ra)
        try:
            when = email.utils.parsedate_to_datetime(ra)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            pass  # unreadable: fall back to the RateLimit headers or our own backoff
    limit = parse_ratelimit(headers.get("ratelimit", ""))
    if limit and limit.get("t") is not None:
        return float(limit["t"])
    reset = _reset_wait(headers)
    if reset is not None:
        return reset
    window = _policy_window(headers.get("ratelimit-policy", ""))
    return float(window) if window is not None else None


def _hint(status: int) -> str:
    return {
        401: " (check the token: HF_TOKEN / PAPERSIFT_HF_TOKEN)",
        403: " (access denied; check the token and the URL)",
        404: " (not found; check the id or date)",
    }.get(status, "")


def _show(url: str, params: Mapping[str, Any] | None) -> str:
    """The URL as the user would paste it (for error messages)."""
    if not params:
        return url
    return str(httpx.URL(url, params={k: str(v) for k, v in params.items()}))
