"""Question -> ranked passages -> answer: the one entry point the CLI, the REPL and the bot share."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.config import Settings
from bot.index import Hit, Index
from bot.passages import Passage, split_sentences
from bot.question import analyse
from bot.textnorm import fold, has_cjk, lexical_tokens

log = logging.getLogger(__name__)

# Characters of question words carry no evidence about which sentence answers.
QUESTION_CHARS = set("的了是在有和与吗呢吧么什哪谁何几多少怎样为啥个么请问")


@dataclass
class Answer:
    """What the bot says about one question."""

    question: str
    found: bool
    answer: str | None  # the short answer (the answer sentence until span extraction exists)
    sentence: str | None  # the sentence of the best passage that best matches the question
    hits: list[Hit]
    confidence: float  # 0..1, see confidence_score
    timings: dict[str, float] = field(default_factory=dict)

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
    return [text[start:end] for start, end in split_sentences(text)]


STOPWORDS = set("的 了 是 在 和 与 及 或 把 被 给 对 为 从 由 到 让 向 之间 之 中 上 下 里 后 前 时 年 月 日 个 这 那 其 该 都 也 就 还 又 并 将 已 已经 以 于 等 有 没有 要 能 会 可以 呢 吗 吧 啊 请问 一下 the a an of to in on at for and or is are was were be been did do does what when where who which how".split())


def content_words(question_content: str) -> list[str]:
    """The question's content words (jieba), without stopwords: `万州和达州之间的城际快巴开通的` ->
    `["万州", "达州", "城际", "快巴", "开通"]`."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    words = []
    for word in jieba.lcut(question_content):
        word = word.strip()
        if not word or word in STOPWORDS or (len(word) == 1 and not word.isalnum()):
            continue
        if len(word) == 1 and word in QUESTION_CHARS:
            continue
        if word not in words:
            words.append(word)
    return words


def coverage(index: Index, words: list[str], passage: Passage) -> float:
    """IDF-weighted share of the question's content words that the passage contains (0..1).

    A question about something the corpus never mentions (`万州的GDP是多少`: no passage says GDP)
    keeps a low coverage however close its vector lands; a word the corpus lacks weighs the most.
    """
    if not words:
        return 0.0
    weights = index.word_idf(words)
    text = fold(passage.text + passage.section)
    found = np.array([word in text for word in words])
    total = weights.sum()
    return float(weights[found].sum() / total) if total > 0 else 0.0


def lexical_overlap(question: str, sentence: str) -> float:
    """How much of the question's wording a sentence contains: matched bigrams count double."""
    wanted = {token for token in lexical_tokens(question) if not (len(token) == 1 and token in QUESTION_CHARS)}
    if not wanted:
        return 0.0
    present = set(lexical_tokens(sentence))
    return float(sum(2 if len(token) > 1 else 1 for token in wanted & present))


def confidence_score(dense: float, cover: float, chinese: bool) -> float:
    """The one confidence scale users see (0..1): how sure the bot is that the best passage answers.

    `dense' = clip((cosine - 0.70) / 0.25, 0, 1)` rescales the e5 cosine (unrelated texts sit near
    0.70-0.80, answers near 0.85-0.95); a Chinese question averages it with the word coverage,
    a question without Chinese (English) has only the cosine to go on.
    """
    scaled = min(1.0, max(0.0, (dense - 0.70) / 0.25))
    return (scaled + cover) / 2 if chinese else scaled


class Wenda:
    """The loaded pipeline: settings, sentence model and index, answering questions."""

    def __init__(self, settings: Settings, embedder: Any, index: Index):
        self.settings = settings
        self.embedder = embedder
        self.index = index

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        vector = self.embedder.encode_queries([question])[0]
        return self.index.search(
            vector, question, k or self.settings.top_k, self.settings.fusion_weight, self.settings.candidates
        )

    def best_sentence(self, question: str, hit: Hit) -> str:
        """The sentence of the passage that best matches the question.

        Lexical overlap decides for Chinese questions; a question with nothing in common with the
        passage's wording (English, paraphrase) is matched by the sentence model instead.
        """
        sentences = sentences_of(hit.passage.text)
        if len(sentences) <= 1:
            return hit.passage.text.strip()
        overlaps = [lexical_overlap(question, sentence) for sentence in sentences]
        if max(overlaps) > 0 and has_cjk(question):
            return sentences[int(np.argmax(overlaps))]
        vectors = self.embedder.encode_passages(sentences)
        query = self.embedder.encode_queries([question])[0]
        return sentences[int(np.argmax(vectors @ query))]

    def answer(self, question: str, k: int | None = None) -> Answer:
        """Answer one question from the index."""
        started = time.perf_counter()
        question = question.strip()
        hits = self.search(question, k)
        searched = time.perf_counter()
        if not hits:
            return Answer(question, False, None, None, [], 0.0, {"search": searched - started})
        best = hits[0]
        info = analyse(question)
        cover = coverage(self.index, content_words(info.content), best.passage) if info.chinese else 0.0
        confidence = confidence_score(best.dense, cover, info.chinese)
        if info.chinese:
            found = best.dense >= self.settings.min_dense and cover >= self.settings.min_coverage
        else:
            found = best.dense >= self.settings.min_dense_foreign
        sentence = self.best_sentence(question, best) if found else None
        finished = time.perf_counter()
        return Answer(
            question=question,
            found=found,
            answer=sentence,
            sentence=sentence,
            hits=hits,
            confidence=confidence,
            timings={"search": searched - started, "answer": finished - searched, "total": finished - started},
        )


def fold_for_match(text: str) -> str:
    """Folded text without whitespace, to compare answers and evidence with OCR'd text."""
    return "".join(fold(text).split())
