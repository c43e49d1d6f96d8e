"""Shared fixtures: the shipped corpus, the evaluation data beside the checkout, one real index."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from bot.search.milvus import free_port  # noqa: F401  (the tests import it from here)

# Property tests draw the same examples on every run (CI and here), so a red main means a code change,
# not a lucky draw; HYPOTHESIS_PROFILE=explore draws fresh random examples to hunt for bugs.
hypothesis_settings.register_profile("repeatable", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
SHARED_EVAL = SHARED / "eval"


@contextlib.contextmanager
def milvus_server(tmp_path: Path) -> Iterator[str]:
    """The URI of a `milvus-lite server` several processes share (on 127.0.0.1), or skip without the .[milvus]
    extra."""
    pytest.importorskip("pymilvus", reason="the Milvus backend needs the .[milvus] extra (pymilvus, milvus-lite)")
    from bot.search.milvus import lite_server

    with lite_server(tmp_path / "milvus") as server:
        yield server.uri


def shared_file(name: str) -> Path:
    """A file of ../shared/eval, or skip the test saying why."""
    path = SHARED_EVAL / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: the evaluation data lives in ../shared/eval beside the checkout")
    return path


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wenda")


@pytest.fixture(scope="session")
def settings(work_dir):
    """Settings for the shipped corpus with an index in a temporary folder, ignoring the developer's .env."""
    from bot.config import Settings

    return Settings(_env_file=None, corpus_dir=CORPUS, index_dir=work_dir / "index")


@pytest.fixture(scope="session")
def embedder(settings):
    from bot.search.embedding import Embedder

    return Embedder(settings)


@pytest.fixture(scope="session")
def wenda(settings, embedder):
    """The real pipeline over the shipped corpus (built once per test session)."""
    from bot.answer.pipeline import Wenda
    from bot.search.build import rebuild

    index, _ = rebuild(settings, embedder)
    return Wenda(settings, embedder, index)


def corpus_copy(tmp_path: Path, settings, extra: dict[str, str] | None = None):
    """Settings for a copy of the shipped corpus (as `wanzhou.txt`, plus `extra` files) in tmp_path, with
    its own index folder sharing the session's embedding cache, so building it embeds nothing new.
    Use it from tests that also ask for the `wenda` fixture, which creates that cache."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / "wanzhou-2020-12.txt", corpus / "wanzhou.txt")
    for name, text in (extra or {}).items():
        (corpus / name).write_text(text, encoding="utf-8")
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "embeddings").symlink_to(settings.index_dir / "embeddings", target_is_directory=True)
    return settings.model_copy(update={"corpus_dir": corpus, "index_dir": index_dir})


@pytest.fixture(scope="session")
def cli_env(settings, wenda) -> dict[str, str]:
    """Environment for `wenda` subprocesses that reuse the session's index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "EMBEDDING_", "TOP_K"))}
    env.update(CORPUS_DIR=str(settings.corpus_dir), INDEX_DIR=str(settings.index_dir))
    return env
