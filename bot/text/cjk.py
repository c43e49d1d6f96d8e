"""What counts as Chinese: the one definition every stage uses (it imports nothing from Wenda).

- An *ideograph* is a Chinese character: CJK unified ideographs with extension A, the compatibility
  ideographs, and extensions B and later. `IDEOGRAPHS` is the same set, as the body of a regular
  expression's character class (the Basic Multilingual Plane part).
- `is_cjk` is wider: the ideographs and the punctuation and forms that sit between them without
  spaces (。、「」，！（）Ⅱ“”…), which is what OCR cleaning needs to know when it joins lines.
- `has_chinese` is whether a text holds an ideograph: full-width punctuation alone is not Chinese
  (`What is GDP？` is an English question).
"""

from __future__ import annotations

IDEOGRAPHS = "\u3400-\u9fff\uf900-\ufaff"


def is_ideograph(char: str) -> bool:
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3FFFF


def is_cjk(char: str) -> bool:
    """True for Chinese characters and the punctuation that sits between them without spaces."""
    code = ord(char)
    return (
        is_ideograph(char)
        or 0x3000 <= code <= 0x303F  # CJK punctuation: 。、「」
        or 0xFF00 <= code <= 0xFFEF  # full-width forms: ，！（）
        or 0x2150 <= code <= 0x218F  # number forms: Ⅱ
        or char in "“”‘’…—·"
    )


def has_chinese(text: str) -> bool:
    """Whether the text holds a Chinese character."""
    return any(is_ideograph(char) for char in text)
