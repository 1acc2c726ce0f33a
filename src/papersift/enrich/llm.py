"""LLM providers through the official SDKs, with our own retries and rate limiting.

The SDKs' built-in retries are off (max_retries=0) so that Retry-After, backoff and the
number of calls are ours to control, count and test. One `LLM.complete()` is one logical
request; `calls` counts every HTTP attempt that reached the server.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings

# USD per million (input, output) tokens; used only to print an estimate. Unknown models
# cost 0 and the summary says the price is unknown.
PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00), "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00), "gpt-4.1-nano": (0.10, 0.40), "gpt-5-mini": (0.25, 2.00),
    "gpt-5": (1.25, 10.00), "deepseek-chat": (0.27, 1.10), "mistral-small-latest": (0.10, 0.30),
    "claude-3-5-haiku": (0.80, 4.00), "claude-3-5-sonnet": (3.00, 15.00),
    "claude-sonnet-4": (3.00, 15.00), "claude-haiku-4-5": (1.00, 5.00),
}


def price_for(model: str) -> tuple[float, float] | None:
    """Longest known prefix of `model` (dated snapshots share their family's price)."""
    best = None
    for name, price in PRICES.items():
        if model.startswith(name) and (best is None or len(name) > len(best[0])):
            best = (name, price)
    return best[1] if best else None


def estimate_cost(model: str, input_tokens: int, output_tokens: int) -> float:
    p = price_for(model)
    return 0.0 if p is None else (input_tokens * p[0] + output_tokens * p[1]) / 1e6


class LLMError(RuntimeError):
    """A request that failed for good (after retries, or not retryable)."""

    def __init__(self, message: str, calls: int = 0):
        super().__init__(message)
        self.calls = calls  # HTTP attempts spent on it (they may still be billed)


@dataclass
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    truncated: bool = False  # the model stopped at max tokens: the JSON is cut off
    calls: int = 1


@dataclass
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 1.0  # first backoff; doubles each time, with jitter
    max_delay: float = 60.0

    def backoff(self, attempt: int) -> float:
        d = min(self.max_delay, self.base_delay * (2 ** attempt))
        return d * (0.75 + 0.5 * random.random())


class RateLimiter:
    """Sliding one-minute windows for requests and tokens; 0 means unlimited."""

    def __init__(self, requests_per_minute: int = 0, tokens_per_minute: int = 0):
        self.rpm, self.tpm = requests_per_minute, tokens_per_minute
        self._req: deque[float] = deque()
        self._tok: deque[tuple[float, int]] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> None:
        if not self.rpm and not self.tpm:
            return
        async with self._lock:  # FIFO: waiters are served in order
            while True:
                now = time.monotonic()
                while self._req and now - self._req[0] >= 60:
                    self._req.popleft()
                while self._tok and now - self._tok[0][0] >= 60:
                    self._tok.popleft()
                waits = [0.0]
                if self.rpm and len(self._req) >= self.rpm:
                    waits.append(60 - (now - self._req[0]))
                used = sum(n for _, n in self._tok)
                if self.tpm and self._tok and used + tokens > self.tpm:
                    waits.append(60 - (now - self._tok[0][0]))
                wait = max(waits)
                if wait <= 0:
                    self._req.append(now)
                    self._tok.append((now, tokens))
                    return
                await asyncio.sleep(wait)


def _retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), if any."""
    if headers is None:
        return None
    raw = headers.get("retry-after-ms")
    if raw:
        try:
            return float(raw) / 1000
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


@dataclass
class LLM:
    """One provider + model. `complete()` sends a conversation and returns the text."""

    provider: str  # "openai" (any OpenAI-compatible endpoint) or "anthropic"
    model: str
    client: Any
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    structured: bool = True  # send the JSON schema; switched off if the server rejects it
    max_tokens: int = 2500

    async def complete(self, system: str, messages: list[dict[str, str]],
                       schema: dict[str, Any] | None = None, name: str = "answer") -> Completion:
        est = (len(system) + sum(len(m["content"]) for m in messages)) // 3 + self.max_tokens
        calls = 0
        last: Exception | None = None
        for attempt in range(self.retry.attempts):
            await self.limiter.acquire(est)
            calls += 1
            try:
                out = await self._send(system, messages, schema if self.structured else None, name)
                out.calls = calls
                return out
            except Exception as e:  # classified below; anything unknown is not retried
                last = e
                kind, delay = self._classify(e, attempt)
                if kind == "schema":
                    # The endpoint does not do structured output: ask for JSON in text.
                    self.structured = False
                    continue
                if kind == "fatal" or attempt == self.retry.attempts - 1:
                    break
                await asyncio.sleep(delay)
        raise LLMError(f"{type(last).__name__}: {str(last)[:200]} (after {calls} call(s))", calls)

    def _classify(self, e: Exception, attempt: int) -> tuple[str, float]:
        status = getattr(e, "status_code", None)
        name = type(e).__name__
        if status == 429:
            ra = _retry_after(getattr(getattr(e, "response", None), "headers", None))
            return "retry", ra if ra is not None else self.retry.backoff(attempt)
        if status is not None and status >= 500:
            ra = _retry_after(getattr(getattr(e, "response", None), "headers", None))
            return "retry", ra if ra is not None else self.retry.backoff(attempt)
        if status in (400, 422) and self.structured and _mentions_format(e):
            return "schema", 0.0
        if status is None and name in ("APITimeoutError", "APIConnectionError"):
            return "retry", self.retry.backoff(attempt)
        return "fatal", 0.0

    async def _send(self, system: str, messages: list[dict[str, str]],
                    schema: dict[str, Any] | None, name: str) -> Completion:
        if self.provider == "anthropic":
            kw: dict[str, Any] = {}
            if schema is not None:
                kw["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
            r = await self.client.messages.create(model=self.model, max_tokens=self.max_tokens,
                                                  system=system, messages=messages, **kw)
            text = "".join(getattr(b, "text", "") for b in r.content)
            return Completion(text, r.usage.input_tokens, r.usage.output_tokens,
                              truncated=r.stop_reason == "max_tokens")
        kw = {}
        if schema is not None:
            kw["response_format"] = {"type": "json_schema",
                                     "json_schema": {"name": name, "schema": schema, "strict": True}}
        r = await self.client.chat.completions.create(
            model=self.model, messages=[{"role": "system", "content": system}, *messages],
            max_tokens=self.max_tokens, temperature=0.3, **kw)
        choice = r.choices[0]
        u = r.usage
        return Completion(choice.message.content or "", getattr(u, "prompt_tokens", 0) or 0,
                          getattr(u, "completion_tokens", 0) or 0,
                          truncated=choice.finish_reason == "length")

    async def aclose(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            await close()


def _mentions_format(e: Exception) -> bool:
    text = str(e).lower()
    return any(w in text for w in ("response_format", "json_schema", "output_config", "schema"))


def _is_local(url: str) -> bool:
    return any(h in url for h in ("://127.", "://localhost", "://[::1]", "://0.0.0.0"))


def make_llm(settings: Settings, retry: RetryPolicy | None = None) -> LLM | None:
    """The configured LLM, or None when enrichment should run offline. Raises ValueError
    with a one-line fix when the configuration is incomplete."""
    provider = (settings.provider or "").strip().lower()
    if provider in ("", "offline", "none"):
        return None
    key = settings.api_key.get_secret_value() if settings.api_key else ""
    limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
    common: dict[str, Any] = {"timeout": settings.request_timeout, "max_retries": 0}
    if provider in ("openai", "openai-compatible", "vllm", "ollama", "deepseek", "mistral", "llamacpp"):
        if not settings.model:
            raise ValueError("provider is set but model is not: pass --model or set PAPERSIFT_MODEL")
        if not key:
            if not settings.base_url or not _is_local(settings.base_url):
                raise ValueError("no API key: set OPENAI_API_KEY or PAPERSIFT_API_KEY "
                                 "(local servers given with --base-url need none)")
            key = "not-needed"  # local servers (Ollama, vLLM, llama.cpp) ignore the key
        import openai

        client: Any = openai.AsyncOpenAI(api_key=key, base_url=settings.base_url or None, **common)
        return LLM("openai", settings.model, client, retry or RetryPolicy(), limiter)
    if provider in ("anthropic", "claude"):
        if not key:
            raise ValueError("no API key: set ANTHROPIC_API_KEY or PAPERSIFT_API_KEY")
        import anthropic

        client = anthropic.AsyncAnthropic(api_key=key, base_url=settings.base_url or None, **common)
        return LLM("anthropic", settings.model or "claude-haiku-4-5", client,
                   retry or RetryPolicy(), limiter)
    raise ValueError(f"unknown provider {settings.provider!r}: use openai, anthropic or offline")
