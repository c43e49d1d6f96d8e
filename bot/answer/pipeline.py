"""Question -> ranked passages -> answer: the one entry point the CLI, the REPL and the bot share."""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.answer.crosslingual.translate import EnglishToChinese, known_from_index
from bot.answer.extract import (
    Span,
    enumeration_spans,
    extract,
    requires_span,
    typed_candidates,
)
from bot.answer.question import LIST, QUANTITY, TIME, QuestionInfo, analyse
from bot.answer.synonyms import mentions
from bot.config import Settings
from bot.ingest.passages import Passage, split_sentences
from bot.search.cache import AnswerCache
from bot.search.index import Hit, Index
from bot.text.fold import fold, has_cjk, is_traditional, to_simplified, to_traditional

if TYPE_CHECKING:
    from bot.answer.reader import Span as ReaderSpan

log = logging.getLogger(__name__)

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
# The reader's best spans in each piece it reads, among which the sentence's match with the question decides.
READER_CANDIDATES = 10
# A sentence holding a span of the asked type (a date for 何时) is preferred by this much.
TYPED_SPAN_BONUS = 0.5

# A sentence opening with one of these leans on the one before it (因此 what? 该区 which?): the answer shows
# both, so that `为什么称猴面包树为笨蛋水果` gets its reason and not only `因此它有时也被称为笨蛋水果`.
BACK_REFERENCE_RE = re.compile(r"^(?:因此|所以|因而|于是|从而|由此|此|这|该|其|他|她|它|牠|但|然而|不过|而)")

# A sentence opening with one of these qualifies the one before it, maybe reversing it: shown together
# (`MonoDevelop也可以在Windows跟Mac OS X平台上执行。但并不是一开始就可以的，而是到2.2之后才正式可以。`).
QUALIFIER_RE = re.compile(r"^(?:但|然而|不过|可是)")

# A sentence ending so announces what follows (`印度野驴与非洲野驴有些分别。`, `浮龙具有数个独有特征。`,
# `…陷入了类似以下的状况。`, a line ending in a colon): the answer shows it with the CATAPHORA_FOLLOWING
# sentences after it.
CATAPHORA_RE = re.compile(
    r"(?:以下|如下|下列)[\u4e00-\u9fff]{0,6}[：:。]$"
    r"|(?:有|具有)(?:一些|些|几|数|多|两|三|四|五)[个种项点大]?[\u4e00-\u9fff]{0,6}"
    r"(?:分别|区别|不同|差异|特征|特点|原因|优点|缺点)[：:。]$"
    r"|[：:]$"
)
CATAPHORA_FOLLOWING = 2

# A unit ending so is a clause of a longer sentence (the passage splitter ends units at ；).
CLAUSE_END_RE = re.compile(r"[；;][”’」』）)]*$")

# Characters of question words carry no evidence about which sentence answers.
QUESTION_WORD_CHARS = set("的了是在有和与吗呢吧么什哪谁何几多少怎样为啥个么请问")


@dataclass(frozen=True)
class Evidence:
    """The figures behind an answer's `found`, for `decide`, the REPL, eval and calibration."""

    kind: str  # the question's type (time, quantity, ...)
    chinese: bool  # asked in Chinese (else the foreign thresholds apply)
    dense: float  # cosine of question and best passage
    coverage: float  # IDF-weighted share of the question's words in the best passage (translated, for English)
    sentence_coverage: float = 0.0  # the same share in the answer's sentence and its document's title
    reader_margin: float | None = None  # the reader's best span above its window's "no answer"; None: READER=rules
    typed_span: bool | None = None  # whether the answer is of the asked type (None: the question asks none)
    requires_span: bool = False  # READER=rules: no typed span means no answer (dates, numbers)
    reader_ms: float = 0.0  # time to read (or choose the sentence)
    reason: str = ""  # decide's verdict, in words

    def figures(self) -> dict[str, Any]:
        """The set fields as a dict (for JSON lines)."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_figures(cls, record: dict[str, Any]) -> "Evidence":
        """The evidence `figures` wrote into a record (other keys of the record are left out)."""
        return cls(**{name: record[name] for name in cls.__dataclass_fields__ if name in record})


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

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    def to_json(self) -> dict[str, Any]:
        """The `wenda ask --json` contract: keep these keys stable."""
        return {
            "question": self.question,
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


def sentences_of(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text, whole_quotes=True)]


QUESTION_STOPWORDS = set("的 了 是 在 和 与 及 或 把 被 给 对 为 从 由 到 让 向 之间 之 中 上 下 里 后 前 时 年 月 日 个 这 那 其 该 都 也 就 还 又 并 将 已 已经 以 于 等 有 没有 要 能 会 可以 呢 吗 吧 啊 请问 一下 the a an of to in on at for and or is are was were be been did do does what when where who which how".split())


def content_words(question_content: str) -> list[str]:
    """The question's content words (jieba), without stopwords: `万州和达州之间的城际快巴开通的` ->
    `["万州", "达州", "城际", "快巴", "开通"]`. A quoted title (《改革协作框架协议》) is also kept whole."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    words = [quoted for quoted in re.findall(r"[《“\"]([^》”\"]{2,30})[》”\"]", question_content)]
    for word in _unglue(jieba.lcut(question_content), jieba.dt.FREQ):
        word = word.strip()
        if not word or word in QUESTION_STOPWORDS or (len(word) == 1 and not word.isalnum()):
            continue
        if len(word) == 1 and word in QUESTION_WORD_CHARS:
            continue
        if word not in words:
            words.append(word)
    return words


