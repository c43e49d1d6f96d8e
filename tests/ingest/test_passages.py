"""Sentence windows: sizes, overlap, coverage, and offsets back into the source."""

from __future__ import annotations

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.ingest.clean import clean_document
from bot.ingest.corpus import read_document
from bot.ingest.passages import make_passages, sentence_windows, split_sentences
from tests.conftest import CORPUS

SOURCE = (CORPUS / "wanzhou-2020-12.txt").read_text(encoding="utf-8")


def shipped_passages():
    return make_passages([read_document(CORPUS / "wanzhou-2020-12.txt", CORPUS)], 150, 250)


def test_sentences_end_at_stops_and_keep_closing_quotes():
    text = "11月9日，渝万高铁正式开工建设。“这是好事！”他说；大家都同意?\n新段落没有句号"
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "11月9日，渝万高铁正式开工建设。",
        "“这是好事！”",
        "他说；",
        "大家都同意?",
        "新段落没有句号",
    ]


def test_a_stop_inside_a_quotation_does_not_end_the_sentence():
    text = "牛津英语词典解释暴发户为：“一个人迅速获得财富。通常使用时，含义即不适应新的地位。”这是定义。\n“未闭合的引号。\n下一行。"
    assert [text[a:b] for a, b in split_sentences(text, whole_quotes=True)] == [
        "牛津英语词典解释暴发户为：“一个人迅速获得财富。通常使用时，含义即不适应新的地位。”",
        "这是定义。",
        "“未闭合的引号。",
        "下一行。",
    ]
    title = "《卡拉OK.LIVE！‧台北‧我》是张雨生发行的第六张国语专辑。"
    assert [title[a:b] for a, b in split_sentences(title, whole_quotes=True)] == [title]
    # A bracket too: `Hey! Say! JUMP` is a group's name, not three sentences.
    group = "目前负责为杰尼斯旗下组合（包括TOKIO、岚及Hey! Say! JUMP）出版影音产品。此外还有。"
    assert [group[a:b] for a, b in split_sentences(group, whole_quotes=True)] == [group[:-5], "此外还有。"]
    unclosed = "他说：“" + "很长的一句话。" * 80
    assert max(b - a for a, b in split_sentences(unclosed, whole_quotes=True)) <= 400
    assert split_sentences(text)[0] == (0, text.index("。") + 1)  # passage windows: the shorter units


def test_windows_grow_to_the_minimum_and_overlap_by_one_sentence():
    spans = [(i * 60, i * 60 + 60) for i in range(10)]  # ten sentences of 60 characters
    windows = list(sentence_windows(spans, 150, 250))
    assert windows[0] == (0, 3)  # 240 characters: a fifth sentence would pass 250
    for (_, last), (first, _) in zip(windows, windows[1:]):
        assert first == last  # one sentence shared
    assert windows[-1][1] == 9


def test_shipped_corpus_passages_are_about_150_to_250_characters():
    passages = shipped_passages()
    lengths = [len(p.text) for p in passages]
    assert len(passages) >= 20
    assert sum(150 <= n <= 260 for n in lengths) / len(lengths) > 0.7
    assert max(lengths) <= 375  # never past 1.5 windows (the model reads ~510 tokens)


def test_passages_carry_document_title_section_and_span():
    passages = shipped_passages()
    railway = next(p for p in passages if "渝万高铁正式开工建设" in p.text)
    assert railway.doc_id == "wanzhou-2020-12.txt"
    assert railway.title == "wanzhou-2020-12"
    assert railway.section == "构筑立体交通枢纽 提升互联互通水平"
    assert railway.source == "wanzhou-2020-12 · 构筑立体交通枢纽 提升互联互通水平"
    # The span covers the OCR'd source text of the passage, line breaks and all.
    raw = SOURCE[railway.start : railway.end]
    assert "".join(raw.split()) .replace("……", "") == "".join(railway.text.split())


def test_passages_cover_every_sentence():
    document = read_document(CORPUS / "wanzhou-2020-12.txt", CORPUS)
    passages = make_passages([document], 150, 250)
    joined = "".join(p.text for p in passages)
    for section in document.sections:
        for start, end in split_sentences(section.text):
            assert section.text[start:end] in joined


def _is_subsequence(small: str, large: str) -> bool:
    chars = iter(large)
    return all(char in chars for char in small)


@hsettings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet="万州达开渝高铁建设开工项目投资亿元", min_size=1, max_size=80),
            st.sampled_from(["。", "，", "！", "”", "\n", "\n\n", " "]),
        ),
        max_size=80,
    ).map("".join)
)
def test_passage_spans_map_back_and_nothing_is_lost(source):
    document = clean_document(source, "d", "d")
    passages = make_passages([document], 40, 80)
    for passage in passages:
        raw = source[passage.start : passage.end]
        assert raw[0] == passage.text[0] and raw[-1] == passage.text[-1]
        assert _is_subsequence("".join(passage.text.split()), "".join(raw.split()))
    covered = "".join(p.text for p in passages)
    for section in document.sections:
        for char in "".join(section.text.split()):
            assert char in covered
