"""Index lifecycle: incremental rebuilds (add, change, delete), SIGKILL during a build, damaged indexes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bot.search.build import clean_leftovers, rebuild
from bot.search.index import Index, current_build
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


def kill_when(process: subprocess.Popen, caught, what: str) -> None:
    """SIGKILL the process the moment `caught()` holds, proving the kill landed there; fail if it ends first."""
    while process.poll() is None:
        if caught():
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return
        time.sleep(0.001)
    raise AssertionError(f"the build ended (status {process.returncode}) before {what}")


def assert_answers(index_dir, embedder) -> None:
    index = Index.load(index_dir)  # whichever is current is complete
    question = "渝万高铁何时开工"
    hits = index.search(embedder.encode_queries([question])[0], question, 3, 0.6, 50)
    assert any("11月9日" in hit.passage.text for hit in hits)


def test_sigkill_during_a_build_leaves_the_old_index_answering(corpus_settings, embedder, cli_env):
    rebuild(corpus_settings, embedder)
    index_dir = corpus_settings.index_dir
    before = current_build(index_dir)
    # New text to embed, in small batches: the build reports its progress batch by batch.
    for number in range(6):
        (corpus_settings.corpus_dir / f"new{number}.md").write_text(
            NEW_DOCUMENT.replace("滨江公园", f"第{number}号公园") * 3, encoding="utf-8"
        )
    env = dict(cli_env, CORPUS_DIR=str(corpus_settings.corpus_dir), INDEX_DIR=str(index_dir), EMBEDDING_BATCH_SIZE="2")
    command = [sys.executable, "-m", "bot.cli", "index"]

    # Killed while embedding: its progress bar has moved past the first batch, not to the last.
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = b""
    while process.poll() is None and not re.search(rb"embedding passages:.*\| *([1-9]\d*)/(\d+)", seen):
        seen += process.stderr.read1(4096)
    progress = re.findall(rb"\| *(\d+)/(\d+)", seen.split(b"embedding passages")[-1])
    kill_when(process, lambda: True, "it embedded anything")
    done, total = map(int, progress[-1])
    assert 0 < done < total, seen[-300:]
    assert current_build(index_dir) == before
    assert_answers(index_dir, embedder)

    # Killed while writing the new build: its folder exists, its manifest (written last) does not.
    for attempt in range(5):
        existing = set(index_dir.glob("build-*"))
        process = subprocess.Popen(command + ["-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def writing() -> list:
            return [path for path in index_dir.glob("build-*") if path not in existing and not (path / "manifest.json").exists()]

        try:
            kill_when(process, lambda: bool(writing()), "its build folder was seen half written")
        except AssertionError:
            continue  # the write was quicker than the poll this time
        half = writing()
        assert half and not (half[0] / "manifest.json").exists()  # still half written after the kill
        break
    else:
        raise AssertionError("never caught the build while it wrote its folder in 5 attempts")
    assert current_build(index_dir) == before
    assert_answers(index_dir, embedder)

    clean_leftovers(index_dir)
    builds = sorted(p.name for p in index_dir.glob("build-*"))
    assert builds == [before.name]
    finished = subprocess.run(command + ["-q"], env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert current_build(index_dir) != before and "new5.md" in Index.load(index_dir).documents


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
    script = (  # holds the lock until its standard input closes
        "import sys; from pathlib import Path; from bot.search.build import build_lock\n"
        "with build_lock(Path(sys.argv[1])):\n    print('locked', flush=True); sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(corpus_settings.index_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        from bot.search.build import build_lock
        from bot.search.errors import IndexBusy

        with pytest.raises(IndexBusy):
            with build_lock(corpus_settings.index_dir):
                pass
        assert clean_leftovers(corpus_settings.index_dir) == []  # a running build's folder is left alone
    finally:
        holder.kill()
        holder.wait()
