"""Tests for bot.ingest.loaders: real fixture files of every supported format, made in tmp_path."""

from __future__ import annotations

import codecs
import difflib
import re
import zipfile
from pathlib import Path

import pytest
from opencc import OpenCC

from bot.ingest.loaders import (
    SUPPORTED_SUFFIXES,
    LoadedText,
    UnreadableDocument,
    load_text,
)

# Paragraphs of the first corpus (corpus/wanzhou-2020-12.txt), OCR line breaks removed.
P_ACTIVITY = (
    "12月7日、8日，由四川省国资委、重庆市国资委、万州区人民政府、达州市人民政府、"
    "开州区人民政府共同主办的川东北、渝东北地区一体化发展“2020川渝国企万州行”活动走进万州。"
)
P_AGREEMENTS = (
    "活动中，达成3项战略合作协议，央属国企及川渝两省市40多家地方国企与万达开三地签约项目43个，"
    "协议投资1153亿元，涉及交通、产业、环保、物流、金融、民生等多个领域；四川港投集团与重庆市"
    "万州汽车运输（集团）有限责任公司、重庆万商实业集团物流有限公司共同投资合作共建的重庆三峡"
    "物流集团有限公司揭牌。"
)
P_REFORM = (
    "10月23日，万州、达州、开州、梁平、云阳5地在万州召开全面深化改革座谈会议，并签署《改革协作"
    "框架协议》，共同推进跨区域制度创新，强化区域发展协同，深化产业互利合作，构建全面立体开放新格局。"
)
P_PLANNING = (
    "6月16日，《万达开国土空间规划协同合作框架协议》签署，约定在更多领域联动协作，实现资源共享、"
    "优势互补、利益共赢。"
)
P_GOVSERVICE = (
    "9月17日，万州、达州、开州签署政务服务协同发展战略框架协议，加快梳理跨区域通办政务服务事项，"
    "建立通办事项清单和定期沟通制度，推进政务服务一体化发展，为构建更加良好的营商环境进一步扫清了障碍。"
)
P_TRANSPORT = (
    "市委五届八次全会强调，建设成渝地区双城经济圈，要加强交通基础设施建设，着力畅通多向出渝大通道，"
    "完善区域交通网络体系，健全交通物流枢纽设施体系，统筹规划建设国际多式联运集疏系统，加快构建"
    "互联互通、快捷高效的现代综合交通运输体系。"
)
P_HUB = (
    "三峡综合物流枢纽初期投资15亿元，先期启动智能仓储物流中心、集装箱及散货堆场、大宗物资分拨中心、"
    "冷链物流中心4个板块项目建设，建成后将极大提升成渝地区物流规模化、智能化、集约化水平。"
)
P_ECOLOGY = (
    "截至目前，万州辖区21条次级河流水质持续向好，长江干流万州段水质保持Ⅱ类，全区森林覆盖率和长江"
    "两岸森林覆盖率分别达53.5%、68%，建成50余公里消落带生态绿廊，为成渝地区双城经济圈建设腾出了"
    "生态容量，同时也为万达开川渝统筹发展示范区蓄积了绿色发展动能。"
)
HEADLINE = "万州构筑立体交通枢纽 提升互联互通水平"
PARAGRAPHS = [
    P_ACTIVITY,
    P_AGREEMENTS,
    P_REFORM,
    P_PLANNING,
    P_GOVSERVICE,
    P_TRANSPORT,
    P_HUB,
    P_ECOLOGY,
]

_S2TW = OpenCC("s2tw")


def traditional(text: str) -> str:
    return _S2TW.convert(text)


def ocr_lines(paragraph: str, width: int = 17) -> list[str]:
    """Cut a paragraph the way the newspaper OCR did: a line break every few characters."""
    return [paragraph[i : i + width] for i in range(0, len(paragraph), width)]


def ocr_text(paragraphs: list[str]) -> str:
    return "\n\n".join("\n".join(ocr_lines(p)) for p in paragraphs) + "\n"


