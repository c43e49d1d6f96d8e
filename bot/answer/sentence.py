"""The sentence an answer shows: sentences of the best passage's article ranked by the question's words
(`choose_sentence`, the rules' path), the part of a window the reader reads (`focus`), and the sentence
with the context it leans on (`in_context`: the clause's whole sentence, a because-clause, a qualifier)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from bot.answer.extract import RELATIVE_DATE_RE, Span, extract
from bot.answer.question import QuestionInfo, word_share
from bot.answer.synonyms import mentions
from bot.ingest.passages import Passage, split_sentences
from bot.search.index import Hit, Index
from bot.text.cjk import IDEOGRAPHS
from bot.text.fold import fold

# A sentence opening with one of these leans on the one before it (因此 what? 该区 which?): the answer shows
# both, so that `为什么称猴面包树为笨蛋水果` gets its reason and not only `因此它有时也被称为笨蛋水果`.
# A date given by reference (同月, 当年: RELATIVE_DATE_RE) leans on the one that names it.
BACK_REFERENCE_RE = re.compile(rf"^(?:因此|所以|因而|于是|从而|由此|此|这|该|其|他|她|它|牠|但|然而|不过|而|{RELATIVE_DATE_RE.pattern})")


# A sentence opening with one of these qualifies the one before it, maybe reversing it: shown together
# (`MonoDevelop也可以在Windows跟Mac OS X平台上执行。但并不是一开始就可以的，而是到2.2之后才正式可以。`).
QUALIFIER_RE = re.compile(r"^(?:但|然而|不过|可是)")


# A sentence ending so announces what follows (`印度野驴与非洲野驴有些分别。`, `浮龙具有数个独有特征。`,
# `…陷入了类似以下的状况。`, a line ending in a colon): the answer shows it with the CATAPHORA_FOLLOWING
# sentences after it.
CATAPHORA_RE = re.compile(
    rf"(?:以下|如下|下列)[{IDEOGRAPHS}]{{0,6}}[：:。]$"
    rf"|(?:有|具有)(?:一些|些|几|数|多|两|三|四|五)[个种项点大]?[{IDEOGRAPHS}]{{0,6}}"
    r"(?:分别|区别|不同|差异|特征|特点|原因|优点|缺点)[：:。]$"
    r"|[：:]$"
)


CATAPHORA_FOLLOWING = 2


# A unit ending so is a clause of a longer sentence (the passage splitter ends units at ；).
CLAUSE_END_RE = re.compile(r"[；;][”’」』）)]*$")


def sentences_of(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text, whole_quotes=True)]


def _join_windows(first: str, second: str) -> str:
    """Two consecutive windows as one text: a window starts with the last sentence of the one before."""
    for overlap in range(min(len(first), len(second)), 3, -1):
        if first.endswith(second[:overlap]):
            return first + second[overlap:]
    return first + second


# Sentences compete from the best passage's article (same document and section): its windows among the
# first ARTICLE_DEPTH hits, as equals. Measured on CMRC 2018, where a paragraph spans about three windows
# and the answer is often in a window ranked well below the best. Other articles lend none: letting the
# first three compete at a penalty, when ranked nearly as well, helped no question once the article's
# deeper windows took part, and moved the wrong article to the top for two.
ARTICLE_DEPTH = 20


# An English question's words are translations, matching loosely: more windows would mostly add wrong
# numbers of the asked type (`What was the total agreed investment…` found another project's): the first
# SENTENCE_POOL hits only.
SENTENCE_POOL = 5


# A sentence holding a span of the asked type (a date for 何时) is preferred by this much.
TYPED_SPAN_BONUS = 0.5


def relevance(index: Index, words: list[str], title: str, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """How well each sentence of an article matches the question's words, and the IDF-weighted share of them
    it and the title hold.

    The document's own subject (its title: 纽西兰鸡毛松) names every sentence's topic, so a sentence need
    not repeat it (`本鱼以甲壳类为食` answers `蓝线裸顶鲷以什么为食`): its title counts towards what it holds,
    and ranking is by the other words, each weighted by its rarity in the corpus *and* among these
    sentences (a word every sentence repeats cannot tell them apart), plus shared characters. When the
    title holds them all (纽西兰鸡毛松有多高), none ranks."""
    folded = [fold(sentence) for sentence in sentences]
    title = fold(title)
    coverage_share = word_share(index, words, [f"{text} {title}" for text in folded])
    ranking = [word for word in words if not mentions(title, word)]
    present = np.array([[mentions(text, word) for word in ranking] for text in folded], dtype=np.float64)
    present = present.reshape(len(folded), len(ranking))
    weights = index.word_idf(ranking)
    share = present @ weights / (float(weights.sum()) or 1.0)
    local = np.log((len(folded) + 1.0) / (present.sum(axis=0) + 0.5))
    discriminative = present @ (weights * local) / (float((weights * local).sum()) or 1.0)
    chars = set("".join(ranking))
    char_share = np.array([len(chars & set(text)) / (len(chars) or 1) for text in folded])
    return discriminative + share + 0.5 * char_share, coverage_share


def focus(index: Index, text: str, words: list[str], limit: int) -> tuple[int, int]:
    """What the reader reads of a window: all of it, or with READER_FOCUS_CHARS the sentence holding the
    largest IDF-weighted share of the question's words with the sentences beside it, up to that many
    characters (the one before first: a sentence often names its subject there)."""
    sentences = split_sentences(text)
    if not limit or not words or len(text) <= limit or len(sentences) < 2:
        return 0, len(text)
    shares = word_share(index, words, [fold(text[start:end]) for start, end in sentences])
    first = last = int(np.argmax(shares))
    while True:
        if first > 0 and sentences[last][1] - sentences[first - 1][0] <= limit:
            first -= 1
        elif last + 1 < len(sentences) and sentences[last + 1][1] - sentences[first][0] <= limit:
            last += 1
        else:
            return sentences[first][0], sentences[last][1]


def holds(index: Index, hit: Hit) -> bool:
    """Whether the hit's passage is this index's (not a hand-made one): its neighbours are known."""
    passages, position = index.passages, hit.position
    return 0 <= position < len(passages) and passages[position] is hit.passage


def neighbour(index: Index, hit: Hit, step: int) -> Passage | None:
    """The window before (-1) or after (+1) the hit's own in its article, if any."""
    position = hit.position + step
    if holds(index, hit) and 0 <= position < len(index.passages):
        passage = index.passages[position]
        if passage.article == hit.passage.article:
            return passage
    return None


