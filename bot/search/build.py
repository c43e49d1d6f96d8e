"""Corpus -> a new index build made current: read and clean the documents, cut passages, embed what the
embedding cache lacks, build FAISS and BM25, save, switch `CURRENT`, all under one build lock."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import Settings
from bot.ingest.clean import Document
from bot.ingest.corpus import corpus_files, doc_id_for, file_digest, read_document
from bot.ingest.loaders import UnreadableDocument
from bot.ingest.passages import Passage, make_passages
from bot.search.cache import EmbeddingCache
from bot.search.dense import dense_index_kind, make_faiss_index
from bot.search.errors import EmptyCorpus, IndexBusy
from bot.search.index import (
    FORMAT_VERSION,
    LOCK_FILE,
    Index,
    Progress,
    current_build,
    remove_stale_builds,
)
from bot.search.lexical import TOKENIZER, make_bm25

log = logging.getLogger(__name__)


CLEANER = "ocr-clean/v1"


@dataclass
class BuildReport:
    documents: int
    passages: int
    seconds: float
    skipped: list[dict[str, str]] = field(default_factory=list)
    embedded: int = 0  # passages embedded this time (the rest came from the cache)
    path: Path | None = None


def corpus_changes(manifest: dict[str, Any], corpus_dir: Path) -> dict[str, list[str]]:
    """What changed in the corpus since the index was built: added, changed, removed document ids.

    Files whose size and modification time are unchanged are not re-read. A file the build skipped
    (unreadable) counts as known while it stays as it was, and as changed once it is not.
    """
    indexed = manifest.get("documents", {})
    known = {**{entry["doc"]: entry for entry in manifest.get("skipped", []) if "size" in entry}, **indexed}
    current = {doc_id_for(path, corpus_dir): path for path in corpus_files(corpus_dir)}
    changed = []
    for doc_id, path in current.items():
        if doc_id not in known:
            continue
        entry = known[doc_id]
        try:
            stat = path.stat()
        except OSError:
            continue
        if stat.st_size == entry["size"] and stat.st_mtime_ns == entry["mtime_ns"]:
            continue
        try:
            if stat.st_size != entry["size"] or file_digest(path) != entry["sha256"]:
                changed.append(doc_id)
        except OSError:
            changed.append(doc_id)
    return {
        "added": sorted(set(current) - set(known)),
        "changed": sorted(changed),
        "removed": sorted(set(indexed) - set(current)),  # a skipped file's going takes nothing from the index
    }


def clean_leftovers(index_dir: Path) -> list[str]:
    """Remove what interrupted builds left behind, unless a build is running right now."""
    if not index_dir.is_dir():
        return []
    try:
        with build_lock(index_dir):
            removed = remove_stale_builds(index_dir)
    except IndexBusy:
        return []
    if removed:
        log.info("removed leftovers of interrupted builds: %s", ", ".join(removed))
    return removed


@contextlib.contextmanager
def build_lock(index_dir: Path, wait: bool = False) -> Iterator[None]:
    """Hold the index folder's lock: one build at a time, across processes."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / LOCK_FILE).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError as error:
            raise IndexBusy(f"Another process is building the index in {index_dir}") from error
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_documents(
    corpus_dir: Path, progress: Progress | None = None
) -> tuple[list[Document], dict[str, Any], list[dict[str, str]]]:
    """Read and clean every corpus file: (documents, fingerprint by document id, skipped files with reasons)."""
    files = corpus_files(corpus_dir)
    documents = []
    skipped = []
    fingerprint: dict[str, Any] = {}
    for number, path in enumerate(files, 1):
        if progress:
            progress("read", number, len(files))
        doc_id = doc_id_for(path, corpus_dir)
        try:
            document = read_document(path, corpus_dir)
        except UnreadableDocument as error:
            # Known to the manifest as it is, so that `corpus_changes` does not report it as new until it changes.
            skipped.append({"doc": doc_id, "reason": str(error), **_file_state(path)})
            log.warning("skipped %s: %s", doc_id, error)
            continue
        documents.append(document)
        fingerprint[doc_id] = {**_file_state(path), "title": document.title, "encoding": document.encoding, "passages": 0}
    return documents, fingerprint, skipped


