"""HTML pages: the encoding they declare (when it reads better than the alternatives), the element tree as
browsers build it (selectolax's Lexbor), and the main text only, without navigation, forms and page furniture."""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

from bot.ingest.loaders.common import (
    LoadedText,
    describe,
    fail,
    normalise,
    one_line,
    table_row,
    tidy,
)
from bot.ingest.loaders.encodings import (
    BOMS,
    LEGACY_FAMILIES,
    PLAUSIBLE,
    decode_legacy,
    decode_text,
    decode_with_few_errors,
    plausibility,
)

log = logging.getLogger(__name__)


_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:\-]+)""", re.IGNORECASE)


_XML_ENCODING = re.compile(rb"""^\s*<\?xml\b[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._\-]+)""")


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
    **dict.fromkeys(["iso-8859-1", "latin1", "latin-1", "ascii", "us-ascii", "iso8859-1"], "cp1252"),
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


_CHINESE_CODECS = frozenset({"gb18030", *LEGACY_FAMILIES["big5"]})


def _better_than_declared(data: bytes, declared: str, declared_text: str) -> tuple[str, str] | None:
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
        legacy = decode_legacy(data)
        if legacy is not None:
            alternatives.append(legacy)
    if not alternatives:
        return None
    floor = plausibility(declared_text) + 0.1
    for text, name in alternatives:
        if plausibility(text) > floor:
            return text, name
    return None


def _decode_html(path: Path, data: bytes) -> tuple[str, str]:
    for bom, codec_name, reported in BOMS:
        if data.startswith(bom):
            break
    else:
        declared = _declared_html_encoding(data)
        if declared is not None:
            names = LEGACY_FAMILIES.get(declared, (declared,))
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
                damaged = decode_with_few_errors(data, name)
                if damaged is None:
                    continue
                text, errors, first = damaged
                if name not in _CHINESE_CODECS or plausibility(text) >= PLAUSIBLE:
                    log.warning(
                        "loaders: %s: %d invalid %s byte sequence(s), first at byte %d",
                        path.name,
                        errors,
                        name,
                        first,
                    )
                    return text, name
            log.info("loaders: %s: not valid %s as declared; detecting", path.name, declared)
    return decode_text(path, data)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_VOID = _words("area base br col embed hr img input keygen link meta param source track wbr")


# Never part of the main text.
# Never part of the main text.
_DROP = _words(
    "script style noscript template head iframe frame frameset object embed svg "
    "math canvas video audio select button textarea dialog"
)


# Page furniture, dropped unless it wraps the main content: an unclosed <nav>,
# or the <form> that ASP.NET pages put around the whole page.
_FURNITURE = _words("nav aside header footer form")




_MAIN_CONTENT = _words("article main")


_TEXT_BLOCKS = _words("article main p h1 h2 h3 table")


_DROP_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "menubar"})


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


def _mark_blocks(node: _Node) -> None:
    """Note in the node's ancestors that they hold a text block (and whether an <article> or <main>)."""
    is_main = node.tag in _MAIN_CONTENT
    ancestor = node.parent
    while ancestor is not None and not (ancestor.has_blocks and (ancestor.has_main or not is_main)):
        ancestor.has_blocks = True
        ancestor.has_main = ancestor.has_main or is_main
        ancestor = ancestor.parent


def _parse(html: str) -> tuple[_Node, str | None]:
    """The page's element tree as browsers build it (Lexbor, through selectolax: HTML5 tree construction, any
    depth of nesting), and its <title>. Built without recursion: pages nest thousands of elements deep."""
    from selectolax.lexbor import LexborHTMLParser

    document = LexborHTMLParser(html)
    title_element = document.css_first("head > title") or document.css_first("title")
    title = title_element.text(deep=True) if title_element is not None else None
    root = _Node("#document", {}, None)
    stack = [(document.root, root)] if document.root is not None else []
    while stack:
        source, parent = stack.pop()
        tag = source.tag
        if tag == "-text":
            parent.children.append(source.text_content or "")
            continue
        if not tag or tag.startswith(("_", "!", "-")):  # comments, doctype
            continue
        node = _Node(tag, {name: value or "" for name, value in source.attributes.items()}, parent)
        parent.children.append(node)
        if tag in _TEXT_BLOCKS:
            _mark_blocks(node)
        children = list(source.iter(include_text=True))
        stack.extend((child, node) for child in reversed(children))
    return root, title


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


def load_html(path: Path, data: bytes) -> LoadedText:
    raw, encoding = _decode_html(path, data)
    try:
        tree, page_title = _parse(normalise(raw))
    except Exception as exc:
        raise fail(path, f"cannot parse the HTML ({describe(exc)})") from exc
    roots = _content_roots(tree)
    text = tidy(_render(roots))

    title = None
    headings = [h for r in roots for h in _find(r, "h1")]
    if headings:
        title = one_line(_render(headings[:1]))
    if not title:
        title = one_line(page_title)
    if not title:
        all_h1 = _find(tree, "h1")
        title = one_line(_render(all_h1[:1])) if all_h1 else None
    return LoadedText(text=text, encoding=f"html/{encoding}", title=title)