def blocks(parts: list[str]) -> str:
    """The expected text: paragraphs separated by blank lines."""
    return "\n\n".join(parts)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, squash(a), squash(b), autojunk=False).ratio()


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def unreadable(path: Path, **kwargs) -> str:
    with pytest.raises(UnreadableDocument) as info:
        load_text(path, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{path.name}: "), message
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------
# plain text


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == frozenset(
        {".txt", ".md", ".markdown", ".docx", ".pdf", ".html", ".htm"}
    )


def test_utf8_text(tmp_path):
    source = ocr_text(PARAGRAPHS)
    loaded = load_text(write(tmp_path, "wanzhou.txt", source.encode("utf-8")))
    assert isinstance(loaded, LoadedText)
    assert loaded.encoding == "utf-8"
    assert loaded.text == source
    assert loaded.title is None


def test_accepts_str_path_and_upper_case_suffix(tmp_path):
    path = write(tmp_path, "WANZHOU.TXT", P_ACTIVITY.encode("utf-8"))
    assert load_text(str(path)).text == P_ACTIVITY


def test_utf8_bom_is_stripped(tmp_path):
    source = ocr_text(PARAGRAPHS[:3])
    loaded = load_text(
        write(tmp_path, "bom.txt", codecs.BOM_UTF8 + source.encode("utf-8"))
    )
    assert loaded.encoding == "utf-8-sig"
    assert loaded.text == source
    assert not loaded.text.startswith("\ufeff")


def test_line_endings_and_control_characters(tmp_path):
    raw = "第一行\r\n第二行\r第三行\n\t缩进\x07响铃\x1b[0m\x00".replace("\x00", "")
    raw += "\x0c下一页\u2028分行\x85末行"
    loaded = load_text(write(tmp_path, "crlf.txt", raw.encode("utf-8")))
    assert loaded.text == "第一行\n第二行\n第三行\n\t缩进响铃[0m\n下一页\n分行\n末行"
    assert "\r" not in loaded.text


def test_gbk_text_is_decoded_as_gb18030(tmp_path):
    source = ocr_text(PARAGRAPHS).replace("\n", "\r\n")
    loaded = load_text(write(tmp_path, "gbk.txt", source.encode("gbk")))
    assert loaded.encoding == "gb18030"
    assert loaded.text == source.replace("\r\n", "\n")


def test_gb18030_only_characters(tmp_path):
    # ·, € and an extension-B character are outside GB2312/GBK: four-byte GB18030.
    source = "构建现代产业体系 发展优势产业集群 ·万州\n价格 5€，姓名𠀋先生。\n" + P_HUB
    loaded = load_text(write(tmp_path, "gb18030.txt", source.encode("gb18030")))
    assert loaded.encoding == "gb18030"
    assert loaded.text == source


def test_big5_traditional_text(tmp_path):
    source = traditional(ocr_text(PARAGRAPHS))
    assert "萬州" in source and "國資委" in source
    loaded = load_text(write(tmp_path, "big5.txt", source.encode("big5")))
    assert loaded.encoding in {"big5", "cp950", "big5hkscs"}
    assert loaded.text == source


def test_cp950_only_characters(tmp_path):
    # 碁 and 銹 are in Microsoft's cp950 extension, not in plain Big5.
    source = traditional(P_ACTIVITY) + "\n圍碁比賽，鐵銹。\n"
    loaded = load_text(write(tmp_path, "cp950.txt", source.encode("cp950")))
    assert loaded.encoding == "cp950"
    assert loaded.text == source


def test_short_lines_pick_the_right_legacy_encoding(tmp_path):
    """Every OCR line on its own: GB2312 bytes often also decode as Big5 and vice versa,
    and charset-normalizer alone misnames a few percent of such snippets."""
    wrong = []
    for n, line in enumerate(line for p in PARAGRAPHS for line in ocr_lines(p)):
        if not re.search(r"[\u4e00-\u9fff]", line):
            continue
        for label, text, encoding, expected in (
            ("gb", line, "gb2312", {"gb18030"}),
            ("b5", traditional(line), "big5", {"big5", "cp950", "big5hkscs"}),
        ):
            path = write(tmp_path, f"{label}{n}.txt", text.encode(encoding))
            loaded = load_text(path)
            if loaded.encoding not in expected or loaded.text != text:
                wrong.append((label, text, loaded.encoding, loaded.text))
    assert not wrong


def test_utf16_with_bom(tmp_path):
    source = ocr_text(PARAGRAPHS[:2])
    for encoding in ("utf-16-le", "utf-16-be"):
        bom = codecs.BOM_UTF16_LE if encoding.endswith("le") else codecs.BOM_UTF16_BE
        path = write(tmp_path, f"{encoding}.txt", bom + source.encode(encoding))
        loaded = load_text(path)
        assert loaded.encoding == "utf-16"
        assert loaded.text == source


def test_utf16_without_bom(tmp_path):
    source = "Wenda 问答\r\n" + ocr_text(PARAGRAPHS[:2])
    loaded = load_text(write(tmp_path, "nobom.txt", source.encode("utf-16-le")))
    assert loaded.encoding == "utf-16-le"
    assert loaded.text == source.replace("\r\n", "\n")


def test_binary_file_is_refused(tmp_path):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06"
    message = unreadable(write(tmp_path, "picture.txt", png + bytes(range(256)) * 4))
    assert "binary" in message


def test_undecodable_text_is_refused(tmp_path):
    # Latin-1 French: not UTF-8; the bytes are no plausible GB18030 or Big5 text either.
    french = (
        "Le café de la gare, crème brûlée à volonté. Où êtes-vous ? Très bien.\n" * 3
    )
    message = unreadable(write(tmp_path, "french.txt", french.encode("latin-1")))
    assert "cannot decode" in message
    assert "GB18030" in message and "Big5" in message


def test_damaged_utf8_text_is_refused_with_a_hint(tmp_path):
    data = bytearray(ocr_text(PARAGRAPHS).encode("utf-8"))
    data[300] = 0xFF  # one byte of a character overwritten
    message = unreadable(write(tmp_path, "damaged.txt", bytes(data)))
    assert "cannot decode" in message
    assert "looks like UTF-8 text damaged in 1 place(s), first at byte 299" in message


def test_noise_bytes_are_refused(tmp_path):
    noise = bytes((i * 73 + 41) % 255 + 1 for i in range(3000))  # no NUL
    assert "cannot decode" in unreadable(write(tmp_path, "noise.txt", noise))


def test_empty_file_is_refused(tmp_path):
    assert "no text" in unreadable(write(tmp_path, "empty.txt", b""))
    assert "no text" in unreadable(write(tmp_path, "blank.md", b" \r\n\t\n"))


def test_markdown_title(tmp_path):
    source = (
        "```bash\n# not a title\n```\n\n"
        f"# {HEADLINE}\n\n{P_TRANSPORT}\n\n## 小标题\n\n{P_HUB}\n"
    )
    loaded = load_text(write(tmp_path, "notes.md", source.encode("utf-8")))
    assert loaded.title == HEADLINE
    assert loaded.text == source
    other = load_text(write(tmp_path, "plain.markdown", f"{P_HUB}\n".encode()))
    assert other.title is None


def test_size_guard(tmp_path):
    path = write(tmp_path, "big.txt", ocr_text(PARAGRAPHS).encode("utf-8"))
    message = unreadable(path, max_bytes=1000)
    assert "too large" in message and "bytes" in message
    assert load_text(path, max_bytes=path.stat().st_size).text


def test_missing_and_unsupported_files(tmp_path):
    assert "not found" in unreadable(tmp_path / "missing.txt")
    message = unreadable(write(tmp_path, "slides.pptx", b"PK\x03\x04"))
    assert "unsupported file type .pptx" in message
    assert "unsupported" in unreadable(write(tmp_path, "README", b"hello"))


# ---------------------------------------------------------------------------
# DOCX


def make_docx(path: Path, *, core_title: str | None = None) -> Path:
    import docx

    document = docx.Document()
    if core_title is not None:
        document.core_properties.title = core_title
    document.add_heading(HEADLINE, level=1)
    document.add_paragraph(P_TRANSPORT)
    document.add_paragraph("")  # an empty paragraph is skipped
    document.add_paragraph(P_HUB)
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows,
        [
            ("项目", "投资", "地点"),
            ("三峡综合物流枢纽", "15亿元", "万州"),
            ("渝万高铁", "", "万州至重庆"),
        ],
    ):
        for cell, value in zip(row.cells, values):
            cell.text = value
    merged = document.add_table(rows=1, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "合并单元格"
    merged.cell(0, 2).text = "右侧"
    document.add_heading("生态环境联防联治", level=2)
    document.add_paragraph(P_ECOLOGY)
    document.save(str(path))
    return path


def test_docx_paragraphs_headings_and_tables(tmp_path):
    loaded = load_text(make_docx(tmp_path / "report.docx"))
    assert loaded.encoding == "docx"
    assert loaded.title == HEADLINE
    assert loaded.text == blocks(
        [
            HEADLINE,
            P_TRANSPORT,
            P_HUB,
            "项目：投资，地点。",
            "三峡综合物流枢纽：15亿元，万州。",
            "渝万高铁：万州至重庆。",
            "合并单元格：右侧。",
            "生态环境联防联治",
            P_ECOLOGY,
        ]
    )


def test_a_table_at_a_documents_end_is_text_of_its_passages(tmp_path):
    """Bare rows at the end read as a trailing headline and went into the section's title."""
    import docx

    from bot.ingest.corpus import read_document
    from bot.ingest.passages import make_passages

    document = docx.Document()
    document.add_heading("白沙湖水库", level=1)
    document.add_paragraph("白沙湖水库位于万州区，大坝高四十二米，是一座以灌溉为主的中型水库。")
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [("灌溉面积", "十五万亩"), ("供水人口", "三十万人")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    path = tmp_path / "水库.docx"
    document.save(str(path))
    passages = make_passages([read_document(path, tmp_path)])
    text = "".join(passage.text for passage in passages)
    assert "灌溉面积：十五万亩。" in text and "供水人口：三十万人。" in text
    assert all("灌溉面积" not in passage.section and "供水人口" not in passage.section for passage in passages)


def test_docx_core_title_wins(tmp_path):
    loaded = load_text(make_docx(tmp_path / "titled.docx", core_title="万州日报专题"))
    assert loaded.title == "万州日报专题"


def test_docx_without_heading_has_no_title(tmp_path):
    import docx

    document = docx.Document()
    document.add_paragraph(P_ACTIVITY)
    document.add_paragraph(P_AGREEMENTS)
    path = tmp_path / "plain.docx"
    document.save(str(path))
    loaded = load_text(path)
    assert loaded.title is None
    assert loaded.text == f"{P_ACTIVITY}\n\n{P_AGREEMENTS}"


def test_corrupt_docx_is_refused(tmp_path):
    assert "not a valid .docx" in unreadable(
        write(tmp_path, "fake.docx", "这不是文档".encode())
    )
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    assert "Word 97-2003" in unreadable(write(tmp_path, "old.docx", ole))
    damaged = tmp_path / "damaged.docx"
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("hello.txt", "no word/document.xml here")
    assert "damaged" in unreadable(damaged)
    truncated = make_docx(tmp_path / "truncated.docx")
    truncated.write_bytes(truncated.read_bytes()[:2000])
    assert "damaged" in unreadable(truncated)


# ---------------------------------------------------------------------------
# PDF


def make_pdf(
    path: Path, pages: list[list[str]], *, title: str | None = None, encrypt=None
) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    style = ParagraphStyle(
        "zh", fontName="STSong-Light", fontSize=11, leading=16, wordWrap="CJK"
    )
    story = []
    for number, page in enumerate(pages):
        if number:
            story.append(PageBreak())
        for paragraph in page:
            story += [Paragraph(paragraph, style), Spacer(1, 8)]
    kwargs = {"title": title} if title is not None else {}
    SimpleDocTemplate(str(path), pagesize=A4, encrypt=encrypt, **kwargs).build(story)
    return path


def test_pdf_chinese_text(tmp_path):
    pages = [PARAGRAPHS[:4], PARAGRAPHS[4:]]
    loaded = load_text(
        make_pdf(tmp_path / "wanzhou.pdf", pages, title="川渝国企万州行")
    )
    assert loaded.encoding == "pdf"
    assert loaded.title == "川渝国企万州行"
    assert similarity(loaded.text, "".join(PARAGRAPHS)) > 0.99
    for paragraph in PARAGRAPHS:
        assert paragraph in squash(loaded.text)
    # the two pages are separated by a blank line
    first, second = loaded.text.split("\n\n")
    assert squash(first) == "".join(PARAGRAPHS[:4])
    assert squash(second) == "".join(PARAGRAPHS[4:])


def test_pdf_default_title_is_ignored(tmp_path):
    loaded = load_text(make_pdf(tmp_path / "untitled.pdf", [[P_HUB]]))
    assert loaded.title is None  # reportlab writes "(anonymous)"
    assert squash(loaded.text) == P_HUB


def test_pdf_without_text_layer_is_refused(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    drawing = canvas.Canvas(str(path))
    drawing.rect(72, 72, 300, 400, fill=1)
    drawing.showPage()
    drawing.rect(100, 100, 200, 200)
    drawing.save()
    message = unreadable(path)
    assert "no text layer" in message and "OCR" in message


def test_pdf_with_almost_no_text_is_refused(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "page-numbers.pdf"
    drawing = canvas.Canvas(str(path))
    for number in range(1, 4):
        drawing.drawString(300, 30, f"- {number} -")  # only page numbers
        drawing.rect(72, 72, 400, 600, fill=1)
        drawing.showPage()
    drawing.save()
    assert "no text layer" in unreadable(path)


def test_password_protected_pdf_is_refused(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption

    locked = make_pdf(
        tmp_path / "locked.pdf",
        [[P_HUB]],
        encrypt=StandardEncryption("user-secret", ownerPassword="owner-secret"),
    )
    assert "password" in unreadable(locked)


def test_pdf_with_owner_password_only_is_read(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption

    restricted = make_pdf(
        tmp_path / "restricted.pdf",
        [[P_HUB, P_ECOLOGY]],
        encrypt=StandardEncryption("", ownerPassword="owner-secret", canCopy=0),
    )
    loaded = load_text(restricted)
    assert squash(loaded.text) == P_HUB + P_ECOLOGY


def test_damaged_pdf_is_refused(tmp_path):
    assert "not a PDF" in unreadable(write(tmp_path, "fake.pdf", "不是PDF".encode()))
    message = unreadable(
        write(tmp_path, "broken.pdf", b"%PDF-1.4\n1 0 obj\n<< /Type /Ca")
    )
    assert "damaged" in message


# ---------------------------------------------------------------------------
# HTML

NOISY_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta http-equiv="X-UA-Compatible" content="IE=edge">
<meta charset="gbk">
<title>万州构筑立体交通枢纽_万州新闻网</title>
<style>body {{ font-family: "宋体"; }} .nav {{ color: red; }}</style>
<script>var 广告 = "脚本里的文字"; document.write("<p>脚本输出</p>");</script>
</head>
<body>
<header><div class="logo">万州新闻网</div><p>首页横幅标语</p></header>
<nav><ul><li><a href="/">首页</a></li><li><a href="/yw">要闻</a></li><li><a href="/qx">区县动态</a></li></ul></nav>
<div role="navigation" class="crumbs">当前位置：首页 &gt; 要闻 &gt; 正文</div>
<div class="wrap">
<article>
<header><h1>{headline}</h1><p class="meta">来源：万州日报 2020-12-03</p></header>
<p>{p1_start}
{p1_end}</p>
<p>{p2}</p>
<table><tr><th>项目</th><th>投资</th></tr><tr><td>三峡综合物流枢纽</td><td>15亿元</td></tr></table>
<footer>责任编辑：李编辑</footer>
</article>
<aside><h3>热门文章</h3><ul><li>重庆火锅节开幕</li></ul></aside>
</div>
<form action="/search">站内搜索<input name="q"><button>搜索按钮</button></form>
<noscript>请启用脚本</noscript>
<footer>版权所有 万州新闻网 渝ICP备12345号</footer>
<script type="text/javascript">window.统计 = "统计代码";</script>
</body>
</html>
"""


def noisy_page() -> str:
    return NOISY_PAGE.format(
        headline=HEADLINE,
        p1_start=P_TRANSPORT[:30],
        p1_end=P_TRANSPORT[30:],
        p2=P_HUB,
    )


def test_html_gbk_article_without_navigation(tmp_path):
    path = write(tmp_path, "news.html", noisy_page().encode("gbk"))
    loaded = load_text(path)
    assert loaded.encoding == "html/gb18030"
    assert loaded.title == HEADLINE
    # The source's line break between two Chinese characters inside P_TRANSPORT is gone.
    assert loaded.text == blocks(
        [
            HEADLINE,
            "来源：万州日报 2020-12-03",
            P_TRANSPORT,
            P_HUB,
            "项目：投资。",
            "三峡综合物流枢纽：15亿元。",
        ]
    )
    for noise in (
        "首页",
        "要闻",
        "区县动态",
        "当前位置",
        "万州新闻网",
        "横幅",
        "脚本",
        "广告",
        "统计",
        "热门文章",
        "火锅",
        "搜索",
        "版权所有",
        "责任编辑",
        "font-family",
    ):
        assert noise not in loaded.text, noise


def test_html_body_fallback_blocks_and_line_breaks(tmp_path):
    page = f"""<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<title>  万州要闻
  汇总 </title></head>
<body>
<nav>导航栏</nav>
<div class="content"><div>{P_ACTIVITY}</div><div>{P_AGREEMENTS}</div></div>
<h2>合作成果</h2>
<ul><li>签约项目43个</li><li>协议投资1153亿元</li></ul>
<p>第一行<br>第二行<br><br>第二段</p>
<pre>  代码行一
  代码行二</pre>
<p>A&amp;B &lt;万州&gt; &#x4E07;&#24030;</p>
</body></html>"""
    loaded = load_text(write(tmp_path, "index.htm", page.encode("utf-8")))
    assert loaded.encoding == "html/utf-8"
    assert loaded.title == "万州要闻 汇总"
    assert loaded.text == blocks(
        [
            P_ACTIVITY,
            P_AGREEMENTS,
            "合作成果",
            "签约项目43个",
            "协议投资1153亿元",
            "第一行\n第二行",
            "第二段",
            "代码行一\n代码行二",
            "A&B <万州> 万州",
        ]
    )


def test_html_main_element_and_hidden_parts(tmp_path):
    page = f"""<!doctype html><meta charset="utf-8"><body>
<div class="menu" role="menubar">菜单</div>
<main><h1>{HEADLINE}</h1><p>{P_HUB}</p><div hidden>隐藏内容</div>
<p style="display: none">不可见段落</p></main>
<div class="sidebar">侧栏推荐</div></body>"""
    loaded = load_text(write(tmp_path, "main.html", page.encode("utf-8")))
    assert loaded.text == f"{HEADLINE}\n\n{P_HUB}"
    assert loaded.title == HEADLINE


def test_html_tiny_article_does_not_hide_the_page(tmp_path):
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    page = f'<html><head><meta charset="utf-8"></head><body><div>{body}</div>'
    page += "<article><p>相关阅读</p></article></body></html>"
    loaded = load_text(write(tmp_path, "teaser.html", page.encode("utf-8")))
    assert loaded.text.startswith(P_ACTIVITY)
    assert P_ECOLOGY in loaded.text


def test_html_sloppy_markup_keeps_the_article(tmp_path):
    # ASP.NET wraps the page in a <form>; </head> and </nav> are missing.
    page = f"""<html><head><meta charset="utf-8"><title>政务公开</title>
<body><form id="form1" action="default.aspx">
<nav><a href="/">网站首页</a><a href="/gk">政务公开</a>
<article><h1>{HEADLINE}</h1><p>{P_TRANSPORT}</p></article>
<form action="/search"><input name="q">站内搜索</form>
</form></body></html>"""
    loaded = load_text(write(tmp_path, "aspnet.html", page.encode("utf-8")))
    assert loaded.text == f"{HEADLINE}\n\n{P_TRANSPORT}"
    assert loaded.title == HEADLINE
    page = f"<html><head><meta charset=utf-8><form><p>{P_HUB}</p></form>"
    loaded = load_text(write(tmp_path, "wrapped.html", page.encode("utf-8")))
    assert loaded.text == P_HUB


def test_html_undeclared_gb18030_is_detected(tmp_path):
    page = f"<html><body><h1>{HEADLINE}</h1><p>{P_REFORM}</p><p>{P_PLANNING}</p></body></html>"
    loaded = load_text(write(tmp_path, "nometa.html", page.encode("gb18030")))
    assert loaded.encoding == "html/gb18030"
    assert loaded.text == f"{HEADLINE}\n\n{P_REFORM}\n\n{P_PLANNING}"


def test_html_big5_declared(tmp_path):
    page = traditional(
        f'<html><head><meta charset="big5"></head><body><p>{P_REFORM}</p></body></html>'
    )
    loaded = load_text(write(tmp_path, "big5.html", page.encode("big5")))
    assert loaded.encoding == "html/big5"
    assert loaded.text == traditional(P_REFORM)


def test_html_stale_meta_charset_utf8_content(tmp_path):
    page = f'<html><head><meta charset="gb2312"><title>{HEADLINE}</title></head><body><p>{P_HUB}</p></body></html>'
    loaded = load_text(write(tmp_path, "resaved.html", page.encode("utf-8")))
    assert loaded.encoding == "html/utf-8"
    assert loaded.text == P_HUB
    assert loaded.title == HEADLINE


def test_html_declared_charset_with_a_few_bad_bytes(tmp_path):
    page = (
        f'<html><head><meta charset="gbk"></head><body><p>{P_HUB}</p><p>{P_REFORM}</p>'
    )
    data = page.encode("gbk") + "<p>截断".encode("gbk") + "的".encode("gbk")[:1]
    loaded = load_text(write(tmp_path, "truncated.html", data + b"</p></body></html>"))
    assert loaded.encoding == "html/gb18030"
    assert loaded.text.startswith(f"{P_HUB}\n\n{P_REFORM}\n\n截断")


def test_html_wrong_latin1_declaration_for_gbk_bytes(tmp_path):
    page = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    page += f"</head><body><p>{P_PLANNING}</p></body></html>"
    loaded = load_text(write(tmp_path, "old.html", page.encode("gbk")))
    assert loaded.encoding == "html/gb18030"
    assert loaded.text == P_PLANNING


def test_html_latin1_page_keeps_its_declaration(tmp_path):
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>Café crème à Wanzhou.</p></body></html>'
    loaded = load_text(write(tmp_path, "french.html", page.encode("latin-1")))
    assert loaded.encoding == "html/cp1252"
    assert loaded.text == "Café crème à Wanzhou."


def test_html_utf16_bom(tmp_path):
    page = f"<html><body><p>{P_HUB}</p></body></html>"
    loaded = load_text(
        write(tmp_path, "utf16.html", codecs.BOM_UTF16_LE + page.encode("utf-16-le"))
    )
    assert loaded.encoding == "html/utf-16"
    assert loaded.text == P_HUB


def test_html_deeply_nested_markup(tmp_path):
    page = "<html><body>" + "<div><span>" * 5000 + P_HUB + "</body></html>"
    loaded = load_text(write(tmp_path, "deep.html", page.encode("utf-8")))
    assert loaded.text == P_HUB


def test_html_without_text_is_refused(tmp_path):
    page = '<html><head><meta charset="utf-8"><script>var a = "脚本";</script></head><body><nav>导航</nav></body></html>'
    assert "no text" in unreadable(write(tmp_path, "empty.html", page.encode("utf-8")))
