"""The Milvus backend (INDEX_BACKEND=milvus): each build is a collection version in Milvus, searched there.

One collection per build, `PREFIX_build_<stamp>_<hex>`, named after the build folder under INDEX_DIR that
holds its passages and vocabulary, with three fields: the passage's row (`id`, its position in the
build), its e5 vector (`vector`, inner product = cosine) and its BM25 terms (`lexical`, a sparse vector).
The alias `PREFIX` names the current version: it moves (atomically, for every reader) only once the new
collection is filled, indexed and loaded, and the version before stays until the next build, so a
process still answering from it keeps working until it reloads.

BM25 is Wenda's own, not Milvus's BM25 function: each passage's sparse vector holds, per token id of the
build's bm25s vocabulary (folded character 1-3-grams), bm25s's precomputed score of that token in that
passage, and a question's sparse vector holds how often each of its tokens occurs. Their inner product is
bm25s's score exactly, so both backends rank the same candidates with the same figures, and fusion
(0.6 dense + 0.4 BM25, min-max per question) stays in Wenda (bot/search/index.py).

`pymilvus` and `milvus-lite` are the optional extra `.[milvus]`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from bot.config import Settings
from bot.search.errors import MilvusUnavailable

log = logging.getLogger(__name__)

INSERT_BATCH = 1000  # rows per insert call
SEARCH_LIMIT = 16_384  # Milvus's largest topk

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


def milvus_uri(settings: Settings) -> str:
    """MILVUS_URI, or Milvus Lite's file in INDEX_DIR."""
    return settings.milvus_uri or str(settings.index_dir / "milvus.db")


def client_for(settings: Settings) -> Any:
    """One MilvusClient per URI and token in this process (a Milvus Lite file is opened once)."""
    uri = milvus_uri(settings)
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    with _clients_lock:
        client = _clients.get((uri, token))
        if client is None:
            try:
                from pymilvus import MilvusClient
            except ImportError as error:
                raise MilvusUnavailable(
                    f"INDEX_BACKEND=milvus needs pymilvus and milvus-lite ({error})",
                    "pip install -e '.[milvus]', or set INDEX_BACKEND=faiss.",
                ) from None
            if "://" not in uri:
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            # pymilvus pings every 10 s; Milvus Lite's server (a file, or `milvus-lite server`) allows one ping in
            # 5 minutes and answers more with GOAWAY (too_many_pings), which gRPC's C core prints to stderr. Ping
            # as often as every server allows; a dropped connection still shows at the next call, which retries.
            options = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_permit_without_calls": False}
            try:
                client = MilvusClient(uri=uri, token=token, grpc_options=options)
            except Exception as error:  # pymilvus raises MilvusException, grpc errors, OSError
                raise MilvusUnavailable(f"Cannot reach Milvus at {uri} ({error})") from error
            _clients[(uri, token)] = client
        return client


def collection_name(prefix: str, build_name: str) -> str:
    """`wenda_build_20261207T030000_3f2a1c` for the build folder `build-20261207T030000-3f2a1c`."""
    return f"{prefix}_{build_name.replace('-', '_')}"


def passage_terms(bm25: Any, passages: int) -> Iterator[dict[int, float]]:
    """Each passage's BM25 sparse vector, in passage order: token id -> bm25s's score of the token there.

    bm25s keeps its scores by token (a CSC matrix: token -> passages); this turns it by passage."""
    scores = bm25.scores
    indptr = np.asarray(scores["indptr"])
    tokens = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    rows = np.asarray(scores["indices"], dtype=np.int64)
    values = np.asarray(scores["data"], dtype=np.float32)
    order = np.argsort(rows, kind="stable")
    rows, tokens, values = rows[order], tokens[order], values[order]
    bounds = np.searchsorted(rows, np.arange(passages + 1))
    for row in range(passages):
        start, end = bounds[row], bounds[row + 1]
        yield {int(token): float(value) for token, value in zip(tokens[start:end], values[start:end]) if value > 0}


def query_terms(bm25: Any, tokens: list[str]) -> dict[int, float]:
    """A question's BM25 sparse vector: how often each of its known tokens occurs (bm25s sums repeated tokens)."""
    return {int(token): float(count) for token, count in Counter(bm25.get_tokens_ids(tokens)).items()}


@dataclass(frozen=True)
class Candidates:
    """BM25's best passages for a question: rows, scores, and their vectors (lists of floats)."""

    rows: np.ndarray
    scores: np.ndarray
    vectors: list[list[float]]


