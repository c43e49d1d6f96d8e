"""The corpus folder: which files are documents, their ids and digests, and reading one into a cleaned
`Document` (loaders, then OCR cleaning)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.ingest.clean import Document, clean_document
from bot.ingest.loaders import SUPPORTED_SUFFIXES, load_text


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every supported file under the corpus folder, recursively, in a stable order."""
    if not corpus_dir.is_dir():
        return []
    return sorted(
        path
        for path in corpus_dir.rglob("*")
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES and not path.name.startswith(".")
    )


def doc_id_for(path: Path, corpus_dir: Path) -> str:
    """The document id: the path relative to the corpus folder, with forward slashes."""
    return path.relative_to(corpus_dir).as_posix()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, to notice changed documents."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_document(path: Path, corpus_dir: Path) -> Document:
    """Load and clean one corpus file. Raises UnreadableDocument with a user-facing reason."""
    loaded = load_text(path)
    doc_id = doc_id_for(path, corpus_dir)
    title = loaded.title or path.stem
    markdown = path.suffix.lower() in {".md", ".markdown", ".docx", ".html", ".htm"}
    document = clean_document(loaded.text, doc_id, title, markdown=markdown)
    return Document(
        doc_id=document.doc_id,
        title=document.title,
        source=document.source,
        sections=document.sections,
        encoding=loaded.encoding,
    )
