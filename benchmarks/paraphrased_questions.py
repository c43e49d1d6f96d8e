"""Questions asked in other words: an augmentation of the reader's training, measured (docs/reader.md).

The reader's answers depend on the interrogative's wording more than a user would expect
(`临江大桥哪天通车的` not found where `…什么时候通车` reads 6月28日; on the validation split, swapping each
Chinese question's interrogative for another of its class lowers F1 0.813 -> 0.769). This adds, for each
Chinese training question holding an interrogative of a class below, a copy with it swapped for another
of the class (`何时` -> `什么时候`, `哪里` -> `什么地方`, `什么` -> `啥`), asked of its answer's window as
an answerable piece. The shipped weights train on the usual pieces plus these for a part of an epoch
(`--control`: the same steps without them); judge the result with `--phrasing` and the usual
`READER_WEIGHTS=... wenda eval ...`.

    python benchmarks/paraphrased_questions.py --show 20
    python benchmarks/paraphrased_questions.py --out /tmp/para.safetensors --work /tmp/para-work
    python benchmarks/paraphrased_questions.py --phrasing --weights /tmp/para.safetensors
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from further_training import TRAIN, add_arguments, show, train_further  # noqa: E402

# Interrogatives that ask the same thing; longest first within a class, so 什么时候 is not read as 什么.
CLASSES = [
    ["什么时候", "什么时间", "何时", "哪天", "几时"],
    ["哪一年", "哪年", "何年"],
    ["什么地方", "哪里", "哪儿", "何处"],
    ["什么人", "谁"],  # not 哪位: it is followed by a noun (哪位皇帝), 谁 is not
    ["为什么", "为何", "什么原因"],
    ["什么", "啥"],
]


def paraphrase(folded: str, rng: random.Random) -> str | None:
    """The question with its first interrogative of a class swapped for another of the class, or None."""
    for words in CLASSES:
        for word in sorted(words, key=len, reverse=True):
            if word in folded:
                return folded.replace(word, rng.choice([other for other in words if other != word]), 1)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, "paraphrased questions")
    parser.add_argument("--phrasing", action="store_true", help="measure: validation questions read as asked and paraphrased")
    parser.add_argument("--weights", type=Path, help="with --phrasing: the weights to measure (default: the shipped)")
    args = parser.parse_args()
    if args.phrasing:
        return phrasing(args.weights)

    from bot.answer.training_data import is_chinese, is_held_out, load_questions
    from bot.text.fold import fold

    questions, _ = load_questions(TRAIN)
    rng = random.Random(11)
    made = [(q, text) for q in questions if not is_held_out(q) and is_chinese(q.question) and (text := paraphrase(fold(q.question), rng))]
    if args.show:
        return show([(fold(question.question), text) for question, text in made], args.show, "paraphrased questions", len(questions))
    train_further(parser, args, made, answerable=True, name="paraphrased")


def phrasing(weights: Path | None) -> None:
    """F1 and margins of the validation split's Chinese questions read end to end (thresholds open), as asked
    and paraphrased (another seed than training's)."""
    import numpy as np

    from calibrate_reader import OPEN
    from reader_tradeoffs import validation_set

    from bot.answer.pipeline import Wenda
    from bot.answer.reader import Reader
    from bot.config import Settings
    from bot.evaluate import char_f1, squad_index
    from bot.search.embedding import Embedder
    from bot.text.fold import fold, has_cjk

    rng = random.Random(3)
    paragraphs, questions = validation_set()
    pairs = [(q, p) for q in questions if q.answerable and has_cjk(q.question) and (p := paraphrase(fold(q.question), rng))]
    settings = Settings(answer_cache_size=0, **OPEN)
    embedder = Embedder(settings)
    wenda = Wenda(settings, embedder, squad_index(paragraphs, settings, embedder), Reader(weights))
    rows = []
    for question, text in pairs:
        asked, paraphrased = wenda.answer(question.question, 5), wenda.answer(text, 5)
        rows.append([
            max(char_f1(asked.answer or "", gold) for gold in question.answers),
            max(char_f1(paraphrased.answer or "", gold) for gold in question.answers),
            asked.evidence.reader_margin, paraphrased.evidence.reader_margin,
        ])
    table = np.array(rows)
    print(json.dumps({
        "weights": str(weights or "shipped"), "questions": len(pairs),
        "f1_asked": round(float(table[:, 0].mean()), 4), "f1_paraphrased": round(float(table[:, 1].mean()), 4),
        "margin_below_-6_asked": int((table[:, 2] < -6).sum()), "margin_below_-6_paraphrased": int((table[:, 3] < -6).sum()),
    }))


if __name__ == "__main__":
    main()
