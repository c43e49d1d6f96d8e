"""`wenda eval`: measure retrieval and answers on a SQuAD-format file or a seed-style JSONL file.

Metrics (all in 0..1):
- SQuAD (each context indexed as its own document): paragraph Recall@1, Recall@5, MRR@10 (the
  paragraph's rank is the rank of its best passage).
- JSONL (against the configured corpus): evidence hit@1 / hit@3 (a returned passage contains the
  evidence, whitespace removed on both sides).
- Both: answer accuracy (the short answer contains a gold answer), exact match and character F1
  (CMRC 2018's official normalisation and longest-common-substring F1), answer-sentence accuracy
  (the sentence contains a gold answer), and abstention precision / recall ("not found" is the
  positive class; an unanswerable question is one with no gold answer).
"""

from __future__ import annotations

import json
import string
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.answer.pipeline import Answer, Wenda
from bot.text.fold import fold

# CMRC 2018's evaluation script strips these before comparing.
CMRC_PUNCTUATION = set(
    "-:_*^/\\~`+=，。：？！“”；’《》……·、「」（）－～『』" + string.punctuation
) | {"\u3000", "\u2014", "\u2018"}


def cmrc_normalise(text: str) -> str:
    """Lower case, no whitespace, no punctuation (CMRC 2018's `remove_punctuation`), and folded to
    simplified half-width characters, so an answer given in traditional characters can match."""
    return "".join(char for char in fold(text) if not char.isspace() and char not in CMRC_PUNCTUATION)


def _longest_common_substring(a: str, b: str) -> int:
    best = 0
    previous = [0] * (len(b) + 1)
    for char_a in a:
        current = [0] * (len(b) + 1)
        for j, char_b in enumerate(b, 1):
            if char_a == char_b:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def char_f1(prediction: str, gold: str) -> float:
    """CMRC 2018's F1: precision and recall of the longest common substring of the normalised texts."""
    prediction, gold = cmrc_normalise(prediction), cmrc_normalise(gold)
    common = _longest_common_substring(prediction, gold)
    if common == 0:
        return 0.0
    precision, recall = common / len(prediction), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    return float(cmrc_normalise(prediction) == cmrc_normalise(gold))


def contains_answer(text: str | None, answers: Iterable[str]) -> bool:
    """Whether `text` contains one of the answers, whitespace removed and folded on both sides."""
    if not text:
        return False
    haystack = fold_for_match(text)
    return any(fold_for_match(answer) and fold_for_match(answer) in haystack for answer in answers)


def recall_at(ranks: list[int | None], k: int) -> float:
    return sum(1 for rank in ranks if rank is not None and rank <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: list[int | None], k: int) -> float:
    return sum(1 / rank for rank in ranks if rank is not None and rank <= k) / len(ranks) if ranks else 0.0


def abstention(found: list[bool], answerable: list[bool]) -> tuple[float | None, float | None]:
    """Precision and recall of saying "not found", with unanswerable questions as the positives."""
    abstained = [not f for f in found]
    true_positive = sum(1 for a, ok in zip(abstained, answerable) if a and not ok)
    said = sum(abstained)
    unanswerable = sum(1 for ok in answerable if not ok)
    precision = true_positive / said if said else None
    recall = true_positive / unanswerable if unanswerable else None
    return precision, recall


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]
    evidence: str | None = None
    gold_doc: str | None = None  # SQuAD: the paragraph the question belongs to

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


@dataclass
class Outcome:
    question: Question
    answer: Answer
    rank: int | None  # rank of the gold paragraph / evidence passage, 1-based, None when absent
    seconds: float


@dataclass
class Report:
    kind: str  # "squad" or "jsonl"
    metrics: dict[str, Any]
    failures: list[dict[str, Any]] = field(default_factory=list)
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)  # answerable questions' figures per question type