# What jieba's HMM glues to a neighbouring character: 有 and 是 after it, a date's unit before it.
GLUED_AFTER, GLUED_BEFORE = "有是", "年月日"


def _unglue(tokens: list[str], dictionary: dict[str, int]) -> list[str]:
    """jieba's tokens, with each two-character word its HMM made up of 有 or 是 and the character before it,
    or of a date's unit and the character after it, taken apart: 上部叶有什么特点 gives `叶有`, 茨柏克沃斯基是
    gives `基是`, 2016年林郁智 gives `年林`. Such a word is in no sentence, so the question looked less covered
    than it was; its parts are 叶 and the stopword 有."""
    unglued: list[str] = []
    for token in tokens:
        glued = len(token) == 2 and has_cjk(token) and token not in dictionary
        if glued and (token[1] in GLUED_AFTER or token[0] in GLUED_BEFORE):
            unglued.extend(token)
        else:
            unglued.append(token)
    return unglued


# The longest question word mend_words looks into (its pieces are searched in quadratic time).
MENDED_WORD_MAX = 8


def mend_words(index: Index, words: list[str]) -> list[str]:
    """The question's words with jieba's gluing undone against the corpus: a Chinese word the corpus never
    has, but which is a word it has plus at most one character, becomes that word (`黄华麒是` -> `黄华麒`,
    `以兆康苑` -> `兆康苑`, `魏舒史` -> `魏舒`; jieba joins a name it does not know to its neighbour). A word
    the corpus lacks otherwise stays whole: its absence is what says the corpus cannot answer."""
    def pieces(text: str) -> list[str]:
        """The longest parts of `text` (two characters or more) the corpus has, left to right."""
        for length in range(len(text), 1, -1):
            for start in range(len(text) - length + 1):
                if index.has_word(text[start : start + length]):
                    end = start + length
                    return pieces(text[:start]) + [text[start:end]] + pieces(text[end:])
        return []

    mended: list[str] = []
    for word in words:
        # A word longer than jieba's (a quoted title, kept whole on purpose) is not searched: its pieces are many.
        glued = 2 < len(word) <= MENDED_WORD_MAX and has_cjk(word) and not index.has_word(word)
        found = pieces(word) if glued else []
        keep = found if found and len(word) - sum(map(len, found)) <= 1 else [word]
        mended.extend(piece for piece in keep if piece not in mended)
    return mended


def word_share(index: Index, words: list[str], texts: list[str]) -> np.ndarray:
    """For each (folded) text, the IDF-weighted share of the words it contains (0..1), a word counting where
    a word of its group does (bot.answer.synonyms: 出生地 where the text says 生于).

    A question about something the corpus never mentions (`万州的GDP是多少`: no passage says GDP)
    keeps a low share however close its vector lands; a word the corpus lacks weighs the most.
    """
    weights = index.word_idf(words)
    present = np.array([[mentions(text, word) for word in words] for text in texts], dtype=np.float64)
    return present.reshape(len(texts), len(words)) @ weights / (float(weights.sum()) or 1.0)


def coverage(index: Index, words: list[str], passage: Passage) -> float:
    """IDF-weighted share of the question's content words that the passage (and its section title) contains."""
    return float(word_share(index, words, [fold(passage.text + passage.section)])[0]) if words else 0.0


