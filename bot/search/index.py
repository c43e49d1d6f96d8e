"""Save, load and search the index: FAISS vectors + BM25 + passage metadata, one manifest (bot/search/build.py
makes one from the corpus).

On disk, `INDEX_DIR` holds one folder per build and a `CURRENT` file naming the one in use:

    index/
      CURRENT                 -> "build-20261129T120000-3f2a"
      build-20261129T120000-3f2a/
        manifest.json         model, dimension, counts, corpus fingerprints, file checksums
        vectors.faiss         normalised passage vectors, inner product
        bm25/                 bm25s sparse matrices over character 1-3-grams
        passages.jsonl        one passage per line, in vector order

A build is written to its own folder and made current by atomically replacing `CURRENT`, so a
reader never sees half an index and an interrupted build leaves the previous one in place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import Settings
from bot.ingest.passages import Passage
from bot.search.dense import configure_search
from bot.search.errors import (
    IndexDamaged,
    IndexMismatch,
    IndexMissing,
)
from bot.search.lexical import lexical_tokens, load_bm25s, longest_grams
from bot.search.milvus import MilvusStore, collection_name, passage_terms, query_terms

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
MANIFEST = "manifest.json"
DATA_FILES = ("vectors.faiss", "passages.jsonl", "bm25")
MILVUS_DATA_FILES = ("passages.jsonl", "bm25")  # the vectors are in Milvus (bot/search/milvus.py)

Progress = Callable[[str, int, int], None]
"""Called as `progress(stage, done, total)` while building."""


@dataclass
class Hit:
    """A passage with its scores for one question. `score` is the fused rank score (0..1 per query)."""

    passage: Passage
    dense: float  # cosine similarity of question and passage vectors (-1..1)
    bm25: float  # raw BM25 score
    score: float  # w * dense_norm + (1 - w) * bm25_norm, min-max normalised over the candidates
    position: int = 0  # row of the passage in the index


class Index:
    """Passages, their vectors (FAISS) and their BM25 index, with the manifest that describes them."""

    def __init__(
        self,
        passages: list[Passage],
        vectors: Any,
        bm25: Any,
        manifest: dict[str, Any],
        path: Path | None = None,
        store: MilvusStore | None = None,
    ):
        self.passages = passages
        self.vectors = vectors  # FAISS (INDEX_BACKEND=faiss); None where Milvus holds them (`store`)
        self.bm25 = bm25  # the vocabulary and word statistics on both backends, and BM25 search on faiss
        self.manifest = manifest
        self.path = path
        self.store = store
        self.unpublished: np.ndarray | None = None  # a Milvus build's vectors until `save` publishes them

    def __len__(self) -> int:
        return len(self.passages)

    @property
    def documents(self) -> dict[str, Any]:
        return self.manifest.get("documents", {})

    # -- search ---------------------------------------------------------------------------------

    def bm25_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage for the query tokens (zeros when no token is known)."""
        ids = self.bm25.get_tokens_ids(tokens)
        if not ids:
            return np.zeros(len(self.passages), dtype=np.float32)
        return np.asarray(self.bm25.get_scores_from_ids(ids), dtype=np.float32)

    def idf(self, tokens: list[str]) -> np.ndarray:
        """Inverse document frequency of each token over the passages; unknown tokens get the highest."""
        vocab = self.bm25.vocab_dict
        indptr = self.bm25.scores["indptr"]
        total = len(self.passages)
        frequencies = np.array(
            [indptr[vocab[t] + 1] - indptr[vocab[t]] if t in vocab else 0 for t in tokens], dtype=np.float64
        )
        return np.log((total + 1.0) / (frequencies + 0.5))

    def word_idf(self, words: list[str]) -> np.ndarray:
        """IDF of whole words, by the rarest of their character n-grams (an upper bound on their frequency)."""
        weights = []
        for word in words:
            grams = longest_grams(word)
            weights.append(float(self.idf(grams).max()) if grams else 0.0)
        return np.array(weights)

    def has_gram(self, gram: str) -> bool:
        """Whether some passage holds this folded character n-gram (one to three characters, as BM25 counts them)."""
        return gram in self.bm25.vocab_dict

    def has_word(self, word: str) -> bool:
        """Whether the passages may hold the word: each of its longest character n-grams is in some passage."""
        grams = longest_grams(word)
        return bool(grams) and all(gram in self.bm25.vocab_dict for gram in grams)

    def dense_search(self, query_vector: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-n passage rows and cosine similarities for a normalised query vector (FAISS)."""
        n = min(n, len(self.passages))
        scores, rows = self.vectors.search(query_vector.reshape(1, -1).astype(np.float32), n)
        keep = rows[0] >= 0
        return rows[0][keep], scores[0][keep]

    def dense_scores(self, query_vector: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with the given passages (FAISS)."""
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float32)
        vectors = self.vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        return vectors @ query_vector.astype(np.float32)

    def search(self, query_vector: np.ndarray, query_text: str, k: int, weight: float, candidates: int) -> list[Hit]:
        """Hybrid ranking: `weight * dense + (1 - weight) * bm25`, each min-max normalised over the candidates.

        Candidates are the union of the dense and BM25 top-`candidates`. A query without any token the
        BM25 index knows (an English question over a Chinese corpus) is ranked by the dense side alone.
        `query_vector` may also be several vectors, one per form of the question (rows): each is ranked
        against the same BM25 scores, and the ranking whose first hit is nearest (dense) is returned.
        """
        if not self.passages:
            return []
        tokens = lexical_tokens(query_text)
        forms = np.atleast_2d(query_vector)
        if self.store is None:
            bm25_all = self.bm25_scores(tokens)
            n_lexical = min(candidates, len(bm25_all))
            lexical_rows = np.argpartition(-bm25_all, n_lexical - 1)[:n_lexical]
            lexical_rows = lexical_rows[bm25_all[lexical_rows] > 0]
            scored = []
            for vector in forms:
                dense_rows, _ = self.dense_search(vector, candidates)
                rows = np.union1d(dense_rows, lexical_rows).astype(np.int64)
                scored.append((rows, self.dense_scores(vector, rows), bm25_all[rows]))
        else:
            terms = query_terms(self.bm25, tokens)
            lexical_top = self.store.lexical_top(terms, candidates)
            scored = [self.store.candidates(vector, terms, candidates, lexical_top) for vector in forms]
        rankings = [self._fused(rows, dense, lexical, k, weight) for rows, dense, lexical in scored]
        return max(rankings, key=lambda hits: hits[0].dense if hits else -1.0)

    def _fused(self, rows: np.ndarray, dense: np.ndarray, lexical: np.ndarray, k: int, weight: float) -> list[Hit]:
        """The candidates (rows with their cosine and BM25 score) ranked by the fused score, best k."""
        fused = weight * _minmax(dense) + (1.0 - weight) * _minmax(lexical)
        order = np.lexsort((-dense, -fused))[:k]
        return [
            Hit(
                passage=self.passages[rows[i]],
                dense=float(dense[i]),
                bm25=float(lexical[i]),
                score=float(fused[i]),
                position=int(rows[i]),
            )
            for i in order
        ]

    # -- disk -----------------------------------------------------------------------------------

    def fill_store(self, store: MilvusStore, progress: Progress | None = None) -> None:
        """Put a Milvus build's vectors and BM25 terms into `store`'s collection and search there from now on."""
        report = (lambda done, total: progress("publish", done, total)) if progress else None
        store.fill(self.unpublished, passage_terms(self.bm25, len(self.passages)), report)
        self.store, self.unpublished = store, None

    def save(self, index_dir: Path, settings: Settings | None = None, progress: Progress | None = None) -> Path:
        """Write a new build folder under `index_dir` (and for a Milvus build, fill its collection and point the
        alias at it) and make it current; returns the folder. Until the very end, readers see the build before."""
        import faiss

        index_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        build = index_dir / f"build-{stamp}-{secrets.token_hex(3)}"
        build.mkdir()
        milvus = self.unpublished is not None
        if not milvus:
            faiss.write_index(self.vectors, str(build / "vectors.faiss"))
        with (build / "passages.jsonl").open("w", encoding="utf-8") as handle:
            for passage in self.passages:
                handle.write(json.dumps(passage.to_dict(), ensure_ascii=False) + "\n")
        self.bm25.save(str(build / "bm25"))
        manifest = dict(self.manifest)
        if milvus:
            manifest["collection"] = collection_name((settings or Settings()).milvus_prefix, build.name)
        manifest["files"] = {name: _digest(build / name) for name in data_files(manifest)}
        (build / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        _fsync_tree(build)
        if milvus:
            # The new version is filled and loaded, then the alias moves to it; a build killed before that leaves
            # the alias, CURRENT and the version in use as they were.
            self.fill_store(MilvusStore(settings or Settings(), manifest["collection"]), progress)
            self.store.make_current()
        _switch_current(index_dir, build.name)
        self.manifest = manifest
        self.path = build
        remove_stale_builds(index_dir)
        return build

    @classmethod
    def load(cls, index_dir: Path, verify: bool = True, settings: Settings | None = None) -> "Index":
        """Load the current build. Raises IndexMissing or IndexDamaged with what to do.

        With `settings`, an approximate index searches with their HNSW_EF_SEARCH / IVF_NPROBE
        (otherwise with the values it was built with).
        """
        import faiss

        bm25s = load_bm25s()
        build = current_build(index_dir)
        if build is None:
            raise IndexMissing(f"No index in {index_dir}")
        manifest_path = build / MANIFEST
        if not manifest_path.is_file():
            raise IndexDamaged(f"The index in {build} has no manifest (an interrupted build?)")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise IndexDamaged(f"The index manifest {manifest_path} is unreadable ({error})") from error
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatch(
                f"The index in {build} has format {manifest.get('format_version')}, this version of wenda reads "
                f"format {FORMAT_VERSION}"
            )
        for name in data_files(manifest):
            if not (build / name).exists():
                raise IndexDamaged(f"The index file {build / name} is missing")
            if verify and _digest(build / name) != manifest.get("files", {}).get(name):
                raise IndexDamaged(
                    f"The index file {build / name} does not match its checksum (damaged or truncated)"
                )
        store = None
        try:
            if backend_of(manifest) == "milvus":  # the vectors and BM25 are in Milvus; the vocabulary is read, not held
                vectors = None
                bm25 = bm25s.BM25.load(str(build / "bm25"), mmap=True)
            else:
                vectors = faiss.read_index(str(build / "vectors.faiss"))
                configure_search(vectors, settings)
                bm25 = bm25s.BM25.load(str(build / "bm25"))
            with (build / "passages.jsonl").open(encoding="utf-8") as handle:
                passages = [Passage(**json.loads(line)) for line in handle]
        except Exception as error:  # faiss raises RuntimeError, json ValueError, numpy various
            raise IndexDamaged(f"The index in {build} could not be read ({error})") from error
        if vectors is None:
            store = MilvusStore(settings or Settings(), manifest["collection"])
            try:
                stored = store.open()
            except Exception as error:  # pymilvus: the collection was dropped, or Milvus is another one
                raise IndexDamaged(f"The Milvus collection {store.name} of the index in {build} is unreadable ({error})") from error
        else:
            stored = vectors.ntotal
        if stored != len(passages) or len(passages) != manifest.get("passage_count"):
            raise IndexDamaged(
                f"The index in {build} is inconsistent ({stored} vectors, {len(passages)} passages, "
                f"manifest says {manifest.get('passage_count')})"
            )
        return cls(passages, vectors, bm25, manifest, path=build, store=store)

    def check_settings(self, settings: Settings) -> None:
        """Raise IndexMismatch when the index was built for another model, passage size or backend."""
        built = self.manifest
        backend = backend_of(built)
        if backend != settings.index_backend:
            raise IndexMismatch(f"Index built for INDEX_BACKEND={backend}, but INDEX_BACKEND is {settings.index_backend}")
        if built.get("embedding_model") != settings.embedding_model:
            raise IndexMismatch(
                f"Index built with model {built.get('embedding_model')!r}, but EMBEDDING_MODEL is "
                f"{settings.embedding_model!r}"
            )
        if (built.get("passage_min_chars"), built.get("passage_max_chars")) != (
            settings.passage_min_chars,
            settings.passage_max_chars,
        ):
            raise IndexMismatch(
                "Index built with other passage sizes than PASSAGE_MIN_CHARS/PASSAGE_MAX_CHARS"
            )


def backend_of(manifest: dict[str, Any]) -> str:
    """The backend a build was made for: a Milvus build's manifest names its collection."""
    return "milvus" if "collection" in manifest else "faiss"


def data_files(manifest: dict[str, Any]) -> tuple[str, ...]:
    """The files of a build folder: a Milvus build's vectors are in its collection."""
    return MILVUS_DATA_FILES if backend_of(manifest) == "milvus" else DATA_FILES


def _minmax(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.ones_like(values) if high > 0 else np.zeros_like(values)
    return (values - low) / (high - low)


def current_build(index_dir: Path) -> Path | None:
    """The folder of the build in use, or None."""
    try:
        name = (index_dir / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not name or "/" in name or name.startswith("."):
        return None
    build = index_dir / name
    return build if build.is_dir() else None


def _digest(path: Path) -> str:
    """Checksum of a file or of every file in a folder (name + content)."""
    digest = hashlib.blake2b(digest_size=20)
    paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for item in paths:
        digest.update(item.relative_to(path).as_posix().encode() if path.is_dir() else b"")
        with item.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _fsync_tree(path: Path) -> None:
    for item in [path, *path.rglob("*")]:
        fd = os.open(item, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _switch_current(index_dir: Path, build_name: str) -> None:
    pointer = index_dir / f"{CURRENT_FILE}.{secrets.token_hex(4)}.tmp"
    with pointer.open("w", encoding="utf-8") as handle:
        handle.write(build_name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(pointer, index_dir / CURRENT_FILE)
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_builds(index_dir: Path) -> list[str]:
    """Delete build folders other than the current one (left by interrupted or replaced builds)."""
    current = current_build(index_dir)
    removed = []
    for item in index_dir.glob("build-*"):
        if item.is_dir() and (current is None or item.name != current.name):
            shutil.rmtree(item, ignore_errors=True)
            removed.append(item.name)
    for item in index_dir.glob(f"{CURRENT_FILE}.*.tmp"):
        item.unlink(missing_ok=True)
    return removed
