"""Text folding and lexical tokens: what the BM25 side and the answer extractor match on.

Matching happens on folded text: full-width forms become half-width (`１１月９日` -> `11月9日`),
traditional characters become simplified (`渝萬高鐵` -> `渝万高铁`), Latin letters lower-case.
Folding keeps the length of the text, character for character, so a span found in folded text
is the same span in the original, which is what users are shown.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.text.cjk import has_chinese, is_cjk

# Roman numerals stay single characters (NFKC would turn Ⅱ into II and change lengths).
ROMAN_NUMERALS = set("ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩⅪⅫ")
ASCII_WORD_RE = re.compile(r"[a-z]+|\d+(?:\.\d+)?")


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    if char in ROMAN_NUMERALS:
        return char
    folded = unicodedata.normalize("NFKC", char)
    if len(folded) != 1:
        return char
    return folded.lower()


@lru_cache(maxsize=65536)  # passages' sentences are folded again for every question about them
def fold(text: str) -> str:
    """Full-width -> half-width, traditional -> simplified, lower case; same length as `text`.

    `"渝萬高鐵何時開工？"` -> `"渝万高铁何时开工?"`.
    """
    folded = "".join(_fold_char(char) for char in text)
    simplified = _t2s().convert(folded)
    if len(simplified) == len(folded):
        return simplified
    # A phrase conversion changed the length: convert character by character instead.
    return "".join(converted if len(converted := _t2s().convert(char)) == 1 else char for char in folded)


@lru_cache(maxsize=1)
def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


@lru_cache(maxsize=4096)  # OpenCC's Python conversion takes ~1 ms a sentence; answers repeat
def to_traditional(text: str | None) -> str | None:
    """Simplified -> traditional, for replies to questions asked in traditional characters."""
    return _s2t().convert(text) if text else text


def to_simplified(text: str) -> str:
    """Traditional -> simplified, nothing else changed (`fold` also narrows and lowers)."""
    return _t2s().convert(text)


@lru_cache(maxsize=4096)
def is_traditional(text: str) -> bool:
    """Whether the text uses traditional characters (folding changes some CJK character)."""
    cjk = "".join(char for char in text if is_cjk(char))
    return bool(cjk) and _t2s().convert(cjk) != cjk


def has_cjk(text: str) -> bool:
    """Whether the text holds a Chinese character (full-width punctuation alone does not count)."""
    return has_chinese(text)
