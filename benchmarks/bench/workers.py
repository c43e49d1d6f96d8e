"""What the bench measures in a fresh process (`python -m bench.workers KIND`, the arguments as JSON on stdin):
answer latency and memory with an index loaded, embedding throughput, the synthetic corpora."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import peak_rss_mb, percentiles, rss_mb, settings_from
from bench.synthetic import (
    Pool,
    bm25_from_parts,
    make_synthetic,
    recall_at_10,
    vector_realism,
)


class TimedEmbedder:
    """The embedder, adding up how long question embeddings take."""

    def __init__(self, embedder: Any):
        self._embedder = embedder
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        started = time.perf_counter()
        try:
            return self._embedder.encode_queries(texts)
        finally:
            self.seconds += time.perf_counter() - started


def ask_all(wenda: Any, questions: Sequence[str], embedder: TimedEmbedder) -> dict[str, Any]:
    """Answer each question in turn; latency percentiles of the whole answer and of its stages."""
    totals, embeds, searches, reads, extracts, found = [], [], [], [], [], 0
    cached = 0
    for question in questions:
        embedder.seconds = 0.0
        started = time.perf_counter()
        answer = wenda.answer(question)
        totals.append(time.perf_counter() - started)
        found += answer.found
        if answer.timings.get("cached"):
            cached += 1
            continue
        embeds.append(embedder.seconds)
        searches.append(max(0.0, answer.timings.get("search", 0.0) - embedder.seconds))
        reads.append(answer.timings.get("read", 0.0))
        extracts.append(answer.timings.get("answer", 0.0) - answer.timings.get("read", 0.0))
    return {
        **percentiles(totals),
        "embed_p50_ms": percentiles(embeds)["p50_ms"],
        "search_p50_ms": percentiles(searches)["p50_ms"],
        "search_p95_ms": percentiles(searches)["p95_ms"],
        "read_p50_ms": percentiles(reads)["p50_ms"],
        "read_p95_ms": percentiles(reads)["p95_ms"],
        "extract_p50_ms": percentiles(extracts)["p50_ms"],
        "found": found,
        "from_cache": cached,
    }


def worker_serve(args: dict[str, Any]) -> dict[str, Any]:
    """Load the model and an index as `wenda serve` does, answer the questions, report latency and memory."""
    from bot.answer.pipeline import Wenda
    from bot.search.embedding import Embedder
    from bot.search.index import Index

    started = time.perf_counter()
    settings = settings_from(args["settings"])
    embedder = TimedEmbedder(Embedder(settings))
    model_s = time.perf_counter() - started
    index = Index.load(settings.index_dir, settings=settings)
    loaded_s = time.perf_counter() - started
    loaded_rss = rss_mb()
    questions = args["questions"]
    no_cache = Wenda(settings.model_copy(update={"answer_cache_size": 0}), embedder, index)
    for question in questions[:3]:
        no_cache.answer(question)  # warm up: jieba's dictionary, first allocations
    # `wenda serve` loads the English dictionary at start; here too, or the first English question's
    # answer holds its load (5 s measured) and the warm maximum says nothing about serving.
    no_cache.load_translator_in_background().join()
    plain = ask_all(no_cache, questions, embedder)
    # With the cache: the same number of questions, each of a quarter of them asked four times.
    distinct = questions[: max(1, len(questions) // 4)]
    stream = [distinct[i] for i in np.random.default_rng(1).permutation(np.arange(len(questions)) % len(distinct))]
    with_cache = Wenda(settings.model_copy(update={"answer_cache_size": max(1, settings.answer_cache_size)}), embedder, index)
    with_cache.load_translator_in_background().join()
    cached = ask_all(with_cache, stream, embedder)
    return {
        "passages": len(index),
        "dense_index": index.manifest.get("dense_index", "Flat"),
        "model_load_s": round(model_s, 2),
        "load_s": round(loaded_s, 2),
        "rss_loaded_mb": round(loaded_rss, 1),
        "latency": plain,
        "cached": {**cached, "distinct_questions": len(distinct)},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def worker_embed(args: dict[str, Any]) -> dict[str, Any]:
    """Embedding throughput of this process's engine (threads from EMBEDDING_THREADS) on the given texts."""
    from bot.search.embedding import Embedder

    settings = settings_from(args["settings"])
    embedder = Embedder(settings)
    figures = measure_embedding(embedder, args["texts"], args["queries"], settings.embedding_batch_size)
    vectors = figures.pop("vectors")
    if args.get("compare") is not None:  # the same windows embedded by the main process: one vector space?
        cosines = np.sum(vectors * np.asarray(args["compare"], dtype=np.float32), axis=1)
        figures["cosine_to_main"] = {"min": round(float(cosines.min()), 5), "mean": round(float(cosines.mean()), 5)}
    return figures


