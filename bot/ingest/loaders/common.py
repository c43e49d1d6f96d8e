"""What every loader shares: the result (`LoadedText`), the one error (`UnreadableDocument`), newline and
control-character normalisation, and the joining of blocks and table rows into text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# A table row reads as a sentence: `灌溉面积：十五万亩。`, `三峡综合物流枢纽：15亿元，万州。`. Ended so, a row is body
# text wherever the table stands; a bare row at a document's end would read as a trailing headline.
ROW_END = "。！？!?；;"


def table_row(cells: list[str]) -> str:
    """One table row as text: the first cell, a colon, the others separated by commas, a full stop. A row of
    one cell (a caption across the table) stays as it is."""
    cells = [cell for cell in cells if cell]
    if len(cells) < 2:
        return "".join(cells)
    text = f"{cells[0]}：{'，'.join(cells[1:])}"
    return text if text[-1] in ROW_END else text + "。"


class UnreadableDocument(Exception):
    """The file cannot be turned into text; ``str(e)`` names the file and says why."""

    def __init__(self, message: str, *, path: Path | None = None, reason: str | None = None):
        message = " ".join(str(message).split())  # always one line
        super().__init__(message)
        self.path = path
        self.reason = reason if reason is not None else message


@dataclass(frozen=True)
class LoadedText:
    text: str  # "\n" line endings; paragraphs separated by blank lines
    encoding: str  # codec for text files; "docx", "pdf", or "html/<codec>"
    title: str | None  # a title found inside the document, else None


def fail(path: Path, reason: str) -> UnreadableDocument:
    return UnreadableDocument(f"{path.name}: {reason}", path=path, reason=reason)


def describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def human_size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 100 * 1024 else f"{n} bytes"


_MANY_BLANK_LINES = re.compile(r"\n{3,}")


_TRAILING_SPACE = re.compile(r"[ \t\u3000]+\n")


def join_blocks(blocks: Iterable[str]) -> str:
    parts = [b.strip() for b in blocks]
    return "\n\n".join(p for p in parts if p)


def tidy(text: str) -> str:
    text = _TRAILING_SPACE.sub("\n", normalise(text))
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()


def one_line(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(normalise(str(text)).split())
    return text or None


_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")


# C0 and C1 controls except \t and \n, DEL, and every U+FEFF (a BOM that ended
# up mid-text is an invisible zero-width no-break space).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff]")


def normalise(text: str) -> str:
    """\\n line endings, no BOM, no control characters except \\n and \\t."""
    text = _LINE_BREAKS.sub("\n", text)
    return _CONTROL.sub("", text)
