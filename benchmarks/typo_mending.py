"""How often mending a question's typing slips (bot/answer/typos.py) mends what was not broken, and how often
it puts a slip right.

For each question of a SQuAD-format set, against its own paragraphs' character n-grams (what the index's BM25
vocabulary holds, built here without embedding anything):
- as asked: any change is a false mend (the sets were typed with care; the odd real slip counts against us);
- with one slip made as a pinyin keyboard makes them: a character of a content word (not a question word
  or a function character, one with a neighbour) replaced by a homophone, one of those the corpus uses (what
  a keyboard offers first), picked at random with a fixed seed; mended back to the question as asked, left
  as slipped, or changed into something else.

With --answers, the slipped questions (and the questions as typed) are also answered end to end, each
paragraph its own document as `wenda eval` does, with MEND_SLIPS off and on: answer EM / F1 and how many
answerable ones were said not found.

    python benchmarks/typo_mending.py                                    # the reader's validation split
    python benchmarks/typo_mending.py --squad ../shared/eval/cmrc2018_trial.json
    python benchmarks/typo_mending.py --answers
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


class NGrams:
    """The two calls `mend_homophones` makes of an index (`has_gram`, `idf`), over some paragraphs' BM25 tokens."""

    def __init__(self, texts: list[str]):
        from bot.search.lexical import lexical_tokens

        self.frequency: Counter[str] = Counter()
        for text in texts:
            self.frequency.update(set(lexical_tokens(text)))
        self.total = len(texts)

    def has_gram(self, gram: str) -> bool:
        return gram in self.frequency

    def idf(self, tokens: list[str]) -> np.ndarray:
        counts = np.array([self.frequency.get(token, 0) for token in tokens], dtype=np.float64)
        return np.log((self.total + 1.0) / (counts + 0.5))


def slip(question: str, grams: NGrams, rng: random.Random) -> str | None:
    """The folded question with one content character swapped for a homophone the corpus uses, or None."""
    from bot.answer.question import INTERROGATIVE_RE
    from bot.answer.typos import FUNCTION_CHARS, homophones
    from bot.text.cjk import is_ideograph

    asking = {position for match in INTERROGATIVE_RE.finditer(question) for position in range(*match.span())}
    chars = list(question)
    places = [
        position for position, char in enumerate(chars)
        if is_ideograph(char) and char not in FUNCTION_CHARS and position not in asking
        and any(0 <= near < len(chars) and is_ideograph(chars[near]) for near in (position - 1, position + 1))
    ]
    rng.shuffle(places)
    for position in places:
        offered = [other for other in homophones(chars[position]) if grams.has_gram(other)]
        if offered:
            chars[position] = rng.choice(offered)
            return "".join(chars)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--squad", type=Path, help="a SQuAD-format file (default: the reader's validation split)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", type=int, default=10, help="print this many examples of each outcome")
    parser.add_argument("--answers", action="store_true", help="also answer the questions end to end (slow)")
    args = parser.parse_args()

    from bot.answer.typos import mend_homophones, mend_interrogatives
    from bot.evaluate import read_squad
    from bot.text.fold import fold, has_cjk

    if args.squad:
        paragraphs, questions = read_squad(args.squad)
    else:
        from reader_tradeoffs import validation_set

        paragraphs, questions = validation_set()
    grams = NGrams([context for _, _, context in paragraphs])
    asked = [fold(question.question.strip()) for question in questions if has_cjk(question.question)]
    rng = random.Random(args.seed)

    def mend(text: str) -> str:
        return mend_homophones(grams, fold(mend_interrogatives(text)))

    started = time.perf_counter()
    changed = [(text, mend(text)) for text in asked]
    changed = [(text, mended) for text, mended in changed if mended != text]
    per_question = 1000 * (time.perf_counter() - started) / len(asked)
    outcomes: dict[str, list[tuple[str, str, str]]] = {"mended": [], "left": [], "wrong": []}
    for text in asked:
        slipped = slip(text, grams, rng)
        if slipped is None:
            continue
        mended = mend(slipped)
        outcome = "mended" if mended == text else "left" if mended == slipped else "wrong"
        outcomes[outcome].append((text, slipped, mended))
    slips = sum(map(len, outcomes.values()))

    print(f"{args.squad or 'validation split'}: {len(paragraphs)} paragraphs, {len(asked)} Chinese questions")
    print(f"as asked: {len(changed)} changed ({len(changed) / len(asked):.1%}), {per_question:.2f} ms a question")
    for text, mended in changed[: args.show]:
        print(f"  {text} -> {mended}")
    print(f"one slip each ({slips} questions):")
    for outcome, rows in outcomes.items():
        print(f"  {outcome:<7} {len(rows):>5} ({len(rows) / slips:.1%})")
        for text, slipped, mended in rows[: args.show]:
            print(f"    {text} | {slipped} -> {mended}")
    if args.answers:
        answer_end_to_end(paragraphs, questions, {text: slipped for rows in outcomes.values() for text, slipped, _ in rows})


def answer_end_to_end(paragraphs, questions, slipped: dict[str, str]) -> None:
    """EM / F1 of the questions as typed and with their slip, MEND_SLIPS off and on."""
    from dataclasses import replace

    from bot.answer.pipeline import Wenda
    from bot.answer.reader import load_reader
    from bot.config import Settings
    from bot.evaluate import char_f1, exact_match, squad_index
    from bot.startup import load_embedder
    from bot.text.fold import fold

    settings = Settings()
    embedder = load_embedder(settings)
    index = squad_index(paragraphs, settings, embedder)
    reader = load_reader()
    chosen = [question for question in questions if question.answers and fold(question.question.strip()) in slipped]
    forms = {"as typed": chosen, "one slip": [replace(q, question=slipped[fold(q.question.strip())]) for q in chosen]}
    print(f"end to end, {len(chosen)} answerable questions with a slip made:")
    for mend in (False, True):
        wenda = Wenda(settings.model_copy(update={"mend_slips": mend}), embedder, index, reader)
        for name, asked in forms.items():
            answers = [wenda.answer(question.question) for question in asked]
            em = np.mean([max(exact_match(a.answer or "", g) for g in q.answers) for a, q in zip(answers, asked)])
            f1 = np.mean([max(char_f1(a.answer or "", g) for g in q.answers) for a, q in zip(answers, asked)])
            missing = sum(not a.found for a in answers)
            print(f"  MEND_SLIPS={str(mend).lower():<5} {name:<8}  EM {em:.3f}  F1 {f1:.3f}  said not found {missing}")


if __name__ == "__main__":
    main()
