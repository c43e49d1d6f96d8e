"""Question -> ranked passages -> answer: the one entry point the CLI, the REPL and the bot share."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.answer.abstain import Evidence, confidence_score, decide
from bot.answer.cache import AnswerCache
from bot.answer.crosslingual.translate import EnglishToChinese, known_from_index
from bot.answer.extract import (
    RELATIVE_DATE_RE,
    enumeration_spans,
    holds_bare_figure,
    other_unit,
    qualifier_clash,
    requires_span,
    resolve_relative_date,
    respective,
    tidy_edges,
    typed_candidates,
    unit_clash,
    whole_list,
    whole_organisations,
    whole_quantities,
    whole_words,
    with_reader_edges,
    year_only,
)
from bot.answer.question import (
    ENTITY,
    LIST,
    OTHER,
    QUANTITY,
    TIME,
    YES_NO,
    QuestionInfo,
    analyse,
    content_words,
    coverage,
    has_words,
    mend_words,
    plain_question,
)
from bot.answer.sentence import (
    ARTICLE_DEPTH,
    SENTENCE_POOL,
    article_text,
    choose_sentence,
    focus,
    in_context,
    reading_windows,
    relevance,
)
from bot.answer.typos import mend_homophones, mend_interrogatives
from bot.config import Settings
from bot.ingest.passages import split_sentences
from bot.search.index import Hit, Index
from bot.text.fold import fold, has_cjk, is_traditional, to_simplified, to_traditional

if TYPE_CHECKING:
    from bot.answer.reader import Span as ReaderSpan

log = logging.getLogger(__name__)

# The reader's best spans in each piece it reads, among which the sentence's match with the question decides.
READER_CANDIDATES = 10


@dataclass
class Answer:
    """What the bot says about one question."""

    question: str
    found: bool
    answer: str | None  # the short answer: the span of the asked type (11月9日), else the sentence
    sentence: str | None  # the whole sentence that answers, with the one before if it leans on it (in_context)
    hits: list[Hit]
    confidence: float  # 0..1, see confidence_score
    timings: dict[str, float] = field(default_factory=dict)
    evidence: Evidence | None = None  # the figures behind `found` (None when nothing was found to judge)
    read_as: str | None = None  # the question as searched and read when typing slips were put right (万洲 -> 万州)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def to_json(self) -> dict[str, Any]:
        """The `wenda ask --json` contract: keep these keys stable."""
        return {
            "question": self.question,
            "read_as": self.read_as,
            "found": self.found,
            "answer": self.answer,
            "sentence": self.sentence,
            "confidence": round(self.confidence, 4),
            "passages": [
                {
                    "doc": hit.passage.doc_id,
                    "title": hit.passage.title,
                    "section": hit.passage.section,
                    "text": hit.passage.text,
                    "score": round(hit.score, 4),
                    "start": hit.passage.start,
                    "end": hit.passage.end,
                }
                for hit in self.hits
            ],
        }


@dataclass(frozen=True)
class Reading:
    """What the reader found: the answer, the sentence holding it, the window it came from, how far the span scores
    above that window's no-answer score, and the IDF-weighted share of the question's words the sentence and the
    document's title hold."""

    answer: str
    sentence: str
    hit: Hit
    margin: float
    sentence_coverage: float
    typed: bool | None = None  # time, quantity or list question: whether the answer is a date, number of the unit, enumeration


READ_DEFAULT: Any = object()  # Wenda's reader argument when not given: the one the settings name


