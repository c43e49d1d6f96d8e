"""Corpora of 10k-1M passages without embedding them: real sentences recombined into windows, vectors drawn
with the real vectors' covariance (see `synthetic_vectors`), BM25 built from the parts, recall against exact search."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot.text.cjk import is_ideograph

# Synthetic vectors: noise with the real vectors' covariance, scaled by this (see synthetic_vectors).
NOISE_SCALE = 0.5


@dataclass
class Pool:
    """Real passages with their real vectors: what synthetic corpora are made from."""

    passages: list[Any]  # bot.ingest.passages.Passage
    vectors: np.ndarray  # (n, dim), normalised e5 passage vectors

    @classmethod
    def joined(cls, parts: list["Pool"]) -> "Pool":
        """One pool of several (the shipped corpus's windows and the CMRC 2018 trial's), in order."""
        return cls(
            [passage for part in parts for passage in part.passages],
            np.concatenate([part.vectors for part in parts]).astype(np.float32),
        )

    def save(self, path: Path) -> None:
        np.save(path.with_suffix(".npy"), self.vectors)
        path.with_suffix(".json").write_text(
            json.dumps([p.to_dict() for p in self.passages], ensure_ascii=False), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: Path) -> "Pool":
        from bot.ingest.passages import Passage

        passages = [Passage(**item) for item in json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))]
        return cls(passages, np.load(path.with_suffix(".npy")))


def _breaks_tokens(char: str) -> bool:
    """Whether text can follow `char` without a BM25 token spanning both (not a CJK run, a word, a number)."""
    from bot.text.fold import fold

    folded = fold(char)
    return not (is_ideograph(folded) or folded.isalnum() or folded == ".")


@dataclass
class SyntheticCorpus:
    """Passages and vectors of a synthetic corpus, with what the fast BM25 build needs.

    Rows 0..len(pool)-1 are the real passages with their real vectors; every further passage joins a
    run of sentences of one real passage to a run of another (150-250 characters), and its vector mixes
    theirs (see `synthetic_vectors`). `parts` are texts whose BM25 tokens are computed once: passage `i`
    is the concatenation of parts `doc_parts[doc_offsets[i]:doc_offsets[i+1]]`.
    """

    passages: list[Any]
    vectors: np.ndarray
    parts: list[str]
    doc_parts: np.ndarray
    doc_offsets: np.ndarray


def synthetic_vectors(pool_vectors: np.ndarray, first: np.ndarray, second: np.ndarray, share: np.ndarray, rng) -> np.ndarray:
    """Vectors of recombined passages: `share*v(first) + (1-share)*v(second) + noise`, normalised.

    The noise is Gaussian with the covariance of the real vectors, scaled by NOISE_SCALE (0.5), which
    gives the synthetic set the real one's mean pairwise cosine and nearest-neighbour cosine (the bench
    prints both). Cheap: a matrix product per 100k rows.
    """
    dim = pool_vectors.shape[1]
    centred = pool_vectors - pool_vectors.mean(axis=0)
    covariance = centred.T @ centred / max(1, len(pool_vectors) - 1)
    factor = np.linalg.cholesky(covariance + 1e-6 * np.eye(dim)).astype(np.float32)
    out = np.empty((len(first), dim), dtype=np.float32)
    for start in range(0, len(first), 100_000):
        end = min(start + 100_000, len(first))
        s = share[start:end, None].astype(np.float32)
        mixed = s * pool_vectors[first[start:end]] + (1 - s) * pool_vectors[second[start:end]]
        mixed += NOISE_SCALE * (rng.standard_normal((end - start, dim), dtype=np.float32) @ factor.T)
        out[start:end] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def make_synthetic(pool: Pool, size: int, seed: int = 0, min_chars: int = 150, max_chars: int = 250) -> SyntheticCorpus:
    """A corpus of `size` passages (at least the pool's), recombined from the pool's real sentences."""
    from bot.ingest.passages import Passage, split_sentences

    rng = np.random.default_rng(seed)
    real = pool.passages
    parts: list[str] = [p.text for p in real]
    sentence_ids: list[list[int]] = []  # per pool passage, its sentences' part ids
    sentences: list[str] = []
    for passage in real:
        ids = []
        for start, end in split_sentences(passage.text):
            ids.append(len(parts))
            parts.append(passage.text[start:end])
            sentences.append(passage.text[start:end])
        sentence_ids.append(ids or [real.index(passage)])
    section_part: dict[str, int] = {}
    for passage in real:
        if passage.section not in section_part:
            section_part[passage.section] = len(parts)
            parts.append(" " + passage.section)
    clean_end = np.array([_breaks_tokens(text[-1]) if text else True for text in parts])
    parts.append("\n")  # the separator where a sentence does not end on punctuation
    newline = len(parts) - 1

    passages = list(real)
    doc_parts: list[int] = []
    offsets = [0]
    for i, passage in enumerate(real):
        doc_parts += [i, section_part[passage.section]]
        offsets.append(len(doc_parts))
    extra = max(0, size - len(real))
    first = rng.integers(0, len(real), extra)
    second = rng.integers(0, len(real), extra)
    starts = rng.random((extra, 2))
    target = rng.integers(min_chars, max_chars + 1, extra)
    share = np.empty(extra)
    doc_ids = {p.doc_id: f"synthetic/{p.doc_id}" for p in real}
    for n in range(extra):
        chosen: list[int] = []
        length = [0, 0]
        for side, source in enumerate((first[n], second[n])):
            ids = sentence_ids[source]
            for k in range(int(starts[n, side] * len(ids)), len(ids)):
                piece = len(parts[ids[k]])
                total = length[0] + length[1]
                if chosen and total + piece > max_chars:
                    break
                chosen.append(ids[k])
                length[side] += piece
                if total + piece >= target[n]:
                    break
            if length[0] + length[1] >= target[n]:
                break
        share[n] = length[0] / max(1, length[0] + length[1])
        pieces: list[str] = []
        for k, part in enumerate(chosen):
            pieces.append(parts[part])
            doc_parts.append(part)
            if k + 1 < len(chosen) and not clean_end[part]:
                pieces.append("\n")
                doc_parts.append(newline)
        source = real[first[n]]
        doc_parts.append(section_part[source.section])
        offsets.append(len(doc_parts))
        text = "".join(pieces)
        passages.append(Passage(doc_ids[source.doc_id], source.title, source.section, 0, len(text), text))
    vectors = np.concatenate([pool.vectors.astype(np.float32), synthetic_vectors(pool.vectors, first, second, share, rng)])
    return SyntheticCorpus(passages, vectors, parts, np.asarray(doc_parts, dtype=np.int32), np.asarray(offsets, dtype=np.int64))


def bm25_from_parts(corpus: SyntheticCorpus, k1: float = 1.5, b: float = 0.75, chunk: int = 50_000) -> Any:
    """The `bm25s.BM25` that `make_bm25(corpus.passages)` builds, in vectorised numpy.

    Same tokens (each part is tokenised once; parts join where no token can span them), same Lucene
    BM25 scores, same CSC layout; `make_bm25` would tokenise a million passages one by one in Python
    for most of an hour. Checked against `make_bm25` in tests/test_bench.py.
    """
    from bot.search.lexical import lexical_tokens, load_bm25s

    vocab: dict[str, int] = {}
    part_tokens = []
    for text in corpus.parts:
        part_tokens.append(np.array([vocab.setdefault(t, len(vocab)) for t in lexical_tokens(text)], dtype=np.int32))
    part_len = np.array([len(t) for t in part_tokens], dtype=np.int64)
    part_off = np.concatenate([[0], np.cumsum(part_len)])
    flat = np.concatenate(part_tokens) if part_tokens else np.zeros(0, dtype=np.int32)
    n_docs, n_vocab = len(corpus.passages), len(vocab)

    pairs = []  # per chunk of documents: (token, document, tf), sorted by token then document
    doc_len = np.zeros(n_docs, dtype=np.int64)
    df = np.zeros(n_vocab, dtype=np.int64)
    for c0 in range(0, n_docs, chunk):
        c1 = min(c0 + chunk, n_docs)
        part_ids = corpus.doc_parts[corpus.doc_offsets[c0] : corpus.doc_offsets[c1]]
        parts_per_doc = np.diff(corpus.doc_offsets[c0 : c1 + 1])
        lengths = part_len[part_ids]
        total = int(lengths.sum())
        # Gather every token of every part of the chunk: concatenated aranges of the parts' slices.
        begin = np.repeat(part_off[part_ids] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        tokens = flat[begin + np.arange(total)]
        docs = np.repeat(np.repeat(np.arange(c1 - c0), parts_per_doc), lengths)
        doc_len[c0:c1] = np.bincount(docs, minlength=c1 - c0)
        keys, tf = np.unique(tokens.astype(np.int64) * (c1 - c0) + docs, return_counts=True)
        token_ids = (keys // (c1 - c0)).astype(np.int32)
        pairs.append((token_ids, (keys % (c1 - c0) + c0).astype(np.int32), tf.astype(np.float32)))
        df += np.bincount(token_ids, minlength=n_vocab)
    avg = doc_len.mean() if n_docs else 1.0
    idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
    data = np.empty(int(indptr[-1]), dtype=np.float32)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    cursor = indptr[:-1].copy()
    for token_ids, docs, tf in pairs:
        counts = np.bincount(token_ids, minlength=n_vocab)
        rank = np.arange(len(token_ids)) - (np.cumsum(counts) - counts)[token_ids]
        where = cursor[token_ids] + rank
        data[where] = idf[token_ids] * tf / (k1 * (1 - b + b * doc_len[docs] / avg) + tf)
        indices[where] = docs
        cursor += counts
    pairs.clear()
    bm25 = load_bm25s().BM25(k1=k1, b=b)
    bm25.scores = {"data": data, "indices": indices, "indptr": indptr, "num_docs": n_docs}
    bm25.vocab_dict = vocab
    bm25.unique_token_ids_set = set(vocab.values())
    bm25.nonoccurrence_array = None
    return bm25


def recall_at_10(index: Any, vectors: np.ndarray, queries: np.ndarray) -> dict[str, float]:
    """Recall@10 of a FAISS index against exact inner-product search, and both search times per query."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    started = time.perf_counter()
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    exact_s = time.perf_counter() - started
    found = []
    started = time.perf_counter()
    for query in queries:  # one at a time, as questions arrive
        found.append(index.search(query[None, :], 10)[1][0])
    ann_s = time.perf_counter() - started
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, found)])
    return {
        "recall_at_10": round(float(recall), 4),
        "ann_ms_per_query": round(ann_s / len(queries) * 1000, 3),
        "exact_ms_per_query_batched": round(exact_s / len(queries) * 1000, 3),
    }


def vector_realism(real: np.ndarray, synthetic: np.ndarray, rng) -> dict[str, float]:
    """Mean pairwise cosine and mean nearest-neighbour cosine, real vs synthetic (same count)."""
    import faiss

    def stats(x: np.ndarray) -> tuple[float, float]:
        a, b = rng.integers(0, len(x), 4000), rng.integers(0, len(x), 4000)
        pairwise = float(np.mean(np.sum(x[a] * x[b], axis=1)))
        nearest, _ = faiss.knn(x, x, 2, metric=faiss.METRIC_INNER_PRODUCT)
        return pairwise, float(nearest[:, 1].mean())

    n = len(real)
    real_pair, real_nn = stats(real)
    synth_pair, synth_nn = stats(synthetic[rng.permutation(len(synthetic))[:n]])
    return {
        "real_mean_cosine": round(real_pair, 4),
        "synthetic_mean_cosine": round(synth_pair, 4),
        "real_nn_cosine": round(real_nn, 4),
        "synthetic_nn_cosine": round(synth_nn, 4),
        "sample": n,
    }
