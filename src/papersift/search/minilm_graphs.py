"""MiniLM's other forms of the same model: its linear layers in int8 (documents), and for
queries the fp32 model with its mean pooling exported to ONNX (run by ONNX Runtime) or
traced by TorchScript. The query graphs give the eager model's vector; a query runs them
because a short input is mostly per-operation overhead, which they cut
(docs/embeddings.md). search/embed.py's MiniLMEmbedder decides when to use which."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

TRACED_QUERY_TOKENS = 64  # word pieces up to which a one-text call runs the traced model


def int8_linear(torch: Any, model: Any) -> Any:
    """The model with its nn.Linear layers quantized to int8, scales per output channel (per
    tensor drifted: mean cosine 0.92 to fp32 against 0.99+ per channel)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        # torch 2.13 marks eager-mode quantization as moving to torchao; it still works and
        # torch is pinned, so the notice is noise for a user.
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig})


class QueryGraphs:
    """A query call's texts through ONNX Runtime (every text), else the trace (a one-text
    call), else None: the caller runs the eager model. Each graph is made on first use;
    False means it cannot be made here. Not thread-safe (the embedder's lock covers it)."""

    def __init__(self, torch: Any, model: Any, tokenizer: Any, key: str, max_tokens: int,
                 cache_dir: Path | None):
        self.torch, self.model, self.tokenizer, self.key = torch, model, tokenizer, key
        self.max_tokens, self.cache_dir = max_tokens, cache_dir  # cache_dir: the ONNX export
        self.use_onnx = True
        self.session: Any = None  # ONNX Runtime's; False: no onnxruntime/onnx here
        self.traced: Any = None  # the TorchScript trace; False: cannot trace

    def encode(self, texts: list[str]) -> np.ndarray | None:
        if self.use_onnx:
            got = [self.onnx_query(t) for t in texts]
            vecs = [g for g in got if g is not None]
            if len(vecs) == len(texts):
                return np.concatenate(vecs)
        return self.trace_query(texts[0]) if len(texts) == 1 else None

    def onnx_query(self, text: str) -> np.ndarray | None:
        """One query through ONNX Runtime, or None where torch must run. On one thread it
        encodes a short query in about half the time of the trace (docs/embeddings.md),
        with the same vector: the graph is the fp32 model's, and ORT's fusions are exact
        rewrites of it."""
        if self.session is None:
            self.session = onnx_session(self.torch, self.model, self.tokenizer, self.key, self.cache_dir) or False
        if self.session is False:
            return None
        enc = self.tokenizer([text], truncation=True, max_length=self.max_tokens, return_tensors="np")
        feed = {"ids": enc["input_ids"].astype(np.int64), "mask": enc["attention_mask"].astype(np.int64),
                "types": enc["token_type_ids"].astype(np.int64)}
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)

    def trace_query(self, text: str) -> np.ndarray | None:
        """One query through a TorchScript trace, or None where the eager model must run: a
        long text, or no trace. The trace skips the eager model's per-module Python, about a
        quarter of a short query's time. Traced on batch 1 with no padding, which is the
        only shape it then serves; its output matches the eager model's for such inputs."""
        torch = self.torch
        enc = self.tokenizer([text], truncation=True, max_length=self.max_tokens, return_tensors="pt")
        args = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        if args[0].shape[1] > TRACED_QUERY_TOKENS:
            return None
        if self.traced is None:
            self.traced = trace(torch, self.model, args) or False
        if self.traced is False:
            return None
        with torch.inference_mode():
            return self.traced(*args).numpy()


def pooled(torch: Any, model: Any) -> Any:
    """The model with its mean pooling as one module (what the trace and the export take)."""

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model  # a submodule: its weights are the graph's parameters

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            hidden = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)

    return Pooled()


def trace(torch: Any, model: Any, args: tuple[Any, ...]) -> Any:
    """A frozen TorchScript trace for inputs shaped like `args`, or None (cannot trace)."""
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent branches
            return torch.jit.freeze(torch.jit.trace(pooled(torch, model).eval(), args, check_trace=False))
    except Exception:  # noqa: BLE001 - a torch that cannot trace runs the eager model
        return None


def onnx_session(torch: Any, model: Any, tokenizer: Any, key: str, cache_dir: Path | None) -> Any:
    """An ONNX Runtime session of the fp32 model (None: no onnxruntime/onnx, or an export
    that failed), from the export kept in cache_dir when there is one (every search process
    after the first skips the export's 1.7 s and the ~140 MB it leaves allocated), else
    exported now (and kept). `key` names the weights and recipe the file belongs to."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    # One thread, as the torch query path: a search process per core.
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    path = None
    if cache_dir is not None:
        tag = hashlib.sha1(f"{key}|{torch.__version__}|{ort.__version__}".encode()).hexdigest()[:12]
        path = Path(cache_dir) / f"minilm-query-{tag}.onnx"
        if path.exists():
            try:
                return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            except Exception:  # noqa: BLE001 - unreadable or truncated: export it again
                pass
    graph = _export(torch, model, tokenizer)
    if graph is None:
        return None
    try:
        session = ort.InferenceSession(graph, opts, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - a graph this ONNX Runtime cannot run: torch runs
        return None
    if path is not None:
        with contextlib.suppress(OSError):  # a read-only data dir: in memory only
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(graph)
            tmp.replace(path)  # a half-written file is never loaded
    return session


def _export(torch: Any, model: Any, tokenizer: Any) -> bytes | None:
    enc = tokenizer(["warming up the query encoder"], return_tensors="pt")
    args = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
    axes = {"ids": {0: "batch", 1: "pieces"}, "mask": {0: "batch", 1: "pieces"},
            "types": {0: "batch", 1: "pieces"}, "vec": {0: "batch"}}
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")  # the exporter's notes on shape-dependent branches
            torch.onnx.export(pooled(torch, model).eval(), args, buf, input_names=["ids", "mask", "types"],
                              output_names=["vec"], dynamic_axes=axes, opset_version=17, dynamo=False)
    except Exception:  # noqa: BLE001 - no onnx package, an exporter that cannot: torch runs
        return None
    return buf.getvalue()