class Wenda:
    """The loaded pipeline: settings, sentence model and index, and the reader, answering questions."""

    def __init__(self, settings: Settings, embedder: Any, index: Index, reader: Any = READ_DEFAULT):
        self.settings = settings
        self.embedder = embedder
        self._index = index
        if reader is READ_DEFAULT:
            from bot.answer.reader import reader_for

            reader = reader_for(settings)
        self.reader = reader  # bot.answer.reader.Reader, or None: the rules of bot/answer/extract.py choose the answer
        self.answer_cache = AnswerCache(settings.answer_cache_size, settings.answer_cache_seconds)
        self._translator: EnglishToChinese | None = None
        self._translator_lock = threading.Lock()
        self._known: Any | None = None  # the index's vocabulary, for English terms (known_from_index)

    @property
    def index(self) -> Index:
        """The index this pipeline answers from; another index gets another pipeline (`with_index`)."""
        return self._index

    def with_index(self, index: Index) -> "Wenda":
        """A pipeline answering from another index (after /reindex): the same settings, models and English
        dictionary; its own answer cache and corpus vocabulary. Nothing that belongs to an index is
        shared, so questions in flight on this pipeline finish on its index, and its answers stay its."""
        fresh = Wenda(self.settings, self.embedder, index, self.reader)
        fresh._translator = self._dictionary()  # the dictionary belongs to no index; loaded once
        return fresh

    def warm_up(self) -> None:
        """Load what the first questions would otherwise wait for: jieba's dictionary and its part-of-speech
        model (names, for 谁 questions: 0.7 s measured on the first such question), OpenCC's tables, pypinyin's
        (typing slips, 0.3 s)."""
        self.answer("渝萬高鐵何時開工")
        self.answer("万州区区长是谁")

    def load_translator_in_background(self) -> threading.Thread:
        """Start loading the English -> Chinese dictionary, which the first English question would otherwise
        wait for (0.2-0.4 s from its cache, 5-12 s the first time on a machine), without delaying start-up."""
        def load() -> None:
            started = time.perf_counter()
            self.translator()[0].load()
            log.info("English dictionary ready in %.1f s", time.perf_counter() - started)

        thread = threading.Thread(target=load, name="load-translator", daemon=True)
        thread.start()
        return thread

    def _dictionary(self) -> EnglishToChinese:
        """The English -> Chinese translator (its dictionary loads on first use), made once."""
        with self._translator_lock:
            if self._translator is None:
                self._translator = EnglishToChinese(cache_dir=self.settings.cache_dir())
            return self._translator

    def translator(self) -> tuple[EnglishToChinese, Any]:
        """The English -> Chinese term translator and the corpus vocabulary filter of this pipeline's index."""
        translator = self._dictionary()
        if self._known is None:
            self._known = known_from_index(self.index)
        return translator, self._known

    def lexical_query(self, info: QuestionInfo) -> str:
        """What the BM25 side searches for: the question without its question words (`万州有没有机场` -> `万州 机场`:
        有没有's characters matched 已拥有了 and put a passage without 机场 first), or for an English question its
        Chinese terms."""
        if info.chinese:
            return info.content or info.text
        translator, known = self.translator()
        return " ".join(translator.terms(info.text, known))

    def search(self, question: str, k: int | None = None, info: QuestionInfo | None = None) -> list[Hit]:
        """The best passages for a question. One in traditional characters is embedded as asked and in
        simplified characters, in one call, and the form whose best passage is nearer wins: the model
        places a question nearer to text in its own script (三峽應急醫院什麼時候開工建設 is 0.84 from its
        passage, 0.90 simplified), and a corpus may be in either."""
        info = info or analyse(question)
        forms = [question, to_simplified(question)] if is_traditional(question) else [question]
        vectors = self.embedder.encode_queries(forms)
        return self.index.search(
            vectors, self.lexical_query(info), k or self.settings.top_k, self.settings.fusion_weight, self.settings.candidates
        )

    def read(self, question: str, info: QuestionInfo, words: list[str], hits: list[Hit]) -> Reading:
        """The reader's answer from the best passage's article: its READER_WINDOWS best-ranked windows (or with
        READER_FOCUS_CHARS the part of each around the sentence holding most of the question's words) read in
        one batch, each span's score raised by READER_LEXICAL_WEIGHT times how well its sentence matches the
        question's words, the best span taken."""
        best = hits[0]
        pool = hits[: ARTICLE_DEPTH if info.chinese else SENTENCE_POOL]
        count = self.settings.reader_windows
        windows = reading_windows(self.index, pool, count, count * self.settings.passage_max_chars)
        parts = [focus(self.index, hit.passage.text, words, self.settings.reader_focus_chars) for hit in windows]
        texts = [hit.passage.text[start:end] for hit, (start, end) in zip(windows, parts)]
        asked = question
        if info.keywords and info.chinese:
            # The reader was trained on questions: keywords (`万达开 人口`) are read as one (`万达开 人口是什么？`),
            # whose answer's sentence is the reply (keyword questions on the shipped corpus: 15 -> 17 of 18).
            asked = f"{question}{'是什麼？' if is_traditional(question) else '是什么？'}"
        if self.settings.reader_question_terms and not info.chinese and words:
            asked = f"{question} {' '.join(words)}"
        # A quantity question's numbers of the asked unit are scored by the reader too, however low it ranks them:
        # a span carrying another unit (`43个` for 签约多少钱) gives way to the best of them in its sentence (below).
        stretches = typed_stretches(info, texts)
        also = stretches if info.kind == QUANTITY and info.unit else None
        spans = self.reader.read(asked, texts, top=READER_CANDIDATES, also=also)
        if not spans:  # windows without a character to answer with
            return Reading(best.passage.text.strip(), best.passage.text.strip(), best, float("-inf"), 0.0)
        # Each candidate span's sentence, and how well it matches the question's words (see `relevance`).
        sentences = [[(start, end) for start, end in split_sentences(text, whole_quotes=True)] for text in texts]
        units = {(number, start, end): text[start:end] for number, text in enumerate(texts) for start, end in sentences[number]}
        holding = [next(((span.text, a, b) for a, b in sentences[span.text] if a <= span.start < b), None) for span in spans]
        scores = np.array([span.score for span in spans])
        keys = list(dict.fromkeys(key for key in holding if key is not None))
        match: dict[tuple[int, int, int], float] = {}
        held: dict[tuple[int, int, int], float] = {}
        if words and keys:
            matched, shares = relevance(self.index, words, best.passage.title, [units[key] for key in keys])
            match, held = dict(zip(keys, matched)), dict(zip(keys, shares))
            scores = scores + self.settings.reader_lexical_weight * np.array([match.get(key, 0.0) for key in holding])
        typed = typed_bounds(stretches, spans)
        if typed is not None:
            scores = scores + self.settings.reader_type_weight * np.array([bounds is not None for bounds in typed])
        chosen = int(np.argmax(scores))
        if (
            also is not None and typed is not None and typed[chosen] is None
            and other_unit(info, texts[spans[chosen].text][spans[chosen].start : spans[chosen].end])
        ):
            alternatives = [i for i in range(len(spans)) if typed[i] is not None and holding[i] == holding[chosen]]
            if alternatives:
                chosen = max(alternatives, key=lambda i: scores[i])
        if info.reason and holds_bare_figure(texts[spans[chosen].text][spans[chosen].start : spans[chosen].end]):
            # A number is no reason (`光伏逆变器业务为什么下降` -> `3.6%`, where the sentence goes on `主要受…影响`).
            reasons = [i for i in range(len(spans)) if not holds_bare_figure(texts[spans[i].text][spans[i].start : spans[i].end])]
            if reasons:
                chosen = max(reasons, key=lambda i: scores[i])
        span = spans[chosen]
        hit, text = windows[span.text], texts[span.text]
        start, end = typed[chosen] if typed is not None and typed[chosen] is not None else (span.start, span.end)
        if info.kind == LIST and typed is not None and typed[chosen] is not None:
            start, end = with_reader_edges(text, (start, end), span.start, span.end)
        if info.several:
            start, end = whole_list(text, start, end)
            if info.kind == ENTITY:
                start, end = whole_organisations(text, start, end, question)
        if info.year:
            start, end = year_only(text, start, end)
        if info.reason:
            start, end = whole_words(text, start, end)
        start, end = respective(text, start, end, question)
        start, end = tidy_edges(text, *whole_quantities(text, start, end))
        covering = [(a, b) for a, b in sentences[span.text] if a < end and b > start]
        sentence = text[covering[0][0] : covering[-1][1]] if covering else text[start:end]
        margin = span.margin
        if typed is not None and typed[chosen] is not None:
            # A date, number or list the type prior picked is as sure as the reader's surest span around it: for
            # 川渝国企万州行签了几个项目 it marks `万达开三地签约项目43个` (margin -4.8), `43个` alone far lower (-7.7).
            holding_it = [other.margin for other in spans if other.text == span.text and other.start <= start and end <= other.end]
            margin = max([margin, *holding_it])
        answer = text[start:end].strip()
        if info.kind == TIME and RELATIVE_DATE_RE.fullmatch(fold(answer)):
            # `同月` (the same month) answers nothing alone: the date it refers to does (the sentence shown holds both).
            article = article_text(self.index, hit)
            before = article[: max(0, article.find(text))] + text[:start]
            answer = resolve_relative_date(before, answer) or answer
        return Reading(
            answer, sentence, hit, margin, float(held.get(holding[chosen], 0.0)),
            None if typed is None else typed[chosen] is not None,
        )

    def mend_slips(self, question: str) -> str:
        """The question with its homophone slips put right against the corpus (`万洲的五大重点产业是什么` ->
        `万州的…`; see bot/answer/typos.py), in its own script and marks."""
        if not has_cjk(question):
            return question
        folded = fold(question)
        mended = mend_homophones(self.index, folded)
        if mended == folded:
            return question
        if len(folded) != len(question):
            return mended
        traditional = is_traditional(question)
        return "".join(
            typed if was == now else to_traditional(now) if traditional else now
            for typed, was, now in zip(question, folded, mended)
        )

    def answer(self, question: str, k: int | None = None) -> Answer:
        """Answer one question: from the answer cache when it was asked moments ago, else from the index."""
        started = time.perf_counter()
        cache = self.answer_cache
        key = (question.strip(), k or self.settings.top_k)
        cached = cache.get(key)
        if cached is not None:
            return replace(cached, hits=list(cached.hits), timings={"cached": 1.0, "total": time.perf_counter() - started})
        answer = self._answer(question, k)
        cache.put(key, answer)
        return answer

    def _answer(self, question: str, k: int | None = None) -> Answer:
        """Answer one question from the index."""
        started = time.perf_counter()
        question = question.strip()
        refused = unsearchable(question, self.settings.max_question_chars)
        if refused:
            info = analyse(question)
            nothing = Evidence(info.kind, info.chinese, 0.0, 0.0, reason=refused)
            return Answer(question, False, None, None, [], 0.0, {"total": time.perf_counter() - started}, evidence=nothing)
        k = k or self.settings.top_k
        # The question itself (你好，请问… taken off, 啥时候 -> 什么时候), its typing slips put right: question words
        # always (那些 -> 哪些), homophones (万洲 -> 万州) where the question then lies nearer its best passage than
        # as typed (a word the corpus spells otherwise is no slip).
        plain = plain_question(question)
        asked = mend_interrogatives(plain) if self.settings.mend_slips else plain
        meant = self.mend_slips(asked) if self.settings.mend_slips else asked
        info = analyse(meant)
        # A Chinese question is searched and read with its question mark, typed or not (渝万高铁哪天通车的): the
        # model embeds and reads it nearer to how it was trained (validation split with the marks taken off:
        # F1 0.627 as typed, 0.643 with one put back).
        mark = "？" if info.chinese and not info.keywords and not re.search(r"[?？]\s*$", meant) else ""
        # The hits beyond k only lend sentences (ARTICLE_DEPTH); the answer keeps k.
        depth = max(k, ARTICLE_DEPTH if info.chinese else k)
        hits = self.search(meant + mark, depth, info)
        if meant != asked:
            typed_info = analyse(asked)
            typed_hits = self.search(asked + mark, depth, typed_info)
            if typed_hits and (not hits or typed_hits[0].dense >= hits[0].dense):
                meant, info, hits = asked, typed_info, typed_hits
        read_as = meant if meant != plain else None
        searched = time.perf_counter()
        if not hits:
            return Answer(question, False, None, None, [], 0.0, {"search": searched - started}, read_as=read_as)
        best = hits[0]
        if info.chinese:
            words = mend_words(self.index, content_words(info.content))
            cover = coverage(self.index, words, best.passage)
        else:
            translator, known = self.translator()
            words = translator.terms(info.text, known)
            cover = translator.coverage(info.text, best.passage.text, known)[0]
        if self.reader is not None:
            reading = self.read(meant + mark, info, words, hits)
            short, sentence, source_hit = reading.answer, reading.sentence, reading.hit
            judged = {"reader_margin": reading.margin, "sentence_coverage": reading.sentence_coverage, "typed_span": reading.typed}
        else:
            sentence, span, source_hit, sentence_cover = choose_sentence(self.index, self.embedder, info, words, hits)
            short = span.text if span is not None else sentence
            judged = {"sentence_coverage": sentence_cover, "typed_span": span is not None, "requires_span": requires_span(info)}
        if (info.keywords and info.kind == OTHER) or info.kind == YES_NO:
            # Keywords ask for no particular fact (`渝万高铁`): the answer is the sentence the reader points to,
            # not a stretch of it picked as if a question had asked for it (`万州到重庆主城的车程`). Nor does a yes-or-no
            # question (`新田港建成了吗`), which no span answers: the sentence saying so (…新田港的建成运营…) does.
            short = sentence
        read = time.perf_counter()
        judged["unit_clash"] = info.kind == QUANTITY and bool(short) and unit_clash(info, short)
        judged["qualifier_clash"] = bool(sentence) and qualifier_clash(meant, sentence)
        evidence = Evidence(info.kind, info.chinese, best.dense, cover, reader_ms=1000 * (read - searched), **judged)
        found, reason = decide(evidence, self.settings)
        evidence = replace(evidence, reason=reason)
        if found:
            sentence = in_context(self.index, sentence, source_hit)
            if source_hit is not best:
                hits.remove(source_hit)
                hits.insert(0, source_hit)
            if is_traditional(question):
                sentence, short = to_traditional(sentence), to_traditional(short)
        else:
            short = sentence = None
        hits = hits[:k]
        finished = time.perf_counter()
        return Answer(
            question=question,
            found=found,
            answer=short,
            sentence=sentence,
            hits=hits,
            confidence=confidence_score(best.dense, cover, info.chinese),
            timings={"search": searched - started, "read": read - searched, "answer": finished - searched, "total": finished - started},
            evidence=evidence,
            read_as=read_as,
        )


