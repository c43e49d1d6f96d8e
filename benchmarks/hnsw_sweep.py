"""Recall@10 and search time of approximate FAISS indexes on `wenda bench`'s synthetic corpora.

`wenda bench --large` measures one configuration (ANN_FACTORY, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH)
per size. This sweeps several on one corpus built exactly as the bench builds it: the same Pool of real
passages (the shipped corpus embedded from scratch, the CMRC 2018 trial windows from the embedding
cache), the same `make_synthetic`, the same 200 bench questions as query vectors, and Recall@10 as
`bench.recall_at_10` defines it (checked against it once per run), so the figures compare with the
bench's. Each index is built by `bot.search.index.make_faiss_index` (all cores) with the configuration's
settings; search-time values (efSearch, nprobe) are swept on one build. Search runs on one thread,
one question at a time, asking for CANDIDATES (50) rows as `Index.dense_search` does; Recall@10 is
over the first 10 of them (the same rows a k=10 search returns).

    nice -n 15 python benchmarks/hnsw_sweep.py --size 200000 \\
        --config "HNSW32,Flat efc=40 ef=512,1024,2048,4096,8192" \\
        --config "IVF4096,Flat nprobe=128,256,512"

A configuration is a FAISS factory string, then `efc=N` (HNSW_EF_CONSTRUCTION) and `ef=N,N,...`
(HNSW_EF_SEARCH) for HNSW, or `nprobe=N,N,...` (IVF_NPROBE) for IVF. Rows print as they are measured
and the JSON file (default /tmp/hnsw_sweep_SIZE.json) is rewritten after each, so an interrupted run
keeps what it measured. The Pool and query vectors are cached in --pool-dir for later runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import bench  # noqa: E402  (benchmarks/ is this script's folder)

import bot  # noqa: E402,F401  (sets OMP_NUM_THREADS=1 before FAISS loads, as the bot does)
from bot.config import Settings  # noqa: E402


def bench_pool(settings: Settings, pool_dir: Path, questions: int) -> tuple[bench.Pool, np.ndarray]:
    """The bench's Pool and query vectors (`bench.run` with --large), cached in `pool_dir`."""
    pool_path, queries_path = pool_dir / "pool", pool_dir / f"queries-{questions}.npy"
    if pool_path.with_suffix(".npy").is_file() and queries_path.is_file():
        return bench.Pool.load(pool_path), np.load(queries_path)
    from bot.search.embedding import Embedder

    pool_dir.mkdir(parents=True, exist_ok=True)
    embedder = Embedder(settings)
    with tempfile.TemporaryDirectory(prefix="hnsw-sweep-") as work:
        shipped = bench.build_shipped(settings, embedder, Path(work) / "shipped")["index"]
    pool = bench.real_pool(settings, embedder, shipped)
    queries = embedder.encode_queries(bench.bench_questions(questions, bench.CMRC)[:200])
    pool.save(pool_path)
    np.save(queries_path, queries)
    return pool, queries


def parse_config(text: str) -> dict[str, Any]:
    """`"HNSW32,Flat efc=40 ef=512,1024"` -> factory, build settings, search values."""
    factory, *options = text.split()
    values = dict(option.split("=", 1) for option in options)
    config = {"factory": factory, "efc": int(values.get("efc", 40))}
    if "HNSW" in factory:
        config["param"], config["values"] = "efSearch", [int(v) for v in values.get("ef", "512").split(",")]
    elif "IVF" in factory:
        config["param"], config["values"] = "nprobe", [int(v) for v in values.get("nprobe", "64").split(",")]
    else:
        config["param"], config["values"] = "-", [0]
    return config


def set_search(index: Any, param: str, value: int) -> None:
    from bot.search.dense import _ivf

    if param == "efSearch":
        index.hnsw.efSearch = value
    elif param == "nprobe":
        _ivf(index).nprobe = value


