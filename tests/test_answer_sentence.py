"""Choosing the answer sentence, and the question forms and spans it relies on (issue 4, CMRC 2018)."""

from __future__ import annotations

import re

from bot.answer import content_words, decide
from bot.extract import extract
from bot.index import Hit
from bot.passages import Passage
from bot.question import OTHER, TIME, analyse


def choose(wenda, question: str, hits: list[Hit]):
    info = analyse(question)
    return wenda.choose_sentence(info, content_words(info.content), hits)


def fish_passage(start: int, text: str, doc: str = "fish.txt", title: str = "蓝线裸顶鲷") -> Passage:
    return Passage(doc, title, "", start, start + len(text), text)


def test_a_neighbouring_window_of_the_same_article_competes_and_the_title_counts(wenda, settings):
    # The best window names the fish; the next window of the same article says what it eats, calling it 本鱼.
    best = fish_passage(0, "蓝线裸顶鲷，又称蓝线白𫚭，为辐鳍鱼纲鲈形目龙占鱼科的其中一个种。本鱼栖息在岩礁附近的沙质海域。")
    neighbour = fish_passage(44, "本鱼栖息在岩礁附近的沙质海域。属肉食性，以甲壳类、头足类和小鱼为食。")
    other = fish_passage(0, "黄鳍紫鱼以其他鱼类为食。", doc="other.txt", title="黄鳍紫鱼")
    hits = [Hit(best, 0.92, 9.0, 1.0), Hit(neighbour, 0.90, 6.0, 0.5), Hit(other, 0.88, 5.0, 0.4)]
    sentence, span, hit, cover = choose(wenda, "蓝线裸顶鲷以什么为食？", hits)
    assert sentence == "属肉食性，以甲壳类、头足类和小鱼为食。"
    assert hit.passage is neighbour
    # The sentence does not repeat the fish's name, but the document's title names it: not "not found".
    assert cover >= settings.min_sentence_coverage


def test_another_articles_passage_competes_only_when_it_ranks_nearly_as_well(wenda):
    best = fish_passage(0, "蓝线裸顶鲷，为辐鳍鱼纲鲈形目龙占鱼科的其中一个种。")
    other = fish_passage(0, "蓝线裸顶鲷以甲壳类为食。", doc="other.txt", title="鱼类")
    assert choose(wenda, "蓝线裸顶鲷以什么为食？", [Hit(best, 0.9, 9.0, 1.0), Hit(other, 0.8, 2.0, 0.3)])[2].passage is best
    assert choose(wenda, "蓝线裸顶鲷以什么为食？", [Hit(best, 0.9, 9.0, 1.0), Hit(other, 0.9, 8.0, 0.95)])[2].passage is other


def test_typed_span_is_looked_for_where_it_can_still_decide(wenda):
    """The span bonus is only computed for sentences it could lift to the top, and the chosen one always."""
    passage = fish_passage(0, "蓝线裸顶鲷，为辐鳍鱼纲鲈形目龙占鱼科的其中一个种。体长可达80公分。")
    sentence, span, _, _ = choose(wenda, "蓝线裸顶鲷的体长有多少公分？", [Hit(passage, 0.9, 9.0, 1.0)])
    assert sentence == "体长可达80公分。" and span is not None and span.text == "80公分"


def test_why_questions_ask_for_a_reason_not_a_time():
    assert analyse("符泳练水的时间是其他泳手的一半，为什么却拥有非凡的成绩？").kind == OTHER
    assert analyse("渝万高铁何时开工？").kind == TIME


def test_how_long_in_time_wants_a_duration():
    info = analyse("《中朝友好合作互助条约》有效期是多长时间？")
    assert re.search(info.unit, "二十年") and not re.search(info.unit, "米")
    found = extract(info, "《中朝友好合作互助条约》有效期二十年，如一方要求修改或终止。", content_words(info.content))
    assert found is not None and found.text == "二十年"


def span(question: str, sentence: str) -> str | None:
    info = analyse(question)
    found = extract(info, sentence, content_words(info.content))
    return found.text if found else None


def test_quantities_with_a_spaced_latin_unit_or_公尺():
    assert span("巴黎第四区的土地面积是多少？", "该区土地面积1.601 km²，是巴黎市第三小的区。") == "1.601 km²"
    assert span("P. tuckeri的体长有多长？", "P. tuckeri的体长约13公尺，大于P. bennisoni。") == "13公尺"


def test_time_without_a_calendar_date():
    assert span("峡谷什么时候可能会短期关闭？", "峡谷终年可以进入，只有在春季化雪的时候可能会短期关闭。") == "春季"
    assert span("符泳什么时候开始成为香港五十米自由式的冠军？", "自十八岁开始至今，符泳是香港五十米自由式的冠军。") == "十八岁"
    # A date still wins over a vaguer expression, and a time word far from the question's words is none.
    assert span("渝万高铁何时开工？", "11月9日上午，渝万高铁正式开工建设。") == "11月9日"
    assert span("渝万高铁何时开工？", "冬季多雾，气温较低。") is None


def test_decide_still_needs_a_typed_span_for_dates_and_numbers(settings):
    evidence = {"chinese": True, "dense": 0.9, "coverage": 0.9, "sentence_coverage": 0.9, "kind": TIME,
                "typed_span": False, "requires_span": True}
    assert decide(evidence, settings) == (False, "no time answer where the text talks of this")
