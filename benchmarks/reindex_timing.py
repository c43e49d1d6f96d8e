"""Full build vs incremental reindex on a corpus of 200+ real documents.

Writes every CMRC 2018 trial paragraph (256, real Chinese Wikipedia text) and the shipped corpus
as documents into a fresh corpus folder, builds the index with an empty embedding cache (the full
build), then times a reindex after changing one document, after adding one, and after deleting one.

    python benchmarks/reindex_timing.py [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bot.config import Settings
from bot.search.build import rebuild
from bot.search.embedding import Embedder

ROOT = Path(__file__).resolve().parent.parent
CMRC = ROOT.parent / "shared" / "eval" / "cmrc2018_trial.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="folder to build in (default: a temporary one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="wenda-reindex-"))
    corpus, index_dir = work / "corpus", work / "index"
    shutil.rmtree(work, ignore_errors=True)
    corpus.mkdir(parents=True)
    data = json.loads(CMRC.read_text(encoding="utf-8"))
    count = 0
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            (corpus / f"cmrc-{paragraph['id']}.txt").write_text(paragraph["context"], encoding="utf-8")
            count += 1
    shutil.copy(ROOT / "corpus" / "wanzhou-2020-12.txt", corpus / "wanzhou-2020-12.txt")
    settings = Settings(_env_file=None, corpus_dir=corpus, index_dir=index_dir)
    embedder = Embedder(settings)

    def timed(label: str) -> None:
        started = time.perf_counter()
        _, report = rebuild(settings, embedder)
        seconds = time.perf_counter() - started
        results.append((label, report.documents, report.passages, report.embedded, seconds))
        print(f"{label:<28} {report.documents:>5} docs {report.passages:>6} passages "
              f"{report.embedded:>5} embedded {seconds:8.2f} s", flush=True)

    results: list[tuple] = []
    timed("full build (empty cache)")
    changed = corpus / "wanzhou-2020-12.txt"
    changed.write_text(changed.read_text(encoding="utf-8").replace("1153亿元", "1154亿元"), encoding="utf-8")
    timed("after changing one document")
    (corpus / "added.md").write_text("# 新增文档\n\n万州区新建的滨江公园将于明年五月开放，占地三百二十亩。\n", encoding="utf-8")
    timed("after adding one document")
    (corpus / "added.md").unlink()
    timed("after deleting one document")
    full = results[0][-1]
    for label, *_, seconds in results[1:]:
        print(f"{label}: {100 * seconds / full:.1f}% of the full build")
    print(f"({count + 1} documents; work folder {work})")


if __name__ == "__main__":
    main()