def _file_state(path: Path) -> dict[str, Any]:
    """Size, modification time and SHA-256 of a corpus file (None for what cannot be read)."""
    try:
        stat = path.stat()
    except OSError:
        return {"size": None, "mtime_ns": None, "sha256": None}
    try:
        digest = file_digest(path)
    except OSError:
        digest = None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}


def embedding_cache(settings: Settings, embedder: Any) -> EmbeddingCache:
    """The persistent passage-vector cache for the configured model."""
    return EmbeddingCache(settings.index_dir / "embeddings", embedder.name, embedder.dim)


def index_passages(
    passages: list[Passage],
    embedder: Any,
    cache: EmbeddingCache | None,
    settings: Settings,
    progress: Progress | None = None,
) -> tuple[Index, int]:
    """Embed (through the cache) and index passages; returns the index and how many were newly embedded."""
    texts = [passage.text for passage in passages]
    report = (lambda done, total: progress("embed", done, total)) if progress else None
    if cache is None:
        vectors = embedder.encode_passages(texts) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
        embedded = len(texts)
    else:
        vectors, embedded = cache.embed(texts, embedder.encode_passages, settings.embedding_batch_size, report)
    manifest = {
        "format_version": FORMAT_VERSION,
        "embedding_model": settings.embedding_model,
        "dim": int(embedder.dim),
        "passage_count": len(passages),
        "passage_min_chars": settings.passage_min_chars,
        "passage_max_chars": settings.passage_max_chars,
        "tokenizer": TOKENIZER,
        "cleaner": CLEANER,
        "dense_index": dense_index_kind(len(passages), settings),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    vectors = vectors.reshape(-1, embedder.dim)
    if settings.index_backend == "milvus":
        manifest["dense_index"] = "milvus"
        index = Index(passages, None, make_bm25(passages), manifest)
        index.unpublished = vectors  # into Milvus when the build is saved
    else:
        index = Index(passages, make_faiss_index(vectors, settings), make_bm25(passages), manifest)
    return index, embedded


def build_index(settings: Settings, embedder: Any, progress: Progress | None = None) -> tuple[Index, BuildReport]:
    """Read the corpus, cut passages, embed the new ones and index them all. Writes only the embedding cache."""
    started = time.perf_counter()
    documents, fingerprint, skipped = load_documents(settings.corpus_dir, progress)
    passages = make_passages(documents, settings.passage_min_chars, settings.passage_max_chars)
    for passage in passages:
        fingerprint[passage.doc_id]["passages"] += 1
    index, embedded = index_passages(passages, embedder, embedding_cache(settings, embedder), settings, progress)
    seconds = time.perf_counter() - started
    index.manifest.update(
        document_count=len(documents),
        documents=fingerprint,
        skipped=skipped,
        build_seconds=round(seconds, 3),
        embedded_passages=embedded,
    )
    return index, BuildReport(len(documents), len(passages), seconds, skipped, embedded=embedded)


def rebuild(settings: Settings, embedder: Any, progress: Progress | None = None, wait: bool = False) -> tuple[Index, BuildReport]:
    """Build the index from the corpus and make it current, holding the build lock."""
    with build_lock(settings.index_dir, wait=wait):
        index, report = build_index(settings, embedder, progress)
        if report.passages == 0:
            # Never replace a working index with an empty one (a wrong CORPUS_DIR, an emptied folder).
            kept = "; the previous index stays in use" if current_build(settings.index_dir) is not None else ""
            raise EmptyCorpus(
                f"No text found in {settings.corpus_dir} "
                f"({len(report.skipped)} {'file' if len(report.skipped) == 1 else 'files'} skipped)",
                f"{EmptyCorpus.remedy[:-1]}{kept}.",
                report.skipped,
            )
        report.path = index.save(settings.index_dir, settings, progress)
    return index, report
