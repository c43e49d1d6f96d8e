"""Raw text -> cleaned documents: undo OCR damage, find headlines, keep offsets into the source.

OCR'd newspaper text arrives with a hard line break every 10-25 characters, blank lines inside
sentences (column and page breaks), spaces inside dates (`12 月 3 日`), headlines on lines of their
own (sometimes printed after the text they belong to) and `……` lines where the paper cut text.
`clean_document` turns such text into sections of running text; every character of the result
remembers the offset of the character in the source it came from.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from bot.text.cjk import is_cjk

# A sentence or clause may end with these; a block ending otherwise continues after a blank line.
SENTENCE_END = "。！？；!?;"
CLOSING = "”’」』）)】》\"'"
# Punctuation that cannot end a headline: a block ending with it is body text.
CONTINUES = "，、：,:（(“‘《「『—-"
FILLER_RE = re.compile(r"^[\s…\.。·•\-—_=*~]*$")
DATELINE_RE = re.compile(r"^(?:\d{4}\s*年\s*)?\d{1,2}\s*月\s*\d{1,2}\s*日\s*[，,、\s]?\s*\S{0,8}$")
BYLINE_RE = re.compile(r"^[·•]\s*\S{1,12}$")
MARKDOWN_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
# A numbered heading on a line of its own (`一、招生计划`, `（二）报名条件`, `第四章 休假`): no mark of a sentence in it.
NUMBERED_HEADING_RE = re.compile(
    r"^\s*(?:[一二三四五六七八九十]{1,3}、|[（(][一二三四五六七八九十]{1,3}[）)]|第[一二三四五六七八九十百]{1,4}[章节条部分篇])"
    r"\s*[^，。；：、,.;:!?！？]{1,16}\s*$"
)
# A Markdown list item: a bullet (dropped from the text) or a number (kept: step 4 is step 4).
MARKDOWN_ITEM_RE = re.compile(r"^\s*(?:(?P<bullet>[-*+•])|\d{1,3}[.)、])\s+")
HEADLINE_FORBIDDEN = "。！？!?，、,；;：:"
HEADLINE_MAX_LINES = 3
HEADLINE_MAX_CHARS = 40


def _space_is_noise(before: str, after: str) -> bool:
    """Whether a run of spaces between two characters is OCR noise rather than a word gap.

    `12 月 3 日` -> `12月3日`, `生态 环境` -> `生态环境`, `53.5 %` -> `53.5%`; `Wanzhou city` keeps its space.
    """
    if is_cjk(before) and is_cjk(after):
        return True
    if (is_cjk(before) and after.isdigit()) or (before.isdigit() and is_cjk(after)):
        return True
    return before.isdigit() and after in "%‰℃"


@dataclass(frozen=True)
class Section:
    """A run of body text under one headline; `offsets[i]` is where `text[i]` sits in the source."""

    title: str
    text: str
    offsets: tuple[int, ...]


@dataclass(frozen=True)
class Document:
    """One corpus file, cleaned."""

    doc_id: str  # path relative to the corpus folder, with forward slashes
    title: str
    source: str  # the decoded source text the offsets point into
    sections: tuple[Section, ...]
    encoding: str = "utf-8"


@dataclass
class _Block:
    """Consecutive non-blank lines of the source, each with its start offset."""

    lines: list[tuple[str, int]]

    @property
    def stripped(self) -> list[str]:
        return [line.strip() for line, _ in self.lines]


def _blocks(source: str) -> Iterator[_Block]:
    """Split the source at blank lines."""
    lines: list[tuple[str, int]] = []
    offset = 0
    for raw in source.split("\n"):
        if raw.strip():
            lines.append((raw, offset))
        elif lines:
            yield _Block(lines)
            lines = []
        offset += len(raw) + 1
    if lines:
        yield _Block(lines)


def _ends_sentence(text: str) -> bool:
    stripped = text.rstrip().rstrip(CLOSING)
    return bool(stripped) and stripped[-1] in SENTENCE_END + "."


def _is_headline_block(block: _Block, after_sentence_end: bool) -> bool:
    """A short standalone block with no sentence punctuation, following a finished sentence."""
    lines = block.stripped
    if len(lines) > HEADLINE_MAX_LINES or not after_sentence_end:
        return False
    for line in lines:
        if len(line) > HEADLINE_MAX_CHARS or line[-1] in SENTENCE_END + CONTINUES + ".":
            return False
        if DATELINE_RE.match(line) or BYLINE_RE.match(line):
            continue
        # Headlines are phrases, not clauses: a comma or stop inside means a fragment of body text.
        if any(mark in line for mark in HEADLINE_FORBIDDEN):
            return False
    return True


def _headline_title(block: _Block) -> str:
    """The headline text of a headline block, without its dateline (`12 月 3 日，万州`) or byline (`·万州`)."""
    parts = [
        " ".join(line.split())
        for line in block.stripped
        if not DATELINE_RE.match(line) and not BYLINE_RE.match(line)
    ]
    return " ".join(part for part in parts if part)


class _TextBuilder:
    """Accumulates cleaned characters together with their source offsets."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.offsets: list[int] = []

    def __bool__(self) -> bool:
        return bool(self.chars)

    @property
    def last(self) -> str:
        return self.chars[-1] if self.chars else ""

    def add(self, char: str, offset: int) -> None:
        self.chars.append(char)
        self.offsets.append(offset)

    def add_line(self, line: str, start: int) -> None:
        """Append one source line, dropping OCR spaces and joining it to what came before.

        The line break itself disappears; English words on either side of it keep one space.
        """
        position = 0
        length = len(line)
        while position < length and line[position].isspace():
            position += 1
        if self.chars and position < length:
            if self.last.isascii() and self.last.isalnum() and line[position].isascii() and line[position].isalnum():
                self.add(" ", start + position - 1 if position else start - 1)
        while position < length:
            char = line[position]
            if char.isspace():
                end = position
                while end < length and line[end].isspace():
                    end += 1
                if end < length and self.chars and not _space_is_noise(self.last, line[end]):
                    self.add(" ", start + position)
                position = end
                continue
            self.add(char, start + position)
            position += 1

    def paragraph_break(self, offset: int) -> None:
        if self.chars and self.last != "\n":
            self.add("\n", offset)

    def section(self, title: str) -> Section:
        while self.chars and self.chars[-1] == "\n":
            self.chars.pop()
            self.offsets.pop()
        return Section(title=title, text="".join(self.chars), offsets=tuple(self.offsets))


