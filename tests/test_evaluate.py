"""Metric code on small hand-made cases: each figure computed by hand."""

from __future__ import annotations

import json

import pytest

from bot.answer.pipeline import Answer
from bot.evaluate import (
    Outcome,
    Question,
    abstention,
    char_f1,
    cmrc_normalise,
    contains_answer,
    detect_kind,
    exact_match,
    mrr_at,
    read_jsonl,
    read_squad,
    recall_at,
    score,
)


def test_cmrc_normalisation_drops_punctuation_space_and_case():
    assert cmrc_normalise("《改革 协作》，Framework!") == "改革协作framework"


def test_exact_match_after_normalisation():
    assert exact_match("11月9日。", "11月9日") == 1.0
    assert exact_match("1153億元", "1153亿元") == 1.0  # an answer in traditional characters
    assert exact_match("11月9日开工", "11月9日") == 0.0


def test_char_f1_is_longest_common_substring_f1():
    # LCS "1153亿" (5 chars): precision 5/7 ("协议1153亿"), recall 5/6 ("1153亿元").
    assert char_f1("协议1153亿", "1153亿元") == pytest.approx(2 * (5 / 7) * (5 / 6) / (5 / 7 + 5 / 6))
    assert char_f1("北京", "上海") == 0.0
    assert char_f1("15亿元", "15亿元") == 1.0


def test_contains_answer_ignores_whitespace_and_script():
    assert contains_answer("初期投资\n15 亿元", ["15亿元"])
    assert contains_answer("渝萬高鐵正式開工", ["渝万高铁"])
    assert not contains_answer(None, ["x"]) and not contains_answer("abc", ["d"])


def test_recall_and_mrr():
    ranks = [1, 2, None, 6]
    assert recall_at(ranks, 1) == 0.25
    assert recall_at(ranks, 5) == 0.5
    assert mrr_at(ranks, 10) == pytest.approx((1 + 1 / 2 + 1 / 6) / 4)
    assert mrr_at(ranks, 5) == pytest.approx((1 + 1 / 2) / 4)


def test_abstention_precision_and_recall():
    # found:      T     F     F     T
    # answerable: T     F     T     F   -> abstained on #2 (right) and #3 (wrong); missed #4.
    precision, recall = abstention([True, False, False, True], [True, False, True, False])
    assert precision == 0.5 and recall == 0.5
    assert abstention([True], [True]) == (None, None)


def test_file_kinds_are_detected_and_read(tmp_path):
    squad = tmp_path / "s.json"
    squad.write_text(
        json.dumps(
            {"data": [{"title": "t", "paragraphs": [{"id": "p1", "context": "文本。", "qas": [
                {"id": "q1", "question": "问？", "answers": [{"text": "文本", "answer_start": 0}]}]}]}]},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text(
        '{"id": "a", "question": "问？", "answers": ["答"], "evidence": "证据"}\n'
        '{"id": "b", "question": "不知？", "answers": [], "unanswerable": true}\n',
        encoding="utf-8",
    )
    assert detect_kind(squad) == "squad" and detect_kind(jsonl) == "jsonl"
    paragraphs, questions = read_squad(squad)
    assert paragraphs == [("p1", "t", "文本。")] and questions[0].gold_doc == "p1"
    items = read_jsonl(jsonl)
    assert [q.answerable for q in items] == [True, False]
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_jsonl(bad)


def test_figures_per_question_type_count_only_answerable_questions():
    def outcome(question: str, golds: list[str], answer: str | None) -> Outcome:
        said = Answer(question, answer is not None, answer, answer and f"{answer}。", [], 0.5)
        return Outcome(Question("q", question, golds), said, 1, 0.01)

    report = score(
        [
            outcome("渝万高铁何时开工？", ["11月9日"], "11月9日"),
            outcome("渝万高铁何时通车？", ["2025年"], "2025年底"),  # contains the gold: correct, not exact
            outcome("新田港何时建成？", ["9月"], None),  # said not found
            outcome("万州森林覆盖率是多少？", ["53.5%"], "68%"),
            outcome("万州区长是谁？", [], None),  # unanswerable: in no row
        ],
        "jsonl",
    )
    assert list(report.by_kind) == ["time", "quantity"]  # most asked first
    time = report.by_kind["time"]
    assert (time["answerable"], time["answered_correctly"], time["said_not_found"]) == (3, 2, 1)
    assert time["answer_exact_match"] == pytest.approx(1 / 3)
    assert time["answer_f1"] == pytest.approx((1 + 10 / 11) / 3)  # 2025年 in 2025年底: P 5/6, R 1
    assert time["sentence_accuracy"] == pytest.approx(2 / 3)
    assert report.by_kind["quantity"]["answered_correctly"] == 0
