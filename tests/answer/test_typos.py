"""Typing slips in a question put right against the corpus: misspelt question words, and homophones a pinyin
keyboard picked instead of the character meant."""

from __future__ import annotations

import pytest

from bot.answer.typos import homophones, mend_homophones, mend_interrogatives
from bot.evaluate import read_jsonl
from bot.text.fold import fold
from tests.conftest import shared_file


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("改革协作框架协议是那几个地方签署的", "改革协作框架协议是哪几个地方签署的"),
        ("万州地处那些省市的交界区域？", "万州地处哪些省市的交界区域？"),
        ("萬州地處那些省市的交界區域？", "萬州地處哪些省市的交界區域？"),
        ("万州机场是那一年建成的", "万州机场是哪一年建成的"),
        ("渝万高铁合时开工", "渝万高铁何时开工"),
        ("渝万高铁什么时侯开工", "渝万高铁什么时候开工"),
        ("三峡综合物流枢纽初期投资多少前？", "三峡综合物流枢纽初期投资多少钱？"),
        ("万州的五大重点产业是甚么", "万州的五大重点产业是什么"),
        # A demonstrative where something else asks, and words that only look like slips, stay.
        ("那个项目投资了多少", "那个项目投资了多少"),
        ("那些企业在哪里", "那些企业在哪里"),
        ("这个季节种菜合时宜吗", "这个季节种菜合时宜吗"),
        ("渝万高铁何时开工", "渝万高铁何时开工"),
        ("「我那天晚上向她提出了这个问题」此话为何人所言?", "「我那天晚上向她提出了这个问题」此话为何人所言?"),  # quoted
    ],
)
def test_misspelt_question_words_are_put_right(typed, meant):
    assert mend_interrogatives(typed) == meant


def test_homophones_are_what_a_pinyin_keyboard_offers_for_the_same_syllable():
    assert "州" in homophones("洲") and "人" in homophones("仁") and "项" in homophones("相")
    assert "提" not in homophones("时")  # 提 is read shí only in old texts
    assert all(fold(other) == other for other in homophones("萬"))  # simplified only


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("万洲的五大重点产业是什么", "万州的五大重点产业是什么"),
        ("万达开地区有多少仁口?", "万达开地区有多少人口?"),
        ("三峡应机医院什么时候开工建设?", "三峡应急医院什么时候开工建设?"),
        ("龙沙镇生态猪养殖项目年出拦多少头", "龙沙镇生态猪养殖项目年出栏多少头"),
        ("万达开职业教育连盟什么时候成立的", "万达开职业教育联盟什么时候成立的"),
    ],
)
def test_a_homophone_slip_is_put_right_against_the_corpus(wenda, typed, meant):
    assert mend_homophones(wenda.index, typed) == meant


@pytest.mark.parametrize(
    "question",
    [
        "万州区委书记是谁?",  # 区委 is a word, one the corpus lacks: its absence is the answer
        "北京冬奥会什么时候开幕?",
        "上海的面积是多少平方公里?",
        "万州有哪些重点产业?",  # question words are never mended, though the corpus has no 哪些
        "高尔的家乡在美国的哪一州?",  # nor what 哪 asks of
        "万州全区森林复盖率达到多少",  # 复盖 is a (rare) word: left as typed
    ],
)
def test_words_are_left_as_typed(wenda, question):
    assert mend_homophones(wenda.index, question) == question


def test_no_seed_question_has_a_misspelt_question_word():
    questions = [question.question for question in read_jsonl(shared_file("seed_qa.jsonl"))]
    assert all(mend_interrogatives(question) == question for question in questions)


def test_seed_questions_are_not_mended_against_their_corpus(wenda):
    for question in read_jsonl(shared_file("seed_qa.jsonl")):
        folded = fold(question.question)
        assert mend_homophones(wenda.index, folded) == folded, question.question


def test_a_question_with_slips_is_answered_as_meant_and_says_how_it_was_read(wenda):
    answer = wenda.answer("万洲的五大重点产业是什么")
    assert answer.answer == "绿色照明、智能装备、食品医药、汽车、新材料"
    assert answer.question == "万洲的五大重点产业是什么"
    assert answer.read_as == "万州的五大重点产业是什么"
    assert answer.to_json()["read_as"] == "万州的五大重点产业是什么"
    assert wenda.answer("万达开国土空间规划协同合作框架协议是那天签的？").answer == "6月16日"
    # Traditional characters stay traditional; only the slip changes.
    assert wenda.answer("萬洲的五大重點產業是什麼").read_as == "萬州的五大重點產業是什麼"
    assert wenda.answer("万州的五大重点产业是什么").read_as is None


def test_mending_can_be_switched_off(wenda):
    from bot.answer.pipeline import Wenda

    plain = Wenda(wenda.settings.model_copy(update={"mend_slips": False}), wenda.embedder, wenda.index, wenda.reader)
    answer = plain.answer("万洲的五大重点产业是什么")
    assert answer.read_as is None and answer.question == "万洲的五大重点产业是什么"