def timed_search(index: Any, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    """Rows found for each query, one query at a time, and the seconds each took."""
    for query in queries[:10]:  # warm up: caches, first allocations
        index.search(query[None, :], k)
    rows, seconds = [], []
    for query in queries:
        started = time.perf_counter()
        found = index.search(query[None, :], k)[1][0]
        seconds.append(time.perf_counter() - started)
        rows.append(found)
    return np.stack(rows), seconds


def recall(exact: np.ndarray, found: np.ndarray) -> float:
    """`bench.recall_at_10`'s measure: mean share of the exact top-10 among the found top-10."""
    return round(float(np.mean([len(set(a) & set(b[:10])) / 10 for a, b in zip(exact, found)])), 4)


def all_cores() -> int:
    return len(os.sched_getaffinity(0))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="passages in the synthetic corpus")
    parser.add_argument("--config", action="append", required=True, help='e.g. "HNSW32,Flat efc=40 ef=512,1024"')
    parser.add_argument("--questions", type=int, default=200, help="as `wenda bench --questions` (queries: the first 200)")
    parser.add_argument("--pool-dir", type=Path, default=Path(tempfile.gettempdir()) / "hnsw_sweep_pool")
    parser.add_argument("--json", type=Path, help="results file (default /tmp/hnsw_sweep_SIZE.json)")
    args = parser.parse_args()
    out = args.json or Path(tempfile.gettempdir()) / f"hnsw_sweep_{args.size}.json"
    import faiss

    from bot.search.dense import dense_index_kind, make_faiss_index

    settings = Settings()
    k = settings.candidates
    pool, queries = bench_pool(settings, args.pool_dir, args.questions)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    started = time.perf_counter()
    corpus = bench.make_synthetic(pool, args.size, min_chars=settings.passage_min_chars, max_chars=settings.passage_max_chars)
    vectors = corpus.vectors
    del corpus  # a million Passage objects: not needed to search vectors
    gc.collect()
    generate_s = time.perf_counter() - started
    faiss.omp_set_num_threads(all_cores())
    started = time.perf_counter()
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    exact_s = time.perf_counter() - started
    faiss.omp_set_num_threads(1)
    flat = faiss.IndexFlatIP(vectors.shape[1])  # exact search's time per question, one thread, as Flat below ANN_MIN_PASSAGES
    flat.add(vectors)
    flat_rows, flat_seconds = timed_search(flat, queries[:50], k)
    del flat
    gc.collect()
    results: dict[str, Any] = {
        "size": args.size,
        "queries": len(queries),
        "k_searched": k,
        "machine": bench.machine(),
        "generate_s": round(generate_s, 1),
        "exact_knn_s": round(exact_s, 1),
        "flat_one_thread": {**bench.percentiles(flat_seconds), "recall_at_10": recall(exact[:50], flat_rows)},
        "rss_corpus_mb": round(bench.rss_mb(), 0),
        "rows": [],
    }
    print(
        f"{args.size:,} passages (generated in {generate_s:.0f} s), {len(queries)} queries, k={k}; exact Flat, one thread: "
        f"p50 {results['flat_one_thread']['p50_ms']} ms, p95 {results['flat_one_thread']['p95_ms']} ms; "
        f"RSS with the vectors {results['rss_corpus_mb']:.0f} MiB; load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    print(f"{'index':<16} {'efC':>4} {'param':>8} {'value':>6} {'build s':>8} {'index MiB':>9} {'R@10':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'peak RSS':>9}", flush=True)
    checked = False
    for text in args.config:
        config = parse_config(text)
        own = settings.model_copy(
            update={"ann_factory": config["factory"], "hnsw_ef_construction": config["efc"], "ann_min_passages": 1}
        )
        before = bench.rss_mb()
        started = time.perf_counter()
        index = make_faiss_index(vectors, own)
        build_s = time.perf_counter() - started
        index_mb = bench.rss_mb() - before
        if not checked and config["param"] != "-" and args.size <= 200_000:  # our Recall@10 is the bench's (its exact search is slow at 1M)
            set_search(index, config["param"], config["values"][0])
            theirs = bench.recall_at_10(index, vectors, queries)["recall_at_10"]
            ours = recall(exact, timed_search(index, queries, k)[0])
            assert abs(theirs - ours) < 1e-9, f"Recall@10 {ours} here, {theirs} by bench.recall_at_10"
            checked = True
        for value in config["values"]:
            set_search(index, config["param"], value)
            found, seconds = timed_search(index, queries, k)
            row = {
                "factory": dense_index_kind(len(vectors), own),  # "IVF{nlist},Flat" -> "IVF1264,Flat" at 100k
                "ef_construction": config["efc"] if "HNSW" in config["factory"] else None,
                "param": config["param"],
                "value": value,
                "build_s": round(build_s, 1),
                "index_mb": round(index_mb, 0),
                "recall_at_10": recall(exact, found),
                **bench.percentiles(seconds),
                "peak_rss_mb": round(bench.peak_rss_mb(), 0),
                "load_average": round(os.getloadavg()[0], 2),
            }
            results["rows"].append(row)
            print(
                f"{row['factory']:<16} {row['ef_construction'] or '-':>4} {row['param']:>8} {value:>6} {build_s:>8.1f} "
                f"{index_mb:>9.0f} {row['recall_at_10']:>7.4f} {row['p50_ms']:>7.2f} {row['p95_ms']:>7.2f} "
                f"{row['max_ms']:>7.2f} {row['peak_rss_mb']:>9.0f}",
                flush=True,
            )
            out.write_text(json.dumps(results, indent=1), encoding="utf-8")
        del index
        gc.collect()
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"JSON: {out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
