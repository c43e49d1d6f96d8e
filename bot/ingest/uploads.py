"""The corpus folder as admins manage it from Telegram: take in an upload safely, list, remove.

    safe_name("../../万州 报告(终稿).PDF")  ->  "万州_报告_终稿.pdf"
    stage_upload(data, name, settings)     ->  Upload: written to a staging folder beside the corpus
                                               and read like the index reads it (title, characters,
                                               passages, encoding); UnreadableDocument when it is not
    place_upload(upload, corpus_dir, overwrite=False, rename=False)
                                           ->  moved into the corpus folder atomically; never replaces
                                               an existing file unless told to (or to rename it)
    list_documents(corpus_dir, manifest)   ->  what is in the folder and in the index in use
    remove_document(corpus_dir, doc_id)    ->  deletes one corpus file, only inside the corpus folder

Uploads are staged in `<corpus folder's parent>/tmp/wenda-upload-*/` rather than inside the corpus
folder, so that a rebuild never sees a file that has not been checked (or whose owner has not yet
said whether to overwrite), and on the same file system as the corpus, so that the final move is
one atomic rename. Everything here blocks (disk, parsing): the bot calls it with asyncio.to_thread.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bot.config import Settings
from bot.ingest.corpus import corpus_files, doc_id_for, read_document
from bot.ingest.loaders import SUPPORTED_SUFFIXES, UnreadableDocument
from bot.ingest.passages import make_passages

STAGING_FOLDER = "tmp"  # beside the corpus folder
STAGING_PREFIX = "wenda-upload-"
MAX_STEM_CHARS = 64  # 64 Chinese characters are 192 bytes in UTF-8: with "-99.markdown", under 255
FALLBACK_STEM = "document"


def supported_types() -> str:
    """The suffixes an upload may have, for people: `".docx .htm .html .markdown .md .pdf .txt"`."""
    return " ".join(sorted(SUPPORTED_SUFFIXES))


def is_supported(file_name: str) -> bool:
    """Whether a file of this name, saved under its safe name, is a type the corpus reads (by suffix, any case)."""
    return PurePosixPath(safe_name(file_name)).suffix in SUPPORTED_SUFFIXES


def _is_han(char: str) -> bool:
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3FFFF


def _keep(char: str) -> bool:
    return _is_han(char) or (char.isascii() and (char.isalnum() or char in "-_."))


def safe_name(file_name: str) -> str:
    """A file name that is safe to create in the corpus folder, from the one the sender gave.

    Only the last path component counts (`"../../evil.txt"` -> `"evil.txt"`); Chinese characters,
    ASCII letters and digits and `-_.` stay (full-width letters and accented ones become ASCII),
    anything else becomes `_` (`"万州 报告(1).txt"` -> `"万州_报告_1.txt"`); no leading dots (hidden
    files are not indexed); the suffix is lower-cased and the stem cut to MAX_STEM_CHARS characters.
    """
    # Compatibility forms and accents first: "ｆｕｌｌ" -> "full", "Ünïcödé" -> "Unicode".
    name = "".join(char for char in unicodedata.normalize("NFKD", file_name) if not unicodedata.combining(char))
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    suffix = PurePosixPath(name).suffix
    stem = name[: len(name) - len(suffix)] if suffix else name
    if not all(_keep(char) for char in suffix):
        stem, suffix = name, ""
    stem = re.sub(r"_{2,}", "_", "".join(char if _keep(char) else "_" for char in stem))
    stem = stem.strip("._")[:MAX_STEM_CHARS].rstrip("._") or FALLBACK_STEM
    return stem + suffix.lower()


def free_name(corpus_dir: Path, name: str) -> str:
    """`name` if no file has it in the corpus folder, else the first free `stem-2.ext`, `stem-3.ext`, ..."""
    path = PurePosixPath(name)
    number = 1
    while (corpus_dir / name).exists():
        number += 1
        name = f"{path.stem}-{number}{path.suffix}"
    return name


# -- uploads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file staged for the corpus, read the way the index will read it."""

    name: str  # the safe name it was staged under
    path: Path  # the staged file
    size: int  # bytes
    title: str  # from inside the document, else the file name's stem
    titled: bool  # whether the title came from inside the document (else it follows the file name)
    characters: int  # of cleaned text
    passages: int  # passages the index will make of it
    encoding: str

    def title_as(self, name: str) -> str:
        """The title the index will show once the file is saved as `name`."""
        return self.title if self.titled else PurePosixPath(name).stem


def staging_dir(corpus_dir: Path) -> Path:
    return corpus_dir.resolve().parent / STAGING_FOLDER


def stage_upload(data: bytes, name: str, settings: Settings) -> Upload:
    """Write an upload to a fresh staging folder and read it like the index would.

    Raises UnreadableDocument (its `reason` is for the sender) when the file cannot be read or holds
    no text to answer from; nothing is left behind then.
    """
    root = staging_dir(settings.corpus_dir)
    root.mkdir(parents=True, exist_ok=True)
    discard_stale(settings.corpus_dir)
    folder = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    path = folder / name
    try:
        path.write_bytes(data)
        document = read_document(path, folder)
        passages = make_passages([document], settings.passage_min_chars, settings.passage_max_chars)
        if not passages:
            raise UnreadableDocument(f"{name}: no text to answer from", path=path, reason="no text to answer from")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Upload(
        name=name,
        path=path,
        size=len(data),
        title=document.title,
        titled=document.title != path.stem,
        characters=sum(len(section.text) for section in document.sections),
        passages=len(passages),
        encoding=document.encoding,
    )


