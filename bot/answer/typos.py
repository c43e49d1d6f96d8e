"""Typing slips in a Chinese question, put right against the corpus before it is searched and read.

People type Chinese with a pinyin keyboard, and its slips are homophones: 万洲 for 万州, 仁口 for 人口, 连盟
for 联盟, 那些 for 哪些. Two kinds are mended:

- question words (`mend_interrogatives`): a closed list of misspellings (那些, 合时, 时侯, 多少前), which
  decide the question's type;
- any other character (`mend_homophones`) that fits neither neighbour anywhere in the corpus and makes no
  word of jieba's dictionary with them, while a character of the same pinyin (tones ignored: a keyboard is
  typed without them) makes a dictionary word the corpus has, or a three-character stretch of it: `万洲的五大`
  -> `万州的五大` (the corpus has 万州, never 万洲 or 洲的). The corpus's character n-grams (the BM25 vocabulary)
  are the test, so it mends towards what this collection says; a real word the corpus lacks (区委书记)
  stays as typed, since its absence is what says "not found". The pipeline keeps a homophone mend only when
  the mended question lies nearer its best passage than the question as typed (`Wenda._answer`).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from bot.answer.question import INTERROGATIVE_RE, QUESTION_WORD_CHARS
from bot.search.index import Index
from bot.text.cjk import is_ideograph
from bot.text.fold import fold

# Question words as a pinyin keyboard misspells them: the homophone picked instead (那些 for 哪些, 合时 for 何时,
# 时侯 for 时候, 多少前 for 多少钱). In either script; 甚么 is an old spelling of 什么, not a slip.
ALWAYS_MENDED = [
    (re.compile(r"(?<=[么麼麽啥])([时時])侯"), r"\1候"),
    (re.compile(r"甚([么麼麽])"), r"什\1"),
    (re.compile(r"(?<=多少)前(?=$|[\s?？。!！，,])"), "钱"),
]
# These are words too (那些 "those", 合时 "in season"): mended only where the question asks nothing otherwise.
MISTYPED_INTERROGATIVES = re.compile(
    r"那(?=[里裡儿兒些个個几幾天年位家种種条條所座类類国國]|一[年天个個位家种種条條])|合(?=[时時](?!宜))"
)
RIGHT_SPELLING = {"那": "哪", "合": "何"}
QUOTED_RE = re.compile(r"「[^」]*」|『[^』]*』|“[^”]*”|《[^》]*》|\"[^\"]*\"")


# Characters too common in too many words to tell a slip by (的 in `省市的交界` fits no neighbour in a corpus
# that never says 市的).
FUNCTION_CHARS = QUESTION_WORD_CHARS | set("之地得着过被把给对从由到让向这那其该都也就还又并将已以于等及或和与而不即未仅则若如因所很最更再才只曾时")


def mend_interrogatives(question: str) -> str:
    """The question with its misspelt question words put right (`改革协作框架协议是那几个地方签署的` ->
    `…哪几个地方…`, `渝万高铁合时开工` -> `…何时…`), so its type and the reader see what was meant. A demonstrative
    stays where something else asks (`那个项目投资了多少`)."""
    for pattern, right in ALWAYS_MENDED:
        question = pattern.sub(right, question)
    # Not inside quotes (「我那天晚上…」此话为何人所言: the 那天 is the speaker's).
    quoted = [match.span() for match in QUOTED_RE.finditer(question)]
    slips = [slip for slip in MISTYPED_INTERROGATIVES.finditer(question) if not any(a <= slip.start() < b for a, b in quoted)]
    if not slips:
        return question
    # What asks once the slips are taken out, with what they ask with (the 几 of 那几个).
    rest, kept = [], 0
    for slip in slips:
        rest.append(question[kept : slip.start()])
        kept = slip.end() + (question[slip.end() : slip.end() + 1] in ("几", "幾"))
    rest = "".join(rest) + question[kept:]
    if INTERROGATIVE_RE.search(fold(rest)):
        return question
    mended = list(question)
    for slip in slips:
        mended[slip.start()] = RIGHT_SPELLING[slip.group()]
    return "".join(mended)


def toneless(reading: str) -> str:
    """`zhōu` -> `zhou`, `lǜ` -> `lv` (how a pinyin keyboard is typed)."""
    reading = reading.replace("ü", "v").replace("ǖ", "v").replace("ǘ", "v").replace("ǚ", "v").replace("ǜ", "v")
    return "".join(char for char in unicodedata.normalize("NFD", reading) if not unicodedata.combining(char))


@cache
def homophone_table() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Each ideograph's toneless readings, and for each reading the ideographs it is the first (commonest)
    reading of (pypinyin's character table, read once: ~40k characters, ~0.3 s)."""
    from pypinyin.pinyin_dict import pinyin_dict

    readings: dict[str, tuple[str, ...]] = {}
    chars: dict[str, list[str]] = {}
    for code, spelled in pinyin_dict.items():
        char = chr(code)
        if not is_ideograph(char):
            continue
        readings[char] = tuple(dict.fromkeys(toneless(reading) for reading in spelled.split(",")))
        chars.setdefault(readings[char][0], []).append(char)
    return readings, {reading: tuple(found) for reading, found in chars.items()}