def measure_embedding(embedder: Any, texts: Sequence[str], queries: Sequence[str], batch_size: int) -> dict[str, Any]:
    """Windows per second embedded in batches, a question's embedding time, and the vectors (key "vectors")."""
    embedder.encode_passages(list(texts[:2]))  # warm up
    started = time.perf_counter()
    vectors = [embedder.encode_passages(list(texts[start : start + batch_size])) for start in range(0, len(texts), batch_size)]
    seconds = time.perf_counter() - started
    query_times = []
    for query in queries:
        began = time.perf_counter()
        embedder.encode_queries([query])
        query_times.append(time.perf_counter() - began)
    return {
        "windows": len(texts),
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "seconds": round(seconds, 2),
        "per_second": round(len(texts) / seconds, 2),
        "query_p50_ms": percentiles(query_times)["p50_ms"],
        "vectors": np.concatenate(vectors),
    }


def worker_synthetic(args: dict[str, Any]) -> dict[str, Any]:
    """Build a synthetic index of `size` passages, time its parts, measure Recall@10, save it."""
    from bot.search.dense import dense_index_kind, make_faiss_index
    from bot.search.index import FORMAT_VERSION, Index
    from bot.search.lexical import TOKENIZER

    settings = settings_from(args["settings"])
    pool = Pool.load(Path(args["pool"]))
    size = int(args["size"])
    started = time.perf_counter()
    corpus = make_synthetic(pool, size, min_chars=settings.passage_min_chars, max_chars=settings.passage_max_chars)
    generate_s = time.perf_counter() - started
    realism = vector_realism(pool.vectors, corpus.vectors, np.random.default_rng(2))
    started = time.perf_counter()
    bm25 = bm25_from_parts(corpus)
    bm25_s = time.perf_counter() - started
    milvus = settings.index_backend == "milvus"
    started = time.perf_counter()
    vectors = None if milvus else make_faiss_index(corpus.vectors, settings)  # Milvus: filled when saved
    faiss_s = time.perf_counter() - started
    kind = "milvus" if milvus else dense_index_kind(len(corpus.passages), settings)
    recall = None
    if kind not in ("Flat", "milvus"):
        recall = recall_at_10(vectors, corpus.vectors, np.load(args["queries"]))
    manifest = {
        "format_version": FORMAT_VERSION,
        "embedding_model": settings.embedding_model,
        "dim": int(corpus.vectors.shape[1]),
        "passage_count": len(corpus.passages),
        "passage_min_chars": settings.passage_min_chars,
        "passage_max_chars": settings.passage_max_chars,
        "tokenizer": TOKENIZER,
        "dense_index": kind,
        "synthetic": True,
        "documents": {},
    }
    passages = corpus.passages
    n = len(passages)
    index = Index(passages, vectors, bm25, manifest)
    if milvus:
        index.unpublished = corpus.vectors
    del corpus  # its vectors live on in the FAISS index, or until they are in Milvus
    started = time.perf_counter()
    index.save(Path(args["index_dir"]), settings)  # on Milvus: fill the collection, index and load it, move the alias
    save_s = time.perf_counter() - started
    return {
        "passages": n,
        "dense_index": kind,
        "generate_s": round(generate_s, 2),
        "bm25_s": round(bm25_s, 2),
        "faiss_s": round(faiss_s, 2),
        "bm25_per_s": round(n / bm25_s, 1),
        "faiss_per_s": round(n / faiss_s, 1),
        "rest_per_s": round(n / (bm25_s + faiss_s), 1),
        "save_s": round(save_s, 2),
        "recall": recall,
        "realism": realism,
        "build_peak_rss_mb": round(peak_rss_mb(), 1),
    }


WORKERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "serve": worker_serve,
    "embed": worker_embed,
    "synthetic": worker_synthetic,
}


def _worker_main(argv: list[str]) -> int:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    kind, payload = argv[0], json.loads(argv[1] if len(argv) > 1 else sys.stdin.read())
    print(json.dumps(WORKERS[kind](payload), ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