def is_lead(index: Index, sentence: str, hit: Hit) -> bool:
    """Whether the sentence opens its article: the first of the article's first window."""
    return (
        holds(index, hit)
        and neighbour(index, hit, -1) is None
        and sentences_of(hit.passage.text)[:1] == [sentence]
    )


def reading_windows(index: Index, hits: list[Hit], count: int, budget: int) -> list[Hit]:
    """The windows the reader reads: the `count` best-ranked of the best passage's article. Where that passage is a
    whole section shorter than `budget` / `count` characters in a document of at most `budget` characters (a
    recipe's introduction under its title, the steps under a heading of their own), the answer is likelier in a
    section beside it: that document's windows are read instead, best-ranked first."""
    best = hits[0]
    same = [hit for hit in hits if hit.passage.article == best.passage.article][:count]
    alone = neighbour(index, best, -1) is None and neighbour(index, best, +1) is None
    if not holds(index, best) or not alone or len(best.passage.text) * count >= budget:
        return same
    document = short_document(index, best.position, budget)
    return [hit for hit in hits if hit.position in document] if document else same


def short_document(index: Index, position: int, budget: int) -> set[int] | None:
    """The rows of the passages of the document around row `position` (a document's passages are consecutive), or
    None where they hold more than `budget` characters."""
    passages, doc_id = index.passages, index.passages[position].doc_id
    rows, size = {position}, len(passages[position].text)
    for step in (-1, 1):
        row = position + step
        while 0 <= row < len(passages) and passages[row].doc_id == doc_id:
            size += len(passages[row].text)
            if size > budget:
                return None
            rows.add(row)
            row += step
    return rows


def article_text(index: Index, hit: Hit) -> str:
    """The hit's window with the windows before and after it in its article, their shared sentence once."""
    text = hit.passage.text
    if (before := neighbour(index, hit, -1)) is not None:
        text = _join_windows(before.text, text)
    if (after := neighbour(index, hit, +1)) is not None:
        text = _join_windows(text, after.text)
    return text


