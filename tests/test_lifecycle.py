"""Index lifecycle: incremental rebuilds (add, change, delete), SIGKILL during a build, damaged indexes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bot.index import Index, clean_leftovers, current_build, rebuild
from tests.conftest import corpus_copy

NEW_DOCUMENT = """# 万州新闻

万州区今天宣布，新建的滨江公园将于明年五月对市民开放，公园占地三百二十亩。

公园内将建设两座观景台和一条长达八公里的滨江步道，预计总投资六点五亿元。
"""


@pytest.fixture()
def corpus_settings(tmp_path, settings, wenda):
    return corpus_copy(tmp_path, settings)


def vectors_of(index: Index) -> np.ndarray:
    return index.vectors.reconstruct_n(0, len(index))


def test_add_change_and_delete_documents(corpus_settings, embedder):
    first, _ = rebuild(corpus_settings, embedder)
    assert first.manifest["embedded_passages"] == 0  # all from the cache

    (corpus_settings.corpus_dir / "park.md").write_text(NEW_DOCUMENT, encoding="utf-8")
    added, report = rebuild(corpus_settings, embedder)
    park = [p for p in added.passages if p.doc_id == "park.md"]
    assert park and report.embedded == len(park)  # only the new document was embedded
    assert len(added) == len(first) + len(park)
    assert park[0].title == "万州新闻"
    question = "滨江公园占地多少亩"
    vector = embedder.encode_queries([question])[0]
    assert added.search(vector, question, 1, 0.6, 50)[0].passage.doc_id == "park.md"

    changed_text = NEW_DOCUMENT.replace("三百二十亩", "四百亩")
    (corpus_settings.corpus_dir / "park.md").write_text(changed_text, encoding="utf-8")
    changed, report = rebuild(corpus_settings, embedder)
    assert report.embedded == 1  # only the window whose text changed
    texts = " ".join(p.text for p in changed.passages)
    assert "四百亩" in texts and "三百二十亩" not in texts
    assert changed.bm25_scores(["三百"]).max() == 0  # gone from BM25 as well

    (corpus_settings.corpus_dir / "park.md").unlink()
    deleted, report = rebuild(corpus_settings, embedder)
    assert report.embedded == 0
    assert [p.text for p in deleted.passages] == [p.text for p in first.passages]
    assert np.allclose(vectors_of(deleted), vectors_of(first))
    assert "park.md" not in deleted.manifest["documents"]
    assert deleted.bm25_scores(["滨江公园"]).max() == 0


def test_sigkill_during_a_build_leaves_the_old_index_answering(corpus_settings, embedder, cli_env):
    rebuild(corpus_settings, embedder)
    before = current_build(corpus_settings.index_dir)
    # Enough new text that embedding it takes several seconds.
    for number in range(6):
        (corpus_settings.corpus_dir / f"new{number}.md").write_text(
            NEW_DOCUMENT.replace("滨江公园", f"第{number}号公园") * 3, encoding="utf-8"
        )
    env = dict(cli_env, CORPUS_DIR=str(corpus_settings.corpus_dir), INDEX_DIR=str(corpus_settings.index_dir))
    for delay in (0.5, 6.0, 9.0):
        process = subprocess.Popen([sys.executable, "-m", "bot.cli", "index", "-q"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        index = Index.load(corpus_settings.index_dir)  # whichever is current is complete
        question = "渝万高铁何时开工"
        hits = index.search(embedder.encode_queries([question])[0], question, 3, 0.6, 50)
        assert any("11月9日" in hit.passage.text for hit in hits)
    clean_leftovers(corpus_settings.index_dir)
    builds = sorted(p.name for p in corpus_settings.index_dir.glob("build-*"))
    assert builds == [current_build(corpus_settings.index_dir).name]
    assert before.name in builds or not before.exists()


def test_ask_rebuilds_a_damaged_index(corpus_settings, embedder, cli_env):
    rebuild(corpus_settings, embedder)
    (current_build(corpus_settings.index_dir) / "passages.jsonl").write_text("", encoding="utf-8")
    env = dict(cli_env, CORPUS_DIR=str(corpus_settings.corpus_dir), INDEX_DIR=str(corpus_settings.index_dir))
    result = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "--json", "渝万高铁何时开工"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "does not match its checksum" in result.stderr and "rebuilding" in result.stderr
    assert json.loads(result.stdout)["found"] is True
    Index.load(corpus_settings.index_dir)  # healthy again


def test_lock_is_held_across_processes(corpus_settings):
    script = (
        "import sys, time; from pathlib import Path; from bot.index import build_lock\n"
        "with build_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(5)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script, str(corpus_settings.index_dir)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        from bot.index import IndexBusy, build_lock

        with pytest.raises(IndexBusy):
            with build_lock(corpus_settings.index_dir):
                pass
        assert clean_leftovers(corpus_settings.index_dir) == []  # a running build's folder is left alone
    finally:
        holder.kill()
        holder.wait()