def homophones(char: str) -> list[str]:
    """The characters a pinyin keyboard offers beside `char` for what was typed: those whose usual reading is
    `char`'s usual reading, tones ignored (提 is read shí only in old texts, 而 néng too: no slips for 时, 能),
    simplified ones only (a question is mended once folded)."""
    readings, chars = homophone_table()
    said = readings.get(char)
    return [other for other in chars[said[0]] if other != char and fold(other) == other] if said else []


def is_word(text: str) -> bool:
    """Whether jieba's dictionary has `text` as a word (not only as the start of longer ones)."""
    import jieba

    jieba.initialize()  # once: the dictionary loads on first use, and get_FREQ does not load it
    return bool(jieba.get_FREQ(text))


def mend_homophones(index: Index, question: str) -> str:
    """The (folded) question with each slip put right: a character that fits neither neighbour anywhere in the
    corpus, and makes no word of jieba's dictionary with them, is replaced by the homophone that does both
    (`万洲的五大重点产业是什么` -> `万州的…`, `森林复盖率` stays: 复盖 is a word, if a rare one). Of several, the one
    making most such words and three-character stretches of the corpus, then the commoner. A real word the
    corpus lacks (`区委书记`) is left as typed, and so are question words (哪些 rarely occurs in a corpus)."""
    chars = list(question)
    # Question words, and the measure word or noun after 哪 or 几 (哪位, 哪一州, 几类): the corpus never has it
    # beside them, and it is no slip.
    asking, asked = set(), set()
    for match in INTERROGATIVE_RE.finditer(question):
        asking.update(range(*match.span()))
        if match.group()[-1] in "哪几":
            end = match.end() + 1 + (question[match.end() : match.end() + 1] == "一")
            asked.update(range(match.end(), min(end, len(question))))
    readings = homophone_table()[0]

    def grams_around(position: int, lengths: tuple[int, ...]) -> list[str]:
        """The n-grams of these lengths holding `position` that lie within its run of ideographs, outside question
        words."""
        found = []
        for length in lengths:
            for start in range(position - length + 1, position + 1):
                piece = chars[max(start, 0) : start + length]
                if start >= 0 and len(piece) == length and all(map(is_ideograph, piece)) and not asking.intersection(range(start, start + length)):
                    found.append("".join(piece))
        return found

    for position, char in enumerate(chars):
        if position in asking or position in asked or char in FUNCTION_CHARS or char not in readings:
            continue
        bigrams = grams_around(position, (2,))
        if not bigrams or any(index.has_gram(gram) for gram in bigrams):
            continue  # it fits a neighbour: no slip (or no neighbour to tell by)
        if any(is_word(gram) for gram in grams_around(position, (2, 3))):
            continue  # a word, one this corpus lacks: its absence is the answer
        choices = []
        for other in homophones(char):
            chars[position] = other
            fitting = [gram for gram in grams_around(position, (2, 3)) if index.has_gram(gram)]
            telling = [gram for gram in fitting if len(gram) == 3 or is_word(gram)]
            if telling:
                choices.append((len(telling), len(fitting), -float(index.idf(fitting).sum()), other))
        chars[position] = max(choices)[-1] if choices else char
    return "".join(chars)
