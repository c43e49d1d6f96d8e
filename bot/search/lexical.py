"""The lexical side: BM25 (bm25s) over folded character 1-3-grams and Latin words, the same tokens for
passages, questions and the index's word statistics."""

from __future__ import annotations

import logging
from typing import Any

from bot.ingest.passages import Passage
from bot.text.cjk import is_ideograph
from bot.text.fold import ASCII_WORD_RE, ROMAN_NUMERALS, fold

TOKENIZER = "char-1-3-gram/v1"


def longest_grams(word: str) -> list[str]:
    """The word's longest lexical tokens (its trigrams, or bigrams for two characters): what it is matched by."""
    grams = lexical_tokens(word)
    longest = max((len(g) for g in grams), default=0)
    return [g for g in grams if len(g) == longest]


def load_bm25s():
    """Import bm25s, which sets its logger to DEBUG on import: let it inherit our level instead."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


def make_bm25(passages: list[Passage]) -> Any:
    """A BM25 index over the passages' character n-grams."""
    bm25 = load_bm25s().BM25()
    corpus = [lexical_tokens(passage.text + " " + passage.section) or [""] for passage in passages]
    if corpus:
        bm25.index(corpus, show_progress=False)
    return bm25


def lexical_tokens(text: str) -> list[str]:
    """BM25 tokens: Chinese character 1-, 2- and 3-grams, Latin words and numbers.

    Measured on CMRC 2018 (see README): character n-grams retrieve better than jieba words and
    need no dictionary of the corpus's names (渝万, 万达开); trigrams reward a quoted phrase
    (《改革协作框架协议》) matched whole. `"渝万高铁"` ->
    `["渝", "万", "高", "铁", "渝万", "万高", "高铁", "渝万高", "万高铁"]`.
    """
    folded = fold(text)
    tokens: list[str] = []
    run: list[str] = []

    def flush_run() -> None:
        tokens.extend(run)
        tokens.extend(a + b for a, b in zip(run, run[1:]))
        tokens.extend(a + b + c for a, b, c in zip(run, run[1:], run[2:]))
        run.clear()

    position = 0
    length = len(folded)
    while position < length:
        char = folded[position]
        if is_ideograph(char) or char in ROMAN_NUMERALS:
            run.append(char)
            position += 1
            continue
        flush_run()
        match = ASCII_WORD_RE.match(folded, position)
        if match:
            tokens.append(match.group())
            position = match.end()
        else:
            position += 1
    flush_run()
    return tokens
