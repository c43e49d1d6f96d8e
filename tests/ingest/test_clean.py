"""Cleaning OCR'd text: real lines of the shipped corpus, and properties of any text."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from bot.ingest.clean import clean_document
from bot.ingest.corpus import corpus_files, read_document
from tests.conftest import CORPUS

SOURCE = (CORPUS / "wanzhou-2020-12.txt").read_text(encoding="utf-8")


def body(document) -> str:
    return "".join(section.text for section in document.sections)


def test_spaces_inside_dates_and_numbers_are_removed():
    document = clean_document("会议\n\n今年 12 月 3 日，“2020 川渝国企万州行”开幕。\n", "d", "d")
    assert "今年12月3日，“2020川渝国企万州行”开幕。" in body(document)


def test_spaces_between_english_words_are_kept():
    document = clean_document("The Three Gorges  hub\nopened in Wanzhou 万州 on\nMonday.\n", "d", "d")
    assert "The Three Gorges hub opened in Wanzhou 万州 on Monday." == body(document)


def test_lines_broken_inside_a_sentence_are_joined():
    document = read_document(CORPUS / "wanzhou-2020-12.txt", CORPUS)
    text = body(document)
    assert "活动中，达成3项战略合作协议，央属国企及川渝两省市40多家地方国企与万达开三地签约项目43个，协议投资1153亿元" in text
    assert "\n" not in text.split("。")[0]


def test_blank_line_inside_a_sentence_does_not_break_it():
    # "……重大机\n\n遇，积极担起……" in the source: a column break, not a paragraph break.
    text = body(read_document(CORPUS / "wanzhou-2020-12.txt", CORPUS))
    assert "重大机遇，积极担起责任使命" in text
    assert "加快构建内畅外联" in text


def test_headlines_become_sections_not_sentences():
    document = read_document(CORPUS / "wanzhou-2020-12.txt", CORPUS)
    titles = [section.title for section in document.sections]
    assert titles == [
        "",
        "构筑立体交通枢纽 提升互联互通水平",
        "构建现代产业体系 发展优势产业集群",
        "生态环境联防联治 公共服务共建共享",
    ]
    text = body(document)
    for title in titles[1:]:
        assert title.replace(" ", "") not in text
    assert "12月3日，万州" not in text  # the dateline above the headline
    assert "·万州" not in text  # the byline under it


def test_headline_printed_after_its_text_titles_that_text():
    document = read_document(CORPUS / "wanzhou-2020-12.txt", CORPUS)
    ecology = document.sections[-1]
    assert ecology.text.startswith("成渝地区双城经济圈位于长江上游生态屏障区")
    assert "长江干流万州段水质保持Ⅱ类" in ecology.text
    industry = document.sections[2]
    assert industry.text.endswith("功能共享型金融业实现了新的发展。")


def test_ellipsis_filler_lines_are_dropped():
    document = read_document(CORPUS / "wanzhou-2020-12.txt", CORPUS)
    text = body(document)
    assert "……" not in text
    assert "加快了成渝地区双城经济圈建设的步伐。\n随着越来越多的高铁、高速公路修建" in document.sections[1].text


def test_offsets_point_back_into_the_source():
    document = read_document(CORPUS / "wanzhou-2020-12.txt", CORPUS)
    for section in document.sections:
        assert len(section.offsets) == len(section.text)
        for char, offset in zip(section.text, section.offsets):
            if not char.isspace():
                assert SOURCE[offset] == char
        assert list(section.offsets) == sorted(section.offsets)


def test_every_character_of_the_source_is_kept_or_is_a_headline():
    document = read_document(CORPUS / "wanzhou-2020-12.txt", CORPUS)
    kept = {offset for section in document.sections for offset in section.offsets}
    lost = "".join(char for offset, char in enumerate(SOURCE) if not char.isspace() and offset not in kept)
    assert lost == (
        "12月3日，万州" "构筑立体交通枢纽提升互联互通水平" "……" "构建现代产业体系发展优势产业集群" "·万州"
        "生态环境联防联治公共服务共建共享"
    )


def test_markdown_headings_are_sections():
    document = clean_document("# 标题\n\n正文第一句。\n\n## 第二节\n\n第二节的内容。\n", "a.md", "a", markdown=True)
    assert [(s.title, s.text) for s in document.sections] == [("标题", "正文第一句。"), ("第二节", "第二节的内容。")]


def test_markdown_list_items_are_lines_of_their_own():
    source = "# 做法\n\n## 食材\n- 五花肉500克\n- 冰糖30克\n  （黄冰糖更好）\n\n## 步骤\n1. 焯水5分钟。\n2. 小火焖煮60分钟。\n\n-5度时冷藏。\n"
    document = clean_document(source, "a.md", "a", markdown=True)
    assert [(s.title, s.text) for s in document.sections] == [
        ("食材", "五花肉500克\n冰糖30克（黄冰糖更好）"),  # the bullets go; an item's second line stays with it
        ("步骤", "1. 焯水5分钟。\n2. 小火焖煮60分钟。\n-5度时冷藏。"),  # numbers stay; -5 is no bullet
    ]
    ingredient = document.sections[0]
    start = ingredient.text.index("冰糖")
    assert source[ingredient.offsets[start] : ingredient.offsets[start] + 4] == "冰糖30"


def test_a_numbered_heading_on_its_own_line_is_not_glued_to_the_body():
    source = "青禾中学创办于1952年。\n一、招生计划\n计划招收高一新生720人，共16个\n班。\n（二）收费\n学费每学期800元。\n"
    text = clean_document(source, "a.txt", "a").sections[0].text
    assert text == "青禾中学创办于1952年。\n一、招生计划\n计划招收高一新生720人，共16个班。\n（二）收费\n学费每学期800元。"
    # A line opening with 一、 inside a sentence (an OCR break) is no heading.
    assert clean_document("他说：\n一、二两期工程\n已经完工。", "a.txt", "a").sections[0].text == "他说：一、二两期工程已经完工。"


def test_a_list_is_no_headline():
    document = clean_document("正文。\n\n- 甲\n- 乙\n\n正文二。\n", "a.md", "a", markdown=True)
    assert [(s.title, s.text) for s in document.sections] == [("", "正文。\n甲\n乙\n正文二。")]


def test_corpus_files_are_found_recursively(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.txt").write_text("一。", encoding="utf-8")
    (tmp_path / "two.md").write_text("二。", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / ".hidden.txt").write_text("三。", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in corpus_files(tmp_path)] == ["a/one.txt", "two.md"]


OCR_TEXT = st.lists(
    st.one_of(
        st.text(alphabet="万州达开渝高铁建设开工项目投资亿元年月日区镇", min_size=1, max_size=25),
        st.sampled_from(["。", "，", "、", "！", "？", "”", "“", " ", "  ", "\n", "\n\n", "……", "12 月", "3 日", "Wanzhou city"]),
    ),
    max_size=60,
).map("".join)


@hsettings(max_examples=300, deadline=None)
@given(OCR_TEXT)
def test_cleaning_keeps_characters_in_order_and_offsets_exact(source):
    document = clean_document(source, "d", "d")
    previous = -1
    for section in document.sections:
        for char, offset in zip(section.text, section.offsets):
            if char == "\n":
                continue
            if char == " ":
                assert source[offset].isspace()
                continue
            assert source[offset] == char
            assert offset > previous
            previous = offset


@hsettings(max_examples=300, deadline=None)
@given(OCR_TEXT)
def test_cleaning_loses_only_headlines_and_filler(source):
    document = clean_document(source, "d", "d")
    kept = {offset for section in document.sections for offset in section.offsets}
    titles = " ".join(section.title for section in document.sections)
    for number, line in enumerate(source.split("\n")):
        start = sum(len(l) + 1 for l in source.split("\n")[:number])
        lost = [i for i in range(start, start + len(line)) if not source[i].isspace() and i not in kept]
        if lost:
            stripped = line.strip()
            # A dropped line is a filler line, or a headline line (its words are a section title or a dateline).
            assert re.fullmatch(r"[…\.。·\s]*", stripped) or " ".join(stripped.split()) in titles or re.match(
                r"^\d{1,2}\s*月", stripped
            ) or not document.sections, (line, titles)