def confidence_score(dense: float, cover: float, chinese: bool) -> float:
    """The one confidence scale users see (0..1): how sure the bot is that the best passage answers.

    The mean of `clip((cosine - 0.70) / 0.25, 0, 1)`, the e5 cosine rescaled (unrelated texts sit
    near 0.70-0.80, answers near 0.85-0.95), and the word coverage: the IDF-weighted share of the
    question's words in the passage (for English, the share of its words with a translation there).
    """
    scaled = min(1.0, max(0.0, (dense - 0.70) / 0.25))
    return (scaled + cover) / 2


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
        self.reader = reader  # bot.answer.reader.Reader, or None: the rules of bot/extract.py choose the answer
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
        model (names, for 谁 questions: 0.7 s measured on the first such question), OpenCC's tables."""
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
        """What the BM25 side searches for: the question, or for an English question its Chinese terms."""
        if info.chinese:
            return info.text
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

    def choose_sentence(
        self, info: QuestionInfo, words: list[str], hits: list[Hit]
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
            relevance, coverage_share = self.relevance(words, best.passage.title, [sentence for sentence, _ in candidates])
        else:
            vectors = self.embedder.encode_passages([sentence for sentence, _ in candidates])
            query = self.embedder.encode_queries([info.text])[0]
            coverage_share = relevance = vectors @ query
        scores = np.asarray(relevance, dtype=np.float64)
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
        chosen = next((int(i) for i in tied if self.is_lead(*candidates[i])), int(tied[0]))
        sentence, hit = candidates[chosen]
        return sentence, spans[chosen], hit, float(coverage_share[chosen])

    def read(self, question: str, info: QuestionInfo, words: list[str], hits: list[Hit]) -> Reading:
        """The reader's answer from the best passage's article: its READER_WINDOWS best-ranked windows (or with
        READER_FOCUS_CHARS the part of each around the sentence holding most of the question's words) read in
        one batch, each span's score raised by READER_LEXICAL_WEIGHT times how well its sentence matches the
        question's words, the best span taken."""
        best = hits[0]
        pool = hits[: ARTICLE_DEPTH if info.chinese else SENTENCE_POOL]
        windows = [hit for hit in pool if hit.passage.article == best.passage.article][: self.settings.reader_windows]
        parts = [self.focus(hit.passage.text, words) for hit in windows]
        texts = [hit.passage.text[start:end] for hit, (start, end) in zip(windows, parts)]
        asked = question
        if self.settings.reader_question_terms and not info.chinese and words:
            asked = f"{question} {' '.join(words)}"
        spans = self.reader.read(asked, texts, top=READER_CANDIDATES)
        if not spans:  # windows without a character to answer with
            return Reading(best.passage.text.strip(), best.passage.text.strip(), best, float("-inf"), 0.0)
        # Each candidate span's sentence, and how well it matches the question's words (see `relevance`).
        sentences = [[(start, end) for start, end in split_sentences(text, whole_quotes=True)] for text in texts]
        units = {(number, start, end): text[start:end] for number, text in enumerate(texts) for start, end in sentences[number]}
        holding = [next(((span.text, a, b) for a, b in sentences[span.text] if a <= span.start < b), None) for span in spans]
        scores = np.array([span.score for span in spans])
        keys = list(dict.fromkeys(key for key in holding if key is not None))
        relevance: dict[tuple[int, int, int], float] = {}
        held: dict[tuple[int, int, int], float] = {}
        if words and keys:
            matched, shares = self.relevance(words, best.passage.title, [units[key] for key in keys])
            relevance, held = dict(zip(keys, matched)), dict(zip(keys, shares))
            scores = scores + self.settings.reader_lexical_weight * np.array([relevance.get(key, 0.0) for key in holding])
        typed = typed_bounds(info, texts, spans)
        if typed is not None:
            scores = scores + self.settings.reader_type_weight * np.array([bounds is not None for bounds in typed])
        chosen = int(np.argmax(scores))
        span = spans[chosen]
        hit, text = windows[span.text], texts[span.text]
        start, end = typed[chosen] if typed is not None and typed[chosen] is not None else (span.start, span.end)
        covering = [(a, b) for a, b in sentences[span.text] if a < end and b > start]
        sentence = text[covering[0][0] : covering[-1][1]] if covering else text[start:end]
        return Reading(
            text[start:end].strip(), sentence, hit, span.margin, float(held.get(holding[chosen], 0.0)),
            None if typed is None else typed[chosen] is not None,
        )

    def focus(self, text: str, words: list[str]) -> tuple[int, int]:
        """What the reader reads of a window: all of it, or with READER_FOCUS_CHARS the sentence holding the
        largest IDF-weighted share of the question's words with the sentences beside it, up to that many
        characters (the one before first: a sentence often names its subject there)."""
        limit = self.settings.reader_focus_chars
        sentences = split_sentences(text)
        if not limit or not words or len(text) <= limit or len(sentences) < 2:
            return 0, len(text)
        shares = word_share(self.index, words, [fold(text[start:end]) for start, end in sentences])
        first = last = int(np.argmax(shares))
        while True:
            if first > 0 and sentences[last][1] - sentences[first - 1][0] <= limit:
                first -= 1
            elif last + 1 < len(sentences) and sentences[last + 1][1] - sentences[first][0] <= limit:
                last += 1
            else:
                return sentences[first][0], sentences[last][1]

    def relevance(self, words: list[str], title: str, sentences: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """How well each sentence of an article matches the question's words, and the IDF-weighted share of them
        it and the title hold.

        The document's own subject (its title: 纽西兰鸡毛松) names every sentence's topic, so a sentence need
        not repeat it (`本鱼以甲壳类为食` answers `蓝线裸顶鲷以什么为食`): its title counts towards what it holds,
        and ranking is by the other words, each weighted by its rarity in the corpus *and* among these
        sentences (a word every sentence repeats cannot tell them apart), plus shared characters. When the
        title holds them all (纽西兰鸡毛松有多高), none ranks."""
        folded = [fold(sentence) for sentence in sentences]
        title = fold(title)
        coverage_share = word_share(self.index, words, [f"{text} {title}" for text in folded])
        ranking = [word for word in words if not mentions(title, word)]
        present = np.array([[mentions(text, word) for word in ranking] for text in folded], dtype=np.float64)
        present = present.reshape(len(folded), len(ranking))
        weights = self.index.word_idf(ranking)
        share = present @ weights / (float(weights.sum()) or 1.0)
        local = np.log((len(folded) + 1.0) / (present.sum(axis=0) + 0.5))
        discriminative = present @ (weights * local) / (float((weights * local).sum()) or 1.0)
        chars = set("".join(ranking))
        char_share = np.array([len(chars & set(text)) / (len(chars) or 1) for text in folded])
        return discriminative + share + 0.5 * char_share, coverage_share

    def is_lead(self, sentence: str, hit: Hit) -> bool:
        """Whether the sentence opens its article: the first of the article's first window."""
        return (
            self.holds(hit)
            and self.neighbour(hit, -1) is None
            and sentences_of(hit.passage.text)[:1] == [sentence]
        )

    def holds(self, hit: Hit) -> bool:
        """Whether the hit's passage is this index's (not a hand-made one): its neighbours are known."""
        passages, position = self.index.passages, hit.position
        return 0 <= position < len(passages) and passages[position] is hit.passage

    def neighbour(self, hit: Hit, step: int) -> Passage | None:
        """The window before (-1) or after (+1) the hit's own in its article, if any."""
        position = hit.position + step
        if self.holds(hit) and 0 <= position < len(self.index.passages):
            passage = self.index.passages[position]
            if passage.article == hit.passage.article:
                return passage
        return None

    def in_context(self, sentence: str, hit: Hit) -> str:
        """The sentence as the answer shows it: the whole sentence holding the chosen one, which may be a
        clause ended by ； (`…等症；近用于乳糜尿。`) or a piece of a long sentence cut at a window's edge,
        with the sentence before it when it leans on it (BACK_REFERENCE_RE), the one after it when that
        one qualifies it (QUALIFIER_RE), and the ones after it when it announces them (CATAPHORA_RE)."""
        text = self.article_text(hit)
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

    def article_text(self, hit: Hit) -> str:
        """The hit's window with the windows before and after it in its article, their shared sentence once."""
        text = hit.passage.text
        if (before := self.neighbour(hit, -1)) is not None:
            text = _join_windows(before.text, text)
        if (after := self.neighbour(hit, +1)) is not None:
            text = _join_windows(text, after.text)
        return text

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
        info = analyse(question)
        k = k or self.settings.top_k
        # The hits beyond k only lend sentences (ARTICLE_DEPTH); the answer keeps k.
        hits = self.search(question, max(k, ARTICLE_DEPTH if info.chinese else k), info)
        searched = time.perf_counter()
        if not hits:
            return Answer(question, False, None, None, [], 0.0, {"search": searched - started})
        best = hits[0]
        if info.chinese:
            words = mend_words(self.index, content_words(info.content))
            cover = coverage(self.index, words, best.passage)
        else:
            translator, known = self.translator()
            words = translator.terms(info.text, known)
            cover = translator.coverage(info.text, best.passage.text, known)[0]
        if self.reader is not None:
            reading = self.read(question, info, words, hits)
            short, sentence, source_hit = reading.answer, reading.sentence, reading.hit
            judged = {"reader_margin": reading.margin, "sentence_coverage": reading.sentence_coverage, "typed_span": reading.typed}
        else:
            sentence, span, source_hit, sentence_cover = self.choose_sentence(info, words, hits)
            short = span.text if span is not None else sentence
            judged = {"sentence_coverage": sentence_cover, "typed_span": span is not None, "requires_span": requires_span(info)}
        read = time.perf_counter()
        evidence = Evidence(info.kind, info.chinese, best.dense, cover, reader_ms=1000 * (read - searched), **judged)
        found, reason = decide(evidence, self.settings)
        evidence = replace(evidence, reason=reason)
        if found:
            sentence = self.in_context(sentence, source_hit)
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
        )


def typed_bounds(info: QuestionInfo, texts: list[str], spans: list[ReaderSpan]) -> list[tuple[int, int] | None] | None:
    """For a time, quantity or list question, each span's date, number of the asked unit or enumeration (A、B、C):
    the typed stretch of its text that overlaps at least half of the longer of the two (`Ⅱ` has `Ⅱ类`;
    `2月，三峡应急医院在万州` is more than its `2月`), or None; for other questions None."""
    if info.kind in (TIME, QUANTITY):
        found = {number: typed_candidates(info, fold(text)) for number, text in enumerate(texts)}
    elif info.kind == LIST:
        found = {number: enumeration_spans(text) for number, text in enumerate(texts)}
    else:
        return None
    typed: list[tuple[int, int] | None] = []
    for span in spans:
        agreeing = [
            (start, end) for start, end in found[span.text]
            if 2 * (min(end, span.end) - max(start, span.start)) >= max(end - start, span.end - span.start)
        ]
        typed.append(agreeing[0] if agreeing else None)
    return typed


def _join_windows(first: str, second: str) -> str:
    """Two consecutive windows as one text: a window starts with the last sentence of the one before."""
    for overlap in range(min(len(first), len(second)), 3, -1):
        if first.endswith(second[:overlap]):
            return first + second[overlap:]
    return first + second


def decide(evidence: Evidence, settings: Settings) -> tuple[bool, str]:
    """Whether the corpus answers, from the figures gathered for a question, and why not."""
    limits = settings.thresholds()
    chinese = evidence.chinese
    if evidence.dense < limits["min_dense" if chinese else "min_dense_foreign"]:
        return False, "question and passages are far apart"
    if evidence.coverage < limits["min_coverage" if chinese else "min_coverage_foreign"]:
        return False, "the passage lacks the question's key words" if chinese else "the passage lacks translations of the question's words"
    if evidence.reader_margin is not None:
        if evidence.reader_margin < limits["min_reader_margin" if chinese else "min_reader_margin_foreign"]:
            return False, "the reader finds no answer in the passages"
        if chinese and evidence.sentence_coverage < limits["min_sentence_coverage"]:
            return False, "the answer's sentence lacks the question's key words"
        return True, "found"
    if chinese and evidence.sentence_coverage < limits["min_sentence_coverage"]:
        # `渝万高铁的总投资`: the only amount is another project's investment.
        return False, "no sentence holds the question's key words together"
    if evidence.requires_span and not evidence.typed_span:
        # A sentence holding every one of the question's words answers it in words, not figures
        # (`有多少病人在征状出现的首个小时内出现死亡` -> `一半以上病人在征状出现的首个小时内死亡。`).
        if chinese and evidence.sentence_coverage >= 1.0 - 1e-9 and evidence.coverage >= 1.0 - 1e-9:
            return True, "found: the sentence holds every word of the question"
        return False, f"no {evidence.kind} answer where the text talks of this"
    return True, "found"


def fold_for_match(text: str) -> str:
    """Folded text without whitespace, to compare answers and evidence with OCR'd text."""
    return "".join(fold(text).split())
