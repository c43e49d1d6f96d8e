"""The one definition of Chinese characters, and that the low-level text modules need nothing above them."""

from __future__ import annotations

import subprocess
import sys

from bot.answer.question import analyse
from bot.text.cjk import IDEOGRAPHS, has_chinese, is_cjk, is_ideograph


def test_ideographs_are_chinese_characters_of_every_block():
    for char in "渝萬㐀豈𠀀":  # unified, traditional, extension A, compatibility, extension B
        assert is_ideograph(char) and is_cjk(char), char
    for char in "，。Ⅱ“a1 ":
        assert not is_ideograph(char), char
    assert all(is_cjk(char) for char in "，。、「」（）Ⅱ“”…")
    assert not is_cjk("a") and not is_cjk(",")


def test_full_width_punctuation_alone_is_not_chinese():
    assert has_chinese("渝万高铁何时开工") and not has_chinese("What is GDP？")
    assert analyse("What is Wanzhou's GDP？").chinese is False  # asked in English, typed on a Chinese keyboard


def test_the_regular_expression_class_matches_the_function():
    import re

    pattern = re.compile(f"[{IDEOGRAPHS}]")
    for code in (0x33FF, 0x3400, 0x4E00, 0x9FFF, 0xA000, 0xF8FF, 0xF900, 0xFAFF, 0xFB00):
        char = chr(code)
        assert bool(pattern.match(char)) == is_ideograph(char), hex(code)


def test_text_folding_does_not_import_the_corpus_stage():
    code = "import sys, bot.text.fold; print('bot.ingest.clean' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
