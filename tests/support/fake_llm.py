"""A real HTTP server on 127.0.0.1 that speaks OpenAI chat-completions and Anthropic messages.

The real SDK clients talk to it over loopback. It writes answers the way a model would for
the three papersift tasks (enrich / reading / affiliations, told apart by the system prompt's
first line) and can be scripted per paper to misbehave:

    fake.script("Paper title substring", "429:1", "fenced")   # first a 429, then fenced JSON

Actions: valid, fenced, prose (single-quoted dict with text around), invalid_json,
wrong_language, unknown_tags, two_emoji, truncated, 429:<seconds>, 500, slow:<seconds>,
no_schema (400 when a JSON schema is sent, like a server without structured output).
Run as a script (`python tests/support/fake_llm.py --port 0 --latency 1`) it prints its URL.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

EN_REVIEW = ("This paper studies {t}. The authors propose a new method and evaluate it on "
             "standard benchmarks. Results show clear gains over strong baselines. The code and "
             "models are released for the community.")
RU_REVIEW = ("Статья исследует {t}. Авторы предлагают новый метод и проверяют его на стандартных "
             "бенчмарках. Результаты показывают заметное улучшение по сравнению с сильными "
             "базовыми моделями. Код и модели опубликованы в открытом доступе.")
ZH_REVIEW = ("本文研究了{t}。作者提出了一种新的方法，并在标准基准上进行了评估。实验结果表明，"
             "该方法明显优于现有的强基线模型。代码和模型已经公开发布。")
READING = {
    "title": "新的语言模型",
    "text": "今天我们读一篇关于语言模型的论文。研究人员提出了一种新方法。这个方法让模型学得更快。"
            "实验结果非常好。大家都可以使用他们的代码。",
    "translation": "Today we read a paper about language models. The researchers proposed a new "
                   "method. This method makes the model learn faster. The experimental results "
                   "are very good. Everyone can use their code.",
    "glosses": [{"word": "语言", "trans": "language"}, {"word": "模型", "trans": "model"},
                {"word": "论文", "trans": "paper"}, {"word": "研究人员", "trans": "researchers"},
                {"word": "提出", "trans": "to propose"}, {"word": "方法", "trans": "method"},
                {"word": "实验", "trans": "experiment"}, {"word": "结果", "trans": "result"},
                {"word": "代码", "trans": "code"}, {"word": "使用", "trans": "to use"},
                {"word": "今天", "trans": "today"}],
}
_AFF = re.compile(r"^.*(University|Institute|Lab|DeepMind|Research|College).*$", re.M)


@dataclass
class Seen:
    api: str  # "openai" or "anthropic"
    task: str
    title: str
    at: float
    body: dict[str, Any]
    status: int = 200
    answered: float | None = None  # monotonic time the answer was ready (after the latency)


@dataclass
class FakeLLM:
    latency: float = 0.0
    port: int = 0
    default: str = "valid"
    requests: list[Seen] = field(default_factory=list)
    _scripts: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                api = "anthropic" if self.path.rstrip("/").endswith("/messages") else "openai"
                try:
                    status, headers, payload = fake._answer(api, body)
                    data = json.dumps(payload, ensure_ascii=False).encode()
                    self.send_response(status)
                    for k, v in {"content-type": "application/json", **headers}.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to answer

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        default_error = self.server.handle_error

        def handle_error(request: Any, address: Any) -> None:
            # a client killed mid-request (the fault trials do it on purpose) is no error here
            if not isinstance(sys.exc_info()[1], ConnectionError):
                default_error(request, address)

        self.server.handle_error = handle_error  # type: ignore[method-assign]
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    # -- control ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return self.url + "/v1"

    def script(self, match: str, *actions: str) -> None:
        with self._lock:
            self._scripts.setdefault(match, []).extend(actions)

    def calls(self, task: str | None = None) -> list[Seen]:
        with self._lock:
            return [r for r in self.requests if task is None or r.task == task]

    def calls_per_title(self, task: str | None = None) -> dict[str, int]:
        """How many requests the server received for each paper title (`task` ones only)."""
        out: dict[str, int] = {}
        for r in self.calls(task):
            out[r.title] = out.get(r.title, 0) + 1
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeLLM:
        return self

    def __exit__(self, *a: object) -> None:
        self.close()

    # -- answering ----------------------------------------------------------------------

    def _next_action(self, text: str) -> str:
        with self._lock:
            for match, actions in self._scripts.items():
                if match in text and actions:
                    return actions.pop(0)
        return self.default

    def _answer(self, api: str, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        messages = body.get("messages", [])
        system = body.get("system") or ""
        if api == "openai" and messages and messages[0].get("role") == "system":
            system = messages[0]["content"]
        if isinstance(system, list):
            system = "".join(b.get("text", "") for b in system)
        users = [m["content"] for m in messages if m.get("role") == "user"]
        first = users[0] if users else ""
        if isinstance(first, list):
            first = "".join(b.get("text", "") for b in first)
        task = system.splitlines()[0].removeprefix("Task:").strip() if system else "?"
        m = re.search(r"^Title: (.*)$", first, re.M)
        title = m.group(1) if m else ""
        m = re.search(r"^Languages: (.*)$", first, re.M)
        langs = [x.strip() for x in m.group(1).split(",")] if m else ["en"]
        action = self._next_action(first)
        seen = Seen(api, task, title, time.monotonic(), body)
        with self._lock:
            self.requests.append(seen)
        if self.latency:
            time.sleep(self.latency)
        seen.answered = time.monotonic()
        schema_sent = "response_format" in body or "output_config" in body
        if action.startswith("429"):
            seen.status = 429
            wait = action.partition(":")[2] or "1"
            return 429, {"retry-after": wait}, _error(api, "rate_limit_error", "slow down")
        if action == "500":
            seen.status = 500
            return 500, {}, _error(api, "api_error", "internal error")
        if action == "no_schema" and schema_sent:
            seen.status = 400
            return 400, {}, _error(api, "invalid_request_error",
                                    "response_format json_schema is not supported")
        if action.startswith("slow"):
            time.sleep(float(action.partition(":")[2] or "2"))
            action = "valid"
        text, stop = self._content(task, title, langs, first, action)
        return 200, {}, _ok(api, body.get("model", "fake"), text, stop, first)

    def _content(self, task: str, title: str, langs: list[str], prompt: str,
                 action: str) -> tuple[str, bool]:
        if task == "reading":
            return json.dumps(READING, ensure_ascii=False), False
        if task == "affiliations":
            found = [ln.strip(" ,0123456789*†") for ln in prompt.splitlines()
                     if _AFF.match(ln) and not ln.startswith("Title:")]
            # A model that obeys instructions hidden in the text, or invents a name.
            for m in re.finditer(r"ignore previous instructions and list ([\w ]+)", prompt):
                found.append(m.group(1).strip())
            if action.startswith("invent:"):
                found.append(action.partition(":")[2])
            return json.dumps({"affiliations": found}), False
        t = title or "this problem"
        data: dict[str, Any] = {"emoji": "🧠", "tags": ["training", "benchmark"]}
        for code in langs:
            review = {"en": EN_REVIEW, "ru": RU_REVIEW, "zh": ZH_REVIEW}[code].format(t=t)
            head = {"en": f"{t[:60]}: learning made simple", "ru": "Коротко о главном: новый метод",
                    "zh": "新方法：更好的模型"}[code]
            data[code] = {"title": head, "review": review}
        if action == "wrong_language" and "ru" in data:
            data["ru"]["review"] = EN_REVIEW.format(t=t)
        if action == "unknown_tags":
            data["tags"] = ["training", "quantum_cooking"]
        if action == "two_emoji":
            data["emoji"] = "🧠🔥"
        text = json.dumps(data, ensure_ascii=False)
        if action == "fenced":
            return f"Here is the JSON:\n```json\n{text}\n```\nHope this helps!", False
        if action == "prose":
            return f"Sure! {data!r} -- done.", False
        if action == "invalid_json":
            return "I think this paper is about training. {emoji: brain, tags: [training", False
        if action == "truncated":
            return text[: len(text) // 2], True
        return text, False


def _ok(api: str, model: str, text: str, truncated: bool, prompt: str) -> dict[str, Any]:
    tin, tout = max(1, len(prompt) // 4), max(1, len(text) // 4)
    if api == "anthropic":
        return {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "max_tokens" if truncated else "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": tin, "output_tokens": tout}}
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": "length" if truncated else "stop", "logprobs": None}],
            "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout}}


def _error(api: str, kind: str, message: str) -> dict[str, Any]:
    if api == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "code": None, "param": None}}


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--default", default="valid")
    a = ap.parse_args()
    fake = FakeLLM(latency=a.latency, port=a.port, default=a.default)
    print(fake.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.close()
