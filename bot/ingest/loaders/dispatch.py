"""Turn one document file into raw Unicode text (before OCR cleaning).

Public API::

    SUPPORTED_SUFFIXES            # the file suffixes load_text() accepts
    UnreadableDocument            # str(e) is a one-line, user-facing reason naming the file
    LoadedText(text, encoding, title)
    load_text(path, *, max_bytes=50 MiB) -> LoadedText

Formats
-------
* ``.txt``, ``.md``, ``.markdown``: bytes are decoded strictly.  BOM first
  (UTF-8, UTF-16, UTF-32), then strict UTF-8, then the legacy Chinese
  encodings GB18030 (a superset of GBK/GB2312) and Big5 (with cp950 and
  Big5-HKSCS as fall-backs).  ``charset-normalizer`` is consulted only as a
  tie-breaker: on the corpus's OCR lines (17 characters each, 104 snippets in
  GB2312 or Big5) it names the wrong codec (Shift-JIS, CP949, Johab,
  UTF-16-BE...) for 16, and 86 of them decode "successfully" both as GB18030
  and as Big5.  So every candidate is decoded strictly and scored for
  plausibility: the share of its non-ASCII characters that are common Chinese
  characters (the 3500 most frequent simplified characters by jieba's
  dictionary, plus all their traditional forms by OpenCC's table) or Chinese
  punctuation.  A wrong decoding turns into kana, PUA, Greek, box drawing or
  rare characters and scores well under the threshold.  BOM-less UTF-16 is
  recognised; anything else with NUL bytes is refused as binary.
* ``.docx``: python-docx; paragraphs and tables in document order, one
  paragraph per block (blank lines between), a table row per block with the
  cells joined by `` | ``.
* ``.pdf``: pypdf, chosen over pdfminer.six by measurement on reportlab PDFs
  of the corpus (STSong-Light CID font, 5 pages, 4684 characters): pypdf
  1.0000 character similarity (whitespace removed) in ~50 ms, pdfminer.six
  0.9999 (it drops the "·" of "·万州") in ~180-225 ms.  Pages are joined
  with blank lines; PDFs without a text layer are refused.
* ``.html``, ``.htm``: the standard library's ``html.parser`` and a small,
  forgiving element tree; the main text only (``<article>``, else ``<main>``,
  else ``<body>``) with navigation, page headers and footers, asides, forms,
  scripts, styles and hidden elements dropped.  Encoding from the BOM, then
  the ``<meta>`` declaration (unless UTF-8 or GB18030/Big5 reads clearly
  better, or a few bad bytes need U+FFFD), else the text-file detection.

All text is returned with ``\\n`` line endings, no BOM and no control
characters other than ``\\n`` and ``\\t``.
"""

from __future__ import annotations

import codecs
import functools
import io
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "LoadedText",
    "UnreadableDocument",
    "load_text",
]

log = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    TEXT_SUFFIXES | HTML_SUFFIXES | {".docx", ".pdf"}
)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# A candidate decoding is accepted only if at least this share of its
# non-ASCII characters is plausible Chinese (see _plausibility).  Measured on
# 1-5 line snippets of the corpus: right decodings score >= 0.96, wrong
# GB18030/Big5 decodings <= 0.77.
PLAUSIBLE = 0.85
# Scores closer than this count as a tie (then charset-normalizer's guess,
# then GB18030, wins).
TIE = 0.02
# Only this many characters are scored (decoding is always strict over the
# whole file).
_SCORE_SAMPLE = 200_000
# PDFs with fewer non-space characters per page on average have no text layer.
MIN_PDF_CHARS_PER_PAGE = 20
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

    def __init__(
        self, message: str, *, path: Path | None = None, reason: str | None = None
    ):
        message = " ".join(str(message).split())  # always one line
        super().__init__(message)
        self.path = path
        self.reason = reason if reason is not None else message


@dataclass(frozen=True)
class LoadedText:
    text: str  # "\n" line endings; paragraphs separated by blank lines
    encoding: str  # codec for text files; "docx", "pdf", or "html/<codec>"
    title: str | None  # a title found inside the document, else None


