"""Cleaned documents -> passages: sentence windows of about 150-250 characters, one sentence of overlap."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass

from bot.ingest.clean import CLOSING, Document, Section

# A sentence ends at 。！？；!?; (plus any closing quotes or brackets) or at a paragraph break.
SENTENCE_RE = re.compile(rf"[^\n]*?(?:[。！？；!?;…]+[{re.escape(CLOSING)}]*|\n|$)")
# Marks that open and close a quotation, a title or a bracket: a stop inside does not end an answer's sentence.
OPENING_QUOTES, CLOSING_QUOTES = "“「『《（(", "”」』》）)"
QUOTED_MAX = 400
# Where a sentence longer than a window may be cut: after a comma-like mark.
SOFT_BREAK_RE = re.compile(r"[，、,：:]")


@dataclass(frozen=True)
class Passage:
    """A window of consecutive sentences of one section, pointing back to its place in the source file."""

    doc_id: str
    title: str
    section: str
    start: int  # character offset of the first character in the source file's decoded text
    end: int  # offset just after the last character
    text: str

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def article(self) -> tuple[str, str]:
        """What the passage is a window of: its document and section."""
        return self.doc_id, self.section

    @property
    def source(self) -> str:
        """Where the passage comes from, for people: `document title · section`."""
        return f"{self.title} · {self.section}" if self.section else self.title


def split_sentences(text: str, whole_quotes: bool = False) -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` in `text`, without surrounding whitespace or line breaks.

    `"11月9日，渝万高铁正式开工建设。“这是好事！”他说"` -> the two sentences, the quote kept whole.
    With `whole_quotes` (answers), a stop inside an open quotation, title or bracket does not end the
    sentence: `解释暴发户为：“一个人……地位。通常……。”`, `《卡拉OK.LIVE！‧台北‧我》是……专辑。` and
    `…旗下组合（包括TOKIO、岚及Hey! Say! JUMP）出版…。` are one sentence each (up to QUOTED_MAX
    characters, within one line, in case a closing mark was lost). Passage windows keep the shorter
    units, which size them.
    """
    spans: list[tuple[int, int]] = []
    for match in SENTENCE_RE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end <= start:
            continue
        if whole_quotes and spans:
            first, last = spans[-1]
            if _open_quotes(text[first:last]) and end - first <= QUOTED_MAX and "\n" not in text[last:start]:
                spans[-1] = (first, end)
                continue
        spans.append((start, end))
    return spans


def _open_quotes(sentence: str) -> bool:
    return sum(map(sentence.count, OPENING_QUOTES)) > sum(map(sentence.count, CLOSING_QUOTES))


def _cut_long(span: tuple[int, int], text: str, max_chars: int) -> Iterator[tuple[int, int]]:
    """Cut a sentence longer than a window at commas (or hard, failing that)."""
    start, end = span
    while end - start > max_chars:
        limit = start + max_chars
        cut = None
        for match in SOFT_BREAK_RE.finditer(text, start + max_chars // 2, limit):
            cut = match.end()
        cut = cut or limit
        yield start, cut
        start = cut
    yield start, end


def sentence_windows(
    spans: list[tuple[int, int]], min_chars: int, max_chars: int
) -> Iterator[tuple[int, int]]:
    """Pack sentence spans into windows: grow to `min_chars`, stop before `max_chars`, overlap one sentence.

    Yields `(first, last)` indices into `spans`, inclusive.
    """
    first = 0
    while first < len(spans):
        last = first
        length = spans[first][1] - spans[first][0]
        while last + 1 < len(spans):
            following = spans[last + 1][1] - spans[last + 1][0]
            if length >= min_chars and length + following > max_chars:
                break
            if length + following > max_chars * 1.5:
                break
            last += 1
            length += following
        yield first, last
        if last + 1 >= len(spans):
            return
        # One sentence of overlap, unless the window is a single sentence.
        first = last if last > first else last + 1


def section_passages(document: Document, section: Section, min_chars: int, max_chars: int) -> Iterator[Passage]:
    """The passages of one section."""
    text = section.text
    spans = [piece for span in split_sentences(text) for piece in _cut_long(span, text, max_chars)]
    for first, last in sentence_windows(spans, min_chars, max_chars):
        start, end = spans[first][0], spans[last][1]
        yield Passage(
            doc_id=document.doc_id,
            title=document.title,
            section=section.title,
            start=section.offsets[start],
            end=section.offsets[end - 1] + 1,
            text=text[start:end],
        )


def make_passages(documents: Iterable[Document], min_chars: int = 150, max_chars: int = 250) -> list[Passage]:
    """All passages of the documents, in document order."""
    return [
        passage
        for document in documents
        for section in document.sections
        for passage in section_passages(document, section, min_chars, max_chars)
    ]
