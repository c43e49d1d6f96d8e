"""Calibrate "not found" for the trained reader: gather the evidence `answer()` decides on, then sweep thresholds.

Only data the reported figures do not come from:
- the reader's validation split (`bot.answer.training`: one article in ten of DRCD dev and XQuAD, never
  trained on), its Chinese paragraphs indexed in two halves by article: each question asked of its own
  half is answerable, asked of the other half it is not (retrieval finds near misses there, as users'
  questions about a corpus that lacks the fact do);
- near misses made from the same split: each question asked of its article with the sentences holding its
  answer taken out (the subject, its other facts, not the one asked);
- the odd-numbered questions of `eval/out_of_corpus.jsonl` (o01, o03, ...) against the shipped corpus.
  The even-numbered ones, the seed sets and CMRC 2018 are what the figures are reported on.

    python benchmarks/calibrate_reader.py gather > /tmp/reader-evidence.jsonl   # a few minutes
    python benchmarks/calibrate_reader.py sweep /tmp/reader-evidence.jsonl
"""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT.parent / "shared" / "train"
OPEN = {
    "min_dense": -1.0, "min_coverage": 0.0, "min_dense_foreign": -1.0, "min_coverage_foreign": 0.0,
    "min_reader_margin": -1e9, "min_reader_margin_foreign": -1e9, "min_sentence_coverage": 0.0,
    "min_reader_margin_untyped": -1e9,
}