def _fail(path: Path, reason: str) -> UnreadableDocument:
    return UnreadableDocument(f"{path.name}: {reason}", path=path, reason=reason)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 100 * 1024 else f"{n} bytes"


# ---------------------------------------------------------------------------
# entry point


def load_text(path: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> LoadedText:
    """Read one document file and return its raw text.

    Raises UnreadableDocument (never anything else for a bad file) when the
    file is missing, too large, of an unsupported type, undecodable, damaged,
    encrypted, or has no text.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        shown = suffix or "(no suffix)"
        raise _fail(path, f"unsupported file type {shown}; supported: {supported}")
    try:
        if not path.is_file():
            if path.exists():
                raise _fail(path, "not a regular file")
            raise _fail(path, "file not found")
        size = path.stat().st_size
        if size > max_bytes:
            raise _fail(
                path,
                f"file is too large ({_size(size)}; the limit is {_size(max_bytes)})",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise _fail(
            path, f"cannot read the file ({exc.strerror or _describe(exc)})"
        ) from exc
    if len(data) > max_bytes:  # grew between stat() and read()
        raise _fail(
            path,
            f"file is too large ({_size(len(data))}; the limit is {_size(max_bytes)})",
        )

    if suffix in TEXT_SUFFIXES:
        loaded = _load_plain(path, data, markdown=suffix in MARKDOWN_SUFFIXES)
    elif suffix in HTML_SUFFIXES:
        loaded = _load_html(path, data)
    elif suffix == ".docx":
        loaded = _load_docx(path, data)
    else:
        loaded = _load_pdf(path, data)

    if not loaded.text.strip():
        raise _fail(path, "the document contains no text")
    return loaded


# ---------------------------------------------------------------------------
# text normalisation

_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# C0 and C1 controls except \t and \n, DEL, and every U+FEFF (a BOM that ended
# up mid-text is an invisible zero-width no-break space).
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff]")


def _normalise(text: str) -> str:
    """\\n line endings, no BOM, no control characters except \\n and \\t."""
    text = _LINE_BREAKS.sub("\n", text)
    return _CONTROL.sub("", text)


# ---------------------------------------------------------------------------
# encoding detection


_BOMS: tuple[tuple[bytes, str, str], ...] = (
    # (bom, codec that consumes it, reported name); UTF-32 before UTF-16
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "utf-16"),
)

# The legacy families tried, each with its codecs in order of preference.
_LEGACY_FAMILIES: dict[str, tuple[str, ...]] = {
    "gb18030": ("gb18030",),
    "big5": ("big5", "cp950", "big5hkscs"),
}

_FAMILY_OF_CODEC = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
    "euc_cn": "gb18030",
    "hz": "gb18030",
    "big5": "big5",
    "big5hkscs": "big5",
    "cp950": "big5",
}


@functools.lru_cache(maxsize=1)
def _common_chars() -> frozenset[str] | None:
    """The ~3500 most frequent simplified characters and their traditional forms.

    Frequencies: jieba's dictionary (word frequency summed per character),
    restricted to GB2312 characters (the dictionary holds some mojibake
    entries).  Traditional forms: every traditional character whose
    simplification (OpenCC's TSCharacters table) is one of them.  Built once,
    lazily (about a second); None if jieba or OpenCC is missing.
    """
    try:
        from importlib import resources

        jieba_dict = resources.files("jieba").joinpath("dict.txt").read_text("utf-8")
        ts_table = (
            resources.files("opencc")
            .joinpath("dictionary", "TSCharacters.txt")
            .read_text("utf-8")
        )
    except (ImportError, OSError) as exc:  # pragma: no cover - depends on the install
        log.warning(
            "loaders: no character frequency list (%s); encoding detection degraded",
            exc,
        )
        return None

    freq: dict[str, int] = {}
    for line in jieba_dict.splitlines():
        parts = line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        n = int(parts[1])
        for ch in parts[0]:
            freq[ch] = freq.get(ch, 0) + n

    def in_gb2312(ch: str) -> bool:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            return False
        return True

    simplified: set[str] = set()
    for ch in sorted(freq, key=freq.__getitem__, reverse=True):
        if "\u4e00" <= ch <= "\u9fff" and in_gb2312(ch):
            simplified.add(ch)
            if len(simplified) == 3500:
                break
    traditional: set[str] = set()
    for line in ts_table.splitlines():
        trad, _, simp = line.partition("\t")
        if trad and any(s in simplified for s in simp.split()):
            traditional.add(trad)
    return frozenset(simplified | traditional)


def _is_good_symbol(o: int) -> bool:
    """Punctuation and symbols that ordinary Chinese text uses."""
    return (
        0x3000 <= o <= 0x303F  # CJK symbols and punctuation 、。「」《》
        or 0xFF01 <= o <= 0xFF5E  # fullwidth forms ，！（）
        or 0x2010 <= o <= 0x2027  # ‐–—‘’“”…
        or 0x2030 <= o <= 0x205E  # ‰′″※
        or 0x2100 <= o <= 0x218F  # ℃ № Ⅰ Ⅱ
        or 0x2460 <= o <= 0x24FF  # ①②⑴⒈
        or o in (0x00B7, 0x00D7, 0x00F7, 0x00B0, 0x00B1, 0x00A7)  # ·×÷°±§
    )


def _plausibility(text: str) -> float:
    """Share of the non-ASCII characters that look like ordinary Chinese text.

    Common characters and Chinese punctuation count 1, other CJK ideographs
    0.5, anything else (kana, Hangul, Greek, box drawing, private use,
    compatibility ideographs, Latin-1 letters...) 0.  ASCII and whitespace are
    not counted.  Returns 1.0 for pure ASCII.
    """
    common = _common_chars()
    good = rare = bad = 0
    for ch in text[:_SCORE_SAMPLE]:
        o = ord(ch)
        if o < 0x80 or ch.isspace():
            continue
        if 0x4E00 <= o <= 0x9FFF:
            if common is None or ch in common:
                good += 1
            else:
                rare += 1
        elif 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x3FFFF:
            rare += 1  # CJK extension A, B and later
        elif _is_good_symbol(o):
            good += 1
        else:
            bad += 1
    total = good + rare + bad
    return (good + 0.5 * rare) / total if total else 1.0


def _charset_normalizer_family(data: bytes) -> str | None:
    """charset-normalizer's guess, reduced to one of our legacy families."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - depends on the install
        return None
    try:
        best = from_bytes(data[:65536]).best()
    except Exception:  # noqa: BLE001 - a hint only
        return None
    guess = best.encoding if best is not None else None
    family = _FAMILY_OF_CODEC.get(guess or "")
    log.debug("loaders: charset-normalizer guesses %s", guess)
    return family


def _decode_legacy(data: bytes) -> tuple[str, str] | None:
    """Decode GB18030 or Big5 bytes, choosing by plausibility; None if neither fits."""
    candidates: list[tuple[float, str, str, str]] = []  # (score, family, codec, text)
    for family, codec_names in _LEGACY_FAMILIES.items():
        for name in codec_names:
            try:
                text = data.decode(name)
            except UnicodeDecodeError:
                continue
            candidates.append((_plausibility(text), family, name, text))
            break
    if not candidates:
        return None
    log.debug(
        "loaders: legacy candidates %s", [(round(c[0], 3), c[2]) for c in candidates]
    )
    best = max(c[0] for c in candidates)
    if best < PLAUSIBLE:
        return None
    tied = [c for c in candidates if c[0] >= best - TIE]
    if len(tied) > 1:
        hint = _charset_normalizer_family(data)
        preferred = hint if any(c[1] == hint for c in tied) else "gb18030"
        tied = [c for c in tied if c[1] == preferred] or tied
    _, _, name, text = max(tied, key=lambda c: c[0])
    return text, name


_UNICODE_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _decode_utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """Recognise BOM-less UTF-16 (the only text with NULs that we accept)."""
    if len(data) % 2:
        return None
    for name in ("utf-16-le", "utf-16-be"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        if _UNICODE_CONTROL.search(text):
            continue
        if any(ord(c) >= 0x80 for c in text) and _plausibility(text) < PLAUSIBLE:
            continue
        return text, name
    return None


def _decode_text(path: Path, data: bytes) -> tuple[str, str]:
    """Decode a text file's bytes: (text, codec name); raises UnreadableDocument."""
    for bom, codec_name, reported in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec_name), reported
            except UnicodeDecodeError as exc:
                raise _fail(
                    path,
                    f"cannot decode: starts with a {reported.upper()} byte-order mark "
                    f"but is not valid {reported.upper()} (byte {exc.start})",
                ) from exc
    if b"\x00" in data:
        decoded = _decode_utf16_without_bom(data)
        if decoded is not None:
            return decoded
        raise _fail(path, "looks like a binary file (it contains NUL bytes), not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    decoded = _decode_legacy(data)
    if decoded is None:
        reason = "cannot decode: not UTF-8, GB18030 or Big5 text"
        for name, label in (
            ("utf-8", "UTF-8"),
            ("gb18030", "GB18030"),
            ("big5", "Big5"),
        ):
            damaged = _decode_with_few_errors(data, name)
            if damaged is not None and _plausibility(damaged[0]) >= PLAUSIBLE:
                errors, first = damaged[1], damaged[2]
                reason += (
                    f" (it looks like {label} text damaged in {errors} place(s), "
                    f"first at byte {first})"
                )
                break
        raise _fail(path, reason)
    return decoded


def _decode_with_few_errors(data: bytes, name: str) -> tuple[str, int, int] | None:
    """Decode with U+FFFD for invalid bytes if they sit in only a few places.

    Returns (text, number of damaged places, offset of the first) or None when
    the bytes are clean (nothing to report) or damaged in more than a handful
    of places (at most 20, and at most one per 1000 bytes).  Invalid bytes
    within 4 bytes of each other count as one place.
    """
    limit = min(20, max(2, len(data) // 1000))
    parts: list[str] = []
    pos = places = attempts = 0
    first = last_end = -1
    while True:
        try:
            parts.append(data[pos:].decode(name))
            break
        except UnicodeDecodeError as exc:
            start, end = pos + exc.start, pos + max(exc.end, exc.start + 1)
            attempts += 1
            if last_end < 0 or start > last_end + 4:
                places += 1
            if places > limit or attempts > 5 * limit:
                return None
            if first < 0:
                first = start
            last_end = end
            parts.append(data[pos:start].decode(name, "replace"))
            parts.append("\ufffd")
            pos = end
    return ("".join(parts), places, first) if places else None


# ---------------------------------------------------------------------------
# plain text and Markdown

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_H1 = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")


def _markdown_title(text: str) -> str | None:
    """The first level-1 ATX heading ("# Title") outside fenced code blocks."""
    fence: str | None = None
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
            continue
        if fence is None:
            h = _ATX_H1.match(line)
            if h and h.group(1).strip():
                return h.group(1).strip()
    return None


def _load_plain(path: Path, data: bytes, *, markdown: bool) -> LoadedText:
    raw, encoding = _decode_text(path, data)
    text = _normalise(raw)
    title = _markdown_title(text) if markdown else None
    return LoadedText(text=text, encoding=encoding, title=title)


# ---------------------------------------------------------------------------
# shared helpers for structured formats

_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t\u3000]+\n")


def _join_blocks(blocks: Iterable[str]) -> str:
    parts = [b.strip() for b in blocks]
    return "\n\n".join(p for p in parts if p)


def _tidy(text: str) -> str:
    text = _TRAILING_SPACE.sub("\n", _normalise(text))
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()


def _one_line(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(_normalise(str(text)).split())
    return text or None


# ---------------------------------------------------------------------------
# DOCX

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


def _load_docx(path: Path, data: bytes) -> LoadedText:
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise _fail(
            path,
            "not a .docx package: an old Word 97-2003 document or a password-protected "
            "file; save it as an unprotected .docx",
        )
    if not data.startswith(b"PK"):
        raise _fail(path, "not a valid .docx file (it is not a ZIP package)")
    try:
        import docx  # python-docx
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise _fail(
            path, "cannot read .docx files: python-docx is not installed"
        ) from exc
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
        raise _fail(path, f"the .docx file is damaged ({_describe(exc)})") from exc
    except Exception as exc:
        raise _fail(
            path, f"the .docx file is damaged or not a Word document ({_describe(exc)})"
        ) from exc
    title = _one_line(core_title) or _one_line(first_heading)
    return LoadedText(text=_tidy(_join_blocks(blocks)), encoding="docx", title=title)


# ---------------------------------------------------------------------------
# PDF

_NON_SPACE = re.compile(r"\S")


def _load_pdf(path: Path, data: bytes) -> LoadedText:
    if b"%PDF-" not in data[:1024]:
        raise _fail(path, "not a PDF file (no %PDF header)")
    try:
        import pypdf
        from pypdf.errors import DependencyError
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise _fail(path, "cannot read PDF files: pypdf is not installed") from exc

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                result = reader.decrypt("")
            except DependencyError as exc:
                raise _fail(
                    path,
                    "the PDF is encrypted with AES and the 'cryptography' package is not installed",
                ) from exc
            if result == pypdf.PasswordType.NOT_DECRYPTED:
                raise _fail(
                    path, "the PDF is password-protected; remove the password first"
                )
        pages = reader.pages
        page_count = len(pages)
    except UnreadableDocument:
        raise
    except Exception as exc:
        raise _fail(
            path, f"the PDF is damaged and cannot be opened ({_describe(exc)})"
        ) from exc
    if page_count == 0:
        raise _fail(path, "the PDF has no pages")

    page_texts: list[str] = []
    failures: list[str] = []
    for number in range(page_count):
        try:
            page_texts.append(pages[number].extract_text() or "")
        except Exception as exc:  # noqa: BLE001 - skip a broken page
            failures.append(f"page {number + 1}: {_describe(exc)}")
            page_texts.append("")
    if failures:
        log.warning(
            "loaders: %s: text of %d page(s) unreadable: %s",
            path.name,
            len(failures),
            failures[:3],
        )
        if len(failures) == page_count:
            raise _fail(path, f"no page of the PDF could be read ({failures[0]})")

    text = _tidy(_join_blocks(_tidy(t) for t in page_texts))
    non_space = len(_NON_SPACE.findall(text))
    if non_space < MIN_PDF_CHARS_PER_PAGE * page_count:
        raise _fail(path, "the PDF has no text layer (scanned images?); OCR it first")

    title = None
    try:
        metadata = reader.metadata
        title = _one_line(metadata.title) if metadata is not None else None
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


# ---------------------------------------------------------------------------
# HTML

_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml\b[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._\-]+)"""
)

_HTML_LABELS = {
    # WHATWG labels for which Python's codec of the same name would be wrong
    # or too narrow.
    **dict.fromkeys(
        [
            "gb2312",
            "gbk",
            "x-gbk",
            "gb_2312",
            "gb_2312-80",
            "chinese",
            "csgb2312",
            "csiso58gb231280",
            "iso-ir-58",
            "gb18030",
            "cp936",
            "ms936",
            "windows-936",
            "euc-cn",
        ],
        "gb18030",
    ),
    **dict.fromkeys(
        ["big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5", "x-big5", "cp950"],
        "big5",
    ),
    **dict.fromkeys(
        ["iso-8859-1", "latin1", "latin-1", "ascii", "us-ascii", "iso8859-1"], "cp1252"
    ),
    # a <meta> can't really declare UTF-16 (it would be unreadable as ASCII)
    **dict.fromkeys(["utf-16", "utf-16le", "utf-16be", "unicode"], "utf-8"),
}


def _declared_html_encoding(data: bytes) -> str | None:
    head = data[:8192]
    m = _XML_ENCODING.match(head) or _META_CHARSET.search(head)
    if not m:
        return None
    label = m.group(1).decode("ascii", "replace").strip().lower()
    name = _HTML_LABELS.get(label, label)
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


_CHINESE_CODECS = frozenset({"gb18030", *_LEGACY_FAMILIES["big5"]})


def _better_than_declared(
    data: bytes, declared: str, declared_text: str
) -> tuple[str, str] | None:
    """A decoding that reads clearly better than the declared charset, if any.

    Pages often keep a stale <meta charset> after being re-saved as UTF-8, and
    old Chinese pages often declare ISO-8859-1 for GBK bytes.
    """
    alternatives: list[tuple[str, str]] = []
    try:
        alternatives.append((data.decode("utf-8"), "utf-8"))
    except UnicodeDecodeError:
        pass
    if declared not in _CHINESE_CODECS:
        legacy = _decode_legacy(data)
        if legacy is not None:
            alternatives.append(legacy)
    if not alternatives:
        return None
    floor = _plausibility(declared_text) + 0.1
    for text, name in alternatives:
        if _plausibility(text) > floor:
            return text, name
    return None


def _decode_html(path: Path, data: bytes) -> tuple[str, str]:
    for bom, codec_name, reported in _BOMS:
        if data.startswith(bom):
            break
    else:
        declared = _declared_html_encoding(data)
        if declared is not None:
            names = _LEGACY_FAMILIES.get(declared, (declared,))
            for name in names:
                try:
                    text = data.decode(name)
                except UnicodeDecodeError:
                    continue
                if codecs.lookup(name).name != "utf-8" and not data.isascii():
                    better = _better_than_declared(data, name, text)
                    if better is not None:
                        log.info(
                            "loaders: %s: declared %s but reads as %s",
                            path.name,
                            declared,
                            better[1],
                        )
                        return better
                return text, name
            # A few bad bytes (a truncated character, a bad copy) should not
            # lose the whole page: browsers show U+FFFD and so do we.
            for name in names:
                damaged = _decode_with_few_errors(data, name)
                if damaged is None:
                    continue
                text, errors, first = damaged
                if name not in _CHINESE_CODECS or _plausibility(text) >= PLAUSIBLE:
                    log.warning(
                        "loaders: %s: %d invalid %s byte sequence(s), first at byte %d",
                        path.name,
                        errors,
                        name,
                        first,
                    )
                    return text, name
            log.info(
                "loaders: %s: not valid %s as declared; detecting", path.name, declared
            )
    return _decode_text(path, data)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_VOID = _words(
    "area base br col embed hr img input keygen link meta param source track wbr"
)
# Never part of the main text.
# Never part of the main text.
_DROP = _words(
    "script style noscript template head iframe frame frameset object embed svg "
    "math canvas video audio select button textarea dialog"
)
# Page furniture, dropped unless it wraps the main content: an unclosed <nav>,
# or the <form> that ASP.NET pages put around the whole page.
_FURNITURE = _words("nav aside header footer form")
_HEAD_CONTENT = _words("title meta link style script base noscript template")
_MAIN_CONTENT = _words("article main")
_TEXT_BLOCKS = _words("article main p h1 h2 h3 table")
_DROP_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "search", "menu", "menubar"}
)
# Block-level elements: a paragraph break before and after.
_BLOCK = _words(
    "p div section article main h1 h2 h3 h4 h5 h6 li ul ol dl dt dd blockquote "
    "pre table thead tbody tfoot tr caption figure figcaption address header "
    "footer center hr details summary fieldset legend"
)
_CELL = frozenset({"td", "th"})
_CJK_WIDE = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
# CSS Text 3: a newline between two East Asian wide characters is removed,
# not turned into a space.
_CJK_SEGMENT_BREAK = re.compile(rf"(?<=[{_CJK_WIDE}])[ \t\r\f]*\n\s*(?=[{_CJK_WIDE}])")
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")


class _Node:
    __slots__ = ("attrs", "children", "has_blocks", "has_main", "parent", "tag")

    def __init__(self, tag: str, attrs: dict[str, str], parent: _Node | None):
        self.tag = tag
        self.attrs = attrs
        self.children: list[_Node | str] = []
        self.parent = parent
        self.has_main = False  # an <article> or <main> inside
        self.has_blocks = False  # a paragraph, heading or table inside


class _TreeBuilder(HTMLParser):
    """A forgiving element tree: unknown end tags are ignored, open ones closed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#document", {}, None)
        self.stack: list[_Node] = [self.root]
        self.title_parts: list[str] | None = None
        self.title: str | None = None
        self.head_at: int | None = None  # stack index of an open <head>

    def _end_title(self) -> None:
        if self.title_parts is not None:
            self.title = "".join(self.title_parts)
            self.title_parts = None

    def _add(self, tag: str, attrs: list[tuple[str, str | None]]) -> _Node:
        if self.head_at is not None and tag not in _HEAD_CONTENT:
            # Content closes an open <head> (as in browsers) even if </head> is missing.
            del self.stack[self.head_at :]
            self.head_at = None
            self._end_title()
        parent = self.stack[-1]
        node = _Node(tag, {k: (v or "") for k, v in attrs}, parent)
        parent.children.append(node)
        if tag in _TEXT_BLOCKS:
            is_main = tag in _MAIN_CONTENT
            ancestor: _Node | None = parent
            while ancestor is not None and not (
                ancestor.has_blocks and (ancestor.has_main or not is_main)
            ):
                ancestor.has_blocks = True
                ancestor.has_main = ancestor.has_main or is_main
                ancestor = ancestor.parent
        return node

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = self._add(tag, attrs)
        if tag == "title" and self.title is None:
            self.title_parts = []
        if tag not in _VOID:
            if tag == "head" and self.head_at is None:
                self.head_at = len(self.stack)
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._end_title()
        if tag == "br":  # browsers read </br> as <br>
            self._add("br", [])
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                if self.head_at is not None and self.head_at >= i:
                    self.head_at = None
                return

    def handle_data(self, data: str) -> None:
        if self.title_parts is not None:
            self.title_parts.append(data)
        self.stack[-1].children.append(data)


def _dropped(node: _Node, inside_main_content: bool) -> bool:
    """Whether an element (and everything in it) is left out of the main text."""
    tag = node.tag
    if tag in _DROP:
        return True
    if node.has_main or tag in ("html", "body"):
        return False  # never lose the main content to an unclosed or wrapping element
    attrs = node.attrs
    if tag == "form":
        return not node.has_blocks
    if tag == "header":
        # a page header goes; an <article>'s own <header> holds its title
        return not inside_main_content
    if tag in _FURNITURE:
        return True
    if attrs.get("role", "").strip().lower() in _DROP_ROLES:
        return True
    if "hidden" in attrs or attrs.get("aria-hidden", "").strip().lower() == "true":
        return True
    style = attrs.get("style", "").replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


def _find(root: _Node, tag: str) -> list[_Node]:
    """Outermost kept elements named tag (not inside dropped elements)."""
    found: list[_Node] = []
    stack: list[tuple[_Node, bool]] = [(root, root.tag in ("article", "main"))]
    while stack:
        node, in_content = stack.pop()
        for child in reversed(node.children):
            if isinstance(child, str) or _dropped(child, in_content):
                continue
            if child.tag == tag:
                found.append(child)
            else:
                stack.append((child, in_content or child.tag in ("article", "main")))
    found.reverse()
    return found


_PARA = object()  # a paragraph break
_LINE = object()  # a line break (<br>, or a newline inside <pre>)
_CELL_START = object()  # a new table cell in the current row
_END_ROW = object()  # walker bookkeeping: the end of a <tr>


def _render(roots: list[_Node]) -> str:
    """The text of the given subtrees, blocks separated by blank lines."""
    out: list[object] = []
    # An iterative walk: deep, unclosed markup must not hit the recursion limit.
    # Stack items: (node, text or marker; inside <article>/<main>; inside <pre>).
    stack: list[tuple[object, bool, bool]] = []
    for root in reversed(roots):
        stack.append((_PARA, False, False))
        stack.append((root, False, False))
    cells_in_row: list[int] = []
    while stack:
        item, in_content, in_pre = stack.pop()
        if item is _PARA or item is _LINE:
            out.append(item)
        elif item is _END_ROW:
            cells_in_row.pop()
            out.append(_PARA)
        elif isinstance(item, str):
            if in_pre:
                for i, line in enumerate(item.split("\n")):
                    if i:
                        out.append(_LINE)
                    out.append(line)
            else:
                out.append(_HTML_SPACE.sub(" ", _CJK_SEGMENT_BREAK.sub("", item)))
        else:
            node: _Node = item  # type: ignore[assignment]
            tag = node.tag
            if tag == "br":
                out.append(_LINE)
                continue
            if tag == "hr":
                out.append(_PARA)
                continue
            if tag in _VOID:
                continue
            in_content = in_content or tag in ("article", "main")
            in_pre = in_pre or tag in ("pre", "listing", "plaintext", "xmp")
            if tag == "tr":
                out.append(_PARA)
                cells_in_row.append(0)
                stack.append((_END_ROW, in_content, in_pre))
            elif tag in _CELL:
                if cells_in_row:
                    if cells_in_row[-1]:
                        out.append(_CELL_START)
                    cells_in_row[-1] += 1
            elif tag in _BLOCK:
                out.append(_PARA)
                stack.append((_PARA, in_content, in_pre))
            for child in reversed(node.children):
                if isinstance(child, str) or not _dropped(child, in_content):
                    stack.append((child, in_content, in_pre))
    return _assemble(out)


def _assemble(pieces: list[object]) -> str:
    paragraphs: list[str] = []
    lines: list[str] = []
    cells: list[list[str]] = [[]]
    after_break = False  # a <br> with nothing but whitespace after it so far

    def end_line() -> bool:
        texts = [" ".join("".join(c).split()) for c in cells]
        cells[:] = [[]]
        line = table_row(texts)
        if line:
            lines.append(line)
        return bool(line)

    def end_paragraph() -> None:
        end_line()
        if lines:
            paragraphs.append("\n".join(lines))
            lines.clear()

    for piece in pieces:
        if piece is _PARA:
            end_paragraph()
            after_break = False
        elif piece is _LINE:
            if not end_line() and after_break:
                end_paragraph()  # <br><br> separates paragraphs
            after_break = True
        elif piece is _CELL_START:
            cells.append([])
        else:
            cells[-1].append(piece)  # type: ignore[arg-type]
            if after_break and piece.strip():  # type: ignore[union-attr]
                after_break = False
    end_paragraph()
    return "\n\n".join(paragraphs)


def _content_roots(root: _Node) -> list[_Node]:
    """<article>s, else <main>, else <body>, else the whole document."""
    bodies = _find(root, "body")
    fallback = bodies[:1] or [root]
    for tag in ("article", "main"):
        found = _find(root, tag)
        if found:
            # Guard against a stray small <article> (a teaser card, a comment)
            # while the real text sits in plain <div>s.
            chosen_len = len(_render(found))
            whole_len = len(_render(fallback))
            if chosen_len >= 0.2 * whole_len:
                return found
    return fallback


def _load_html(path: Path, data: bytes) -> LoadedText:
    raw, encoding = _decode_html(path, data)
    builder = _TreeBuilder()
    try:
        builder.feed(_normalise(raw))
        builder.close()
    except Exception as exc:
        raise _fail(path, f"cannot parse the HTML ({_describe(exc)})") from exc
    roots = _content_roots(builder.root)
    text = _tidy(_render(roots))

    title = None
    headings = [h for r in roots for h in _find(r, "h1")]
    if headings:
        title = _one_line(_render(headings[:1]))
    if not title:
        title = _one_line(builder.title)
    if not title:
        all_h1 = _find(builder.root, "h1")
        title = _one_line(_render(all_h1[:1])) if all_h1 else None
    return LoadedText(text=text, encoding=f"html/{encoding}", title=title)
