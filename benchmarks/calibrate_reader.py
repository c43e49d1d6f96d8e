"""Calibrate "not found" for the trained reader: gather the evidence `answer()` decides on, then sweep thresholds.

Only data the reported figures do not come from:
- the reader's validation split (`bot.answer.training`: one article in ten of DRCD dev and XQuAD, never
  trained on), its Chinese paragraphs indexed in two halves by article: each question asked of its own
  half is answerable, asked of the other half it is not (retrieval finds near misses there, as users'
  questions about a corpus that lacks the fact do);
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
}


def gather() -> None:
    from bot.answer.pipeline import Wenda
    from bot.answer.training_data import is_chinese, is_held_out, load_questions
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
    shipped = Wenda(settings, embedder, Index.load(settings.index_dir))
    for question in read_jsonl(ROOT / "eval" / "out_of_corpus.jsonl"):
        if int(question.id[1:]) % 2 == 1:
            emit(shipped, question.question, False, [], "out_of_corpus-odd")


# Candidate thresholds: (MIN_DENSE, MIN_COVERAGE, MIN_READER_MARGIN, MIN_SENTENCE_COVERAGE) for Chinese questions,
# the same less the last for the others (their coverage is the share of words with a translation).
GRID = {
    True: (
        [0.70, 0.74, 0.76, 0.78, 0.80, 0.82, 0.84, 0.86],
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],
        [-12.0, -10.0, -8.0, -6.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 6.0],
        [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
    ),
    False: ([0.68, 0.70, 0.72, 0.74, 0.76, 0.78], [0.0, 0.1, 0.2, 0.3, 0.4], [-12.0, -10.0, -8.0, -6.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0], [0.0]),
}


def sweep(path: Path) -> None:
    """For Chinese and for other questions, the thresholds with abstention precision >= 0.95 on the Pareto front
    of three aims: "not found" for the out-of-corpus near misses, for the other-article questions, and the
    answer F1 kept. Precision does not count answerable questions whose answer shares nothing with the gold
    (retrieval missed their paragraph: "not found" is no worse there). Choose from the front by hand, saying
    why in the commit."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for chinese in (True, False):
        subset = [row for row in rows if row["chinese"] == chinese]
        answerable = [row for row in subset if row["answerable"]]
        near = [row for row in subset if row["source"].startswith("out_of_corpus")]
        other = [row for row in subset if not row["answerable"] and not row["source"].startswith("out_of_corpus")]
        print(f"{'Chinese' if chinese else 'Other'} questions: {len(answerable)} answerable, {len(other)} of other articles, "
              f"{len(near)} out of corpus")
        if not answerable or not (near or other):
            continue
        frontier: dict[float, tuple] = {}
        for dense, cover, margin, sentence, typed in itertools.product(*GRID[chinese], (False, True)):
            def found(row) -> bool:
                return (
                    row["dense"] >= dense and row["coverage"] >= cover and row["reader_margin"] >= margin
                    and row.get("sentence_coverage", 1.0) >= sentence and not (typed and row.get("typed_span") is False)
                )

            kept_f1 = sum(row["f1"] for row in answerable if found(row)) / len(answerable)
            true = sum(1 for row in near + other if not found(row))
            wrong = sum(1 for row in answerable if not found(row) and row["f1"] > 0)
            precision = true / max(1, true + wrong)
            near_recall = sum(not found(row) for row in near) / max(1, len(near))
            other_recall = sum(not found(row) for row in other) / max(1, len(other))
            if precision < 0.95:
                continue
            key = (round(near_recall, 3), round(other_recall, 2))
            if key not in frontier or frontier[key][0] < kept_f1:
                frontier[key] = (kept_f1, precision, other_recall, dense, cover, margin, sentence, typed)
        print("  near-miss recall  kept F1  precision  other recall   dense  cover  margin  sentence  typed")
        # The Pareto front: no other row catches as many near misses and other-article questions and keeps more F1.
        front = [
            (key, row) for key, row in frontier.items()
            if not any(k[0] >= key[0] and k[1] >= key[1] and r[0] >= row[0] and (k, r) != (key, row) for k, r in frontier.items())
        ]
        for (near_recall, _), (kept_f1, precision, other_recall, dense, cover, margin, sentence, typed) in sorted(front):
            print(
                f"  {near_recall:16.3f}  {kept_f1:7.3f}  {precision:9.3f}  {other_recall:12.3f}   {dense:.2f}   {cover:.1f}   "
                f"{margin:+.1f}   {sentence:.1f}       {'yes' if typed else 'no'}"
            )


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "gather":
        gather()
    elif len(sys.argv) >= 3 and sys.argv[1] == "sweep":
        sweep(Path(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
