"""DOCX (python-docx: paragraphs and tables in document order, headings by style or outline level) and PDF
(pypdf: pages joined by blank lines; a PDF without a text layer is refused)."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

from bot.ingest.loaders.common import (
    LoadedText,
    UnreadableDocument,
    describe,
    fail,
    join_blocks,
    one_line,
    table_row,
    tidy,
)

log = logging.getLogger(__name__)


# PDFs with fewer non-space characters per page on average have no text layer.
MIN_PDF_CHARS_PER_PAGE = 20


_HEADING_STYLE = re.compile(r"^(title|heading\s*\d|标题\s*\d?)$", re.IGNORECASE)


def _outline_level(element) -> int | None:
    """w:outlineLvl of a paragraph's or style's properties (0 = top level)."""
    values = element.xpath("./w:pPr/w:outlineLvl/@w:val")
    if values:
        try:
            return int(values[0])
        except ValueError:
            return None
    return None


def _is_heading(paragraph) -> bool:
    level = _outline_level(paragraph._p)
    if level is not None and level < 9:
        return True
    try:
        style = paragraph.style
    except Exception:  # noqa: BLE001 - broken style references
        return False
    depth = 0
    while style is not None and depth < 10:
        if style.name and _HEADING_STYLE.match(style.name.strip()):
            return True
        level = _outline_level(style.element)
        if level is not None and level < 9:
            return True
        style = style.base_style
        depth += 1
    return False


def _docx_cell_text(cell) -> str:
    parts: list[str] = []
    for item in cell.iter_inner_content():
        if hasattr(item, "rows"):  # a nested table
            parts.extend(_docx_table_rows(item))
        else:
            parts.append(item.text.strip())
    return " ".join(p for p in parts if p)


def _docx_table_rows(table) -> Iterator[str]:
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if previous is not None and cell._tc is previous:
                continue  # a horizontally merged cell is listed once per grid column
            previous = cell._tc
            text = _docx_cell_text(cell)
            if text:
                cells.append(text)
        if cells:
            yield table_row(cells)


def load_docx(path: Path, data: bytes) -> LoadedText:
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise fail(
            path,
            "not a .docx package: an old Word 97-2003 document or a password-protected "
            "file; save it as an unprotected .docx",
        )
    if not data.startswith(b"PK"):
        raise fail(path, "not a valid .docx file (it is not a ZIP package)")
    try:
        import docx  # python-docx
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise fail(path, "cannot read .docx files: python-docx is not installed") from exc
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        first_heading: str | None = None
        for item in document.iter_inner_content():
            if hasattr(item, "rows"):
                blocks.extend(_docx_table_rows(item))
                continue
            text = item.text.strip()
            if not text:
                continue
            if first_heading is None and _is_heading(item):
                first_heading = text
            blocks.append(text)
        core_title = document.core_properties.title
    except zipfile.BadZipFile as exc:
        raise fail(path, f"the .docx file is damaged ({describe(exc)})") from exc
    except Exception as exc:
        raise fail(path, f"the .docx file is damaged or not a Word document ({describe(exc)})") from exc
    title = one_line(core_title) or one_line(first_heading)
    return LoadedText(text=tidy(join_blocks(blocks)), encoding="docx", title=title)


_NON_SPACE = re.compile(r"\S")


def load_pdf(path: Path, data: bytes) -> LoadedText:
    if b"%PDF-" not in data[:1024]:
        raise fail(path, "not a PDF file (no %PDF header)")
    try:
        import pypdf
        from pypdf.errors import DependencyError
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise fail(path, "cannot read PDF files: pypdf is not installed") from exc

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                result = reader.decrypt("")
            except DependencyError as exc:
                raise fail(
                    path,
                    "the PDF is encrypted with AES and the 'cryptography' package is not installed",
                ) from exc
            if result == pypdf.PasswordType.NOT_DECRYPTED:
                raise fail(path, "the PDF is password-protected; remove the password first")
        pages = reader.pages
        page_count = len(pages)
    except UnreadableDocument:
        raise
    except Exception as exc:
        raise fail(path, f"the PDF is damaged and cannot be opened ({describe(exc)})") from exc
    if page_count == 0:
        raise fail(path, "the PDF has no pages")

    page_texts: list[str] = []
    failures: list[str] = []
    for number in range(page_count):
        try:
            page_texts.append(pages[number].extract_text() or "")
        except Exception as exc:  # noqa: BLE001 - skip a broken page
            failures.append(f"page {number + 1}: {describe(exc)}")
            page_texts.append("")
    if failures:
        log.warning(
            "loaders: %s: text of %d page(s) unreadable: %s",
            path.name,
            len(failures),
            failures[:3],
        )
        if len(failures) == page_count:
            raise fail(path, f"no page of the PDF could be read ({failures[0]})")

    text = tidy(join_blocks(tidy(t) for t in page_texts))
    non_space = len(_NON_SPACE.findall(text))
    if non_space < MIN_PDF_CHARS_PER_PAGE * page_count:
        raise fail(path, "the PDF has no text layer (scanned images?); OCR it first")

    title = None
    try:
        metadata = reader.metadata
        title = one_line(metadata.title) if metadata is not None else None
    except Exception:  # noqa: BLE001 - broken metadata is no reason to fail
        title = None
    if title and title.lower() in {
        "untitled",
        "(untitled)",
        "(anonymous)",
        "无标题",
        "無標題",
    }:
        title = None
    return LoadedText(text=text, encoding="pdf", title=title)
