"""The offline enricher: no key, no network, no model weights.

- summary: 2-4 sentences of the abstract chosen by TextRank over TF-IDF sentence vectors
  (PageRank on the sentence-similarity graph), kept in their original order;
- tags: cosine similarity of the paper to each taxonomy tag's profile (its description plus
  a few domain terms) in the same TF-IDF space;
- emoji: the top tag's emoji.

English only: ru/zh are simply absent (a fake translation would be worse than none).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import taxonomy
from ..model import Enrichment, Paper
from ..text import KEYWORD, KEYWORD_STOPWORDS

METHOD_VERSION = "offline-v1"

# Domain terms that make each tag's description recognisable in abstracts. The descriptions
# themselves stay in taxonomy.py; these only widen the offline matcher's vocabulary.
TAG_TERMS: dict[str, str] = {
    "dataset": "dataset corpus collected annotated release new dataset",
    "data": "data curation filtering cleaning collection quality deduplication",
    "benchmark": "benchmark evaluation evaluate leaderboard metric suite",
    "agents": "agent agents agentic tool use web agent planning autonomous",
    "cv": "image images vision visual detection segmentation pixel",
    "rl": "reinforcement learning reward policy environment",
    "rlhf": "human feedback preference dpo ppo reward model rlhf",
    "rag": "retrieval augmented generation rag retriever documents",
    "plp": "code programming software repository program synthesis",
    "inference": "inference quantization pruning latency speedup efficient deployment throughput",
    "3d": "3d mesh point cloud gaussian splatting nerf scene geometry",
    "audio": "speech audio sound asr tts music voice",
    "video": "video videos temporal frames motion clip",
    "multimodal": "multimodal vision language vlm mllm image text",
    "math": "mathematical math theorem proof equations arithmetic",
    "multilingual": "multilingual languages cross lingual non english",
    "architecture": "architecture transformer attention layer module mixture experts",
    "healthcare": "medical clinical health patient diagnosis biomedical",
    "training": "training fine tuning pretraining supervised scaling",
    "robotics": "robot robotic manipulation embodied navigation control",
    "small_models": "small model compact lightweight parameters efficient",
    "agi": "general intelligence agi",
    "games": "game games gameplay player",
    "interpretability": "interpretability explanation mechanistic probing neurons circuits",
    "reasoning": "reasoning chain thought logical step problem solving",
    "transfer_learning": "transfer distillation domain adaptation knowledge",
    "graphs": "graph node edge gnn",
    "ethics": "bias fairness ethical social harm",
    "security": "security adversarial attack jailbreak robustness safety",
    "optimization": "optimization optimizer gradient convergence loss",
    "survey": "survey review overview taxonomy literature",
    "diffusion": "diffusion denoising score generative flow matching",
    "alignment": "alignment aligned values preferences safety helpful",
    "story_generation": "story narrative plot creative writing",
    "hallucinations": "hallucination hallucinations factual faithfulness",
    "long_context": "long context length tokens window memory",
    "synthetic": "synthetic generated data augmentation",
    "machine_translation": "translation translate machine translation",
    "leakage": "leakage contamination memorization exposure",
    "open_source": "open source release publicly available code github weights",
    "science": "scientific science research discovery chemistry physics biology",
    "low_resource": "low resource languages underrepresented",
}

_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[$\\])")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|et al|etc|vs|Fig|Eq|Sec|cf)\.$")


def _stem(w: str) -> str:
    # Light suffix stripping: enough to join "agents"/"agent", "models"/"model".
    if len(w) > 5 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 6 and w.endswith("ing"):
        return w[:-3]
    if len(w) > 4 and w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def tokens(text: str) -> list[str]:
    return [_stem(t) for t in KEYWORD.findall(text.lower()) if t not in KEYWORD_STOPWORDS]


def split_sentences(text: str) -> list[str]:
    """Sentences of an abstract; common abbreviations (e.g., et al.) do not end one."""
    out: list[str] = []
    for part in _SENT.split(text.strip()):
        if out and _ABBREV.search(out[-1]):
            out[-1] += " " + part
        elif part.strip():
            out.append(part.strip())
    return out


class TfIdf:
    """Sparse-counted, dense-projected TF-IDF fitted on a batch of documents."""

    def __init__(self, docs: Iterable[list[str]]):
        df: Counter[str] = Counter()
        n = 0
        for d in docs:
            n += 1
            df.update(set(d))
        self.vocab = {w: i for i, w in enumerate(sorted(df))}
        self.idf = np.array([math.log((1 + n) / (1 + df[w])) + 1 for w in sorted(df)],
                            dtype=np.float32)

    def transform(self, docs: list[list[str]]) -> np.ndarray:
        m = np.zeros((len(docs), len(self.vocab)), dtype=np.float32)
        for r, d in enumerate(docs):
            for w, c in Counter(d).items():
                j = self.vocab.get(w)
                if j is not None:
                    m[r, j] = 1 + math.log(c)
        m *= self.idf
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(norms == 0, 1, norms)


def textrank(vectors: np.ndarray, damping: float = 0.85, iterations: int = 50) -> np.ndarray:
    """PageRank scores of the cosine-similarity graph of (L2-normalised) sentence vectors."""
    n = vectors.shape[0]
    if n == 0:
        return np.zeros(0)
    sim = np.clip(vectors @ vectors.T, 0, None)
    np.fill_diagonal(sim, 0)
    rows = sim.sum(axis=1, keepdims=True)
    trans = np.where(rows > 0, sim / np.where(rows == 0, 1, rows), 1.0 / n)
    score = np.full(n, 1.0 / n)
    for _ in range(iterations):
        new = (1 - damping) / n + damping * trans.T @ score
        if np.abs(new - score).sum() < 1e-8:
            return new
        score = new
    return score


def _summary_size(n: int) -> int:
    return n if n <= 2 else 2 if n <= 4 else 3 if n <= 8 else 4


class OfflineEnricher:
    """Enrich a batch of papers. Vectors come from TF-IDF fitted on the batch and the tag
    profiles (fast: ~140 papers in well under a second), or from any embedder with
    `embed(texts) -> unit rows` (e.g. search/embed.py's minilm) when one is given."""

    def __init__(self, max_tags: int = 3, min_sim: float | None = None,
                 embedder: Any | None = None):
        self.embedder = embedder
        self.max_tags = max_tags
        # Cosines of dense embeddings run much higher than sparse TF-IDF ones.
        self.min_sim = min_sim if min_sim is not None else (0.06 if embedder is None else 0.2)

    def enrich(self, papers: list[Paper]) -> list[Enrichment]:
        out: list[Enrichment] = []
        for i in range(0, len(papers), 500):  # bounded dense matrices for big backlogs
            out.extend(self._batch(papers[i:i + 500]))
        return out

    def _vectorizer(self, papers: list[Paper], sents: list[list[str]],
                    profiles: list[str]) -> Callable[[list[str]], np.ndarray]:
        if (embedder := self.embedder) is not None:
            return lambda texts: np.asarray(embedder.embed(texts), dtype=np.float32) \
                if texts else np.zeros((0, 1), dtype=np.float32)
        docs = [tokens(f"{p.title} {p.abstract}") for p in papers]
        vec = TfIdf(docs + [tokens(x) for x in profiles] + [tokens(x) for ss in sents for x in ss])
        return lambda texts: vec.transform([tokens(t) for t in texts])

    def _batch(self, papers: list[Paper]) -> list[Enrichment]:
        sents = [split_sentences(p.abstract) for p in papers]
        profiles = [f"{n.replace('_', ' ')}: {taxonomy.TAGS[n]}. {TAG_TERMS.get(n, '')}"
                    for n in taxonomy.TAG_NAMES]
        vecs = self._vectorizer(papers, sents, profiles)
        tag_m = vecs(profiles)
        # The title counts twice: it is the densest statement of what a paper is about.
        doc_m = vecs([f"{p.title}. {p.title}. {p.abstract}" for p in papers])
        sims = doc_m @ tag_m.T
        out = []
        for k, p in enumerate(papers):
            tags = self._tags(sims[k])
            out.append(Enrichment(
                paper_id=p.id, method="offline", model=METHOD_VERSION,
                prompt_version=METHOD_VERSION, input_hash=p.content_hash(),
                emoji=taxonomy.TAG_EMOJI[tags[0]] if tags else taxonomy.DEFAULT_EMOJI,
                tags=tags, summary=self._summary(sents[k], vecs),
                extra={"tag_scores": {t: round(float(sims[k][taxonomy.TAG_NAMES.index(t)]), 3)
                                      for t in tags},
                       "vectors": getattr(self.embedder, "name", "tfidf")}))
        return out

    def _tags(self, row: np.ndarray) -> list[str]:
        order = np.argsort(-row)
        top = float(row[order[0]])
        if top < self.min_sim:
            return []
        keep = [taxonomy.TAG_NAMES[j] for j in order[: self.max_tags]
                if row[j] >= max(self.min_sim, 0.6 * top)]
        return keep

    def _summary(self, sents: list[str], vecs: Callable[[list[str]], np.ndarray]) -> str:
        if not sents:
            return ""
        k = _summary_size(len(sents))
        if k >= len(sents):
            return " ".join(sents)
        scores = textrank(vecs(sents))
        # Fragments ("Code: https://...") make poor summary sentences: rank them last.
        scores = scores - np.array([0 if len(s) >= 40 else 1.0 for s in sents])
        chosen = sorted(np.argsort(-scores)[:k].tolist())
        return " ".join(sents[i] for i in chosen)
