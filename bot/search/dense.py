"""The dense side: which FAISS index a corpus of a given size gets (exact, HNSW or IVF, by FAISS's index
factory), building it, and its search-time knobs."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bot.config import Settings


def dense_index_kind(passages: int, settings: Settings | None = None) -> str:
    """The FAISS index factory string for this many passages: exact "Flat" below ANN_MIN_PASSAGES,
    the approximate ANN_FACTORY from there on (`"IVF{nlist},Flat"` -> `"IVF4000,Flat"` at 1M passages).

    Exact search over a million 384-dimensional vectors takes 130-220 ms on one core; IVF (nprobe 512) about 17.
    """
    if settings is None or passages < settings.ann_min_passages:
        return "Flat"
    nlist = max(1, int(4 * passages**0.5))
    return settings.ann_factory.replace("{nlist}", str(nlist))


def make_faiss_index(vectors: np.ndarray, settings: Settings | None = None) -> Any:
    """An inner-product index over normalised vectors (FAISS index factory), chosen by `dense_index_kind`.

    Without settings it is exact, as it always was.
    """
    import faiss

    dim = vectors.shape[1]
    index = faiss.index_factory(dim, dense_index_kind(len(vectors), settings), faiss.METRIC_INNER_PRODUCT)
    if settings is not None and hasattr(index, "hnsw"):
        index.hnsw.efConstruction = settings.hnsw_ef_construction
    if len(vectors):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        searching_threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(len(os.sched_getaffinity(0)))  # building uses every core; searching one (bot/__init__.py)
        try:
            if not index.is_trained:  # IVF: learn the lists from a sample (FAISS uses at most 256 per list)
                sample = np.random.default_rng(0).permutation(len(vectors))[: 64 * _ivf(index).nlist]
                index.train(vectors[np.sort(sample)])
            index.add(vectors)
        finally:
            faiss.omp_set_num_threads(searching_threads)
    configure_search(index, settings)
    return index


def _ivf(index: Any) -> Any:
    """The IVF part of a FAISS index, or None."""
    import faiss

    try:
        return faiss.extract_index_ivf(index)
    except (RuntimeError, TypeError):
        return None


def configure_search(index: Any, settings: Settings | None = None) -> None:
    """Search parameters of an approximate index (HNSW efSearch, IVF nprobe) from the settings, and
    for IVF the direct map that `Index.dense_scores` reads vectors back through."""
    import faiss

    if hasattr(index, "hnsw"):
        if settings is not None:
            index.hnsw.efSearch = settings.hnsw_ef_search
        return
    ivf = _ivf(index)
    if ivf is not None:
        if settings is not None:
            ivf.nprobe = settings.ivf_nprobe
        if ivf.direct_map.type == faiss.DirectMap.NoMap:
            ivf.make_direct_map()
