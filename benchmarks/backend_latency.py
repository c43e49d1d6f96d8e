"""Hybrid search on both index backends, from one run: FAISS + bm25s in the process, and Milvus (Milvus Lite
in the process by default, or MILVUS_URI): latency p50/p95 of `Index.search` (dense and BM25 top-50, fused,
the 20 hits the answer stage reads), how often both rank the same passage first, and the time to fill Milvus.

Corpora: the shipped corpus (its real vectors), and synthetic corpora of `--sizes` passages made as
`wenda bench --large` makes them (real sentences recombined, vectors shaped like real ones). The questions'
vectors are embedded once, so both backends search with the same ones.

    python benchmarks/backend_latency.py --sizes 10000 --questions 100
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench  # noqa: E402  (benchmarks/ is this script's folder; importing bot sets OMP_NUM_THREADS=1 first)


def timed_searches(index, vectors: np.ndarray, questions: list[str], settings) -> tuple[list[float], list[int]]:
    """Milliseconds of each question's hybrid search, and the row ranked first."""
    seconds, firsts = [], []
    for vector, question in zip(vectors, questions):
        started = time.perf_counter()
        hits = index.search(vector, question, 20, settings.fusion_weight, settings.candidates)
        seconds.append(1000 * (time.perf_counter() - started))
        firsts.append(hits[0].position if hits else -1)
    return seconds, firsts


def on_milvus(index, settings, name: str):
    """The same passages, vectors and BM25 in a Milvus collection; returns the Milvus-backed index and fill seconds."""
    from bot.search.index import Index
    from bot.search.milvus import MilvusStore

    vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    copy = Index(index.passages, None, index.bm25, dict(index.manifest))
    copy.unpublished = vectors
    started = time.perf_counter()
    copy.fill_store(MilvusStore(settings, name))
    return copy, time.perf_counter() - started


def row(label: str, index, settings, vectors, questions, name: str) -> dict:
    faiss_ms, faiss_first = timed_searches(index, vectors, questions, settings)
    milvus, fill_s = on_milvus(index, settings, name)
    milvus_ms, milvus_first = timed_searches(milvus, vectors, questions, settings)
    milvus.store.client.drop_collection(name)
    p = lambda values, q: round(float(np.percentile(values, q)), 1)  # noqa: E731
    return {
        "corpus": label,
        "passages": len(index),
        "faiss_p50_ms": p(faiss_ms, 50),
        "faiss_p95_ms": p(faiss_ms, 95),
        "milvus_p50_ms": p(milvus_ms, 50),
        "milvus_p95_ms": p(milvus_ms, 95),
        "same_first": round(float(np.mean(np.array(faiss_first) == np.array(milvus_first))), 3),
        "milvus_fill_s": round(fill_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="synthetic corpus sizes, comma-separated (empty: none)")
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from bot.config import Settings
    from bot.search.build import build_index
    from bot.search.dense import make_faiss_index
    from bot.search.embedding import Embedder
    from bot.search.index import Index

    settings = Settings()
    embedder = Embedder(settings)
    questions = bench.bench_questions(args.questions, bench.CMRC)
    vectors = embedder.encode_queries(questions)
    scratch = tempfile.TemporaryDirectory(prefix="wenda-backends-")  # Milvus Lite's file, removed at exit
    milvus = settings.model_copy(update={"index_backend": "milvus", "milvus_uri": settings.milvus_uri or str(Path(scratch.name) / "milvus.db")})
    shipped, _ = build_index(settings, embedder)
    rows = [row(bench.SHIPPED, shipped, milvus, vectors, questions, f"{milvus.milvus_prefix}_latency_shipped")]
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    if sizes:
        pool = bench.real_pool(settings, embedder, shipped)
        for size in sizes:
            corpus = bench.make_synthetic(pool, size, min_chars=settings.passage_min_chars, max_chars=settings.passage_max_chars)
            index = Index(corpus.passages, make_faiss_index(corpus.vectors, settings), bench.bm25_from_parts(corpus), {})
            rows.append(row(f"{size:,} synthetic", index, milvus, vectors, questions, f"{milvus.milvus_prefix}_latency_{size}"))
    result = {"machine": bench.machine(), "questions": len(questions), "milvus_uri": milvus.milvus_uri, "rows": rows}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"Hybrid search (top-50 dense + top-50 BM25, fused, 20 hits), {len(questions)} questions, Milvus at {milvus.milvus_uri}")
    print(f"{'corpus':<22}{'passages':>9}{'faiss p50/p95 ms':>20}{'milvus p50/p95 ms':>20}{'same first':>12}{'fill s':>9}")
    for r in rows:
        print(
            f"{r['corpus']:<22}{r['passages']:>9}{r['faiss_p50_ms']:>11}/{r['faiss_p95_ms']:<8}"
            f"{r['milvus_p50_ms']:>11}/{r['milvus_p95_ms']:<8}{r['same_first']:>12}{r['milvus_fill_s']:>9}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
