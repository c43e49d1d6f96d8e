"""The shipped reader trained a part of an epoch more on its usual pieces plus made questions: the shared body of
the experiments `swapped_negatives.py` (made questions the answer's window does not answer) and
`paraphrased_questions.py` (made questions it does)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ROOT.parent / "shared" / "train"


def add_arguments(parser: argparse.ArgumentParser, made: str) -> None:
    """The options both experiments take; `made` names their made questions in the help."""
    parser.add_argument("--out", type=Path, help="weights file to write")
    parser.add_argument("--work", type=Path, help="checkpoints and log")
    parser.add_argument("--epochs", type=float, default=0.5, help="passes over the mix (default 0.5)")
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--control", action="store_true", help=f"the same training without the {made}")
    parser.add_argument("--show", type=int, default=0, help=f"print this many {made} and stop")


def show(pairs: list[tuple[str, str]], count: int, made: str, of: int) -> None:
    """`count` of the (question, made question) pairs, spread over the list."""
    print(f"{len(pairs)} {made} of {of}")
    for question, text in pairs[:: max(1, len(pairs) // count)][:count]:
        print(f"{question} -> {text}")


def train_further(parser: argparse.ArgumentParser, args: argparse.Namespace, made: list, answerable: bool, name: str) -> None:
    """Train the shipped weights on the usual pieces plus each made (question, text): the text asked of the
    question's answer window, with that answer as its target (`answerable`) or as "no answer"; write
    `args.out` and print the validation figures."""
    from bot.answer.reader import bundled_weights, encode, read_weights
    from bot.answer.training import Trainer, export
    from bot.answer.training_data import Example, Options, locate, prepare, token_target, windows_of
    from bot.text.fold import fold

    if not args.out or not args.work:
        parser.error("--out and --work are needed to train")
    options = Options(epochs=args.epochs, learning_rate=args.learning_rate)
    trainer = Trainer(options, args.work)
    tensors, _ = read_weights(bundled_weights())
    trainer.network.load_state_dict({key: tensor.float() for key, tensor in tensors.items()}, strict=False)
    examples, validation, counts = prepare(TRAIN, options, trainer.tokenizer)
    added = 0
    if not args.control:
        for question, text in made:
            ids = trainer.tokenizer.ids(fold(text))
            for window in windows_of(question.context, options):
                span = next((s for answer in question.answers if (s := locate(answer, question.context, window))), None)
                if span is not None:
                    for piece in encode(trainer.tokenizer, ids, window[2]):
                        start, end = token_target(piece, span) if answerable else (0, 0)
                        examples.append(Example(piece.ids, start, end))
                        added += 1
                    break
    counts[name] = added
    print(f"{len(examples)} pieces, {added} of them {name} questions", flush=True)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    trainer.train(examples, validation, args.work / "training.jsonl")
    meta = export(trainer, args.out, counts)
    print(json.dumps({"validation": meta["validation"], "seconds": round(time.monotonic() - started)}), flush=True)
