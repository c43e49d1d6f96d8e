"""Swapped-word negatives for the reader: measured, not shipped (docs/reader.md).

SQuAD 2.0's unanswerable questions were written by changing a question so that its passage no longer
answers it. This makes such questions automatically from the training split: one content word of a
Chinese question (a jieba noun or verb that stands in the passage and is not part of the answer) is
replaced by a word of the same part of speech from another training question that the passage lacks
(`巴黎和约于何年签署` -> `巴黎热源于何年签署`), and the new question, asked of the answer's window, is a
"no answer" piece. The shipped weights then train on the usual pieces plus these for a part of an
epoch (`--control`: the same steps without them), and the result is written as a weights file to judge
with `READER_WEIGHTS=... python benchmarks/calibrate_reader.py gather`, then `sweep`.

    python benchmarks/swapped_negatives.py --show 20                   # print some swaps, train nothing
    python benchmarks/swapped_negatives.py --out /tmp/swap.safetensors --work /tmp/swap-work
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from further_training import TRAIN, add_arguments, show, train_further  # noqa: E402

SWAPPED_TAGS = re.compile(r"^(n|nr|ns|nt|nz|nrt|nrfg|v|vn)$")  # jieba's nouns, names and verbs


def swaps(questions: list, rng: random.Random) -> list[tuple[object, str]]:
    """(question, its swapped text) for the Chinese questions that have a word to swap."""
    import jieba
    import jieba.posseg as pseg

    from bot.answer.question import INTERROGATIVE_RE
    from bot.answer.training_data import TWIN, is_chinese
    from bot.text.fold import fold

    jieba.setLogLevel(logging.WARNING)
    swappable = lambda word, tag: SWAPPED_TAGS.match(tag) and len(word) >= 2 and not INTERROGATIVE_RE.search(word)  # noqa: E731
    vocabulary: dict[str, set[str]] = {}
    parsed = {}
    for question in questions:
        if not is_chinese(question.question) or question.key.endswith(TWIN):
            continue
        words = [(word, tag) for word, tag in pseg.lcut(fold(question.question))]
        parsed[id(question)] = words
        for word, tag in words:
            if swappable(word, tag):
                vocabulary.setdefault(tag, set()).add(word)
    choices = {tag: sorted(words) for tag, words in vocabulary.items()}
    made = []
    for question in questions:
        if id(question) not in parsed:
            continue
        context = fold(question.context)
        answers = [context[start:end] for start, end in question.answers]
        words = parsed[id(question)]
        candidates = [
            i for i, (word, tag) in enumerate(words)
            if swappable(word, tag) and word in context and not any(word in answer or answer in word for answer in answers)
        ]
        if not candidates:
            continue
        i = rng.choice(candidates)
        word, tag = words[i]
        for _ in range(20):
            other = rng.choice(choices[tag])
            if other not in context and word not in other and other not in word:
                made.append((question, "".join(other if j == i else text for j, (text, _) in enumerate(words))))
                break
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser, "swapped questions")
    args = parser.parse_args()

    from bot.answer.training_data import is_held_out, load_questions

    questions, _ = load_questions(TRAIN)
    made = swaps([q for q in questions if not is_held_out(q)], random.Random(7))
    if args.show:
        return show([(question.question, text) for question, text in made], args.show, "swapped questions", len(questions))
    train_further(parser, args, made, answerable=False, name="swapped")


if __name__ == "__main__":
    main()