def discard(upload: Upload) -> None:
    """Delete a staged upload (its staging folder)."""
    shutil.rmtree(upload.path.parent, ignore_errors=True)


def discard_stale(corpus_dir: Path, older_than: float = 3600.0) -> None:
    """Delete staging folders left over (a restart forgets pending uploads), older than `older_than` seconds."""
    root = staging_dir(corpus_dir)
    if not root.is_dir():
        return
    now = time.time()
    for folder in root.glob(STAGING_PREFIX + "*"):
        try:
            if now - folder.stat().st_mtime > older_than:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            pass


def _rename(source: Path, target: Path, overwrite: bool) -> None:
    """Rename on one file system: atomically, and without `overwrite` never onto an existing file."""
    if overwrite:
        os.replace(source, target)
        return
    try:
        os.link(source, target)  # FileExistsError if the name is taken, even by a racing writer
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            raise FileExistsError(f"{target.name} exists") from None
        os.replace(source, target)
        return
    source.unlink()


def _place(source: Path, target: Path, overwrite: bool) -> None:
    if not overwrite and target.exists():
        raise FileExistsError(f"{target.name} exists")
    if source.stat().st_dev == target.parent.stat().st_dev:
        _rename(source, target, overwrite)
        return
    # The corpus folder is a mount of its own: copy next to the target (hidden from the index), then rename.
    nearby = target.parent / f".{target.name}.{os.getpid()}.part"
    shutil.copyfile(source, nearby)
    try:
        _rename(nearby, target, overwrite)
    finally:
        nearby.unlink(missing_ok=True)


def place_upload(upload: Upload, corpus_dir: Path, *, overwrite: bool = False, rename: bool = False) -> Path:
    """Move a staged upload into the corpus folder under its safe name, atomically; returns the new path.

    A taken name raises FileExistsError (the upload stays staged), unless `overwrite` (replace the
    file) or `rename` (save as the first free `stem-2.ext`, `stem-3.ext`, ...).
    """
    corpus_dir.mkdir(parents=True, exist_ok=True)
    root = corpus_dir.resolve()
    for _ in range(1000):
        target = root / (free_name(root, upload.name) if rename else upload.name)
        try:
            _place(upload.path, target, overwrite)
        except FileExistsError:
            if rename:  # taken meanwhile: try the next number
                continue
            raise
        discard(upload)
        return target
    raise FileExistsError(f"no free name like {upload.name} in {corpus_dir}")


# -- listing and removing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentInfo:
    """One document as /docs shows it."""

    doc_id: str  # path relative to the corpus folder, as in the index
    size: int  # bytes
    modified: float  # seconds since the epoch: when the file was added or last replaced
    passages: int | None  # passages in the index in use; None when the index does not hold it
    status: str  # "indexed", "new" (not indexed yet), "changed" (since indexing), "gone" (deleted, still indexed), "skipped"
    reason: str = ""  # why the index skipped it


def list_documents(corpus_dir: Path, manifest: dict[str, Any]) -> list[DocumentInfo]:
    """Every corpus file and every document of the index in use, by document id."""
    indexed = manifest.get("documents", {})
    skipped = {entry["doc"]: entry.get("reason", "") for entry in manifest.get("skipped", [])}
    documents = {}
    for path in corpus_files(corpus_dir):
        doc_id = doc_id_for(path, corpus_dir)
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted meanwhile
            continue
        known = indexed.get(doc_id)
        if known is None:
            status = "skipped" if doc_id in skipped else "new"
        elif (stat.st_size, stat.st_mtime_ns) == (known.get("size"), known.get("mtime_ns")):
            status = "indexed"
        else:
            status = "changed"
        documents[doc_id] = DocumentInfo(
            doc_id,
            stat.st_size,
            stat.st_mtime,
            known.get("passages") if known else None,
            status,
            skipped.get(doc_id, ""),
        )
    for doc_id, known in indexed.items():
        if doc_id not in documents:
            documents[doc_id] = DocumentInfo(
                doc_id, known.get("size", 0), known.get("mtime_ns", 0) / 1e9, known.get("passages"), "gone"
            )
    return [documents[doc_id] for doc_id in sorted(documents)]


def find_document(corpus_dir: Path, doc_id: str) -> Path | None:
    """The corpus file with this document id, or None: only files the index would read, inside the folder."""
    parts = PurePosixPath(doc_id).parts
    if not parts or PurePosixPath(doc_id).is_absolute() or any(part in ("", ".", "..") for part in parts):
        return None
    candidate = corpus_dir / doc_id
    root = corpus_dir.resolve()
    parent = candidate.parent.resolve()  # a symlinked folder pointing elsewhere ends up outside: refused
    if not parent.is_relative_to(root) or candidate not in set(corpus_files(corpus_dir)):
        return None
    return parent / candidate.name


def remove_document(corpus_dir: Path, doc_id: str) -> Path:
    """Delete the corpus file with this document id; FileNotFoundError when there is none inside the folder."""
    path = find_document(corpus_dir, doc_id)
    if path is None:
        raise FileNotFoundError(f"no document {doc_id} in {corpus_dir}")
    path.unlink()  # a symlinked file: the link goes, not what it points to
    return path


__all__ = [
    "DocumentInfo",
    "Upload",
    "discard",
    "discard_stale",
    "find_document",
    "free_name",
    "is_supported",
    "list_documents",
    "place_upload",
    "remove_document",
    "safe_name",
    "stage_upload",
    "staging_dir",
    "supported_types",
]
