"""The reader's accuracy against its time: end-to-end EM / F1 and reader milliseconds per setting.

Settings: reader weights files (e.g. a 12-layer and a 6-layer reader), the windows read per question
(READER_WINDOWS), and the number type (bfloat16 / float32). Questions: the reader's validation split
(`bot.answer.training`, never trained on; the setting to ship is chosen on it), or any SQuAD-format
file with --squad (each paragraph its own document, as `wenda eval` does).

    python benchmarks/reader_tradeoffs.py --weights bot/models/reader.safetensors --windows 1,2,3
    python benchmarks/reader_tradeoffs.py --squad ../shared/eval/cmrc2018_trial.json --windows 1,3
    python benchmarks/reader_tradeoffs.py --windows 2 --no-marks    # questions typed without a question mark
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT.parent / "shared" / "train"


def validation_set() -> tuple[list[tuple[str, str, str]], list]:
    """(paragraphs, questions) of the reader's validation split with Chinese paragraphs, as `read_squad` gives them."""
    from bot.answer.training_data import is_chinese, is_held_out, load_questions
    from bot.evaluate import Question

    paragraphs: dict[str, tuple[str, str, str]] = {}
    questions = []
    for question in load_questions(TRAIN)[0]:
        if not (is_held_out(question) and is_chinese(question.context)):
            continue
        doc = paragraphs.setdefault(question.context, (f"v{len(paragraphs)}", question.article, question.context))
        golds = [question.context[start:end] for start, end in question.answers]
        questions.append(Question(id=question.key, question=question.question, answers=golds, gold_doc=doc[0]))
    return list(paragraphs.values()), questions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", nargs="+", default=[None], help="reader weights files (default: the shipped one)")
    parser.add_argument("--windows", default="1,2,3", help="READER_WINDOWS values, comma-separated")
    parser.add_argument("--dtype", default="bfloat16", help="number types, comma-separated (bfloat16, float32)")
    parser.add_argument("--focus", default="0", help="READER_FOCUS_CHARS values, comma-separated (0 = whole windows)")
    parser.add_argument("--lexical", default="3", help="READER_LEXICAL_WEIGHT values, comma-separated (default: the shipped 3)")
    parser.add_argument("--typed", default="4", help="READER_TYPE_WEIGHT values, comma-separated (default: the shipped 4)")
    parser.add_argument("--terms", default="1", help="READER_QUESTION_TERMS values (0, 1), comma-separated (default: the shipped 1)")
    parser.add_argument("--squad", type=Path, help="a SQuAD-format file instead of the validation split")
    parser.add_argument("--limit", type=int, default=0, help="ask only the first N questions")
    parser.add_argument("--no-marks", action="store_true", help="ask the questions with their final question marks taken off")
    args = parser.parse_args()

    from bot.answer.pipeline import Wenda
    from bot.answer.reader import load_reader
    from bot.config import Settings
    from bot.evaluate import char_f1, contains_answer, exact_match, read_squad, squad_index
    from bot.search.embedding import Embedder
    from bot.text.fold import has_cjk

    paragraphs, questions = read_squad(args.squad) if args.squad else validation_set()
    questions = [q for q in questions if q.answerable][: args.limit or None]
    if args.no_marks:  # as chat users often type them
        import dataclasses
        import re

        questions = [dataclasses.replace(q, question=re.sub(r"[?？]+\s*$", "", q.question.strip())) for q in questions]
    # "Not found" stays out of it: these figures are about reading (calibrate_reader.py sets the thresholds).
    from calibrate_reader import OPEN

    settings = Settings(answer_cache_size=0, **OPEN)
    embedder = Embedder(settings)
    index = squad_index(paragraphs, settings, embedder)
    rows = []
    for weights in args.weights:
        for dtype in args.dtype.split(","):
            reader = load_reader(Path(weights) if weights else None, dtype)
            grid = itertools.product(*([float(n) for n in values.split(",")] for values in (args.windows, args.focus, args.lexical, args.typed, args.terms)))
            for windows, focus, lexical, typed, terms in grid:
                windows, focus = int(windows), int(focus)
                update = {
                    "reader_windows": windows, "reader_focus_chars": focus, "reader_lexical_weight": lexical,
                    "reader_type_weight": typed, "reader_question_terms": bool(terms),
                }
                wenda = Wenda(settings.model_copy(update=update), embedder, index, reader)
                wenda.answer(questions[0].question)  # warm up
                exact = f1 = 0.0
                held = 0
                reads, totals = [], []
                by_language: dict[bool, list[float]] = {True: [], False: []}
                for question in questions:
                    started = time.perf_counter()
                    answer = wenda.answer(question.question, 5)
                    totals.append(time.perf_counter() - started)
                    reads.append(answer.timings.get("read", 0.0))
                    prediction = answer.answer or ""
                    exact += max(exact_match(prediction, gold) for gold in question.answers)
                    f1 += (best := max(char_f1(prediction, gold) for gold in question.answers))
                    by_language[has_cjk(question.question)].append(best)
                    held += contains_answer(answer.sentence, question.answers)
                row = {
                    "weights": weights or "shipped",
                    "layers": reader.meta["layers"],
                    "dtype": dtype,
                    "windows": windows,
                    "focus": focus,
                    "lexical": lexical,
                    "typed": typed,
                    "terms": bool(terms),
                    "f1_chinese_questions": round(float(np.mean(by_language[True] or [0.0])), 4),
                    "f1_other_questions": round(float(np.mean(by_language[False] or [0.0])), 4),
                    "questions": len(questions),
                    "exact_match": round(exact / len(questions), 4),
                    "f1": round(f1 / len(questions), 4),
                    "sentence": round(held / len(questions), 4),
                    "read_p50_ms": round(1000 * float(np.percentile(reads, 50)), 1),
                    "read_p95_ms": round(1000 * float(np.percentile(reads, 95)), 1),
                    "answer_p95_ms": round(1000 * float(np.percentile(totals, 95)), 1),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    print("\n| weights | layers | dtype | windows | focus | lexical | typed | EM | F1 | sentence | reader p50 / p95 ms | answer p95 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['weights']} | {row['layers']} | {row['dtype']} | {row['windows']} | {row['focus'] or 'whole'} | {row['lexical']:g} | {row['typed']:g} | {row['exact_match']:.3f} | "
            f"{row['f1']:.3f} | {row['sentence']:.3f} | {row['read_p50_ms']} / {row['read_p95_ms']} | {row['answer_p95_ms']} |"
        )


if __name__ == "__main__":
    main()
