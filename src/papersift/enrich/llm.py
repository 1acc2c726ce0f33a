"""LLM providers through the official SDKs, with our own retries and rate limiting.

The SDKs' built-in retries are off (max_retries=0) so that Retry-After, backoff and the
number of calls are ours to control, count and test (with the HTTP client's RetryPolicy and
header parsing, papersift/http.py). One `LLM.complete()` is one logical request; `calls`
counts every HTTP attempt that reached the server.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..config import Settings
from ..errors import ConfigError, LLMError, PayloadError
from ..http import RetryPolicy, server_wait
from ..model import Usage
from .schema import extract_json

T = TypeVar("T")

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


@dataclass
class Completion:
    text: str
    input_tokens: int = 0
    output_tokens: int = 0
    truncated: bool = False  # the model stopped at max tokens: the JSON is cut off
    calls: int = 1


def llm_retry(attempts: int = 5, base_delay: float = 1.0, max_delay: float = 60.0) -> RetryPolicy:
    """The retry policy for model requests: `attempts` tries, the backoff doubling from
    `base_delay` up to `max_delay` seconds (the HTTP client's policy, with these defaults)."""
    return RetryPolicy(attempts=attempts, backoff=base_delay, max_backoff=max_delay)


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


@dataclass
class LLM:
    """One provider + model. `complete()` sends a conversation and returns the text."""

    provider: str  # "openai" (any OpenAI-compatible endpoint) or "anthropic"
    model: str
    client: Any
    retry: RetryPolicy = field(default_factory=llm_retry)
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
        if status == 429 or (status is not None and status >= 500):
            ra = server_wait(getattr(getattr(e, "response", None), "headers", None))
            return "retry", ra if ra is not None else self.retry.delay(attempt + 1)
        if status in (400, 422) and self.structured and _mentions_format(e):
            return "schema", 0.0
        if status is None and name in ("APITimeoutError", "APIConnectionError"):
            return "retry", self.retry.delay(attempt + 1)
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


async def complete_checked(llm: LLM, system: str, messages: list[dict[str, str]],
                           schema: dict[str, Any], name: str, check: Callable[[Any], T], *,
                           repair_ask: str = "Return the corrected JSON object only.",
                           failure: str = "invalid after repair", truncated: str | None = None,
                           usage: Usage | None = None) -> tuple[T, bool]:
    """One call, plus one repair call when the answer does not pass: `check(extract_json(text))`
    raised PayloadError, so the model is shown its answer, what was wrong and `repair_ask`.

    Returns (what `check` returned, whether a repair was needed). Raises PayloadError
    "`failure`: why" when the repaired answer fails too, LLMError when a request failed for
    good. `truncated`: the complaint sent when the model stopped at its token limit (None:
    let `check` judge the cut-off answer). `usage` adds up every call, failed ones too."""
    for attempt in range(2):
        try:
            comp = await llm.complete(system, messages, schema, name)
        except LLMError as err:
            if usage is not None:
                usage.calls += err.calls
            raise
        if usage is not None:
            usage.calls += comp.calls
            usage.input_tokens += comp.input_tokens
            usage.output_tokens += comp.output_tokens
        try:
            if truncated is not None and comp.truncated:
                raise PayloadError(truncated)
            return check(extract_json(comp.text)), attempt == 1
        except PayloadError as e:
            if attempt == 1:
                raise PayloadError(f"{failure}: {e}") from None
            messages = messages + [
                {"role": "assistant", "content": comp.text or "(empty)"},
                {"role": "user", "content": f"Your answer was not accepted: {e}. {repair_ask}"}]
    raise AssertionError("unreachable")


def run_closing(llm: LLM | None, coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run(coro), then close `llm`'s client inside that same event loop (the SDKs'
    async clients hold connections bound to the loop that opened them)."""
    async def go() -> T:
        try:
            return await coro
        finally:
            if llm is not None:
                await llm.aclose()
    return asyncio.run(go())


def _mentions_format(e: Exception) -> bool:
    text = str(e).lower()
    return any(w in text for w in ("response_format", "json_schema", "output_config", "schema"))


def _is_local(url: str) -> bool:
    return any(h in url for h in ("://127.", "://localhost", "://[::1]", "://0.0.0.0"))


def make_llm(settings: Settings, retry: RetryPolicy | None = None) -> LLM | None:
    """The configured LLM, or None when enrichment should run offline. Raises ConfigError
    (a ValueError) with a one-line fix when the configuration is incomplete."""
    provider = (settings.provider or "").strip().lower()
    if provider in ("", "offline", "none"):
        return None
    key = settings.api_key.get_secret_value() if settings.api_key else ""
    limiter = RateLimiter(settings.requests_per_minute, settings.tokens_per_minute)
    common: dict[str, Any] = {"timeout": settings.request_timeout, "max_retries": 0}
    if provider in ("openai", "openai-compatible", "vllm", "ollama", "deepseek", "mistral", "llamacpp"):
        if not settings.model:
            raise ConfigError("provider is set but model is not: pass --model or set PAPERSIFT_MODEL")
        if not key:
            if not settings.base_url or not _is_local(settings.base_url):
                raise ConfigError("no API key: set OPENAI_API_KEY or PAPERSIFT_API_KEY "
                                 "(local servers given with --base-url need none)")
            key = "not-needed"  # local servers (Ollama, vLLM, llama.cpp) ignore the key
        import openai

        client: Any = openai.AsyncOpenAI(api_key=key, base_url=settings.base_url or None, **common)
        return LLM("openai", settings.model, client, retry or llm_retry(), limiter)
    if provider in ("anthropic", "claude"):
        if not key:
            raise ConfigError("no API key: set ANTHROPIC_API_KEY or PAPERSIFT_API_KEY")
        import anthropic

        client = anthropic.AsyncAnthropic(api_key=key, base_url=settings.base_url or None, **common)
        return LLM("anthropic", settings.model or "claude-haiku-4-5", client,
                   retry or llm_retry(), limiter)
    raise ConfigError(f"unknown provider {settings.provider!r}: use openai, anthropic or offline")