def unsearchable(question: str, max_chars: int) -> str | None:
    """Why a question is not searched at all, or None: it has no words (`？？？`, 😀), or it is longer than one
    question (a pasted article: its words would match everything and answer nothing)."""
    if not has_words(question):
        return "the question has no words to search for"
    if len(question) > max_chars:
        return f"the question is {len(question)} characters long: ask one short question (at most {max_chars})"
    return None


def typed_stretches(info: QuestionInfo, texts: list[str]) -> dict[int, list[tuple[int, int]]] | None:
    """For a time, quantity or list question, where each text (by number) holds a date, a number of the asked
    unit or an enumeration (A、B、C); for other questions None."""
    if info.kind in (TIME, QUANTITY):
        return {number: typed_candidates(info, fold(text)) for number, text in enumerate(texts)}
    if info.kind == LIST:
        return {number: enumeration_spans(text) for number, text in enumerate(texts)}
    return None


def typed_bounds(found: dict[int, list[tuple[int, int]]] | None, spans: list[ReaderSpan]) -> list[tuple[int, int] | None] | None:
    """Each span's typed stretch (`typed_stretches`): the one that overlaps at least half of the longer of the
    two (`Ⅱ` has `Ⅱ类`; `2月，三峡应急医院在万州` is more than its `2月`), or None; None for other questions."""
    if found is None:
        return None
    typed: list[tuple[int, int] | None] = []
    for span in spans:
        agreeing = [
            (start, end) for start, end in found[span.text]
            if 2 * (min(end, span.end) - max(start, span.start)) >= max(end - start, span.end - span.start)
        ]
        typed.append(agreeing[0] if agreeing else None)
    return typed