def gather() -> None:
    from bot.answer.pipeline import Wenda
    from bot.answer.training_data import is_chinese, is_held_out, load_questions, without_answer
    from bot.config import Settings
    from bot.evaluate import char_f1, read_jsonl, squad_index
    from bot.search.embedding import Embedder
    from bot.search.index import Index

    settings = Settings().model_copy(update={**OPEN, "answer_cache_size": 0})
    embedder = Embedder(settings)
    questions = [q for q in load_questions(TRAIN)[0] if is_held_out(q) and is_chinese(q.context)]
    halves: dict[int, list] = {0: [], 1: []}
    for question in questions:
        halves[int(question.article.split(":")[1]) // 10 % 2].append(question)
    wendas = {}
    for half, members in halves.items():
        paragraphs = {q.context: (f"{half}-{number}", q.article, q.context) for number, q in enumerate(members)}
        wendas[half] = Wenda(settings, embedder, squad_index(list(paragraphs.values()), settings, embedder))

    def emit(wenda: Wenda, question: str, answerable: bool, golds: list[str], source: str) -> None:
        answer = wenda.answer(question, 5)
        evidence = answer.evidence.figures() if answer.evidence else {}
        f1 = max((char_f1(answer.answer or "", gold) for gold in golds), default=0.0)
        print(json.dumps({"source": source, "question": question, "answerable": answerable, "f1": f1, **evidence}, ensure_ascii=False), flush=True)

    for half, members in halves.items():
        for question in members:
            golds = [question.context[start:end] for start, end in question.answers]
            emit(wendas[half], question.question, True, golds, f"validation-{question.language}")
            emit(wendas[1 - half], question.question, False, [], f"validation-{question.language}")
    # Near misses made from the validation split: each question asked of its article with the sentences that
    # hold its answer taken out (the subject, its other facts and figures, not the one asked). Skipped where
    # too little is left or an answer's words still stand in the article.
    articles: dict[str, dict[str, None]] = {}
    for question in questions:
        articles.setdefault(question.article, {})[question.context] = None
    for question in questions:
        golds = [question.context[start:end] for start, end in question.answers]
        missing = without_answer(question.context, question.answers[0], golds, shortest=80)
        others = [context for context in articles[question.article] if context != question.context]
        if missing is None or any(gold in context for gold in golds for context in others):
            continue
        paragraphs = [(f"made-{number}", question.article, context) for number, context in enumerate([missing, *others])]
        emit(wendas[0].with_index(squad_index(paragraphs, settings, embedder)), question.question, False, [], f"made-{question.language}")
    shipped = Wenda(settings, embedder, Index.load(settings.index_dir))
    for question in read_jsonl(ROOT / "eval" / "out_of_corpus.jsonl"):
        if int(question.id[1:]) % 2 == 1:
            emit(shipped, question.question, False, [], "out_of_corpus-odd")


# Candidate thresholds: (MIN_DENSE, MIN_COVERAGE, MIN_READER_MARGIN, MIN_SENTENCE_COVERAGE,
# MIN_READER_MARGIN_UNTYPED) for Chinese questions; for the others the same with the last two unused (their
# coverage is the share of words with a translation, and their answer's type is not checked). An untyped margin
# of inf: a time, quantity or list question whose answer is not of the asked type is never answered.
UNUSED = -1e9
GRID = {
    True: (
        [0.70, 0.74, 0.76, 0.78, 0.80, 0.82, 0.84, 0.86],
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        [float(margin) for margin in range(-12, 7)],
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
        [UNUSED, 0.0, 2.0, 4.0, 6.0, 8.0, float("inf")],
    ),
    False: (
        [0.68, 0.70, 0.72, 0.74, 0.76, 0.78], [0.0, 0.1, 0.2, 0.3, 0.4],
        [-12.0, -10.0, -8.0, -6.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0], [0.0], [UNUSED],
    ),
}


def sweep(path: Path) -> None:
    """For Chinese and for other questions, the thresholds with abstention precision >= 0.95 on the Pareto front
    of four aims: "not found" for the out-of-corpus near misses, for the near misses made from the validation
    split, for the other-article questions, and the answer F1 kept. Precision does not count answerable
    questions whose answer shares nothing with the gold (retrieval missed their paragraph: "not found" is no
    worse there). The thresholds in use are shown below the front, and the rows that do at least as well on
    every aim are marked *. Choose from the front by hand, saying why in the commit."""
    import numpy as np

    from bot.config import CALIBRATED

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for chinese in (True, False):
        subset = [row for row in rows if row["chinese"] == chinese]
        if not subset:
            continue

        def column(name: str, default: float = 0.0):
            return np.array([row.get(name, default) for row in subset], dtype=float)

        dense, coverage, margin, sentence_coverage = column("dense"), column("coverage"), column("reader_margin"), column("sentence_coverage", 1.0)
        untyped = np.array([row.get("typed_span") is False for row in subset])
        f1 = column("f1")
        answerable = np.array([row["answerable"] for row in subset])
        near = np.array([row["source"].startswith("out_of_corpus") for row in subset])
        made = np.array([row["source"].startswith("made") for row in subset])
        other = ~answerable & ~near & ~made
        print(f"{'Chinese' if chinese else 'Other'} questions: {answerable.sum()} answerable, {other.sum()} of other articles, "
              f"{made.sum()} near misses made from them, {near.sum()} out of corpus")
        if not answerable.any() or answerable.all():
            continue
        def judged(limits: tuple) -> tuple[tuple[float, ...], float, float]:
            """(recalls of the near, made and other-article questions, kept answer F1, precision) at `limits`."""
            least_dense, least_cover, least_margin, least_sentence, least_untyped = limits
            found = (
                (dense >= least_dense) & (coverage >= least_cover) & (margin >= least_margin)
                & (sentence_coverage >= least_sentence) & ~(untyped & (margin < least_untyped))
            )
            kept_f1 = float(f1[answerable & found].sum() / answerable.sum())
            true = int((~answerable & ~found).sum())
            wrong = int((answerable & ~found & (f1 > 0)).sum())
            recalls = tuple(round(float((~found & group).sum() / max(1, group.sum())), 2) for group in (near, made, other))
            return recalls, kept_f1, true / max(1, true + wrong)

        frontier: dict[tuple, tuple] = {}
        for limits in itertools.product(*GRID[chinese]):
            recalls, kept_f1, precision = judged(limits)
            if precision < 0.95:
                continue
            if recalls not in frontier or frontier[recalls][0] < kept_f1:
                frontier[recalls] = (kept_f1, precision, limits)
        # The thresholds in use (bot/config.py), to see which front rows beat them on every aim (marked *).
        current = CALIBRATED["model"]
        suffix = "" if chinese else "_foreign"
        shipped = (
            current["min_dense" + suffix], current["min_coverage" + suffix], current["min_reader_margin" + suffix],
            current["min_sentence_coverage"] if chinese else 0.0, current["min_reader_margin_untyped"] if chinese else UNUSED,
        )
        shipped_recalls, shipped_f1, shipped_precision = judged(shipped)
        # The Pareto front: no other row catches as many of each kind of question without an answer and keeps more F1.
        front = [
            (key, row) for key, row in frontier.items()
            if not any(all(k >= c for k, c in zip(other_key, key)) and other_row[0] >= row[0] and other_key != key
                       for other_key, other_row in frontier.items())
        ]
        print("  near-miss recall  made recall  other recall  kept F1  precision   dense  cover  margin  sentence  untyped")

        def show(recalls: tuple, kept_f1: float, precision: float, limits: tuple, mark: str) -> None:
            least_dense, least_cover, least_margin, least_sentence, least_untyped = limits
            shown = "-" if least_untyped == UNUSED else f"{least_untyped:+.0f}"
            near_recall, made_recall, other_recall = recalls
            print(
                f"{mark} {near_recall:16.2f}  {made_recall:11.2f}  {other_recall:12.2f}  {kept_f1:7.3f}  {precision:9.3f}   "
                f"{least_dense:.2f}   {least_cover:.1f}   {least_margin:+5.1f}   {least_sentence:.1f}       {shown}"
            )

        for recalls, (kept_f1, precision, limits) in sorted(front):
            beats = all(r >= c for r, c in zip(recalls, shipped_recalls)) and kept_f1 >= shipped_f1 and (recalls, kept_f1) != (shipped_recalls, shipped_f1)
            show(recalls, kept_f1, precision, limits, "*" if beats else " ")
        print("  in use (bot/config.py; * above: at least as good on every aim):")
        show(shipped_recalls, shipped_f1, shipped_precision, shipped, " ")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "gather":
        gather()
    elif len(sys.argv) >= 3 and sys.argv[1] == "sweep":
        sweep(Path(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