class MilvusStore:
    """One build's collection: filled by `publish`, searched by the index (dense and BM25 top-n, scores of rows)."""

    def __init__(self, settings: Settings, name: str):
        self.settings = settings
        self.name = name
        self.client = client_for(settings)

    # -- building ---------------------------------------------------------------------------------

    def fill(self, vectors: np.ndarray, terms: Iterator[dict[int, float]], progress: Callable[[int, int], None] | None = None) -> None:
        """Create this collection (afresh), fill it in batches, index and load it; the alias does not move."""
        from pymilvus import DataType, MilvusClient

        client, total = self.client, len(vectors)
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=int(vectors.shape[1]))
        schema.add_field("lexical", DataType.SPARSE_FLOAT_VECTOR)
        indexes = client.prepare_index_params()
        if total >= self.settings.ann_min_passages:
            params = {"M": 32, "efConstruction": self.settings.hnsw_ef_construction}
            indexes.add_index(field_name="vector", index_type="HNSW", metric_type="IP", params=params)
        else:
            indexes.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        indexes.add_index(field_name="lexical", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        if client.has_collection(self.name):  # left by a build killed after creating it
            client.drop_collection(self.name)
        client.create_collection(self.name, schema=schema)
        batch: list[dict[str, Any]] = []
        for row, sparse in enumerate(terms):
            # Milvus refuses an empty sparse vector: a passage without a token BM25 knows (punctuation only) gets a
            # negligible weight on the last dimension Milvus allows, far above the vocabulary's ids: no query has it.
            batch.append({"id": row, "vector": vectors[row].tolist(), "lexical": sparse or {2**32 - 2: 1e-30}})
            if len(batch) == INSERT_BATCH or row == total - 1:
                client.insert(self.name, batch)
                batch = []
                if progress is not None:
                    progress(row + 1, total)
        client.flush(self.name)
        # sync=False: pymilvus would wait through AllocTimestamp, which Milvus Lite does not implement (it logs an
        # error per index); Lite builds the index within the call, and a server's load_collection waits for it.
        client.create_index(self.name, indexes, sync=False)
        client.load_collection(self.name)
        stored = client.get_collection_stats(self.name).get("row_count")
        if int(stored) != total:
            raise RuntimeError(f"Milvus collection {self.name} holds {stored} rows, not {total}")

    def make_current(self) -> None:
        """Point the alias at this collection (create it the first time), then drop stale versions."""
        client, alias = self.client, self.settings.milvus_prefix
        previous = self.current()
        if previous is None:
            client.create_alias(self.name, alias)
        elif previous != self.name:
            client.alter_alias(self.name, alias)
        keep = {self.name, previous}
        for name in client.list_collections():
            if name.startswith(f"{alias}_build_") and name not in keep:
                client.drop_collection(name)
                log.info("Dropped the Milvus collection %s (two builds old)", name)

    def current(self) -> str | None:
        """The collection the alias names, or None when there is no alias yet."""
        alias = self.settings.milvus_prefix
        if alias not in self.client.list_aliases().get("aliases", []):
            return None
        return self.client.describe_alias(alias).get("collection_name")

    def open(self) -> int:
        """Load this version's collection for searching (each process loads it; loading twice is harmless) and
        return how many passages it holds."""
        self.client.load_collection(self.name)
        return int(self.client.get_collection_stats(self.name).get("row_count", 0))

    # -- searching --------------------------------------------------------------------------------

    def _search(self, field: str, query: Any, limit: int, output: str) -> list[Any]:
        params: dict[str, Any] = {"metric_type": "IP"}
        if field == "vector":
            params["params"] = {"ef": max(self.settings.hnsw_ef_search, limit)}
        return self.client.search(
            self.name,
            data=[query],
            anns_field=field,
            limit=min(limit, SEARCH_LIMIT),
            search_params=params,
            output_fields=[output],
        )[0]

    def lexical_top(self, terms: dict[int, float], n: int) -> Candidates:
        """The n passages BM25 ranks first for the question's terms (only passages sharing a term), with their
        scores and vectors (so that the dense side can score them without asking again)."""
        if not terms:
            return Candidates(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), [])
        found = self._search("lexical", terms, n, "vector")
        return Candidates(
            np.array([hit["id"] for hit in found], dtype=np.int64),
            np.array([hit["distance"] for hit in found], dtype=np.float32),
            [hit["entity"]["vector"] for hit in found],
        )

    def candidates(
        self, vector: np.ndarray, terms: dict[int, float], n: int, lexical: Candidates
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The union of the dense top-n and the BM25 top-n (`lexical`) with each one's cosine and BM25 score, in two
        searches in all: the dense search returns its passages' terms and the BM25 one its passages' vectors, and
        the missing scores are the same inner products Milvus computes, taken here."""
        query = vector.astype(np.float32)
        found = self._search("vector", query.tolist(), n, "lexical")
        dense = {hit["id"]: hit["distance"] for hit in found}
        bm25 = {int(row): float(score) for row, score in zip(lexical.rows, lexical.scores)}
        for hit in found:
            if hit["id"] not in bm25:
                passage = hit["entity"]["lexical"]
                bm25[hit["id"]] = float(sum(weight * passage.get(token, 0.0) for token, weight in terms.items()))
        missing = [i for i, row in enumerate(lexical.rows) if int(row) not in dense]
        if missing:
            vectors = np.asarray([lexical.vectors[i] for i in missing], dtype=np.float32)
            dense.update(zip((int(lexical.rows[i]) for i in missing), (vectors @ query).tolist()))
        rows = np.array(sorted(dense), dtype=np.int64)
        return (
            rows,
            np.array([dense[row] for row in rows.tolist()], dtype=np.float32),
            np.array([bm25[row] for row in rows.tolist()], dtype=np.float32),
        )


class LiteServer(NamedTuple):
    uri: str
    pid: int


def free_port() -> int:
    """A TCP port of 127.0.0.1 nothing listens on (for a server to start on, or one that must be unreachable)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def lite_server(data_dir: Path) -> Iterator[LiteServer]:
    """`milvus-lite server` on a free port of 127.0.0.1, for several processes of this machine to share (a Milvus
    Lite file is opened by one process at a time: `wenda bench --backend milvus`, the tests); yields its URI and
    process id, and stops it at the end."""
    port = free_port()
    command = [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)]
    # Its log goes to a file, not a pipe: a pipe nobody reads fills up over a long run and stalls the server.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as server_log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=server_log)
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if process.poll() is not None or time.monotonic() > deadline:
                    server_log.seek(0)
                    raise RuntimeError(f"milvus-lite server did not start: {server_log.read()[-2000:]}")
                time.sleep(0.2)
            yield LiteServer(f"http://127.0.0.1:{port}", process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