def in_context(index: Index, sentence: str, hit: Hit) -> str:
    """The sentence as the answer shows it: the whole sentence holding the chosen one, which may be a
    clause ended by ； (`…等症；近用于乳糜尿。`) or a piece of a long sentence cut at a window's edge,
    with the sentence before it when it leans on it (BACK_REFERENCE_RE), the one after it when that
    one qualifies it (QUALIFIER_RE), and the ones after it when it announces them (CATAPHORA_RE)."""
    text = article_text(index, hit)
    spans = split_sentences(text, whole_quotes=True)
    units = [text[start:end] for start, end in spans]
    at = next((i for i, unit in enumerate(units) if sentence in unit), None)
    if at is None:
        return sentence

    def whole(unit: int) -> tuple[int, int]:
        """The first and last unit of the sentence holding this unit (units ended by ； are clauses)."""
        first = last = unit
        while first > 0 and CLAUSE_END_RE.search(units[first - 1]):
            first -= 1
        while last + 1 < len(units) and CLAUSE_END_RE.search(units[last]):
            last += 1
        return first, last

    first, last = whole(at)
    if first > 0 and BACK_REFERENCE_RE.match(units[first]):
        first = whole(first - 1)[0]
    if last + 1 < len(units) and QUALIFIER_RE.match(units[last + 1]):
        last = whole(last + 1)[1]
    if CATAPHORA_RE.search(units[last]):
        for _ in range(CATAPHORA_FOLLOWING):
            if last + 1 < len(units):
                last = whole(last + 1)[1]
    shown = units[first]
    for unit in units[first + 1 : last + 1]:  # across a paragraph break: nothing between, a space in Latin
        shown += unit if not shown[-1].isascii() or not unit[0].isascii() else " " + unit
    return shown


def choose_sentence(
    index: Index, embedder: Any, info: QuestionInfo, words: list[str], hits: list[Hit]
) -> tuple[str, Span | None, Hit, float]:
    """The sentence that answers, its answer span (None if it has none of the asked type), its passage,
    and the IDF-weighted share of the question's words it and its document's title contain.

    Sentences of the best passage's article (see ARTICLE_DEPTH) are ranked by the question words they
    share, each word weighted by its rarity in the corpus *and* among these sentences (a word every
    sentence repeats, like the topic's name, cannot tell them apart), plus shared characters, plus a
    bonus for a span of the asked type. A question without Chinese words is matched by the sentence
    model instead.
    """
    best = hits[0]
    candidates: list[tuple[str, Hit]] = []
    seen: set[str] = set()
    for hit in hits[: ARTICLE_DEPTH if info.chinese else SENTENCE_POOL]:
        if hit.passage.article != best.passage.article:
            continue
        for sentence in sentences_of(hit.passage.text):
            if sentence not in seen:  # overlapping windows repeat a sentence
                seen.add(sentence)
                candidates.append((sentence, hit))
    if not candidates:
        return best.passage.text.strip(), None, best, 0.0
    if words:
        matched, coverage_share = relevance(index, words, best.passage.title, [sentence for sentence, _ in candidates])
    else:
        vectors = embedder.encode_passages([sentence for sentence, _ in candidates])
        query = embedder.encode_queries([info.text])[0]
        coverage_share = matched = vectors @ query
    scores = np.asarray(matched, dtype=np.float64)
    # Look for typed spans (the slow part: jieba) only in sentences the bonus could still lift to the top.
    spans: list[Span | None] = [None] * len(candidates)
    leader = float(scores.max())
    for i in np.argsort(-scores, kind="stable"):
        if scores[i] + TYPED_SPAN_BONUS < leader:
            break
        spans[i] = extract(info, candidates[i][0], words)
        if spans[i] is not None:
            scores[i] += TYPED_SPAN_BONUS
            leader = max(leader, float(scores[i]))
    # Equal scores: the article's lead sentence, which says what its subject is (`雅各布·克伦贝格尔…，生于瑞士。`
    # before `克伦贝格尔先生的妻子是…`; a news lead's who, what and when), else the better-ranked window's.
    tied = np.flatnonzero(scores >= scores.max() - 1e-9)
    chosen = next((int(i) for i in tied if is_lead(index, *candidates[i])), int(tied[0]))
    sentence, hit = candidates[chosen]
    return sentence, spans[chosen], hit, float(coverage_share[chosen])
