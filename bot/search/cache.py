"""Passage vectors by (model, text), so a rebuild embeds only what is new (`EmbeddingCache`).

On disk, one pair of append-only files per model under `INDEX_DIR/embeddings/`:

    <model>.f32    float32 rows, `dim` values each
    <model>.keys   one BLAKE2 digest of a passage text per line, row i <-> line i

Rows are appended and flushed before their keys, so a crash can leave extra rows (ignored and
trimmed at the next open) but never a key without its vector.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def text_key(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def _slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model).strip("_") or "model"


class EmbeddingCache:
    """Vectors of passage texts for one model, persisted under a folder."""

    def __init__(self, folder: Path, model: str, dim: int):
        self.folder = folder
        self.dim = dim
        stem = f"{_slug(model)}-{hashlib.blake2b(model.encode(), digest_size=4).hexdigest()}-{dim}"
        self.vectors_path = folder / f"{stem}.f32"
        self.keys_path = folder / f"{stem}.keys"
        self.rows: dict[str, int] = {}
        self._open()

    def _open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        keys: list[str] = []
        if self.keys_path.exists():
            keys = self.keys_path.read_text(encoding="ascii").split()
        row_bytes = self.dim * 4
        stored_rows = self.vectors_path.stat().st_size // row_bytes if self.vectors_path.exists() else 0
        if stored_rows < len(keys):
            log.warning("embedding cache %s is short (%d rows for %d keys): starting it afresh", self.vectors_path, stored_rows, len(keys))
            keys, stored_rows = [], 0
            self.keys_path.unlink(missing_ok=True)
        if self.vectors_path.exists() and self.vectors_path.stat().st_size != len(keys) * row_bytes:
            # Rows written before a crash, whose keys never were: drop them.
            with self.vectors_path.open("r+b") as handle:
                handle.truncate(len(keys) * row_bytes)
        self.rows = {key: row for row, key in enumerate(keys)}

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, keys: Sequence[str]) -> np.ndarray:
        """Vectors for keys that are all in the cache, in order."""
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        stored = np.memmap(self.vectors_path, dtype=np.float32, mode="r").reshape(-1, self.dim)
        return np.array(stored[[self.rows[key] for key in keys]], dtype=np.float32)

    def add(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Append new vectors (keys not yet cached) and make them durable."""
        with (self.folder / ".lock").open("a") as lock:
            # Another process may have appended since we opened: re-read under the lock.
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not self.keys_path.exists() or self.keys_path.stat().st_size != 33 * len(self.rows):
                    self._open()
                self._append(keys, vectors)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _append(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        fresh = list({key: vector for key, vector in zip(keys, vectors) if key not in self.rows}.items())
        if not fresh:
            return
        with self.vectors_path.open("ab") as handle:
            handle.write(np.ascontiguousarray(np.stack([v for _, v in fresh]), dtype=np.float32).tobytes())
            handle.flush()
            os.fsync(handle.fileno())
        with self.keys_path.open("a", encoding="ascii") as handle:
            handle.write("".join(key + "\n" for key, _ in fresh))
            handle.flush()
            os.fsync(handle.fileno())
        start = len(self.rows)
        for offset, (key, _) in enumerate(fresh):
            self.rows.setdefault(key, start + offset)

    def embed(
        self,
        texts: Sequence[str],
        encode: Callable[[list[str]], np.ndarray],
        batch_size: int = 32,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors for all texts, embedding only the ones not cached; returns (vectors, newly embedded)."""
        keys = [text_key(text) for text in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in self.rows and key not in missing:
                missing[key] = text
        todo = list(missing.items())
        done = 0
        if progress:
            progress(0, len(todo))
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            vectors = encode([text for _, text in batch])
            self.add([key for key, _ in batch], vectors)
            done += len(batch)
            if progress:
                progress(done, len(todo))
        return self.get(keys), len(todo)