def read_jsonl(path: Path) -> list[Question]:
    questions = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            questions.append(
                Question(
                    id=str(item.get("id", number)),
                    question=item["question"],
                    answers=[] if item.get("unanswerable") else list(item.get("answers") or []),
                    evidence=item.get("evidence"),
                )
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a question object ({error})") from error
    return questions


def read_squad(path: Path) -> tuple[list[tuple[str, str, str]], list[Question]]:
    """(paragraphs as (doc id, title, context), questions) of a SQuAD-format file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs = []
    questions = []
    for article_number, article in enumerate(data.get("data", [])):
        title = article.get("title") or f"article {article_number}"
        for paragraph_number, paragraph in enumerate(article.get("paragraphs", [])):
            doc_id = paragraph.get("id") or f"{article_number}-{paragraph_number}"
            paragraphs.append((doc_id, title, paragraph["context"]))
            for qa in paragraph.get("qas", []):
                answers = [answer["text"] for answer in qa.get("answers", []) if answer.get("text")]
                questions.append(Question(id=str(qa.get("id")), question=qa["question"], answers=answers, gold_doc=doc_id))
    return paragraphs, questions


def detect_kind(path: Path) -> str:
    with path.open(encoding="utf-8") as handle:
        head = handle.read(4096).lstrip()
    if head.startswith("{") and '"data"' in head[:200] and "\n{" not in head[:200]:
        return "squad"
    return "jsonl"


def paragraph_rank(answer: Answer, gold_doc: str) -> int | None:
    seen: list[str] = []
    for hit in answer.hits:
        if hit.passage.doc_id not in seen:
            seen.append(hit.passage.doc_id)
        if hit.passage.doc_id == gold_doc:
            return len(seen)
    return None


def evidence_rank(answer: Answer, evidence: str | None) -> int | None:
    if not evidence:
        return None
    wanted = fold_for_match(evidence)
    for rank, hit in enumerate(answer.hits, 1):
        if wanted in fold_for_match(hit.passage.text):
            return rank
    return None


def run_questions(wenda: Wenda, questions: list[Question], kind: str, k: int) -> list[Outcome]:
    outcomes = []
    for question in questions:
        started = time.perf_counter()
        answer = wenda.answer(question.question, k)
        seconds = time.perf_counter() - started
        if kind == "squad":
            rank = paragraph_rank(answer, question.gold_doc or "")
        else:
            rank = evidence_rank(answer, question.evidence)
        outcomes.append(Outcome(question, answer, rank, seconds))
    return outcomes


def reading_alone(wenda: Wenda, questions: list[Question]) -> dict[str, float]:
    """The reader's exact match and F1 with each question's gold paragraph given: it reads every window of that
    paragraph (no retrieval), as it reads the windows of the best article when answering."""
    windows: dict[str, list[str]] = {}
    for passage in wenda.index.passages:
        windows.setdefault(passage.doc_id, []).append(passage.text)
    exact = f1 = 0.0
    scored = [q for q in questions if q.answerable and q.gold_doc in windows]
    for question in scored:
        texts = windows[question.gold_doc]
        spans = wenda.reader.read(question.question, texts)
        prediction = texts[spans[0].text][spans[0].start : spans[0].end] if spans else ""
        exact += max(exact_match(prediction, gold) for gold in question.answers)
        f1 += max(char_f1(prediction, gold) for gold in question.answers)
    count = len(scored) or 1
    return {"reader_exact_match": exact / count, "reader_f1": f1 / count}


def score(outcomes: list[Outcome], kind: str) -> Report:
    answerable = [o for o in outcomes if o.question.answerable]
    ranks = [o.rank for o in answerable]
    metrics: dict[str, Any] = {"questions": len(outcomes), "answerable": len(answerable)}
    if kind == "squad":
        metrics.update(recall_at_1=recall_at(ranks, 1), recall_at_5=recall_at(ranks, 5), mrr_at_10=mrr_at(ranks, 10))
    else:
        with_evidence = [o.rank for o in answerable if o.question.evidence]
        metrics.update(evidence_hit_at_1=recall_at(with_evidence, 1), evidence_hit_at_3=recall_at(with_evidence, 3))
    if answerable:
        metrics.update(answer_figures(answerable))
    precision, recall = abstention([o.answer.found for o in outcomes], [o.question.answerable for o in outcomes])
    metrics.update(abstention_precision=precision, abstention_recall=recall)
    seconds = sorted(o.seconds for o in outcomes)
    if seconds:
        metrics["median_ms"] = 1000 * seconds[len(seconds) // 2]
    failures = []
    for outcome in outcomes:
        q = outcome.question
        if q.answerable:
            wrong = not contains_answer(outcome.answer.answer, q.answers) or outcome.rank != 1
        else:
            wrong = outcome.answer.found
        if wrong:
            failures.append(
                {
                    "id": q.id,
                    "question": q.question,
                    "gold": q.answers,
                    "found": outcome.answer.found,
                    "answer": outcome.answer.answer,
                    "rank": outcome.rank,
                    "confidence": round(outcome.answer.confidence, 4),
                }
            )
    return Report(kind, metrics, failures, by_kind(answerable))


def answer_figures(answerable: list[Outcome]) -> dict[str, Any]:
    """How well answerable questions (at least one) were answered: the short answer against the golds (contains
    one, exact match, F1), the sentence (contains one), and how many were said not found."""
    def best(function, outcome: Outcome) -> float:
        prediction = outcome.answer.answer or ""
        return max(function(prediction, gold) for gold in outcome.question.answers)

    count = len(answerable)
    correct = sum(contains_answer(o.answer.answer, o.question.answers) for o in answerable)
    return {
        "answer_accuracy": correct / count,
        "answer_exact_match": sum(best(exact_match, o) for o in answerable) / count,
        "answer_f1": sum(best(char_f1, o) for o in answerable) / count,
        "sentence_accuracy": sum(contains_answer(o.answer.sentence, o.question.answers) for o in answerable) / count,
        "answered_correctly": correct,
        "answerable_said_not_found": sum(1 for o in answerable if not o.answer.found),
    }


def by_kind(answerable: list[Outcome]) -> dict[str, dict[str, Any]]:
    """The answerable questions' figures per question type (time, quantity, list, …: the kind the pipeline
    read the question as), most asked first: where the misses are."""
    from bot.answer.question import analyse

    groups: dict[str, list[Outcome]] = {}
    for outcome in answerable:
        evidence = outcome.answer.evidence
        groups.setdefault(evidence.kind if evidence else analyse(outcome.question.question).kind, []).append(outcome)
    figures = {}
    for name, group in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        shared = answer_figures(group)
        figures[name] = {
            "answerable": len(group),
            **{key: shared[key] for key in ("answered_correctly", "answer_exact_match", "answer_f1", "sentence_accuracy")},
            "said_not_found": shared["answerable_said_not_found"],
        }
    return figures


def format_report(report: Report, verbose: bool = False) -> str:
    names = {
        "recall_at_1": "paragraph R@1",
        "recall_at_5": "paragraph R@5",
        "mrr_at_10": "paragraph MRR@10",
        "evidence_hit_at_1": "evidence hit@1",
        "evidence_hit_at_3": "evidence hit@3",
        "answer_accuracy": "answer accuracy",
        "answered_correctly": "answered correctly",
        "answer_exact_match": "answer exact match",
        "answer_f1": "answer F1",
        "sentence_accuracy": "answer-sentence accuracy",
        "answerable_said_not_found": "answerable said not found",
        "abstention_precision": "abstention precision",
        "abstention_recall": "abstention recall",
        "median_ms": "median answer ms",
        "reader_exact_match": "reading alone: exact match",
        "reader_f1": "reading alone: F1",
        "questions": "questions",
        "answerable": "answerable",
    }
    lines = []
    for key, value in report.metrics.items():
        shown = "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
        lines.append(f"{names.get(key, key):<28} {shown:>8}")
    if report.by_kind:
        lines.append("")
        lines.append(f"{'answerable, by question type':<28} {'asked':>6} {'correct':>8} {'EM':>6} {'F1':>6} {'sentence':>9} {'not found':>10}")
        for name, row in report.by_kind.items():
            lines.append(
                f"  {name:<26} {row['answerable']:>6} {row['answered_correctly']:>8} {row['answer_exact_match']:>6.3f} "
                f"{row['answer_f1']:>6.3f} {row['sentence_accuracy']:>9.3f} {row['said_not_found']:>10}"
            )
    if verbose and report.failures:
        lines.append("")
        lines.append(f"{len(report.failures)} failures:")
        for failure in report.failures:
            lines.append(
                f"  {failure['id']}: {failure['question']}  gold={failure['gold']}  found={failure['found']} "
                f"rank={failure['rank']} conf={failure['confidence']}  answer={(failure['answer'] or '')[:60]!r}"
            )
    return "\n".join(lines)


def squad_index(paragraphs: list[tuple[str, str, str]], wenda_settings, embedder, progress=None):
    """An in-memory index with each SQuAD context as its own document (vectors cached on disk)."""
    from bot.ingest.clean import clean_document
    from bot.ingest.passages import make_passages
    from bot.search.build import embedding_cache, index_passages

    documents = [clean_document(context, doc_id, title) for doc_id, title, context in paragraphs]
    passages = make_passages(documents, wenda_settings.passage_min_chars, wenda_settings.passage_max_chars)
    index, _ = index_passages(passages, embedder, embedding_cache(wenda_settings, embedder), wenda_settings, progress)
    if index.unpublished is not None:  # INDEX_BACKEND=milvus: a scratch collection, never the alias's
        from bot.search.milvus import MilvusStore

        index.fill_store(MilvusStore(wenda_settings, f"{wenda_settings.milvus_prefix}_eval"), progress)
    return index


def fold_for_match(text: str) -> str:
    """Folded text without whitespace, to compare answers and evidence with OCR'd text."""
    return "".join(fold(text).split())