def _trailing_headline_start(title: str, paragraph_starts: list[int], text: str, skip_first: bool) -> int | None:
    """Where the text that a headline printed *after* it begins, in a section's text.

    Newspaper headlines are pairs of four-character phrases (`生态环境联防联治 公共服务共建共享`);
    the article they head is the first paragraph that uses one of those phrases.
    """
    phrases = {half[:4] for half in title.split() if len(half) >= 4} | {
        half[-4:] for half in title.split() if len(half) >= 4
    }
    candidates = paragraph_starts[1:] if skip_first else paragraph_starts
    for start in candidates:
        end = text.find("\n", start)
        paragraph = text[start : end if end != -1 else len(text)]
        if any(phrase in paragraph for phrase in phrases):
            return start
    return None


def clean_document(source: str, doc_id: str, title: str, *, markdown: bool = False) -> Document:
    """Clean one decoded document: join broken lines, find headlines, split it into sections.

    A headline block followed by body text opens a section; headline blocks in a row are one
    headline. A headline with no body after it (the end of the document) titles the text before it.
    """
    source = unicodedata.normalize("NFC", source.replace("\r\n", "\n").replace("\r", "\n"))
    sections: list[Section] = []
    builder = _TextBuilder()
    current_title = ""
    paragraph_starts: list[int] = [0]
    pending_title: str | None = None  # a headline waiting to see whether body text follows
    after_sentence_end = True

    def close_section() -> None:
        nonlocal builder, paragraph_starts
        if builder:
            sections.append(builder.section(current_title))
        builder = _TextBuilder()
        paragraph_starts = [0]

    def attach_trailing(headline: str) -> None:
        """Give a headline printed after its article to the paragraphs it heads."""
        nonlocal builder, current_title, paragraph_starts
        if not builder:
            return
        section = builder.section(current_title)
        start = (
            _trailing_headline_start(headline, paragraph_starts, section.text, skip_first=True) if current_title else 0
        )
        if start is None:
            # Where its article begins cannot be told: keep the headline with the section it follows.
            current_title = f"{current_title} {headline}"
            return
        head = section.text[:start].rstrip("\n")
        if head:
            sections.append(Section(current_title, head, section.offsets[: len(head)]))
        builder = _TextBuilder()
        builder.chars, builder.offsets = list(section.text[start:]), list(section.offsets[start:])
        current_title = headline
        paragraph_starts = [0]

    def add_markdown_line(line: str, start: int) -> None:
        """A Markdown line: a list item is a paragraph of its own (joined, `- 冰糖30克` would run into the item
        before it, `500克- 冰糖30克`, one sentence); other lines join as in any text."""
        item = MARKDOWN_ITEM_RE.match(line)
        if item and builder:
            builder.paragraph_break(start - 1)
            paragraph_starts.append(len(builder.chars))
        if item and item.group("bullet"):
            line, start = line[item.end() :], start + item.end()
        builder.add_line(line, start)

    for block in _blocks(source):
        lines = [(line, start) for line, start in block.lines if not FILLER_RE.match(line)]
        if not lines:
            continue
        block = _Block(lines)
        heading_lines = [MARKDOWN_HEADING_RE.match(line) for line, _ in block.lines] if markdown else []
        if markdown and any(heading_lines):
            # Markdown headings are explicit; any other lines of the block are body text.
            for (line, start), match in zip(block.lines, heading_lines):
                if match:
                    if pending_title is not None:
                        attach_trailing(pending_title)
                    pending_title = match.group(1).strip()
                else:
                    if pending_title is not None:
                        close_section()
                        current_title, pending_title = pending_title, None
                    add_markdown_line(line, start)
            after_sentence_end = True
            continue
        listed = markdown and MARKDOWN_ITEM_RE.match(block.lines[0][0])
        if not listed and _is_headline_block(block, after_sentence_end):
            headline = _headline_title(block)
            if not headline:
                continue  # a lone dateline or byline carries no sentence
            # Headline blocks in a row are one headline (a title and its subtitle, split by the layout).
            pending_title = headline if pending_title is None else f"{pending_title} {headline}"
            after_sentence_end = True
            continue
        if pending_title is not None:
            close_section()
            current_title, pending_title = pending_title, None
        elif builder and (markdown or after_sentence_end):
            builder.paragraph_break(block.lines[0][1] - 1)
            paragraph_starts.append(len(builder.chars))
        heading = False  # the line before was a numbered heading: the body after it is a paragraph of its own
        for number, (line, start) in enumerate(block.lines):
            if markdown:
                add_markdown_line(line, start)
                continue
            if heading:
                builder.paragraph_break(start - 1)
                paragraph_starts.append(len(builder.chars))
            ends = number == 0 or _ends_sentence(block.lines[number - 1][0])
            heading = number + 1 < len(block.lines) and ends and bool(NUMBERED_HEADING_RE.match(line))
            if heading and number:
                builder.paragraph_break(start - 1)
                paragraph_starts.append(len(builder.chars))
            builder.add_line(line, start)
        after_sentence_end = _ends_sentence(block.lines[-1][0])
    if pending_title is not None:
        attach_trailing(pending_title)
    close_section()
    return Document(doc_id=doc_id, title=title, source=source, sections=tuple(s for s in sections if s.text))

