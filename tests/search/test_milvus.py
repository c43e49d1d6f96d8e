"""INDEX_BACKEND=milvus against Milvus Lite (the `.[milvus]` extra): the same ranking and answers as FAISS,
collection versions behind an alias, and a failed build that changes nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bot.answer.pipeline import Wenda
from bot.search.build import rebuild
from bot.search.errors import IndexMismatch
from bot.search.index import CURRENT_FILE, Index
from bot.search.lexical import lexical_tokens, make_bm25
from bot.search.milvus import MilvusStore, client_for, passage_terms, query_terms
from tests.conftest import corpus_copy, milvus_server, shared_file

pytest.importorskip("pymilvus", reason="the Milvus backend needs the .[milvus] extra (pymilvus, milvus-lite)")

QUESTIONS = ["渝万高铁何时开工", "三峡综合物流枢纽初期投资多少钱", "万州到达州的城际快巴多久一班", "What is the GDP of Wanzhou?"]


@pytest.fixture()
def milvus_settings(tmp_path, settings, wenda):
    """A copy of the shipped corpus indexed into Milvus Lite in tmp_path (the session's embedding cache)."""
    return corpus_copy(tmp_path, settings).model_copy(update={"index_backend": "milvus"})


def collections(settings) -> list[str]:
    return sorted(name for name in client_for(settings).list_collections() if name.startswith(f"{settings.milvus_prefix}_build_"))


def test_passage_and_question_terms_give_bm25s_scores_exactly(wenda):
    passages = wenda.index.passages
    bm25 = make_bm25(passages)
    terms = list(passage_terms(bm25, len(passages)))
    assert len(terms) == len(passages) and all(terms)
    for question in QUESTIONS[:3] + ["万州万州高铁"]:  # a repeated token counts twice, as in bm25s
        tokens = lexical_tokens(question)
        query = query_terms(bm25, tokens)
        inner = np.array([sum(weight * passage.get(token, 0.0) for token, weight in query.items()) for passage in terms])
        expected = np.asarray(bm25.get_scores_from_ids(bm25.get_tokens_ids(tokens)))
        assert np.allclose(inner, expected, rtol=1e-5, atol=1e-5)


def test_milvus_ranks_as_faiss_does_and_answers_the_same(milvus_settings, embedder, wenda):
    built, report = rebuild(milvus_settings, embedder)
    assert report.embedded == 0 and built.vectors is None and built.store is not None
    loaded = Index.load(milvus_settings.index_dir, settings=milvus_settings)
    assert loaded.store.name == loaded.manifest["collection"] == built.store.name
    assert not (loaded.path / "vectors.faiss").exists()
    for question in QUESTIONS:
        vector = embedder.encode_queries([question])[0]
        faiss_hits = wenda.index.search(vector, question, 5, 0.6, 50)
        milvus_hits = loaded.search(vector, question, 5, 0.6, 50)
        assert [h.passage.text for h in milvus_hits] == [h.passage.text for h in faiss_hits], question
        assert np.allclose([h.dense for h in milvus_hits], [h.dense for h in faiss_hits], atol=1e-4)
        assert np.allclose([h.bm25 for h in milvus_hits], [h.bm25 for h in faiss_hits], rtol=1e-4, atol=1e-4)
    on_milvus = Wenda(milvus_settings, embedder, loaded)
    for question in QUESTIONS:
        assert on_milvus.answer(question).to_json()["answer"] == wenda.answer(question).to_json()["answer"], question


def test_seed_answers_are_identical_on_both_backends(milvus_settings, embedder, wenda):
    rebuild(milvus_settings, embedder)
    on_milvus = Wenda(milvus_settings, embedder, Index.load(milvus_settings.index_dir, settings=milvus_settings))
    path = shared_file("seed_qa.jsonl")
    for line in path.read_text(encoding="utf-8").splitlines():
        question = json.loads(line)["question"]
        faiss_answer, milvus_answer = wenda.answer(question), on_milvus.answer(question)
        assert (milvus_answer.found, milvus_answer.answer, milvus_answer.sentence) == (
            faiss_answer.found,
            faiss_answer.answer,
            faiss_answer.sentence,
        ), question


def test_each_build_is_a_version_the_alias_moves_to_and_the_one_before_stays(milvus_settings, embedder, wenda):
    first, _ = rebuild(milvus_settings, embedder)
    store = first.store
    assert store.current() == first.store.name
    second, _ = rebuild(milvus_settings, embedder)
    assert store.current() == second.store.name
    assert collections(milvus_settings) == sorted([first.store.name, second.store.name])  # the one before stays
    assert first.search(embedder.encode_queries(["渝万高铁何时开工"])[0], "渝万高铁何时开工", 3, 0.6, 50)  # still answers
    third, _ = rebuild(milvus_settings, embedder)
    assert store.current() == third.store.name
    assert collections(milvus_settings) == sorted([second.store.name, third.store.name])  # two builds old: dropped


def test_a_build_that_fails_while_filling_leaves_the_alias_and_current_on_the_old_version(milvus_settings, embedder, wenda, monkeypatch):
    old, _ = rebuild(milvus_settings, embedder)
    current = (milvus_settings.index_dir / CURRENT_FILE).read_text()

    def fill_then_die(self, vectors, terms, progress=None):
        real_fill(self, vectors[:5], iter([next(terms) for _ in range(5)]), progress)
        raise KeyboardInterrupt("killed while filling")

    real_fill = MilvusStore.fill
    monkeypatch.setattr(MilvusStore, "fill", fill_then_die)
    with pytest.raises(KeyboardInterrupt):
        rebuild(milvus_settings, embedder)
    monkeypatch.undo()
    assert (milvus_settings.index_dir / CURRENT_FILE).read_text() == current
    assert old.store.current() == old.store.name
    loaded = Index.load(milvus_settings.index_dir, settings=milvus_settings)
    assert loaded.store.name == old.store.name and len(loaded) == len(old)
    assert Wenda(milvus_settings, embedder, loaded).answer("渝万高铁何时开工").answer == "11月9日"
    after, _ = rebuild(milvus_settings, embedder)  # the next build drops the half-filled collection
    assert collections(milvus_settings) == sorted([old.store.name, after.store.name])


def test_a_sigkilled_build_leaves_the_alias_and_current_on_the_old_version(tmp_path, settings, embedder, wenda, cli_env):
    """`wenda index` in its own process, against a `milvus-lite server`, killed with SIGKILL once its new
    collection exists and before the alias moves to it: the alias, CURRENT and the answers stay on the old
    version, and the next build drops the half-made collection."""
    with milvus_server(tmp_path) as uri:
        own = corpus_copy(tmp_path, settings).model_copy(update={"index_backend": "milvus", "milvus_uri": uri})
        old, _ = rebuild(own, embedder)
        current = (own.index_dir / CURRENT_FILE).read_text()
        client = client_for(own)
        (own.corpus_dir / "park.md").write_text("万州区今天宣布，新建的滨江公园将于明年五月对市民开放，公园占地三百二十亩。", encoding="utf-8")
        env = dict(cli_env, CORPUS_DIR=str(own.corpus_dir), INDEX_DIR=str(own.index_dir), INDEX_BACKEND="milvus", MILVUS_URI=uri)
        command = [sys.executable, "-m", "bot.cli", "index", "-q"]
        for attempt in range(5):
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            while process.poll() is None and collections(own) == [old.store.name]:
                time.sleep(0.005)
            os.kill(process.pid, signal.SIGSTOP)  # frozen: what it has done can be read without a race
            made = [name for name in collections(own) if name != old.store.name]
            published = old.store.current() != old.store.name
            os.kill(process.pid, signal.SIGKILL)
            stderr = process.communicate()[1].decode()
            assert process.returncode in (-signal.SIGKILL, 0), stderr[-3000:]
            if made and not published and process.returncode == -signal.SIGKILL:
                break  # caught between creating its collection and moving the alias
            assert process.returncode != 0 or published, "the build ended without moving the alias"
            old = Index.load(own.index_dir, settings=own)  # it finished first: try again from there
            current = (own.index_dir / CURRENT_FILE).read_text()
            (own.corpus_dir / "park.md").write_text(f"第{attempt}次：" + (own.corpus_dir / "park.md").read_text(encoding="utf-8"), encoding="utf-8")
        else:
            raise AssertionError("never caught the build between its new collection and the alias in 5 attempts")
        assert (own.index_dir / CURRENT_FILE).read_text() == current
        assert old.store.current() == old.store.name and made[0] in client.list_collections()
        asked = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json", "渝万高铁何时开工"], env=env, capture_output=True, text=True, timeout=300)
        assert asked.returncode == 0, asked.stderr[-3000:]
        assert json.loads(asked.stdout)["answer"] == "11月9日"
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr[-3000:]
        new = Index.load(own.index_dir, settings=own)
        assert new.store.current() == new.store.name != old.store.name and "park.md" in new.documents
        assert collections(own) == sorted([old.store.name, new.store.name])  # the half-made one is dropped


def test_an_index_of_the_other_backend_says_to_rebuild(milvus_settings, embedder, wenda):
    rebuild(milvus_settings, embedder)
    loaded = Index.load(milvus_settings.index_dir, settings=milvus_settings)
    with pytest.raises(IndexMismatch, match="INDEX_BACKEND=milvus, but INDEX_BACKEND is faiss.*wenda index"):
        loaded.check_settings(milvus_settings.model_copy(update={"index_backend": "faiss"}))
    with pytest.raises(IndexMismatch, match="INDEX_BACKEND=faiss, but INDEX_BACKEND is milvus"):
        wenda.index.check_settings(milvus_settings)
